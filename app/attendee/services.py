"""Writes of the personal space: episodes followed, new links, erasure."""

from __future__ import annotations

import sqlalchemy as sa

from ..clock import utcnow
from ..database import begin_write, insert_ignoring_conflicts
from ..extensions import db
from ..identity import issue_token
from ..mailing.notifications import queue_personal_link
from ..mailing.outbox import nudge_outbox
from ..models import Attendee, Episode, Question, Registration, Vote
from ..registration.services import recent_mail_count

#: personal-link e-mails per attendee per hour
MAX_LINKS_PER_HOUR = 3


class EpisodeClosed(Exception):
    """The episode has started: following it or not can no longer change."""


def set_following(attendee_id: int, episode: Episode, follow: bool) -> None:
    """Follow or stop following an upcoming episode (idempotent)."""
    if episode.state(utcnow()) != "upcoming":
        raise EpisodeClosed
    begin_write()
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
    db.session.commit()


def send_new_link(attendee_id: int) -> bool:
    """Queue a new personal link by e-mail, unless too many went out this hour."""
    begin_write()
    attendee = db.session.get(Attendee, attendee_id)
    if attendee is None:
        db.session.rollback()
        return False
    if recent_mail_count(attendee.id, ("personal_link",)) >= MAX_LINKS_PER_HOUR:
        db.session.rollback()
        return False
    queue_personal_link(attendee, issue_token(attendee))
    db.session.commit()
    nudge_outbox()
    return True


def request_link(series_id: int, email: str) -> None:
    """'Recevoir mon lien': a link goes to the address if registered; nothing says whether."""
    attendee_id = db.session.scalar(
        sa.select(Attendee.id).filter_by(series_id=series_id, email=email)
    )
    db.session.rollback()
    if attendee_id is not None:
        send_new_link(attendee_id)


def erase(attendee_id: int) -> None:
    """Delete the attendee and everything of theirs (registrations, links, questions, votes,
    queued e-mails), and recount the votes they had given."""
    begin_write()
    voted = list(db.session.scalars(sa.select(Vote.question_id).filter_by(attendee_id=attendee_id)))
    db.session.execute(sa.delete(Attendee).where(Attendee.id == attendee_id))
    if voted:
        recount = (
            sa.select(sa.func.count())
            .select_from(Vote)
            .where(Vote.question_id == Question.id)
            .scalar_subquery()
        )
        db.session.execute(
            sa.update(Question).where(Question.id.in_(voted)).values(vote_count=recount)
        )
    db.session.commit()


def unsubscribe(attendee_id: int) -> None:
    """One-click unsubscribe: stop following every upcoming episode."""
    begin_write()
    upcoming = sa.select(Episode.id).where(Episode.starts_at > utcnow())
    db.session.execute(
        sa.delete(Registration).where(
            Registration.attendee_id == attendee_id, Registration.episode_id.in_(upcoming)
        )
    )
    db.session.commit()
