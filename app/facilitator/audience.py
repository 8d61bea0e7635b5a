"""Who registered: the searchable list, the exports, the counts per episode."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..database import contains_pattern
from ..extensions import db
from ..models import Attendee, Episode, Question, Registration

PAGE_SIZE = 50


@dataclass
class RegistrantsPage:
    """One page of attendees, each with the numbers of the episodes they follow (or wait for)."""

    rows: list[tuple[Attendee, list[Followed]]]
    total: int
    page: int
    pages: int


def _registrant_conditions(q: str, episode_id: int | None) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if q:
        pattern = contains_pattern(q)
        searched = (Attendee.email, Attendee.first_name, Attendee.last_name, Attendee.organisation)
        conditions.append(sa.or_(*(column.ilike(pattern, escape="\\") for column in searched)))
    if episode_id is not None:
        conditions.append(
            sa.exists().where(
                Registration.attendee_id == Attendee.id, Registration.episode_id == episode_id
            )
        )
    return conditions


def registrants_page(q: str, episode_id: int | None, page: int) -> RegistrantsPage:
    """Attendees matching the search and episode, paginated: three queries."""
    conditions = _registrant_conditions(q, episode_id)
    total = db.session.scalar(sa.select(sa.func.count(Attendee.id)).where(*conditions)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = max(1, min(page, pages))
    attendees = list(
        db.session.scalars(
            sa.select(Attendee)
            .where(*conditions)
            .order_by(Attendee.last_name, Attendee.first_name, Attendee.id)
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
    )
    numbers = _episode_numbers([a.id for a in attendees])
    return RegistrantsPage([(a, numbers.get(a.id, [])) for a in attendees], total, page, pages)


#: rows read from the database at a time while an export streams
EXPORT_BATCH = 500


def registrants_for_export(episode_id: int | None) -> Iterator[tuple[sa.Row, list[Followed]]]:
    """Every attendee (of one episode, if given) with their episode numbers, read a batch
    at a time (plain rows: nothing kept once written)."""
    numbers = _episode_numbers(None)
    rows = db.session.execute(
        sa.select(
            Attendee.id,
            Attendee.last_name,
            Attendee.first_name,
            Attendee.email,
            Attendee.organisation,
            Attendee.organisation_kind,
            Attendee.job_title,
            Attendee.created_at,
        )
        .where(*_registrant_conditions("", episode_id))
        .order_by(Attendee.last_name, Attendee.first_name, Attendee.id)
        .execution_options(yield_per=EXPORT_BATCH)
    )
    for row in rows:
        yield row, numbers.get(row.id, [])


class Followed(int):
    """An episode's number as the registrants' list and export write it: "3", or
    "3 (liste d’attente)" where the person waits for a seat."""

    waiting: bool

    def __new__(cls, number: int, waiting: bool = False) -> Followed:
        followed = super().__new__(cls, number)
        followed.waiting = waiting
        return followed

    def __str__(self) -> str:
        return f"{int(self)} (liste d’attente)" if self.waiting else str(int(self))


def _episode_numbers(attendee_ids: list[int] | None) -> dict[int, list[Followed]]:
    """Episode numbers per attendee (all attendees when None), waiting marked, one query."""
    statement = (
        sa.select(Registration.attendee_id, Episode.number, Registration.waiting_since.is_not(None))
        .join(Episode, Episode.id == Registration.episode_id)
        .order_by(Episode.number)
    )
    if attendee_ids is not None:
        if not attendee_ids:
            return {}
        statement = statement.where(Registration.attendee_id.in_(attendee_ids))
    numbers: dict[int, list[Followed]] = {}
    for attendee_id, number, waiting in db.session.execute(statement):
        numbers.setdefault(attendee_id, []).append(Followed(number, bool(waiting)))
    return numbers


#: the question a carried-over one became, for its episode's number
_COPY = aliased(Question, name="copy")
_LATER = aliased(Episode, name="later")


def questions_for_export(episode_id: int) -> Iterator[sa.Row]:
    """Every question of an episode with its author and fate, oldest first, read a batch
    at a time."""
    copy, later = _COPY, _LATER
    yield from db.session.execute(
        sa.select(
            Question.id,
            Question.text,
            Question.status,
            Question.published,
            Question.vote_count,
            Question.live_order,
            Question.show_name,
            Question.note,
            Question.created_at,
            Question.replay_seconds,
            Question.written_answer,
            Question.merged_into_id,
            Question.decline_reason,
            Question.decline_detail,
            later.number.label("carried_to_number"),
            Attendee.first_name,
            Attendee.last_name,
            Attendee.organisation,
            Attendee.email,
        )
        .join(Attendee, Attendee.id == Question.attendee_id)
        .outerjoin(copy, copy.id == Question.carried_to_id)
        .outerjoin(later, later.id == copy.episode_id)
        .where(Question.episode_id == episode_id)
        .order_by(Question.id)
        .execution_options(yield_per=EXPORT_BATCH)
    )


def registrant_count(episode_id: int) -> int:
    """How many people follow an episode."""
    return (
        db.session.scalar(sa.select(sa.func.count()).where(Registration.episode_id == episode_id))
        or 0
    )
