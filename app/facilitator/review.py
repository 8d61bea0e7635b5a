"""Reviewing an episode's questions: the page (filters, themes, counts, pagination) and each
row's fate. The actions live in `acting` and `fates`.

Reads are a fixed number of queries whatever the size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.orm import aliased, contains_eager

from ..database import on_postgresql
from ..extensions import db
from ..models import Attendee, Episode, Question, QuestionTheme
from ..programme.services import load_programme_view
from ..search import TextSearch, search_words, text_search
from ..tally import status_counts
from ..vocabulary import QuestionStatus
from .themes import TAG_IDS, ThemeName, question_ids_with_theme, tagged_with, themes_of_series

_NO_PROGRAMME = SimpleNamespace(episodes=[])
#: made once: a new alias per request would cost its statement's compilation each time
_COPY, _ORIGIN, _MERGED = (aliased(Question, name=n) for n in ("copy", "origin", "merged"))

PAGE_SIZE = 50
#: what a review row shows of a question and of its author (rows.RowMaker, and the fate's
#: line): plain rows, not the ORM's objects, whose making was a tenth of the page's time
LISTED = (
    Question.id,
    Question.status,
    Question.published,
    Question.show_name,
    Question.vote_count,
    Question.revision,
    Question.created_at,
    Question.text,
    Question.note,
    Question.replay_seconds,
    Question.written_answer,
    Question.merged_into_id,
    Question.carried_to_id,
    Question.decline_reason,
    Question.decline_detail,
    # A row shows its author's name and organisation, nothing else of the attendee.
    Attendee.first_name,
    Attendee.last_name,
    Attendee.organisation,
)
SORTS = {
    "votes": "Votes (les plus votées d’abord)",
    "anciennes": "Les plus anciennes d’abord",
    "recentes": "Les plus récentes d’abord",
}


def _order(sort: str, columns: sa.ColumnCollection) -> tuple[sa.ColumnElement, ...]:
    """A sort of SORTS on these columns (`id` and `vote_count`: the question's, or those of
    the questions gathered for a page)."""
    if sort == "votes":
        return (columns.vote_count.desc(), columns.id.desc())
    return (columns.id.asc(),) if sort == "anciennes" else (columns.id.desc(),)


@dataclass
class ReviewFilters:
    """What the review page shows: status, theme, sort, text search, page."""

    status: QuestionStatus | None = None
    sort: str = "votes"
    q: str = ""
    page: int = 1
    #: a theme's id (an unknown one simply finds nothing)
    theme: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ReviewFilters:
        """Read and clamp the query string (unknown values fall back to defaults)."""
        status = args.get("statut", "")
        sort = args.get("tri", "votes")
        try:
            page = max(1, min(int(args.get("page", 1)), 100_000))
        except (TypeError, ValueError):
            page = 1
        theme = args.get("theme") or ""
        q = (args.get("q") or "").strip()[:200]
        return cls(
            status=QuestionStatus(status) if status in set(QuestionStatus) else None,
            sort=sort if sort in SORTS else "votes",
            # Nothing left to search once quotes and symbols are set aside: no filter.
            q=q if search_words(q) else "",
            page=page,
            theme=int(theme) if theme.isascii() and theme.isdigit() and len(theme) < 10 else None,
        )

    def args(self, **overrides: object) -> dict[str, object]:
        """As query-string arguments, defaults left out."""
        values = {
            "statut": self.status or "",
            "tri": self.sort,
            "q": self.q,
            "page": self.page,
            "theme": self.theme or "",
        }
        values.update(overrides)
        defaults = {"statut": "", "tri": "votes", "q": "", "page": 1, "theme": ""}
        return {k: v for k, v in values.items() if v != defaults[k]}


@dataclass
class RowDetails:
    """What a review row shows beside the question itself."""

    themes: list[ThemeName] = field(default_factory=list)
    #: questions merged into this one
    merged_here: int = 0
    #: carried over: the later episode it went to; carried in: the episode it came from
    carried_to: Episode | None = None
    carried_from: Episode | None = None


@dataclass
class ReviewPage:
    """One page of an episode's questions and the counts per status."""

    #: rows of LISTED (and more)
    questions: list[sa.Row]
    counts: dict[QuestionStatus, int]
    total: int
    pages: int
    filters: ReviewFilters
    max_id: int
    details: dict[int, RowDetails] = field(default_factory=dict)
    themes: list[ThemeName] = field(default_factory=list)
    #: a search that found more than `total`: it stopped counting there (SEARCH_COUNT_MOST)
    more: bool = False


def review_page(episode: Episode, filters: ReviewFilters, *, walk: bool = True) -> ReviewPage:
    """Three statements whatever the size: the counts (one row of the tally), the page
    (with authors, fates and their themes' ids, and a search's capped count), the cycle's
    themes; on a theme on SQLite, its count; past the end, a count and the last page.
    `walk`: a search on PostgreSQL may walk the votes index (`_walk_size`); when the walk
    falls short, the page again, sorting every match."""
    episode_id = episode.id
    counts, max_id = status_counts(episode_id)
    conditions = [Question.episode_id == episode_id]
    if filters.status:
        conditions.append(Question.status == filters.status)
    search = text_search(filters.q, episode_id) if filters.q else None
    if search:
        conditions.append(search.condition)
    tagged = list(conditions)
    postgresql = on_postgresql()
    if filters.theme and search and postgresql:
        # The theme's questions looked up one by one, each one's stored words checked (a
        # theme holds few of an episode's questions): joined to the matches instead, a
        # common word read all 8,750 of them to keep the theme's 1,000 (4.9 ms against 2.8).
        theme_ids = question_ids_with_theme(filters.theme).scalar_subquery()
        conditions.append(Question.id == sa.any_(sa.func.array(theme_ids)))
    elif filters.theme:
        conditions.append(Question.id.in_(question_ids_with_theme(filters.theme)))
    # On PostgreSQL a search or a theme is counted in the scan that finds the page: its
    # questions are gathered once (a materialized CTE), then counted and sorted. Counted
    # apart, a search read its matches twice (at 10,000 questions, 8,750 of them: 6.1 ms
    # for the statement against 5.0), and a theme its tags (3.2 ms against 2.4). A search
    # by votes walks instead when it can (`walked`), and is counted apart, from the index.
    one_scan = bool(search or filters.theme) and postgresql
    walked = _walk_size(search, filters, counts) if one_scan and walk else 0
    # A search counts its matches up to SEARCH_COUNT_MOST, or to the end of the page asked.
    count_most = max(SEARCH_COUNT_MOST, filters.page * PAGE_SIZE) + 1 if search else None
    # Without a search the total is already known from the counts (or, on a theme, from
    # its tags): spare a scan, and let the page's index walk stop at the page.
    if search or one_scan:
        known_total = None
    elif filters.theme:
        known_total = _count_with_theme(filters.theme, tagged)
    else:
        known_total = counts[filters.status] if filters.status else sum(counts.values())
    if known_total is not None:
        filters.page = min(filters.page, _pages(known_total))
    # Deferred join: pick the page's ids on the question table alone (an index walk, or a
    # sort of bare ids), then fetch those rows with their authors. A search is counted by
    # an uncorrelated subquery (`_counted`), on SQLite from its index alone where it can (a
    # window count would sort every match, and stop the index walk from ending at the page).
    if walked:
        # The episode's questions in the page's order, the first `walked` of them from the
        # votes index alone; the page is the first of those whose stored words match, each
        # looked up by its id (LATERAL, LIMIT: the planner may not turn the lookups into a
        # scan of the whole table, as it did on 2,000 questions).
        ranked = (
            sa.select(Question.id, Question.vote_count)
            .where(Question.episode_id == episode_id)
            .order_by(*_order("votes", Question.__table__.c))
            .limit(walked)
            .subquery("ranked")
        )
        checked = [c for c in conditions if c is not search.condition] + [search.row_check]
        found = sa.select(Question.id).where(Question.id == ranked.c.id, *checked).limit(1)
        candidates, where = ranked.c, ()
        walk_from = ranked.join(found.lateral("found"), sa.true())
        total_column = _counted(sa.select(Question.id).where(*conditions), count_most)
    elif one_scan:
        matches = (
            sa.select(Question.id, Question.vote_count)
            .where(*conditions)
            .cte("matches")
            .prefix_with("MATERIALIZED")
        )
        candidates, where = matches.c, ()
        total_column = _counted(sa.select(matches.c.id), count_most)
    elif search:
        candidates, where = Question.__table__.c, conditions
        total_column = _counted(_search_matches(search, filters, tagged, conditions), count_most)
    else:
        candidates, where, total_column = Question.__table__.c, conditions, sa.null()
    window = sa.select(candidates.id)
    if walked:
        window = window.select_from(walk_from)
    window = (
        window.where(*where)
        .order_by(*_order(filters.sort, candidates))
        .limit(PAGE_SIZE)
        .offset((filters.page - 1) * PAGE_SIZE)
        .subquery()
    )
    rows = db.session.execute(
        _with_fate_links(sa.select(*LISTED, total_column.label("total")))
        .join(window, window.c.id == Question.id)
        .join(Question.attendee)
        .order_by(*_order(filters.sort, Question.__table__.c))
    ).all()
    more = False
    if known_total is not None:
        total = known_total
    elif rows:
        total = rows[0].total
        if walked and len(rows) < min(PAGE_SIZE, total - (filters.page - 1) * PAGE_SIZE):
            # Too few of the walked questions matched: sort every match instead.
            return review_page(episode, filters, walk=False)
    elif walked:  # none of the walked questions matched (or a page past the end)
        return review_page(episode, filters, walk=False)
    else:  # a page past the end of the results: count them, and show the last page
        total = db.session.scalar(sa.select(sa.func.count()).where(*conditions)) or 0
        if filters.page > _pages(total):
            filters.page = _pages(total)
            return review_page(episode, filters)
    if count_most is not None and total >= count_most:
        more, total = True, count_most - 1
    # Each row: LISTED, the total, then the fate's links and the themes' ids.
    questions = list(rows)
    themes = themes_of_series(episode.series_id)
    details = _details([(row.id, *row[len(LISTED) + 1 :]) for row in rows], themes)
    return ReviewPage(
        questions,
        counts,
        total,
        filters.page + 1 if more else _pages(total),
        filters,
        max_id,
        details=details,
        themes=themes,
        more=more,
    )


#: a search on PostgreSQL, sorted by votes, walks this many of the episode's questions per
#: question its page shows: found at once when a third of those it walks match (a common
#: word: reading and sorting every match would cost far more). Past WALK_MOST, or with a
#: theme (a few of the episode's questions), it sorts the matches, as a rare word does
#: after a walk that fell short.
WALK_SPREAD = 3
WALK_MOST = 600


def _walk_size(
    search: TextSearch | None, filters: ReviewFilters, counts: dict[QuestionStatus, int]
) -> int:
    """How many of the episode's questions, by votes, a search walks to find its page on
    PostgreSQL (0: it sorts its matches instead). A status filter walks as many more as
    its share of the episode is small (the tally's counts)."""
    if search is None or search.row_check is None or filters.theme or filters.sort != "votes":
        return 0
    size = WALK_SPREAD * filters.page * PAGE_SIZE
    if filters.status:
        of_status, everyone = counts[filters.status], sum(counts.values())
        if not of_status:
            return 0
        size = -(-size * everyone // of_status)
    return size if size <= WALK_MOST else 0


#: a search counts its matches up to this many (further on, up to the end of the page
#: asked); past it the list says "plus de 1 000". Counting 8,750 matches read every one of
#: them (2 to 4 ms on PostgreSQL, whatever the page); a list that long is not read, the
#: search is narrowed. Counts without a search are exact (the tally, a theme's tags).
SEARCH_COUNT_MOST = 1000


def _counted(rows: sa.Select, most: int | None) -> sa.ScalarSelect[int]:
    """How many rows `rows` selects, up to `most` (None: all), as an uncorrelated subquery
    of the page's statement."""
    if most is not None:
        rows = rows.limit(most)
    return sa.select(sa.func.count()).select_from(rows.subquery()).correlate(None).scalar_subquery()


def _search_matches(
    search: TextSearch,
    filters: ReviewFilters,
    tagged: list[sa.ColumnElement[bool]],
    conditions: list[sa.ColumnElement[bool]],
) -> sa.Select:
    """The questions a search on SQLite finds, to count them: from the index alone unless a
    status filters, else from the theme's tags on a theme, else from the episode's
    questions."""
    if search.index_matches is not None and not filters.status:
        if filters.theme:
            return search.index_matches_among(question_ids_with_theme(filters.theme))
        return search.index_matches
    if filters.theme:
        return _tagged(filters.theme, tagged)
    return sa.select(Question.id).where(*conditions)


def _tagged(theme_id: int, conditions: list[sa.ColumnElement[bool]]) -> sa.Select:
    """The questions meeting `conditions` tagged with the theme: its tags walked, each
    question looked up (a theme holds few of an episode's questions)."""
    meets = sa.select(Question.id).where(Question.id == QuestionTheme.question_id, *conditions)
    return sa.select(QuestionTheme.question_id).where(
        QuestionTheme.theme_id == theme_id, meets.correlate(QuestionTheme).exists()
    )


def _count_with_theme(theme_id: int, conditions: list[sa.ColumnElement[bool]]) -> int:
    """The questions meeting `conditions` tagged with the theme."""
    return db.session.scalar(sa.select(_counted(_tagged(theme_id, conditions), None))) or 0


def _with_fate_links(statement: sa.Select) -> sa.Select:
    """Add to a select of questions: how many are merged into each, the episode each was
    carried over to, the one it was carried from, and its themes' ids (TAG_IDS)."""
    copy, origin, merged = _COPY, _ORIGIN, _MERGED
    merged_here = (
        sa.select(sa.func.count(merged.id))
        .where(merged.merged_into_id == Question.id)
        .correlate(Question)
        .scalar_subquery()
    )
    return (
        statement.add_columns(merged_here, copy.episode_id, origin.episode_id, TAG_IDS)
        .outerjoin(copy, copy.id == Question.carried_to_id)
        .outerjoin(origin, origin.carried_to_id == Question.id)
    )


def _details(
    links: list[tuple[int, int | None, int | None, int | None, str | None]],
    themes: list[ThemeName],
) -> dict[int, RowDetails]:
    """Row details from (question id, merged here, carried to, carried from, theme ids) and
    the cycle's themes."""
    episodes = {e.id: e for e in (load_programme_view() or _NO_PROGRAMME).episodes}
    by_id = {theme.id: theme for theme in themes}
    return {
        question_id: RowDetails(
            themes=tagged_with(by_id, tag_ids),
            merged_here=merged_here or 0,
            carried_to=episodes.get(to_episode),
            carried_from=episodes.get(from_episode),
        )
        for question_id, merged_here, to_episode, from_episode, tag_ids in links
    }


def row_details(question_ids: list[int], series_id: int) -> dict[int, RowDetails]:
    """Themes, merges and carry-overs of these questions (one row after an action): two
    queries."""
    if not question_ids:
        return {}
    links = db.session.execute(
        _with_fate_links(sa.select(Question.id)).where(Question.id.in_(question_ids))
    ).all()
    return _details([tuple(row) for row in links], themes_of_series(series_id))


def _pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


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


def listed_question(question_id: int, episode_id: int) -> sa.Row | None:
    """One question of the episode as the review list shows it (LISTED), in one query."""
    return db.session.execute(
        sa.select(*LISTED)
        .join(Question.attendee)
        .where(Question.id == question_id, Question.episode_id == episode_id)
    ).first()


def question_with_author(question_id: int, episode_id: int) -> Question | None:
    """One question of the episode with its author, in one query."""
    return db.session.scalars(
        sa.select(Question)
        .join(Question.attendee)
        .options(contains_eager(Question.attendee))
        .where(Question.id == question_id, Question.episode_id == episode_id)
    ).first()
