"""Writes of the facilitator's space: accounts, question review, running order, episodes,
follow-up. Every change is stamped with who and when, in the same transaction."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin

from .. import validation
from ..clock import utcnow
from ..database import begin_write
from ..extensions import db
from ..mailing.notifications import queue_episode_rescheduled
from ..mailing.outbox import nudge_outbox
from ..models import (
    Attendee,
    Episode,
    Facilitator,
    FacilitatorAction,
    Question,
    QuestionStatus,
    Registration,
)
from ..programme.services import forget_programme_snapshot

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-timing")


class AccountError(ValueError):
    """A facilitator account cannot be created as asked (message in French)."""


# ---------------------------------------------------------------- accounts
@dataclass
class FacilitatorUser(UserMixin):
    """The logged-in facilitator as Flask-Login sees it."""

    facilitator_id: int
    email: str
    password_hash: str

    def get_id(self) -> str:
        """Session key: the id plus a fingerprint of the hash, so a new password ends old sessions."""
        return f"{self.facilitator_id}:{_fingerprint(self.password_hash)}"


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def load_user(user_id: str) -> FacilitatorUser | None:
    """The facilitator behind a session key, if it still matches their password."""
    raw_id, _, fingerprint = user_id.partition(":")
    if not raw_id.isdigit():
        return None
    facilitator = db.session.get(Facilitator, int(raw_id))
    if facilitator is None or fingerprint != _fingerprint(facilitator.password_hash):
        return None
    return FacilitatorUser(facilitator.id, facilitator.email, facilitator.password_hash)


def normalise_email(raw: str) -> str:
    """Syntax-checked, lower-cased address (no DNS lookup), or AccountError."""
    try:
        return validation.normalise_email(raw.strip())
    except ValueError as error:
        raise AccountError(f"Adresse e-mail invalide : « {raw} ».") from error


def check_password(password: str) -> None:
    """Refuse a short password (length is what matters; no composition rules)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Mot de passe trop court : {MIN_PASSWORD_LENGTH} caractères au moins.")
    if len(password) > 1024:
        raise AccountError("Mot de passe trop long : 1 024 caractères au plus.")


def create_facilitator(email: str, password: str) -> Facilitator:
    """Create an account with an argon2 hash; AccountError if invalid or taken."""
    address = normalise_email(email)
    check_password(password)
    begin_write()
    if db.session.scalars(sa.select(Facilitator.id).filter_by(email=address)).first():
        db.session.rollback()
        raise AccountError(f"Un compte existe déjà pour {address}.")
    facilitator = Facilitator(email=address, password_hash=_hasher.hash(password))
    db.session.add(facilitator)
    db.session.flush()
    record(facilitator.id, "account.create", f"facilitator:{facilitator.id}", address)
    db.session.commit()
    return facilitator


def authenticate(email: str, password: str) -> FacilitatorUser | None:
    """The facilitator if the password matches; the same cost whether the e-mail exists or not."""
    address = email.strip().lower()
    facilitator = db.session.scalars(sa.select(Facilitator).filter_by(email=address)).first()
    try:
        _hasher.verify(facilitator.password_hash if facilitator else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if facilitator is None:
        return None
    # The bookkeeping below is a write after a read: take the write lock first (SQLite
    # would otherwise answer "database is locked" to a concurrent writer).
    facilitator_id = facilitator.id
    begin_write()
    facilitator = db.session.get(Facilitator, facilitator_id)
    if facilitator is None:
        return None
    facilitator.last_login_at = utcnow()
    if _hasher.check_needs_rehash(facilitator.password_hash):
        facilitator.password_hash = _hasher.hash(password)
    record(facilitator.id, "login", f"facilitator:{facilitator.id}")
    return FacilitatorUser(facilitator.id, facilitator.email, facilitator.password_hash)


# ---------------------------------------------------------------- audit
def record(facilitator_id: int | None, action: str, target: str, detail: str = "") -> None:
    """Add an audit row (who, what, when) to the current transaction."""
    db.session.add(
        FacilitatorAction(
            facilitator_id=facilitator_id,
            action=action,
            target=target,
            detail=detail[:500],
            at=utcnow(),
        )
    )


# ---------------------------------------------------------------- question review
#: action name (the button's value) → what it changes
QUESTION_ACTIONS: dict[str, dict[str, Any]] = {
    "nouvelle": {"status": QuestionStatus.NEW},
    "retenue": {"status": QuestionStatus.SELECTED},
    "repondue": {"status": QuestionStatus.ANSWERED},
    "ecartee": {"status": QuestionStatus.DISMISSED},
    "publier": {"published": True},
    "depublier": {"published": False},
}
#: the audit trail's action codes, as the journal shows them
ACTION_LABELS: dict[str, str] = {
    "account.create": "Compte créé",
    "login": "Connexion",
    "episode.update": "Épisode modifié",
    "episode.followup": "Suivi envoyé",
    "question.nouvelle": "Question remise en « nouvelle »",
    "question.retenue": "Question retenue",
    "question.repondue": "Question marquée répondue",
    "question.ecartee": "Question écartée",
    "question.publier": "Question publiée",
    "question.depublier": "Question dépubliée",
    "question.note": "Note privée",
    "order.up": "Question montée dans l’ordre",
    "order.down": "Question descendue dans l’ordre",
}
#: field names in "episode.update" details
FIELD_LABELS: dict[str, str] = {
    "title": "titre",
    "teaser": "présentation",
    "starts_at": "date et heure",
    "duration_minutes": "durée",
    "speakers": "intervenants",
    "join_url": "lien du direct",
    "replay_url": "lien du replay",
}


def describe_target(target: str) -> str:
    """'episode:3' → 'épisode n° 3' (the journal speaks French)."""
    kind, _, number = target.partition(":")
    names = {"episode": "épisode", "question": "question", "facilitator": "compte"}
    return f"{names.get(kind, kind)} n°\u00a0{number}" if number else target


def describe_detail(action: str, detail: str) -> str:
    """Field names of an episode edit in French; other details as they are."""
    if action == "episode.update":
        return ", ".join(FIELD_LABELS.get(name.strip(), name.strip()) for name in detail.split(","))
    return detail


#: statuses that keep a place in the live running order
ORDERED_STATUSES = (QuestionStatus.SELECTED, QuestionStatus.ANSWERED)


def act_on_question(
    question_id: int, episode_id: int, action: str, facilitator_id: int
) -> Question:
    """Apply one review action; vote_count is never touched. KeyError/LookupError on bad input."""
    change = QUESTION_ACTIONS[action]
    begin_write()
    question = _question_for_update(question_id, episode_id)
    now = utcnow()
    if "status" in change and question.status != change["status"]:
        question.status = change["status"]
        if question.status in ORDERED_STATUSES:
            if question.live_order is None:
                question.live_order = _next_live_order(episode_id)
        else:
            question.live_order = None
    if "published" in change:
        question.published = change["published"]
    question.reviewed_at = now
    question.reviewed_by_id = facilitator_id
    question.updated_at = now
    record(facilitator_id, f"question.{action}", f"question:{question.id}")
    db.session.commit()
    return question


def save_note(question_id: int, episode_id: int, note: str, facilitator_id: int) -> Question:
    """Replace the private note of a question."""
    begin_write()
    question = _question_for_update(question_id, episode_id)
    now = utcnow()
    question.note = note.strip()
    question.reviewed_at = now
    question.reviewed_by_id = facilitator_id
    question.updated_at = now
    record(facilitator_id, "question.note", f"question:{question.id}", question.note[:200])
    db.session.commit()
    return question


def _question_for_update(question_id: int, episode_id: int) -> Question:
    """The question of this episode, or LookupError (never another episode's)."""
    question = db.session.scalars(
        sa.select(Question).where(Question.id == question_id, Question.episode_id == episode_id)
    ).first()
    if question is None:
        db.session.rollback()
        raise LookupError(question_id)
    return question


def _next_live_order(episode_id: int) -> int:
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


def move_in_order(question_id: int, episode_id: int, direction: str, facilitator_id: int) -> bool:
    """Move a question one place up or down; renumber 1..n. False if it cannot move."""
    begin_write()
    questions = running_order(episode_id)
    ids = [q.id for q in questions]
    if question_id not in ids or direction not in {"monter", "descendre"}:
        db.session.rollback()
        return False
    index = ids.index(question_id)
    other = index - 1 if direction == "monter" else index + 1
    if not 0 <= other < len(questions):
        db.session.rollback()
        return False
    questions[index], questions[other] = questions[other], questions[index]
    now = utcnow()
    for position, question in enumerate(questions, start=1):
        if question.live_order != position:
            question.live_order = position
            question.updated_at = now
    record(facilitator_id, f"order.{direction}", f"question:{question_id}", f"place {other + 1}")
    db.session.commit()
    return True


# ---------------------------------------------------------------- episodes
#: fields whose change moves the event in calendars (RFC 5545: raise SEQUENCE)
_TIMING_FIELDS = ("starts_at", "duration_minutes")


def update_episode(episode_id: int, values: dict[str, Any], facilitator_id: int) -> list[str]:
    """Apply the edit form; bump updated_at on any change and SEQUENCE when the time moves."""
    begin_write()
    episode = db.session.get(Episode, episode_id)
    if episode is None:
        db.session.rollback()
        raise LookupError(episode_id)
    changed = [name for name, value in values.items() if getattr(episode, name) != value]
    if not changed:
        db.session.rollback()
        return []
    for name in changed:
        setattr(episode, name, values[name])
    moved = any(name in _TIMING_FIELDS for name in changed)
    if moved:
        episode.sequence = (episode.sequence or 0) + 1
    episode.updated_at = utcnow()
    episode.updated_by_id = facilitator_id
    record(facilitator_id, "episode.update", f"episode:{episode.id}", ", ".join(changed))
    if moved and episode.state(utcnow()) == "upcoming":
        registrants = db.session.scalars(
            sa.select(Attendee)
            .join(Registration, Registration.attendee_id == Attendee.id)
            .where(Registration.episode_id == episode.id)
        ).all()
        queue_episode_rescheduled(episode, registrants)
    db.session.commit()
    forget_programme_snapshot()  # this worker's public pages show the change at once
    if moved:
        nudge_outbox()
    return changed


# ---------------------------------------------------------------- follow-up
class FollowupRefused(Exception):
    """The follow-up cannot be sent now (message in French)."""


def claim_followup(episode_id: int, facilitator_id: int, now: datetime) -> bool:
    """Stamp the episode as followed-up if nobody did; only the winner may queue the mail.

    The conditional UPDATE is the lock: on PostgreSQL a second writer waits for the
    first to commit and then finds the column set; on SQLite BEGIN IMMEDIATE serialises.
    """
    result = db.session.execute(
        sa.update(Episode)
        .where(
            Episode.id == episode_id,
            Episode.followup_sent_at.is_(None),
            Episode.starts_at <= now,
        )
        .values(followup_sent_at=now, followup_sent_by_id=facilitator_id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
