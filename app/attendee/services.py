"""Writes of the personal space: episodes followed, mail preferences, new links, erasure."""

from __future__ import annotations

import sqlalchemy as sa

from ..clock import utcnow
from ..database import insert_ignoring_conflicts, write
from ..extensions import db
from ..identity import issue_token
from ..mailing.notifications import queue_personal_link
from ..mailing.queue import drop_pending, recent_mail_count
from ..models import Attendee, Episode, OutboxMessage, Registration, Vote
from ..questions.services import recount_votes
from ..refusals import Refusal
from ..vocabulary import DeliveryState, EpisodeState, MailKind, MailTopic

#: personal-link e-mails per attendee per hour
MAX_LINKS_PER_HOUR = 3


class EpisodeClosed(Refusal):
    """The episode has started: following it or not can no longer change."""

    message = "Cet épisode a commencé : il ne peut plus être ajouté ni retiré."


class EpisodeCancelled(Refusal):
    """The episode is cancelled: it can no longer be added."""

    message = "Cet épisode est annulé : il ne peut plus être ajouté ni retiré."


def set_following(attendee_id: int, episode: Episode, follow: bool) -> None:
    """Follow or stop following an upcoming episode (idempotent); who stops following gets
    none of its reminders still waiting in the outbox."""
    state = episode.state(utcnow())
    if state == EpisodeState.CANCELLED:
        raise EpisodeCancelled
    if state != EpisodeState.UPCOMING:
        raise EpisodeClosed
    with write():
        if follow:
            insert_ignoring_conflicts(
                Registration,
                [{"attendee_id": attendee_id, "episode_id": episode.id, "created_at": utcnow()}],
                index_elements=["attendee_id", "episode_id"],
            )
        else:
            db.session.execute(
                sa.delete(Registration).where(
                    Registration.attendee_id == attendee_id, Registration.episode_id == episode.id
                )
            )
            drop_pending(attendee_id, MailKind.of_topics(set(MailTopic)), episode_id=episode.id)


def send_new_link(attendee_id: int) -> bool:
    """Queue a new personal link by e-mail, unless too many went out this hour."""
    with write():
        attendee = db.session.get(Attendee, attendee_id)
        if attendee is None:
            return False
        if recent_mail_count(attendee.id, ("personal_link",)) >= MAX_LINKS_PER_HOUR:
            return False
        queue_personal_link(attendee, issue_token(attendee))
    return True


def request_link(series_id: int, email: str) -> None:
    """'Recevoir mon lien': a link goes to the address if registered; nothing says whether."""
    attendee_id = db.session.scalar(
        sa.select(Attendee.id).filter_by(series_id=series_id, email=email)
    )
    if attendee_id is not None:
        send_new_link(attendee_id)


def erase(attendee_id: int) -> None:
    """Delete the attendee and everything of theirs (registrations, links, questions, votes,
    queued e-mails), and recount the votes they had given."""
    with write():
        voted = list(
            db.session.scalars(sa.select(Vote.question_id).filter_by(attendee_id=attendee_id))
        )
        db.session.execute(sa.delete(Attendee).where(Attendee.id == attendee_id))
        recount_votes(voted)


def set_mail_preferences(attendee_id: int, wanted: set[MailTopic]) -> None:
    """Receive the e-mails of these topics and no others; what waits in the outbox for a
    topic now refused is not sent."""
    with write():
        db.session.execute(
            sa.update(Attendee)
            .where(Attendee.id == attendee_id)
            .values({topic.value: topic in wanted for topic in MailTopic})
        )
        drop_pending(attendee_id, MailKind.of_topics(set(MailTopic) - wanted))


def unsubscribe(attendee_id: int) -> None:
    """One-click unsubscribe (RFC 8058): no more reminders, notices or follow-ups. The person
    stays registered: their space still shows the episodes, their times and the join link."""
    set_mail_preferences(attendee_id, set())


def mails_sent_to(attendee_id: int, limit: int = 50) -> list[tuple[OutboxMessage, DeliveryState]]:
    """What was sent to the attendee, latest first, each with where it stands."""
    rows = db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.attendee_id == attendee_id)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    )
    return [(row, DeliveryState.of(row.status, row.last_error)) for row in rows]
