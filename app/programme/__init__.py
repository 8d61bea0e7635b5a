"""The public programme: the series page and one page per episode."""

from flask import Blueprint

bp = Blueprint("programme", __name__)

from . import routes  # noqa: E402,F401
