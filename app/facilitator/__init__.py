"""The facilitator's space under /animation/: review, live, audience, follow-up."""

from flask import Blueprint

bp = Blueprint("facilitator", __name__, url_prefix="/animation")

from . import auth, routes  # noqa: E402,F401
