"""Themes: a short list per cycle, created in place while tagging a question."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa

from ..clock import utcnow
from ..database import insert_ignoring_conflicts, write
from ..extensions import db
from ..models import Episode, Question, QuestionTheme, Theme
from .acting import ActionRefused, question_of_episode, stamp
from .journal import record

#: a short list: beyond it, themes stop sorting anything
MAX_THEMES = 30
MAX_NAME_LENGTH = 60


def theme_key(name: str) -> str:
    """The name folded for comparison: case and spacing never make two themes."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", name)).strip().casefold()


@dataclass(frozen=True, slots=True)
class ThemeName:
    """What is shown of a theme: its id (its filter's, its checkbox's) and its name. Read as
    plain columns, and a page's tags with its questions (TAG_IDS): the ORM's objects, with
    the tags read apart, cost the review page 0.6 to 0.8 ms of its 9 to 18."""

    id: int
    name: str


def themes_of_series(series_id: int) -> list[ThemeName]:
    """The cycle's themes, by name."""
    return [
        ThemeName(theme_id, name)
        for theme_id, name in db.session.execute(
            sa.select(Theme.id, Theme.name)
            .where(Theme.series_id == series_id)
            .order_by(Theme.key, Theme.id)
        )
    ]


def set_themes(
    question_id: int,
    episode: Episode,
    theme_ids: list[int],
    new_name: str,
    facilitator_id: int,
) -> list[str]:
    """Tag the question with these themes of its cycle, and a new one if named (created
    once, whoever types it first); return the names now on it. LookupError if the
    question is not this episode's; ActionRefused when the list is full."""
    with write():
        question = question_of_episode(question_id, episode.id)
        wanted = set(
            db.session.scalars(
                sa.select(Theme.id).where(
                    Theme.series_id == episode.series_id, Theme.id.in_(theme_ids or [0])
                )
            )
        )
        name = re.sub(r"\s+", " ", unicodedata.normalize("NFC", new_name)).strip()
        if name:
            wanted.add(_theme_named(episode.series_id, name, facilitator_id))
        db.session.execute(sa.delete(QuestionTheme).where(QuestionTheme.question_id == question.id))
        insert_ignoring_conflicts(
            QuestionTheme,
            [{"question_id": question.id, "theme_id": theme_id} for theme_id in sorted(wanted)],
            ["question_id", "theme_id"],
        )
        stamp(question, facilitator_id)
        names = _names(wanted)
        record(facilitator_id, "question.themes", f"question:{question.id}", ", ".join(names))
    return names


def _theme_named(series_id: int, name: str, facilitator_id: int) -> int:
    """The id of the cycle's theme with this name, created if need be."""
    key = theme_key(name)
    found = _theme_id(series_id, key)
    if found is not None:
        return found
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(Theme).where(Theme.series_id == series_id)
    )
    if (count or 0) >= MAX_THEMES:
        raise ActionRefused(
            f"Le cycle a déjà {MAX_THEMES} thèmes : choisissez parmi eux plutôt qu’en créer un."
        )
    # Two facilitators creating the same theme at once get the same row.
    insert_ignoring_conflicts(
        Theme,
        [{"series_id": series_id, "name": name, "key": key, "created_at": utcnow()}],
        ["series_id", "key"],
    )
    theme_id = _theme_id(series_id, key)
    assert theme_id is not None
    record(facilitator_id, "theme.create", f"theme:{theme_id}", name)
    return theme_id


def _theme_id(series_id: int, key: str) -> int | None:
    return db.session.scalar(sa.select(Theme.id).filter_by(series_id=series_id, key=key))


def _names(theme_ids: set[int]) -> list[str]:
    if not theme_ids:
        return []
    return list(
        db.session.scalars(sa.select(Theme.name).where(Theme.id.in_(theme_ids)).order_by(Theme.key))
    )


#: a column of a select of questions: the ids of each one's themes ("3,7", None when none)
TAG_IDS = (
    sa.select(sa.func.aggregate_strings(sa.cast(QuestionTheme.theme_id, sa.String), ","))
    .where(QuestionTheme.question_id == Question.id)
    .correlate(Question)
    .scalar_subquery()
)


def tagged_with(themes: dict[int, ThemeName], tag_ids: str | None) -> list[ThemeName]:
    """The themes of a TAG_IDS value, in the order of `themes` (the cycle's, by name)."""
    if not tag_ids:
        return []
    ids = {int(theme_id) for theme_id in tag_ids.split(",")}
    return [theme for theme_id, theme in themes.items() if theme_id in ids]


def question_ids_with_theme(theme_id: int) -> sa.Select:
    """The questions tagged with a theme, to filter on."""
    return sa.select(QuestionTheme.question_id).where(QuestionTheme.theme_id == theme_id)
