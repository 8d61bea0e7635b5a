"""Editing an episode: the change, its trace in the journal, and the notice when it moves."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..clock import utcnow
from ..database import write
from ..extensions import db
from ..mailing.notifications import queue_episode_rescheduled
from ..models import Attendee, Episode, Registration
from ..programme.services import forget_programme_view
from ..vocabulary import EpisodeState, MailTopic
from .journal import record

#: fields whose change moves the event in calendars (RFC 5545: raise SEQUENCE)
TIMING_FIELDS = ("starts_at", "duration_minutes")


def registrants_of(episode_id: int, topic: MailTopic | None = None) -> list[Attendee]:
    """The attendees who follow an episode (those who receive this topic's mail, if given)."""
    statement = (
        sa.select(Attendee)
        .join(Registration, Registration.attendee_id == Attendee.id)
        .where(Registration.episode_id == episode_id)
        .order_by(Attendee.id)
    )
    if topic is not None:
        statement = statement.where(getattr(Attendee, topic.value).is_(True))
    return list(db.session.scalars(statement))


def recipient_count(episode_id: int, topic: MailTopic) -> int:
    """How many registrants of an episode receive this topic's mail."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Registration)
        .join(Attendee, Attendee.id == Registration.attendee_id)
        .where(Registration.episode_id == episode_id, getattr(Attendee, topic.value).is_(True))
    )


def update_episode(episode_id: int, values: dict[str, Any], facilitator_id: int) -> list[str]:
    """Apply the edit form; bump updated_at on any change and SEQUENCE when the time moves.

    Registrants of an upcoming episode that moves are told, in the same transaction.
    Returns the names of the fields that changed; LookupError if the episode is gone.
    """
    with write():
        episode = db.session.get(Episode, episode_id)
        if episode is None:
            raise LookupError(episode_id)
        changed = [name for name, value in values.items() if getattr(episode, name) != value]
        if not changed:
            return []
        for name in changed:
            setattr(episode, name, values[name])
        moved = any(name in TIMING_FIELDS for name in changed)
        if moved:
            episode.sequence = (episode.sequence or 0) + 1
        episode.updated_at = utcnow()
        episode.updated_by_id = facilitator_id
        record(facilitator_id, "episode.update", f"episode:{episode.id}", ", ".join(changed))
        if moved and episode.state(utcnow()) == EpisodeState.UPCOMING:
            queue_episode_rescheduled(episode, registrants_of(episode.id))
    forget_programme_view()  # this worker's public pages show the change at once
    return changed
