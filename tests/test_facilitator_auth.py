"""The facilitator's door: CLI accounts, login, one guard for all of /animation/, CSRF."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from app.extensions import db, limiter
from app.models import Facilitator, FacilitatorAction
from tests.support.database import make_test_app, prepare_schema
from tests.support.facilitator import PASSWORD, log_in
from tests.support.http import csrf_from, htmx_headers

PROTECTED_PREFIX = "/animation/"
PUBLIC_ENDPOINTS = {"facilitator.login"}
SAMPLE_VALUES = {"slug": "plateformes-civictech", "question_id": 1, "fate": "ecartee"}


def protected_requests(app: Flask) -> list[tuple[str, str]]:
    """Every (method, url) under /animation/ from the app's URL map, login page excepted."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PROTECTED_PREFIX) or rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = rule.rule
        for name in rule.arguments:
            url = re.sub(rf"<(?:[^:<>]+:)?{name}>", str(SAMPLE_VALUES[name]), url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, url))
    return found


#: The walk's parameters, read at collection time from an app on a throwaway configuration
#: (no database is opened); test_the_walk_is_the_test_apps_url_map checks them.
PROTECTED_REQUESTS = protected_requests(make_test_app("sqlite://", smtp_port=0))
walk = pytest.mark.parametrize(
    ("method", "url"), PROTECTED_REQUESTS, ids=[f"{m}:{u}" for m, u in PROTECTED_REQUESTS]
)


# ---------------------------------------------------------------- CLI
def test_cli_creates_an_account_with_a_hidden_password(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["facilitator", "create", "Animation@Example.org"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "Compte créé pour animation@example.org" in result.output
    assert PASSWORD not in result.output  # never echoed
    with app.app_context():
        account = db.session.scalars(sa.select(Facilitator)).one()
        assert account.email == "animation@example.org"
        assert account.password_hash.startswith("$argon2")
        assert PASSWORD not in account.password_hash


@pytest.mark.parametrize(
    ("email", "typed", "message"),
    [
        ("pas-une-adresse", f"{PASSWORD}\n{PASSWORD}\n", "Adresse e-mail invalide"),
        ("a@example.org", "court\ncourt\n", "Mot de passe trop court : 12 caractères au moins"),
        (
            "a@example.org",
            f"{PASSWORD}\nautre chose encore\n",
            "Les deux mots de passe ne sont pas identiques",
        ),
    ],
)
def test_cli_refuses_bad_input_in_french(
    app: Flask, runner: FlaskCliRunner, email: str, typed: str, message: str
) -> None:
    result = runner.invoke(args=["facilitator", "create", email], input=typed)
    assert result.exit_code == 1
    assert f"Erreur : {message}" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Facilitator.id))) == 0


def test_cli_refuses_a_second_account_for_the_same_address(
    runner: FlaskCliRunner, make_facilitator
) -> None:
    make_facilitator()
    result = runner.invoke(
        args=["facilitator", "create", "ANIMATION@example.org"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 1
    assert "Un compte existe déjà pour animation@example.org" in result.output


# ---------------------------------------------------------------- login and logout
def test_login_renews_the_session_and_logout_ends_it(
    programme: Flask, client: FlaskClient, make_facilitator
) -> None:
    make_facilitator()
    with client.session_transaction() as before:
        before["planted"] = "by an attacker"  # session fixation attempt
    response = log_in(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/animation/"
    with client.session_transaction() as after:
        assert "planted" not in after
        assert after["_user_id"].startswith("1:")
    page = client.get("/animation/")
    assert page.status_code == 200
    assert "Tableau de bord" in page.get_data(as_text=True)

    token = csrf_from(page.get_data(as_text=True))
    assert client.get("/animation/deconnexion").status_code == 405  # never by a link
    response = client.post("/animation/deconnexion", data={"csrf_token": token})
    assert response.status_code == 303
    assert client.get("/animation/").status_code == 303
    with client.session_transaction() as ended:
        assert "_user_id" not in ended


def test_unknown_email_and_wrong_password_get_the_same_answer(
    programme: Flask, client: FlaskClient, make_facilitator
) -> None:
    make_facilitator()
    wrong = log_in(client, password="pas le bon mot de passe")
    unknown = log_in(client, email="inconnu@example.org")
    assert wrong.status_code == unknown.status_code == 422
    strip = lambda r: re.sub(r'value="[^"]*"', "", r.get_data(as_text=True))  # noqa: E731
    assert strip(wrong) == strip(unknown)
    assert "E-mail ou mot de passe incorrect." in wrong.get_data(as_text=True)
    assert "pas le bon mot de passe" not in wrong.get_data(as_text=True)


def test_login_form_errors_are_french_and_422(programme: Flask, client: FlaskClient) -> None:
    page = client.get("/animation/connexion")
    response = client.post(
        "/animation/connexion",
        data={"email": "", "password": "", "csrf_token": csrf_from(page.get_data(as_text=True))},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Indiquez votre adresse e-mail." in body
    assert 'aria-invalid="true"' in body


def test_login_follows_a_safe_next_only(
    programme: Flask, client: FlaskClient, make_facilitator
) -> None:
    make_facilitator()
    for next_url, expected in [
        ("/animation/inscrits?page=2", "/animation/inscrits?page=2"),
        ("https://evil.example/animation/", "/animation/"),
        ("//evil.example/animation/", "/animation/"),
        ("/\\evil.example", "/animation/"),
        ("/episodes/api", "/animation/"),
    ]:
        page = client.get("/animation/connexion", query_string={"next": next_url})
        response = client.post(
            "/animation/connexion",
            query_string={"next": next_url},
            data={
                "email": "animation@example.org",
                "password": PASSWORD,
                "csrf_token": csrf_from(page.get_data(as_text=True)),
            },
        )
        assert response.headers["Location"] == expected, next_url
        client.post(
            "/animation/deconnexion",
            data={"csrf_token": csrf_from(client.get("/animation/").get_data(as_text=True))},
        )


def test_login_is_rate_limited(database_url: str, smtp_server, make_facilitator) -> None:
    limited = make_test_app(database_url, smtp_server[0].port, RATELIMIT_ENABLED=True)
    prepare_schema(limited)
    limiter.reset()
    client = limited.test_client()
    statuses = []
    for _ in range(7):
        page = client.get("/animation/connexion")
        response = client.post(
            "/animation/connexion",
            data={
                "email": "x@example.org",
                "password": "mauvais mot de passe",
                "csrf_token": csrf_from(page.get_data(as_text=True)),
            },
        )
        statuses.append(response.status_code)
    assert statuses[:5] == [422] * 5
    assert statuses[5:] == [429, 429]
    assert "Trop de tentatives" in response.get_data(as_text=True)
    limiter.reset()
    with limited.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_new_password_ends_older_sessions(facilitator_client: FlaskClient, app: Flask) -> None:
    from argon2 import PasswordHasher

    assert facilitator_client.get("/animation/").status_code == 200
    with app.app_context():
        account = db.session.scalars(sa.select(Facilitator)).one()
        account.password_hash = PasswordHasher().hash("un tout nouveau mot de passe")
        db.session.commit()
    assert facilitator_client.get("/animation/").status_code == 303


def test_login_is_recorded(facilitator_client: FlaskClient, app: Flask) -> None:
    with app.app_context():
        actions = [a.action for a in db.session.scalars(sa.select(FacilitatorAction))]
        account = db.session.scalars(sa.select(Facilitator)).one()
    assert "login" in actions
    assert account.last_login_at is not None


# ---------------------------------------------------------------- the guard
def test_the_walk_is_the_test_apps_url_map(programme: Flask) -> None:
    requests = protected_requests(programme)
    assert requests == PROTECTED_REQUESTS  # the collection-time list is the real one
    assert len(requests) >= 15


@walk
def test_every_url_under_animation_refuses_an_anonymous_request(
    programme: Flask, client: FlaskClient, make_question, method: str, url: str
) -> None:
    make_question()
    # A valid CSRF token, so that it is the login guard that refuses, not CSRF.
    token = csrf_from(client.get("/animation/connexion").get_data(as_text=True))
    response = client.open(url, method=method, data={"csrf_token": token})
    assert response.status_code == 303, (method, url, response.status_code)
    assert response.headers["Location"].startswith("/animation/connexion"), (method, url)
    if method == "GET":
        assert "next=" in response.headers["Location"]


@walk
def test_every_url_under_animation_sends_htmx_to_the_login_page(
    programme: Flask, client: FlaskClient, method: str, url: str
) -> None:
    token = csrf_from(client.get("/animation/connexion").get_data(as_text=True))
    response = client.open(
        url,
        method=method,
        data={"csrf_token": token},
        headers=htmx_headers(
            target="question-list",
            **{"HX-Current-URL": "https://webinaires.example.org/animation/inscrits?page=2"},
        ),
    )
    assert response.status_code == 401, (method, url)
    assert response.headers["HX-Redirect"].startswith("/animation/connexion"), (method, url)
    assert "next=/animation/inscrits?page%3D2" in response.headers["HX-Redirect"]
    assert response.get_data() == b""  # no login form swapped into a fragment


def test_facilitator_pages_are_private_and_kept_out_of_caches(
    facilitator_client: FlaskClient,
) -> None:
    for url in ("/animation/", "/animation/connexion", "/animation/inscrits"):
        response = facilitator_client.get(url, follow_redirects=True)
        assert response.headers["Cache-Control"] == "no-store"
    page = facilitator_client.get("/animation/").get_data(as_text=True)
    assert '"historyCacheSize":0' in page
    assert "js/facilitator.js" in page


def test_session_cookie_is_httponly_and_lax(
    programme: Flask, client: FlaskClient, make_facilitator
) -> None:
    make_facilitator()
    response = log_in(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


# ---------------------------------------------------------------- CSRF
def test_forged_posts_are_refused(
    facilitator_client: FlaskClient, programme: Flask, make_question
) -> None:
    question_id = make_question()
    url = f"/animation/episodes/plateformes-civictech/questions/{question_id}"
    other = programme.test_client()  # another browser's token is no good here
    foreign_token = csrf_from(other.get("/animation/connexion").get_data(as_text=True))
    for data, headers in [
        ({"action": "retenue"}, {}),
        ({"action": "retenue", "csrf_token": "forged"}, {}),
        ({"action": "retenue", "csrf_token": foreign_token}, {}),
        ({"action": "retenue"}, {"X-CSRFToken": "forged", **htmx_headers()}),
        (
            {"action": "retenue"},
            {"Origin": "https://evil.example", "Referer": "https://evil.example/"},
        ),
    ]:
        response = facilitator_client.post(url, data=data, headers=headers)
        assert response.status_code == 400, (data, headers)
    for url, data in [
        ("/animation/episodes/plateformes-civictech/modifier", {"title": "Piraté"}),
        ("/animation/episodes/plateformes-civictech/suivi", {}),
        ("/animation/deconnexion", {}),
    ]:
        assert facilitator_client.post(url, data=data).status_code == 400, url
    with programme.app_context():
        from app.models import Question

        assert db.session.get(Question, question_id).status == "nouvelle"
    assert facilitator_client.get("/animation/").status_code == 200  # still logged in
