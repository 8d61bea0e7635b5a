"""Cancelling an episode (with a reason, registrants told), and maintaining it after all.

Both change the event for calendars (a higher SEQUENCE); the cancellation's notice carries
an .ics with METHOD:CANCEL that takes the event out of the registrants' calendars, the
maintained episode's notice one that puts it back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import sqlalchemy as sa

from ..clock import utcnow
from ..database import write
from ..extensions import db
from ..mailing.notifications import (
    Preview,
    preview_cancelled,
    preview_reinstated,
    queue_episode_cancelled,
    queue_episode_reinstated,
)
from ..mailing.reminders import forget_pending_for
from ..models import Episode
from ..programme.services import forget_programme_view
from ..refusals import Refusal
from ..vocabulary import MailTopic
from .episodes import recipient_count, registrants_of
from .journal import record


class CancellationRefused(Refusal):
    """The episode cannot be cancelled or maintained now."""


ALREADY_CANCELLED = "Cet épisode est déjà annulé."
NOT_CANCELLED = "Cet épisode n’est pas annulé."
STARTED = "Cet épisode a commencé : il ne peut plus être annulé ni maintenu."


@dataclass
class NoticePlan:
    """Whom the notice would reach, and what it says, before the facilitator confirms."""

    recipients: int
    preview: Preview
    #: what the confirmation is for (the reason, for a cancellation)
    key: str


def confirmation_key(text: str) -> str:
    """A short fingerprint of what was previewed: a confirmation of something else asks again."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _check(episode: Episode, *, cancelled: bool) -> None:
    if episode.cancelled != cancelled:
        raise CancellationRefused(NOT_CANCELLED if cancelled else ALREADY_CANCELLED)
    if utcnow() >= episode.starts_at:
        raise CancellationRefused(STARTED)


def plan_cancellation(episode: Episode, reason: str) -> NoticePlan:
    """The notice a cancellation for this reason would send (nothing is changed)."""
    _check(episode, cancelled=False)
    preview = _as_cancelled(episode, reason)
    return NoticePlan(
        recipient_count(episode.id, MailTopic.CHANGES),
        preview_cancelled(preview),
        confirmation_key(reason),
    )


def _as_cancelled(episode: Episode, reason: str) -> Episode:
    """A detached copy of the episode as cancelled, for the preview."""
    copy = Episode(**{attr.key: getattr(episode, attr.key) for attr in _COLUMNS})
    copy.cancelled_at, copy.cancel_reason = utcnow(), reason
    return copy


_COLUMNS = list(sa.inspect(Episode).column_attrs)


def plan_reinstatement(episode: Episode) -> NoticePlan:
    """The notice that maintaining the episode would send."""
    _check(episode, cancelled=True)
    copy = _as_cancelled(episode, "")
    copy.cancelled_at = None
    return NoticePlan(
        # It carries the join link: to those with a seat.
        recipient_count(episode.id, MailTopic.CHANGES, seated=True),
        preview_reinstated(copy),
        confirmation_key("maintien"),
    )


def _locked(episode_id: int) -> Episode:
    episode = db.session.scalars(
        sa.select(Episode).where(Episode.id == episode_id).with_for_update()
    ).first()
    if episode is None:
        raise LookupError(episode_id)
    return episode


def cancel_episode(episode_id: int, reason: str, facilitator_id: int) -> int:
    """Cancel an upcoming episode: questions close, reminders waiting are dropped, and
    registrants who receive notices are told why; return how many."""
    now = utcnow()
    with write():
        episode = _locked(episode_id)
        _check(episode, cancelled=False)
        episode.cancelled_at, episode.cancel_reason = now, reason
        episode.sequence = (episode.sequence or 0) + 1
        episode.updated_at, episode.updated_by_id = now, facilitator_id
        record(facilitator_id, "episode.cancel", f"episode:{episode.id}", reason)
        forget_pending_for(episode)
        told = queue_episode_cancelled(episode, registrants_of(episode.id, MailTopic.CHANGES))
    forget_programme_view()
    return told


def reinstate_episode(episode_id: int, facilitator_id: int) -> int:
    """Maintain a cancelled episode after all (before its start): registrants who receive
    notices are told, with the event back in their calendars; return how many."""
    now = utcnow()
    with write():
        episode = _locked(episode_id)
        _check(episode, cancelled=True)
        episode.cancelled_at, episode.cancel_reason = None, ""
        episode.sequence = (episode.sequence or 0) + 1
        episode.updated_at, episode.updated_by_id = now, facilitator_id
        record(facilitator_id, "episode.reinstate", f"episode:{episode.id}")
        told = queue_episode_reinstated(
            episode, registrants_of(episode.id, MailTopic.CHANGES, seated=True)
        )
    forget_programme_view()
    return told
