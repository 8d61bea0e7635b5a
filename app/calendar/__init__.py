"""Calendar downloads: one episode, the whole cycle; add-to-calendar links for templates."""

from flask import Blueprint

from .builder import calendar_links, webcal_link

bp = Blueprint("calendar", __name__)
bp.add_app_template_global(calendar_links)
bp.add_app_template_global(webcal_link)

from . import routes  # noqa: E402,F401
