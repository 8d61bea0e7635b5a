"""The follow-up ("droit de suite"): preview, then send once to every registrant."""

from __future__ import annotations

from flask import Response, flash, redirect, request, url_for

from ...converters import db_int
from ...http import render
from ...models import Episode
from ...programme.services import episode_or_404
from ...vocabulary import MailTopic
from .. import bp
from ..episodes import recipient_count
from ..followup import (
    FollowupRefused,
    followup_content,
    preview_followup,
    send_followup_to_registrants,
)
from ..journal import facilitator_email
from . import found, me


@bp.route("/episodes/<slug>/suivi", methods=["GET", "POST"])
def followup(slug: str) -> Response:
    """Preview the follow-up, then send it once to every registrant."""
    episode = episode_or_404(slug)
    if request.method == "GET":
        return _preview(episode)
    try:
        count = found(send_followup_to_registrants, episode.id, me())
    except FollowupRefused as refused:
        return _preview(episode_or_404(slug), error=refused.message)
    flash(f"Droit de suite envoyé à {count} personne{'s' if count > 1 else ''}.", "success")
    return redirect(url_for(".followup", slug=slug), code=303)


def _preview(episode: Episode, error: str | None = None) -> Response:
    content = followup_content(episode)
    preview = preview_followup(content, request.args.get("pour", type=db_int))
    return render(
        "facilitator/followup.html",
        status=409 if error else 200,
        episode=episode,
        content=content,
        preview=preview,
        preview_text=preview.text,
        recipients=recipient_count(episode.id, MailTopic.FOLLOWUP),
        sent_by=facilitator_email(episode.followup_sent_by_id),
        error=error,
    )
