"""Who registered: the list, and the CSV exports of registrants and questions."""

from __future__ import annotations

from flask import Response, render_template, request

from ...converters import db_int
from ...models import Episode
from ...programme.services import episode_or_404, load_programme_view
from .. import bp
from ..audience import questions_for_export, registrants_for_export, registrants_page
from ..export import csv_download, questions_csv, registrants_csv


def _chosen_episode() -> Episode | None:
    """The episode picked by number in the query string, if any."""
    number = request.args.get("episode", type=db_int)
    view = load_programme_view()
    return next((e for e in (view.episodes if view else []) if e.number == number), None)


@bp.get("/inscrits")
def registrants() -> str:
    """Everyone registered: search, filter by episode, paginated."""
    episode = _chosen_episode()
    q = (request.args.get("q") or "").strip()[:200]
    page = request.args.get("page", type=db_int, default=1)
    view = load_programme_view()
    return render_template(
        "facilitator/registrants.html",
        view=registrants_page(q, episode.id if episode else None, page),
        episodes=view.episodes if view else [],
        selected=episode,
        q=q,
    )


@bp.get("/inscrits.csv")
def registrants_export() -> Response:
    """Registrants as CSV (all, or of one episode)."""
    episode = _chosen_episode()
    rows = registrants_for_export(episode.id if episode else None)
    name = f"inscrits-episode-{episode.number}.csv" if episode else "inscrits.csv"
    return csv_download(registrants_csv(rows), name)


@bp.get("/episodes/<slug>/questions.csv")
def questions_export(slug: str) -> Response:
    """An episode's questions as CSV."""
    episode = episode_or_404(slug)
    rows = questions_for_export(episode.id)
    return csv_download(questions_csv(rows), f"questions-episode-{episode.number}.csv")
