"""A programme with something of every kind behind the open-data API: private values that
must never leave (join links, e-mails, notes, a decline's detail), an anonymous author and a
named one, and every public fate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import Episode, Question
from tests.support.database import NOW
from tests.support.fates import add_votes

#: after episode 1 (Thursday 26 November 2026, 10:00–11:00 UTC), before episode 2
AFTER_EPISODE_1 = NOW + timedelta(days=2)
JOIN_LINK = "https://visio.example.org/rejoindre-SECRET-JOIN"
REPLAY = "https://video.example.org/replay-episode-1"


@dataclass
class OpenDataWorld:
    """The seeded app and what the API may and may not say of it."""

    app: Flask
    #: values that must appear in no answer of the API
    secrets: list[str]
    anonymous_id: int
    named_id: int
    merged_id: int
    carried_id: int
    continuation_id: int
    unpublished_id: int
    declined_id: int


def _update(app: Flask, question_id: int, **values: object) -> None:
    with app.app_context():
        db.session.execute(sa.update(Question).where(Question.id == question_id).values(**values))
        db.session.commit()


@pytest.fixture
def open_data_world(
    programme: Flask, make_attendee: Callable[..., tuple[int, str]], make_question: Callable
) -> OpenDataWorld:
    """Episode 1 is over, with a join link, a replay and questions of every fate."""
    app = programme
    with app.app_context():
        db.session.execute(sa.update(Episode).values(join_url=JOIN_LINK))
        db.session.execute(sa.update(Episode).filter_by(number=1).values(replay_url=REPLAY))
        db.session.commit()
    hidden, _ = make_attendee(
        email="alix.cachee@example.org",
        first_name="Alix",
        last_name="Cachée",
        organisation="Mairie de Secretville",
    )
    shown, _ = make_attendee(
        email="dominique.visible@example.org", first_name="Dominique", last_name="Visible"
    )
    voters = [make_attendee(email=f"soutien{n}@example.org")[0] for n in range(3)]
    anonymous = make_question("Question anonyme ?", published=True, attendee_id=hidden)
    named = make_question("Question signée ?", published=True, show_name=True, attendee_id=shown)
    merged = make_question("Question regroupée ?", published=True, attendee_id=hidden)
    carried = make_question("Question reportée ?", published=True, attendee_id=hidden)
    continuation = make_question(
        "Question reportée ?", episode=2, published=True, attendee_id=hidden
    )
    unpublished = make_question("Question non publiée ?", attendee_id=hidden)
    declined = make_question("Question écartée ?", attendee_id=hidden)
    add_votes(app, anonymous, voters)
    _update(app, anonymous, status="repondue", replay_seconds=754, note="NOTE-PRIVEE-UN")
    _update(app, named, status="ecrit", written_answer="Voici la réponse.", note="NOTE-PRIVEE-DEUX")
    _update(app, merged, status="fusionnee", merged_into_id=named)
    _update(app, carried, status="reportee", carried_to_id=continuation)
    _update(app, declined, status="ecartee", decline_reason="charte", decline_detail="DETAIL-PRIVE")
    app.extensions["clock"].freeze(AFTER_EPISODE_1)
    return OpenDataWorld(
        app=app,
        secrets=[
            JOIN_LINK,
            "SECRET-JOIN",
            "alix.cachee@example.org",
            "dominique.visible@example.org",
            "soutien0@example.org",
            "@example.org",
            "Alix",
            "Cachée",
            "Secretville",
            "NOTE-PRIVEE",
            "DETAIL-PRIVE",
            "Question non publiée",
            "Question écartée",
        ],
        anonymous_id=anonymous,
        named_id=named,
        merged_id=merged,
        carried_id=carried,
        continuation_id=continuation,
        unpublished_id=unpublished,
        declined_id=declined,
    )
