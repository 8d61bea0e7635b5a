"""The fates that need a detail: answered on air (at a moment of the replay), answered in
writing, merged into another question (and undone), carried over to a later episode,
declined with a reason. Each is one transaction, and refused with a French message (409)
when the rules say no, nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..clock import utcnow
from ..database import write
from ..extensions import db
from ..models import Episode, Question, QuestionTheme, Vote
from ..questions.merges import give_back_votes, lend_votes, rebalance, recount_votes
from ..vocabulary import DeclineReason, FateAction, QuestionStatus
from .acting import (
    ActionRefused,
    overtaken_note,
    question_of_episode,
    refuse_if_settled,
    set_status,
    stamp,
)
from .journal import record
from .running_order import elapsed_on_air, follow_on_screen


@dataclass
class Decision:
    """A fate and its detail, as the facilitator gave it."""

    action: FateAction
    replay_seconds: int | None = None
    written_answer: str = ""
    #: merge: the number of the question kept in its place
    keep_id: int | None = None
    #: carry over: the later episode
    target_episode_id: int | None = None
    reason: DeclineReason | None = None
    detail: str = ""
    #: the question's revision when the form was shown
    seen_revision: int | None = None


def decide(question_id: int, episode_id: int, decision: Decision, facilitator_id: int) -> str:
    """Give the question this fate; a note if another facilitator acted meanwhile.

    LookupError when the question is not this episode's; ActionRefused (409) when a rule
    says no.
    """
    with write():
        if decision.keep_id is not None:
            # Both rows locked in id order: two opposite merges wait instead of deadlocking.
            _lock_in_order([question_id, decision.keep_id])
        question = question_of_episode(question_id, episode_id)
        note = overtaken_note(question, decision.seen_revision, facilitator_id)
        detail = _HANDLERS[decision.action](question, decision)
        stamp(question, facilitator_id)
        record(facilitator_id, decision.action.journal_code, f"question:{question.id}", detail)
    return note


def _on_air(question: Question, decision: Decision) -> str:
    refuse_if_settled(question)
    if question.status != QuestionStatus.ANSWERED:
        set_status(question, QuestionStatus.ANSWERED)
    question.replay_seconds = decision.replay_seconds
    return "" if decision.replay_seconds is None else f"à {decision.replay_seconds} s"


def _in_writing(question: Question, decision: Decision) -> str:
    refuse_if_settled(question)
    set_status(question, QuestionStatus.WRITTEN)
    question.written_answer = decision.written_answer
    return decision.written_answer[:200]


def _decline(question: Question, decision: Decision) -> str:
    refuse_if_settled(question)
    set_status(question, QuestionStatus.DISMISSED)
    question.decline_reason = decision.reason
    question.decline_detail = decision.detail
    # No longer public, nor open to votes, in the same transaction.
    question.published = False
    return f"{decision.reason.label if decision.reason else ''} {decision.detail}".strip()


def _merge(question: Question, decision: Decision) -> str:
    keep_id = decision.keep_id
    if keep_id == question.id:
        raise ActionRefused("Une question ne peut pas être fusionnée avec elle-même.")
    if question.status == QuestionStatus.MERGED:
        raise ActionRefused(
            f"La question n° {question.id} est déjà fusionnée avec la n° "
            f"{question.merged_into_id} : annulez d’abord cette fusion."
        )
    refuse_if_settled(question)
    # Locked already, with the merged one (decide): read as it is now.
    kept = db.session.get(Question, keep_id, populate_existing=True) if keep_id else None
    _check_keepable(kept, keep_id, question)
    assert kept is not None
    # Questions already merged into this one now point to the one kept (no chains).
    db.session.execute(
        sa.update(Question)
        .where(Question.merged_into_id == question.id)
        .values(merged_into_id=kept.id)
        .execution_options(synchronize_session=False)
    )
    homes = lend_votes(question.id, kept.id, kept.attendee_id)
    set_status(question, QuestionStatus.MERGED)
    question.merged_into_id = kept.id
    if question.published:
        # Its supporters follow it to the kept question, which they must be able to see.
        kept.published = True
    kept.updated_at = utcnow()
    db.session.flush()
    # The questions it carried now count on the kept one too (those left with it because
    # their person was its author, or counted there already, may count now).
    recount_votes([question.id, kept.id, *homes, *rebalance([kept.id])])
    db.session.refresh(question, ["vote_count"])
    db.session.refresh(kept, ["vote_count"])
    return f"dans la question n° {kept.id}"


def _lock_in_order(ids: list[int]) -> None:
    db.session.execute(
        sa.select(Question.id).where(Question.id.in_(ids)).order_by(Question.id).with_for_update()
    ).all()


def _check_keepable(kept: Question | None, keep_id: int | None, merged: Question) -> None:
    """The kept question exists, in the same episode, and still stands on its own."""
    if kept is None:
        raise ActionRefused(f"Il n’y a pas de question n° {keep_id}.")
    if kept.episode_id != merged.episode_id:
        raise ActionRefused(
            f"La question n° {kept.id} appartient à un autre épisode : "
            "on ne fusionne que des questions du même épisode."
        )
    if kept.status == QuestionStatus.MERGED:
        raise ActionRefused(
            f"La question n° {kept.id} est elle-même fusionnée avec la n° "
            f"{kept.merged_into_id} : fusionnez plutôt avec celle-ci."
        )
    if kept.status in (QuestionStatus.CARRIED_OVER, QuestionStatus.DISMISSED):
        raise ActionRefused(
            f"La question n° {kept.id} est {kept.status.label} : "
            "elle ne peut pas en accueillir d’autres."
        )


def _unmerge(question: Question, decision: Decision) -> str:
    if question.status != QuestionStatus.MERGED:
        raise ActionRefused(f"La question n° {question.id} n’est fusionnée avec aucune autre.")
    if not question.episode.accepts_questions(utcnow()):
        raise ActionRefused("La fusion ne peut plus être annulée : l’épisode a commencé.")
    kept_id = question.merged_into_id
    holders = give_back_votes(question.id)
    set_status(question, QuestionStatus.NEW)
    question.merged_into_id = None
    db.session.flush()  # no longer in its group when the group is counted again
    recount_votes([question.id, *holders, *rebalance(holders)])
    db.session.refresh(question, ["vote_count"])
    return f"de la question n° {kept_id}"


def _carry_over(question: Question, decision: Decision) -> str:
    refuse_if_settled(question)
    target = db.session.get(Episode, decision.target_episode_id or 0)
    now = utcnow()
    if target is None or target.series_id != question.episode.series_id:
        raise ActionRefused("Cet épisode n’existe pas dans le cycle.")
    if target.number <= question.episode.number:
        raise ActionRefused("Une question se reporte à un épisode suivant, pas à un précédent.")
    if not carry_over_target(target, now):
        raise ActionRefused(
            f"L’épisode {target.number} a commencé ou n’a plus lieu : "
            "il ne reçoit plus de questions."
        )
    copy = Question(
        episode_id=target.id,
        attendee_id=question.attendee_id,
        text=question.text,
        show_name=question.show_name,
        published=question.published,
        status=QuestionStatus.NEW,
        note=question.note,
        created_at=question.created_at,
        updated_at=now,
    )
    db.session.add(copy)
    db.session.flush()
    # The votes and themes go with it: the later episode's audience sees its support.
    db.session.execute(
        sa.update(Vote)
        .where(Vote.question_id == question.id)
        .values(question_id=copy.id)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.insert(QuestionTheme).from_select(
            ["question_id", "theme_id"],
            sa.select(sa.literal(copy.id), QuestionTheme.theme_id).where(
                QuestionTheme.question_id == question.id
            ),
        )
    )
    set_status(question, QuestionStatus.CARRIED_OVER)
    question.carried_to_id = copy.id
    recount_votes([question.id, copy.id])
    db.session.refresh(question, ["vote_count"])
    return f"à l’épisode {target.number} (question n° {copy.id})"


def carry_over_target(episode: Episode, now: datetime) -> bool:
    """An episode can take carried-over questions while it takes questions at all: not
    started (and, once episodes can be cancelled, not cancelled: accepts_questions says)."""
    return episode.accepts_questions(now)


_HANDLERS: dict[FateAction, Callable[[Question, Decision], str]] = {
    FateAction.ON_AIR: _on_air,
    FateAction.IN_WRITING: _in_writing,
    FateAction.MERGE: _merge,
    FateAction.UNMERGE: _unmerge,
    FateAction.CARRY_OVER: _carry_over,
    FateAction.DECLINE: _decline,
}


def later_episodes(episode: Episode, episodes: list[Episode], now: datetime) -> list[Episode]:
    """The episodes a question of `episode` can be carried over to."""
    return [e for e in episodes if e.number > episode.number and carry_over_target(e, now)]


def answer_on_air_live(question_id: int, episode_id: int, facilitator_id: int) -> None:
    """From the live view: answered on air at this moment of the live; the screen moves on."""
    with write():
        question = question_of_episode(question_id, episode_id)
        refuse_if_settled(question)
        if question.status != QuestionStatus.ANSWERED:
            set_status(question, QuestionStatus.ANSWERED)
        question.replay_seconds = elapsed_on_air(question.episode, utcnow())
        stamp(question, facilitator_id)
        follow_on_screen(episode_id, question.id)
        record(facilitator_id, FateAction.ON_AIR.journal_code, f"question:{question.id}")
