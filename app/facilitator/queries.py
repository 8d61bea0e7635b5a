"""Reads of the facilitator's space, each a fixed number of queries (GROUP BY, no loops)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from ..extensions import db
from ..models import (
    ORGANISATION_KIND_LABELS,
    Attendee,
    Episode,
    Facilitator,
    FacilitatorAction,
    Question,
    QuestionStatus,
    Registration,
    Series,
)
from ..timefmt import PARIS

PAGE_SIZE = 50
STATUSES = [s.value for s in QuestionStatus]
SORTS = {
    "votes": "les plus votées",
    "anciennes": "les plus anciennes",
    "recentes": "les plus récentes",
}


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` literally anywhere (%, _ and \\ escaped)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def episodes() -> list[Episode]:
    """Every episode of the (first) series, in order: one query."""
    return list(
        db.session.scalars(
            sa.select(Episode)
            .join(Episode.series)
            .options(contains_eager(Episode.series))
            .order_by(Series.id, Episode.number)
        )
    )


def episode_by_slug(slug: str) -> Episode | None:
    """One episode by its slug."""
    return db.session.scalars(sa.select(Episode).filter_by(slug=slug)).first()


# ---------------------------------------------------------------- dashboard
@dataclass
class EpisodeFigures:
    """The counts shown for one episode on the dashboard."""

    episode: Episode
    registrants: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
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


def dashboard() -> Dashboard:
    """Per-episode counts, sign-ups per day (Paris days), split by kind of organisation."""
    figures = {e.id: EpisodeFigures(e) for e in episodes()}
    for episode_id, count in db.session.execute(
        sa.select(Registration.episode_id, sa.func.count()).group_by(Registration.episode_id)
    ):
        if episode_id in figures:
            figures[episode_id].registrants = count
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
    by_kind = [(label, kinds.get(str(kind), 0)) for kind, label in ORGANISATION_KIND_LABELS.items()]
    unknown = sum(n for k, n in kinds.items() if k not in ORGANISATION_KIND_LABELS)
    if unknown:
        by_kind.append(("Non précisé", unknown))
    return Dashboard(
        figures=list(figures.values()),
        per_day=signups_per_day(),
        by_kind=by_kind,
        attendees=sum(kinds.values()),
    )


def _hour_bucket(column: sa.ColumnElement) -> sa.ColumnElement:
    """The UTC hour of a timestamp, in SQL (Paris is a whole number of hours from UTC)."""
    if db.session.get_bind().dialect.name == "postgresql":
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


# ---------------------------------------------------------------- review page
@dataclass
class ReviewFilters:
    """What the review page shows: status, sort, text search, page."""

    status: str = ""
    sort: str = "votes"
    q: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: dict) -> ReviewFilters:
        """Read and clamp the query string (unknown values fall back to defaults)."""
        status = args.get("statut", "")
        sort = args.get("tri", "votes")
        try:
            page = max(1, min(int(args.get("page", 1)), 100_000))
        except (TypeError, ValueError):
            page = 1
        return cls(
            status=status if status in STATUSES else "",
            sort=sort if sort in SORTS else "votes",
            q=(args.get("q") or "").strip()[:200],
            page=page,
        )

    def args(self, **overrides: object) -> dict[str, object]:
        """As query-string arguments, defaults left out."""
        values = {"statut": self.status, "tri": self.sort, "q": self.q, "page": self.page}
        values.update(overrides)
        defaults = {"statut": "", "tri": "votes", "q": "", "page": 1}
        return {k: v for k, v in values.items() if v != defaults[k]}


@dataclass
class ReviewPage:
    """One page of an episode's questions and the counts per status."""

    questions: list[Question]
    counts: dict[str, int]
    total: int
    pages: int
    filters: ReviewFilters
    max_id: int


def status_counts(episode_id: int) -> tuple[dict[str, int], int]:
    """Questions per status and the highest question id, in one query."""
    counts = dict.fromkeys(STATUSES, 0)
    max_id = 0
    for status, count, highest in db.session.execute(
        sa.select(Question.status, sa.func.count(), sa.func.max(Question.id))
        .where(Question.episode_id == episode_id)
        .group_by(Question.status)
    ):
        counts[status] = count
        max_id = max(max_id, highest or 0)
    return counts, max_id


def review_page(episode_id: int, filters: ReviewFilters) -> ReviewPage:
    """Three statements whatever the size: counts, the page (with authors), rarely a count."""
    counts, max_id = status_counts(episode_id)
    conditions = [Question.episode_id == episode_id]
    if filters.status:
        conditions.append(Question.status == filters.status)
    if filters.q:
        conditions.append(Question.text.ilike(like_pattern(filters.q), escape="\\"))
    # Without a search the total is already known from the counts: spare a scan.
    known_total = (
        None if filters.q else (counts[filters.status] if filters.status else sum(counts.values()))
    )
    pages = max(1, -(-(known_total or 0) // PAGE_SIZE))
    if known_total is not None:
        filters.page = min(filters.page, pages)
    order = {
        "votes": (Question.vote_count.desc(), Question.id.desc()),
        "anciennes": (Question.id.asc(),),
        "recentes": (Question.id.desc(),),
    }[filters.sort]
    # Deferred join: pick the page's ids on the question table alone (an index walk, or a
    # sort of bare ids), then fetch those rows with their authors. With a search, the
    # window count gives the total from the same scan.
    # (Only with a search: a window count stops an index walk from ending at the page.)
    total_column = sa.func.count().over() if filters.q else sa.null()
    window = (
        sa.select(Question.id, total_column.label("total"))
        .where(*conditions)
        .order_by(*order)
        .limit(PAGE_SIZE)
        .offset((filters.page - 1) * PAGE_SIZE)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Question, window.c.total)
        .join(window, window.c.id == Question.id)
        .join(Question.attendee)
        .options(contains_eager(Question.attendee))
        .order_by(*order)
    ).all()
    questions = [question for question, _ in rows]
    if known_total is not None:
        total = known_total
    elif rows:
        total = rows[0][1]
    else:  # a page past the end of the results: count them once
        total = db.session.scalar(sa.select(sa.func.count()).where(*conditions)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    return ReviewPage(questions, counts, total, pages, filters, max_id)


def new_questions_since(episode_id: int, after_id: int) -> int:
    """Questions that arrived after the page was loaded (ids only grow)."""
    return (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                Question.episode_id == episode_id, Question.id > after_id
            )
        )
        or 0
    )


def question_with_author(question_id: int, episode_id: int) -> Question | None:
    """One question of the episode with its author, in one query."""
    return db.session.scalars(
        sa.select(Question)
        .join(Question.attendee)
        .options(contains_eager(Question.attendee))
        .where(Question.id == question_id, Question.episode_id == episode_id)
    ).first()


def questions_for_export(episode_id: int) -> list[tuple[Question, Attendee]]:
    """Every question of an episode with its author, oldest first."""
    return [
        (question, attendee)
        for question, attendee in db.session.execute(
            sa.select(Question, Attendee)
            .join(Attendee, Attendee.id == Question.attendee_id)
            .where(Question.episode_id == episode_id)
            .order_by(Question.id)
        )
    ]


# ---------------------------------------------------------------- registrants
@dataclass
class RegistrantsPage:
    """One page of attendees, each with the numbers of the episodes they follow."""

    rows: list[tuple[Attendee, list[int]]]
    total: int
    page: int
    pages: int


def _registrant_conditions(q: str, episode_id: int | None) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if q:
        pattern = like_pattern(q)
        conditions.append(
            sa.or_(
                *(
                    column.ilike(pattern, escape="\\")
                    for column in (
                        Attendee.email,
                        Attendee.first_name,
                        Attendee.last_name,
                        Attendee.organisation,
                    )
                )
            )
        )
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


def registrants_for_export(episode_id: int | None) -> list[tuple[Attendee, list[int]]]:
    """Every attendee (of one episode, if given) with their episode numbers."""
    attendees = list(
        db.session.scalars(
            sa.select(Attendee)
            .where(*_registrant_conditions("", episode_id))
            .order_by(Attendee.last_name, Attendee.first_name, Attendee.id)
        )
    )
    numbers = _episode_numbers(None)
    return [(a, numbers.get(a.id, [])) for a in attendees]


def _episode_numbers(attendee_ids: list[int] | None) -> dict[int, list[int]]:
    """Episode numbers per attendee (all attendees when None), one query."""
    statement = (
        sa.select(Registration.attendee_id, Episode.number)
        .join(Episode, Episode.id == Registration.episode_id)
        .order_by(Episode.number)
    )
    if attendee_ids is not None:
        if not attendee_ids:
            return {}
        statement = statement.where(Registration.attendee_id.in_(attendee_ids))
    numbers: dict[int, list[int]] = {}
    for attendee_id, number in db.session.execute(statement):
        numbers.setdefault(attendee_id, []).append(number)
    return numbers


# ---------------------------------------------------------------- audit trail
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


def registrant_count(episode_id: int) -> int:
    """How many people follow an episode."""
    return (
        db.session.scalar(sa.select(sa.func.count()).where(Registration.episode_id == episode_id))
        or 0
    )
