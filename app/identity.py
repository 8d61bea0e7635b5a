"""Who is who without accounts: personal-link tokens and the browser's session.

Registering from a browser gives it *limited* rights (send questions, see the questions
sent from this browser); opening the personal link gives *full* rights (everything of
the attendee's). Several links may be valid at once for one attendee.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from flask import g, session

from .clock import utcnow
from .database import write
from .extensions import db
from .models import Attendee, AttendeeToken

LIMITED = "limited"
FULL = "full"
#: links kept per attendee: never-opened ones, and opened ones
MAX_UNUSED_TOKENS = 5
MAX_USED_TOKENS = 20


#: a new link's row, inserted at once (built once: the ORM's unit of work is the slower way
#: to write one row that nothing reads back in the request)
_NEW_TOKEN = AttendeeToken.__table__.insert()


def hash_token(token: str) -> str:
    """SHA-256 of a token: only this is stored (a 256-bit random token needs no salt)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(attendee: Attendee, first: bool = False) -> str:
    """Create a new personal link token (256 bits) for the attendee; return it in clear.

    Links already opened stay valid (up to MAX_USED_TOKENS); only the oldest never-opened
    links are dropped, so a stranger re-registering an address cannot cut its owner off
    (and the owner receives every new link by e-mail anyway). An attendee's `first` link
    has nothing to make room for.
    """
    token = secrets.token_urlsafe(32)
    db.session.execute(
        _NEW_TOKEN,
        {"attendee_id": attendee.id, "token_hash": hash_token(token), "created_at": utcnow()},
    )
    if first:
        return token
    for used, keep in ((False, MAX_UNUSED_TOKENS), (True, MAX_USED_TOKENS)):
        condition = (
            AttendeeToken.last_used_at.is_not(None)
            if used
            else AttendeeToken.last_used_at.is_(None)
        )
        stale = db.session.scalars(
            sa.select(AttendeeToken.id)
            .where(AttendeeToken.attendee_id == attendee.id, condition)
            .order_by(AttendeeToken.created_at.desc(), AttendeeToken.id.desc())
            .offset(keep)
        ).all()
        if stale:
            db.session.execute(sa.delete(AttendeeToken).where(AttendeeToken.id.in_(stale)))
    return token


def attendee_for_token(token: str) -> Attendee | None:
    """The attendee whose link this is, or None (constant-time comparison of hashes)."""
    if not token or len(token) > 100:
        return None
    digest = hash_token(token)
    row = db.session.scalars(sa.select(AttendeeToken).filter_by(token_hash=digest)).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return row.attendee


def mark_token_used(token: str) -> None:
    """Record that a link was opened (opened links are kept when new ones are issued).

    Written at most once an hour per link, in its own write transaction.
    """
    digest = hash_token(token)
    now = utcnow()
    recently = now - timedelta(hours=1)
    used = db.session.scalar(sa.select(AttendeeToken.last_used_at).filter_by(token_hash=digest))
    if used is not None and used > recently:
        return
    with write():
        db.session.execute(
            sa.update(AttendeeToken)
            .where(AttendeeToken.token_hash == digest)
            .values(last_used_at=now)
        )


@dataclass
class Visitor:
    """The attendee this browser speaks for, with which rights, and what it sent."""

    attendee: Attendee
    rights: str
    #: questions sent from this browser (what a limited browser may see as its own)
    sent_here: list[int] = field(default_factory=list)
    #: the first name this browser typed when it registered
    typed_name: str = ""

    @property
    def full(self) -> bool:
        """Opened through the personal link."""
        return self.rights == FULL

    @property
    def greeting_name(self) -> str:
        """The first name to greet with: on file for full rights, as typed here otherwise."""
        return self.attendee.first_name if self.full else self.typed_name

    def may_see(self, question_id: int, attendee_id: int) -> bool:
        """Full rights see all of the attendee's questions; limited ones those sent from here."""
        if self.attendee.id != attendee_id:
            return False
        return self.full or question_id in self.sent_here


def attendee_key(attendee: Attendee) -> str:
    """What ties a session to this very attendee: ids can come back after an erasure
    (SQLite reuses the highest freed id), their address and creation time with them do not."""
    material = f"{attendee.id}:{attendee.email}:{attendee.created_at.isoformat()}"
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def remember(attendee: Attendee, rights: str, display_name: str | None = None) -> None:
    """Tie this browser to the attendee; never lower rights already granted to them.

    `display_name` is the name this browser typed: a browser with limited rights is
    greeted with it, never with the name on file (which would reveal who registered).
    """
    current = session.get("attendee_id")
    same = current == attendee.id and session.get("attendee_key") == attendee_key(attendee)
    if same and session.get("rights") == FULL:
        rights = FULL
    if not same:
        session.pop("question_ids", None)
        session.pop("display_name", None)
    if not same or rights != session.get("rights"):
        # Rights change: a session key known before is worth nothing after.
        session.rotate()  # type: ignore[attr-defined]
    session["attendee_id"] = attendee.id
    session["attendee_key"] = attendee_key(attendee)
    session["rights"] = rights
    if display_name:
        session["display_name"] = display_name
    session.permanent = True
    g.pop("visitor", None)


def forget() -> None:
    """Untie this browser from the attendee it spoke for (erasure)."""
    for key in ("attendee_id", "attendee_key", "rights", "question_ids", "display_name"):
        session.pop(key, None)
    g.pop("visitor", None)


def sign_out() -> None:
    """End this browser's session altogether (a shared computer): the server forgets it,
    and whatever the browser keeps next (a message) lives under a new key."""
    session.clear()
    session.rotate()  # type: ignore[attr-defined]
    g.pop("visitor", None)


def current_visitor() -> Visitor | None:
    """The attendee of this browser, if any (one query, cached for the request)."""
    if "visitor" in g:
        return g.visitor
    visitor = None
    attendee_id = session.get("attendee_id")
    if attendee_id is not None:
        attendee = db.session.get(Attendee, attendee_id)
        if attendee is None or session.get("attendee_key") != attendee_key(attendee):
            forget()
        else:
            visitor = Visitor(
                attendee,
                session.get("rights", LIMITED),
                sent_here=[int(i) for i in session.get("question_ids", [])],
                typed_name=str(session.get("display_name", "")),
            )
    g.visitor = visitor
    return visitor


def note_question_sent(question_id: int) -> None:
    """Remember, in a limited session, which questions this browser sent."""
    ids = list(session.get("question_ids", []))
    if question_id not in ids:
        ids.append(question_id)
    session["question_ids"] = ids[-200:]
    g.pop("visitor", None)
