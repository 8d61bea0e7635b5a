"""Seats and the waiting list: who gets a seat, who waits, and in which order.

A seat is decided under one lock with the row that takes it: the capacity and the seats
taken are read, and the registration written, while the episode's row is locked
(`SELECT … FOR UPDATE` on PostgreSQL; on SQLite `write()` holds the database's write lock
from BEGIN IMMEDIATE, which already serialises every writer). Never a check in one
transaction and an insert in another: 20 people racing for the last seat get one seat and
19 places on the list. Episodes without a capacity are not locked (nothing to count).

The waiting list is `Registration.waiting_since` (None: a seat); its order is the order of
arrival, (waiting_since, id). A freed seat goes at once, in the same transaction, to the
first person waiting, who is told by e-mail.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from .database import insert_ignoring_conflicts
from .extensions import db
from .models import Episode, Registration
from .vocabulary import EpisodeState

#: the public pages say how many places are left from this many down
FEW_PLACES = 10
_EPISODE = Episode.__table__


def _capacities(episode_ids: Iterable[int], lock: bool = True) -> dict[int, int | None]:
    """Each episode's capacity; those that have one are locked (in id order: no deadlock
    between two people registering for several episodes) and read again under the lock."""
    ids = sorted(set(episode_ids))
    if not ids:
        return {}
    # From the table, not the model: 97 µs against 135 through the ORM, inside the lock.
    rows = db.session.execute(
        sa.select(_EPISODE.c.id, _EPISODE.c.capacity).where(_EPISODE.c.id.in_(ids))
    )
    capacities = dict(rows.all())
    limited = [episode_id for episode_id in ids if capacities.get(episode_id) is not None]
    if limited:
        statement = (
            sa.select(Episode.id, Episode.capacity)
            .where(Episode.id.in_(limited))
            .order_by(Episode.id)
        )
        if lock:
            statement = statement.with_for_update()  # nothing on SQLite: already locked
        capacities.update(dict(db.session.execute(statement).all()))
    return capacities


def lock_episodes(episode_ids: Iterable[int]) -> None:
    """Lock these episodes' rows (those with a capacity), before freeing seats in them."""
    _capacities(episode_ids)


def seats_taken(episode_ids: Iterable[int]) -> dict[int, int]:
    """How many seats each episode has given (the waiting list not counted)."""
    ids = list(episode_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Registration.episode_id, sa.func.count())
        .where(Registration.episode_id.in_(ids), Registration.waiting_since.is_(None))
        .group_by(Registration.episode_id)
    )
    return dict(rows.all())


def waiting_count(episode_id: int) -> int:
    """How many people wait for a seat of this episode."""
    return db.session.scalar(
        sa.select(sa.func.count()).where(
            Registration.episode_id == episode_id, Registration.waiting_since.is_not(None)
        )
    )


def place(
    attendee_id: int, episode_ids: Iterable[int], now: datetime, *, lock: bool = True
) -> dict[int, int | None]:
    """Register the attendee to these episodes, in the caller's write transaction: a seat
    while one is free, else the end of the waiting list; a registration already on file
    stays as it is.

    Gives, per episode, what this answer may tell the person who submitted (None: a seat,
    else the place on the waiting list). A registration that was already there is answered
    as a first one would be (no enumeration: the browser may not be the address's owner);
    the owner's own mail and space say the truth. `lock=False` exists only for the test
    that shows the oversell without the lock.
    """
    ids = sorted(set(episode_ids))
    capacities = _capacities(ids, lock)
    taken = seats_taken([i for i in ids if capacities.get(i) is not None])
    full = {i for i in ids if capacities.get(i) is not None and taken.get(i, 0) >= capacities[i]}
    inserted = {
        row.episode_id
        for row in insert_ignoring_conflicts(
            Registration,
            [
                {
                    "attendee_id": attendee_id,
                    "episode_id": i,
                    "created_at": now,
                    "waiting_since": now if i in full else None,
                }
                for i in ids
            ],
            index_elements=["attendee_id", "episode_id"],
            returning=(Registration.episode_id,),
        )
    }
    answer: dict[int, int | None] = {}
    for i in ids:
        if i not in full:
            answer[i] = None
        elif i in inserted:
            answer[i] = waiting_count(i)  # the last one in: the list's length
        else:
            answer[i] = waiting_count(i) + 1
    return answer


def fill_seats(episode_ids: Iterable[int], now: datetime) -> list[Registration]:
    """Give the free seats of these episodes to the first people waiting, in order of
    arrival, in the caller's write transaction; each is told by e-mail (join link included
    when it is set). Nothing moves once an episode has started or when it is cancelled."""
    # Here, not at the top: the mailing package reads the waiting list from this module.
    from .mailing.notifications import queue_seat_given

    capacities = _capacities(episode_ids)
    given: list[Registration] = []
    for episode_id, capacity in sorted(capacities.items()):
        episode = db.session.get(Episode, episode_id)
        if episode is None or episode.state(now) != EpisodeState.UPCOMING:
            continue
        free = None if capacity is None else capacity - seats_taken([episode_id]).get(episode_id, 0)
        if free is not None and free <= 0:
            continue
        first = (
            sa.select(Registration)
            .where(Registration.episode_id == episode_id, Registration.waiting_since.is_not(None))
            .order_by(Registration.waiting_since, Registration.id)
            .limit(free)
        )
        # No reminder was owed to them: the sweep sends them the next one due (and the
        # join link with it), as to anyone seated.
        for registration in db.session.scalars(first).all():
            registration.waiting_since = None
            queue_seat_given(registration.attendee, episode)
            given.append(registration)
    db.session.flush()
    return given


def registered_episodes(attendee_ids: sa.Select) -> list[int]:
    """The episodes these attendees follow, seated or waiting (the seats they free when they
    leave: one waiting now may have been given a seat by the time the lock is held)."""
    return list(
        db.session.scalars(
            sa.select(Registration.episode_id)
            .where(Registration.attendee_id.in_(attendee_ids))
            .distinct()
        )
    )


def waiting_positions(attendee_id: int) -> dict[int, int]:
    """Per episode where the attendee waits: their place on the list (1 is next)."""
    return dict(db.session.execute(_waiting_statement(), {"attendee_id": attendee_id}).all())


@cache
def _waiting_statement() -> sa.Select:
    """waiting_positions' statement, made once (its two aliases cost a confirmation mail
    half a millisecond each time)."""
    mine, ahead = aliased(Registration, name="mine"), aliased(Registration, name="ahead")
    return (
        sa.select(mine.episode_id, sa.func.count(ahead.id))
        .join(
            ahead,
            sa.and_(
                ahead.episode_id == mine.episode_id,
                ahead.waiting_since.is_not(None),
                sa.or_(
                    ahead.waiting_since < mine.waiting_since,
                    sa.and_(ahead.waiting_since == mine.waiting_since, ahead.id <= mine.id),
                ),
            ),
        )
        .where(mine.attendee_id == sa.bindparam("attendee_id"), mine.waiting_since.is_not(None))
        .group_by(mine.episode_id)
    )


def places_left(capacity: int | None, taken: int) -> int | None:
    """Seats still free (never below 0: a lowered capacity removes nobody); None: unlimited."""
    return None if capacity is None else max(capacity - taken, 0)
