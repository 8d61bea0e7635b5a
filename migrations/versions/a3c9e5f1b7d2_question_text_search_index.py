"""question text search index: FTS5 on SQLite, an unaccented tsvector GIN index on PostgreSQL

The review page searched question text with LIKE '%…%', a scan of the episode's questions.
SQLite gets an external-content FTS5 table (unicode61, diacritics removed; the episode a
column of it, so that the index alone counts an episode's matches) kept in step by
triggers; PostgreSQL a GIN index on the text's tsvector (configuration `question_search`:
unaccent, then simple, no stemming so that a word typed halfway still finds its end), an
expression index rather than a stored column, which would make the table half as large
again for every other read. The same statements are in app/search.py, for `create_all`;
tests/test_migration_search.py compares them.

A later migration that rebuilds `question` in SQLite's batch mode drops these triggers
with the old table: it must create them again (tests/test_migration_search.py checks
that the head has them).

Revision ID: a3c9e5f1b7d2
Revises: a7c3e91d4b20
Create Date: 2026-11-27 15:53:52.334238

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a3c9e5f1b7d2'
down_revision = 'a7c3e91d4b20'
branch_labels = None
depends_on = None

SQLITE_UPGRADE = (
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
    # The questions already on file.
    "INSERT INTO question_fts (question_fts) VALUES ('rebuild')",
)
SQLITE_DOWNGRADE = (
    "DROP TRIGGER IF EXISTS question_fts_after_update",
    "DROP TRIGGER IF EXISTS question_fts_after_delete",
    "DROP TRIGGER IF EXISTS question_fts_after_insert",
    "DROP TABLE IF EXISTS question_fts",
)
POSTGRESQL_UPGRADE = (
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE TEXT SEARCH CONFIGURATION question_search (COPY = simple)",
    "ALTER TEXT SEARCH CONFIGURATION question_search ALTER MAPPING FOR asciiword, word,"
    " numword, asciihword, hword, numhword, hword_asciipart, hword_part, hword_numpart"
    " WITH unaccent, simple",
    # What the parser would keep inside one word (hosts, addresses, paths, hyphenated
    # words) becomes spaces: PostgreSQL then sees the words SQLite's tokenizer sees.
    "CREATE INDEX ix_question_search ON question USING gin ((to_tsvector("
    "'question_search'::regconfig, translate(text, '.-/+~@:<>&', '          '))))",
)
# The unaccent extension stays: other objects may use it, and creating it again may need
# rights the site does not have.
POSTGRESQL_DOWNGRADE = (
    "DROP INDEX IF EXISTS ix_question_search",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS question_search",
)


def _run(statements):
    bind = op.get_bind()
    # Straight to the driver: no bind-parameter parsing of the colons and quotes.
    for statement in statements.get(bind.dialect.name, ()):
        bind.exec_driver_sql(statement)


def upgrade():
    _run({"sqlite": SQLITE_UPGRADE, "postgresql": POSTGRESQL_UPGRADE})


def downgrade():
    _run({"sqlite": SQLITE_DOWNGRADE, "postgresql": POSTGRESQL_DOWNGRADE})
