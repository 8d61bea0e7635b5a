"""The follow-up ("droit de suite") e-mail to the registrants of an episode."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, render_template

from ..clock import utcnow
from ..database import begin_write
from ..extensions import db
from ..links import site_link
from ..mailing.outbox import BadRecipient, nudge_outbox, queue_message
from ..models import Attendee, Episode, Question, QuestionStatus, Registration
from .services import FollowupRefused, claim_followup, record

log = logging.getLogger(__name__)


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
        episode_url=site_link("programme.episode", slug=episode.slug),
        replay_url=episode.replay_url,
        answered=answered,
        next_episode=next_episode,
        next_episode_url=site_link("programme.episode", slug=next_episode.slug)
        if next_episode
        else "",
    )


def render_followup(content: FollowupContent, first_name: str) -> tuple[str, str]:
    """The plain-text and HTML bodies for one person."""
    context = {"content": content, "first_name": first_name, "config": current_app.config}
    return (
        render_template("facilitator/email/followup.txt", **context),
        render_template("facilitator/email/followup.html", **context),
    )


def send_followup_to_registrants(episode_id: int, facilitator_id: int) -> int:
    """Queue one follow-up per registrant, once per episode ever; return how many.

    FollowupRefused when the episode has not started or the follow-up was already sent.
    """
    begin_write()
    now = utcnow()
    episode = db.session.get(Episode, episode_id)
    if episode is None:
        db.session.rollback()
        raise LookupError(episode_id)
    if not claim_followup(episode_id, facilitator_id, now):
        db.session.rollback()
        episode = db.session.get(Episode, episode_id)
        if episode is not None and episode.followup_sent_at is not None:
            raise FollowupRefused("Le droit de suite de cet épisode a déjà été envoyé.")
        raise FollowupRefused(
            "Le droit de suite ne peut être envoyé qu’une fois l’épisode commencé."
        )
    content = followup_content(episode)
    attendees = db.session.scalars(
        sa.select(Attendee)
        .join(Registration, Registration.attendee_id == Attendee.id)
        .where(Registration.episode_id == episode_id)
        .order_by(Attendee.id)
    )
    queued = 0
    for attendee in attendees:
        text, html = render_followup(content, attendee.first_name)
        try:
            queue_message(
                kind="followup",
                recipient=attendee.email,
                subject=content.subject,
                body_text=text,
                body_html=html,
                attendee_id=attendee.id,
                episode_id=episode_id,
                # Even if the guard above were bypassed, the database refuses a second copy.
                dedupe_key=f"followup:{episode_id}:{attendee.id}",
            )
        except BadRecipient:
            log.warning("follow-up skipped for attendee %s: unusable address", attendee.id)
            continue
        queued += 1
    record(facilitator_id, "episode.followup", f"episode:{episode_id}", f"{queued} e-mails")
    db.session.commit()
    nudge_outbox()
    return queued
