"""Talking to the app as a browser and htmx do: CSRF tokens, htmx headers, a signed-in session."""

from __future__ import annotations

import re
import secrets

from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken":\s*"([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token found in a form or in an hx-headers attribute."""
    match = CSRF_RE.search(html.replace("&#34;", '"').replace("&quot;", '"'))
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


HTMX_HEADERS = {"HX-Request": "true"}


def htmx_headers(target: str | None = None, trigger: str | None = None, **extra: str) -> dict:
    """Headers htmx sends with a request."""
    headers = {"HX-Request": "true", "HX-Current-URL": "https://webinaires.example.org/"}
    if target:
        headers["HX-Target"] = target
    if trigger:
        headers["HX-Trigger"] = trigger
    headers.update(extra)
    return headers


def normalise_spaces(text: str) -> str:
    """Fold Babel's no-break spaces so assertions can use plain ones."""
    return re.sub(r"[\u00a0\u202f]", " ", text)


def sign_in_as(client: FlaskClient, attendee_id: int, rights: str = "full") -> None:
    """Give a test client's session the attendee's rights (as the personal link does)."""
    from app.identity import attendee_key
    from app.models import Attendee

    with client.application.app_context():
        key = attendee_key(db.session.get(Attendee, attendee_id))
    with client.session_transaction() as flask_session:
        flask_session["attendee_id"] = attendee_id
        flask_session["attendee_key"] = key
        flask_session["rights"] = rights
        flask_session.permanent = True


def attendee_session(app: Flask, attendee_id: int, rights: str = "full") -> str:
    """A server-side session speaking for the attendee (as the personal link, or a
    registration, leaves one); return the key a browser's cookie would carry."""
    from app.identity import attendee_key
    from app.models import Attendee, BrowserSession
    from app.sessions import hash_key

    key = secrets.token_urlsafe(32)
    with app.app_context():
        now = app.extensions["clock"].now()
        data = {
            "attendee_id": attendee_id,
            "attendee_key": attendee_key(db.session.get(Attendee, attendee_id)),
            "rights": rights,
            "_permanent": True,
        }
        db.session.add(
            BrowserSession(
                key_hash=hash_key(key),
                data=data,
                attendee_id=attendee_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + app.config["PERMANENT_SESSION_LIFETIME"],
            )
        )
        db.session.commit()
    return key
