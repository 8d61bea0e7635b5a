"""Personal space: /moi/<token> opens it (then the token is left behind), /moi is the space.

Every change is a POST from the space itself: a link in an e-mail never acts.
"""

from __future__ import annotations

from flask import Response, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..calendar.builder import build_calendar, ics_response
from ..clock import utcnow
from ..extensions import csrf, db, limiter
from ..forms import ConfirmForm
from ..http import Cache, after_post, blueprint_cache, refuse, render
from ..identity import (
    FULL,
    attendee_for_token,
    current_visitor,
    mark_token_used,
    remember,
    sign_out,
)
from ..language import LANGUAGES
from ..mailing.unsubscribe import attendee_for_unsubscribe_token
from ..models import Attendee, Episode
from ..programme.services import followed_episodes, load_programme_view
from ..questions.board import questions_for_attendee
from ..refusals import Refusal
from ..seats import waiting_positions
from ..vocabulary import MailTopic, OrganisationKind
from . import bp, services
from .forms import DetailsForm, LinkRequestForm

blueprint_cache(bp, Cache.NEVER)

NOT_OPENED = _l(
    "Pour accéder à votre espace, ouvrez le lien personnel reçu par e-mail "
    "(ou demandez-en un nouveau)."
)
PAGE_EXPIRED = _l("La page a expiré : rechargez-la et réessayez.")
NOT_UNDERSTOOD = _l("Choix non compris : rechargez la page et réessayez.")
NO_SUCH_EPISODE = _l("Cet épisode n’existe pas.")


@bp.after_request
def _referrer_origin_only(response: Response) -> Response:
    """Send only our origin as Referer from these pages (Flask-WTF's HTTPS referrer check,
    which "no-referrer" would fail, still sees our own origin)."""
    response.headers["Referrer-Policy"] = "strict-origin"
    return response


def _attendee_or_404(token: str) -> Attendee:
    attendee = attendee_for_token(token)
    if attendee is None:
        refuse(404, _("Ce lien personnel n’est pas (ou plus) valable."))
    return attendee


def _me() -> Attendee:
    """The attendee this browser speaks for with full rights (the personal link was opened)."""
    visitor = current_visitor()
    if visitor is None or not visitor.full:
        refuse(403, str(NOT_OPENED))
    return visitor.attendee


@bp.get("/<token>")
def open_link(token: str) -> Response:
    """The personal link: give this browser the attendee's full rights, then leave the token
    behind (the space has a token-free address: no token in history, logs or Referer)."""
    attendee = _attendee_or_404(token)
    mark_token_used(token)
    remember(attendee, FULL)
    return redirect(url_for("attendee.space"), code=303)


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


def _space_context(attendee: Attendee) -> dict:
    view = load_programme_view()
    return {
        "attendee": attendee,
        "view": view,
        "episodes": view.episodes if view else [],
        "followed": {e.id for e in followed_episodes(attendee.id)},
        "waiting": waiting_positions(attendee.id),
        "now": utcnow(),
        "kind_label": OrganisationKind.label_of(attendee.organisation_kind),
        "form": ConfirmForm(),
        "mails": services.mails_sent_to(attendee.id),
    }


@bp.get("")
def space() -> Response:
    """The personal space of this browser's attendee; else the way to receive one's link."""
    visitor = current_visitor()
    if visitor is None or not visitor.full:
        return redirect(url_for("attendee.request_link"), code=303)
    attendee = visitor.attendee
    return render(
        "attendee/space.html",
        attendee_questions=questions_for_attendee(attendee.id),
        **_space_context(attendee),
    )


@bp.post("/episodes/<int:episode_id>")
def toggle_episode(episode_id: int) -> Response:
    """Follow or stop following one upcoming episode, in place."""
    attendee = _me()
    episode = db.session.get(Episode, episode_id)
    if episode is None or episode.series_id != attendee.series_id:
        refuse(404, str(NO_SUCH_EPISODE))
    # The form says what the person wants (not "toggle"): a double click or a retried
    # POST leaves the same result.
    wanted = request.form.get("follow")
    if wanted not in ("0", "1"):
        refuse(400, str(NOT_UNDERSTOOD))
    try:
        services.set_following(attendee.id, episode, wanted == "1")
        position = waiting_positions(attendee.id).get(episode.id)
        message, status = _following_message(episode, wanted == "1", position), 200
    except Refusal as refusal:
        message, status = str(refusal.message), refusal.code
    return after_post(
        url_for("attendee.space", _anchor=f"mon-episode-{episode.number}"),
        message,
        category="success" if status == 200 else "error",
        fragment=lambda: _episode_item(attendee, episode, message, status),
    )


def _following_message(episode: Episode, follow: bool, position: int | None = None) -> str:
    if follow and position:
        return _(
            "L’épisode %(number)s est complet : vous êtes sur la liste d’attente,"
            " en position %(position)s.",
            number=episode.number,
            position=position,
        )
    if follow:
        return _("Vous suivez maintenant l’épisode %(number)s.", number=episode.number)
    return _("Vous ne suivez plus l’épisode %(number)s.", number=episode.number)


def _episode_item(attendee: Attendee, episode: Episode, message: str, status: int) -> Response:
    context = _space_context(attendee)
    html = render_template(
        "attendee/_episode_item.html", episode=episode, message=message, **context
    )
    return Response(html, status)


@bp.route("/episodes/<int:episode_id>/liberer", methods=["GET", "POST"])
def release(episode_id: int) -> Response:
    """'Libérer ma place' (the link in every confirmation and reminder): a GET only asks,
    in place or on its own page; the POST frees the seat for the first person waiting."""
    visitor = current_visitor()
    if request.method == "GET" and (visitor is None or not visitor.full):
        return redirect(url_for("attendee.request_link"), code=303)  # as the space does
    attendee, episode = _me(), db.session.get(Episode, episode_id)
    if episode is None or episode.series_id != attendee.series_id:
        refuse(404, str(NO_SUCH_EPISODE))
    form = ConfirmForm()
    if request.method == "GET":
        return render(
            "attendee/release.html",
            "attendee/_release_confirm.html",
            episode=episode,
            form=form,
            waiting_list=episode.capacity is not None,
        )
    if not form.validate_on_submit():
        refuse(400, str(PAGE_EXPIRED))
    try:
        services.set_following(attendee.id, episode, False)
        message = _("Votre place pour l’épisode %(number)s est libérée.", number=episode.number)
        status = 200
    except Refusal as refusal:
        message, status = str(refusal.message), refusal.code
    return after_post(
        url_for("attendee.space", _anchor=f"mon-episode-{episode.number}"),
        message,
        category="success" if status == 200 else "error",
        fragment=lambda: _episode_item(attendee, episode, message, status),
    )


@bp.route("/coordonnees", methods=["GET", "POST"])
def details() -> Response:
    """Correct one's name, organisation and job title: in place (htmx) or on a page."""
    attendee = _me()
    if request.args.get("annuler"):
        return _details(attendee)
    form = DetailsForm(obj=attendee)  # on a GET what is on file, on a POST what was typed
    if not form.validate_on_submit():
        return render(
            "attendee/details.html",
            "attendee/_details_form.html",
            status=422 if form.is_submitted() else 200,
            form=form,
            attendee=attendee,
            first_error=next(iter(form.errors), None),
        )
    services.update_details(attendee.id, form.data)
    return after_post(
        url_for("attendee.space", _anchor="mes-coordonnees"),
        _("Vos coordonnées sont corrigées."),
        fragment=lambda: _details(attendee, saved=True),
    )


def _details(attendee: Attendee, saved: bool = False) -> Response:
    kind_label = OrganisationKind.label_of(attendee.organisation_kind)
    return render("attendee/_details.html", attendee=attendee, kind_label=kind_label, saved=saved)


@bp.get("/agenda.ics")
def agenda() -> Response:
    """The attendee's own calendar: their episodes, with the join links."""
    attendee = _me()
    waiting = waiting_positions(attendee.id)  # no seat, no join link
    calendar = build_calendar(
        [e for e in followed_episodes(attendee.id) if e.id not in waiting],
        _("Mes webinaires participation"),
        include_join_url=True,
    )
    return ics_response(calendar, "mes-webinaires-participation.ics")


@bp.post("/nouveau-lien")
@limiter.limit(lambda: current_app.config["RATELIMIT_LINK_REQUEST"])
def resend_link() -> Response:
    """Send a new personal link by e-mail."""
    attendee = _me()
    if ConfirmForm().validate_on_submit():
        services.send_new_link(attendee.id)
    message = _(
        "Un nouveau lien part vers %(email)s. Vos liens actuels restent valables.",
        email=attendee.email,
    )
    return after_post(
        url_for("attendee.space"),
        message,
        fragment=lambda: render("attendee/_notice.html", message=message),
    )


@bp.route("/effacer", methods=["GET", "POST"])
def erase() -> Response:
    """Cancel everything and erase the data, after one confirmation step."""
    attendee = _me()
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render("attendee/erase_confirm.html", attendee=attendee, form=form)
    services.erase(attendee.id)
    sign_out()
    return render("attendee/erased.html")


@bp.post("/deconnexion")
def sign_out_here() -> Response:
    """'Me déconnecter de cet appareil': this browser forgets whom it spoke for."""
    if not ConfirmForm().validate_on_submit():
        refuse(400, str(PAGE_EXPIRED))
    sign_out()
    return render("attendee/signed_out.html")


@bp.post("/e-mails")
def mail_preferences() -> Response:
    """Choose which e-mails to receive (reminders, notices, follow-up) and in which
    language, in place."""
    attendee = _me()
    if not ConfirmForm().validate_on_submit():
        refuse(400, str(PAGE_EXPIRED))
    try:
        wanted = {MailTopic(value) for value in request.form.getlist("topics")}
    except ValueError:
        refuse(400, str(NOT_UNDERSTOOD))
    language = request.form.get("language")  # absent: unchanged
    if language is not None and language not in LANGUAGES:
        refuse(400, str(NOT_UNDERSTOOD))
    services.set_mail_preferences(attendee.id, wanted, language)
    message = _("Vos choix d’e-mails sont enregistrés.")
    return after_post(
        url_for("attendee.space", _anchor="mes-e-mails"),
        message,
        fragment=lambda: render(
            "attendee/_mail_preferences.html",
            attendee=db.session.get(Attendee, attendee.id),
            form=ConfirmForm(),
            message=message,
        ),
    )


@bp.route("/desinscription/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: the mail client POSTs without our form; the token authenticates
def unsubscribe(token: str) -> Response:
    """List-Unsubscribe target: GET shows what it does and changes nothing, POST stops
    reminders, notices and follow-ups. The token can do nothing else (app/mailing/unsubscribe)."""
    attendee = attendee_for_unsubscribe_token(token)
    if attendee is None:
        refuse(404, _("Ce lien de désinscription n’est pas (ou plus) valable."))
    if request.method != "POST":
        return render("attendee/unsubscribe.html", attendee=attendee, token=token)
    services.unsubscribe(attendee.id)
    return render("attendee/unsubscribed.html")
