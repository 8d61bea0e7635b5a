"""The follow-up ("droit de suite"): the digest registrants receive after an episode (the
replay, the answers, the carried-over questions, and at the top what became of their own
questions), previewed as one named registrant gets it, sent once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, render_template
from sqlalchemy.orm import aliased, selectinload

from ..clock import utcnow
from ..database import write
from ..extensions import db
from ..links import episode_url
from ..logs import get_logger
from ..mailing.notifications import PREVIEW_LINK, queue_followup
from ..mailing.queue import BadRecipient
from ..models import Attendee, Episode, Question, Registration
from ..programme.services import load_programme_view
from ..questions.register import Answer, answers_of
from ..refusals import Refusal
from ..vocabulary import MailTopic, QuestionStatus
from .episodes import registrants_of
from .journal import record

log = get_logger(__name__)
#: made once (a new alias per call would cost a compilation each time)
_COPY = aliased(Question, name="copy")


class FollowupRefused(Refusal):
    """The follow-up cannot be sent now."""


@dataclass
class CarriedQuestion:
    """A question carried over to a later episode, as the digest lists it."""

    text: str
    episode: Episode
    episode_url: str


@dataclass
class FollowupContent:
    """What every registrant of the episode receives (their first name and their own
    questions apart): the "droit de suite" digest."""

    episode: Episode
    subject: str
    episode_url: str
    replay_url: str
    #: answered on air (with their moment in the replay), then in writing
    answered: list[Answer]
    carried: list[CarriedQuestion]
    next_episode: Episode | None
    next_episode_url: str


def followup_content(episode: Episode) -> FollowupContent:
    """Gather the replay, the answers, the carried-over questions and the next episode."""
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
        answered=answers_of(episode.id),
        carried=carried_from(episode),
        next_episode=next_episode,
        next_episode_url=episode_url(next_episode, external=True) if next_episode else "",
    )


def carried_from(episode: Episode) -> list[CarriedQuestion]:
    """The episode's questions carried over, each with the episode it went to."""
    copy = _COPY
    view = load_programme_view()
    episodes = {e.id: e for e in view.episodes} if view else {}
    carried = []
    for text, later_id in db.session.execute(
        sa.select(Question.text, copy.episode_id)
        .join(copy, copy.id == Question.carried_to_id)
        .where(Question.episode_id == episode.id, Question.status == QuestionStatus.CARRIED_OVER)
        .order_by(copy.episode_id, Question.id)
    ):
        later = episodes.get(later_id)
        if later is not None:
            carried.append(CarriedQuestion(text, later, episode_url(later, external=True)))
    return carried


def own_questions(episode_id: int, attendee_ids: list[int]) -> dict[int, list[Question]]:
    """Each person's questions for the episode, with what their fate points to (the kept
    question, the later episode): a fixed number of queries for any number of people."""
    found: dict[int, list[Question]] = {attendee_id: [] for attendee_id in attendee_ids}
    if not attendee_ids:
        return found
    for question in db.session.scalars(
        sa.select(Question)
        .options(
            selectinload(Question.merged_into),
            selectinload(Question.carried_to).joinedload(Question.episode),
        )
        .where(Question.episode_id == episode_id, Question.attendee_id.in_(attendee_ids))
        .order_by(Question.created_at, Question.id)
    ):
        found[question.attendee_id].append(question)
    return found


def render_followup(
    content: FollowupContent, first_name: str, own: list[Question] | None = None
) -> tuple[str, str]:
    """The plain-text and HTML bodies for one person: at the top, what became of their own
    questions."""
    context = {
        "content": content,
        "first_name": first_name,
        "own": own or [],
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
    registrants = registrants_of(episode.id, MailTopic.FOLLOWUP)
    own = own_questions(episode.id, [attendee.id for attendee in registrants])
    for attendee in registrants:
        try:
            queue_followup(content, attendee, episode, own[attendee.id])
        except BadRecipient:
            log.warning("follow-up skipped for attendee %s: unusable address", attendee.id)
            continue
        queued += 1
    return queued


@dataclass
class Preview:
    """The digest as one registrant would receive it, and whom else it can be shown for."""

    attendee: Attendee | None
    text: str
    #: (attendee id, "Prénom Nom · n questions") of the registrants it can be previewed for
    choices: list[tuple[int, str]]


#: registrants offered in the preview's list (those with questions first)
PREVIEW_CHOICES = 200


def preview_followup(content: FollowupContent, attendee_id: int | None) -> Preview:
    """The plain-text digest as this registrant (or, by default, the first who asked a
    question) would receive it."""
    episode_id = content.episode.id
    asked = sa.func.count(Question.id)
    rows = db.session.execute(
        sa.select(Attendee, asked)
        .join(Registration, Registration.attendee_id == Attendee.id)
        .outerjoin(
            Question,
            sa.and_(Question.attendee_id == Attendee.id, Question.episode_id == episode_id),
        )
        # Only those who receive it: someone who stopped the digest is not offered.
        .where(Registration.episode_id == episode_id, Attendee.mail_followup.is_(True))
        .group_by(Attendee.id)
        .order_by(asked.desc(), Attendee.last_name, Attendee.first_name, Attendee.id)
        .limit(PREVIEW_CHOICES)
    ).all()
    choices = [(a.id, f"{a.full_name} · {n} question{'s' if n > 1 else ''}") for a, n in rows]
    chosen = next((a for a, _ in rows if a.id == attendee_id), rows[0][0] if rows else None)
    if chosen is None:
        return Preview(None, render_followup(content, "Prénom")[0], choices)
    own = own_questions(episode_id, [chosen.id])[chosen.id]
    return Preview(chosen, render_followup(content, chosen.first_name, own)[0], choices)
