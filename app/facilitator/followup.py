"""The follow-up ("droit de suite"): what registrants receive after an episode, sent once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, render_template

from ..clock import utcnow
from ..database import write
from ..extensions import db
from ..links import episode_url
from ..logs import get_logger
from ..mailing.notifications import PREVIEW_LINK, queue_followup
from ..mailing.queue import BadRecipient
from ..models import Episode, Question
from ..refusals import Refusal
from ..vocabulary import MailTopic, QuestionStatus
from .episodes import registrants_of
from .journal import record

log = get_logger(__name__)


class FollowupRefused(Refusal):
    """The follow-up cannot be sent now."""


@dataclass
class FollowupContent:
    """What every registrant of the episode receives (their first name apart)."""

    episode: Episode
    subject: str
    episode_url: str
    replay_url: str
    answered: list[str]
    next_episode: Episode | None
    next_episode_url: str


def followup_content(episode: Episode) -> FollowupContent:
    """Gather the replay, the answered questions and the next episode."""
    answered = list(
        db.session.scalars(
            sa.select(Question.text)
            .where(Question.episode_id == episode.id, Question.status == QuestionStatus.ANSWERED)
            .order_by(Question.live_order.is_(None), Question.live_order, Question.id)
        )
    )
    next_episode = db.session.scalars(
        sa.select(Episode)
        .where(Episode.series_id == episode.series_id, Episode.number > episode.number)
        .order_by(Episode.number)
        .limit(1)
    ).first()
    return FollowupContent(
        episode=episode,
        subject=f"Merci d’avoir suivi l’épisode {episode.number} : {episode.title}",
        episode_url=episode_url(episode, external=True),
        replay_url=episode.replay_url,
        answered=answered,
        next_episode=next_episode,
        next_episode_url=episode_url(next_episode, external=True) if next_episode else "",
    )


def render_followup(content: FollowupContent, first_name: str) -> tuple[str, str]:
    """The plain-text and HTML bodies, as the preview shows them."""
    context = {
        "content": content,
        "first_name": first_name,
        "config": current_app.config,
        "site_url": current_app.config["SITE_URL"],
        "unsubscribe_url": PREVIEW_LINK,
        "preferences_url": PREVIEW_LINK,
    }
    return (
        render_template("facilitator/email/followup.txt", **context),
        render_template("facilitator/email/followup.html", **context),
    )


def _claim_followup(episode_id: int, facilitator_id: int, now: datetime) -> bool:
    """Stamp the episode as followed-up if nobody did; only the winner may queue the mail.

    The conditional UPDATE is the lock: on PostgreSQL a second writer waits for the
    first to commit and then finds the column set; on SQLite BEGIN IMMEDIATE serialises.
    """
    result = db.session.execute(
        sa.update(Episode)
        .where(
            Episode.id == episode_id,
            Episode.followup_sent_at.is_(None),
            Episode.starts_at <= now,
            Episode.cancelled_at.is_(None),
        )
        .values(followup_sent_at=now, followup_sent_by_id=facilitator_id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _refusal(episode_id: int) -> FollowupRefused:
    """Why the claim failed: already sent, or too early."""
    sent_at, cancelled_at = db.session.execute(
        sa.select(Episode.followup_sent_at, Episode.cancelled_at).filter_by(id=episode_id)
    ).one()
    if sent_at is not None:
        return FollowupRefused("Le droit de suite de cet épisode a déjà été envoyé.")
    if cancelled_at is not None:
        return FollowupRefused("Cet épisode est annulé : il n’a pas de droit de suite.")
    return FollowupRefused("Le droit de suite ne peut être envoyé qu’une fois l’épisode commencé.")


def send_followup_to_registrants(episode_id: int, facilitator_id: int) -> int:
    """Queue one follow-up per registrant, once per episode ever; return how many.

    FollowupRefused when the episode has not started or the follow-up was already sent;
    LookupError when the episode is gone.
    """
    with write():
        episode = db.session.get(Episode, episode_id)
        if episode is None:
            raise LookupError(episode_id)
        if not _claim_followup(episode_id, facilitator_id, utcnow()):
            raise _refusal(episode_id)
        queued = _queue_followups(episode)
        record(facilitator_id, "episode.followup", f"episode:{episode_id}", f"{queued} e-mails")
    return queued


def _queue_followups(episode: Episode) -> int:
    content = followup_content(episode)
    queued = 0
    for attendee in registrants_of(episode.id, MailTopic.FOLLOWUP):
        try:
            queue_followup(content, attendee, episode)
        except BadRecipient:
            log.warning("follow-up skipped for attendee %s: unusable address", attendee.id)
            continue
        queued += 1
    return queued
