"""The live running order: retained and answered questions, in the order they are asked;
the question the live view shows, and the moment of each answer on air."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..clock import utcnow
from ..database import insert_ignoring_conflicts, write
from ..extensions import db
from ..models import Episode, LiveScreen, Question
from ..vocabulary import OrderMove, QuestionStatus
from .journal import record

#: statuses that keep a place in the running order
ORDERED_STATUSES = tuple(status for status in QuestionStatus if status.in_running_order)


def next_live_order(episode_id: int) -> int:
    """One past the last place of the running order."""
    highest = db.session.scalar(
        sa.select(sa.func.max(Question.live_order)).where(Question.episode_id == episode_id)
    )
    return (highest or 0) + 1


def running_order(episode_id: int) -> list[Question]:
    """Retained and answered questions in the order they will be (or were) asked."""
    return list(
        db.session.scalars(
            sa.select(Question)
            .where(Question.episode_id == episode_id, Question.status.in_(ORDERED_STATUSES))
            .order_by(
                Question.live_order.is_(None),
                Question.live_order,
                Question.vote_count.desc(),
                Question.id,
            )
        )
    )


def move_in_order(question_id: int, episode_id: int, move: OrderMove, facilitator_id: int) -> bool:
    """Move a question one place up or down; renumber 1..n. False if it cannot move."""
    with write():
        questions = running_order(episode_id)
        ids = [q.id for q in questions]
        if question_id not in ids:
            return False
        index = ids.index(question_id)
        other = index + move.step
        if not 0 <= other < len(questions):
            return False
        questions[index], questions[other] = questions[other], questions[index]
        now = utcnow()
        for position, question in enumerate(questions, start=1):
            if question.live_order != position:
                question.live_order = position
                question.updated_at = now
        record(facilitator_id, move.journal_code, f"question:{question_id}", f"place {other + 1}")
    return True


# ---------------------------------------------------------------- on air
#: a live may overrun: an answer this long after the planned end still has its moment
OVERRUN = timedelta(hours=1)
#: how many of the next questions the live view shows under the current one
UPCOMING_SHOWN = 3


def elapsed_on_air(episode: Episode, now: datetime) -> int | None:
    """Seconds since the live started, while it runs (overrun included); else None."""
    if not episode.starts_at <= now < episode.ends_at + OVERRUN:
        return None
    return int((now - episode.starts_at).total_seconds())


@dataclass
class Screen:
    """What the live view shows: the current question, its place, the next ones; and the
    whole running order it was chosen from."""

    current: Question | None
    position: int
    total: int
    upcoming: list[Question] = field(default_factory=list)
    order: list[Question] = field(default_factory=list)

    @property
    def signature(self) -> str:
        """Changes whenever what the live view shows changes (a poll with the same one
        gets a 204 and swaps nothing)."""
        shown = [self.current, *self.upcoming] if self.current else []
        parts = [f"{q.id}.{q.vote_count}.{q.status}" for q in shown]
        digest = hashlib.sha256(f"{self.position}/{self.total}:{','.join(parts)}".encode())
        return digest.hexdigest()[:16]


def screen(episode_id: int) -> Screen:
    """The question on screen (chosen from the running order, else the first not yet
    answered) and the next ones still to answer: two queries."""
    order = running_order(episode_id)
    if not order:
        return Screen(None, 0, 0)
    chosen = db.session.scalar(
        sa.select(LiveScreen.question_id).where(LiveScreen.episode_id == episode_id)
    )
    ids = [q.id for q in order]
    if chosen in ids:
        index = ids.index(chosen)
    else:
        waiting = [i for i, q in enumerate(order) if q.status != QuestionStatus.ANSWERED]
        index = waiting[0] if waiting else 0
    upcoming = [q for q in order[index + 1 :] if q.status != QuestionStatus.ANSWERED]
    return Screen(order[index], index + 1, len(order), upcoming[:UPCOMING_SHOWN], order)


def show_on_screen(
    episode_id: int, facilitator_id: int, question_id: int | None = None, step: int = 0
) -> Question | None:
    """Put a question of the running order on screen, or the one `step` places away from
    the current one; None when there is nothing (further) to show."""
    with write():
        current = screen(episode_id)
        order = current.order
        if question_id is None and current.current is not None:
            index = current.position - 1 + step
            question_id = order[index].id if 0 <= index < len(order) else None
        if question_id is None or question_id not in {q.id for q in order}:
            return None
        _point_screen_at(episode_id, question_id)
        record(facilitator_id, "live.screen", f"question:{question_id}")
    return next(q for q in order if q.id == question_id)


def _point_screen_at(episode_id: int, question_id: int) -> None:
    now = utcnow()
    # Create-or-update that two facilitators can run at once.
    insert_ignoring_conflicts(
        LiveScreen,
        [{"episode_id": episode_id, "question_id": question_id, "updated_at": now}],
        ["episode_id"],
    )
    db.session.execute(
        sa.update(LiveScreen)
        .where(LiveScreen.episode_id == episode_id)
        .values(question_id=question_id, updated_at=now)
    )


def next_waiting_after(episode_id: int, question_id: int) -> int | None:
    """The first question after this one in the running order that is not answered yet."""
    order = running_order(episode_id)
    ids = [q.id for q in order]
    if question_id not in ids:
        return None
    later = order[ids.index(question_id) + 1 :]
    return next((q.id for q in later if q.status != QuestionStatus.ANSWERED), None)


def follow_on_screen(episode_id: int, question_id: int) -> None:
    """After an answer on air, the screen moves on to the next question still waiting
    (in the caller's transaction)."""
    following = next_waiting_after(episode_id, question_id)
    if following is not None:
        _point_screen_at(episode_id, following)
