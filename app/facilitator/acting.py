"""Acting on one question of the review: the one-button actions and the private note; the
row locked for the change, the stamp of who acted, its status set (and what leaves with the
fate it had), the refusals every action shares, and the note when another facilitator acted
first."""

from __future__ import annotations

import sqlalchemy as sa

from ..clock import utcnow
from ..database import write
from ..extensions import db
from ..models import Question
from ..refusals import Refusal
from ..vocabulary import QuestionStatus, ReviewAction
from .journal import facilitator_email, record
from .running_order import elapsed_on_air, next_live_order


class ActionRefused(Refusal):
    """The question's fate does not allow this action (nothing changed)."""


def set_status(question: Question, status: QuestionStatus) -> None:
    """Give the question a new status: its running-order place follows, and the details of
    the fate it leaves (answer, reason, replay time) go with that fate."""
    question.status = status
    if not status.in_running_order:
        question.live_order = None
    elif question.live_order is None:
        question.live_order = next_live_order(question.episode_id)
    question.replay_seconds = None
    question.written_answer = ""
    question.decline_reason = None
    question.decline_detail = ""


def refuse_if_settled(question: Question) -> None:
    """Merged and carried-over questions are handled through the question that carries on."""
    if question.status == QuestionStatus.MERGED:
        raise ActionRefused(
            f"La question n° {question.id} est fusionnée avec la n° {question.merged_into_id} : "
            "annulez d’abord la fusion."
        )
    if question.status == QuestionStatus.CARRIED_OVER:
        raise ActionRefused(
            f"La question n° {question.id} a été reportée à un épisode suivant : "
            "elle se traite désormais dans cet épisode."
        )


def overtaken_note(question: Question, seen_revision: int | None, facilitator_id: int) -> str:
    """What another facilitator did since the form was shown, if anything."""
    if seen_revision is None or seen_revision >= question.revision:
        return ""
    if question.reviewed_by_id in (None, facilitator_id):
        return ""
    who = facilitator_email(question.reviewed_by_id) or "une autre personne"
    return (
        f"Entre-temps, {who} avait changé cette question ({question.status.label}) : "
        "votre choix l’a remplacé."
    )


def stamp(question: Question, facilitator_id: int) -> None:
    """Who reviewed the question, when; a new revision (a form older than it is overtaken)."""
    now = utcnow()
    question.reviewed_at = now
    question.reviewed_by_id = facilitator_id
    question.updated_at = now
    question.revision = (question.revision or 0) + 1


def question_of_episode(question_id: int, episode_id: int) -> Question:
    """The question of this episode, locked until commit; LookupError (never another
    episode's). The lock makes two facilitators acting on it take turns."""
    question = db.session.scalars(
        sa.select(Question)
        .where(Question.id == question_id, Question.episode_id == episode_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if question is None:
        raise LookupError(question_id)
    return question


def act_on_question(
    question_id: int,
    episode_id: int,
    action: ReviewAction,
    facilitator_id: int,
    seen_revision: int | None = None,
) -> str:
    """Apply one review action; vote_count is never touched. LookupError if not found.

    Returns a note when another facilitator changed the question since the form was
    shown (the last one wins, and says so).
    """
    with write():
        question = question_of_episode(question_id, episode_id)
        refuse_if_settled(question)
        if action.published and question.status == QuestionStatus.DISMISSED:
            raise ActionRefused(
                "Une question écartée ne peut pas être publiée : changez d’abord son sort."
            )
        note = overtaken_note(question, seen_revision, facilitator_id)
        if action.status is not None and question.status != action.status:
            set_status(question, action.status)
            if action.status == QuestionStatus.ANSWERED:
                question.replay_seconds = elapsed_on_air(question.episode, utcnow())
        if action.published is not None:
            question.published = action.published
        stamp(question, facilitator_id)
        record(facilitator_id, action.journal_code, f"question:{question.id}")
    return note


def save_note(question_id: int, episode_id: int, note: str, facilitator_id: int) -> Question:
    """Replace the private note of a question."""
    with write():
        question = question_of_episode(question_id, episode_id)
        question.note = note.strip()
        stamp(question, facilitator_id)
        record(facilitator_id, "question.note", f"question:{question.id}", question.note[:200])
    return question
