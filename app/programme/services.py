"""Reading the programme (one query) and loading it from the content file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, abort, current_app, has_app_context, has_request_context, request
from sqlalchemy.orm import contains_eager

from ..clock import utcnow
from ..database import write
from ..extensions import db
from ..models import Episode, Question, Registration, Series
from ..seats import places_left
from ..timefmt import PARIS
from ..vocabulary import EpisodeState
from .rhythm import Rhythm, rhythm

CONTENT_FILE = Path(__file__).resolve().parent.parent / "content" / "programme.toml"


@dataclass
class ProgrammeView:
    """The series and its episodes in order, read together."""

    series: Series
    episodes: list[Episode]

    def episode(self, slug: str) -> Episode | None:
        """The episode with this slug, if any."""
        return next((e for e in self.episodes if e.slug == slug), None)

    def upcoming(self, now: datetime) -> list[Episode]:
        """Episodes that have not started yet."""
        return [e for e in self.episodes if e.state(now) == EpisodeState.UPCOMING]

    def by_number(self, numbers: set[int]) -> list[Episode]:
        """The episodes with these numbers, in order."""
        return [e for e in self.episodes if e.number in numbers]

    def rhythm(self) -> Rhythm:
        """How the cycle's dates read in its introduction, from the episodes as they are."""
        return rhythm(self.episodes)


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
    questions, seated = _questions_of_each_episode(), _seats_of_each_episode()
    rows = db.session.execute(
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
    ).all()
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


#: where a request keeps the programme it read (per request, never across requests)
_VIEW_KEY = "webinaires.programme_view"


def load_programme_view() -> ProgrammeView | None:
    """The (only) series with its episodes: one query, read once per request."""
    if not has_request_context():
        return _read_programme_view()
    if _VIEW_KEY not in request.environ:
        request.environ[_VIEW_KEY] = _read_programme_view()
    return request.environ[_VIEW_KEY]


def forget_programme_view() -> None:
    """The programme changed: this request and this worker read it again when next asked."""
    if has_request_context():
        request.environ.pop(_VIEW_KEY, None)
    forget_programme_snapshot()


def programme_view_or_404() -> ProgrammeView:
    """The programme, or a 404 when none is loaded."""
    view = load_programme_view()
    if view is None:
        abort(404)
    return view


def episode_or_404(slug: str) -> Episode:
    """The episode with this slug (the one way to resolve a slug), or a 404."""
    episode = programme_view_or_404().episode(slug)
    if episode is None:
        abort(404)
    return episode


def _read_programme_view() -> ProgrammeView | None:
    statement = (
        sa.select(Episode)
        .join(Episode.series)
        .options(contains_eager(Episode.series))
        .order_by(Series.id, Episode.number)
    )
    episodes = list(db.session.scalars(statement).unique())
    if not episodes:
        series = db.session.scalars(sa.select(Series).order_by(Series.id).limit(1)).first()
        return ProgrammeView(series, []) if series else None
    series = episodes[0].series
    return ProgrammeView(series, [e for e in episodes if e.series_id == series.id])


def followed_episodes(attendee_id: int) -> list[Episode]:
    """The episodes an attendee follows, in order."""
    return list(
        db.session.scalars(
            sa.select(Episode)
            .join(Registration, Registration.episode_id == Episode.id)
            .where(Registration.attendee_id == attendee_id)
            .order_by(Episode.number)
        )
    )


def read_content(path: Path = CONTENT_FILE) -> dict[str, Any]:
    """Parse the programme content file."""
    with path.open("rb") as handle:
        return tomllib.load(handle)


def next_thursday(today: date) -> date:
    """The first Thursday strictly after `today`."""
    days = (3 - today.weekday()) % 7 or 7
    return today + timedelta(days=days)


def planned_start(content: dict[str, Any], entry: dict[str, Any], shift: timedelta) -> datetime:
    """Start of an episode in UTC, from its date (shifted) and the default local time."""
    series = content["series"]
    local_time = time.fromisoformat(entry.get("start_time", series["default_start_time"]))
    local_day = date.fromisoformat(entry["date"]) + shift
    return datetime.combine(local_day, local_time, tzinfo=PARIS).astimezone(UTC)


def demo_shift(content: dict[str, Any], today: date) -> timedelta:
    """Whole weeks that move episode 1 to the next Thursday (cadence kept)."""
    first = min(date.fromisoformat(e["date"]) for e in content["episodes"])
    return next_thursday(today) - first


def load_programme(original_dates: bool = False, content: dict[str, Any] | None = None) -> Series:
    """Create or update the series and its episodes in place (one transaction); never
    duplicates."""
    with write():
        series = _load(content or read_content(), original_dates)
    forget_programme_view()
    return series


def _load(content: dict[str, Any], original_dates: bool) -> Series:
    """Write the content into the session (the caller owns the transaction)."""
    now = utcnow()
    shift = timedelta(0) if original_dates else demo_shift(content, now.astimezone(PARIS).date())
    meta = content["series"]
    series = db.session.scalars(sa.select(Series).filter_by(slug=meta["slug"])).first()
    if series is None:
        series = Series(slug=meta["slug"])
        db.session.add(series)
    _assign(
        series,
        title=meta["title"],
        questions=list(meta["questions"]),
        introduction=meta["introduction"],
        menu=list(meta["menu"]),
        hosting=meta["hosting"],
        audience=meta["audience"],
        organiser=meta["organiser"],
    )
    db.session.flush()

    roles = content.get("speakers", {})
    existing = {
        e.number: e for e in db.session.scalars(sa.select(Episode).filter_by(series_id=series.id))
    }
    for entry in content["episodes"]:
        episode = existing.get(entry["number"])
        if episode is None:
            episode = Episode(series_id=series.id, number=entry["number"], sequence=0)
            db.session.add(episode)
        starts_at = planned_start(content, entry, shift)
        speakers = [
            {
                "name": name,
                "role": roles.get(name, {}).get("role", ""),
                "host": name == meta["host"],
            }
            for name in entry["speakers"]
        ]
        changed = _assign(
            episode,
            slug=entry["slug"],
            title=entry["title"],
            teaser=entry["teaser"],
            cases=list(entry.get("cases", [])),
            speakers=speakers,
            duration_minutes=entry.get("duration_minutes", meta["default_duration_minutes"]),
        )
        if episode.starts_at != starts_at:
            if episode.starts_at is not None:
                episode.sequence = (episode.sequence or 0) + 1
            episode.starts_at = starts_at
            changed = True
        if changed or episode.updated_at is None:
            episode.updated_at = now
    return series


def _assign(obj: Any, **values: Any) -> bool:
    """Set attributes that differ; say whether anything changed."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed
