"""Votes across merged questions: lent to the kept question, given back on undo, and what
happens to a merge when one of its questions is edited, withdrawn or erased.

A merged question's votes move to the question kept in its place, except the vote of a
person who already supports the kept one (nobody counts twice) and the kept author's own
(nobody votes for their own question). Each moved vote remembers where it came from
(`Vote.moved_from_id`), so undoing the merge gives exactly those back. Every function
works inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from ..extensions import db
from ..models import Question, Vote
from ..vocabulary import QuestionStatus


def recount_votes(question_ids: Iterable[int]) -> None:
    """Set vote_count from the Vote rows, in the current transaction."""
    ids = sorted(set(question_ids))
    if not ids:
        return
    count = (
        sa.select(sa.func.count(Vote.id))
        .where(Vote.question_id == Question.id)
        .correlate(Question)
        .scalar_subquery()
    )
    db.session.execute(
        sa.update(Question)
        .where(Question.id.in_(ids))
        .values(vote_count=count)
        .execution_options(synchronize_session=False)
    )


def lend_votes(merged_id: int, kept_id: int, kept_author_id: int) -> list[int]:
    """Move the merged question's votes to the kept one (a second vote of one person and
    the kept author's own stay behind); votes it had been lent keep their origin. Returns
    the questions whose counts changed besides these two."""
    supporters = sa.select(Vote.attendee_id).where(Vote.question_id == kept_id)
    db.session.execute(
        sa.update(Vote)
        .where(
            Vote.question_id == merged_id,
            Vote.attendee_id != kept_author_id,
            Vote.attendee_id.not_in(supporters.scalar_subquery()),
        )
        .values(question_id=kept_id, moved_from_id=sa.func.coalesce(Vote.moved_from_id, merged_id))
        .execution_options(synchronize_session=False)
    )
    # A vote it had been lent and could not pass on (that person supports the kept one
    # already) goes home: its origin is merged into the kept question too, and stays there
    # with the votes of those counted already, as if it had been merged straight into it.
    stranded = sa.and_(Vote.question_id == merged_id, Vote.moved_from_id.is_not(None))
    origins = list(db.session.scalars(sa.select(Vote.moved_from_id).where(stranded).distinct()))
    db.session.execute(
        sa.update(Vote)
        .where(stranded)
        .values(question_id=Vote.moved_from_id, moved_from_id=None)
        .execution_options(synchronize_session=False)
    )
    return [origin for origin in origins if origin is not None]


def give_back_votes(merged_id: int) -> list[int]:
    """Return the votes a merged question lent, wherever they are now; the questions that
    held them (to recount)."""
    holders = list(
        db.session.scalars(
            sa.select(Vote.question_id).where(Vote.moved_from_id == merged_id).distinct()
        )
    )
    db.session.execute(
        sa.update(Vote)
        .where(Vote.moved_from_id == merged_id)
        .values(question_id=merged_id, moved_from_id=None)
        .execution_options(synchronize_session=False)
    )
    return holders


def unmerge(merged_id: int) -> list[int]:
    """Separate a merged question again (back to the new ones, its votes back); the
    questions whose counts changed."""
    holders = give_back_votes(merged_id)
    db.session.execute(
        sa.update(Question)
        .where(Question.id == merged_id)
        .values(status=QuestionStatus.NEW, merged_into_id=None)
        .execution_options(synchronize_session=False)
    )
    return [merged_id, *holders, *rebalance(holders)]


def rebalance(kept_ids: Iterable[int]) -> list[int]:
    """Count again, on each kept question, every supporter of its group.

    A vote stays on a merged question when its person is already counted on the kept one,
    perhaps through another merged question; when that other vote goes home (an undo, a
    withdrawal), this one must pass on. Returns the questions whose counts changed.
    """
    changed: list[int] = []
    for kept_id, author_id in db.session.execute(
        sa.select(Question.id, Question.attendee_id).where(
            Question.id.in_(sorted(set(kept_ids))), Question.merged_into_id.is_(None)
        )
    ).all():
        for merged_id in db.session.scalars(
            sa.select(Question.id).where(Question.merged_into_id == kept_id).order_by(Question.id)
        ).all():
            changed += [merged_id, kept_id, *lend_votes(merged_id, kept_id, author_id)]
    return changed


def withdraw_support(question_id: int, attendee_id: int) -> None:
    """A person stops supporting a question: their vote on it and on the questions merged
    into it go (the kept question stands for them all), in the current transaction."""
    merged_here = sa.select(Question.id).where(Question.merged_into_id == question_id)
    db.session.execute(
        sa.delete(Vote)
        .where(
            Vote.attendee_id == attendee_id,
            sa.or_(Vote.question_id == question_id, Vote.question_id.in_(merged_here)),
        )
        .execution_options(synchronize_session=False)
    )
    recount_votes([question_id, *db.session.scalars(merged_here)])


def detach_merges(ids: sa.Select) -> None:
    """Before the questions `ids` selects are deleted or reworded: the questions merged
    into them are separated again (votes back), and the votes they lent leave with them."""
    changed: list[int] = []
    for merged_id in db.session.scalars(
        sa.select(Question.id).where(Question.merged_into_id.in_(ids), Question.id.not_in(ids))
    ).all():
        changed += unmerge(merged_id)
    lent = sa.and_(Vote.moved_from_id.in_(ids), Vote.question_id.not_in(ids))
    holders = db.session.scalars(sa.select(Vote.question_id).where(lent).distinct()).all()
    db.session.execute(sa.delete(Vote).where(lent).execution_options(synchronize_session=False))
    recount_votes([*changed, *holders, *rebalance(holders)])
