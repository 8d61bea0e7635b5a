"""The unsubscribe-only token carried by e-mails (List-Unsubscribe, RFC 8058, and the
visible link).

Why a signed value rather than a stored random token: it can do one thing only — the one
route that reads it switches mail preferences off — and nothing else in the site accepts
it (its own salt: no session, personal link or form takes it). Nothing is stored, so no
table of tokens can leak, and it keeps working in mails sent months ago, as RFC 8058 asks
(hence no max_age: the attendee's erasure, or the retention purge, ends it). It is bound to
this very attendee (id, address, creation time), so an id reused after an erasure is not
reached by an old mail.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ..extensions import db
from ..identity import attendee_key
from ..models import Attendee

SALT = "webinaires.mail-unsubscribe"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def unsubscribe_token(attendee: Attendee) -> str:
    """A token that can only stop this attendee's e-mails."""
    return str(_serializer().dumps([attendee.id, attendee_key(attendee)]))


def attendee_for_unsubscribe_token(token: str) -> Attendee | None:
    """The attendee an unsubscribe token was made for, if it is genuine and they still exist."""
    if not token or len(token) > 200:
        return None
    try:
        attendee_id, key = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(attendee_id, int) or isinstance(attendee_id, bool):
        return None
    attendee = db.session.get(Attendee, attendee_id)
    if attendee is None or attendee_key(attendee) != key:
        return None
    return attendee
