"""Questions close when the episode starts, on the server's clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.http import csrf_from, htmx_headers, sign_in_as
from tests.support.questions import add_question, ask_url, open_ask_area, question_rows, starts_at

QUESTION = "Quelle place donner aux élus pendant la concertation ?"


@pytest.fixture
def signed_in(programme: Flask, client: FlaskClient, make_attendee) -> int:
    attendee_id, _ = make_attendee(episodes=(1,))
    sign_in_as(client, attendee_id)
    return attendee_id


def post_question(client: FlaskClient, app: Flask, token: str, htmx: bool = True):
    headers = htmx_headers("zone-question-1") if htmx else {}
    return client.post(
        ask_url(app, 1), data={"text": QUESTION, "csrf_token": token}, headers=headers
    )


def test_one_second_before_the_start_is_accepted(
    programme: Flask, client: FlaskClient, signed_in: int
) -> None:
    token = csrf_from(open_ask_area(client, programme, 1))
    programme.extensions["clock"].freeze(starts_at(programme, 1) - timedelta(seconds=1))
    response = post_question(client, programme, token)
    assert response.status_code == 200
    assert "Question envoyée" in response.get_data(as_text=True)
    assert len(question_rows(programme)) == 1


@pytest.mark.parametrize("htmx", [True, False])
def test_at_the_start_a_post_is_refused_and_nothing_written(
    programme: Flask, client: FlaskClient, signed_in: int, htmx: bool
) -> None:
    # The form was opened while open; it is sent once the live has begun.
    token = csrf_from(open_ask_area(client, programme, 1))
    programme.extensions["clock"].freeze(starts_at(programme, 1))
    response = post_question(client, programme, token, htmx=htmx)
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "Les questions sont closes pour cet épisode" in body
    assert "Votre question n’a pas été envoyée" in body
    # What was typed is given back, to be kept (inert, like every typed text).
    assert f'<p class="question-text typed-copy" hx-disable>{QUESTION}</p>' in body.replace(
        "&#39;", "'"
    )
    assert ("<html" in body) is not htmx
    assert question_rows(programme) == []


def test_the_form_says_questions_are_closed_once_started(
    programme: Flask, client: FlaskClient, signed_in: int
) -> None:
    programme.extensions["clock"].freeze(starts_at(programme, 1))
    fragment = open_ask_area(client, programme, 1)
    assert "Les questions sont closes pour cet épisode" in fragment
    assert "<textarea" not in fragment
    # The programme page says it too, instead of offering the link.
    body = client.get("/").get_data(as_text=True)
    assert body.count(">Poser une question<") == 6
    assert "Questions closes&nbsp;: elles sont reçues jusqu’au début de l’épisode." in body


def test_edit_and_withdraw_close_at_the_start(
    programme: Flask, client: FlaskClient, signed_in: int
) -> None:
    question_id = add_question(programme, signed_in, number=1, text=QUESTION)
    token = csrf_from(open_ask_area(client, programme, 1))
    # One second before: the actions are offered.
    programme.extensions["clock"].freeze(starts_at(programme, 1) - timedelta(seconds=1))
    assert f"/questions/{question_id}/modifier" in open_ask_area(client, programme, 1)
    assert client.get(f"/questions/{question_id}/modifier").status_code == 200
    # At the start: no more actions, and posts are refused.
    programme.extensions["clock"].freeze(starts_at(programme, 1))
    fragment = open_ask_area(client, programme, 1)
    assert QUESTION in fragment
    assert f"/questions/{question_id}/modifier" not in fragment
    edit = client.post(
        f"/questions/{question_id}/modifier",
        data={"text": "Un tout autre texte pour la question.", "csrf_token": token},
        headers=htmx_headers(f"question-{question_id}"),
    )
    assert edit.status_code == 409
    assert "Les questions sont closes" in edit.get_data(as_text=True)
    withdraw = client.post(
        f"/questions/{question_id}/retirer",
        data={"csrf_token": token},
        headers=htmx_headers(f"question-{question_id}"),
    )
    assert withdraw.status_code == 409
    [question] = question_rows(programme)
    assert question.text == QUESTION
    assert client.get(f"/questions/{question_id}/modifier").status_code == 409
    assert client.get(f"/questions/{question_id}/retirer").status_code == 409
