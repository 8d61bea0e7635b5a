"""The live running order: retained and answered questions, in the order they are asked."""

from __future__ import annotations

import sqlalchemy as sa

from ..clock import utcnow
from ..database import write
from ..extensions import db
from ..models import Question
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
