"""The attendee's personal space, reached through the personal link (no account)."""

from flask import Blueprint

bp = Blueprint("attendee", __name__, url_prefix="/moi")

from . import routes  # noqa: E402,F401
