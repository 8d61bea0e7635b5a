"""What visitors see of questions: the published board of an episode, one's own questions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased, contains_eager, selectinload

from ..clock import utcnow
from ..extensions import db
from ..identity import Visitor
from ..models import Attendee, Episode, Question, Vote
from ..programme.services import load_programme_view
from ..vocabulary import QuestionStatus

#: the two orders of the published list, by their value in the URL (?tri=)
SORTS = {"votes": _l("Les plus soutenues"), "recentes": _l("Les plus récentes")}
DEFAULT_SORT = "votes"
#: published questions shown at first, and added by each "voir les suivantes"
SHOWN_STEP = 50
#: the longest list a page shows (20 steps)
MOST_SHOWN = 1_000
#: made once (a new alias per call would cost a compilation each time)
_KEPT, _COPY = aliased(Question, name="kept"), aliased(Question, name="copy")


def votes_open(episode: Episode, now: datetime) -> bool:
    """Votes help rank questions before and during the live, not after it."""
    return now < episode.ends_at


def own_questions(visitor: Visitor | None, episode: Episode) -> list[Question]:
    """The visitor's questions for an episode that this browser may see, oldest first."""
    if visitor is None:
        return []
    statement = (
        sa.select(Question)
        .where(Question.episode_id == episode.id, Question.attendee_id == visitor.attendee.id)
        .order_by(Question.created_at, Question.id)
    )
    if not visitor.full:
        # A browser that only registered sees what it sent, never the rest of the person's.
        if not visitor.sent_here:
            return []
        statement = statement.where(Question.id.in_(visitor.sent_here))
    return list(db.session.scalars(statement))


@dataclass
class EpisodeQuestions:
    """An attendee's questions for one episode, for the personal space."""

    episode: Episode
    questions: list[Question]
    open: bool


def questions_for_attendee(attendee_id: int, now: datetime | None = None) -> list[EpisodeQuestions]:
    """All of an attendee's questions grouped by episode in programme order (one query)."""
    now = now or utcnow()
    rows = db.session.scalars(
        sa.select(Question)
        .join(Question.episode)
        .options(
            contains_eager(Question.episode),
            # What became of each: the kept question, the later episode, the earlier one.
            selectinload(Question.merged_into),
            selectinload(Question.carried_to).joinedload(Question.episode),
            selectinload(Question.carried_from).joinedload(Question.episode),
        )
        .where(Question.attendee_id == attendee_id)
        .order_by(Episode.number, Question.created_at, Question.id)
    ).all()
    groups: list[EpisodeQuestions] = []
    for question in rows:
        if not groups or groups[-1].episode.id != question.episode_id:
            groups.append(
                EpisodeQuestions(question.episode, [], question.episode.accepts_questions(now))
            )
        groups[-1].questions.append(question)
    return groups


@dataclass
class PublishedQuestion:
    """A published question as the public list shows it."""

    id: int
    text: str
    #: None when the author stays anonymous
    author: str | None
    vote_count: int
    created_at: datetime
    answered: bool
    #: the visitor wrote it (no vote button then)
    own: bool
    #: the visitor supports it
    voted: bool
    status: QuestionStatus = QuestionStatus.NEW
    written_answer: str = ""
    replay_seconds: int | None = None
    #: merged: the question kept in its place (its id, and its text when it is public)
    merged_into_id: int | None = None
    merged_into_text: str | None = None
    #: carried over: the later episode and the question's id there (when public there)
    carried_to: Episode | None = None
    carried_to_id: int | None = None

    @property
    def open_to_votes(self) -> bool:
        """Still a question of its own (not merged nor carried over)."""
        return self.status.open_to_votes


@dataclass
class QuestionBoard:
    """The published questions of an episode, for one visitor, in one order."""

    episode: Episode
    sort: str
    questions: list[PublishedQuestion] = field(default_factory=list)
    #: the visitor may vote (full rights, votes still open)
    can_vote: bool = False
    votes_open: bool = True
    #: "anonymous", "limited" or "full"
    visitor_kind: str = "anonymous"
    #: how many are published in all (the list shows the first of them)
    total: int = 0

    @property
    def more(self) -> int:
        """How many the next "voir les suivantes" adds (0: all are shown)."""
        return max(0, min(SHOWN_STEP, min(self.total, MOST_SHOWN) - len(self.questions)))

    @property
    def first_added(self) -> int | None:
        """The position of the first question the last "voir les suivantes" added (the
        list grows by whole steps, the last one by what is left)."""
        shown = len(self.questions)
        if shown <= SHOWN_STEP:
            return None
        return shown - (shown % SHOWN_STEP or SHOWN_STEP)


def shown_count(asked: int | None) -> int:
    """How many questions a page shows: at least one step, at most MOST_SHOWN (a page of
    thousands of questions serves nobody, and costs every worker its memory)."""
    return max(SHOWN_STEP, min(asked or 0, MOST_SHOWN))


def question_board(
    episode: Episode,
    visitor: Visitor | None,
    sort: str | None,
    now: datetime,
    shown: int | None = None,
) -> QuestionBoard:
    """The first `shown` published questions (see shown_count) with counts, names when
    shown, and the visitor's votes; and how many there are in all (one query)."""
    sort = sort if sort in SORTS else DEFAULT_SORT
    # Whose votes to mark: only a browser with full rights learns what the attendee supports.
    attendee_id = visitor.attendee.id if visitor and visitor.full else None
    voted = (
        sa.exists()
        .where(Vote.question_id == Question.id, Vote.attendee_id == attendee_id)
        .correlate(Question)
        if attendee_id is not None
        else sa.false()
    )
    # Questions merged or carried elsewhere come last, as pointers to where they went.
    pointer = Question.status.in_([QuestionStatus.MERGED, QuestionStatus.CARRIED_OVER])
    order = (
        (pointer, Question.vote_count.desc(), Question.created_at, Question.id)
        if sort == "votes"
        else (pointer, Question.created_at.desc(), Question.id.desc())
    )
    kept, copy = _KEPT, _COPY
    rows = db.session.execute(
        sa.select(
            Question.id,
            Question.text,
            Question.show_name,
            Question.vote_count,
            Question.created_at,
            Question.status,
            Question.attendee_id,
            Question.written_answer,
            Question.replay_seconds,
            Question.merged_into_id,
            sa.case((kept.published.is_(True), kept.text)).label("kept_text"),
            copy.episode_id.label("copy_episode_id"),
            sa.case((copy.published.is_(True), copy.id)).label("copy_id"),
            Attendee.first_name,
            Attendee.last_name,
            voted.label("voted"),
            sa.func.count().over().label("total"),
        )
        .join(Attendee, Attendee.id == Question.attendee_id)
        .outerjoin(kept, kept.id == Question.merged_into_id)
        .outerjoin(copy, copy.id == Question.carried_to_id)
        .where(
            Question.episode_id == episode.id,
            Question.published.is_(True),
            # Declined questions leave the page (the facilitator's decline unpublishes them;
            # this holds whatever the row says).
            Question.status != QuestionStatus.DISMISSED,
        )
        .order_by(*order)
        .limit(shown_count(shown))
    ).all()
    view = load_programme_view()
    episodes = {e.id: e for e in view.episodes} if view else {}
    is_open = votes_open(episode, now)
    board = QuestionBoard(
        episode=episode,
        sort=sort,
        votes_open=is_open,
        can_vote=bool(visitor and visitor.full and is_open),
        visitor_kind="anonymous" if visitor is None else visitor.rights,
        total=rows[0].total if rows else 0,
    )
    for row in rows:
        board.questions.append(
            PublishedQuestion(
                id=row.id,
                text=row.text,
                author=f"{row.first_name} {row.last_name}" if row.show_name else None,
                vote_count=row.vote_count,
                created_at=row.created_at,
                answered=row.status.answered,
                own=_own(visitor, row.id, row.attendee_id),
                voted=bool(row.voted),
                status=row.status,
                written_answer=row.written_answer,
                replay_seconds=row.replay_seconds,
                merged_into_id=row.merged_into_id,
                merged_into_text=row.kept_text,
                carried_to=episodes.get(row.copy_episode_id),
                carried_to_id=row.copy_id,
            )
        )
    return board


def _own(visitor: Visitor | None, question_id: int, author_id: int) -> bool:
    """The visitor's own question: any of theirs with full rights; with limited rights only
    one sent from this browser (a typed address must not unmask someone's questions)."""
    return visitor is not None and visitor.may_see(question_id, author_id)


def visible_question(visitor: Visitor | None, question_id: int) -> Question | None:
    """The question if this browser may see and change it (full: any of theirs; limited: sent here)."""
    question = db.session.get(Question, question_id)
    if (
        question is None
        or visitor is None
        or not visitor.may_see(question.id, question.attendee_id)
    ):
        return None
    return question
