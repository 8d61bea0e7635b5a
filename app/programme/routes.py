"""Programme page, episode pages."""

from __future__ import annotations

from datetime import datetime

from flask import Response, abort, current_app, render_template, request

from ..calendar.builder import google_calendar_link, outlook_link, webcal_link
from ..clock import utcnow
from ..pages import etag_of
from . import bp
from .services import ProgrammeView, load_programme_view

# Rendered shared pages are kept by ETag (per app): the page is the same for every
# anonymous visitor, so each worker renders it once per content version and state change.
_PAGE_CACHE_MAX = 32


def programme_etag(view: ProgrammeView, now: datetime, kind: str) -> str:
    """ETag following the content, each episode's state, and the deployed templates."""
    states = [(e.id, e.updated_at, e.state(now), bool(e.replay_url)) for e in view.episodes]
    return etag_of(kind, current_app.config["BUILD_ID"], view.series.updated_at, states)


@bp.app_template_global()
def calendar_links(episode) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Add-to-calendar links of one episode."""
    site = current_app.config["SITE_URL"]
    return {
        "google": google_calendar_link(site, episode),
        "outlook": outlook_link(site, episode, work_account=True),
        "outlook_com": outlook_link(site, episode, work_account=False),
    }


def shared_page(kind: str, view: ProgrammeView, template: str, **context) -> Response:  # type: ignore[no-untyped-def]
    """Serve a page that is the same for everyone: ETag, 304, in-process cache, no session."""
    now = utcnow()
    etag = programme_etag(view, now, kind)
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        cache: dict[str, bytes] = current_app.extensions.setdefault("page_cache", {})
        body = cache.get(etag)
        if body is None:
            html = render_template(
                template,
                view=view,
                now=now,
                webcal_url=webcal_link(current_app.config["SITE_URL"], "/cycle.ics"),
                **context,
            )
            body = html.encode()
            if len(cache) >= _PAGE_CACHE_MAX:
                cache.clear()
            cache[etag] = body
        response = Response(body, mimetype="text/html")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, no-cache"
    return response


@bp.get("/")
def index() -> Response:
    """The series, its seven episodes, and the way to register."""
    view = load_programme_view()
    if view is None:
        return Response(render_template("programme/empty.html"), status=503)
    return shared_page("index", view, "programme/index.html")


@bp.get("/episodes/<slug>")
def episode(slug: str) -> Response:
    """One episode, shareable."""
    view = load_programme_view()
    found = view.episode(slug) if view else None
    if found is None:
        abort(404)
    return shared_page(f"episode:{slug}", view, "programme/episode.html", episode=found)


@bp.get("/confidentialite")
def privacy() -> Response:
    """The privacy notice (who, why, how long, how to erase)."""
    response = Response(render_template("programme/privacy.html"))
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
