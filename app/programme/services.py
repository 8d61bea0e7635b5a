"""Reading the programme (one query, once per request) and loading it from the content
file; what the shared pages depend on is in snapshot.py."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import abort, has_request_context, request
from sqlalchemy.orm import contains_eager

from ..clock import utcnow
from ..database import write
from ..extensions import db
from ..models import Episode, Registration, Series
from ..timefmt import PARIS
from ..vocabulary import EpisodeState
from .rhythm import Rhythm, rhythm
from .snapshot import forget_programme_snapshot

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


@cache
def _programme_statement() -> sa.Select:
    """The episodes with their series, in order (made once: it has no parameter, and making
    it again cost each request a tenth of a millisecond)."""
    return (
        sa.select(Episode)
        .join(Episode.series)
        .options(contains_eager(Episode.series))
        .order_by(Series.id, Episode.number)
    )


def _read_programme_view() -> ProgrammeView | None:
    episodes = list(db.session.scalars(_programme_statement()).unique())
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
        english=dict(meta.get("en", {})),
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
                "role_en": roles.get(name, {}).get("en", {}).get("role", ""),
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
            english=dict(entry.get("en", {})),
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
