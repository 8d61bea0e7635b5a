"""Backups a real host can restore: SQLite's backup restored into PostgreSQL, every table
compared (issue 11, operations; SECURITY.md item 37)."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.identity import issue_token
from app.models import (
    Attendee,
    BrowserSession,
    Episode,
    Facilitator,
    FacilitatorAction,
    OutboxMessage,
    Question,
    Registration,
    Series,
    Vote,
)
from app.programme.services import load_programme
from tests.support.database import NOW, make_test_app, prepare_schema
from tests.support.questions import add_question


def postgres_url() -> str:
    """An empty PostgreSQL database for the restore (BACKUP_TEST_DATABASE_URL)."""
    url = os.environ.get("BACKUP_TEST_DATABASE_URL", "")
    if not url:
        message = "set BACKUP_TEST_DATABASE_URL to an empty PostgreSQL database"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def populate(app: Flask) -> None:
    """Some of everything: attendees (with names in other scripts), questions, votes, mail,
    sessions, a facilitator and the journal."""
    with app.app_context():
        load_programme()
        series = db.session.scalars(sa.select(Series)).one()
        episodes = list(db.session.scalars(sa.select(Episode).order_by(Episode.number)))
        people = []
        for n, (first, last) in enumerate(
            [("Inès", "Benali"), ("प्रिया", "शर्मा"), ("Zoë", "O’Brien")]
        ):
            person = Attendee(
                series_id=series.id,
                email=f"p{n}@example.org",
                first_name=first,
                last_name=last,
                organisation="Ville ; « quotes », virgules\nlignes",
                organisation_kind="collectivite",
                job_title="",
                privacy_acknowledged_at=NOW,
            )
            db.session.add(person)
            db.session.flush()
            issue_token(person)
            db.session.add(
                Registration(
                    attendee_id=person.id,
                    episode_id=episodes[n].id,
                    # One on a waiting list (issue 13): its place travels with the backup.
                    waiting_since=NOW if n == 2 else None,
                )
            )
            people.append(person)
        episodes[2].capacity = 1
        question = Question(
            episode_id=episodes[0].id,
            attendee_id=people[0].id,
            text="Une question ?\nSur deux lignes.",
            published=True,
            vote_count=1,
        )
        db.session.add(question)
        db.session.flush()
        db.session.add(Vote(question_id=question.id, attendee_id=people[1].id))
        db.session.add(
            OutboxMessage(
                kind="registration_confirmation",
                recipient="p0@example.org",
                subject="Sujet",
                body_text="Corps",
                headers={"List-Unsubscribe": "<https://x/y>"},
                attendee_id=people[0].id,
                next_attempt_at=NOW,
            )
        )
        facilitator = Facilitator(email="animation@example.org", password_hash="$argon2id$x")
        db.session.add(facilitator)
        db.session.flush()
        db.session.add(FacilitatorAction(facilitator_id=facilitator.id, action="login", target="x"))
        db.session.add(
            BrowserSession(
                key_hash="a" * 64,
                data={"rights": "full", "attendee_id": people[0].id},
                attendee_id=people[0].id,
                created_at=NOW,
                last_seen_at=NOW,
                expires_at=NOW,
            )
        )
        db.session.commit()


def snapshot(app: Flask) -> dict[str, list[tuple]]:
    """Every row of every table, in key order, times in UTC."""

    def normal(value: object) -> object:
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        return value

    tables = {}
    with app.app_context(), db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            rows = connection.execute(sa.select(table).order_by(*table.primary_key.columns))
            tables[table.name] = [tuple(normal(v) for v in row) for row in rows]
    return tables


def test_a_sqlite_backup_restores_into_postgresql_table_for_table(
    tmp_path: Path, smtp_server
) -> None:  # type: ignore[no-untyped-def]
    source = make_test_app(f"sqlite:///{tmp_path}/source.sqlite3", smtp_server[0].port)
    target = make_test_app(postgres_url(), smtp_server[0].port)
    for application in (source, target):
        prepare_schema(application)
        application.extensions["clock"].freeze(NOW)
    populate(source)
    backup = tmp_path / "sauvegarde.jsonl.gz"
    created = source.test_cli_runner().invoke(args=["backup", "create", str(backup)])
    assert created.exit_code == 0, created.output
    with gzip.open(backup, "rt") as written:
        header = json.loads(written.readline())
    assert header["format"] == "webinaires-backup" and header["version"] == 1
    restored = target.test_cli_runner().invoke(args=["backup", "restore", str(backup)])
    assert restored.exit_code == 0, restored.output
    before, after = snapshot(source), snapshot(target)
    assert set(before) == set(after)
    for name in before:
        assert before[name] == after[name], name
    assert sum(len(rows) for rows in after.values()) >= 20
    # New rows after the restore get fresh ids (PostgreSQL's sequences moved on).
    with target.app_context():
        series = db.session.scalars(sa.select(Series)).one()
        db.session.add(
            Attendee(
                series_id=series.id,
                email="nouveau@example.org",
                first_name="N",
                last_name="N",
                organisation="O",
                organisation_kind="autre",
                privacy_acknowledged_at=NOW,
            )
        )
        db.session.commit()
    for application in (source, target):
        with application.app_context():
            db.engine.dispose()


def test_restoring_twice_or_another_schema_is_refused(tmp_path: Path, app: Flask) -> None:
    runner = app.test_cli_runner()
    populate(app)
    backup = tmp_path / "b.gz"
    assert runner.invoke(args=["backup", "create", str(backup)]).exit_code == 0
    again = runner.invoke(args=["backup", "restore", str(backup)])
    assert again.exit_code == 1
    assert "n’est pas vide : restaurez sur une base vide" in again.output
    other = tmp_path / "autre.gz"
    with gzip.open(other, "wt") as out:
        out.write(json.dumps({"format": "webinaires-backup", "version": 1, "schema": "0"}) + "\n")
    refused = runner.invoke(args=["backup", "restore", str(other)])
    assert refused.exit_code == 1 and "mettez la base à la même version" in refused.output
    garbage = tmp_path / "x.gz"
    garbage.write_bytes(b"pas une sauvegarde")
    unreadable = runner.invoke(args=["backup", "restore", str(garbage)])
    assert unreadable.exit_code == 1 and "n’est pas une sauvegarde lisible" in unreadable.output


def test_a_backup_of_a_site_in_use_is_one_moment_of_it(
    tmp_path: Path, app: Flask, make_attendee
) -> None:
    """People register while the backup is written: every table is read as it was at one
    moment, so no question is saved without its author (the restore would refuse it). A
    registration and its question are committed, by another session, between the dump's
    read of the attendees and its read of the questions."""
    from app.backup import dump

    populate(app)
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Question))
        engine = db.engine
        written: list[bool] = []

        def someone_registers(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
            if written or "FROM question" not in statement:
                return
            written.append(True)
            # (each helper opens an app context of its own: another session, committed)
            attendee_id, _ = make_attendee(email="pendant@example.org", episodes=(1,))
            add_question(app, attendee_id, number=1, text="Posée pendant la sauvegarde ?")

        sa.event.listen(engine, "before_cursor_execute", someone_registers)
        try:
            counts = dump(tmp_path / "pendant.gz")
        finally:
            sa.event.remove(engine, "before_cursor_execute", someone_registers)
        assert written  # the registration did happen during the dump
        assert counts["question"] == before  # the dump is the moment it began
        with gzip.open(tmp_path / "pendant.gz", "rt", encoding="utf-8") as saved:
            assert "pendant@example.org" not in saved.read()
