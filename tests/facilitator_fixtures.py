"""Fixtures for the facilitator's space: accounts, a logged-in client, questions, query counts."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db

PASSWORD = "un mot de passe assez long"


def create_account(
    app: Flask, email: str = "animation@example.org", password: str = PASSWORD
) -> int:
    """A facilitator account through the service (as the CLI does); return its id."""
    from app.facilitator.accounts import create_facilitator

    with app.app_context():
        return create_facilitator(email, password).id


def log_in(client: FlaskClient, email: str = "animation@example.org", password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """Log in through the real form (CSRF token included); return the response."""
    from .conftest import csrf_from

    page = client.get("/animation/connexion")
    token = csrf_from(page.get_data(as_text=True))
    return client.post(
        "/animation/connexion",
        data={"email": email, "password": password, "csrf_token": token},
    )


@pytest.fixture
def make_facilitator(app: Flask) -> Callable[..., int]:
    """Create a facilitator account; return its id."""

    def factory(email: str = "animation@example.org", password: str = PASSWORD) -> int:
        return create_account(app, email, password)

    return factory


@pytest.fixture
def facilitator_client(programme: Flask, make_facilitator: Callable[..., int]) -> FlaskClient:
    """A test client logged in as animation@example.org, on the seed programme."""
    make_facilitator()
    client = programme.test_client()
    response = log_in(client)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


@pytest.fixture
def make_question(app: Flask, make_attendee: Callable[..., tuple[int, str]]) -> Callable[..., int]:
    """Create a question on an episode (by number); return its id."""
    from app.models import Episode, Question

    def factory(
        text: str = "Comment mobiliser les habitants ?",
        episode: int = 1,
        status: str = "nouvelle",
        votes: int = 0,
        published: bool = False,
        show_name: bool = False,
        attendee_id: int | None = None,
        created_at: datetime | None = None,
        live_order: int | None = None,
        target_app: Flask | None = None,
    ) -> int:
        if attendee_id is None:
            attendee_id, _ = make_attendee(target_app=target_app)
        with (target_app or app).app_context():
            episode_id = db.session.scalar(sa.select(Episode.id).filter_by(number=episode))
            question = Question(
                episode_id=episode_id,
                attendee_id=attendee_id,
                text=text,
                status=status,
                vote_count=votes,
                published=published,
                show_name=show_name,
                live_order=live_order,
            )
            if created_at is not None:
                question.created_at = created_at
            db.session.add(question)
            db.session.commit()
            return question.id

    return factory


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
