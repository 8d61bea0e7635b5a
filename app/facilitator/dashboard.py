"""The dashboard's figures, each a fixed number of queries (GROUP BY, no loops)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ..clock import utcnow
from ..database import on_postgresql
from ..extensions import db
from ..models import Attendee, Episode, Question, Registration
from ..programme.services import load_programme_view
from ..timefmt import PARIS
from ..vocabulary import OrganisationKind, QuestionStatus
from .mail_report import recent_failures


@dataclass
class EpisodeFigures:
    """The counts shown for one episode on the dashboard."""

    episode: Episode
    registrants: int = 0
    #: of whom on the waiting list
    waiting: int = 0
    by_status: dict[QuestionStatus, int] = field(
        default_factory=lambda: dict.fromkeys(QuestionStatus, 0)
    )
    votes: int = 0

    @property
    def questions(self) -> int:
        """All questions, whatever their status."""
        return sum(self.by_status.values())


@dataclass
class Dashboard:
    """Everything the dashboard shows."""

    figures: list[EpisodeFigures]
    per_day: list[tuple[date, int]]
    by_kind: list[tuple[str, int]]
    attendees: int
    #: messages that failed lately (a banner links to what the mail did)
    failed_mail: int = 0
    #: episodes whose last reminder is less than an hour away and that have no join link
    missing_links: list[Episode] = field(default_factory=list)


def dashboard() -> Dashboard:
    """Per-episode counts, sign-ups per day (Paris days), split by kind of organisation."""
    view = load_programme_view()
    figures = {e.id: EpisodeFigures(e) for e in (view.episodes if view else [])}
    for episode_id, count, waiting in db.session.execute(
        sa.select(
            Registration.episode_id, sa.func.count(), sa.func.count(Registration.waiting_since)
        ).group_by(Registration.episode_id)
    ):
        if episode_id in figures:
            figures[episode_id].registrants = count
            figures[episode_id].waiting = waiting
    for episode_id, status, count, votes in db.session.execute(
        sa.select(
            Question.episode_id,
            Question.status,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(Question.vote_count), 0),
        ).group_by(Question.episode_id, Question.status)
    ):
        if episode_id in figures:
            figures[episode_id].by_status[status] = count
            figures[episode_id].votes += int(votes)
    kinds = dict(
        db.session.execute(
            sa.select(Attendee.organisation_kind, sa.func.count()).group_by(
                Attendee.organisation_kind
            )
        ).all()
    )
    by_kind = [(kind.label, kinds.get(kind.value, 0)) for kind in OrganisationKind]
    unknown = sum(n for k, n in kinds.items() if k not in set(OrganisationKind))
    if unknown:
        by_kind.append(("Non précisé", unknown))
    return Dashboard(
        figures=list(figures.values()),
        per_day=signups_per_day(),
        by_kind=by_kind,
        attendees=sum(kinds.values()),
        failed_mail=recent_failures(),
        missing_links=missing_join_links(view.episodes if view else []),
    )


def missing_join_links(episodes: list[Episode]) -> list[Episode]:
    """Upcoming episodes without a join link whose last reminder leaves within the hour
    (with the default offsets, from two hours before the start): time to set it."""
    now = utcnow()
    last_reminder = min(current_app.config["REMINDER_OFFSETS"], default=0)
    warn_from = timedelta(minutes=last_reminder + 60)
    return [
        episode
        for episode in episodes
        if not episode.join_url
        and not episode.cancelled
        and now < episode.starts_at <= now + warn_from
    ]


def _hour_bucket(column: sa.ColumnElement) -> sa.ColumnElement:
    """The UTC hour of a timestamp, in SQL (Paris is a whole number of hours from UTC)."""
    if on_postgresql():
        return sa.func.date_trunc("hour", column)
    return sa.func.strftime("%Y-%m-%d %H:00:00", column)


def signups_per_day() -> list[tuple[date, int]]:
    """New attendees per Paris day, every day from the first to the last (zeros included)."""
    bucket = _hour_bucket(Attendee.created_at)
    per_day: Counter[date] = Counter()
    for hour, count in db.session.execute(sa.select(bucket, sa.func.count()).group_by(bucket)):
        if isinstance(hour, str):
            hour = datetime.fromisoformat(hour)
        per_day[hour.replace(tzinfo=UTC).astimezone(PARIS).date()] += count
    if not per_day:
        return []
    first, last = min(per_day), max(per_day)
    days = (last - first).days + 1
    return [(first + timedelta(days=n), per_day[first + timedelta(days=n)]) for n in range(days)]
