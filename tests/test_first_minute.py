"""The visitor's first minute (issue 14), as the server answers it: the episode the visitor
came from ticked, the question one step away."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Episode
from tests.support.http import htmx_headers, normalise_spaces, sign_in_as
from tests.support.questions import question_rows, send
from tests.support.registration import registration_data

CHECKBOX = re.compile(r'<input([^>]*)name="episodes"([^>]*)>')


def text_of(body: str) -> str:
    """Visible text, unescaped, spaces normalised."""
    body = re.sub(r"<script.*?</script>", "", body, flags=re.S)
    return re.sub(r"\s+", " ", normalise_spaces(html.unescape(re.sub(r"<[^>]+>", " ", body))))


def call_of(body: str) -> str:
    """The call to register (#appel) of a page."""
    match = re.search(r'<div class="call" id="appel">(.*?)\n</div>', body, flags=re.S)
    assert match, "no call on the page"
    return match.group(1)


def ticked(body: str) -> list[str]:
    """The labels of the episodes ticked in a registration form."""
    labels = []
    for attrs in CHECKBOX.findall(body):
        if "checked" in "".join(attrs):
            option_id = re.search(r'id="([^"]+)"', "".join(attrs)).group(1)
            label = re.search(rf'<label for="{option_id}">([^<]+)</label>', body).group(1)
            labels.append(html.unescape(label).split(" ·")[0])
    return labels


def episode_id(app: Flask, number: int) -> int:
    """The database id of an episode."""
    with app.app_context():
        return db.session.scalars(sa.select(Episode.id).filter_by(number=number)).one()


# ---------------------------------------------------------------- the episode in the address
def test_the_form_from_an_episode_ticks_that_one_and_offers_the_others(
    programme: Flask, client: FlaskClient
) -> None:
    body = client.get("/inscription?episode=api").get_data(as_text=True)
    assert len(CHECKBOX.findall(body)) == 7
    assert ticked(body) == ["Épisode 6"]
    assert "L’épisode 6 est coché" in text_of(body)
    assert 'action="/inscription?episode=api"' in body
    # Without JavaScript, "Annuler" leads back to the episode.
    assert re.search(r'<a class="button" href="/episodes/api">Annuler</a>', body)
    # From the programme (or the menu): every upcoming episode, as before.
    plain = client.get("/inscription").get_data(as_text=True)
    assert len(ticked(plain)) == 7
    assert re.search(r'<a class="button" href="/">Annuler</a>', plain)


@pytest.mark.parametrize(
    ("value", "status", "message"),
    [
        ("inconnu", 404, "Cet épisode n’existe pas."),
        ("x" * 5000, 404, "Cet épisode n’existe pas."),
        ("../moi", 404, "Cet épisode n’existe pas."),
        ("plateformes-civictech", 409, "Cet épisode a déjà commencé"),
    ],
)
def test_an_episode_that_cannot_be_chosen_is_said_in_french_above_the_form(
    programme: Flask, client: FlaskClient, value: str, status: int, message: str
) -> None:
    with programme.app_context():
        first = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
    programme.extensions["clock"].freeze(first.starts_at + timedelta(minutes=5))
    for headers in ({}, htmx_headers("appel-actions")):
        response = client.get("/inscription", query_string={"episode": value}, headers=headers)
        assert response.status_code == status
        body = response.get_data(as_text=True)
        assert message in html.unescape(body)
        # The form is still there, with every episode that can be chosen.
        assert len(ticked(body)) == 6


def test_an_empty_episode_in_the_address_is_no_episode(
    programme: Flask, client: FlaskClient
) -> None:
    response = client.get("/inscription?episode=")
    assert response.status_code == 200
    assert len(ticked(response.get_data(as_text=True))) == 7


def test_registering_from_an_episode_leads_on_to_asking_for_it(
    programme: Flask, client: FlaskClient
) -> None:
    data = registration_data(client, episodes=[str(episode_id(programme, 6))])
    response = client.post("/inscription?episode=api", data=data)
    assert response.status_code == 303
    assert response.headers["Location"] == "/inscription/confirmation?episode=api"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(
        r'<a class="button button-primary" href="/episodes/api/questions/poser"[^>]*>'
        r"Poser ma question pour cet épisode</a>",
        page,
    )
    # A freshly registered browser has limited rights, enough to send a question.
    assert send(client, programme, "Une API, concrètement, ça sert à quoi ?", 6).status_code == 200
    assert [q.text for q in question_rows(programme)] == ["Une API, concrètement, ça sert à quoi ?"]


def test_in_place_the_confirmation_opens_the_episodes_question_area(
    programme: Flask, client: FlaskClient
) -> None:
    data = registration_data(client, episodes=[str(episode_id(programme, 6))])
    fragment = client.post(
        "/inscription?episode=api", data=data, headers=htmx_headers("inscription-form")
    ).get_data(as_text=True)
    assert "<html" not in fragment
    assert 'hx-get="/episodes/api/questions/poser" hx-target="#poser-6"' in fragment


def test_no_offer_to_ask_for_an_episode_the_visitor_did_not_keep(
    programme: Flask, client: FlaskClient
) -> None:
    data = registration_data(client, episodes=[str(episode_id(programme, 2))])
    fragment = client.post(
        "/inscription?episode=api", data=data, headers=htmx_headers("inscription-form")
    ).get_data(as_text=True)
    assert "Poser ma question pour cet épisode" not in fragment
    assert "Une question pour les intervenants" in html.unescape(fragment)


def test_after_asking_the_way_back_to_the_programme(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    attendee_id, _ = make_attendee(episodes=(2,))
    sign_in_as(client, attendee_id)
    body = send(client, programme, "Comment éviter les mauvaises surprises ?", 2).get_data(
        as_text=True
    )
    assert "Question envoyée." in body
    assert '<a href="/#episode-2">Revenir au programme</a>' in body
