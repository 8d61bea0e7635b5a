"""The API's views: read, dump through a schema, answer JSON with an ETag.

Their docstrings are in French: they are the operations' descriptions in the OpenAPI
document, which its readers (French reusers of public data) read.
"""

from __future__ import annotations

from flask import Response, current_app

from ..clock import utcnow
from ..http import render_json
from ..programme.services import programme_view_or_404
from . import bp
from .schemas import CycleSchema, EpisodeListSchema, EpisodeSchema, QuestionListSchema
from .services import cycle_data, episodes_data, one_episode_data, questions_data
from .spec import build_spec, documented


@bp.get("/cycle")
@documented("Le cycle et ses épisodes", CycleSchema)
def cycle() -> Response:
    """Le cycle (titre, présentation, licence) avec tous ses épisodes, dans l’ordre."""
    return render_json(CycleSchema().dump(cycle_data(utcnow())))


@bp.get("/episodes")
@documented("Les épisodes", EpisodeListSchema)
def episodes() -> Response:
    """Tous les épisodes du cycle, dans l’ordre, avec leur registre public une fois commencés."""
    data = {"episodes": episodes_data(programme_view_or_404(), utcnow())}
    return render_json(EpisodeListSchema().dump(data))


@bp.get("/episodes/<slug>")
@documented("Un épisode", EpisodeSchema)
def episode(slug: str) -> Response:
    """Un épisode : horaires, état, intervenants, replay, registre public."""
    return render_json(EpisodeSchema().dump(one_episode_data(slug, utcnow())))


@bp.get("/episodes/<slug>/questions")
@documented("Les questions publiées d’un épisode", QuestionListSchema)
def questions(slug: str) -> Response:
    """Les questions publiées (jamais les écartées), les plus soutenues d’abord, avec leurs
    votes et leur sort ; le nom de l’auteur seulement s’il a choisi de l’afficher."""
    return render_json(QuestionListSchema().dump(questions_data(slug, utcnow())))


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document of this API (built once per process)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    document = app.extensions.get("openapi")
    if document is None:
        document = app.extensions["openapi"] = build_spec(app, app.config["SITE_URL"])
    return render_json(document)
