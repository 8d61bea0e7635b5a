"""Helpers for the questions tests: episodes, questions and votes straight in the database."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Episode, Question, Registration, Vote
from tests.support.http import csrf_from, htmx_headers


def episode_row(app: Flask, number: int) -> Episode:
    """The episode with this number (detached, attributes loaded)."""
    with app.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=number)).one()
        db.session.expunge(episode)
        return episode


def ask_url(app: Flask, number: int) -> str:
    """Address of the question area of an episode."""
    return f"/episodes/{episode_row(app, number).slug}/questions/poser"


def starts_at(app: Flask, number: int) -> datetime:
    """Start of an episode (UTC)."""
    return episode_row(app, number).starts_at


def add_question(
    app: Flask,
    attendee_id: int,
    number: int = 1,
    text: str = "Comment mobiliser les habitants éloignés ?",
    published: bool = False,
    show_name: bool = False,
    status: str = "nouvelle",
) -> int:
    """Write a question directly (as if sent earlier); return its id."""
    with app.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=number)).one()
        question = Question(
            episode_id=episode.id,
            attendee_id=attendee_id,
            text=text,
            published=published,
            show_name=show_name,
            status=status,
        )
        db.session.add(question)
        db.session.commit()
        return question.id


def publish(app: Flask, question_id: int) -> None:
    """What the facilitator does (issue 5): make the question public."""
    with app.app_context():
        db.session.get(Question, question_id).published = True
        db.session.commit()


def question_rows(app: Flask) -> list[Question]:
    """Every question, detached."""
    with app.app_context():
        rows = list(db.session.scalars(sa.select(Question).order_by(Question.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def vote_rows(app: Flask, question_id: int | None = None) -> list[tuple[int, int]]:
    """(question_id, attendee_id) of every vote."""
    with app.app_context():
        statement = sa.select(Vote.question_id, Vote.attendee_id)
        if question_id is not None:
            statement = statement.where(Vote.question_id == question_id)
        return [tuple(row) for row in db.session.execute(statement)]


def vote_count(app: Flask, question_id: int) -> int:
    """The denormalised count on the question row."""
    with app.app_context():
        return db.session.scalar(sa.select(Question.vote_count).where(Question.id == question_id))


def registered_numbers(app: Flask, attendee_id: int) -> set[int]:
    """Episode numbers the attendee follows."""
    with app.app_context():
        return set(
            db.session.scalars(
                sa.select(Episode.number)
                .join(Registration, Registration.episode_id == Episode.id)
                .where(Registration.attendee_id == attendee_id)
            )
        )


def open_ask_area(client: FlaskClient, app: Flask, number: int = 1) -> str:
    """Open the question area as htmx does; return the fragment's HTML."""
    response = client.get(ask_url(app, number), headers=htmx_headers(f"poser-{number}"))
    assert response.status_code == 200
    return response.get_data(as_text=True)


def send(
    client: FlaskClient,
    app: Flask,
    text: str,
    number: int = 1,
    show_name: bool = False,
    htmx: bool = True,
):
    """Send a question the way the form does (htmx or plain)."""
    token = csrf_from(open_ask_area(client, app, number))
    data = {"text": text, "csrf_token": token}
    if show_name:
        data["show_name"] = "y"
    headers = htmx_headers(f"zone-question-{number}") if htmx else {}
    return client.post(ask_url(app, number), data=data, headers=headers)


def token_for(client: FlaskClient, app: Flask) -> str:
    """A CSRF token of this client's session (from a question area, which carries one)."""
    return csrf_from(open_ask_area(client, app, 7))


def vote(
    client: FlaskClient,
    question_id: int,
    token: str,
    action: str = "soutenir",
    htmx: bool = True,
):
    """Post a vote as the button does."""
    headers = htmx_headers(f"vote-{question_id}") if htmx else {}
    return client.post(
        f"/questions/{question_id}/vote",
        data={"action": action, "tri": "votes", "csrf_token": token},
        headers=headers,
    )
