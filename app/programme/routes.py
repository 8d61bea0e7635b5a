"""Programme page, episode pages, privacy notice."""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask import Response, current_app, render_template, request

from ..clock import utcnow
from ..http import Cache, cache, render, wants_fragment
from ..identity import current_visitor
from ..questions.board import question_board
from ..questions.register import episode_register
from . import bp
from .services import (
    ProgrammeSnapshot,
    episode_or_404,
    load_programme_view,
    programme_snapshot,
    programme_view_or_404,
)


def programme_etag(snapshot: ProgrammeSnapshot, now: datetime, kind: str) -> str:
    """ETag following the content, each episode's state, and the deployed templates."""
    states = snapshot.states(now)
    key = (kind, states)
    etag = snapshot.etags.get(key)
    if etag is None:
        parts = (kind, current_app.config["BUILD_ID"], snapshot.version, states)
        etag = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]
        snapshot.etags[key] = etag
    return etag


@bp.get("/")
@cache(Cache.SHARED)
def index() -> Response:
    """The series, its seven episodes, and the way to register."""
    now = utcnow()
    snapshot = programme_snapshot(now)
    if snapshot is None:
        return Response(render_template("programme/empty.html"), status=503)
    # The same bytes for every visitor (app/pagecache.py keeps them in front of Flask):
    # its ETag follows the content and the episodes' states, without rendering.
    etag = programme_etag(snapshot, now, "index")
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        html = render_template(
            "programme/index.html",
            view=programme_view_or_404(),
            now=now,
            seats=snapshot.places_left(),
        )
        response = Response(html, mimetype="text/html")
    response.set_etag(etag)
    return response


@bp.get("/episodes/<slug>")
@cache(Cache.PRIVATE)
def episode(slug: str) -> Response:
    """One episode, shareable, with the questions the facilitator published.

    Unlike `/`, this page shows the visitor's own votes, so it is rendered per request:
    private caching, an ETag of the body itself (it changes whenever a question, a vote
    or the episode does), and the sorted list alone for an htmx request aimed at it.
    """
    found, now = episode_or_404(slug), utcnow()
    # Its seats, where it has a capacity: from the worker's snapshot (usually no query).
    snapshot = programme_snapshot(now) if found.capacity is not None else None
    response = render(
        "programme/episode.html",
        "questions/_published.html",
        targets=("questions-publiees",),
        view=load_programme_view(),
        now=now,
        episode=found,
        seats=snapshot.places_left() if snapshot else {},
        board=question_board(
            found,
            current_visitor(),
            request.args.get("tri"),
            now,
            request.args.get("voir", type=int),
        ),
        register=episode_register(found, now),
        # Focus follows a sort link the person used, not a refresh they did not ask for.
        focus_sort=wants_fragment() and (request.htmx.trigger or "").startswith("tri-"),
        focus_more=wants_fragment() and request.htmx.trigger == "voir-suivantes",
    )
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/confidentialite")
@cache(Cache.SHARED_BRIEF)
def privacy() -> str:
    """The privacy notice (who, why, how long, how to erase)."""
    return render_template("programme/privacy.html")


@bp.get("/accessibilite")
@cache(Cache.SHARED_BRIEF)
def accessibility() -> str:
    """The accessibility statement (RGAA): conformity, tests, known gaps, contact, recourse."""
    return render_template("programme/accessibility.html")
