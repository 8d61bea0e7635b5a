"""Public .ics downloads, cacheable and subscribable."""

from flask import Response, abort, request
from flask_babel import gettext as _

from ..http import Cache, blueprint_cache
from ..localized import localized
from ..programme.services import episode_or_404, programme_view_or_404
from . import bp
from .builder import build_calendar, ics_response

blueprint_cache(bp, Cache.SHARED_BRIEF)


@bp.get("/cycle.ics")
def cycle_ics() -> Response:
    """The whole cycle, for download or subscription (webcal://)."""
    view = programme_view_or_404()
    calendar = build_calendar(view.episodes, localized(view.series, "title"))
    return ics_response(calendar, "cycle-webinaires-participation.ics")


@bp.get("/episodes/<slug>.ics")
def episode_ics(slug: str) -> Response:
    """One episode."""
    episode = episode_or_404(slug)
    name = _(
        "%(series)s · épisode %(number)s",
        series=localized(episode.series, "title"),
        number=episode.number,
    )
    calendar = build_calendar([episode], name)
    return ics_response(calendar, f"webinaire-participation-episode-{episode.number}.ics")


@bp.get("/agenda.ics")
def selection_ics() -> Response:
    """Several episodes chosen by number (`?episodes=1,3,4`): 'Ajouter à mon agenda'."""
    raw = request.args.get("episodes", "")[:100]
    try:
        numbers = {int(part) for part in raw.split(",") if part.strip()}
    except ValueError:
        abort(404)
    view = programme_view_or_404()
    episodes = view.by_number(numbers)
    if not episodes:
        abort(404)
    return ics_response(
        build_calendar(episodes, localized(view.series, "title")),
        "mes-webinaires-participation.ics",
    )
