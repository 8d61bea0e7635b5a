"""Register inline (htmx) or on its own page (plain POST, 303 to the confirmation)."""

from __future__ import annotations

from flask import Response, current_app, redirect, render_template, request, session, url_for

from ..clock import utcnow
from ..extensions import limiter
from ..http import Cache, blueprint_cache, render, wants_fragment
from ..identity import LIMITED, current_visitor, remember
from ..links import path_of
from ..programme.services import load_programme_view
from . import bp
from .forms import RegistrationForm
from .services import RegistrationRequest
from .services import register as register_attendee

blueprint_cache(bp, Cache.NEVER)


def _heading_level() -> int:
    """h2 on the registration's own page (under its h1), h3 inside the programme's section."""
    if not wants_fragment():
        return 2
    current = path_of(request.headers.get("HX-Current-URL", ""))
    return 2 if current == url_for("registration.register") else 3


def _form(form: RegistrationForm, status: int = 200) -> Response:
    """The form, with the focus on the first error (or the first field when opened in place)."""
    first_error = next(iter(form.errors), None)
    if first_error is None and wants_fragment() and not form.is_submitted():
        # Opened in place by "Je m’inscris": the link it replaces is gone, so focus goes
        # to the first field (else keyboard users are thrown back to the top of the page).
        first_error = "first_name"
    return render(
        "registration/page.html",
        "registration/_form.html",
        status=status,
        form=form,
        upcoming=form.upcoming,
        first_error=first_error,
        level=_heading_level(),
    )


@bp.route("/inscription", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_REGISTRATION"], methods=["POST"])
def register() -> Response:
    """The form; on success the confirmation in place (htmx) or a 303 to it."""
    view = load_programme_view()
    form = RegistrationForm.offering(view.upcoming(utcnow()) if view else [])
    if not form.is_submitted():
        return _form(form)
    if not form.validate() or view is None:
        return _form(form, status=422)
    if not form.from_a_bot:  # a bot gets the same answer, and nothing is kept
        submitted = RegistrationRequest(
            series_id=view.series.id, episode_ids=form.summary["episode_ids"], **form.details
        )
        remember(register_attendee(submitted), LIMITED, display_name=form.first_name.data)
    summary = form.summary
    if wants_fragment():
        return render(
            "registration/_confirmation.html",
            summary=summary,
            episodes=form.chosen,
            level=_heading_level(),
        )
    session["last_registration"] = summary
    return redirect(url_for("registration.confirmation"), code=303)


@bp.get("/inscription/confirmation")
def confirmation() -> Response:
    """After a plain POST: what was just submitted, and nothing else."""
    # Shown once: the name and address typed do not stay in the cookie.
    summary = session.pop("last_registration", None)
    if not summary:
        return redirect(url_for("registration.register"), code=303)
    view = load_programme_view()
    episodes = [e for e in (view.episodes if view else []) if e.id in summary["episode_ids"]]
    return render("registration/confirmation.html", summary=summary, episodes=episodes, level=2)


@bp.get("/inscription/etat")
def status() -> Response:
    """Per-visitor note for the shared programme page: 'you are registered', or nothing."""
    visitor = current_visitor()
    if visitor is None:
        return Response(status=204)
    return Response(render_template("registration/_status.html", visitor=visitor))
