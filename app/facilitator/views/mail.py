"""What the mail did, per episode and for the whole site; "Renvoyer" once the cause is fixed."""

from __future__ import annotations

from flask import Response, request, url_for

from ...http import after_post, refuse, render
from ...models import Episode
from ...programme.services import episode_or_404
from .. import bp
from ..mail_report import mail_report, resend_failed
from . import me


@bp.get("/episodes/<slug>/e-mails")
def episode_mail(slug: str) -> Response:
    """Queued, sent, to retry, failed (and why), for one episode's messages."""
    episode = episode_or_404(slug)
    return render("facilitator/mail.html", episode=episode, report=mail_report(episode.id))


@bp.get("/e-mails")
def all_mail() -> Response:
    """The same for every message of the site (confirmations and links included)."""
    return render("facilitator/mail.html", episode=None, report=mail_report(None))


@bp.post("/episodes/<slug>/e-mails/renvoyer")
def resend_episode_mail(slug: str) -> Response:
    """Send the episode's failed messages again (one, or all)."""
    episode = episode_or_404(slug)
    return _resent(episode, url_for(".episode_mail", slug=slug))


@bp.post("/e-mails/renvoyer")
def resend_all_mail() -> Response:
    """Send failed messages again, whatever their episode (one, or all)."""
    return _resent(None, url_for(".all_mail"))


def _resent(episode: Episode | None, back: str) -> Response:
    raw = request.form.getlist("message")
    if not raw and request.form.get("tous") != "1":
        refuse(400, "Choisissez le message à renvoyer.")
    try:
        ids = [int(value) for value in raw] if raw else None
    except ValueError:
        refuse(400, "Message à renvoyer non compris : rechargez la page.")
    count = resend_failed(me(), episode.id if episode else None, ids)
    message = (
        f"{count} e-mail{'s' if count > 1 else ''} renvoyé{'s' if count > 1 else ''} : "
        "ils partent dans un instant."
        if count
        else "Aucun e-mail à renvoyer (déjà renvoyé, ou devenu inutile)."
    )
    return after_post(back, message, fragment=lambda: Response(status=204))
