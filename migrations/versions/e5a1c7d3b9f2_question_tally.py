"""question tally: each episode's questions per status, and its newest id, kept by triggers

The review page counted an episode's questions per status (with the newest id) on every
view: every one of the episode's index entries, about 1 ms at 10,000 questions on either
engine. The table `question_tally` holds those numbers, one row per episode, and triggers
on `question` keep it in step (insert, delete, change of status or of episode). On
PostgreSQL they are constraint triggers deferred to the commit: the tally is locked after
every question row the transaction locks, all its rows at once in episode order, so two
facilitators acting at once cannot deadlock through it; a TRUNCATE of the questions
empties it. When an episode's newest question is deleted, `max_id` is the next newest.
The same statements are in app/tally.py, for `create_all`; tests/test_question_tally.py
compares them.

A later migration that rebuilds `question` in SQLite's batch mode drops these triggers
with the old table: it must create them again.

Revision ID: e5a1c7d3b9f2
Revises: c4d8e2a6f0b3
Create Date: 2026-11-28 07:20:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e5a1c7d3b9f2'
down_revision = 'c4d8e2a6f0b3'
branch_labels = None
depends_on = None

SQLITE_UPGRADE = (
    'CREATE TABLE question_tally ( episode_id INTEGER NOT NULL PRIMARY KEY REFERENCES episode (id) ON DELETE CASCADE, max_id INTEGER NOT NULL DEFAULT 0, nouvelle INTEGER NOT NULL DEFAULT 0, retenue INTEGER NOT NULL DEFAULT 0, repondue INTEGER NOT NULL DEFAULT 0, ecrit INTEGER NOT NULL DEFAULT 0, fusionnee INTEGER NOT NULL DEFAULT 0, reportee INTEGER NOT NULL DEFAULT 0, ecartee INTEGER NOT NULL DEFAULT 0)',
    "CREATE TRIGGER question_tally_after_insert AFTER INSERT ON question BEGIN INSERT OR IGNORE INTO question_tally (episode_id) VALUES (new.episode_id); UPDATE question_tally SET max_id = max(max_id, new.id), nouvelle = nouvelle + CASE WHEN new.status = 'nouvelle' THEN 1 ELSE 0 END, retenue = retenue + CASE WHEN new.status = 'retenue' THEN 1 ELSE 0 END, repondue = repondue + CASE WHEN new.status = 'repondue' THEN 1 ELSE 0 END, ecrit = ecrit + CASE WHEN new.status = 'ecrit' THEN 1 ELSE 0 END, fusionnee = fusionnee + CASE WHEN new.status = 'fusionnee' THEN 1 ELSE 0 END, reportee = reportee + CASE WHEN new.status = 'reportee' THEN 1 ELSE 0 END, ecartee = ecartee + CASE WHEN new.status = 'ecartee' THEN 1 ELSE 0 END WHERE episode_id = new.episode_id; END",
    "CREATE TRIGGER question_tally_after_delete AFTER DELETE ON question BEGIN UPDATE question_tally SET nouvelle = nouvelle - CASE WHEN old.status = 'nouvelle' THEN 1 ELSE 0 END, retenue = retenue - CASE WHEN old.status = 'retenue' THEN 1 ELSE 0 END, repondue = repondue - CASE WHEN old.status = 'repondue' THEN 1 ELSE 0 END, ecrit = ecrit - CASE WHEN old.status = 'ecrit' THEN 1 ELSE 0 END, fusionnee = fusionnee - CASE WHEN old.status = 'fusionnee' THEN 1 ELSE 0 END, reportee = reportee - CASE WHEN old.status = 'reportee' THEN 1 ELSE 0 END, ecartee = ecartee - CASE WHEN old.status = 'ecartee' THEN 1 ELSE 0 END WHERE episode_id = old.episode_id; UPDATE question_tally SET max_id = (SELECT coalesce(max(id), 0) FROM question WHERE episode_id = old.episode_id) WHERE episode_id = old.episode_id AND max_id = old.id; END",
    "CREATE TRIGGER question_tally_after_update AFTER UPDATE OF status, episode_id ON question WHEN old.status IS NOT new.status OR old.episode_id IS NOT new.episode_id BEGIN UPDATE question_tally SET nouvelle = nouvelle - CASE WHEN old.status = 'nouvelle' THEN 1 ELSE 0 END, retenue = retenue - CASE WHEN old.status = 'retenue' THEN 1 ELSE 0 END, repondue = repondue - CASE WHEN old.status = 'repondue' THEN 1 ELSE 0 END, ecrit = ecrit - CASE WHEN old.status = 'ecrit' THEN 1 ELSE 0 END, fusionnee = fusionnee - CASE WHEN old.status = 'fusionnee' THEN 1 ELSE 0 END, reportee = reportee - CASE WHEN old.status = 'reportee' THEN 1 ELSE 0 END, ecartee = ecartee - CASE WHEN old.status = 'ecartee' THEN 1 ELSE 0 END WHERE episode_id = old.episode_id; INSERT OR IGNORE INTO question_tally (episode_id) VALUES (new.episode_id); UPDATE question_tally SET max_id = max(max_id, new.id), nouvelle = nouvelle + CASE WHEN new.status = 'nouvelle' THEN 1 ELSE 0 END, retenue = retenue + CASE WHEN new.status = 'retenue' THEN 1 ELSE 0 END, repondue = repondue + CASE WHEN new.status = 'repondue' THEN 1 ELSE 0 END, ecrit = ecrit + CASE WHEN new.status = 'ecrit' THEN 1 ELSE 0 END, fusionnee = fusionnee + CASE WHEN new.status = 'fusionnee' THEN 1 ELSE 0 END, reportee = reportee + CASE WHEN new.status = 'reportee' THEN 1 ELSE 0 END, ecartee = ecartee + CASE WHEN new.status = 'ecartee' THEN 1 ELSE 0 END WHERE episode_id = new.episode_id; END",
    "INSERT INTO question_tally (episode_id, max_id, nouvelle, retenue, repondue, ecrit, fusionnee, reportee, ecartee) SELECT episode_id, max(id), sum(CASE WHEN question.status = 'nouvelle' THEN 1 ELSE 0 END), sum(CASE WHEN question.status = 'retenue' THEN 1 ELSE 0 END), sum(CASE WHEN question.status = 'repondue' THEN 1 ELSE 0 END), sum(CASE WHEN question.status = 'ecrit' THEN 1 ELSE 0 END), sum(CASE WHEN question.status = 'fusionnee' THEN 1 ELSE 0 END), sum(CASE WHEN question.status = 'reportee' THEN 1 ELSE 0 END), sum(CASE WHEN question.status = 'ecartee' THEN 1 ELSE 0 END) FROM question GROUP BY episode_id",
)
SQLITE_DOWNGRADE = (
    'DROP TRIGGER IF EXISTS question_tally_after_update',
    'DROP TRIGGER IF EXISTS question_tally_after_delete',
    'DROP TRIGGER IF EXISTS question_tally_after_insert',
    'DROP TABLE IF EXISTS question_tally',
)
POSTGRESQL_UPGRADE = (
    'CREATE TABLE question_tally ( episode_id INTEGER NOT NULL PRIMARY KEY REFERENCES episode (id) ON DELETE CASCADE, max_id INTEGER NOT NULL DEFAULT 0, nouvelle INTEGER NOT NULL DEFAULT 0, retenue INTEGER NOT NULL DEFAULT 0, repondue INTEGER NOT NULL DEFAULT 0, ecrit INTEGER NOT NULL DEFAULT 0, fusionnee INTEGER NOT NULL DEFAULT 0, reportee INTEGER NOT NULL DEFAULT 0, ecartee INTEGER NOT NULL DEFAULT 0)',
    "CREATE FUNCTION question_tally_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF current_setting('question_tally.locked', true) IS DISTINCT FROM 'on' THEN PERFORM FROM question_tally ORDER BY episode_id FOR UPDATE; PERFORM set_config('question_tally.locked', 'on', true); END IF; IF TG_OP <> 'INSERT' THEN UPDATE question_tally SET nouvelle = nouvelle - CASE WHEN old.status = 'nouvelle' THEN 1 ELSE 0 END, retenue = retenue - CASE WHEN old.status = 'retenue' THEN 1 ELSE 0 END, repondue = repondue - CASE WHEN old.status = 'repondue' THEN 1 ELSE 0 END, ecrit = ecrit - CASE WHEN old.status = 'ecrit' THEN 1 ELSE 0 END, fusionnee = fusionnee - CASE WHEN old.status = 'fusionnee' THEN 1 ELSE 0 END, reportee = reportee - CASE WHEN old.status = 'reportee' THEN 1 ELSE 0 END, ecartee = ecartee - CASE WHEN old.status = 'ecartee' THEN 1 ELSE 0 END WHERE episode_id = old.episode_id; END IF; IF TG_OP = 'DELETE' THEN UPDATE question_tally SET max_id = (SELECT coalesce(max(id), 0) FROM question WHERE episode_id = old.episode_id) WHERE episode_id = old.episode_id AND max_id = old.id; END IF; IF TG_OP <> 'DELETE' THEN INSERT INTO question_tally AS tally (episode_id, max_id, nouvelle, retenue, repondue, ecrit, fusionnee, reportee, ecartee) SELECT new.episode_id, new.id, CASE WHEN new.status = 'nouvelle' THEN 1 ELSE 0 END, CASE WHEN new.status = 'retenue' THEN 1 ELSE 0 END, CASE WHEN new.status = 'repondue' THEN 1 ELSE 0 END, CASE WHEN new.status = 'ecrit' THEN 1 ELSE 0 END, CASE WHEN new.status = 'fusionnee' THEN 1 ELSE 0 END, CASE WHEN new.status = 'reportee' THEN 1 ELSE 0 END, CASE WHEN new.status = 'ecartee' THEN 1 ELSE 0 END WHERE EXISTS (SELECT FROM episode WHERE episode.id = new.episode_id) ON CONFLICT (episode_id) DO UPDATE SET max_id = greatest(tally.max_id, new.id), nouvelle = tally.nouvelle + excluded.nouvelle, retenue = tally.retenue + excluded.retenue, repondue = tally.repondue + excluded.repondue, ecrit = tally.ecrit + excluded.ecrit, fusionnee = tally.fusionnee + excluded.fusionnee, reportee = tally.reportee + excluded.reportee, ecartee = tally.ecartee + excluded.ecartee; END IF; RETURN NULL; END $$",
    'CREATE CONSTRAINT TRIGGER question_tally_after_insert AFTER INSERT ON question DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION question_tally_keep()',
    'CREATE CONSTRAINT TRIGGER question_tally_after_delete AFTER DELETE ON question DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION question_tally_keep()',
    'CREATE CONSTRAINT TRIGGER question_tally_after_update AFTER UPDATE OF status, episode_id ON question DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (old.status IS DISTINCT FROM new.status OR old.episode_id IS DISTINCT FROM new.episode_id) EXECUTE FUNCTION question_tally_keep()',
    'CREATE FUNCTION question_tally_clear() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM question_tally; RETURN NULL; END $$',
    'CREATE TRIGGER question_tally_after_truncate AFTER TRUNCATE ON question FOR EACH STATEMENT EXECUTE FUNCTION question_tally_clear()',
    "INSERT INTO question_tally (episode_id, max_id, nouvelle, retenue, repondue, ecrit, fusionnee, reportee, ecartee) SELECT episode_id, max(id), sum(CASE WHEN question.status = 'nouvelle' THEN 1 ELSE 0 END), sum(CASE WHEN question.status = 'retenue' THEN 1 ELSE 0 END), sum(CASE WHEN question.status = 'repondue' THEN 1 ELSE 0 END), sum(CASE WHEN question.status = 'ecrit' THEN 1 ELSE 0 END), sum(CASE WHEN question.status = 'fusionnee' THEN 1 ELSE 0 END), sum(CASE WHEN question.status = 'reportee' THEN 1 ELSE 0 END), sum(CASE WHEN question.status = 'ecartee' THEN 1 ELSE 0 END) FROM question GROUP BY episode_id",
)
POSTGRESQL_DOWNGRADE = (
    'DROP TABLE IF EXISTS question_tally',
    'DROP TRIGGER IF EXISTS question_tally_after_truncate ON question',
    'DROP TRIGGER IF EXISTS question_tally_after_update ON question',
    'DROP TRIGGER IF EXISTS question_tally_after_delete ON question',
    'DROP TRIGGER IF EXISTS question_tally_after_insert ON question',
    'DROP FUNCTION IF EXISTS question_tally_keep()',
    'DROP FUNCTION IF EXISTS question_tally_clear()',
)

STATEMENTS = {
    "upgrade": {"sqlite": SQLITE_UPGRADE, "postgresql": POSTGRESQL_UPGRADE},
    "downgrade": {"sqlite": SQLITE_DOWNGRADE, "postgresql": POSTGRESQL_DOWNGRADE},
}


def _run(which):
    bind = op.get_bind()
    for statement in STATEMENTS[which].get(bind.dialect.name, ()):
        bind.exec_driver_sql(statement)


def upgrade():
    _run("upgrade")


def downgrade():
    _run("downgrade")
