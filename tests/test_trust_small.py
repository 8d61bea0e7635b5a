"""The smaller findings and what a real host needs (issue 11, finding 10 and operations):
passwords, the honeypot's time, erasure in the journal, the privacy notice, names in every
script, one's details, the accessibility statement, heading order."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from app.extensions import db
from app.models import Attendee, Episode, FacilitatorAction, Question
from tests.support.database import NOW, make_test_app, prepare_schema
from tests.support.http import csrf_from, htmx_headers
from tests.support.registration import register, registration_data


# ---------------------------------------------------------------- passwords
@pytest.mark.parametrize(
    "password",
    ["aaaaaaaaaaaa", "000000000000", "123456789012", "motdepasse123", "azertyuiopqs"],
)
def test_an_easily_guessed_password_is_refused(
    app: Flask, runner: FlaskCliRunner, password: str
) -> None:
    result = runner.invoke(
        args=["facilitator", "create", "animation@example.org"], input=f"{password}\n{password}\n"
    )
    assert result.exit_code == 1
    assert "Mot de passe trop facile à deviner" in result.output


def test_a_passphrase_is_accepted_without_composition_rules(
    app: Flask, runner: FlaskCliRunner
) -> None:
    phrase = "la tisane du mardi soir"
    result = runner.invoke(
        args=["facilitator", "create", "animation@example.org"], input=f"{phrase}\n{phrase}\n"
    )
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- honeypot
def test_a_form_sent_back_faster_than_a_person_keeps_nothing(
    database_url: str, smtp_server
) -> None:  # type: ignore[no-untyped-def]
    from app.programme.services import load_programme

    application = make_test_app(database_url, smtp_server[0].port, HONEYPOT_MIN_SECONDS=3)
    prepare_schema(application)
    clock = application.extensions["clock"]
    clock.freeze(NOW)
    with application.app_context():
        load_programme()
    try:
        quick, person = application.test_client(), application.test_client()
        quick_data = registration_data(quick, email="robot@example.org")
        person_data = registration_data(person, email="personne@example.org")
        clock.freeze(NOW + timedelta(seconds=1))
        robot = quick.post("/inscription", data=quick_data, headers=htmx_headers())
        clock.freeze(NOW + timedelta(seconds=40))
        human = person.post("/inscription", data=person_data, headers=htmx_headers())
        assert robot.status_code == human.status_code == 200
        assert "votre inscription est enregistrée" in robot.get_data(as_text=True)
        forged = registration_data(person, email="faux@example.org", started="pas-signe")
        assert person.post("/inscription", data=forged).status_code == 303
        with application.app_context():
            emails = set(db.session.scalars(sa.select(Attendee.email)))
        assert emails == {"personne@example.org"}
    finally:
        with application.app_context():
            db.engine.dispose()


# ---------------------------------------------------------------- erasure and the journal
def test_erasure_and_purge_clear_the_journal_of_what_was_written(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question, runner
) -> None:
    author, token = make_attendee(email="auteur@example.org")
    question_id = make_question(attendee_id=author)
    with programme.app_context():
        slug = db.session.scalar(sa.select(Episode.slug).filter_by(number=1))
    review = f"/animation/episodes/{slug}/questions"
    csrf = csrf_from(facilitator_client.get(review).get_data(as_text=True))
    facilitator_client.post(
        f"{review}/{question_id}/note",
        data={"csrf_token": csrf, "note": "Rappeler Camille Martin au 06 12 34 56 78"},
    )

    def journal_details() -> list[str]:
        with programme.app_context():
            return list(
                db.session.scalars(
                    sa.select(FacilitatorAction.detail).where(
                        FacilitatorAction.target == f"question:{question_id}"
                    )
                )
            )

    assert any("Camille Martin" in detail for detail in journal_details())
    client = programme.test_client()
    space = client.get(f"/moi/{token}", follow_redirects=True)
    confirm = client.get("/moi/effacer").get_data(as_text=True)
    assert space.status_code == 200
    client.post("/moi/effacer", data={"csrf_token": csrf_from(confirm)})
    assert journal_details() == [""]  # what was done stays, what was written goes
    with programme.app_context():
        assert db.session.get(Question, question_id) is None


def test_the_retention_purge_clears_the_journal_too(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question, runner
) -> None:
    author, _ = make_attendee()
    question_id = make_question(attendee_id=author)
    with programme.app_context():
        db.session.add(
            FacilitatorAction(
                action="question.note", target=f"question:{question_id}", detail="Camille"
            )
        )
        db.session.commit()
    programme.extensions["clock"].freeze(NOW + timedelta(days=500))
    result = runner.invoke(args=["retention", "purge"])
    assert "Personnes effacées : 1" in result.output
    with programme.app_context():
        details = db.session.scalars(sa.select(FacilitatorAction.detail)).all()
    assert "Camille" not in details


# ---------------------------------------------------------------- the privacy notice
def test_the_privacy_notice_names_the_legal_basis_and_the_dpo(
    programme: Flask, client: FlaskClient
) -> None:
    for url in ("/confidentialite", "/inscription"):
        page = client.get(url).get_data(as_text=True)
        assert "Sur quelle base" in page and "article 6.1.a du RGPD" in page
        assert "déléguée à la protection des données" in page
        assert 'href="mailto:dpo@example.org"' in page
        assert "CNIL" in page


# ---------------------------------------------------------------- names in every script
@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("प्रिया", "शर्मा"),  # Devanagari, with vowel signs (combining marks)
        ("தமிழ்செல்வி", "இராமன்"),  # Tamil
        ("Zoe\u0308", "Lefe\u0300vre"),  # accents typed as combining marks
        ("Jean\u2011Pierre", "N’Diaye"),  # non-breaking hyphen, typographic apostrophe
    ],
)
def test_names_in_every_script_are_accepted(
    programme: Flask, client: FlaskClient, first: str, last: str
) -> None:
    response = register(client, htmx=True, first_name=first, last_name=last)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "votre inscription est enregistrée" in response.get_data(as_text=True)


# ---------------------------------------------------------------- one's details
def test_an_attendee_corrects_their_details_in_place_and_without_javascript(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    attendee_id, token = make_attendee()
    client.get(f"/moi/{token}")
    form = client.get("/moi/coordonnees", headers=htmx_headers("mes-coordonnees"))
    assert form.status_code == 200 and "<html" not in form.get_data(as_text=True)
    token_value = csrf_from(form.get_data(as_text=True))
    fields = {
        "csrf_token": token_value,
        "first_name": "Camille",
        "last_name": "Martin-Diallo",
        "organisation": "Métropole de Lyon",
        "organisation_kind": "intercommunalite",
        "job_title": "Cheffe de projet",
    }
    bad = client.post(
        "/moi/coordonnees",
        data={**fields, "last_name": "<b>"},
        headers=htmx_headers("mes-coordonnees"),
    )
    assert bad.status_code == 422
    assert "Utilisez uniquement des lettres" in bad.get_data(as_text=True)
    saved = client.post("/moi/coordonnees", data=fields, headers=htmx_headers("mes-coordonnees"))
    assert saved.status_code == 200
    assert "Martin-Diallo" in saved.get_data(as_text=True)
    plain = client.post("/moi/coordonnees", data={**fields, "job_title": ""})
    assert plain.status_code == 303 and plain.headers["Location"].endswith("/moi#mes-coordonnees")
    with programme.app_context():
        attendee = db.session.get(Attendee, attendee_id)
        assert (attendee.last_name, attendee.organisation_kind, attendee.job_title) == (
            "Martin-Diallo",
            "intercommunalite",
            "",
        )
        assert attendee.email.startswith("personne")  # the key stays
    assert programme.test_client().get("/moi/coordonnees").status_code == 403


# ---------------------------------------------------------------- accessibility
def test_the_accessibility_statement_is_linked_from_every_page(
    programme: Flask, client: FlaskClient
) -> None:
    statement = client.get("/accessibilite").get_data(as_text=True)
    for part in (
        "État de conformité",
        "partiellement conforme",
        "Ce qui a été testé",
        "Contenus non accessibles",
        "Signaler un problème",
        "Défenseur des droits",
    ):
        assert part in statement
    for url in ("/", "/inscription", "/episodes/api", "/moi/lien", "/animation/connexion"):
        assert 'href="/accessibilite">Accessibilité&nbsp;: partiellement conforme' in (
            client.get(url).get_data(as_text=True)
        ), url


def heading_levels(html: str) -> list[int]:
    return [int(level) for level in re.findall(r"<h([1-6])[\s>]", html)]


def test_no_heading_level_is_skipped_on_the_registration_pages(
    programme: Flask, client: FlaskClient
) -> None:
    page = client.get("/inscription").get_data(as_text=True)
    done = client.post("/inscription", data=registration_data(client), follow_redirects=True)
    in_place = client.post(
        "/inscription?niveau=2",  # as the form sent back from the call under the h1
        data=registration_data(client),
        headers=htmx_headers("inscription-form"),
    )
    opened = client.get("/inscription", headers=htmx_headers("inscription-zone"))
    assert heading_levels(opened.get_data(as_text=True)) == [3]  # under "Inscriptions" (h2)
    opened = client.get("/inscription", headers=htmx_headers("appel-actions"))
    assert heading_levels(opened.get_data(as_text=True)) == [2]  # in the call, under the h1
    for html in (page, done.get_data(as_text=True)):
        levels = heading_levels(html)
        assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    assert heading_levels(in_place.get_data(as_text=True))[0] == 2
