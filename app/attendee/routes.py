"""Personal space: /moi/<token> opens it; every change is a POST (links in e-mails never act)."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from ..calendar.builder import build_calendar, ics_bytes
from ..calendar.routes import ics_response
from ..clock import utcnow
from ..extensions import csrf, db, limiter
from ..identity import (
    FULL,
    attendee_for_token,
    current_visitor,
    forget,
    mark_token_used,
    remember,
)
from ..models import ORGANISATION_KIND_LABELS, Attendee, Episode
from ..pages import wants_fragment
from ..programme.services import load_programme_view
from ..questions.services import questions_for_attendee
from ..registration.services import followed_episodes
from . import bp, services
from .forms import ConfirmForm, LinkRequestForm


def private(response: Response) -> Response:
    """Personal pages: never cached, never sent as a Referer (the token is in the URL)."""
    response.headers["Cache-Control"] = "no-store"
    # The origin only: the token never leaves the page, and Flask-WTF's HTTPS referrer
    # check (which "no-referrer" would fail) still sees our own origin.
    response.headers["Referrer-Policy"] = "strict-origin"
    return response


def _attendee_or_404(token: str) -> Attendee:
    attendee = attendee_for_token(token)
    if attendee is None:
        abort(404, description="Ce lien personnel n’est pas (ou plus) valable.")
    return attendee


def _open(token: str) -> Attendee:
    """Resolve the token and give this browser the attendee's full rights."""
    attendee = _attendee_or_404(token)
    mark_token_used(token)
    remember(attendee, FULL)
    session["space_token"] = token
    return attendee


@bp.get("")
def home() -> Response:
    """The space of this browser's attendee if it opened a link before, else 'receive my link'."""
    visitor = current_visitor()
    token = session.get("space_token")
    if visitor and visitor.full and token and attendee_for_token(token) is not None:
        return redirect(url_for("attendee.space", token=token), code=303)
    return redirect(url_for("attendee.request_link"), code=303)


@bp.route("/lien", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LINK_REQUEST"], methods=["POST"])
def request_link() -> Response:
    """'Recevoir mon lien': same answer whether the address is registered or not."""
    form = LinkRequestForm()
    sent = False
    status = 200
    if form.is_submitted():
        if form.validate():
            view = load_programme_view()
            if view is not None and not form.website.data:
                services.request_link(view.series.id, form.email.data)
            sent = True
        else:
            status = 422
    template = "attendee/_link_request.html" if wants_fragment() else "attendee/link_request.html"
    return private(make_response(render_template(template, form=form, sent=sent), status))


def _space_context(attendee: Attendee, token: str) -> dict:
    view = load_programme_view()
    followed = {e.id for e in followed_episodes(attendee.id)}
    return {
        "attendee": attendee,
        "token": token,
        "view": view,
        "episodes": view.episodes if view else [],
        "followed": followed,
        "now": utcnow(),
        "kind_label": ORGANISATION_KIND_LABELS.get(attendee.organisation_kind, "Autre"),
        "form": ConfirmForm(),
    }


@bp.get("/<token>")
def space(token: str) -> Response:
    """The personal space."""
    attendee = _open(token)
    context = _space_context(attendee, token)
    context["attendee_questions"] = questions_for_attendee(attendee.id)
    return private(make_response(render_template("attendee/space.html", **context)))


@bp.post("/<token>/episodes/<int:episode_id>")
def toggle_episode(token: str, episode_id: int) -> Response:
    """Follow or stop following one upcoming episode, in place."""
    attendee = _open(token)
    episode = db.session.get(Episode, episode_id)
    if episode is None or episode.series_id != attendee.series_id:
        abort(404)
    # The form says what the person wants (not "toggle"): a double click or a retried
    # POST leaves the same result.
    wanted = request.form.get("follow")
    if wanted not in ("0", "1"):
        abort(400)
    follow = wanted == "1"
    message = ""
    status = 200
    try:
        services.set_following(attendee.id, episode, follow)
        message = (
            f"Vous suivez maintenant l’épisode {episode.number}."
            if follow
            else f"Vous ne suivez plus l’épisode {episode.number}."
        )
    except services.EpisodeClosed:
        message = "Cet épisode a commencé : il ne peut plus être ajouté ni retiré."
        status = 409
    if not wants_fragment():
        flash(message, "success" if status == 200 else "error")
        return redirect(
            url_for("attendee.space", token=token, _anchor=f"mon-episode-{episode.number}"),
            code=303,
        )
    context = _space_context(attendee, token)
    context["message"] = message
    return private(
        make_response(
            render_template("attendee/_episode_item.html", episode=episode, **context), status
        )
    )


@bp.get("/<token>/agenda.ics")
def agenda(token: str) -> Response:
    """The attendee's own calendar: their episodes, with the join links."""
    attendee = _attendee_or_404(token)
    episodes = followed_episodes(attendee.id)
    calendar = build_calendar(
        current_app.config["SITE_URL"],
        episodes,
        "Mes webinaires participation",
        include_join_url=True,
    )
    response = ics_response(ics_bytes(calendar), "mes-webinaires-participation.ics")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/<token>/lien")
@limiter.limit(lambda: current_app.config["RATELIMIT_LINK_REQUEST"])
def resend_link(token: str) -> Response:
    """Send a new personal link by e-mail."""
    attendee = _open(token)
    if ConfirmForm().validate_on_submit():
        services.send_new_link(attendee.id)
    message = f"Un nouveau lien part vers {attendee.email}. Vos liens actuels restent valables."
    if wants_fragment():
        return private(make_response(render_template("attendee/_notice.html", message=message)))
    flash(message, "success")
    return redirect(url_for("attendee.space", token=token), code=303)


@bp.route("/<token>/effacer", methods=["GET", "POST"])
def erase(token: str) -> Response:
    """Cancel everything and erase the data, after one confirmation step."""
    attendee = _attendee_or_404(token)
    form = ConfirmForm()
    if form.validate_on_submit():
        services.erase(attendee.id)
        forget()
        session.pop("space_token", None)
        return private(make_response(render_template("attendee/erased.html")))
    return private(
        make_response(
            render_template(
                "attendee/erase_confirm.html", attendee=attendee, token=token, form=form
            )
        )
    )


@bp.route("/<token>/desinscription", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: the mail client POSTs without our form; the token authenticates
def unsubscribe(token: str) -> Response:
    """List-Unsubscribe target: GET shows the choice, POST stops every upcoming episode."""
    from flask import request

    attendee = _attendee_or_404(token)
    if request.method == "POST":
        services.unsubscribe(attendee.id)
        return private(make_response(render_template("attendee/unsubscribed.html", token=token)))
    return private(
        make_response(render_template("attendee/unsubscribe.html", attendee=attendee, token=token))
    )
