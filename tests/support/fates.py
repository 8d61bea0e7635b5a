"""Helpers for the tests of question fates: the panel's forms as a facilitator sends them,
votes straight in the database, and the invariants votes must keep."""

from __future__ import annotations

import secrets
from collections import defaultdict

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Question, Vote
from tests.support.http import csrf_from, htmx_headers

EPISODE_1 = "plateformes-civictech"


def review_url(slug: str = EPISODE_1) -> str:
    """The review page of an episode."""
    return f"/animation/episodes/{slug}/questions"


def facilitator_token(client: FlaskClient, slug: str = EPISODE_1) -> str:
    """A CSRF token of the facilitator's session."""
    return csrf_from(client.get(review_url(slug)).get_data(as_text=True))


def give_fate(
    client: FlaskClient,
    question_id: int,
    fate: str,
    slug: str = EPISODE_1,
    htmx: bool = True,
    token: str | None = None,
    revision: int | None = None,
    **fields: object,
):
    """Post one form of the fate panel."""
    data: dict[str, object] = dict(fields)
    data["csrf_token"] = token or facilitator_token(client, slug)
    if revision is not None:
        data["revision"] = revision
    headers = htmx_headers(target=f"question-{question_id}") if htmx else {}
    return client.post(f"{review_url(slug)}/{question_id}/sort/{fate}", data=data, headers=headers)


def add_votes(app: Flask, question_id: int, attendee_ids: list[int]) -> None:
    """Votes written directly (as if given earlier), the count kept in step."""
    with app.app_context():
        for attendee_id in attendee_ids:
            db.session.add(Vote(question_id=question_id, attendee_id=attendee_id))
        db.session.flush()
        question = db.session.get(Question, question_id)
        question.vote_count = db.session.scalar(
            sa.select(sa.func.count()).where(Vote.question_id == question_id)
        )
        db.session.commit()


def voters(app: Flask, question_id: int) -> set[int]:
    """Who supports a question, from the vote rows."""
    with app.app_context():
        return set(
            db.session.scalars(sa.select(Vote.attendee_id).filter_by(question_id=question_id))
        )


def fresh(app: Flask, question_id: int) -> Question:
    """The question as stored now (detached)."""
    with app.app_context():
        question = db.session.get(Question, question_id)
        db.session.expunge(question)
        return question


def assert_votes_consistent(app: Flask) -> None:
    """Every count equals its vote rows; nobody supports a question twice, nor their own."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Vote.question_id, Vote.attendee_id, Question.attendee_id).join(
                Question, Question.id == Vote.question_id
            )
        ).all()
        per_question: dict[int, list[int]] = defaultdict(list)
        for question_id, voter, author in rows:
            assert voter != author, f"the author of question {question_id} votes for it"
            per_question[question_id].append(voter)
        for question_id, voter_ids in per_question.items():
            assert len(voter_ids) == len(set(voter_ids)), f"a person counted twice on {question_id}"
        for question_id, count in db.session.execute(sa.select(Question.id, Question.vote_count)):
            assert count == len(per_question.get(question_id, [])), question_id


def episode_slug(app: Flask, number: int) -> str:
    """The slug of an episode of the seed programme."""
    from app.models import Episode

    with app.app_context():
        return db.session.scalar(sa.select(Episode.slug).filter_by(number=number))


def set_replay(app: Flask, number: int, url: str) -> None:
    """Give an episode its replay link."""
    from app.models import Episode

    with app.app_context():
        db.session.scalars(sa.select(Episode).filter_by(number=number)).one().replay_url = url
        db.session.commit()


def seed_question(
    app: Flask,
    text: str = "Comment mobiliser les habitants ?",
    attendee_id: int | None = None,
    episode: int = 1,
    status: str = "nouvelle",
    published: bool = False,
    show_name: bool = False,
    live_order: int | None = None,
) -> int:
    """A question written straight into `app`'s database (the live server's, for browser
    tests: the `make_question` fixture would empty it), by a new attendee unless one is
    given; return its id."""
    from app.models import Attendee, Episode

    with app.app_context():
        target = db.session.scalars(sa.select(Episode).filter_by(number=episode)).one()
        if attendee_id is None:
            attendee = Attendee(
                series_id=target.series_id,
                email=f"auteur-{secrets.token_hex(4)}@example.org",
                first_name="Camille",
                last_name="Martin",
                organisation="Ville de Rennes",
                organisation_kind="collectivite",
                privacy_acknowledged_at=target.starts_at,
            )
            db.session.add(attendee)
            db.session.flush()
            attendee_id = attendee.id
        question = Question(
            episode_id=target.id,
            attendee_id=attendee_id,
            text=text,
            status=status,
            published=published,
            show_name=show_name,
            live_order=live_order,
        )
        db.session.add(question)
        db.session.commit()
        return question.id
