"""Sessions kept on the server: the browser holds only an opaque random key.

The cookie carries 256 random bits and nothing else (no attendee id, no address, no name,
signed or not); the data lives in `browser_session`, found by the key's SHA-256. So logout
and revocation are real: a copied cookie is worth nothing once its row is gone.

- Loaded on first use: a page that never reads the session (the shared programme page)
  costs no query and sends no cookie.
- Timeouts: a facilitator's session ends after FACILITATOR_IDLE_TIMEOUT without a request
  and FACILITATOR_SESSION_LIFETIME after the login; an attendee's after
  PERMANENT_SESSION_LIFETIME; a session that is neither after ANONYMOUS_SESSION_LIFETIME.
- `rotate()` gives the session a new key (login, personal link opened): a key known before
  the rights changed is worth nothing after.

Over 300 lines on purpose: the interface Flask calls, the rows, the timeouts and the
revocations are one notion; split, each part would reach into the others' internals.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, Request, Response, current_app, has_app_context
from flask.sessions import SessionInterface, SessionMixin

from .clock import utcnow
from .database import write
from .extensions import db
from .models import BrowserSession

_KEY = re.compile(r"^[A-Za-z0-9_-]{43}$")
#: last_seen_at is written at most this often (idle timeouts need no finer grain)
TOUCH_EVERY = timedelta(minutes=1)

#: the statements that keep a session, built once: an ORM-enabled one-row UPDATE costs
#: several times what the same statement costs (0.34 ms against 0.04 ms, on SQLite), on
#: every request that changes a session
_ROWS = BrowserSession.__table__
_INSERT = _ROWS.insert().returning(_ROWS.c.id)
_UPDATE = _ROWS.update().where(_ROWS.c.id == sa.bindparam("row_id"))
_DELETE = _ROWS.delete().where(_ROWS.c.id == sa.bindparam("row_id"))


def hash_key(key: str) -> str:
    """SHA-256 of a session key: only this is stored."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class StoredRow:
    """What the session knows of its row (plain values: valid outside any app context)."""

    id: int
    expires_at: datetime
    last_seen_at: datetime
    created_at: datetime


class ServerSession(dict, SessionMixin):  # type: ignore[type-arg]
    """The session's data, read from the database the first time anything looks at it."""

    def __init__(self, app: Flask, key: str | None) -> None:
        super().__init__()
        self.app = app
        self.key = key
        self.row: StoredRow | None = None
        self.loaded = False
        self.accessed = False
        self.modified = False
        self.rotated = False
        self.owners: tuple[Any, Any] = (None, None)
        #: the cookie's end, when the answer must carry a (new) cookie
        self.cookie_due: datetime | None = None

    # -- loading on first use
    def _load(self) -> None:
        if self.loaded:
            return
        self.loaded = True
        self.accessed = True
        if self.key is None:
            return
        if has_app_context():
            self._read()
        else:  # e.g. a test's session_transaction(), outside the request
            with self.app.app_context():
                self._read()

    def _read(self) -> None:
        row = db.session.scalars(
            sa.select(BrowserSession).filter_by(key_hash=hash_key(self.key or ""))
        ).first()
        if row is not None and _alive(row, utcnow()):
            self.row = StoredRow(row.id, row.expires_at, row.last_seen_at, row.created_at)
            # Held for the request: the attendee or facilitator read with it stays in the
            # ORM's (weak) identity map, so the request finds them there without a query.
            self.owners = (row.attendee, row.facilitator)
            dict.update(self, row.data or {})
        else:
            self.key = None  # expired or unknown: start afresh

    def rotate(self) -> None:
        """Give this session a new key when it is saved (the old one stops working)."""
        self._load()
        self.rotated = True
        self.modified = True

    def __getitem__(self, name: str) -> Any:
        self._load()
        return super().__getitem__(name)

    def __contains__(self, name: object) -> bool:
        self._load()
        return super().__contains__(name)

    def __iter__(self) -> Iterator[str]:
        self._load()
        return super().__iter__()

    def __len__(self) -> int:
        self._load()
        return super().__len__()

    def get(self, name: str, default: Any = None) -> Any:
        self._load()
        return super().get(name, default)

    def keys(self):  # type: ignore[no-untyped-def]
        self._load()
        return super().keys()

    def items(self):  # type: ignore[no-untyped-def]
        self._load()
        return super().items()

    def values(self):  # type: ignore[no-untyped-def]
        self._load()
        return super().values()

    # -- changes mark the session modified
    def __setitem__(self, name: str, value: Any) -> None:
        self._load()
        self.modified = True
        super().__setitem__(name, value)

    def __delitem__(self, name: str) -> None:
        self._load()
        self.modified = True
        super().__delitem__(name)

    def setdefault(self, name: str, default: Any = None) -> Any:
        self._load()
        if name not in self:
            self.modified = True
        return super().setdefault(name, default)

    def pop(self, name: str, *default: Any) -> Any:
        self._load()
        if super().__contains__(name):
            self.modified = True
        return super().pop(name, *default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._load()
        self.modified = True
        super().update(*args, **kwargs)

    def clear(self) -> None:
        self._load()
        self.modified = True
        super().clear()


def _owners(data: dict[str, Any]) -> tuple[int | None, int | None]:
    """The attendee and the facilitator a session speaks for (columns, for revocation)."""
    attendee_id = data.get("attendee_id")
    user_id = str(data.get("_user_id") or "")
    facilitator_id = user_id.partition(":")[0]
    return (
        attendee_id if isinstance(attendee_id, int) else None,
        int(facilitator_id) if facilitator_id.isdigit() else None,
    )


def _lifetime_of(
    attendee_id: int | None, facilitator_id: int | None
) -> tuple[timedelta, timedelta | None]:
    """(absolute lifetime, idle timeout) for what the session is."""
    config = current_app.config
    if facilitator_id is not None:
        return config["FACILITATOR_SESSION_LIFETIME"], config["FACILITATOR_IDLE_TIMEOUT"]
    if attendee_id is not None:
        return config["PERMANENT_SESSION_LIFETIME"], None
    return config["ANONYMOUS_SESSION_LIFETIME"], None


def _lifetime(row: BrowserSession) -> tuple[timedelta, timedelta | None]:
    """(absolute lifetime, idle timeout) for what a stored session is."""
    return _lifetime_of(row.attendee_id, row.facilitator_id)


def _alive(row: BrowserSession, now: datetime) -> bool:
    """Not past its absolute end, nor idle for too long."""
    _, idle = _lifetime(row)
    if now >= row.expires_at:
        return False
    return idle is None or now < row.last_seen_at + idle


class DatabaseSessionInterface(SessionInterface):
    """Flask's session, with its data in `browser_session` and an opaque key in the cookie."""

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        """The session named by the cookie (read lazily), or a new empty one."""
        key = request.cookies.get(self.get_cookie_name(app), "")
        return ServerSession(app, key if _KEY.match(key) else None)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Write what changed; renew the cookie only when the key or its lifetime changed.

        If the database cannot take it (down, locked), the answer still goes out: what the
        request did is committed already, only the session's bookkeeping waits.
        """
        assert isinstance(session, ServerSession)
        if not session.loaded:
            return  # nobody looked: nothing to say, no cookie, no Vary
        try:
            self._save(app, session, response)
        except sa.exc.SQLAlchemyError:
            app.logger.warning("session not saved: the database is unavailable")

    def _save(self, app: Flask, session: ServerSession, response: Response) -> None:
        response.vary.add("Cookie")
        now = utcnow()
        if not session and session.row is None and not session.rotated:
            return
        if not session:
            self._end(app, session, response)
            return
        if session.modified or session.row is None:
            self.store(session, now)
        elif now - session.row.last_seen_at >= TOUCH_EVERY:
            row_id = session.row.id
            with write():
                db.session.execute(_UPDATE, {"row_id": row_id, "last_seen_at": now})
        if session.cookie_due is not None:
            self._set_cookie(app, session, response, session.cookie_due)
            session.cookie_due = None

    def store(self, session: ServerSession, now: datetime) -> None:
        """Insert or update the row in one statement (in the caller's write transaction, if
        one is open); a new key is due to go out in the cookie."""
        data = dict(dict.items(session))
        attendee_id, facilitator_id = _owners(data)
        lifetime = _lifetime_of(attendee_id, facilitator_id)[0]
        known = session.row
        fresh = known is None or session.rotated
        # A new key (the old one is worth nothing from now on) starts the lifetime of what
        # the session now is; otherwise the end never moves later.
        created_at = now if fresh else known.created_at  # type: ignore[union-attr]
        expires_at = created_at + lifetime
        if not fresh:
            expires_at = min(expires_at, known.expires_at)  # type: ignore[union-attr]
        values = {
            "data": data,
            "attendee_id": attendee_id,
            "facilitator_id": facilitator_id,
            "last_seen_at": now,
            "created_at": created_at,
            "expires_at": expires_at,
        }
        if fresh:
            session.key = secrets.token_urlsafe(32)
            values["key_hash"] = hash_key(session.key)
        with write():
            if known is None:
                row_id = db.session.scalar(_INSERT, values)
            else:
                updated = db.session.execute(_UPDATE, {"row_id": known.id, **values})
                if updated.rowcount != 1:  # ended elsewhere meanwhile (logout on another tab)
                    return
                row_id = known.id
        if fresh or known is None or expires_at != known.expires_at:
            session.cookie_due = expires_at
        session.row = StoredRow(row_id, expires_at, now, created_at)
        session.rotated = False
        session.modified = False

    def _end(self, app: Flask, session: ServerSession, response: Response) -> None:
        """The session was emptied (logout, erasure): its row goes, the cookie too."""
        if session.row is not None:
            row_id = session.row.id
            with write():
                db.session.execute(_DELETE, {"row_id": row_id})
            session.row = None
        response.delete_cookie(
            self.get_cookie_name(app),
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
            httponly=self.get_cookie_httponly(app),
        )

    def _set_cookie(
        self, app: Flask, session: ServerSession, response: Response, expires_at: datetime
    ) -> None:
        response.set_cookie(
            self.get_cookie_name(app),
            session.key or "",
            expires=expires_at if session.permanent else None,
            httponly=self.get_cookie_httponly(app),
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
        )


def persist_session() -> None:
    """Write this request's session now, within the caller's write transaction: the change
    that gave the browser its rights and the session that holds them commit together."""
    from flask import session as proxy

    session = proxy._get_current_object()  # type: ignore[attr-defined]
    if isinstance(session, ServerSession) and (session.modified or session.row is None):
        current_app.session_interface.store(session, utcnow())  # type: ignore[attr-defined]


def browser_rate_key() -> str:
    """What a rate limit counts: this browser's session when it has one (so a stranger's
    browser cannot spend the owner's allowance), else its network address."""
    from flask import request
    from flask_limiter.util import get_remote_address

    key = request.cookies.get(current_app.config["SESSION_COOKIE_NAME"], "")
    if _KEY.match(key):
        return "session:" + hash_key(key)[:32]
    return get_remote_address()


def end_sessions(*, attendee_id: int | None = None, facilitator_id: int | None = None) -> int:
    """End every session of a person (in the caller's transaction); return how many."""
    condition = (
        BrowserSession.attendee_id == attendee_id
        if attendee_id is not None
        else BrowserSession.facilitator_id == facilitator_id
    )
    result = db.session.execute(sa.delete(BrowserSession).where(condition))
    return result.rowcount


def purge_expired_sessions(now: datetime) -> int:
    """Delete sessions past their absolute end (in the caller's transaction)."""
    result = db.session.execute(sa.delete(BrowserSession).where(BrowserSession.expires_at <= now))
    return result.rowcount
