"""Editing and withdrawing one's questions, from the episode or from the personal space."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask, render_template
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Attendee, Question
from tests.support.http import csrf_from, htmx_headers, sign_in_as
from tests.support.questions import (
    add_question,
    ask_url,
    open_ask_area,
    question_rows,
    send,
    token_for,
    vote,
    vote_count,
    vote_rows,
)

FIRST = "Comment associer les habitants des quartiers prioritaires ?"
SECOND = "Comment associer les habitants des quartiers prioritaires, en ligne ?"


@pytest.fixture
def author(programme: Flask, client: FlaskClient, make_attendee) -> int:
    attendee_id, _ = make_attendee(episodes=(1, 2))
    sign_in_as(client, attendee_id)
    return attendee_id


def test_edit_in_place(programme: Flask, client: FlaskClient, author: int) -> None:
    question_id = add_question(programme, author, number=1, text=FIRST)
    fragment = open_ask_area(client, programme, 1)
    assert f'hx-get="/questions/{question_id}/modifier?retour=' in fragment
    form = client.get(
        f"/questions/{question_id}/modifier", headers=htmx_headers(f"question-{question_id}")
    )
    assert form.status_code == 200
    body = form.get_data(as_text=True)
    assert body.lstrip().startswith(f'<li class="my-question editing" id="question-{question_id}"')
    assert f">{FIRST}</textarea>" in body.replace("&#39;", "'")
    token = csrf_from(body)
    saved = client.post(
        f"/questions/{question_id}/modifier",
        data={"text": SECOND, "show_name": "y", "csrf_token": token, "retour": "/"},
        headers=htmx_headers(f"question-{question_id}"),
    )
    assert saved.status_code == 200
    body = saved.get_data(as_text=True)
    assert body.lstrip().startswith(f'<li class="my-question" id="question-{question_id}"')
    assert "Question modifiée" in body and SECOND in body.replace("&#39;", "'")
    assert saved.headers["HX-Trigger"] == "questions-changed"
    [question] = question_rows(programme)
    assert question.text == SECOND and question.show_name is True


def test_edit_errors_come_back_in_place(programme: Flask, client: FlaskClient, author: int) -> None:
    question_id = add_question(programme, author, number=1, text=FIRST)
    token = token_for(client, programme)
    response = client.post(
        f"/questions/{question_id}/modifier",
        data={"text": "court", "csrf_token": token},
        headers=htmx_headers(f"question-{question_id}"),
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert f'id="modif-{question_id}-texte-erreur"' in body
    assert "trop courte" in body
    assert question_rows(programme)[0].text == FIRST


def test_edit_and_withdraw_without_javascript(
    programme: Flask, client: FlaskClient, author: int
) -> None:
    question_id = add_question(programme, author, number=1, text=FIRST)
    page = client.get(
        f"/questions/{question_id}/modifier?retour=/episodes/plateformes-civictech/questions/poser"
    )
    assert page.status_code == 200
    assert "<h1>Modifier ma question</h1>" in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))
    saved = client.post(
        f"/questions/{question_id}/modifier",
        data={"text": SECOND, "csrf_token": token, "retour": ask_url(programme, 1)},
    )
    assert saved.status_code == 303
    assert saved.headers["Location"] == ask_url(programme, 1) + f"#question-{question_id}"
    assert "Votre question a été modifiée." in client.get(ask_url(programme, 1)).get_data(
        as_text=True
    )

    confirm = client.get(f"/questions/{question_id}/retirer")
    assert confirm.status_code == 200
    assert "Retirer cette question&nbsp;?" in confirm.get_data(as_text=True)
    assert question_rows(programme)  # a GET never deletes
    gone = client.post(
        f"/questions/{question_id}/retirer", data={"csrf_token": token, "retour": "/moi/abc"}
    )
    assert gone.status_code == 303 and gone.headers["Location"] == "/moi/abc"
    assert question_rows(programme) == []


@pytest.mark.parametrize("retour", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_plain_redirects_stay_on_the_site(
    programme: Flask, client: FlaskClient, author: int, retour: str
) -> None:
    question_id = add_question(programme, author, number=1, text=FIRST)
    token = token_for(client, programme)
    response = client.post(
        f"/questions/{question_id}/modifier",
        data={"text": SECOND, "csrf_token": token, "retour": retour},
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith(ask_url(programme, 1))


def test_withdraw_in_place_deletes_the_question_and_its_votes(
    programme: Flask, client: FlaskClient, app: Flask, author: int, make_attendee
) -> None:
    question_id = add_question(programme, author, number=1, text=FIRST, published=True)
    voter_id, _ = make_attendee()
    voter = app.test_client()
    sign_in_as(voter, voter_id)
    assert vote(voter, question_id, token_for(voter, programme)).status_code == 200
    assert vote_rows(programme, question_id) == [(question_id, voter_id)]
    assert FIRST in client.get("/episodes/plateformes-civictech").get_data(as_text=True).replace(
        "&#39;", "'"
    )

    confirm = client.get(
        f"/questions/{question_id}/retirer", headers=htmx_headers(f"question-{question_id}")
    )
    assert "<html" not in confirm.get_data(as_text=True)
    token = csrf_from(confirm.get_data(as_text=True))
    response = client.post(
        f"/questions/{question_id}/retirer",
        data={"csrf_token": token},
        headers=htmx_headers(f"question-{question_id}"),
    )
    assert response.status_code == 200
    assert "Question retirée." in response.get_data(as_text=True)
    assert response.headers["HX-Trigger"] == "questions-changed"
    assert question_rows(programme) == []
    assert vote_rows(programme) == []
    # Gone from every view.
    for page in ("/episodes/plateformes-civictech", ask_url(programme, 1), "/"):
        assert "quartiers prioritaires" not in client.get(page).get_data(as_text=True)
        assert "quartiers prioritaires" not in voter.get(page).get_data(as_text=True)
    assert client.get(f"/questions/{question_id}/modifier").status_code == 404


def test_changing_a_published_text_sends_it_back_to_review(
    programme: Flask, client: FlaskClient, app: Flask, author: int, make_attendee
) -> None:
    question_id = add_question(
        programme, author, number=1, text=FIRST, published=True, status="retenue"
    )
    voter_id, _ = make_attendee()
    voter = app.test_client()
    sign_in_as(voter, voter_id)
    vote(voter, question_id, token_for(voter, programme))
    assert vote_count(programme, question_id) == 1
    form = client.get(f"/questions/{question_id}/modifier").get_data(as_text=True)
    assert "la question repasse en relecture" in form and "perd ses votes" in form
    token = csrf_from(form)
    # Only the name choice: nothing else changes.
    client.post(
        f"/questions/{question_id}/modifier",
        data={"text": FIRST, "show_name": "y", "csrf_token": token},
    )
    [question] = question_rows(programme)
    assert question.published and question.status == "retenue" and question.vote_count == 1
    # A new text: unpublished, back to "nouvelle", votes gone.
    client.post(f"/questions/{question_id}/modifier", data={"text": SECOND, "csrf_token": token})
    [question] = question_rows(programme)
    assert not question.published and question.status == "nouvelle"
    assert question.vote_count == 0 and vote_rows(programme) == []


def test_nobody_else_can_see_edit_or_withdraw(
    programme: Flask, client: FlaskClient, app: Flask, author: int, make_attendee
) -> None:
    question_id = add_question(programme, author, number=1, text=FIRST)
    other_id, _ = make_attendee()
    for rights in ("full", "limited"):
        other = app.test_client()
        sign_in_as(other, other_id, rights=rights)
        token = token_for(other, programme)
        assert other.get(f"/questions/{question_id}/modifier").status_code == 404
        assert other.get(f"/questions/{question_id}/retirer").status_code == 404
        assert other.get(f"/questions/{question_id}").status_code == 404
        post = other.post(
            f"/questions/{question_id}/modifier", data={"text": SECOND, "csrf_token": token}
        )
        assert post.status_code == 404
        assert (
            other.post(f"/questions/{question_id}/retirer", data={"csrf_token": token}).status_code
            == 404
        )
    anonymous = app.test_client()
    assert anonymous.get(f"/questions/{question_id}/modifier").status_code == 404
    assert question_rows(programme)[0].text == FIRST


def test_limited_rights_edit_only_what_this_browser_sent(
    programme: Flask, client: FlaskClient, app: Flask, author: int
) -> None:
    earlier = add_question(programme, author, number=1, text=FIRST)
    limited = app.test_client()
    sign_in_as(limited, author, rights="limited")
    send(limited, programme, "Une question envoyée depuis ce navigateur-ci.", number=1)
    here = question_rows(programme)[-1].id
    assert limited.get(f"/questions/{earlier}/modifier").status_code == 404
    assert limited.get(f"/questions/{here}/modifier").status_code == 200


def test_personal_space_partial_lists_questions_with_their_status(
    programme: Flask, author: int
) -> None:
    from app.questions.board import questions_for_attendee

    add_question(programme, author, number=2, text="Deuxième épisode : une question reçue.")
    add_question(
        programme,
        author,
        number=1,
        text="Premier épisode : une question retenue.",
        status="retenue",
    )
    add_question(
        programme,
        author,
        number=1,
        text="Premier épisode : une question écartée.",
        status="ecartee",
    )
    add_question(
        programme, author, number=3, text="Troisième : question répondue.", status="repondue"
    )
    with programme.test_request_context("/moi/jeton-de-test"):
        groups = questions_for_attendee(author)
        assert [g.episode.number for g in groups] == [1, 2, 3]
        assert [len(g.questions) for g in groups] == [2, 1, 1]
        assert all(g.open for g in groups)
        html = render_template("questions/_attendee_questions.html", attendee_questions=groups)
    assert '<h2 id="titre-mes-questions">Mes questions</h2>' in html
    labels = re.findall(r"Statut&nbsp;: (\w+)", html)
    assert labels == ["retenue", "écartée", "reçue", "répondue"]
    assert html.count(">Modifier</a>") == 4
    assert "retour=/moi/jeton-de-test" in html
    # Once episode 1 has started, its questions are read-only there.
    from tests.support.questions import starts_at

    programme.extensions["clock"].freeze(starts_at(programme, 1))
    with programme.test_request_context("/moi/jeton-de-test"):
        html = render_template(
            "questions/_attendee_questions.html", attendee_questions=questions_for_attendee(author)
        )
    assert html.count(">Modifier</a>") == 2
    assert "Les questions de cet épisode sont closes." in html


def test_personal_space_partial_when_there_is_nothing(programme: Flask, author: int) -> None:
    from app.questions.board import questions_for_attendee

    with programme.test_request_context("/moi/x"):
        html = render_template(
            "questions/_attendee_questions.html", attendee_questions=questions_for_attendee(author)
        )
    assert "Vous n’avez pas encore posé de question" in html


def test_erasure_removes_questions_and_votes_and_fixes_counts(
    programme: Flask, author: int, make_attendee
) -> None:
    from app.attendee.services import erase
    from app.questions.services import set_vote

    other_id, _ = make_attendee()
    theirs = add_question(programme, other_id, number=1, text=FIRST, published=True)
    mine = add_question(programme, author, number=1, text=SECOND, published=True)
    with programme.app_context():
        set_vote(theirs, author, True)
        set_vote(mine, other_id, True)
    assert vote_count(programme, theirs) == 1
    with programme.app_context():
        erase(author)
        assert db.session.scalars(sa.select(Question.id)).all() == [theirs]
        assert db.session.get(Attendee, author) is None
    assert vote_rows(programme) == []
    assert vote_count(programme, theirs) == 0
