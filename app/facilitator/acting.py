"""Acting on one question of the review: the row locked for the change, the stamp of who
acted, its status set (and what leaves with the fate it had), the refusals every action
shares, and the note when another facilitator acted first."""

from __future__ import annotations

import sqlalchemy as sa

from ..clock import utcnow
from ..extensions import db
from ..models import Question
from ..refusals import Refusal
from ..vocabulary import QuestionStatus
from .journal import facilitator_email
from .running_order import next_live_order


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
