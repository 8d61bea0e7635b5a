"""Programme page, episode pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Response, abort, current_app, make_response, render_template, request

from ..calendar.builder import google_calendar_link, outlook_link, webcal_link
from ..clock import utcnow
from ..identity import current_visitor
from ..pages import etag_of, wants_fragment
from . import bp
from .services import ProgrammeSnapshot, ProgrammeView, load_programme_view, programme_snapshot

# Rendered shared pages are kept by ETag (per app): the page is the same for every
# anonymous visitor, so each worker renders it once per content version and state change.
_PAGE_CACHE_MAX = 32


def programme_etag(snapshot: ProgrammeSnapshot, now: datetime, kind: str) -> str:
    """ETag following the content, each episode's state, and the deployed templates."""
    states = snapshot.states(now)
    key = (kind, states)
    etag = snapshot.etags.get(key)
    if etag is None:
        etag = etag_of(kind, current_app.config["BUILD_ID"], snapshot.version, states)
        snapshot.etags[key] = etag
    return etag


@bp.app_template_global()
def calendar_links(episode) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Add-to-calendar links of one episode."""
    site = current_app.config["SITE_URL"]
    return {
        "google": google_calendar_link(site, episode),
        "outlook": outlook_link(site, episode, work_account=True),
        "outlook_com": outlook_link(site, episode, work_account=False),
    }


def shared_page(
    kind: str,
    snapshot: ProgrammeSnapshot,
    now: datetime,
    render: Callable[[ProgrammeView, datetime], str],
) -> Response:
    """Serve a page that is the same for everyone: ETag, 304, in-process cache, no session.

    The fast path (page already rendered for this content and these episode states) reads
    no database row at all; only a new version is rendered from the full view.
    """
    etag = programme_etag(snapshot, now, kind)
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        cache: dict[str, bytes] = current_app.extensions.setdefault("page_cache", {})
        body = cache.get(etag)
        if body is None:
            view = load_programme_view()
            if view is None:
                abort(404)
            body = render(view, now).encode()
            if len(cache) >= _PAGE_CACHE_MAX:
                cache.clear()
            cache[etag] = body
        response = Response(body, mimetype="text/html")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, no-cache"
    return response


def _webcal_url() -> str:
    return webcal_link(current_app.config["SITE_URL"], "/cycle.ics")


@bp.get("/")
def index() -> Response:
    """The series, its seven episodes, and the way to register."""
    now = utcnow()
    snapshot = programme_snapshot(now)
    if snapshot is None:
        return Response(render_template("programme/empty.html"), status=503)
    return shared_page(
        "index",
        snapshot,
        now,
        lambda view, now: render_template(
            "programme/index.html", view=view, now=now, webcal_url=_webcal_url()
        ),
    )


@bp.get("/episodes/<slug>")
def episode(slug: str) -> Response:
    """One episode, shareable, with the questions the facilitator published.

    Unlike `/`, this page shows the visitor's own votes, so it is rendered per request:
    private caching, an ETag of the body itself (it changes whenever a question, a vote
    or the episode does), and the sorted list alone for an htmx request aimed at it.
    """
    from ..questions.services import question_board

    view = load_programme_view()
    found = view.episode(slug) if view else None
    if found is None:
        abort(404)
    now = utcnow()
    board = question_board(found, current_visitor(), request.args.get("tri"), now)
    if wants_fragment("questions-publiees"):
        # Focus follows a sort link the person used, not a refresh they did not ask for.
        focus_sort = (request.htmx.trigger or "").startswith("tri-")
        html = render_template(
            "questions/_published.html", board=board, episode=found, now=now, focus_sort=focus_sort
        )
    else:
        html = render_template(
            "programme/episode.html",
            view=view,
            now=now,
            episode=found,
            board=board,
            webcal_url=_webcal_url(),
        )
    response = make_response(html)
    response.add_etag()
    response.headers["Cache-Control"] = "private, no-cache"
    return response.make_conditional(request)


@bp.get("/confidentialite")
def privacy() -> Response:
    """The privacy notice (who, why, how long, how to erase)."""
    response = Response(render_template("programme/privacy.html"))
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
