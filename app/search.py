"""Searching the text of questions through an index, on either engine (issue 12).

SQLite: an external-content FTS5 table `question_fts` (tokenizer unicode61 with diacritics
removed; the episode a column of it) that triggers keep in step with `question`.
PostgreSQL: the text's words (`tsvector` under the configuration `question_search`: unaccent,
then simple: lowercase, no stemming, so that a word typed halfway still finds its end), kept
by the database in a generated column `text_words` that the models do not describe, with a
GIN index on it. The migrations `a3c9e5f1b7d2` and `f7b3d9e1c5a2` create them; `create_all`
gets the same objects from `with_table` below.

A search is every word the facilitator typed, each a prefix, all of them, in any order.
Both engines see the same words: letters and digits, everything else separates
(PostgreSQL is given the text with `GLUE` turned into spaces, so that it does not keep
`www.example.org` or `porte-à-porte` as one word where SQLite sees three). Words are
matched without their positions: PostgreSQL's index then answers alone, where a phrase
would have it read every candidate's text again.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .database import on_postgresql, with_table
from .models import Question

#: letters and digits; the rest (quotes, operators, emoji, punctuation) separates words
_WORD = re.compile(r"[^\W_]+")
#: beyond this, what the facilitator typed is no longer a search but a paste
MAX_WORDS = 12
#: French ligatures: SQLite's tokenizer keeps "œ" where PostgreSQL's unaccent writes "oe"
_LIGATURES = (("œ", "oe"), ("æ", "ae"))

#: what PostgreSQL's parser keeps inside a word (hosts, e-mail addresses, URLs, paths,
#: hyphenated words, signed numbers, tags): turned into spaces before it parses, as SQLite
#: separates there (every other punctuation mark already separates on both)
GLUE = ".-/+~@:<>&"
#: a question's words, without their positions (a search does not look at them)
TSVECTOR = (
    "strip(to_tsvector('question_search'::regconfig,"
    f" translate(text, '{GLUE}', '{' ' * len(GLUE)}')))"
)

_FTS = sa.table("question_fts", sa.column("rowid", sa.Integer))
_MATCH = sa.literal_column("question_fts").op("MATCH")
#: PostgreSQL: the column that holds TSVECTOR, computed by the database on every write
_WORDS = sa.literal_column("question.text_words")
#: the same words checked on each row read, for a walk in another index's order (a row's
#: stored words cost a microsecond to check, where working them out of its text costs
#: forty). The column is never null: `coalesce` is there so that the planner cannot use
#: the GIN index for this condition, and read every match instead of the rows walked.
_WORDS_READ = sa.func.coalesce(_WORDS, sa.literal_column("''::tsvector"))


@dataclass
class TextSearch:
    """A search of an episode's questions: the condition on `Question`; on SQLite the
    episode's matches read from the index alone (to count them when nothing else filters);
    on PostgreSQL the condition as checked on each row read, for a walk in another order."""

    condition: sa.ColumnElement[bool]
    index_matches: sa.Select[Any] | None = None
    row_check: sa.ColumnElement[bool] | None = None

    def index_matches_among(self, ids: sa.Select[Any]) -> sa.Select[Any] | None:
        """The index's matches, only those of the questions `ids` selects (a theme's)."""
        if self.index_matches is None:
            return None
        # `+ 0`: a bare rowid would be handed to FTS5, which would then run the search once
        # per id (0.4 s for a theme of 1,000 questions) instead of checking its matches.
        return self.index_matches.where((_FTS.c.rowid + 0).in_(ids))


def search_words(text: str) -> list[str]:
    """The words of a search, lowercase, each once, in the order typed (MAX_WORDS)."""
    words = _WORD.findall(unicodedata.normalize("NFC", text).lower())
    return list(dict.fromkeys(words))[:MAX_WORDS]


def text_search(text: str, episode_id: int) -> TextSearch | None:
    """The episode's questions whose text holds every word typed; None when nothing is
    left to search once quotes, operators and symbols are set aside."""
    words = search_words(text)
    if not words:
        return None
    if on_postgresql():
        query = sa.func.to_tsquery(
            sa.literal_column("'question_search'::regconfig"), tsquery(words)
        )
        return TextSearch(_WORDS.op("@@")(query), row_check=_WORDS_READ.op("@@")(query))
    # The episode is a column of the index: the index alone finds this episode's matches.
    match = _MATCH(f'episode_id : "{int(episode_id)}" AND {fts5_query(words)}')
    return TextSearch(
        Question.id.in_(sa.select(_FTS.c.rowid).where(match)),
        index_matches=sa.select(_FTS.c.rowid).where(match),
    )


def fts5_query(words: list[str]) -> str:
    """An FTS5 query on the text column: each word quoted (no operator survives) and a
    prefix, all of them required; "oe" and "œ" alike."""
    terms = []
    for word in words:
        quoted = [f'"{spelling.replace(chr(34), chr(34) * 2)}"*' for spelling in _spellings(word)]
        terms.append(quoted[0] if len(quoted) == 1 else f"({' OR '.join(quoted)})")
    return f"text : ({' AND '.join(terms)})"


def _spellings(word: str) -> list[str]:
    """The word as typed, with its ligatures written out, and written in."""
    apart, joined = word, word
    for ligature, letters in _LIGATURES:
        apart = apart.replace(ligature, letters)
        joined = joined.replace(letters, ligature)
    return list(dict.fromkeys([word, apart, joined]))


def tsquery(words: list[str]) -> str:
    """A PostgreSQL tsquery: each word a quoted lexeme and a prefix, all required (&)."""
    return " & ".join("'" + w.replace("\\", "\\\\").replace("'", "''") + "':*" for w in words)


# ---------------------------------------------------------------- the index's objects
# The migrations a3c9e5f1b7d2 (and, on PostgreSQL, f7b3d9e1c5a2: the column of words, the
# index moved onto it) write the same statements (a migration keeps its own copy);
# tests/test_migration_search.py checks that both give the same schema.

SQLITE_CREATE = (
    "CREATE VIRTUAL TABLE question_fts USING fts5(text, episode_id, content='question',"
    " content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER question_fts_after_insert AFTER INSERT ON question BEGIN"
    " INSERT INTO question_fts (rowid, text, episode_id)"
    " VALUES (new.id, new.text, new.episode_id); END",
    "CREATE TRIGGER question_fts_after_delete AFTER DELETE ON question BEGIN"
    " INSERT INTO question_fts (question_fts, rowid, text, episode_id)"
    " VALUES ('delete', old.id, old.text, old.episode_id); END",
    "CREATE TRIGGER question_fts_after_update AFTER UPDATE OF text, episode_id ON question"
    " BEGIN"
    " INSERT INTO question_fts (question_fts, rowid, text, episode_id)"
    " VALUES ('delete', old.id, old.text, old.episode_id);"
    " INSERT INTO question_fts (rowid, text, episode_id)"
    " VALUES (new.id, new.text, new.episode_id); END",
    "INSERT INTO question_fts (question_fts) VALUES ('rebuild')",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS question_fts_after_update",
    "DROP TRIGGER IF EXISTS question_fts_after_delete",
    "DROP TRIGGER IF EXISTS question_fts_after_insert",
    "DROP TABLE IF EXISTS question_fts",
)
POSTGRESQL_CREATE = (
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE TEXT SEARCH CONFIGURATION question_search (COPY = simple)",
    "ALTER TEXT SEARCH CONFIGURATION question_search ALTER MAPPING FOR asciiword, word,"
    " numword, asciihword, hword, numhword, hword_asciipart, hword_part, hword_numpart"
    " WITH unaccent, simple",
    f"ALTER TABLE question ADD COLUMN text_words tsvector GENERATED ALWAYS AS ({TSVECTOR}) STORED",
    "CREATE INDEX ix_question_search ON question USING gin (text_words)",
)
POSTGRESQL_DROP = (
    "DROP INDEX IF EXISTS ix_question_search",
    "ALTER TABLE question DROP COLUMN IF EXISTS text_words",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS question_search",
)
with_table(
    Question.__table__,
    create={"sqlite": SQLITE_CREATE, "postgresql": POSTGRESQL_CREATE},
    drop={"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP},
)


#: the database's own objects that no model describes: the index and its column, and the
#: status tally
_NOT_MODELS = {"ix_question_search", "text_words", "question_tally"}


def include_in_autogenerate(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    """Alembic's `include_name`: False for the index's objects, which the models do not
    describe and autogenerate would otherwise offer to drop (the FTS5 table and its shadow
    tables, PostgreSQL's column of words and its index; the status tally of `tally`)."""
    return not (name or "").startswith("question_fts") and name not in _NOT_MODELS
