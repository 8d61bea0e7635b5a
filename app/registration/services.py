"""Registering: one transaction writes the attendee, the registrations and the outbox row."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from ..clock import utcnow
from ..database import upsert_statement, write
from ..extensions import db
from ..identity import issue_token
from ..language import current_language, known
from ..mailing.notifications import queue_registration_confirmation
from ..mailing.queue import recent_mail_count
from ..models import Attendee
from ..seats import place
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
    #: the language of the page they registered from: their mail is written in it
    language: str = field(default_factory=current_language)


@dataclass
class Registered:
    """Who registered, and per episode chosen: None for a seat, else the place on the
    waiting list (as the submitter may be told it)."""

    attendee: Attendee
    places: dict[int, int | None]


def register(request: RegistrationRequest, *, lock_seats: bool = True) -> Registered:
    """Create the attendee or merge into the existing one; take a seat or a place on the
    waiting list of each episode (app/seats.py); queue the e-mail; commit.

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
                language=known(request.language),
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
        places = place(attendee.id, request.episode_ids, now, lock=lock_seats)
        if first or recent_mail_count(attendee.id, (CONFIRMATION,)) < MAX_CONFIRMATIONS_PER_HOUR:
            queue_registration_confirmation(attendee, issue_token(attendee, first=first))
    return Registered(attendee, places)
