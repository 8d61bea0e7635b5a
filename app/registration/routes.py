"""Register inline (htmx) or on its own page (plain POST, 303 to the confirmation).

`?episode=<slug>` in the address names the episode page the visitor came from: that
episode is ticked (the others offered), and the confirmation offers to ask a question for it.
"""

from __future__ import annotations

from datetime import datetime

from flask import Response, current_app, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l

from ..clock import utcnow
from ..database import write
from ..extensions import limiter
from ..http import Cache, blueprint_cache, render, wants_fragment
from ..identity import LIMITED, current_visitor, remember
from ..links import episode_url
from ..models import Episode
from ..programme.services import ProgrammeView, load_programme_view
from ..programme.snapshot import programme_snapshot
from ..refusals import Refusal
from ..sessions import persist_session
from . import bp
from .forms import RegistrationForm
from .services import RegistrationRequest
from .services import register as register_attendee

blueprint_cache(bp, Cache.NEVER)


def _heading_level() -> int:
    """The level of the form's headings, so that none is skipped: h3 inside the programme's
    "Inscriptions" section (under its h2), h2 everywhere else (the form's own page, the
    call at the top of a page, both under the h1). A re-sent form says where it sits."""
    if not wants_fragment():
        return 2
    if request.args.get("niveau") in ("2", "3"):
        return int(request.args["niveau"])
    return 3 if request.htmx.target == "inscription-zone" else 2


class UnknownEpisode(Refusal):
    """The address names an episode that does not exist."""

    code = 404
    message = _l("Cet épisode n’existe pas. Choisissez ci-dessous les épisodes que vous suivrez.")


class EpisodeStarted(Refusal):
    """The address names an episode that has started: nobody can register for it any more."""

    code = 409
    message = _l(
        "Cet épisode a déjà commencé : l’inscription n’est plus possible pour lui."
        " Les épisodes à venir sont proposés ci-dessous."
    )


def episode_in_address(view: ProgrammeView | None, now: datetime) -> Episode | None:
    """The episode named by `?episode=<slug>`, if one is named and can still be chosen."""
    slug = request.args.get("episode")
    if not slug or view is None:
        return None
    episode = view.episode(slug)
    if episode is None:
        raise UnknownEpisode()
    if episode not in view.upcoming(now):
        raise EpisodeStarted()
    return episode


def _form(
    form: RegistrationForm,
    origin: Episode | None,
    refusal: Refusal | None = None,
    status: int = 200,
) -> Response:
    """The form, with the focus on the first error (or the first field when opened in place).

    A refused `?episode=` still gets the form (every upcoming episode offered), under the
    refusal's French message and with its 4xx status.
    """
    first_error = next(iter(form.errors), None)
    if first_error is None and wants_fragment() and not form.is_submitted():
        # Opened in place by "S’inscrire": the link it replaces is gone, so focus goes
        # to the first field (else keyboard users are thrown back to the top of the page).
        first_error = "first_name"
    return render(
        "registration/page.html",
        "registration/_form.html",
        status=refusal.code if refusal else status,
        form=form,
        upcoming=form.upcoming,
        first_error=first_error,
        level=_heading_level(),
        origin=origin,
        notice=refusal.message if refusal else None,
        # "Annuler" without JavaScript: back to the page the visitor came from.
        back=episode_url(origin) if origin else url_for("programme.index"),
    )


@bp.route("/inscription", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_REGISTRATION"], methods=["POST"])
def register() -> Response:
    """The form; on success the confirmation in place (htmx) or a 303 to it."""
    view, now = load_programme_view(), utcnow()
    try:
        origin, refusal = episode_in_address(view, now), None
    except Refusal as error:  # a stale or mistyped link: say so above the form
        origin, refusal = None, error
    upcoming = view.upcoming(now) if view else []
    form = RegistrationForm.offering(upcoming, ticked=origin, full=_full(upcoming, now))
    if not form.is_submitted():
        return _form(form, origin, refusal)
    if not form.validate() or view is None:
        return _form(form, origin, status=422)
    waiting: dict[str, int] = {}
    if not form.from_a_bot:  # a bot gets the same answer, and nothing is kept
        waiting = _register(form, view.series.id)
    summary, asking = form.summary | {"waiting": waiting}, origin if origin in form.chosen else None
    if wants_fragment():
        return render(
            "registration/_confirmation.html",
            summary=summary,
            episodes=form.chosen,
            asking=asking,
            level=_heading_level(),
        )
    session["last_registration"] = summary
    back = url_for("registration.confirmation", episode=asking.slug if asking else None)
    return redirect(back, code=303)


def _full(upcoming: list[Episode], now: datetime) -> frozenset[int]:
    """The episodes offered whose seats are all taken (from the worker's snapshot, read
    only when an episode has a capacity): the form offers their waiting list."""
    if all(episode.capacity is None for episode in upcoming):
        return frozenset()
    snapshot = programme_snapshot(now)
    return frozenset(i for i, left in (snapshot.seats if snapshot else ()) if left == 0)


def _register(form: RegistrationForm, series_id: int) -> dict[str, int]:
    """Register, and give this browser limited rights, in one transaction (one commit); say
    where the person waits for a seat (episode id → place on the waiting list)."""
    submitted = RegistrationRequest(
        series_id=series_id, episode_ids=form.summary["episode_ids"], **form.details
    )
    # The programme read for the form stays as read (the registration changes none of it):
    # the confirmation shows it without reading it again.
    with write(keep_loaded=True):
        registered = register_attendee(submitted)
        remember(registered.attendee, LIMITED, display_name=form.first_name.data)
        persist_session()
    # Keys as strings: the summary of a plain POST travels in the session (JSON).
    return {str(i): place for i, place in registered.places.items() if place is not None}


@bp.get("/inscription/confirmation")
def confirmation() -> Response:
    """After a plain POST: what was just submitted, and nothing else."""
    # Shown once: the name and address typed do not stay in the cookie.
    summary = session.pop("last_registration", None)
    if not summary:
        return redirect(url_for("registration.register"), code=303)
    view = load_programme_view()
    episodes = [e for e in (view.episodes if view else []) if e.id in summary["episode_ids"]]
    # The episode page the visitor came from, if it is among those just chosen.
    asking = next((e for e in episodes if e.slug == request.args.get("episode")), None)
    return render(
        "registration/confirmation.html",
        summary=summary,
        episodes=episodes,
        asking=asking,
        level=2,
    )


@bp.get("/inscription/etat")
def status() -> Response:
    """Per-visitor note for the shared programme page: 'you are registered', or nothing."""
    visitor = current_visitor()
    if visitor is None:
        return Response(status=204)
    return Response(render_template("registration/_status.html", visitor=visitor))
