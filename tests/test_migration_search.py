"""The question search index's migration (issue 12) on a database in use, on the suite's
engine (a SQLite file, or a schema of its own in TEST_DATABASE_URL's PostgreSQL): the
questions on file are indexed, the downgrade leaves them and their votes, `create_all`
builds the same index, a backup leaves it out and a restore fills it, and autogenerate
never offers to drop it."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade

from app.backup import dump, load
from app.extensions import db
from app.models import Attendee, Episode, Question, Series, Vote
from app.programme.services import load_programme
from app.search import include_in_autogenerate, text_search
from tests.support.database import NOW, make_test_app

BEFORE = "a7c3e91d4b20"


@contextmanager
def empty_database(tmp_path: Path, name: str) -> Iterator[Flask]:
    """An app on an empty database of the suite's engine: a SQLite file, or a PostgreSQL
    database of its own beside TEST_DATABASE_URL's (dropped afterwards)."""
    url = os.environ.get("TEST_DATABASE_URL", "").replace(
        "postgresql://", "postgresql+psycopg://", 1
    )
    if not url:
        app = make_test_app(f"sqlite:///{tmp_path / name}.sqlite3", smtp_port=0)
        yield app
        with app.app_context():
            db.engine.dispose()
        return
    server = sa.engine.make_url(url)
    scratch = f"{server.database}_{name}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{scratch}"')
    app = make_test_app(server.set(database=scratch).render_as_string(False), smtp_port=0)
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        admin.dispose()


def some_questions(texts: list[str]) -> list[int]:
    """An attendee and their questions on episode 1 (in an app context); their ids."""
    series = db.session.scalars(sa.select(Series)).one()
    episode = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
    people = [
        Attendee(
            series_id=series.id,
            email=f"p{n}@example.org",
            first_name="Inès",
            last_name="Benali",
            organisation="Ville",
            organisation_kind="autre",
            privacy_acknowledged_at=NOW,
        )
        for n in range(2)
    ]
    db.session.add_all(people)
    db.session.flush()
    questions = [Question(episode_id=episode.id, attendee_id=people[0].id, text=t) for t in texts]
    db.session.add_all(questions)
    db.session.flush()
    db.session.add(Vote(question_id=questions[0].id, attendee_id=people[1].id))
    ids = [q.id for q in questions]
    db.session.commit()
    db.session.remove()  # no transaction left open across a migration
    return ids


def search(text: str) -> list[int]:
    """The episode 1 questions the review's search finds (in an app context)."""
    episode_id = db.session.scalar(sa.select(Episode.id).filter_by(number=1))
    found = text_search(text, episode_id)
    assert found is not None
    ids = sorted(db.session.scalars(sa.select(Question.id).where(found.condition)))
    db.session.remove()  # no transaction left open across a migration
    return ids


def search_objects(connection: sa.Connection) -> list[str]:
    """The index's objects as the database describes them."""
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(
            "SELECT type, name, sql FROM sqlite_master WHERE name LIKE 'question_fts%'"
            " ORDER BY name"
        )
        return [" ".join(str(v) for v in row) for row in rows]
    rows = connection.exec_driver_sql(
        "SELECT indexdef FROM pg_indexes"
        " WHERE schemaname = current_schema() AND indexname = 'ix_question_search'"
        # the column of words the index is on, as the database computes it
        " UNION ALL SELECT format_type(atttypid, atttypmod) || ' ' || attgenerated::text || ' '"
        " || pg_get_expr(adbin, adrelid) FROM pg_attribute JOIN pg_attrdef"
        " ON adrelid = attrelid AND adnum = attnum"
        " WHERE attrelid = 'question'::regclass AND attname = 'text_words'"
        " UNION ALL SELECT string_agg(token || ':' || array_to_string(dictionaries, ','), ' ')"
        " FROM ts_debug('question_search', 'Réunion porte-à-porte l’été 2026')"
    )
    return [str(row[0]) for row in rows]


def test_upgrading_indexes_the_questions_on_file_and_downgrading_keeps_them(
    tmp_path: Path,
) -> None:
    with empty_database(tmp_path, "in_use") as app, app.app_context():
        # The questions are written with today's models, then the schema goes back to before
        # the index (later migrations add columns the models know): they are on file when
        # the search migration runs.
        upgrade()
        load_programme()
        old, accents, _ = some_questions(
            ["Une réunion publique ?", "Reunion sans accent", "La concertation"]
        )
        downgrade(revision=BEFORE)
        upgrade()
        assert search("réunion") == [old, accents]
        assert search("concert publiq") == []
        with db.engine.connect() as conn:
            objects = search_objects(conn)
            assert len(objects) >= 2
            if conn.dialect.name == "postgresql":  # the index is on the stored words
                assert "USING gin (text_words)" in objects[0]
                assert objects[1].startswith("tsvector s strip(to_tsvector(")
        downgrade(revision=BEFORE)
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM question")).scalar() == 3
            assert conn.execute(sa.text("SELECT count(*) FROM vote")).scalar() == 1
            if conn.dialect.name == "sqlite":
                assert search_objects(conn) == []
            else:
                for leftover in (
                    "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema()"
                    " AND indexname = 'ix_question_search'",
                    "SELECT count(*) FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND column_name = 'text_words'",
                    "SELECT count(*) FROM pg_ts_config WHERE cfgname = 'question_search'",
                ):
                    assert conn.exec_driver_sql(leftover).scalar() == 0, leftover
        # Questions written while the index was away are found once it is back.
        first = db.session.get(Question, old)
        db.session.add(
            Question(episode_id=first.episode_id, attendee_id=first.attendee_id, text="Réunion ?")
        )
        db.session.commit()
        db.session.remove()
        upgrade()
        assert len(search("reunion")) == 3


def test_postgresql_words_column_comes_and_goes_with_its_migration(tmp_path: Path) -> None:
    """f7b3d9e1c5a2 on questions already on file: each one's words are written out, with
    their statistics; its downgrade puts the index back on the expression of the text,
    which still finds them; upgrading again writes the words of those asked meanwhile."""
    with empty_database(tmp_path, "words") as app, app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the column of words is PostgreSQL's (SQLite has its FTS5 table)")
        upgrade()
        load_programme()
        first, _ = some_questions(["Une réunion publique ?", "La mise en œuvre"])
        downgrade(revision="e5a1c7d3b9f2")
        with db.engine.begin() as conn:
            columns = conn.exec_driver_sql(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema ="
                " current_schema() AND table_name = 'question' AND column_name = 'text_words'"
            )
            assert columns.scalar() == 0
            index = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                " AND indexname = 'ix_question_search'"
            ).scalar()
            assert "to_tsvector('question_search'::regconfig, translate(" in index
            by_expression = conn.exec_driver_sql(
                "SELECT id FROM question WHERE to_tsvector('question_search'::regconfig,"
                " translate(text, '.-/+~@:<>&', '          ')) @@ 'reunion:*'::tsquery"
            )
            assert [row[0] for row in by_expression] == [first]
            attendee = conn.exec_driver_sql(
                "SELECT attendee_id, episode_id FROM question WHERE id = %s", (first,)
            ).one()
            conn.exec_driver_sql(
                "INSERT INTO question (episode_id, attendee_id, text, status, published,"
                " show_name, note, vote_count, created_at, updated_at, revision,"
                " written_answer, decline_detail) VALUES (%s, %s, 'Réunions de quartier',"
                " 'nouvelle', false, false, '', 0, now(), now(), 0, '', '')",
                (attendee.episode_id, attendee.attendee_id),
            )
        upgrade()
        assert len(search("reunion")) == 2
        assert search("oeuvre") == search("œuvre") != []
        with db.engine.connect() as conn:
            statistics = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stats WHERE schemaname = current_schema()"
                " AND tablename = 'question' AND attname = 'text_words'"
            )
            assert statistics.scalar() == 1


def test_create_all_builds_the_index_the_migrations_build(tmp_path: Path) -> None:
    with empty_database(tmp_path, "migrated") as migrated, migrated.app_context():
        upgrade()
        with db.engine.connect() as conn:
            expected = search_objects(conn)
    with empty_database(tmp_path, "created") as created, created.app_context():
        db.create_all()
        with db.engine.connect() as conn:
            assert search_objects(conn) == expected
        load_programme()
        [question] = some_questions(["Une réunion publique ?"])
        assert search("reunion publique") == [question]
        db.drop_all()
        with db.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                assert search_objects(conn) == []
            else:  # the table is gone with its column and index; the configuration too
                configuration = conn.exec_driver_sql(
                    "SELECT count(*) FROM pg_ts_config WHERE cfgname = 'question_search'"
                )
                assert configuration.scalar() == 0


def test_a_backup_leaves_the_index_out_and_a_restore_fills_it(tmp_path: Path) -> None:
    backup = tmp_path / "backup.jsonl.gz"
    source = make_test_app(f"sqlite:///{tmp_path / 'source.sqlite3'}", smtp_port=0)
    with source.app_context():
        upgrade()
        load_programme()
        ids = some_questions(["Une réunion publique ?", "La mise en œuvre"])
        counts = dump(backup)
        db.engine.dispose()
    assert not [name for name in counts if "fts" in name or "search" in name]
    with gzip.open(backup, "rt") as lines:
        assert "question_fts" not in lines.read()
    with empty_database(tmp_path, "restored") as target, target.app_context():
        upgrade()
        assert load(backup)["question"] == 2
        assert search("reunion") == [ids[0]]
        assert search("oeuvre") == [ids[1]]
        with db.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql(
                    "INSERT INTO question_fts (question_fts, rank) VALUES ('integrity-check', 1)"
                )


def test_autogenerate_never_offers_to_drop_the_index(app: Flask) -> None:
    """`flask db migrate` compares the models with the database: the index is not in the
    models, and must stay out of the comparison (migrations/env.py's include_name)."""
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_in_autogenerate})
        assert compare_metadata(context, db.metadata) == []
        everything = compare_metadata(MigrationContext.configure(conn), db.metadata)
    # Without the filter, autogenerate would drop it: the filter is what keeps it.
    assert everything and all(change[0].startswith("remove_") for change in everything)
