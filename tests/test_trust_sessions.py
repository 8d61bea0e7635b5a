"""Sessions that reveal nothing and really end (issue 11, findings 1 to 3)."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from app.extensions import db
from app.models import BrowserSession, Episode
from tests.support.database import NOW
from tests.support.facilitator import PASSWORD, log_in
from tests.support.http import csrf_from, htmx_headers
from tests.support.questions import ask_url, publish
from tests.support.registration import register

KEY = re.compile(r"^[A-Za-z0-9_-]{43}$")
COOKIE = "__Host-session"  # the test site is https://webinaires.example.org


def cookie_of(client: FlaskClient) -> str:
    """The value of the session cookie the client holds."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None, "no session cookie"
    return cookie.value


def session_rows(app: Flask) -> list[BrowserSession]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(BrowserSession)))
        for row in rows:
            db.session.expunge(row)
        return rows


# ---------------------------------------------------------------- finding 1: the cookie
def test_the_cookie_is_an_opaque_key_that_says_nothing_of_who_registered(
    programme: Flask, app: Flask, make_attendee
) -> None:
    make_attendee(email="cible@example.org", first_name="Cible")
    fresh, target = app.test_client(), app.test_client()
    register(fresh, htmx=True, email="frais@example.org", first_name="Frais")
    register(target, htmx=True, email="cible@example.org", first_name="Curieux")
    values = [cookie_of(fresh), cookie_of(target)]
    for value in values:
        assert KEY.match(value), value  # 256 random bits, base64url: nothing else
        raw = base64.urlsafe_b64decode(value + "=")
        for secret in (b"attendee", b"cible", b"frais", b"Curieux", b"rights", b"limited"):
            assert secret not in raw
    # Ids, rights and names stay on the server, found by the key's hash only.
    rows = session_rows(app)
    assert len(rows) == 2
    assert {row.key_hash for row in rows}.isdisjoint(values)
    assert all(row.attendee_id is not None for row in rows)


def test_the_cookie_is_secure_host_only_and_httponly_behind_https(
    programme: Flask, client: FlaskClient
) -> None:
    response = register(client, htmx=True)
    header = response.headers["Set-Cookie"]
    assert header.startswith(f"{COOKIE}=")
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag in header
    assert "Domain" not in header
    assert "max-age=31536000" in client.get("/").headers["Strict-Transport-Security"]


def test_a_local_http_site_keeps_a_plain_cookie(database_url: str, smtp_server) -> None:  # type: ignore[no-untyped-def]
    from tests.support.database import make_test_app

    local = make_test_app(database_url, smtp_server[0].port, SITE_URL="http://127.0.0.1:5000")
    assert local.config["SESSION_COOKIE_NAME"] == "session"
    assert local.config["SESSION_COOKIE_SECURE"] is False


# ---------------------------------------------------------------- finding 2: limited rights
def test_typing_someones_address_does_not_unmask_their_anonymous_question(
    programme: Flask, app: Flask, make_attendee
) -> None:
    owner_id, _ = make_attendee(email="proprietaire@example.org", episodes=(1,))
    with programme.app_context():
        episode_id = db.session.scalar(sa.select(Episode.id).filter_by(number=1))
        from app.models import Question

        question = Question(
            episode_id=episode_id, attendee_id=owner_id, text="Ma question anonyme, publiée."
        )
        db.session.add(question)
        db.session.commit()
        question_id = question.id
    publish(programme, question_id)
    stranger = app.test_client()
    register(stranger, htmx=True, email="proprietaire@example.org", first_name="Intrus")
    with programme.app_context():
        slug = db.session.scalar(sa.select(Episode.slug).filter_by(number=1))
    page = stranger.get(f"/episodes/{slug}").get_data(as_text=True)
    assert "Ma question anonyme, publiée." in page
    assert "votre question" not in page


@pytest.mark.parametrize("follows", [True, False], ids=["owner-follows", "owner-does-not"])
def test_a_limited_browser_gets_the_same_answer_whatever_the_owner_follows(
    programme: Flask, app: Flask, make_attendee, follows: bool
) -> None:
    make_attendee(email="proprietaire@example.org", episodes=(2,) if follows else (3,))
    stranger = app.test_client()
    register(stranger, htmx=True, email="proprietaire@example.org", episodes=["x"])
    register(stranger, htmx=True, email="proprietaire@example.org")
    form = stranger.get(ask_url(programme, 2)).get_data(as_text=True)
    sent = stranger.post(
        ask_url(programme, 2),
        data={"text": "Une question envoyée d’ici.", "csrf_token": csrf_from(form)},
    )
    assert sent.status_code == 303
    assert sent.headers["Location"].endswith("?envoyee=1#questions-envoyees")  # never ajout=1
    area = stranger.get(sent.headers["Location"]).get_data(as_text=True)
    assert "fait partie de votre inscription" in area
    assert "a été ajouté à votre inscription" not in area


# ---------------------------------------------------------------- finding 3: sessions end
def test_logout_ends_the_session_on_the_server_a_copied_cookie_included(
    facilitator_client: FlaskClient, programme: Flask
) -> None:
    stolen = cookie_of(facilitator_client)
    assert facilitator_client.get("/animation/inscrits.csv").status_code == 200
    page = facilitator_client.get("/animation/").get_data(as_text=True)
    facilitator_client.post("/animation/deconnexion", data={"csrf_token": csrf_from(page)})
    thief = programme.test_client()
    thief.set_cookie(COOKIE, stolen, domain="localhost")
    replay = thief.get("/animation/inscrits.csv")
    assert replay.status_code == 303
    assert "/animation/connexion" in replay.headers["Location"]
    from app.sessions import hash_key

    rows = session_rows(programme)
    assert hash_key(stolen) not in {row.key_hash for row in rows}
    assert all(row.facilitator_id is None for row in rows)


def test_a_facilitator_session_ends_after_two_idle_hours(
    facilitator_client: FlaskClient, programme: Flask
) -> None:
    clock = programme.extensions["clock"]
    clock.freeze(NOW + timedelta(hours=1, minutes=59))
    assert facilitator_client.get("/animation/").status_code == 200  # active: kept alive
    clock.freeze(NOW + timedelta(hours=3, minutes=58))
    assert facilitator_client.get("/animation/").status_code == 200
    clock.freeze(NOW + timedelta(hours=6))  # 2 h 02 without a request
    assert facilitator_client.get("/animation/").status_code == 303


def test_a_facilitator_session_ends_twelve_hours_after_login_however_active(
    facilitator_client: FlaskClient, programme: Flask
) -> None:
    clock = programme.extensions["clock"]
    for hour in range(1, 12):
        clock.freeze(NOW + timedelta(hours=hour))
        assert facilitator_client.get("/animation/").status_code == 200, hour
    clock.freeze(NOW + timedelta(hours=12, minutes=1))
    assert facilitator_client.get("/animation/").status_code == 303


def test_sign_out_everywhere_ends_the_sessions_on_other_devices(
    programme: Flask, make_facilitator
) -> None:
    make_facilitator()
    laptop, phone = programme.test_client(), programme.test_client()
    assert log_in(laptop).status_code == 303 and log_in(phone).status_code == 303
    page = phone.get("/animation/").get_data(as_text=True)
    assert "Déconnecter tous mes appareils" in page
    done = phone.post("/animation/deconnexion-partout", data={"csrf_token": csrf_from(page)})
    assert done.status_code == 303
    assert laptop.get("/animation/").status_code == 303
    assert phone.get("/animation/").status_code == 303


@pytest.mark.parametrize("command", ["reset-password", "remove"])
def test_the_cli_ends_that_persons_sessions(
    programme: Flask, make_facilitator, runner: FlaskCliRunner, command: str
) -> None:
    make_facilitator()
    make_facilitator("autre@example.org")
    theirs, other = programme.test_client(), programme.test_client()
    log_in(theirs)
    log_in(other, email="autre@example.org")
    new_password = "une toute nouvelle phrase de passe"
    typed = f"{new_password}\n{new_password}\n" if command == "reset-password" else None
    result = runner.invoke(args=["facilitator", command, "animation@example.org"], input=typed)
    assert result.exit_code == 0, result.output
    assert "sessions fermées : 1" in result.output
    assert PASSWORD not in result.output and new_password not in result.output
    assert theirs.get("/animation/").status_code == 303
    assert other.get("/animation/").status_code == 200
    if command == "reset-password":
        assert log_in(theirs, password=new_password).status_code == 303
    else:
        assert log_in(theirs).status_code == 422


def test_an_unknown_account_is_a_french_error(runner: FlaskCliRunner, app: Flask) -> None:
    result = runner.invoke(args=["facilitator", "remove", "personne@example.org"])
    assert result.exit_code == 1
    assert "Erreur : Aucun compte pour personne@example.org." in result.output


def test_an_attendee_signs_out_of_a_shared_computer(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    _, token = make_attendee()
    space = client.get(f"/moi/{token}", follow_redirects=True).get_data(as_text=True)
    assert "Me déconnecter de cet appareil" in space
    done = client.post("/moi/deconnexion", data={"csrf_token": csrf_from(space)})
    assert done.status_code == 200
    assert "Cet appareil ne vous reconnaît plus" in done.get_data(as_text=True)
    assert client.get("/moi").headers["Location"].endswith("/moi/lien")
    assert client.get("/inscription/etat").status_code == 204
    assert all(row.attendee_id is None for row in session_rows(programme))
    # The personal link still opens the space.
    assert client.get(f"/moi/{token}", follow_redirects=True).status_code == 200


def test_opening_the_personal_link_gives_a_new_key(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    _, token = make_attendee()
    register(client, htmx=True, email="autre@example.org")
    before = cookie_of(client)
    client.get(f"/moi/{token}")
    after = cookie_of(client)
    assert after != before  # rights changed: the key known before is worth nothing
    fixated = client.application.test_client()
    fixated.set_cookie(COOKIE, before, domain="localhost")
    assert fixated.get("/moi").headers["Location"].endswith("/moi/lien")


def test_a_vote_needs_a_session_with_full_rights_not_a_forged_cookie(
    programme: Flask, client: FlaskClient
) -> None:
    client.set_cookie(COOKIE, "x" * 43, domain="localhost")
    response = client.get("/inscription/etat", headers=htmx_headers())
    assert response.status_code == 204
