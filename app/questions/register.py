"""The public register of an episode: from its start, what became of the questions it
received (counts by fate, declined ones by reason); after it, the answers themselves.
Anonymous questions stay anonymous."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import Attendee, Episode, Question
from ..vocabulary import DeclineReason, QuestionStatus

#: made once (a new alias per call would cost a compilation each time)
_MERGED = aliased(Question, name="merged")


@dataclass
class RegisterCounts:
    """How many questions the episode received, and what became of them."""

    received: int = 0
    published: int = 0
    by_status: dict[QuestionStatus, int] = field(
        default_factory=lambda: dict.fromkeys(QuestionStatus, 0)
    )
    declined_by_reason: dict[DeclineReason, int] = field(
        default_factory=lambda: dict.fromkeys(DeclineReason, 0)
    )


@dataclass
class Answer:
    """An answered question, as the register lists it."""

    id: int
    text: str
    #: None when the author stays anonymous
    author: str | None
    status: QuestionStatus
    replay_seconds: int | None
    written_answer: str
    #: questions merged into it, answered with it
    merged_here: int


@dataclass
class Register:
    """The register of one episode at one moment."""

    episode: Episode
    counts: RegisterCounts
    #: the answers, once the episode is over (empty before)
    answers: list[Answer]
    over: bool


def episode_register(episode: Episode, now: datetime) -> Register | None:
    """The register from the start of the episode (None before): one query, two after it."""
    if now < episode.starts_at:
        return None
    counts = register_counts([episode.id])[episode.id]
    over = now >= episode.ends_at
    return Register(episode, counts, answers_of(episode.id) if over else [], over)


def register_counts(episode_ids: list[int]) -> dict[int, RegisterCounts]:
    """What became of the questions of each of these episodes, counted (one query).

    The register is public from an episode's start: callers ask for started ones only.
    """
    counts = {episode_id: RegisterCounts() for episode_id in episode_ids}
    if not episode_ids:
        return counts
    for episode_id, status, reason, published, count in db.session.execute(
        sa.select(
            Question.episode_id,
            Question.status,
            Question.decline_reason,
            Question.published,
            sa.func.count(),
        )
        .where(Question.episode_id.in_(episode_ids))
        .group_by(Question.episode_id, Question.status, Question.decline_reason, Question.published)
    ):
        found = counts[episode_id]
        found.received += count
        found.published += count if published else 0
        found.by_status[status] += count
        if status == QuestionStatus.DISMISSED:
            found.declined_by_reason[reason or DeclineReason.OTHER] += count
    return counts


def answers_of(episode_id: int) -> list[Answer]:
    """The episode's answered questions, on air in the order of the replay, then in writing."""
    merged = _MERGED
    merged_here = (
        sa.select(sa.func.count(merged.id))
        .where(merged.merged_into_id == Question.id)
        .correlate(Question)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(
            Question.id,
            Question.text,
            Question.show_name,
            Question.status,
            Question.replay_seconds,
            Question.written_answer,
            Attendee.first_name,
            Attendee.last_name,
            merged_here.label("merged_here"),
        )
        .join(Attendee, Attendee.id == Question.attendee_id)
        .where(
            Question.episode_id == episode_id,
            Question.status.in_([QuestionStatus.ANSWERED, QuestionStatus.WRITTEN]),
        )
        .order_by(
            Question.status != QuestionStatus.ANSWERED,
            Question.replay_seconds.is_(None),
            Question.replay_seconds,
            Question.live_order.is_(None),
            Question.live_order,
            Question.id,
        )
    )
    return [
        Answer(
            id=row.id,
            text=row.text,
            author=f"{row.first_name} {row.last_name}" if row.show_name else None,
            status=row.status,
            replay_seconds=row.replay_seconds,
            written_answer=row.written_answer,
            merged_here=row.merged_here or 0,
        )
        for row in rows
    ]
