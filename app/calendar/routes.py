"""Public .ics downloads, cacheable and subscribable."""

import hashlib

from flask import Response, abort, current_app, request

from ..programme.services import load_programme_view
from . import bp
from .builder import build_calendar, ics_bytes


def ics_response(body: bytes, filename: str) -> Response:
    """Serve an .ics with a content ETag (304 when unchanged)."""
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.headers["Cache-Control"] = "public, max-age=300"
    return response.make_conditional(request)


@bp.get("/cycle.ics")
def cycle_ics() -> Response:
    """The whole cycle, for download or subscription (webcal://)."""
    view = load_programme_view()
    if view is None:
        abort(404)
    site = current_app.config["SITE_URL"]
    calendar = build_calendar(site, view.episodes, view.series.title)
    return ics_response(ics_bytes(calendar), "cycle-webinaires-participation.ics")


@bp.get("/episodes/<slug>.ics")
def episode_ics(slug: str) -> Response:
    """One episode."""
    view = load_programme_view()
    episode = view.episode(slug) if view else None
    if episode is None:
        abort(404)
    site = current_app.config["SITE_URL"]
    calendar = build_calendar(site, [episode], f"{view.series.title} · épisode {episode.number}")
    return ics_response(
        ics_bytes(calendar), f"webinaire-participation-episode-{episode.number}.ics"
    )


@bp.get("/agenda.ics")
def selection_ics() -> Response:
    """Several episodes chosen by number (`?episodes=1,3,4`): 'Ajouter à mon agenda'."""
    view = load_programme_view()
    raw = request.args.get("episodes", "")[:100]
    try:
        numbers = {int(part) for part in raw.split(",") if part.strip()}
    except ValueError:
        abort(404)
    episodes = [e for e in (view.episodes if view else []) if e.number in numbers]
    if not episodes:
        abort(404)
    site = current_app.config["SITE_URL"]
    calendar = build_calendar(site, episodes, view.series.title)
    return ics_response(ics_bytes(calendar), "mes-webinaires-participation.ics")
