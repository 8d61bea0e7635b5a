"""The audit trail: who changed what, when; written in the same transaction as the change."""

from __future__ import annotations

import sqlalchemy as sa

from ..clock import utcnow
from ..extensions import db
from ..models import Facilitator, FacilitatorAction
from ..vocabulary import JOURNAL_LABELS

#: field names in "episode.update" details
FIELD_LABELS: dict[str, str] = {
    "title": "titre",
    "teaser": "présentation",
    "starts_at": "date et heure",
    "duration_minutes": "durée",
    "speakers": "intervenants",
    "join_url": "lien du direct",
    "replay_url": "lien du replay",
    "capacity": "nombre de places",
}
#: what a journal target names, in French
TARGET_NAMES = {
    "episode": "épisode",
    "question": "question",
    "facilitator": "compte",
    "theme": "thème",
}


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


def describe_action(action: str) -> str:
    """The journal's label for an action code."""
    return JOURNAL_LABELS.get(action, action)


def describe_target(target: str) -> str:
    """'episode:3' → 'épisode n° 3' (the journal speaks French)."""
    kind, _, number = target.partition(":")
    return f"{TARGET_NAMES.get(kind, kind)} n°\u00a0{number}" if number else target


def describe_detail(action: str, detail: str) -> str:
    """Field names of an episode edit in French; other details as they are."""
    if action == "episode.update":
        return ", ".join(FIELD_LABELS.get(name.strip(), name.strip()) for name in detail.split(","))
    return detail


def recent_actions(limit: int = 200) -> list[tuple[FacilitatorAction, str | None]]:
    """The latest audit rows with the facilitator's e-mail."""
    return [
        (action, email)
        for action, email in db.session.execute(
            sa.select(FacilitatorAction, Facilitator.email)
            .outerjoin(Facilitator, Facilitator.id == FacilitatorAction.facilitator_id)
            .order_by(FacilitatorAction.at.desc(), FacilitatorAction.id.desc())
            .limit(limit)
        )
    ]


def facilitator_email(facilitator_id: int | None) -> str | None:
    """The e-mail of a facilitator, for 'sent by'."""
    if facilitator_id is None:
        return None
    return db.session.scalar(sa.select(Facilitator.email).filter_by(id=facilitator_id))
