"""Reading and writing questions and votes (the writes live here, views stay thin)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import session
from sqlalchemy.orm import contains_eager

from ..clock import utcnow
from ..database import begin_write, insert_ignoring_conflicts
from ..extensions import db
from ..identity import Visitor, may_see_question
from ..models import (
    QUESTION_STATUS_LABELS_FOR_AUTHOR,
    Attendee,
    Episode,
    Question,
    QuestionStatus,
    Registration,
    Vote,
)

#: the two orders of the published list, by their value in the URL (?tri=)
SORTS = {"votes": "Les plus soutenues", "recentes": "Les plus récentes"}
DEFAULT_SORT = "votes"


class QuestionsClosed(Exception):
    """The episode has started: questions can no longer be sent, changed or withdrawn."""


class VotesClosed(Exception):
    """The episode is over: votes no longer change anything."""


class NotVotable(Exception):
    """Not a published question of someone else."""


# ---------------------------------------------------------------- reading
def status_label_for_author(question: Question) -> str:
    """'reçue', 'retenue', 'répondue' or 'écartée'."""
    return QUESTION_STATUS_LABELS_FOR_AUTHOR.get(question.status, question.status)


def votes_open(episode: Episode, now: datetime) -> bool:
    """Votes help rank questions before and during the live, not after it."""
    return now < episode.ends_at


def own_questions(visitor: Visitor | None, episode: Episode) -> list[Question]:
    """The visitor's questions for an episode that this browser may see, oldest first."""
    if visitor is None:
        return []
    statement = (
        sa.select(Question)
        .where(Question.episode_id == episode.id, Question.attendee_id == visitor.attendee.id)
        .order_by(Question.created_at, Question.id)
    )
    if not visitor.full:
        # A browser that only registered sees what it sent, never the rest of the person's.
        sent_here = [int(i) for i in session.get("question_ids", [])]
        if not sent_here:
            return []
        statement = statement.where(Question.id.in_(sent_here))
    return list(db.session.scalars(statement))


@dataclass
class EpisodeQuestions:
    """An attendee's questions for one episode, for the personal space."""

    episode: Episode
    questions: list[Question]
    open: bool


def questions_for_attendee(attendee_id: int, now: datetime | None = None) -> list[EpisodeQuestions]:
    """All of an attendee's questions grouped by episode in programme order (one query)."""
    now = now or utcnow()
    rows = db.session.scalars(
        sa.select(Question)
        .join(Question.episode)
        .options(contains_eager(Question.episode))
        .where(Question.attendee_id == attendee_id)
        .order_by(Episode.number, Question.created_at, Question.id)
    ).all()
    groups: list[EpisodeQuestions] = []
    for question in rows:
        if not groups or groups[-1].episode.id != question.episode_id:
            groups.append(
                EpisodeQuestions(question.episode, [], question.episode.accepts_questions(now))
            )
        groups[-1].questions.append(question)
    return groups


@dataclass
class PublishedQuestion:
    """A published question as the public list shows it."""

    id: int
    text: str
    #: None when the author stays anonymous
    author: str | None
    vote_count: int
    created_at: datetime
    answered: bool
    #: the visitor wrote it (no vote button then)
    own: bool
    #: the visitor supports it
    voted: bool


@dataclass
class QuestionBoard:
    """The published questions of an episode, for one visitor, in one order."""

    episode: Episode
    sort: str
    questions: list[PublishedQuestion] = field(default_factory=list)
    #: the visitor may vote (full rights, votes still open)
    can_vote: bool = False
    votes_open: bool = True
    #: "anonymous", "limited" or "full"
    visitor_kind: str = "anonymous"


def question_board(
    episode: Episode, visitor: Visitor | None, sort: str | None, now: datetime
) -> QuestionBoard:
    """Published questions with counts, names when shown, and the visitor's votes (one query)."""
    sort = sort if sort in SORTS else DEFAULT_SORT
    attendee_id = visitor.attendee.id if visitor else None
    voted = (
        sa.exists()
        .where(Vote.question_id == Question.id, Vote.attendee_id == attendee_id)
        .correlate(Question)
        if attendee_id is not None
        else sa.false()
    )
    order = (
        (Question.vote_count.desc(), Question.created_at, Question.id)
        if sort == "votes"
        else (Question.created_at.desc(), Question.id.desc())
    )
    rows = db.session.execute(
        sa.select(
            Question.id,
            Question.text,
            Question.show_name,
            Question.vote_count,
            Question.created_at,
            Question.status,
            Question.attendee_id,
            Attendee.first_name,
            Attendee.last_name,
            voted.label("voted"),
        )
        .join(Attendee, Attendee.id == Question.attendee_id)
        .where(Question.episode_id == episode.id, Question.published.is_(True))
        .order_by(*order)
    ).all()
    is_open = votes_open(episode, now)
    board = QuestionBoard(
        episode=episode,
        sort=sort,
        votes_open=is_open,
        can_vote=bool(visitor and visitor.full and is_open),
        visitor_kind="anonymous" if visitor is None else visitor.rights,
    )
    for row in rows:
        board.questions.append(
            PublishedQuestion(
                id=row.id,
                text=row.text,
                author=f"{row.first_name} {row.last_name}" if row.show_name else None,
                vote_count=row.vote_count,
                created_at=row.created_at,
                answered=row.status == QuestionStatus.ANSWERED,
                own=row.attendee_id == attendee_id,
                voted=bool(row.voted),
            )
        )
    return board


def visible_question(visitor: Visitor | None, question_id: int) -> Question | None:
    """The question if this browser may see and change it (full: any of theirs; limited: sent here)."""
    question = db.session.get(Question, question_id)
    if question is None or not may_see_question(visitor, question.id, question.attendee_id):
        return None
    return question


# ---------------------------------------------------------------- writing
@dataclass
class SentQuestion:
    """What sending a question did."""

    question_id: int
    #: the episode was added to the attendee's registration
    registration_added: bool


def _lock_episode_open(episode_id: int) -> Episode:
    """Re-read the episode inside the write transaction and check questions are open."""
    episode = db.session.get(Episode, episode_id, populate_existing=True)
    if episode is None or not episode.accepts_questions(utcnow()):
        raise QuestionsClosed
    return episode


def send_question(attendee_id: int, episode_id: int, text: str, show_name: bool) -> SentQuestion:
    """Record a question, adding the episode to the registration if needed (one transaction)."""
    begin_write()
    try:
        _lock_episode_open(episode_id)
        registered = db.session.scalar(
            sa.select(Registration.id).where(
                Registration.attendee_id == attendee_id, Registration.episode_id == episode_id
            )
        )
        if registered is None:
            insert_ignoring_conflicts(
                Registration,
                [{"attendee_id": attendee_id, "episode_id": episode_id, "created_at": utcnow()}],
                ["attendee_id", "episode_id"],
            )
        now = utcnow()
        question = Question(
            episode_id=episode_id,
            attendee_id=attendee_id,
            text=text,
            show_name=show_name,
            status=QuestionStatus.NEW,
            created_at=now,
            updated_at=now,
        )
        db.session.add(question)
        db.session.flush()
        question_id = question.id
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return SentQuestion(question_id, registered is None)


def _locked_question(question_id: int) -> Question | None:
    """The question row, locked until commit (PostgreSQL; SQLite holds the write lock already)."""
    return db.session.scalars(
        sa.select(Question)
        .where(Question.id == question_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def update_question(question_id: int, text: str, show_name: bool) -> Question | None:
    """Change a question's text or name choice; a new text goes back to review.

    Once the facilitator has reviewed or published a question, its votes were given to
    the old text: a changed text is unpublished, returns to "nouvelle" and loses them.
    """
    begin_write()
    try:
        question = _locked_question(question_id)
        if question is None:
            db.session.rollback()
            return None
        _lock_episode_open(question.episode_id)
        if question.text != text:
            question.text = text
            if question.published or question.status != QuestionStatus.NEW:
                question.published = False
                question.status = QuestionStatus.NEW
                question.reviewed_at = None
                question.live_order = None
            db.session.execute(sa.delete(Vote).where(Vote.question_id == question_id))
            question.vote_count = 0
        question.show_name = show_name
        question.updated_at = utcnow()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return question


def withdraw_question(question_id: int) -> bool:
    """Delete a question and its votes; False if it was already gone."""
    begin_write()
    try:
        question = _locked_question(question_id)
        if question is None:
            db.session.rollback()
            return False
        _lock_episode_open(question.episode_id)
        db.session.execute(sa.delete(Vote).where(Vote.question_id == question_id))
        db.session.execute(sa.delete(Question).where(Question.id == question_id))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return True


def _recount(question_ids: list[int]) -> None:
    """Set vote_count from the Vote rows, in the current transaction."""
    if not question_ids:
        return
    count = (
        sa.select(sa.func.count(Vote.id))
        .where(Vote.question_id == Question.id)
        .correlate(Question)
        .scalar_subquery()
    )
    db.session.execute(
        sa.update(Question).where(Question.id.in_(question_ids)).values(vote_count=count)
    )


@dataclass
class VoteState:
    """A question's count and whether the attendee supports it, after a vote."""

    question_id: int
    vote_count: int
    voted: bool


def set_vote(question_id: int, attendee_id: int, support: bool) -> VoteState:
    """Add or remove the attendee's vote (idempotent) and recount, in one transaction.

    The question row is locked first, so concurrent votes on it are counted one after
    the other; the vote itself is an INSERT … ON CONFLICT DO NOTHING, so a double click
    leaves one row.
    """
    begin_write()
    try:
        question = _locked_question(question_id)
        if question is None or not question.published or question.attendee_id == attendee_id:
            raise NotVotable
        episode = db.session.get(Episode, question.episode_id)
        if episode is None or not votes_open(episode, utcnow()):
            raise VotesClosed
        if support:
            insert_ignoring_conflicts(
                Vote,
                [{"question_id": question_id, "attendee_id": attendee_id, "created_at": utcnow()}],
                ["question_id", "attendee_id"],
            )
        else:
            db.session.execute(
                sa.delete(Vote).where(
                    Vote.question_id == question_id, Vote.attendee_id == attendee_id
                )
            )
        _recount([question_id])
        count = db.session.scalar(sa.select(Question.vote_count).where(Question.id == question_id))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return VoteState(question_id, int(count or 0), support)
