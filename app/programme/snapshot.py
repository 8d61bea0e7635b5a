"""What the shared pages depend on, read cheaply: the programme's version, its questions'
version, the seats left and the episodes' times, kept per worker for
PROGRAMME_SNAPSHOT_SECONDS, forgotten at once after this worker's own writes (the session
events below) so its pages follow what it just wrote."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context

from ..clock import utcnow
from ..extensions import db
from ..models import Episode, Question, Registration, Series
from ..seats import places_left
from ..vocabulary import EpisodeState

if TYPE_CHECKING:
    from .services import ProgrammeView


@dataclass(frozen=True)
class ProgrammeSnapshot:
    """What the shared pages depend on, as plain values (no ORM objects): the programme's
    version (its ETag), its questions' version (the episode pages), the episodes' times."""

    taken_at: datetime
    version: tuple
    #: per episode: how many questions, their last change, their votes (and where they are)
    questions: tuple
    #: (id, starts_at, ends_at) per episode
    times: tuple[tuple[int, datetime, datetime], ...]
    #: (id, places left) per episode with a capacity (0: full, the waiting list open)
    seats: tuple[tuple[int, int], ...] = ()
    #: ETags already computed for this version, by page kind and states
    etags: dict = field(default_factory=dict, compare=False, hash=False)

    def states(self, now: datetime) -> tuple[tuple[int, str], ...]:
        """Each episode's state at `now`, computed without the database."""
        return tuple(
            (episode_id, str(EpisodeState.at(start, end, now)))
            for episode_id, start, end in self.times
        )

    def questions_of(self, slug: str) -> tuple:
        """The questions' version of the episode with this slug (what its page shows of
        them); the whole programme's for a slug it does not know."""
        slugs = [episode[1] for episode in self.version[2]] if self.version else []
        if slug in slugs and len(slugs) == len(self.questions):
            return self.questions[slugs.index(slug)]
        return self.questions

    def places_left(self) -> dict[int, int]:
        """Per episode with a capacity: its seats still free (0 when full)."""
        return dict(self.seats)

    def next_change(self, now: datetime) -> datetime | None:
        """The next start or end of an episode after `now` (states hold until then)."""
        moments = [m for _, start, end in self.times for m in (start, end) if m > now]
        return min(moments, default=None)

    @classmethod
    def of_view(
        cls, view: ProgrammeView, now: datetime, seats: tuple[tuple[int, int], ...] = ()
    ) -> ProgrammeSnapshot:
        """The version and times of the programme this view holds, with these seats (see
        seats_of), as `programme_snapshot` would read them (without the questions): the ETag
        of what is rendered from it."""
        return cls(
            taken_at=now,
            version=(
                view.series.id,
                view.series.updated_at,
                tuple(
                    (
                        e.id,
                        e.slug,
                        e.starts_at,
                        e.duration_minutes,
                        e.updated_at,
                        e.replay_url != "",
                        e.cancelled_at,
                    )
                    for e in view.episodes
                ),
                seats,
            ),
            questions=(),
            seats=seats,
            times=tuple((e.id, e.starts_at, e.ends_at) for e in view.episodes),
        )


def seats_of(view: ProgrammeView) -> tuple[tuple[int, int], ...]:
    """Per episode of the view with a capacity, in order: its places left, read now (one
    query; none when no episode has a capacity)."""
    capped = [e for e in view.episodes if e.capacity is not None]
    if not capped:
        return ()
    seated = dict(
        db.session.execute(
            sa.select(Registration.episode_id, sa.func.count())
            .where(
                Registration.waiting_since.is_(None),
                Registration.episode_id.in_([e.id for e in capped]),
            )
            .group_by(Registration.episode_id)
        ).all()
    )
    return tuple((e.id, places_left(e.capacity, seated.get(e.id, 0)) or 0) for e in capped)


def _questions_of_each_episode() -> sa.Subquery:
    """Per episode: how many questions, their last change, their votes, and where the votes
    are (a vote moved from one question to another changes the sum of id × votes)."""
    return (
        sa.select(
            Question.episode_id,
            sa.func.count().label("count"),
            sa.func.max(Question.updated_at).label("changed"),
            sa.func.sum(Question.vote_count).label("votes"),
            sa.func.sum(Question.vote_count * Question.id).label("placed"),
        )
        .group_by(Question.episode_id)
        .subquery()
    )


def _seats_of_each_episode() -> sa.Subquery:
    """Per episode: how many seats are taken (the waiting list not counted)."""
    return (
        sa.select(Registration.episode_id, sa.func.count().label("seated"))
        .where(Registration.waiting_since.is_(None))
        .group_by(Registration.episode_id)
        .subquery()
    )


@cache
def _snapshot_statement() -> sa.Select:
    """What a snapshot reads, in one statement (made once: it has no parameter, and making
    its subqueries again was a third of its time)."""
    questions, seated = _questions_of_each_episode(), _seats_of_each_episode()
    return (
        sa.select(
            Series.id,
            Series.updated_at,
            Episode.id,
            Episode.slug,
            Episode.starts_at,
            Episode.duration_minutes,
            Episode.updated_at,
            Episode.replay_url != "",
            Episode.cancelled_at,
            questions.c["count", "changed", "votes", "placed"],
            Episode.capacity,
            seated.c.seated,
        )
        .join(Episode, Episode.series_id == Series.id)
        .outerjoin(questions, questions.c.episode_id == Episode.id)
        .outerjoin(seated, seated.c.episode_id == Episode.id)
        .order_by(Series.id, Episode.number)
    )


def fresh_snapshot(app: Flask, now: datetime) -> ProgrammeSnapshot | None:
    """The worker's snapshot if it is recent enough to trust (no app context needed)."""
    snapshot: ProgrammeSnapshot | None = app.extensions.get("programme_snapshot", {}).get(
        "snapshot"
    )
    max_age = timedelta(seconds=float(app.config["PROGRAMME_SNAPSHOT_SECONDS"]))
    if snapshot is not None and snapshot.taken_at <= now < snapshot.taken_at + max_age:
        return snapshot
    return None


def programme_snapshot(now: datetime | None = None) -> ProgrammeSnapshot | None:
    """The programme's version and times, re-read at most every PROGRAMME_SNAPSHOT_SECONDS.

    Changes made through this process (programme load, episode edits, questions, votes)
    forget the snapshot at once; other workers see them within the interval.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    store = app.extensions.setdefault("programme_snapshot", {})
    now = now or utcnow()
    snapshot = fresh_snapshot(app, now)
    if snapshot is not None:
        return snapshot
    rows = db.session.execute(_snapshot_statement()).all()
    if not rows:
        store.pop("snapshot", None)
        return None
    series_id = rows[0][0]
    rows = [row for row in rows if row[0] == series_id]
    # Seats count only where there is a capacity: elsewhere a registration changes nothing
    # the pages show, and the cached pages stay.
    seats = tuple(
        (row[2], places_left(row[13], row[14] or 0)) for row in rows if row[13] is not None
    )
    snapshot = ProgrammeSnapshot(
        taken_at=now,
        version=(
            series_id,
            rows[0][1],
            tuple((row[2], row[3], row[4], row[5], row[6], row[7], row[8]) for row in rows),
            seats,
        ),
        questions=tuple(tuple(row[9:13]) for row in rows),
        seats=seats,
        times=tuple((row[2], row[4], row[4] + timedelta(minutes=row[5])) for row in rows),
    )
    store["snapshot"] = snapshot
    return snapshot


def forget_programme_snapshot() -> None:
    """Call after changing the programme, so this worker's next page shows it."""
    current_app.extensions.get("programme_snapshot", {}).pop("snapshot", None)


# ---------------------------------------------------------------- changes seen at once
#: what the shared pages show: a transaction that writes these makes this worker re-read
SHARED_TABLES = frozenset({"series", "episode", "question", "vote", "registration"})
#: session.info key: this transaction wrote something the shared pages show
_SHARED_CHANGED = "shared_content_changed"


def _note_statement(state: sa.orm.ORMExecuteState) -> None:
    """An UPDATE, INSERT or DELETE statement on a shared table (votes, questions…)."""
    if state.is_update or state.is_insert or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in SHARED_TABLES:
            state.session.info[_SHARED_CHANGED] = True


def _note_flush(session: sa.orm.Session, _context: Any, _instances: Any) -> None:
    """An object of a shared table added, changed or deleted through the ORM."""
    for instance in (*session.new, *session.dirty, *session.deleted):
        if getattr(instance, "__tablename__", None) in SHARED_TABLES:
            session.info[_SHARED_CHANGED] = True
            return


def _after_commit(session: sa.orm.Session) -> None:
    if session.info.pop(_SHARED_CHANGED, False) and has_app_context():
        forget_programme_snapshot()


def _after_rollback(session: sa.orm.Session, _transaction: Any) -> None:
    session.info.pop(_SHARED_CHANGED, None)


def watch_shared_content() -> None:
    """This worker's shared pages follow its own writes at once (other workers' within
    PROGRAMME_SNAPSHOT_SECONDS): listen to the sessions' statements, flushes and commits."""
    session_class = db.session.session_factory.class_
    for event, listener in (
        ("do_orm_execute", _note_statement),
        ("before_flush", _note_flush),
        ("after_commit", _after_commit),
        ("after_soft_rollback", _after_rollback),
    ):
        if not sa.event.contains(session_class, event, listener):
            sa.event.listen(session_class, event, listener)
