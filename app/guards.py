"""What the site refuses at the door, before any view runs.

- A state-changing request whose body is not a form (JSON, XML, plain text…): 415. Every
  form here is a plain HTML form; nothing else is ever read as one.
- NUL and other invisible control characters in the path, the query string or a form
  field: 400. NUL in particular reaches PostgreSQL as an error (and SQLite would store it);
  line breaks and tabs stay allowed, where text fields accept them (the forms decide).
- The database unreachable or locked: 503 with Retry-After, a French message (in the alert
  region for htmx), never a generic 500.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Flask, Response, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import ServiceUnavailable, UnsupportedMediaType

from .http import error_response, refuse

#: what a browser's form sends
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
#: control characters refused anywhere (tab, line feed and carriage return are not here)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
#: seconds a browser is told to wait when the database is unavailable
RETRY_AFTER = 30

UNREADABLE = _l("Ce qui a été envoyé contient des caractères invisibles non autorisés.")
NOT_A_FORM = _l("Ce format d’envoi n’est pas pris en charge : envoyez le formulaire de la page.")
UNAVAILABLE = _l(
    "Le service est momentanément indisponible. Ce que vous avez saisi n’a pas été "
    "enregistré : réessayez dans un instant."
)


def _refuse_unreadable() -> None:
    """400 when the path, the query or a form field carries a control character."""
    if CONTROL.search(request.path):
        refuse(400, UNREADABLE)
    for key, value in request.args.items(multi=True):
        if CONTROL.search(key) or CONTROL.search(value):
            refuse(400, UNREADABLE)
    if request.method in STATE_CHANGING and request.mimetype in FORM_TYPES:
        for key, value in request.form.items(multi=True):
            if CONTROL.search(key) or CONTROL.search(value):
                refuse(400, UNREADABLE)


def _refuse_non_forms() -> None:
    """415 for a body that is not a form (an empty body is fine: bare confirmations)."""
    if request.method not in STATE_CHANGING:
        return
    if request.routing_exception is not None:
        return  # no such address, or not this method (the read-only API): that answer first
    has_body = bool(request.content_length) or request.headers.get("Transfer-Encoding")
    if has_body and request.mimetype not in FORM_TYPES:
        refuse(415, NOT_A_FORM)


def check_request() -> None:
    """Run every check of the door, in order."""
    _refuse_non_forms()
    _refuse_unreadable()


def database_unavailable(error: sa.exc.SQLAlchemyError) -> Response:
    """The database did not answer (down, locked, full): 503, try again shortly."""
    from .extensions import db

    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:
        db.session.invalidate()  # the connection is gone: drop it, the pool makes a new one
    unavailable = ServiceUnavailable(description=str(UNAVAILABLE), retry_after=RETRY_AFTER)
    unavailable.french = True  # type: ignore[attr-defined]
    return error_response(unavailable)


def init_app(app: Flask) -> None:
    """Check every request at the door; answer 503 when the database is unavailable."""
    app.before_request(check_request)
    for error in (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError):
        app.register_error_handler(error, database_unavailable)
    # A 415 from werkzeug itself (e.g. request.get_json on a form) speaks French too.
    app.register_error_handler(UnsupportedMediaType, error_response)
