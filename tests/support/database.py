"""The app on a real database (SQLite file or PostgreSQL): app, programme, client, runner."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from app import create_app
from app.extensions import db
from app.programme.services import load_programme
from tests.support.mail import MailSink

#: "now" for most tests: the day before the demo episode 1 (Wednesday 25 November 2026)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """TEST_DATABASE_URL (PostgreSQL in CI) or a SQLite file (never :memory:, see TESTING.md)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url.replace("postgresql://", "postgresql+psycopg://", 1)
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")


def make_test_app(database_url: str, smtp_port: int, **overrides: Any) -> Flask:
    """An app on the test database, talking to the test SMTP server."""
    config: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 20, "max_overflow": 40}
        if database_url.startswith("postgresql")
        else {},
        "SITE_URL": "https://webinaires.example.org",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_port,
        "MAIL_SUPPRESS_SEND": False,
        "MAIL_TIMEOUT": 5,
        "OUTBOX_SEND_AFTER_REQUEST": False,
        # Reminders are queued when a test says so (the background sender of a live server
        # would otherwise remind the registrants of episode 1, due at NOW).
        "REMINDERS_IN_BACKGROUND": False,
        "RATELIMIT_ENABLED": False,
        # The clock is frozen in tests: no time passes between serving a form and its POST.
        "HONEYPOT_MIN_SECONDS": 0,
        "HONEYPOT_MIN_SECONDS_LINK": 0,
        # Tests change rows behind the app's back: shared pages re-read their version each time.
        "PROGRAMME_SNAPSHOT_SECONDS": 0,
    }
    config.update(overrides)
    return create_app(config)


_schema_ready: set[str] = set()


def prepare_schema(app: Flask) -> None:
    """Build the schema through the migrations once per session, then empty every table."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        if url not in _schema_ready:
            from flask_migrate import downgrade, upgrade

            with db.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            upgrade()
            downgrade(revision="base")
            upgrade()
            _schema_ready.add(url)
        empty_tables()


def empty_tables() -> None:
    """Delete every row (children first), reset the session."""
    db.session.remove()
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(sa.text(f"DELETE FROM {name}"))


@pytest.fixture
def app(database_url: str, smtp_server: tuple[Controller, MailSink]) -> Iterator[Flask]:
    """A fresh app on an empty database with the clock frozen at NOW."""
    application = make_test_app(database_url, smtp_server[0].port)
    prepare_schema(application)
    application.extensions["clock"].freeze(NOW)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def programme(app: Flask) -> Flask:
    """The seed programme loaded with demo dates (episode 1 on Thursday 26 November 2026)."""
    with app.app_context():
        load_programme()
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A runner for the app's `flask` commands."""
    return app.test_cli_runner()


class QueryCounter:
    """Count the SQL statements run on an engine while active."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __len__(self) -> int:
        return len(self.statements)


@contextlib.contextmanager
def count_queries(app: Flask) -> Iterator[QueryCounter]:
    """Count the statements the app runs inside the block (BEGIN/PRAGMA left out)."""
    counter = QueryCounter()

    def _listener(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK")):
            counter.statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", _listener)
    try:
        yield counter
    finally:
        sa.event.remove(engine, "before_cursor_execute", _listener)
