"""Bad input: a French message next to the field, a 4xx, never a 500, nothing half-written."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.http import csrf_from, htmx_headers, sign_in_as
from tests.support.questions import ask_url, open_ask_area, question_rows, registered_numbers

CASES = {
    "empty": ("", "Écrivez votre question avant de l’envoyer."),
    "spaces only": ("   \r\n\t  ", "Écrivez votre question avant de l’envoyer."),
    "too short": ("Pourquoi?", "trop courte : 10 caractères au moins (elle en compte"),
    "10,000 characters": (
        "x" * 10_000,
        "trop longue : 500 caractères au plus (elle en compte 10000)",
    ),
    "501 characters": ("é" * 501, "trop longue : 500 caractères au plus (elle en compte 501)"),
}
#: refused at the door for every form (app/guards.py), before the question form sees them
INVISIBLE = {
    "NUL byte": "Une question\x00 avec un octet nul",
    "escape character": "Une question \x1b[31m colorée",
}

ACCEPTED = {
    "HTML and JS": '<script>alert("x")</script><img src=x onerror=alert(1)> est-ce grave ?',
    "htmx attributes": '<button hx-get="/nulle-part" hx-trigger="load">piège</button> ?',
    "CR/LF": "Première ligne\r\nDeuxième ligne\rTroisième ligne",
    "non-Latin scripts": "Как вовлечь жителей? 市民参加はどう進めるべきですか？ كيف نشرك السكان؟",
    "emoji": "Comment garder l’énergie du groupe 🔥🙌🏽 après la réunion ? 👩🏾‍🦱",
    "exactly 500 with emoji": "👍" * 500,
    "exactly 10": "Pourquoi ?",
}


@pytest.fixture
def signed_in(programme: Flask, client: FlaskClient, make_attendee) -> int:
    attendee_id, _ = make_attendee(episodes=(1,))
    sign_in_as(client, attendee_id)
    return attendee_id


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
@pytest.mark.parametrize("text", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_characters_are_refused_at_the_door(
    programme: Flask, client: FlaskClient, signed_in: int, text: str, htmx: bool
) -> None:
    token = csrf_from(open_ask_area(client, programme, 2))
    response = client.post(
        ask_url(programme, 2),
        data={"text": text, "csrf_token": token},
        headers=htmx_headers("zone-question-2") if htmx else {},
    )
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "caractères invisibles non autorisés" in body
    if htmx:  # in the alert region: the form and what was typed stay on screen
        assert response.headers["HX-Retarget"] == "#alerts"
    assert question_rows(programme) == []


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
@pytest.mark.parametrize(("text", "message"), CASES.values(), ids=CASES.keys())
def test_bad_question_gets_a_message_next_to_the_field(
    programme: Flask,
    client: FlaskClient,
    signed_in: int,
    text: str,
    message: str,
    htmx: bool,
) -> None:
    token = csrf_from(open_ask_area(client, programme, 2))
    response = client.post(
        ask_url(programme, 2),
        data={"text": text, "csrf_token": token, "show_name": "y"},
        headers=htmx_headers("zone-question-2") if htmx else {},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert ("<html" in body) is not htmx
    error = re.search(r'<p class="error-message" id="question-2-texte-erreur">([^<]*)</p>', body)
    assert error and message in error.group(1).replace("&#39;", "'")
    textarea = re.search(r"<textarea[^>]*>", body).group(0)
    assert 'aria-invalid="true"' in textarea
    assert "question-2-texte-erreur" in textarea
    # The name choice is kept.
    assert re.search(r'<input type="checkbox"[^>]*checked', body)
    assert question_rows(programme) == []
    # Nothing half-written: not even the registration to episode 2.
    assert registered_numbers(programme, signed_in) == {1}


@pytest.mark.parametrize("text", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_unusual_but_valid_questions_are_kept_as_written(
    programme: Flask, client: FlaskClient, signed_in: int, text: str
) -> None:
    token = csrf_from(open_ask_area(client, programme, 1))
    response = client.post(
        ask_url(programme, 1),
        data={"text": text, "csrf_token": token},
        headers=htmx_headers("zone-question-1"),
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    [question] = question_rows(programme)
    expected = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    assert question.text == expected
    body = response.get_data(as_text=True)
    # Shown escaped, inside an element htmx does not process.
    assert "<script>" not in body and "<button hx-get" not in body
    item = re.search(r'<p class="question-text" id="question-\d+-texte" hx-disable>', body)
    assert item


def test_the_text_typed_is_kept_after_an_error(
    programme: Flask, client: FlaskClient, signed_in: int
) -> None:
    token = csrf_from(open_ask_area(client, programme, 1))
    response = client.post(
        ask_url(programme, 1),
        data={"text": "Trop <b>", "csrf_token": token},
        headers=htmx_headers("zone-question-1"),
    )
    assert response.status_code == 422
    assert ">Trop &lt;b&gt;</textarea>" in response.get_data(as_text=True)


def test_an_oversized_body_is_refused_cleanly(
    programme: Flask, client: FlaskClient, signed_in: int
) -> None:
    token = csrf_from(open_ask_area(client, programme, 1))
    response = client.post(
        ask_url(programme, 1),
        data={"text": "x" * 2_000_000, "csrf_token": token},
        headers=htmx_headers("zone-question-1"),
    )
    assert response.status_code in (413, 422)
    assert question_rows(programme) == []
