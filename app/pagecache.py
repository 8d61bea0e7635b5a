"""Shared pages served below the framework: the programme, the episode pages and the public
calendars are the same bytes for every visitor without a session, so a small WSGI layer in
front of Flask answers them from memory (and answers conditional requests with 304).

- Cached: GET and HEAD of the shared addresses, from a browser that carries no session
  cookie, whose answer is a 200 that sets no cookie. Anything else goes to Flask.
- Keyed on what the answer varies on: the path and query, htmx's request headers (a page and
  its fragment share their address), and the language (its `/en` prefix, in SCRIPT_NAME).
- Kept while the content's version is the same: the programme (series and episodes), the
  seats taken where there is a capacity, and for an episode's page its questions and votes,
  re-read from the database at most every PROGRAMME_SNAPSHOT_SECONDS by each worker (at
  once for changes made in that worker), and until the next start or end of an episode
  (pages show each episode's state).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from http.cookies import SimpleCookie
from typing import Any

import sqlalchemy as sa
from flask import Flask

from .extensions import db
from .programme.snapshot import ProgrammeSnapshot, fresh_snapshot, programme_snapshot

#: the addresses whose answer is the same for every visitor without a session
SHARED = re.compile(
    r"^/(?:|cycle\.ics|confidentialite|accessibilite|donnees-ouvertes|episodes/[\w-]{1,80}(?:\.ics)?)$"
)
#: an episode's page: the only shared page that shows questions and votes
EPISODE_PAGE = re.compile(r"^/episodes/([\w-]{1,80})$")
#: request headers the answers vary on (a page and its htmx fragments share an address)
KEYED_HEADERS = (
    "HTTP_HX_REQUEST",
    "HTTP_HX_TARGET",
    "HTTP_HX_TRIGGER",
    "HTTP_HX_HISTORY_RESTORE_REQUEST",
)
#: entries kept per worker (each page, its fragments and sorts, of each version)
MAX_ENTRIES = 256
#: and the bytes they may hold together: a worker's memory is budgeted (under 100 MB), and
#: every query string is a key of its own
MAX_BYTES = 8 * 1024 * 1024
#: an answer larger than this is served but not kept
MAX_ENTRY_BYTES = 512 * 1024


@dataclass
class Entry:
    """One answer as Flask gave it, with what it holds for."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes
    etag: str | None
    version: Any
    #: the next start or end of an episode: the page shows states that change then
    fresh_until: datetime | None


class SharedPageCache:
    """WSGI middleware answering shared pages from memory, before Flask runs."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.entries: OrderedDict[tuple, Entry] = OrderedDict()
        #: the bytes of the bodies kept
        self.size = 0
        self.cookie_name = app.config["SESSION_COOKIE_NAME"]

    # ---------------------------------------------------------------- the way in
    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not self._shared(environ):
            return self.wsgi_app(environ, start_response)
        now = self.app.extensions["clock"].now()
        key = self._key(environ)
        snapshot = fresh_snapshot(self.app, now)
        entry = self.entries.get(key)
        if (
            snapshot is not None
            and entry is not None
            and entry.version == _version(self.app, snapshot, environ.get("PATH_INFO", ""))
            and _fresh(entry, now)
        ):
            self.entries.move_to_end(key)
            return self._answer(entry, environ, start_response)
        # One app context for the version and the request (Flask reuses it): one database
        # session, one transaction.
        with self.app.app_context():
            try:
                snapshot = programme_snapshot(now)
            except sa.exc.SQLAlchemyError:  # the database is unavailable: Flask says so (503)
                db.session.rollback()
                snapshot = None
            if snapshot is None:
                return self.wsgi_app(environ, start_response)
            version = _version(self.app, snapshot, environ.get("PATH_INFO", ""))
            if entry is not None and entry.version == version and _fresh(entry, now):
                self.entries.move_to_end(key)
                return self._answer(entry, environ, start_response)
            return self._fill(key, version, snapshot.next_change(now), environ, start_response)

    def _shared(self, environ: dict) -> bool:
        """A GET or HEAD of a shared address, from a browser without a session."""
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return False
        if not SHARED.match(environ.get("PATH_INFO", "")):
            return False
        cookies = environ.get("HTTP_COOKIE")
        if not cookies:
            return True
        try:
            return self.cookie_name not in SimpleCookie(cookies)
        except Exception:  # an unreadable Cookie header: let Flask decide
            return False

    @staticmethod
    def _key(environ: dict) -> tuple:
        return (
            environ.get("SCRIPT_NAME", ""),  # the language prefix (language.LanguagePrefix)
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            *(environ.get(name, "") for name in KEYED_HEADERS),
        )

    # ---------------------------------------------------------------- answers
    @staticmethod
    def _answer(entry: Entry, environ: dict, start_response: Callable) -> Iterable[bytes]:
        asked = environ.get("HTTP_IF_NONE_MATCH", "")
        if entry.etag and asked and (entry.etag in asked or asked.strip() == "*"):
            headers = [(k, v) for k, v in entry.headers if k.lower() not in _BODY_HEADERS]
            start_response("304 NOT MODIFIED", [*headers, ("X-Cache", "hit")])
            return [b""]
        start_response(entry.status, [*entry.headers, ("X-Cache", "hit")])
        return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [entry.body]

    def _fill(
        self,
        key: tuple,
        version: Any,
        fresh_until: datetime | None,
        environ: dict,
        start_response: Callable,
    ) -> Iterable[bytes]:
        """Let Flask answer; keep the answer when it is one that may be shared."""
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return start_response(status, [*headers, ("X-Cache", "miss")], exc_info)

        result = self.wsgi_app(environ, capture)
        if environ.get("REQUEST_METHOD") != "GET" or not captured.get("status", "").startswith(
            "200"
        ):
            return result
        headers = captured["headers"]
        if any(name.lower() == "set-cookie" for name, _ in headers):
            return result
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        if len(body) > MAX_ENTRY_BYTES:
            return [body]
        etag = next((value for name, value in headers if name.lower() == "etag"), None)
        replaced = self.entries.pop(key, None)
        self.size += len(body) - (len(replaced.body) if replaced else 0)
        self.entries[key] = Entry(
            captured["status"], list(headers), body, etag, version, fresh_until
        )
        while len(self.entries) > MAX_ENTRIES or self.size > MAX_BYTES:
            _, dropped = self.entries.popitem(last=False)
            self.size -= len(dropped.body)
        return [body]


#: headers a 304 leaves out (it has no body)
_BODY_HEADERS = {"content-length", "content-type", "content-disposition"}


def _version(app: Flask, snapshot: ProgrammeSnapshot, path: str) -> tuple:
    """What a shared page depends on: the templates, the programme, and for an episode's
    page its questions and votes. The other pages show none: a question asked or a vote
    given anywhere does not make every worker render them again."""
    episode_page = EPISODE_PAGE.match(path)
    questions = snapshot.questions_of(episode_page[1]) if episode_page else ()
    return (app.config["BUILD_ID"], snapshot.version, questions)


def _fresh(entry: Entry, now: datetime) -> bool:
    return entry.fresh_until is None or now < entry.fresh_until


def init_app(app: Flask) -> None:
    """Put the cache in front of the app's own WSGI callable."""
    if app.config.get("SHARED_PAGE_CACHE", True):
        cache = app.extensions["pagecache"] = SharedPageCache(app, app.wsgi_app)
        app.wsgi_app = cache  # type: ignore[method-assign]
