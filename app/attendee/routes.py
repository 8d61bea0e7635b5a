"""Personal space: /moi/<token> opens it; every change is a POST (links in e-mails never act)."""

from __future__ import annotations

from flask import Response, current_app, redirect, render_template, request, session, url_for

from ..calendar.builder import build_calendar, ics_response
from ..clock import utcnow
from ..extensions import csrf, db, limiter
from ..forms import ConfirmForm
from ..http import Cache, after_post, blueprint_cache, refuse, render
from ..identity import FULL, attendee_for_token, current_visitor, forget, mark_token_used, remember
from ..models import Attendee, Episode
from ..programme.services import load_programme_view
from ..questions.board import questions_for_attendee
from ..refusals import Refusal
from ..registration.services import followed_episodes
from ..vocabulary import OrganisationKind
from . import bp, services
from .forms import LinkRequestForm

blueprint_cache(bp, Cache.NEVER)


@bp.after_request
def _keep_token_home(response: Response) -> Response:
    """The token is in these pages' address: send only our origin as Referer (Flask-WTF's
    HTTPS referrer check, which "no-referrer" would fail, still sees our own origin)."""
    response.headers["Referrer-Policy"] = "strict-origin"
    return response


def _attendee_or_404(token: str) -> Attendee:
    attendee = attendee_for_token(token)
    if attendee is None:
        refuse(404, "Ce lien personnel n’est pas (ou plus) valable.")
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
    valid = form.validate_on_submit()
    if valid and not form.from_a_bot:
        view = load_programme_view()
        if view is not None:
            services.request_link(view.series.id, form.email.data)
    status = 422 if form.is_submitted() and not valid else 200
    return render(
        "attendee/link_request.html",
        "attendee/_link_request.html",
        status=status,
        form=form,
        sent=valid,
    )


def _space_context(attendee: Attendee, token: str) -> dict:
    view = load_programme_view()
    return {
        "attendee": attendee,
        "token": token,
        "view": view,
        "episodes": view.episodes if view else [],
        "followed": {e.id for e in followed_episodes(attendee.id)},
        "now": utcnow(),
        "kind_label": OrganisationKind.label_of(attendee.organisation_kind),
        "form": ConfirmForm(),
    }


@bp.get("/<token>")
def space(token: str) -> Response:
    """The personal space."""
    attendee = _open(token)
    context = _space_context(attendee, token)
    return render(
        "attendee/space.html", attendee_questions=questions_for_attendee(attendee.id), **context
    )


@bp.post("/<token>/episodes/<int:episode_id>")
def toggle_episode(token: str, episode_id: int) -> Response:
    """Follow or stop following one upcoming episode, in place."""
    attendee = _open(token)
    episode = db.session.get(Episode, episode_id)
    if episode is None or episode.series_id != attendee.series_id:
        refuse(404, "Cet épisode n’existe pas.")
    # The form says what the person wants (not "toggle"): a double click or a retried
    # POST leaves the same result.
    wanted = request.form.get("follow")
    if wanted not in ("0", "1"):
        refuse(400, "Choix non compris : rechargez la page et réessayez.")
    try:
        services.set_following(attendee.id, episode, wanted == "1")
        message, status = _following_message(episode, wanted == "1"), 200
    except Refusal as refusal:
        message, status = refusal.message, refusal.code
    return after_post(
        url_for("attendee.space", token=token, _anchor=f"mon-episode-{episode.number}"),
        message,
        category="success" if status == 200 else "error",
        fragment=lambda: _episode_item(attendee, token, episode, message, status),
    )


def _following_message(episode: Episode, follow: bool) -> str:
    if follow:
        return f"Vous suivez maintenant l’épisode {episode.number}."
    return f"Vous ne suivez plus l’épisode {episode.number}."


def _episode_item(
    attendee: Attendee, token: str, episode: Episode, message: str, status: int
) -> Response:
    context = _space_context(attendee, token)
    html = render_template(
        "attendee/_episode_item.html", episode=episode, message=message, **context
    )
    return Response(html, status)


@bp.get("/<token>/agenda.ics")
def agenda(token: str) -> Response:
    """The attendee's own calendar: their episodes, with the join links."""
    attendee = _attendee_or_404(token)
    calendar = build_calendar(
        followed_episodes(attendee.id), "Mes webinaires participation", include_join_url=True
    )
    return ics_response(calendar, "mes-webinaires-participation.ics")


@bp.post("/<token>/lien")
@limiter.limit(lambda: current_app.config["RATELIMIT_LINK_REQUEST"])
def resend_link(token: str) -> Response:
    """Send a new personal link by e-mail."""
    attendee = _open(token)
    if ConfirmForm().validate_on_submit():
        services.send_new_link(attendee.id)
    message = f"Un nouveau lien part vers {attendee.email}. Vos liens actuels restent valables."
    return after_post(
        url_for("attendee.space", token=token),
        message,
        fragment=lambda: render("attendee/_notice.html", message=message),
    )


@bp.route("/<token>/effacer", methods=["GET", "POST"])
def erase(token: str) -> Response:
    """Cancel everything and erase the data, after one confirmation step."""
    attendee = _attendee_or_404(token)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render("attendee/erase_confirm.html", attendee=attendee, token=token, form=form)
    services.erase(attendee.id)
    forget()
    session.pop("space_token", None)
    return render("attendee/erased.html")


@bp.route("/<token>/desinscription", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: the mail client POSTs without our form; the token authenticates
def unsubscribe(token: str) -> Response:
    """List-Unsubscribe target: GET shows the choice, POST stops every upcoming episode."""
    attendee = _attendee_or_404(token)
    if request.method != "POST":
        return render("attendee/unsubscribe.html", attendee=attendee, token=token)
    services.unsubscribe(attendee.id)
    return render("attendee/unsubscribed.html", token=token)
