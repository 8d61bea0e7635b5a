"""Hostile input never makes a 500 nor half a row (issue 11, findings 4, 5 and 8)."""

from __future__ import annotations

import statistics
import time

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Attendee, Episode, FacilitatorAction, LinkRequest, OutboxMessage, Question
from app.vocabulary import MailKind
from tests.support.http import csrf_from, htmx_headers, sign_in_as
from tests.support.questions import ask_url
from tests.support.registration import register, registration_data, started_from

MALFORMED = ["http://[x", "//evil.example/", "/\t/evil.example", "https://evil.example/"]


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# ---------------------------------------------------------------- finding 4: non-form bodies
@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("ASK", {"text": 123}),
        ("/animation/connexion", {"email": "a@example.org", "password": 123}),
        ("/inscription", {"first_name": ["x"], "email": None}),
        ("/moi/lien", {"email": {"$ne": ""}}),
    ],
    ids=["question", "login", "registration", "link-request"],
)
def test_a_json_body_is_a_415_and_writes_nothing(
    programme: Flask, client: FlaskClient, make_attendee, url: str, body: dict
) -> None:
    attendee_id, _ = make_attendee()
    sign_in_as(client, attendee_id, rights="limited")
    url = ask_url(programme, 2) if url == "ASK" else url
    before = [count(programme, model) for model in (Attendee, Question, LinkRequest)]
    for headers in ({}, htmx_headers()):
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 415, url
        assert "Ce format d’envoi n’est pas pris en charge" in response.get_data(as_text=True)
    assert [count(programme, model) for model in (Attendee, Question, LinkRequest)] == before


def test_other_bodies_are_refused_too(programme: Flask, client: FlaskClient) -> None:
    for content_type in ("text/plain", "application/xml", "application/octet-stream"):
        response = client.post("/inscription", data=b"first_name=x", content_type=content_type)
        assert response.status_code == 415, content_type


@pytest.mark.parametrize("target", MALFORMED)
def test_malformed_return_addresses_fall_back_to_a_safe_default(
    facilitator_client: FlaskClient, programme: Flask, make_question, target: str
) -> None:
    question_id = make_question()
    with programme.app_context():
        slug = db.session.scalar(sa.select(Episode.slug).filter_by(number=1))
    review = f"/animation/episodes/{slug}/questions"
    token = csrf_from(facilitator_client.get(review).get_data(as_text=True))
    response = facilitator_client.post(
        f"{review}/{question_id}", data={"csrf_token": token, "action": "retenue", "back": target}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == review  # not the malformed address
    with programme.app_context():  # saved once, with its journal line
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FacilitatorAction)) >= 1
    login = programme.test_client().get(f"/animation/connexion?next={target}")
    assert login.status_code == 200
    guarded = programme.test_client().get(
        "/animation/", headers={"HX-Request": "true", "HX-Current-URL": target}
    )
    assert guarded.status_code == 401
    assert guarded.headers["HX-Redirect"].startswith("/animation/connexion")


@pytest.mark.parametrize("target", MALFORMED)
def test_a_malformed_retour_on_a_question_is_ignored(
    programme: Flask, client: FlaskClient, make_attendee, target: str
) -> None:
    attendee_id, _ = make_attendee()
    sign_in_as(client, attendee_id)
    with programme.app_context():
        episode_id = db.session.scalar(sa.select(Episode.id).filter_by(number=2))
        question = Question(episode_id=episode_id, attendee_id=attendee_id, text="Une question.")
        db.session.add(question)
        db.session.commit()
        question_id = question.id
    page = client.get(f"/questions/{question_id}/modifier?retour={target}")
    assert page.status_code == 200
    assert target not in page.get_data(as_text=True)


# ---------------------------------------------------------------- finding 5: NUL bytes
@pytest.mark.parametrize(
    "url",
    [
        "/episodes/%00",
        "/episodes/api?tri=%00",
        "/episodes/a%00b.ics",
        "/agenda.ics?episodes=1%00",
        "/moi/%00",
        "/animation/connexion?next=/animation/%00",
    ],
)
def test_nul_in_an_address_is_a_400(programme: Flask, client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 400, url
    assert "caractères invisibles" in response.get_data(as_text=True)


def test_nul_in_any_field_is_refused_and_a_nul_never_reaches_the_database(
    facilitator_client: FlaskClient, programme: Flask, client: FlaskClient
) -> None:
    with programme.app_context():
        slug = db.session.scalar(sa.select(Episode.slug).filter_by(number=2))
    edit = f"/animation/episodes/{slug}/modifier"
    form = facilitator_client.get(edit).get_data(as_text=True)
    response = facilitator_client.post(
        edit,
        data={
            "csrf_token": csrf_from(form),
            "title": "Titre",
            "date": "2026-12-03",
            "time": "11:00",
            "duration_minutes": "60",
            "speakers": "Nom\x00, rôle",
        },
    )
    assert response.status_code == 400
    # Later registrations to that episode still work (the NUL was never stored).
    assert register(client, htmx=True).status_code == 200
    data = registration_data(client, organisation="Ville\x00de Lyon", email="nul@example.org")
    assert client.post("/inscription", data=data).status_code == 400
    assert count(programme, Attendee) == 1


# ---------------------------------------------------------------- finding 8: timing
def test_receive_my_link_takes_the_same_time_for_a_registered_address(
    programme: Flask, make_attendee
) -> None:
    make_attendee(email="inscrite@example.org")
    client = programme.test_client()
    form = client.get("/moi/lien").get_data(as_text=True)
    fields = {"csrf_token": csrf_from(form), "started": started_from(form)}

    def ask(address: str) -> float:
        started = time.perf_counter()
        response = client.post("/moi/lien", data={**fields, "email": address})
        elapsed = time.perf_counter() - started
        assert response.status_code == 200
        return elapsed

    for _ in range(20):  # warm up both paths
        ask("inscrite@example.org")
        ask("inconnue@example.org")
    known, unknown = [], []
    for _ in range(300):  # alternating, so that drifts of the machine touch both alike
        known.append(ask("inscrite@example.org"))
        unknown.append(ask("inconnue@example.org"))
    gap_ms = abs(statistics.median(known) - statistics.median(unknown)) * 1000
    assert gap_ms < 1.0, f"medians differ by {gap_ms:.2f} ms"
    # The lookup happens afterwards, in the sender: one link for the registered address.
    from app.attendee.services import process_link_requests

    with programme.app_context():
        # (The background sender may have answered some already: count what was sent.)
        process_link_requests(limit=10_000)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LinkRequest)) == 0
        links = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == MailKind.PERSONAL_LINK)
        )
        assert links == 3  # the hourly limit, whatever the asks
