"""Writing questions and votes: send, edit, withdraw, vote (the views stay thin)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..clock import utcnow
from ..database import insert_ignoring_conflicts, write
from ..extensions import db
from ..models import Episode, Question, Registration, Vote
from ..refusals import Refusal
from ..vocabulary import QuestionStatus
from .board import votes_open
from .merges import detach_merges, recount_votes, withdraw_support


class QuestionsClosed(Refusal):
    """The episode has started: questions can no longer be sent, changed or withdrawn."""

    message = _l("Les questions sont closes : l’épisode a commencé.")


class VotesClosed(Refusal):
    """The episode is over: votes no longer change anything."""

    message = _l("Les votes sont clos : l’épisode est terminé.")


class NotRecognised(Refusal):
    """This browser may not vote: only the personal link gives full rights."""

    code = 403
    message = _l("Pour voter, ouvrez le lien personnel reçu par e-mail.")


class NotVotable(Refusal):
    """Not a published question of someone else."""

    message = _l("Vous ne pouvez pas voter pour votre propre question.")


class NoLongerVotable(Refusal):
    """Merged into another, carried over to a later episode, or declined."""

    message = _l("Cette question ne reçoit plus de votes : son sort est réglé.")


class SettledElsewhere(Refusal):
    """A carried-over question lives on in the later episode: it changes there."""

    message = _l(
        "Cette question a été reportée à un épisode suivant : "
        "modifiez-la ou retirez-la depuis cet épisode."
    )


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
    with write():
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
    with write():
        question = _locked_question(question_id)
        if question is None:
            return None
        _lock_episode_open(question.episode_id)
        if question.status == QuestionStatus.CARRIED_OVER:
            raise SettledElsewhere
        if question.text != text:
            question.text = text
            # A merge was made for the old wording: it is undone, and lent votes leave.
            detach_merges(sa.select(Question.id).where(Question.id == question_id))
            if question.published or question.status != QuestionStatus.NEW:
                question.published = False
                question.status = QuestionStatus.NEW
                question.reviewed_at = None
                question.live_order = None
                question.merged_into_id = None
                question.replay_seconds = None
                question.written_answer = ""
                question.decline_reason = None
                question.decline_detail = ""
            db.session.execute(sa.delete(Vote).where(Vote.question_id == question_id))
            question.vote_count = 0
        question.show_name = show_name
        question.updated_at = utcnow()
    return question


def withdraw_question(question_id: int) -> bool:
    """Delete a question and its votes; False if it was already gone."""
    with write():
        question = _locked_question(question_id)
        if question is None:
            return False
        _lock_episode_open(question.episode_id)
        if question.status == QuestionStatus.CARRIED_OVER:
            raise SettledElsewhere
        detach_merges(sa.select(Question.id).where(Question.id == question_id))
        db.session.execute(sa.delete(Vote).where(Vote.question_id == question_id))
        db.session.execute(sa.delete(Question).where(Question.id == question_id))
    return True


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
    with write():
        question = _locked_question(question_id)
        if question is None or not question.published or question.attendee_id == attendee_id:
            raise NotVotable
        if not question.status.open_to_votes:
            raise NoLongerVotable
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
            withdraw_support(question_id, attendee_id)
        recount_votes([question_id])
        count = db.session.scalar(sa.select(Question.vote_count).where(Question.id == question_id))
    return VoteState(question_id, int(count or 0), support)
