"""Reviewing an episode's questions: the page (filters, counts, pagination) and the actions.

Reads are a fixed number of queries whatever the size; every action is stamped with who and
when, in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from ..clock import utcnow
from ..database import contains_pattern, write
from ..extensions import db
from ..models import Question
from ..vocabulary import QuestionStatus, ReviewAction
from .journal import record
from .running_order import next_live_order

PAGE_SIZE = 50
SORTS = {
    "votes": "Votes (les plus votées d’abord)",
    "anciennes": "Les plus anciennes d’abord",
    "recentes": "Les plus récentes d’abord",
}
_ORDER = {
    "votes": (Question.vote_count.desc(), Question.id.desc()),
    "anciennes": (Question.id.asc(),),
    "recentes": (Question.id.desc(),),
}


@dataclass
class ReviewFilters:
    """What the review page shows: status, sort, text search, page."""

    status: QuestionStatus | None = None
    sort: str = "votes"
    q: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ReviewFilters:
        """Read and clamp the query string (unknown values fall back to defaults)."""
        status = args.get("statut", "")
        sort = args.get("tri", "votes")
        try:
            page = max(1, min(int(args.get("page", 1)), 100_000))
        except (TypeError, ValueError):
            page = 1
        return cls(
            status=QuestionStatus(status) if status in set(QuestionStatus) else None,
            sort=sort if sort in SORTS else "votes",
            q=(args.get("q") or "").strip()[:200],
            page=page,
        )

    def args(self, **overrides: object) -> dict[str, object]:
        """As query-string arguments, defaults left out."""
        values = {"statut": self.status or "", "tri": self.sort, "q": self.q, "page": self.page}
        values.update(overrides)
        defaults = {"statut": "", "tri": "votes", "q": "", "page": 1}
        return {k: v for k, v in values.items() if v != defaults[k]}


@dataclass
class ReviewPage:
    """One page of an episode's questions and the counts per status."""

    questions: list[Question]
    counts: dict[QuestionStatus, int]
    total: int
    pages: int
    filters: ReviewFilters
    max_id: int


def status_counts(episode_id: int) -> tuple[dict[QuestionStatus, int], int]:
    """Questions per status and the highest question id, in one query."""
    counts = dict.fromkeys(QuestionStatus, 0)
    max_id = 0
    for status, count, highest in db.session.execute(
        sa.select(Question.status, sa.func.count(), sa.func.max(Question.id))
        .where(Question.episode_id == episode_id)
        .group_by(Question.status)
    ):
        counts[status] = count
        max_id = max(max_id, highest or 0)
    return counts, max_id


def review_page(episode_id: int, filters: ReviewFilters) -> ReviewPage:
    """Three statements whatever the size: counts, the page (with authors), rarely a count."""
    counts, max_id = status_counts(episode_id)
    conditions = [Question.episode_id == episode_id]
    if filters.status:
        conditions.append(Question.status == filters.status)
    if filters.q:
        conditions.append(Question.text.ilike(contains_pattern(filters.q), escape="\\"))
    # Without a search the total is already known from the counts: spare a scan.
    known_total = (
        None if filters.q else (counts[filters.status] if filters.status else sum(counts.values()))
    )
    if known_total is not None:
        filters.page = min(filters.page, _pages(known_total))
    order = _ORDER[filters.sort]
    # Deferred join: pick the page's ids on the question table alone (an index walk, or a
    # sort of bare ids), then fetch those rows with their authors. With a search, the
    # window count gives the total from the same scan.
    # (Only with a search: a window count stops an index walk from ending at the page.)
    total_column = sa.func.count().over() if filters.q else sa.null()
    window = (
        sa.select(Question.id, total_column.label("total"))
        .where(*conditions)
        .order_by(*order)
        .limit(PAGE_SIZE)
        .offset((filters.page - 1) * PAGE_SIZE)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Question, window.c.total)
        .join(window, window.c.id == Question.id)
        .join(Question.attendee)
        .options(contains_eager(Question.attendee))
        .order_by(*order)
    ).all()
    if known_total is not None:
        total = known_total
    elif rows:
        total = rows[0][1]
    else:  # a page past the end of the results: count them once
        total = db.session.scalar(sa.select(sa.func.count()).where(*conditions)) or 0
    questions = [question for question, _ in rows]
    return ReviewPage(questions, counts, total, _pages(total), filters, max_id)


def _pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def new_questions_since(episode_id: int, after_id: int) -> int:
    """Questions that arrived after the page was loaded (ids only grow)."""
    return (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                Question.episode_id == episode_id, Question.id > after_id
            )
        )
        or 0
    )


def question_with_author(question_id: int, episode_id: int) -> Question | None:
    """One question of the episode with its author, in one query."""
    return db.session.scalars(
        sa.select(Question)
        .join(Question.attendee)
        .options(contains_eager(Question.attendee))
        .where(Question.id == question_id, Question.episode_id == episode_id)
    ).first()


# ---------------------------------------------------------------- actions
def act_on_question(
    question_id: int, episode_id: int, action: ReviewAction, facilitator_id: int
) -> Question:
    """Apply one review action; vote_count is never touched. LookupError if not found."""
    with write():
        question = _question_of_episode(question_id, episode_id)
        if action.status is not None and question.status != action.status:
            question.status = action.status
            if not action.status.in_running_order:
                question.live_order = None
            elif question.live_order is None:
                question.live_order = next_live_order(episode_id)
        if action.published is not None:
            question.published = action.published
        _stamp(question, facilitator_id)
        record(facilitator_id, action.journal_code, f"question:{question.id}")
    return question


def save_note(question_id: int, episode_id: int, note: str, facilitator_id: int) -> Question:
    """Replace the private note of a question."""
    with write():
        question = _question_of_episode(question_id, episode_id)
        question.note = note.strip()
        _stamp(question, facilitator_id)
        record(facilitator_id, "question.note", f"question:{question.id}", question.note[:200])
    return question


def _stamp(question: Question, facilitator_id: int) -> None:
    now = utcnow()
    question.reviewed_at = now
    question.reviewed_by_id = facilitator_id
    question.updated_at = now


def _question_of_episode(question_id: int, episode_id: int) -> Question:
    """The question of this episode, or LookupError (never another episode's)."""
    question = db.session.scalars(
        sa.select(Question).where(Question.id == question_id, Question.episode_id == episode_id)
    ).first()
    if question is None:
        raise LookupError(question_id)
    return question
