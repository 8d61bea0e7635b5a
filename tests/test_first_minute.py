"""The visitor's first minute (issue 14), as the server answers it: one call to register at
the top of every programme page, the episode the visitor came from ticked, the question one
step away, the registered browser recognised, every panel with its "Annuler"."""

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
from tests.support.http import csrf_from, htmx_headers, normalise_spaces, sign_in_as
from tests.support.questions import add_question, question_rows, send
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


# ---------------------------------------------------------------- the call, at the top
def test_the_programme_opens_with_one_call_to_register(
    programme: Flask, client: FlaskClient
) -> None:
    body = client.get("/").get_data(as_text=True)
    call = call_of(body)
    text = text_of(call)
    assert "7 webinaires en direct, chaque semaine" in text and "en ligne et gratuit" in text
    assert "Prochain épisode : jeudi 26 novembre 2026 · 11 h 00" in text
    assert re.search(r"data-call>S’inscrire</a>", call)
    assert 'href="/inscription" hx-get="/inscription"' in call
    # It comes right after the title, before the series' own text.
    assert body.index('id="appel"') < body.index("nouvel opium du peuple")
    # One "S’inscrire" on the page: the menu does not repeat the call.
    assert text_of(body).count("S’inscrire") == 2  # the call, and the phone's bar
    assert "S’inscrire" not in text_of(body.split("</header>")[0])
    assert "S’inscrire" in text_of(client.get("/confidentialite").get_data(as_text=True))


def test_the_seeds_own_call_keeps_its_place_in_the_text(
    programme: Flask, client: FlaskClient
) -> None:
    text = text_of(client.get("/").get_data(as_text=True))
    audience = text.index("Esprits étroits ou radicaux")
    call = text.index("Inscrivez-vous ici")
    assert audience < text.index("Inscriptions") < call < text.index("Programme Épisode 1")


def test_an_episode_page_calls_to_register_for_that_episode(
    programme: Flask, client: FlaskClient
) -> None:
    body = client.get("/episodes/api").get_data(as_text=True)
    call = call_of(body)
    assert "Cet épisode : jeudi 31 décembre 2026 · 11 h 00 – 12 h 00" in text_of(call)
    assert "cycle de 7 webinaires sur la participation" in text_of(call)
    assert 'href="/inscription?episode=api"' in call
    # Said once: the episode's own block below does not repeat the time.
    assert text_of(body).count("11 h 00 – 12 h 00") == 1
    assert "S’inscrire" not in text_of(body.split("</header>")[0])


def test_a_past_episode_page_calls_to_the_next_one(programme: Flask, client: FlaskClient) -> None:
    with programme.app_context():
        first = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
    programme.extensions["clock"].freeze(first.starts_at + timedelta(hours=2))
    call = call_of(client.get("/episodes/plateformes-civictech").get_data(as_text=True))
    assert "Prochain épisode : jeudi 3 décembre 2026 · 11 h 00" in text_of(call)
    assert 'href="/inscription" hx-get="/inscription"' in call  # nothing to tick there


def test_once_the_cycle_is_over_the_call_says_so(app: Flask, client: FlaskClient) -> None:
    from app.programme.services import load_programme

    with app.app_context():
        load_programme(original_dates=True)
    for url in ("/", "/episodes/api"):
        body = client.get(url).get_data(as_text=True)
        assert "Le cycle est terminé" in text_of(call_of(body))
        assert "S’inscrire" not in call_of(body)
        assert 'id="appel-mobile"' not in body


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
    assert re.search(r'<a class="button" href="/episodes/api" data-cancel>Annuler</a>', body)
    # From the programme (or the menu): every upcoming episode, as before.
    plain = client.get("/inscription").get_data(as_text=True)
    assert len(ticked(plain)) == 7
    assert re.search(r'<a class="button" href="/" data-cancel>Annuler</a>', plain)


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


# ---------------------------------------------------------------- recognised, page shared
def test_a_registered_browser_is_told_so_where_the_call_was(
    programme: Flask, client: FlaskClient
) -> None:
    anonymous = client.get("/")
    assert client.get("/inscription/etat").status_code == 204
    client.post("/inscription", data=registration_data(client, first_name="Léa"))
    note = client.get("/inscription/etat", headers=htmx_headers("appel-actions"))
    assert note.status_code == 200
    body = note.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="appel-actions"')
    assert "vous êtes inscrit·e · gérer mes épisodes" in re.sub(r"<[^>]+>", "", body).replace(
        "inscrite ou inscrit", ""
    )
    assert '<a href="/moi">gérer mes épisodes</a>' in body
    assert "S’inscrire" not in body
    # The shared page is still the same bytes for everyone, without a cookie, and its
    # ETag still answers 304.
    known = client.get("/")
    assert known.get_data() == anonymous.get_data()
    assert "Set-Cookie" not in known.headers
    again = client.get("/", headers={"If-None-Match": known.headers["ETag"]})
    assert again.status_code == 304


# ---------------------------------------------------------------- every panel can be left
def test_every_inline_panel_has_annuler_that_works_without_javascript(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    attendee_id, _ = make_attendee(episodes=(1,))
    sign_in_as(client, attendee_id)
    question_id = add_question(programme, attendee_id, text="Une question à retirer ?")
    panels = {
        "registration": client.get("/inscription", headers=htmx_headers("appel-actions")),
        "question": client.get(
            "/episodes/plateformes-civictech/questions/poser", headers=htmx_headers("poser-1")
        ),
        "withdraw": client.get(
            f"/questions/{question_id}/retirer?retour=/episodes/plateformes-civictech",
            headers=htmx_headers(f"question-{question_id}"),
        ),
        "link request": client.get("/moi/lien", headers=htmx_headers("appel-actions")),
    }
    for name, response in panels.items():
        body = response.get_data(as_text=True)
        assert "<html" not in body, name
        root = re.match(r"\s*(?:\{#.*?#\}\s*)?<(\w+)([^>]*)>", body, flags=re.S)
        assert root and "data-panel" in root.group(2), name
        cancel = re.search(
            r'<a class="button" href="([^"]+)"[^>]*data-cancel[^>]*>Annuler</a>', body
        )
        assert cancel, name
        assert client.get(cancel.group(1).split("#")[0]).status_code == 200, name


def test_the_link_request_opens_in_place_with_its_token(
    programme: Flask, client: FlaskClient
) -> None:
    fragment = client.get("/moi/lien", headers=htmx_headers("appel-actions")).get_data(as_text=True)
    token = csrf_from(fragment)
    response = client.post(
        "/moi/lien",
        data={"csrf_token": token, "email": "personne@example.org", "website": ""},
        headers=htmx_headers("lien-form"),
    )
    assert response.status_code == 200
    assert "C’est noté." in html.unescape(response.get_data(as_text=True))
