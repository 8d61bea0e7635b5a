"""Rows made straight in the database: attendees with their registrations, questions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from tests.support.database import NOW


@pytest.fixture
def make_attendee(request: pytest.FixtureRequest) -> Callable[..., tuple[int, str]]:
    """Create an attendee registered to the given episode numbers; return (id, token).

    Browser tests pass `target_app=live_app`; other tests get the `app` fixture (asked for
    lazily, so that a browser test does not empty the live server's database).
    """
    from app.identity import issue_token
    from app.models import Attendee, Episode, Registration, Series

    counter = iter(range(1, 1_000_000))

    def factory(
        email: str | None = None,
        episodes: tuple[int, ...] = (1, 2, 3),
        first_name: str = "Camille",
        last_name: str = "Martin",
        organisation: str = "Ville de Rennes",
        organisation_kind: str = "collectivite",
        target_app: Flask | None = None,
        language: str = "fr",
    ) -> tuple[int, str]:
        application = target_app or request.getfixturevalue("app")
        with application.app_context():
            series = db.session.scalars(sa.select(Series)).first()
            assert series is not None, "load the programme first"
            attendee = Attendee(
                series_id=series.id,
                email=email or f"personne{next(counter)}@example.org",
                first_name=first_name,
                last_name=last_name,
                organisation=organisation,
                organisation_kind=organisation_kind,
                job_title="",
                privacy_acknowledged_at=NOW,
                language=language,
            )
            db.session.add(attendee)
            db.session.flush()
            for episode in db.session.scalars(
                sa.select(Episode).where(Episode.number.in_(episodes))
            ):
                db.session.add(Registration(attendee_id=attendee.id, episode_id=episode.id))
            token = issue_token(attendee)
            db.session.commit()
            return attendee.id, token

    return factory


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
