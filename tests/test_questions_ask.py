"""Asking a question: the area opened in place, known and unknown visitors, no-JS path."""

from __future__ import annotations

import html
import re

from flask import Flask
from flask.testing import FlaskClient

from tests.support.http import csrf_from, htmx_headers, normalise_spaces, sign_in_as
from tests.support.questions import ask_url, open_ask_area, question_rows, registered_numbers, send

QUESTION = "Comment mobiliser les habitants qui ne viennent jamais aux réunions ?"


def text_of(body: str) -> str:
    """Visible text, unescaped, spaces normalised."""
    return re.sub(r"\s+", " ", normalise_spaces(html.unescape(re.sub(r"<[^>]+>", " ", body))))


def test_programme_page_links_to_the_question_area_of_upcoming_episodes(
    programme: Flask, client: FlaskClient
) -> None:
    body = client.get("/").get_data(as_text=True)
    links = re.findall(
        r'<a class="button" href="(/episodes/[^"]+/questions/poser)" hx-get="\1"', body
    )
    assert len(links) == 7
    assert 'hx-target="#poser-1"' in body
    # Shared page: no token, no session, no per-visitor part.
    assert "csrf" not in body.lower()


def test_programme_page_stays_shared_for_a_known_visitor(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    anonymous = client.get("/")
    attendee_id, _ = make_attendee()
    sign_in_as(client, attendee_id)
    known = client.get("/")
    assert known.get_data() == anonymous.get_data()
    assert known.headers["ETag"] == anonymous.headers["ETag"]
    assert "Set-Cookie" not in known.headers


def test_unknown_visitor_is_offered_to_register_or_get_their_link(
    programme: Flask, client: FlaskClient
) -> None:
    fragment = open_ask_area(client, programme, 2)
    assert "<html" not in fragment
    assert "<textarea" not in fragment
    # Registering from here ticks this episode (issue 14).
    assert 'href="/inscription?episode=budget-participatif"' in fragment
    assert 'href="/moi/lien"' in fragment
    assert "Je m’inscris au cycle" in fragment
    assert "recevoir mon lien personnel" in fragment
    # Without JavaScript, the same choice on a page of its own.
    page = client.get(ask_url(programme, 2))
    assert page.status_code == 200
    assert "<html" in page.get_data(as_text=True)
    assert 'href="/moi/lien"' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"


def test_known_visitor_gets_the_form_with_its_token_and_counter(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    attendee_id, _ = make_attendee(first_name="Inès", last_name="Benali")
    sign_in_as(client, attendee_id)
    fragment = open_ask_area(client, programme, 1)
    assert (
        'hx-headers=\'{"X-CSRFToken": "' in fragment.split("\n", 3)[3][:400]
        or "X-CSRFToken" in fragment
    )
    textarea = re.search(r"<textarea[^>]*>", fragment).group(0)
    for attribute in (
        'maxlength="500"',
        'minlength="10"',
        "required",
        'data-counter="question-1-texte-compteur"',
    ):
        assert attribute in textarea
    assert 'aria-describedby="question-1-texte-aide question-1-texte-compteur"' in textarea
    assert 'aria-live="polite"' in fragment
    # Anonymous by default; full rights see their own name in the choice.
    checkbox = re.search(r'<input type="checkbox"[^>]*>', fragment).group(0)
    assert "checked" not in checkbox
    assert "Afficher mon nom (Inès Benali)" in fragment
    assert "L’animateur voit toujours qui l’a posée" in fragment


def test_limited_rights_never_show_the_name_on_file(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    # Anyone can type anyone's e-mail: a browser that only registered must not learn it.
    attendee_id, _ = make_attendee(first_name="Inès", last_name="Benali")
    sign_in_as(client, attendee_id, rights="limited")
    fragment = open_ask_area(client, programme, 1)
    assert "<textarea" in fragment
    assert "Benali" not in fragment


def test_sending_replaces_the_form_with_a_confirmation_and_the_list(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    attendee_id, _ = make_attendee(episodes=(1, 2, 3))
    sign_in_as(client, attendee_id)
    response = send(client, programme, QUESTION, number=1, show_name=True)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div class="ask-area" id="zone-question-1"')
    assert "Question envoyée" in body
    assert "a été ajouté à votre inscription" not in body
    assert html.escape(QUESTION, quote=False).replace("’", "’") in body or QUESTION in text_of(body)
    assert "Statut&nbsp;: reçue" in body
    assert "<textarea" not in body
    assert response.headers["HX-Trigger"] == "questions-changed"
    [question] = question_rows(programme)
    assert question.attendee_id == attendee_id
    assert question.text == QUESTION
    assert question.show_name is True
    assert question.status == "nouvelle" and question.published is False


def test_asking_about_an_episode_not_followed_adds_it_and_says_so(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    attendee_id, _ = make_attendee(episodes=(1,))
    sign_in_as(client, attendee_id)
    response = send(client, programme, QUESTION, number=4)
    assert response.status_code == 200
    assert "L’épisode 4 a été ajouté à votre inscription" in response.get_data(as_text=True)
    assert registered_numbers(programme, attendee_id) == {1, 4}
    # Once is enough: a second question does not say it again, nor duplicate the row.
    again = send(client, programme, QUESTION + " Et en milieu rural ?", number=4)
    assert "ajouté à votre inscription" not in again.get_data(as_text=True)
    assert registered_numbers(programme, attendee_id) == {1, 4}


def test_no_javascript_path_redirects_after_post(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    attendee_id, _ = make_attendee(episodes=(1,))
    sign_in_as(client, attendee_id)
    page = client.get(ask_url(programme, 2))
    assert page.status_code == 200
    token = csrf_from(page.get_data(as_text=True))
    response = client.post(ask_url(programme, 2), data={"text": QUESTION, "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"].startswith(ask_url(programme, 2) + "?envoyee=1&ajout=1")
    followed = client.get(response.headers["Location"])
    body = followed.get_data(as_text=True)
    assert "<html" in body
    assert "Question envoyée" in body and "L’épisode 2 a été ajouté à votre inscription" in body
    assert QUESTION in text_of(body)
    assert len(question_rows(programme)) == 1


def test_a_limited_browser_sees_only_the_questions_it_sent(
    programme: Flask, client: FlaskClient, app: Flask, make_attendee
) -> None:
    attendee_id, _ = make_attendee()
    owner = app.test_client()
    sign_in_as(owner, attendee_id, rights="full")
    send(owner, programme, "Question envoyée depuis le navigateur habituel.", number=1)

    stranger = client
    sign_in_as(stranger, attendee_id, rights="limited")
    fragment = open_ask_area(stranger, programme, 1)
    assert "navigateur habituel" not in fragment
    sent = send(stranger, programme, "Question envoyée depuis un autre navigateur.", number=1)
    body = sent.get_data(as_text=True)
    assert "un autre navigateur" in body
    assert "navigateur habituel" not in body
    # The owner, with full rights, sees both.
    both = open_ask_area(owner, programme, 1)
    assert "navigateur habituel" in both and "un autre navigateur" in both


def test_unknown_visitor_post_is_refused_and_writes_nothing(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    attendee_id, _ = make_attendee()
    sign_in_as(client, attendee_id)
    token = csrf_from(open_ask_area(client, programme, 1))
    with client.session_transaction() as flask_session:
        flask_session.pop("attendee_id")
        flask_session.pop("rights")
    response = client.post(
        ask_url(programme, 1), data={"text": QUESTION, "csrf_token": token}, headers=htmx_headers()
    )
    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert "ce navigateur ne vous reconnaît pas" in body
    assert 'href="/inscription?episode=plateformes-civictech"' in body
    assert question_rows(programme) == []


def test_post_without_csrf_token_is_refused(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    attendee_id, _ = make_attendee()
    sign_in_as(client, attendee_id)
    response = client.post(ask_url(programme, 1), data={"text": QUESTION}, headers=htmx_headers())
    assert response.status_code == 400
    assert question_rows(programme) == []


def test_unknown_episode_is_a_404(programme: Flask, client: FlaskClient) -> None:
    assert client.get("/episodes/inconnu/questions/poser").status_code == 404


def test_csrf_token_travels_in_hx_headers_on_the_fragment_root(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    attendee_id, _ = make_attendee()
    sign_in_as(client, attendee_id)
    fragment = open_ask_area(client, programme, 3)
    root = re.match(r"\s*<div [^>]*>", fragment).group(0)
    assert "X-CSRFToken" in html.unescape(root)
    token = csrf_from(root)
    # The header alone is enough (what htmx sends).
    response = client.post(
        ask_url(programme, 3),
        data={"text": QUESTION},
        headers={**htmx_headers("zone-question-3"), "X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert len(question_rows(programme)) == 1


def test_a_limited_browser_cannot_learn_which_episodes_are_followed(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    # Someone typed another person's address at registration: this browser has limited
    # rights, and the answer must not reveal whether episode 2 or 4 was already followed.
    attendee_id, _ = make_attendee(episodes=(2,))
    sign_in_as(client, attendee_id, rights="limited")
    followed = send(client, programme, QUESTION, number=2).get_data(as_text=True)
    added = send(client, programme, QUESTION + " Autre angle ?", number=4).get_data(as_text=True)
    for body, number in ((followed, 2), (added, 4)):
        assert f"L’épisode {number} fait partie de votre inscription." in body
        assert "a été ajouté" not in body
    assert registered_numbers(programme, attendee_id) == {2, 4}
