"""Questions for an episode: send, edit, withdraw before it starts; vote for published ones."""

from flask import Blueprint

bp = Blueprint("questions", __name__)

from . import routes, votes  # noqa: E402,F401
