"""Programme page, episode pages, privacy notice."""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask import Response, current_app, render_template, request

from ..api.services import rate_limits_fr
from ..clock import utcnow
from ..http import Cache, cache, render, wants_fragment
from ..identity import current_visitor
from ..questions.board import question_board
from ..questions.register import episode_register
from . import bp
from .services import episode_or_404, load_programme_view, programme_view_or_404
from .snapshot import ProgrammeSnapshot, programme_snapshot, seats_of


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
    etag, html = programme_etag(snapshot, now, "index"), None
    if not request.if_none_match.contains(etag):
        # The snapshot may be older than the programme read now (another instance's change
        # within PROGRAMME_SNAPSHOT_SECONDS): the ETag names what is rendered, so the same
        # bytes carry the same ETag on every worker of every instance.
        view = programme_view_or_404()
        rendered = ProgrammeSnapshot.of_view(view, now, seats_of(view))
        etag = programme_etag(rendered, now, "index")
        if not request.if_none_match.contains(etag):
            html = render_template(
                "programme/index.html", view=view, now=now, seats=rendered.places_left()
            )
    response = Response(status=304) if html is None else Response(html, mimetype="text/html")
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
    found, now, asked = episode_or_404(slug), utcnow(), request.args
    board = question_board(
        found, current_visitor(), asked.get("tri"), now, asked.get("voir", type=int)
    )
    # Focus follows a link the person used (a sort, "voir les suivantes"), not a refresh.
    trigger = (request.htmx.trigger or "") if wants_fragment() else ""
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
        board=board,
        register=episode_register(found, now),
        focus_sort=trigger.startswith("tri-"),
        focus_more=trigger == "voir-suivantes",
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


@bp.get("/donnees-ouvertes")
@cache(Cache.SHARED_BRIEF)
def open_data() -> str:
    """How to reuse the programme: the API, examples, fields, licence, limits."""
    return render_template(
        "programme/open_data.html",
        api_limits=rate_limits_fr(current_app.config["RATELIMIT_API"]),
    )
