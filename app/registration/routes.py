"""Register inline (htmx) or on its own page (plain POST, 303 to the confirmation)."""

from __future__ import annotations

from flask import Response, current_app, make_response, redirect, render_template, session, url_for
from wtforms.fields.choices import SelectChoice

from ..clock import utcnow
from ..extensions import limiter
from ..identity import LIMITED, current_visitor, remember
from ..models import Episode
from ..pages import wants_fragment
from ..programme.services import load_programme_view
from . import bp
from .forms import RegistrationForm
from .services import RegistrationRequest
from .services import register as register_attendee

CLOSED_EPISODE = "Cet épisode a déjà commencé ou n’existe pas : décochez-le."


def _episode_label(episode: Episode) -> str:
    from ..timefmt import datetime_fr

    return f"Épisode {episode.number} · {datetime_fr(episode.starts_at)} : {episode.title}"


def _render(form: RegistrationForm, upcoming: list[Episode], status: int = 200) -> Response:
    first_error = next(iter(form.errors), None)
    if first_error is None and wants_fragment() and not form.is_submitted():
        # Opened in place by "Je m’inscris": the link it replaces is gone, so focus goes
        # to the first field (else keyboard users are thrown back to the top of the page).
        first_error = "first_name"
    context = {"form": form, "upcoming": upcoming, "first_error": first_error}
    template = "registration/_form.html" if wants_fragment() else "registration/page.html"
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/inscription", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_REGISTRATION"], methods=["POST"])
def register() -> Response:
    """The form; on success the confirmation in place (htmx) or a 303 to it."""
    view = load_programme_view()
    upcoming = view.upcoming(utcnow()) if view else []
    form = RegistrationForm()
    form.episodes.choices = [SelectChoice(str(e.id), _episode_label(e)) for e in upcoming]
    if not form.is_submitted():
        form.episodes.data = [e.id for e in upcoming]  # all upcoming ticked by default
        return _render(form, upcoming)

    valid = form.validate()
    open_ids = {e.id for e in upcoming}
    if form.episodes.data and not set(form.episodes.data) <= open_ids:
        form.episodes.errors = [*form.episodes.errors, CLOSED_EPISODE]
        valid = False
    if not valid or view is None:
        return _render(form, upcoming, status=422)

    chosen = [e for e in upcoming if e.id in set(form.episodes.data)]
    summary = {
        "first_name": form.first_name.data,
        "last_name": form.last_name.data,
        "email": form.email.data,
        "episode_ids": [e.id for e in chosen],
    }
    if not form.website.data:  # the honeypot: a bot gets the same answer, nothing is kept
        attendee = register_attendee(
            RegistrationRequest(
                series_id=view.series.id,
                email=form.email.data,
                first_name=form.first_name.data,
                last_name=form.last_name.data,
                organisation=form.organisation.data,
                organisation_kind=form.organisation_kind.data,
                job_title=form.job_title.data or "",
                episode_ids=summary["episode_ids"],
            )
        )
        remember(attendee, LIMITED, display_name=form.first_name.data)
    if wants_fragment():
        response = make_response(
            render_template("registration/_confirmation.html", summary=summary, episodes=chosen)
        )
        response.headers["Cache-Control"] = "no-store"
        return response
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
    response = make_response(
        render_template("registration/confirmation.html", summary=summary, episodes=episodes)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/inscription/etat")
def status() -> Response:
    """Per-visitor note for the shared programme page: 'you are registered', or nothing."""
    visitor = current_visitor()
    if visitor is None:
        return Response(status=204)
    response = make_response(render_template("registration/_status.html", visitor=visitor))
    response.headers["Cache-Control"] = "no-store"
    return response
