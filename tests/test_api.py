"""The programme as open data (/api/v1/): what it says, what it never says, and how it
answers (JSON, ETag and 304, CORS, a shared minute of cache, JSON errors, no cookie)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db, limiter
from app.http import Cache
from app.models import Episode
from app.programme.services import load_programme
from tests.support.database import NOW, make_test_app, prepare_schema
from tests.support.fates import add_votes
from tests.support.opendata import JOIN_LINK, REPLAY, OpenDataWorld

EPISODE_1 = "plateformes-civictech"
EPISODE_2 = "budget-participatif"


def api_urls(app: Flask) -> list[str]:
    """Every GET address of the API, for every episode."""
    with app.app_context():
        slugs = list(db.session.scalars(sa.select(Episode.slug).order_by(Episode.number)))
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or "GET" not in rule.methods:
            continue
        if "slug" in rule.arguments:
            urls += [rule.rule.replace("<slug>", slug) for slug in slugs]
        else:
            urls.append(rule.rule)
    return urls


def by_id(questions: list[dict]) -> dict[int, dict]:
    return {q["id"]: q for q in questions}


# ---------------------------------------------------------------- what it never says
def test_no_answer_of_the_api_carries_a_private_value(open_data_world: OpenDataWorld) -> None:
    client = open_data_world.app.test_client()
    urls = api_urls(open_data_world.app)
    assert len(urls) >= 1 + 1 + 2 * 7 + 1
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        # Both as written and as JSON escapes them.
        body = json.dumps(response.get_json(), ensure_ascii=False)
        for secret in open_data_world.secrets:
            assert secret not in body and secret not in text, (url, secret)
        for key in ("email", "join", "note", "attendee", "organisation", "decline_detail"):
            assert f'"{key}' not in body, (url, key)


def test_an_anonymous_question_stays_anonymous_and_a_shown_name_is_shown(
    open_data_world: OpenDataWorld,
) -> None:
    client = open_data_world.app.test_client()
    listed = by_id(client.get(f"/api/v1/episodes/{EPISODE_1}/questions").get_json()["questions"])
    assert listed[open_data_world.anonymous_id]["author"] is None
    assert listed[open_data_world.merged_id]["author"] is None
    assert listed[open_data_world.named_id]["author"] == "Dominique Visible"
    # Unpublished and declined questions are not there at all.
    assert open_data_world.unpublished_id not in listed
    assert open_data_world.declined_id not in listed


# ---------------------------------------------------------------- what it says
def test_questions_come_with_their_votes_and_public_fate(open_data_world: OpenDataWorld) -> None:
    client = open_data_world.app.test_client()
    data = client.get(f"/api/v1/episodes/{EPISODE_1}/questions").get_json()
    assert data["episode_slug"] == EPISODE_1 and data["total"] == 4
    listed = by_id(data["questions"])
    on_air = listed[open_data_world.anonymous_id]
    assert on_air["votes"] == 3
    assert on_air["fate"]["code"] == "answered_on_air"
    assert on_air["fate"]["replay_seconds"] == 754
    assert on_air["fate"]["replay_url"] == f"{REPLAY}#t=754"
    written = listed[open_data_world.named_id]["fate"]
    assert (written["code"], written["written_answer"]) == (
        "answered_in_writing",
        "Voici la réponse.",
    )
    merged = listed[open_data_world.merged_id]["fate"]
    assert (merged["code"], merged["merged_into_id"]) == ("merged", open_data_world.named_id)
    carried = listed[open_data_world.carried_id]["fate"]
    assert carried["code"] == "carried_over"
    assert carried["carried_to"]["episode_slug"] == EPISODE_2
    assert carried["carried_to"]["question_id"] == open_data_world.continuation_id
    # Most supported first (pointers to elsewhere last), as on the episode page.
    assert data["questions"][0]["id"] == open_data_world.anonymous_id
    later = client.get(f"/api/v1/episodes/{EPISODE_2}/questions").get_json()["questions"]
    assert [q["fate"]["code"] for q in later] == ["open"]


def test_an_episode_carries_its_register_once_started_and_iso_times(
    open_data_world: OpenDataWorld,
) -> None:
    client = open_data_world.app.test_client()
    episodes = client.get("/api/v1/episodes").get_json()["episodes"]
    assert [e["number"] for e in episodes] == list(range(1, 8))
    first, second = episodes[0], episodes[1]
    assert first["state"] == "past" and second["state"] == "upcoming"
    assert first["replay_url"] == REPLAY and second["replay_url"] is None
    assert second["register"] is None  # public from the start only, as on the page
    assert first["register"] == {
        "received": 6,
        "published": 4,
        "answered_on_air": 1,
        "answered_in_writing": 1,
        "merged": 1,
        "carried_over": 1,
        "declined": 1,
        "declined_by_reason": {
            "hors_sujet": 0,
            "doublon": 0,
            "deja_traitee": 0,
            "charte": 1,
            "autre": 0,
        },
        "waiting": 1,
    }
    starts = datetime.fromisoformat(first["starts_at"])
    assert starts.utcoffset() == timedelta(0)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", first["starts_at"])
    assert datetime.fromisoformat(first["ends_at"]) - starts == timedelta(hours=1)
    assert first["page_url"] == f"https://webinaires.example.org/episodes/{EPISODE_1}"
    assert first["questions_url"].startswith("https://webinaires.example.org/api/v1/")
    assert first["speakers"][0] == {
        "name": "Thibaut Dernoncourt",
        "role": first["speakers"][0]["role"],
        "host": True,
    }
    one = client.get(f"/api/v1/episodes/{EPISODE_1}").get_json()
    assert one == first
    cycle = client.get("/api/v1/cycle").get_json()
    assert cycle["episodes"] == episodes
    assert cycle["licence"]["name"].startswith("Licence Ouverte")


def test_a_cancelled_episode_says_so_and_why(programme: Flask) -> None:
    with programme.app_context():
        db.session.execute(
            sa.update(Episode)
            .filter_by(number=3)
            .values(cancelled_at=NOW, cancel_reason="Intervenant malade")
        )
        db.session.commit()
    episodes = programme.test_client().get("/api/v1/episodes").get_json()["episodes"]
    assert (episodes[2]["state"], episodes[2]["cancel_reason"]) == (
        "cancelled",
        "Intervenant malade",
    )
    assert episodes[0]["cancel_reason"] is None


def test_the_openapi_document_is_3_1_and_lists_every_endpoint(programme: Flask) -> None:
    document = programme.test_client().get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {
        "/api/v1/cycle",
        "/api/v1/episodes",
        "/api/v1/episodes/{slug}",
        "/api/v1/episodes/{slug}/questions",
    }
    assert document["info"]["license"]["identifier"] == "etalab-2.0"
    schemas = document["components"]["schemas"]
    # 3.1: nullable is a type list, not 3.0's "nullable".
    assert schemas["Question"]["properties"]["author"]["type"] == ["string", "null"]
    assert "nullable" not in json.dumps(document)


# ---------------------------------------------------------------- how it answers
def test_a_conditional_request_gets_a_304_until_something_changes(
    open_data_world: OpenDataWorld, make_attendee
) -> None:
    app = open_data_world.app
    client = app.test_client()
    url = f"/api/v1/episodes/{EPISODE_1}/questions"
    first = client.get(url)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == Cache.SHARED_MINUTE.value == "public, max-age=60"
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Access-Control-Allow-Origin"] == "*"
    add_votes(app, open_data_world.named_id, [make_attendee()[0]])
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    for other in ("/api/v1/cycle", "/api/v1/openapi.json"):
        tag = client.get(other).headers["ETag"]
        assert client.get(other, headers={"If-None-Match": tag}).status_code == 304


def test_every_site_may_read_it_and_a_preflight_is_answered(programme: Flask) -> None:
    client = programme.test_client()
    answer = client.get("/api/v1/episodes", headers={"Origin": "https://ailleurs.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in answer.headers["Access-Control-Expose-Headers"]
    preflight = client.options(
        "/api/v1/episodes",
        headers={
            "Origin": "https://ailleurs.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "If-None-Match"
    # Errors too, so that a script can read why.
    missing = client.get("/api/v1/episodes/inconnu")
    assert missing.headers["Access-Control-Allow-Origin"] == "*"
    # The pages are not opened to other sites.
    assert "Access-Control-Allow-Origin" not in client.get("/").headers


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/api/v1/episodes/inconnu", 404),
        ("GET", "/api/v1/episodes/inconnu/questions", 404),
        ("GET", "/api/v1/nulle-part", 404),
        ("GET", "/api/v1/episodes/a%00b", 400),
        ("POST", "/api/v1/episodes", 405),
        ("DELETE", "/api/v1/episodes/plateformes-civictech", 405),
        ("PUT", "/api/v1/cycle", 405),
    ],
)
def test_errors_answer_json_in_french(programme: Flask, method: str, url: str, status: int) -> None:
    response = programme.test_client().open(url, method=method, json={"x": 1})
    assert response.status_code == status
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert data["status"] == status
    assert data["message"] and data["error"]
    assert "<html" not in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == Cache.NEVER.value
    if status == 405:
        assert "GET" in response.headers["Allow"]
        assert "GET" in data["message"]
    if status == 404:
        assert "épisode inconnu" in data["message"]


def test_no_programme_yet_is_a_json_404(app: Flask) -> None:
    for url in ("/api/v1/cycle", "/api/v1/episodes", "/api/v1/episodes/x/questions"):
        response = app.test_client().get(url)
        assert (response.status_code, response.mimetype) == (404, "application/json"), url
    assert app.test_client().get("/api/v1/openapi.json").status_code == 200


def test_the_api_sets_no_cookie_even_for_a_browser_with_a_session(
    open_data_world: OpenDataWorld, make_attendee
) -> None:
    app = open_data_world.app
    _, token = make_attendee()
    fresh = app.test_client()
    signed_in = app.test_client()
    cookie = app.config["SESSION_COOKIE_NAME"]
    signed_in.get(f"/moi/{token}", base_url="https://localhost")
    assert signed_in.get_cookie(cookie) is not None
    for client in (fresh, signed_in):
        for url in api_urls(app):
            response = client.get(url, base_url="https://localhost")
            assert "Set-Cookie" not in response.headers, url
            assert "Cookie" not in response.headers.get("Vary", ""), url
    assert fresh.get_cookie(cookie) is None


# ---------------------------------------------------------------- rate limit
@pytest.fixture
def limited_app(database_url: str, smtp_server) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """An app with rate limits on and a small API limit."""
    application = make_test_app(
        database_url, smtp_server[0].port, RATELIMIT_ENABLED=True, RATELIMIT_API="3 per minute"
    )
    prepare_schema(application)
    application.extensions["clock"].freeze(NOW)
    with application.app_context():
        load_programme()
        limiter.reset()
    yield application
    limiter.enabled = False
    with application.app_context():
        db.engine.dispose()


def test_the_api_is_rate_limited_with_a_json_429(limited_app: Flask) -> None:
    client = limited_app.test_client()
    urls = ["/api/v1/cycle", "/api/v1/episodes", f"/api/v1/episodes/{EPISODE_1}"]
    assert [client.get(url).status_code for url in urls] == [200, 200, 200]
    assert client.options("/api/v1/episodes").status_code == 200  # a preflight costs nothing
    refused = client.get(f"/api/v1/episodes/{EPISODE_1}/questions")
    assert refused.status_code == 429
    assert refused.mimetype == "application/json"
    assert refused.get_json()["status"] == 429
    assert "Retry-After" in refused.get_json()["message"]
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    assert "Set-Cookie" not in refused.headers
    # The site's pages keep their own budget.
    assert client.get("/").status_code == 200
    assert client.get("/donnees-ouvertes").status_code == 200


def test_the_limit_is_read_from_the_configuration(database_url: str, smtp_server) -> None:  # type: ignore[no-untyped-def]
    application = make_test_app(database_url, smtp_server[0].port)
    assert application.config["RATELIMIT_API"] == "60 per minute;1000 per hour"


# ---------------------------------------------------------------- the human page
def test_the_open_data_page_documents_the_api_in_french(programme: Flask) -> None:
    client = programme.test_client()
    home = client.get("/").get_data(as_text=True)
    assert 'href="/donnees-ouvertes"' in home
    response = client.get("/donnees-ouvertes")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == Cache.SHARED_BRIEF.value
    assert "Set-Cookie" not in response.headers
    page = response.get_data(as_text=True)
    assert "curl https://webinaires.example.org/api/v1/episodes" in page
    assert "Licence Ouverte" in page
    assert "60 requêtes par minute et 1000 requêtes par heure" in page
    assert 'href="/api/v1/openapi.json"' in page
    for code in ("answered_on_air", "carried_over", "upcoming", "cancelled"):
        assert f"<code>{code}</code>" in page
    assert JOIN_LINK not in page


def test_a_database_outage_is_a_json_503(smtp_server) -> None:  # type: ignore[no-untyped-def]
    from tests.support.mail import free_port

    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/webinaires"
    down = make_test_app(
        url, smtp_server[0].port, SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}}
    )
    try:
        for path in ("/api/v1/cycle", f"/api/v1/episodes/{EPISODE_1}/questions"):
            response = down.test_client().get(path)
            assert (response.status_code, response.mimetype) == (503, "application/json")
            assert response.headers["Retry-After"] == "30"
            assert "indisponible" in response.get_json()["message"]
    finally:
        with down.app_context():
            db.engine.dispose()


def test_each_answer_costs_a_constant_number_of_queries(
    open_data_world: OpenDataWorld, make_question
) -> None:
    from tests.support.database import count_queries

    app = open_data_world.app
    client = app.test_client()
    url = f"/api/v1/episodes/{EPISODE_1}/questions"
    with count_queries(app) as few:
        client.get(url)
    for n in range(20):
        make_question(f"Encore une question {n} ?", published=True)
    with count_queries(app) as many:
        assert client.get(url).get_json()["total"] == 24
    assert len(few) == len(many) <= 3
    with count_queries(app) as cycle:
        client.get("/api/v1/cycle")
    assert len(cycle) <= 2  # the programme, then every started episode's register at once
