"""Registering: one transaction writes the attendee, the registrations and the outbox row."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from ..clock import utcnow
from ..database import insert_ignoring_conflicts, upsert_statement, write
from ..extensions import db
from ..identity import issue_token
from ..mailing.notifications import queue_registration_confirmation
from ..mailing.queue import recent_mail_count
from ..models import Attendee, Registration
from ..vocabulary import MailKind

#: confirmation e-mails per attendee per hour, whoever asks (nobody can mail-bomb an address)
MAX_CONFIRMATIONS_PER_HOUR = 3
CONFIRMATION = MailKind.REGISTRATION_CONFIRMATION


@dataclass
class RegistrationRequest:
    """What a visitor submitted (already validated)."""

    series_id: int
    email: str
    first_name: str
    last_name: str
    organisation: str
    organisation_kind: str
    job_title: str
    episode_ids: list[int] = field(default_factory=list)


def register(request: RegistrationRequest) -> Attendee:
    """Create the attendee or merge into the existing one; queue the e-mail; commit.

    An existing attendee keeps the details already on file (a stranger typing someone's
    address must not rewrite them); only episodes are added, and the owner gets a new link.
    A first registration is the quick path: the insert gives the row back, and there is no
    older link to make room for nor earlier mail to count.
    """
    now = utcnow()
    with write():
        attendee = db.session.scalars(
            upsert_statement(Attendee)
            .values(
                series_id=request.series_id,
                email=request.email,
                first_name=request.first_name,
                last_name=request.last_name,
                organisation=request.organisation,
                organisation_kind=request.organisation_kind,
                job_title=request.job_title,
                privacy_acknowledged_at=now,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["series_id", "email"])
            .returning(Attendee),
            execution_options={"populate_existing": True},
        ).first()
        first = attendee is not None
        if not first:
            # FOR UPDATE: concurrent registrations of one address queue their mail one at a
            # time on PostgreSQL (SQLite already holds the write lock).
            attendee = db.session.scalars(
                sa.select(Attendee)
                .filter_by(series_id=request.series_id, email=request.email)
                .with_for_update()
            ).one()
        insert_ignoring_conflicts(
            Registration,
            [
                {"attendee_id": attendee.id, "episode_id": episode_id, "created_at": now}
                for episode_id in request.episode_ids
            ],
            index_elements=["attendee_id", "episode_id"],
        )
        if first or recent_mail_count(attendee.id, (CONFIRMATION,)) < MAX_CONFIRMATIONS_PER_HOUR:
            queue_registration_confirmation(attendee, issue_token(attendee, first=first))
    return attendee
