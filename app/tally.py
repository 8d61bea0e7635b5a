"""How many questions each episode holds per status, and its newest question's id, kept by
the database (issue 12).

The review page shows these counts on every view. Counted from the questions, they read
every one of the episode's index entries each time (about 1 ms at 10,000 questions, on
either engine); here they are one row, `question_tally`, which triggers on `question` keep
in step with every insert, delete, change of status and move to another episode, whoever
writes it (the site, a command, a migration, a restore).

PostgreSQL: the triggers are constraint triggers deferred to the commit, so the tally is
locked after every question row the transaction locks. Locked at once, a facilitator's
merge would hold the tally while waiting for a question another facilitator is changing,
who would wait for the tally: a deadlock. At its first change of the tally a transaction
locks all of its rows, in episode order: one that changes questions of two episodes (a
carry-over, an attendee's erasure) cannot take them in the order another one reverses.
Transactions that add, remove or re-file questions thus commit one after another (only
their commits wait).
A TRUNCATE of the questions empties the tally (it fires no row trigger).
SQLite: plain triggers (one writer at a time). A statement on `question` with a conflict
clause of its own (OR REPLACE, an upsert) would impose it on the triggers' INSERT OR
IGNORE: the site sends none.

`max_id` is the newest question's id: when that question is deleted, the next newest
(SQLite gives a deleted last id to the next row, which the new-questions poll must see).

The table is not a model: a backup leaves it out, and a restore's inserts fill it again.
The migration e5a1c7d3b9f2 writes the same statements (a migration keeps its own copy);
tests/test_question_tally.py checks that both give the same schema. A later SQLite
migration that rebuilds `question` (batch mode) drops its triggers: create them again.
"""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa

from .database import with_table
from .extensions import db
from .models import Question
from .vocabulary import QuestionStatus

#: a column per status, named as the status is stored
STATUSES = [status.value for status in QuestionStatus]
TALLY = sa.table(
    "question_tally",
    sa.column("episode_id", sa.Integer),
    sa.column("max_id", sa.Integer),
    *(sa.column(status, sa.Integer) for status in STATUSES),
)


def _counted(row: str) -> list[str]:
    """Per status: 1 if the row (`new` or `old`) has it, else 0."""
    return [f"CASE WHEN {row}.status = '{status}' THEN 1 ELSE 0 END" for status in STATUSES]


def _change(row: str, sign: str) -> str:
    return ", ".join(
        f"{status} = {status} {sign} {one}"
        for status, one in zip(STATUSES, _counted(row), strict=True)
    )


_TABLE = (
    "CREATE TABLE question_tally ("
    " episode_id INTEGER NOT NULL PRIMARY KEY"
    " REFERENCES episode (id) ON DELETE CASCADE,"
    " max_id INTEGER NOT NULL DEFAULT 0, "
    + ", ".join(f"{status} INTEGER NOT NULL DEFAULT 0" for status in STATUSES)
    + ")"
)
#: the tally of the questions already on file
_FILL = (
    f"INSERT INTO question_tally (episode_id, max_id, {', '.join(STATUSES)})"  # noqa: S608 (the vocabulary's statuses, no input)
    " SELECT episode_id, max(id), "
    + ", ".join(f"sum({one})" for one in _counted("question"))
    + " FROM question GROUP BY episode_id"
)
_ADD_SQLITE = (
    "INSERT OR IGNORE INTO question_tally (episode_id) VALUES (new.episode_id);"  # noqa: S608 (the vocabulary's statuses, no input)
    f" UPDATE question_tally SET max_id = max(max_id, new.id), {_change('new', '+')}"
    " WHERE episode_id = new.episode_id;"
)
_REMOVE = (
    f"UPDATE question_tally SET {_change('old', '-')}"  # noqa: S608 (the statuses, no input)
    " WHERE episode_id = old.episode_id;"
)
#: a deleted question that was its episode's newest: the newest is the next one
_NEWEST_AGAIN = (
    "UPDATE question_tally SET max_id = (SELECT coalesce(max(id), 0) FROM question"
    " WHERE episode_id = old.episode_id) WHERE episode_id = old.episode_id AND max_id = old.id;"
)
#: a question that changes status or episode (a vote, a note, an edit of its text: not)
_MOVED = "old.status IS DISTINCT FROM new.status OR old.episode_id IS DISTINCT FROM new.episode_id"

SQLITE_CREATE = (
    _TABLE,
    f"CREATE TRIGGER question_tally_after_insert AFTER INSERT ON question BEGIN {_ADD_SQLITE} END",
    "CREATE TRIGGER question_tally_after_delete AFTER DELETE ON question"
    f" BEGIN {_REMOVE} {_NEWEST_AGAIN} END",
    "CREATE TRIGGER question_tally_after_update AFTER UPDATE OF status, episode_id ON question"
    f" WHEN {_MOVED.replace('IS DISTINCT FROM', 'IS NOT')} BEGIN {_REMOVE} {_ADD_SQLITE} END",
    _FILL,
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS question_tally_after_update",
    "DROP TRIGGER IF EXISTS question_tally_after_delete",
    "DROP TRIGGER IF EXISTS question_tally_after_insert",
    "DROP TABLE IF EXISTS question_tally",
)
POSTGRESQL_CREATE = (
    _TABLE,
    "CREATE FUNCTION question_tally_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"  # noqa: S608 (the vocabulary's statuses, no input)
    # The whole tally, in episode order, once a transaction (see the docstring).
    " IF current_setting('question_tally.locked', true) IS DISTINCT FROM 'on' THEN"
    " PERFORM FROM question_tally ORDER BY episode_id FOR UPDATE;"
    " PERFORM set_config('question_tally.locked', 'on', true); END IF;"
    f" IF TG_OP <> 'INSERT' THEN {_REMOVE} END IF;"
    f" IF TG_OP = 'DELETE' THEN {_NEWEST_AGAIN} END IF;"
    # An episode deleted in the same transaction has no tally left to count in.
    " IF TG_OP <> 'DELETE' THEN"
    f" INSERT INTO question_tally AS tally (episode_id, max_id, {', '.join(STATUSES)})"
    f" SELECT new.episode_id, new.id, {', '.join(_counted('new'))}"
    " WHERE EXISTS (SELECT FROM episode WHERE episode.id = new.episode_id)"
    " ON CONFLICT (episode_id) DO UPDATE SET max_id = greatest(tally.max_id, new.id), "
    + ", ".join(f"{status} = tally.{status} + excluded.{status}" for status in STATUSES)
    + "; END IF; RETURN NULL; END $$",
    *(
        f"CREATE CONSTRAINT TRIGGER question_tally_after_{event.split()[0].lower()}"
        f" AFTER {event} ON question DEFERRABLE INITIALLY DEFERRED FOR EACH ROW{when}"
        " EXECUTE FUNCTION question_tally_keep()"
        for event, when in (
            ("INSERT", ""),
            ("DELETE", ""),
            ("UPDATE OF status, episode_id", f" WHEN ({_MOVED})"),
        )
    ),
    "CREATE FUNCTION question_tally_clear() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " DELETE FROM question_tally; RETURN NULL; END $$",
    "CREATE TRIGGER question_tally_after_truncate AFTER TRUNCATE ON question"
    " FOR EACH STATEMENT EXECUTE FUNCTION question_tally_clear()",
    _FILL,
)
POSTGRESQL_DROP = (
    "DROP TABLE IF EXISTS question_tally",
    "DROP TRIGGER IF EXISTS question_tally_after_truncate ON question",
    "DROP TRIGGER IF EXISTS question_tally_after_update ON question",
    "DROP TRIGGER IF EXISTS question_tally_after_delete ON question",
    "DROP TRIGGER IF EXISTS question_tally_after_insert ON question",
    "DROP FUNCTION IF EXISTS question_tally_keep()",
    "DROP FUNCTION IF EXISTS question_tally_clear()",
)
with_table(
    Question.__table__,
    create={"sqlite": SQLITE_CREATE, "postgresql": POSTGRESQL_CREATE},
    drop={"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP},
)


@cache
def _tally_statement() -> sa.Select:
    """One episode's tally (made once: its compilation is cached on the statement)."""
    return sa.select(TALLY.c.max_id, *(TALLY.c[status] for status in STATUSES)).where(
        TALLY.c.episode_id == sa.bindparam("episode_id")
    )


def status_counts(episode_id: int) -> tuple[dict[QuestionStatus, int], int]:
    """The episode's questions per status, and its newest question's id (0 when none)."""
    row = db.session.execute(_tally_statement(), {"episode_id": episode_id}).first()
    if row is None:
        return dict.fromkeys(QuestionStatus, 0), 0
    max_id, *counts = row
    return dict(zip(QuestionStatus, counts, strict=True)), max_id
