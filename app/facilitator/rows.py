"""The rows of the review list, as the row template reads them, and their drawing. Rows fall
into a few kinds (a status, published or not, a note or none…): each kind is drawn once by
the template, with markers where a row's own values go (its id, text, author, addresses…),
and kept by the worker; every row of that kind is that drawing with its values put in.
Drawn one by one, the rows were half of the page's time."""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from types import SimpleNamespace

import sqlalchemy as sa
from flask import current_app, url_for
from jinja2 import Template
from jinja2.filters import do_truncate
from markupsafe import Markup, escape

from ..clock import utcnow
from ..language import current_language
from ..links import address_per_id
from ..models import Episode
from ..timefmt import timestamp_fr
from ..vocabulary import FateAction, QuestionStatus
from .review import RowDetails

#: the template of a review row (its macro `question_row`) and of a row's fate and themes
ROW_TEMPLATE = "facilitator/_question.html"
FATE_TEMPLATE = "facilitator/_fate.html"
#: a preview of the private note on the row's summary
NOTE_PREVIEW = 80
#: where a marker starts and ends (private-use characters: no template text has them, and
#: escaping leaves them as they are)
_OPEN, _CLOSE = "\ue000", "\ue001"


#: a row's own value: put into its kind's drawing (only whether it is empty makes the kind)
OWN = {"own": True}


@dataclass(slots=True)
class ReviewRow:
    """What one row of the review list shows. The template may test the fields that are not
    OWN (they make the row's kind), and only print the own ones or test if they are empty."""

    status: QuestionStatus
    published: bool
    show_name: bool
    plural_votes: bool
    #: "?" or "&": how the panel's address takes one more argument
    joiner: str
    #: a merge can still be undone (the episode has not started)
    undo_open: bool
    id: int = field(metadata=OWN)
    votes: int = field(metadata=OWN)
    revision: int = field(metadata=OWN)
    created_iso: str = field(metadata=OWN)
    created_text: str = field(metadata=OWN)
    text: str = field(metadata=OWN)
    author: str = field(metadata=OWN)
    organisation: str = field(metadata=OWN)
    #: the private note (saved), and its start on the row's summary
    note: str = field(metadata=OWN)
    note_preview: str = field(metadata=OWN)
    #: what became of it (a line), its themes (links): drawn apart, empty when none
    fate: Markup = field(metadata=OWN)
    themes: Markup = field(metadata=OWN)
    act_url: str = field(metadata=OWN)
    note_url: str = field(metadata=OWN)
    panel_url: str = field(metadata=OWN)
    #: a merged question's "undo the merge" (empty for the others)
    undo_url: str = field(metadata=OWN)
    #: the page the row's forms come back to, and the forms' CSRF token
    back: str = field(metadata=OWN)
    csrf: str = field(metadata=OWN)

    def kind(self) -> tuple[Hashable, ...]:
        """The fields the template may branch on, and which own values are empty."""
        return (*_kind_values(self), *(not value for value in _own_values(self)))

    def marked(self) -> ReviewRow:
        """This row with a marker for each own value that is not empty."""
        return dataclasses.replace(
            self, **{name: _marker(name) for name in _OWN if getattr(self, name)}
        )


_FIELDS = dataclasses.fields(ReviewRow)
_OWN = [f.name for f in _FIELDS if f.metadata.get("own")]
_kind_values = attrgetter(*[f.name for f in _FIELDS if not f.metadata.get("own")])
_own_values = attrgetter(*_OWN)


def _marker(name: str) -> str:
    return f"{_OPEN}{name}{_CLOSE}"


@dataclass(frozen=True)
class _Drawing:
    """A drawing cut at its markers: text, a value, text, a value… text."""

    #: the texts, with a free place between each two
    parts: list[str]
    #: for each free place, which of the values goes there
    places: list[int]

    def fill(self, values: list[str]) -> Markup:
        """The drawing with these values (escaped already) in their places."""
        parts = self.parts.copy()
        parts[1::2] = [values[n] for n in self.places]
        return Markup("".join(parts))  # noqa: S704 (the template's drawing, values escaped)


def _cut(drawing: str, names: list[str]) -> _Drawing:
    """A drawing with markers, cut at them: each marker is the place of its value among
    `names` (a marker of any other name is a mistake: KeyError)."""
    head, *rest = drawing.split(_OPEN)
    index = {name: n for n, name in enumerate(names)}
    parts, places = [head], []
    for piece in rest:
        name, _, tail = piece.partition(_CLOSE)
        places.append(index[name])
        parts += ("", tail)
    return _Drawing(parts, places)


#: the kinds drawn by each version of the row template (a new one when it is reloaded),
#: per language; a page holds about twenty kinds, a day of reviewing some dozens more: a cap
#: keeps the memory they take (about 10 KB each) small whatever happens
_DRAWINGS: weakref.WeakKeyDictionary[Template, dict[tuple[Hashable, ...], _Drawing]] = (
    weakref.WeakKeyDictionary()
)
MAX_KINDS = 256


class RowDrawer:
    """Draws rows with the row template of the moment: each kind once, then filled in."""

    def __init__(self) -> None:
        self.template = current_app.jinja_env.get_template(ROW_TEMPLATE)
        self.drawings = _DRAWINGS.setdefault(self.template, {})
        self.language = current_language()

    def __call__(self, row: ReviewRow) -> Markup:
        key = (self.language, *row.kind())
        drawing = self.drawings.get(key)
        if drawing is None:
            if len(self.drawings) >= MAX_KINDS:
                self.drawings.clear()
            drawn = self.template.module.question_row(row.marked())
            drawing = self.drawings[key] = _cut(str(drawn), _OWN)
        # Each value escaped as {{ }} would (Markup as it is).
        return drawing.fill([escape(value) for value in _own_values(row)])


@dataclass
class RowMaker:
    """Builds the rows of one page of one episode: what is the same for all of them
    (addresses, themes' links, the drawings of themes) is made once."""

    episode: Episode
    #: the page the rows are shown on (the forms come back to it)
    back: str | None
    #: the forms' CSRF token
    csrf: str
    act: Callable[[int], str] = field(init=False)
    note: Callable[[int], str] = field(init=False)
    panel: Callable[[int], str] = field(init=False)
    undo: Callable[[int], str] = field(init=False)
    theme_urls: dict[int, str] = field(default_factory=dict)
    theme_drawings: dict[tuple[int, ...], _Drawing] = field(default_factory=dict)

    def __post_init__(self) -> None:
        slug = self.episode.slug
        self.act = address_per_id("facilitator.act", "question_id", slug=slug)
        self.note = address_per_id("facilitator.note", "question_id", slug=slug)
        self.panel = address_per_id(
            "facilitator.fate_panel", "question_id", slug=slug, back=self.back
        )
        self.undo = address_per_id(
            "facilitator.decide_fate", "question_id", slug=slug, fate=FateAction.UNMERGE
        )
        self.macros = current_app.jinja_env.get_template(FATE_TEMPLATE).module
        self.undo_open = utcnow() < self.episode.starts_at

    def row(self, question: sa.Row, details: RowDetails) -> ReviewRow:
        """One row, from a row of review.LISTED."""
        qid = question.id
        status = question.status
        panel_url = self.panel(qid)
        saved_note = question.note or ""
        return ReviewRow(
            status=status,
            published=question.published,
            show_name=question.show_name,
            plural_votes=question.vote_count > 1,
            joiner="&" if "?" in panel_url else "?",
            undo_open=self.undo_open,
            id=qid,
            votes=question.vote_count,
            revision=question.revision,
            created_iso=question.created_at.isoformat(),
            created_text=timestamp_fr(question.created_at),
            text=question.text,
            author=f"{question.first_name} {question.last_name}",
            organisation=question.organisation,
            note=saved_note,
            note_preview=do_truncate(current_app.jinja_env, saved_note, NOTE_PREVIEW, end="…"),
            fate=self._fate(question, details),
            themes=self._themes(qid, details),
            act_url=self.act(qid),
            note_url=self.note(qid),
            panel_url=panel_url,
            undo_url=self.undo(qid) if status == QuestionStatus.MERGED else "",
            back=self.back or "",
            csrf=self.csrf,
        )

    def _fate(self, question: sa.Row, details: RowDetails) -> Markup:
        # Most rows are new or retained, untouched by merges: no macro call for them.
        if (
            question.status.direct
            and question.replay_seconds is None
            and not details.carried_from
            and not details.merged_here
        ):
            return Markup()
        return self.macros.fate_line(question, details, self.episode)

    def _themes(self, qid: int, details: RowDetails) -> Markup:
        """The theme links, drawn once a page for each set of themes; their names are
        filled in like the row's values (a name is the facilitators' text: never cut)."""
        if not details.themes:
            return Markup()
        key = tuple(theme.id for theme in details.themes)
        drawing = self.theme_drawings.get(key)
        if drawing is None:
            names = [f"name{n}" for n in range(len(details.themes))]
            for theme in details.themes:
                if theme.id not in self.theme_urls:
                    self.theme_urls[theme.id] = url_for(
                        "facilitator.review", slug=self.episode.slug, theme=theme.id
                    )
            marked = [
                SimpleNamespace(id=theme.id, name=_marker(name))
                for theme, name in zip(details.themes, names, strict=True)
            ]
            drawn = self.macros.theme_tags(
                SimpleNamespace(themes=marked), self.episode, _marker("id"), self.theme_urls
            )
            drawing = self.theme_drawings[key] = _cut(str(drawn), ["id", *names])
        return drawing.fill([str(qid), *(escape(theme.name) for theme in details.themes)])


def review_rows(
    questions: Iterable[sa.Row],
    details: dict[int, RowDetails],
    episode: Episode,
    back: str | None,
    csrf: str,
) -> Markup:
    """The rows of a page of questions, drawn."""
    maker, draw = RowMaker(episode, back, csrf), RowDrawer()
    return Markup("\n").join(draw(maker.row(q, details[q.id])) for q in questions)
