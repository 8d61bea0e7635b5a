"""Registration: inline and plain, validation, merging, no enumeration, concurrency."""

from __future__ import annotations

import html
import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Attendee, AttendeeToken, Episode, OutboxMessage, Registration
from tests.support.http import csrf_from, normalise_spaces
from tests.support.registration import register, registration_data


def count(model: type) -> int:
    """Rows of a table."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def rows(app: Flask) -> dict[str, int]:
    """Rows of every table a registration writes."""
    with app.app_context():
        return {
            m.__name__: count(m) for m in (Attendee, Registration, AttendeeToken, OutboxMessage)
        }


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    """Visible text, unescaped, spaces normalised."""
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", normalise_spaces(html.unescape(body)))


def test_form_offers_upcoming_episodes_all_ticked(programme: Flask, client: FlaskClient) -> None:
    # Episode 1 has started: it is not offered; the six others are, ticked.
    with programme.app_context():
        first = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
    programme.extensions["clock"].freeze(first.starts_at + timedelta(minutes=1))
    page = client.get("/inscription").get_data(as_text=True)
    boxes = re.findall(r"<input[^>]*name=\"episodes\"[^>]*>", page)
    assert len(boxes) == 6
    assert all("checked" in box for box in boxes)
    assert "Épisode 1 ·" not in page
    for label in ("Prénom", "Nom", "Adresse e-mail", "Organisation", "Type d’organisation"):
        assert f">{label}" in html.unescape(page)
    assert "Intercommunalité" in page and "Citoyenne ou citoyen" in page
    assert "Combien de temps" in page  # the privacy notice is in the form


def test_plain_registration_redirects_to_confirmation(
    programme: Flask, client: FlaskClient
) -> None:
    response = register(client, episodes=["2", "4"])
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/inscription/confirmation")
    page = client.get("/inscription/confirmation")
    text = text_of(page)
    assert "Merci Camille Martin, votre inscription est enregistrée." in text
    assert "Épisode 2 : Le Budget participatif" in text
    assert "jeudi 17 décembre 2026 · 11 h 00 – 12 h 00" in text
    assert "Épisode 3" not in text
    assert "camille.martin@example.org" in text
    body = page.get_data(as_text=True)
    assert "/agenda.ics?episodes=2,4" in body
    assert "calendar.google.com" in body and "outlook.office.com" in body
    with programme.app_context():
        attendee = db.session.scalars(sa.select(Attendee)).one()
        assert attendee.privacy_acknowledged_at is not None
        assert attendee.job_title == "Chargée de participation"
        assert {r.episode.number for r in attendee.registrations} == {2, 4}


def test_htmx_registration_answers_the_confirmation_fragment(
    programme: Flask, client: FlaskClient
) -> None:
    response = register(client, htmx=True, episodes=["3"])
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert 'id="inscription-form"' in body
    assert "votre inscription est enregistrée" in body
    assert "HX-Request" in response.headers["Vary"]


def test_selection_calendar_has_exactly_the_chosen_episodes(
    programme: Flask, client: FlaskClient
) -> None:
    import icalendar

    response = client.get("/agenda.ics?episodes=2,4")
    events = icalendar.Calendar.from_ical(response.data).walk("VEVENT")
    assert sorted(str(e["UID"]) for e in events) == [
        "episode-participation-2@webinaires.example.org",
        "episode-participation-4@webinaires.example.org",
    ]
    assert client.get("/agenda.ics?episodes=x").status_code == 404
    assert client.get("/agenda.ics?episodes=99").status_code == 404


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_name", "", "Ce champ est obligatoire."),
        ("first_name", "   ", "Ce champ est obligatoire."),
        ("first_name", "x" * 10_000, "100 caractères au maximum."),
        ("first_name", "Camille\r\nBcc: victim@example.org", "Retirez les retours à la ligne"),
        ("first_name", "<script>alert(1)</script>", "Utilisez uniquement des lettres"),
        ("first_name", "Camille 🎉", "Utilisez uniquement des lettres"),
        ("last_name", "Robert'); DROP TABLE attendee;--", "Utilisez uniquement des lettres"),
        ("email", "", "Ce champ est obligatoire."),
        ("email", "pas-une-adresse", "Saisissez une adresse e-mail valide"),
        ("email", "a@b.fr\r\nBcc: victim@example.org", "Retirez les retours à la ligne"),
        ("email", "x" * 10_000 + "@example.org", "254 caractères au maximum."),
        ("email", "émoji🎉@example.org", "Saisissez une adresse e-mail valide"),
        ("organisation", "", "Ce champ est obligatoire."),
        ("organisation", "<img src=x onerror=alert(1)>", "Retirez les caractères < et >."),
        ("organisation", "o" * 201, "200 caractères au maximum."),
        ("organisation_kind", "", "Choisissez un type d’organisation."),
        ("organisation_kind", "pirate", "Choisissez un type d’organisation dans la liste."),
        ("job_title", "j" * 201, "200 caractères au maximum."),
        ("episodes", [], "Choisissez au moins un épisode."),
        ("episodes", ["999"], "Cet épisode a déjà commencé ou n’existe pas"),
        ("episodes", ["abc"], "Choisissez au moins un épisode."),
        ("privacy", "", "Cochez cette case pour vous inscrire."),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_bad_input_is_refused_in_french_next_to_the_field(
    programme: Flask, client: FlaskClient, field: str, value: object, message: str, htmx: bool
) -> None:
    response = register(client, htmx=htmx, **{field: value})
    assert response.status_code == 422
    raw = response.get_data(as_text=True)
    body = html.unescape(raw)
    field_id = field
    error = re.search(rf'<p class="error-message" id="{field_id}-erreur">([^<]+)</p>', raw)
    assert error, f"no error next to {field}"
    shown = html.unescape(error.group(1))
    assert message in shown
    assert f'aria-describedby="{field_id}-erreur"' in body or (
        f'aria-describedby="{field_id}-aide {field_id}-erreur"' in body
    )
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    # What was typed is kept (except for the faulty field's raw markup, escaped).
    if field != "email":
        assert 'value="camille.martin@example.org"' in body
    assert rows(programme)["Attendee"] == 0
    assert rows(programme)["OutboxMessage"] == 0
    assert ("<html" in body) is (not htmx)


def test_first_error_gets_the_focus(programme: Flask, client: FlaskClient) -> None:
    body = register(client, htmx=True, first_name="", email="x").get_data(as_text=True)
    first = re.search(r"<input[^>]*autofocus[^>]*>", body).group(0)
    assert 'id="first_name"' in first
    assert body.count("autofocus") == 1


def test_non_latin_names_are_welcome(programme: Flask, client: FlaskClient) -> None:
    response = register(
        client, first_name="Даша", last_name="王 Li-Ørsted", email="dasha@example.org"
    )
    assert response.status_code == 303
    with programme.app_context():
        attendee = db.session.scalars(sa.select(Attendee)).one()
        assert attendee.first_name == "Даша"
        assert attendee.last_name == "王 Li-Ørsted"


def test_missing_or_forged_csrf_token_is_refused(programme: Flask, client: FlaskClient) -> None:
    data = registration_data(client)
    data.pop("csrf_token")
    assert client.post("/inscription", data=data).status_code == 400
    data["csrf_token"] = "forged"
    response = client.post("/inscription", data=data, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#alerts"
    assert "Requête invalide" not in response.get_data(as_text=True)  # a fragment, not a page
    assert rows(programme)["Attendee"] == 0


def test_an_oversized_request_is_a_413_not_a_500(programme: Flask, client: FlaskClient) -> None:
    data = registration_data(client, organisation="o" * 2_000_000)
    response = client.post("/inscription", data=data)
    assert response.status_code == 413
    assert rows(programme)["Attendee"] == 0


def test_honeypot_answers_the_same_and_keeps_nothing(programme: Flask, client: FlaskClient) -> None:
    response = register(client, htmx=True, website="http://spam.example")
    assert response.status_code == 200
    assert "votre inscription est enregistrée" in response.get_data(as_text=True)
    assert rows(programme) == {
        "Attendee": 0,
        "Registration": 0,
        "AttendeeToken": 0,
        "OutboxMessage": 0,
    }


def test_registering_again_merges_and_reveals_nothing(programme: Flask, app: Flask) -> None:
    owner = app.test_client()
    first = register(owner, htmx=True, episodes=["2", "3"], first_name="Camille")
    stranger = app.test_client()
    again = register(
        stranger,
        htmx=True,
        email="  Camille.MARTIN@Example.org ",
        episodes=["5"],
        first_name="Dominique",
        organisation="Autre chose",
    )
    assert first.status_code == again.status_code == 200

    def listed(response) -> list[str]:  # type: ignore[no-untyped-def]
        block = re.search(
            r'<ul class="registered-episodes">(.*?)</ul>', response.get_data(as_text=True), re.S
        )
        return re.findall(r"<strong>Épisode (\d)", block.group(1))

    # The second answer shows only what was just submitted: never episodes 2 and 3.
    second = text_of(again)
    assert "Épisode 5" in second and "Épisode 2" not in second and "Épisode 3" not in second
    assert "Merci Dominique Martin" in second
    assert listed(first) == ["2", "3"]
    assert listed(again) == ["5"]
    with programme.app_context():
        attendee = db.session.scalars(sa.select(Attendee)).one()
        assert attendee.email == "camille.martin@example.org"
        # Details on file are not rewritten by whoever typed the address.
        assert attendee.first_name == "Camille" and attendee.organisation == "Ville de Rennes"
        assert sorted(r.episode.number for r in attendee.registrations) == [2, 3, 5]
        assert count(AttendeeToken) == 2
        assert count(OutboxMessage) == 2


def test_the_confirmation_mail_is_capped_per_address(programme: Flask, app: Flask) -> None:
    for _ in range(5):
        assert register(app.test_client(), htmx=True).status_code == 200
    with programme.app_context():
        assert count(OutboxMessage) == 3
        assert count(Attendee) == 1


@pytest.mark.parametrize("threads", [50])
def test_concurrent_registrations_leave_one_attendee(
    programme: Flask, app: Flask, threads: int
) -> None:
    clients = [app.test_client() for _ in range(threads)]
    forms = [registration_data(c, episodes=[str(2 + i % 5)]) for i, c in enumerate(clients)]
    barrier = threading.Barrier(threads)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def submit(index: int) -> None:
        try:
            barrier.wait()
            response = clients[index].post(
                "/inscription", data=forms[index], headers={"HX-Request": "true"}
            )
            statuses.append(response.status_code)
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=submit, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    assert statuses == [200] * threads
    with programme.app_context():
        assert count(Attendee) == 1
        numbers = {
            n
            for (n,) in db.session.execute(
                sa.select(Episode.number).join(Registration, Registration.episode_id == Episode.id)
            )
        }
        assert numbers == {2, 3, 4, 5, 6}
        assert count(Registration) == 5
        assert count(OutboxMessage) <= 3


def test_registration_is_closed_once_every_episode_started(app: Flask, client: FlaskClient) -> None:
    from app.programme.services import load_programme

    with app.app_context():
        load_programme(original_dates=True)
    page = client.get("/inscription").get_data(as_text=True)
    assert "les inscriptions sont closes" in page
    assert "Le cycle est terminé" in client.get("/").get_data(as_text=True)
    token = csrf_from(client.get("/moi/lien").get_data(as_text=True))
    response = client.post(
        "/inscription",
        data={
            "csrf_token": token,
            "first_name": "A",
            "last_name": "B",
            "email": "a@example.org",
            "organisation": "O",
            "organisation_kind": "autre",
            "episodes": ["1"],
            "privacy": "y",
        },
    )
    assert response.status_code == 422
    assert rows(app)["Attendee"] == 0


def test_status_fragment_for_the_shared_programme_page(
    programme: Flask, client: FlaskClient
) -> None:
    assert client.get("/inscription/etat").status_code == 204
    register(client, htmx=True)
    status = client.get("/inscription/etat", headers={"HX-Request": "true"})
    assert status.status_code == 200
    assert "Bonjour Camille" in status.get_data(as_text=True)
    # The shared page itself stays the same for everyone.
    assert "Camille" not in client.get("/").get_data(as_text=True)
