"""Rate limits on the POST routes (switched off in the other tests by configuration)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from app.extensions import db, limiter
from app.programme.services import load_programme
from tests.support.database import NOW, make_test_app, prepare_schema
from tests.support.http import csrf_from
from tests.support.registration import registration_data


@pytest.fixture
def limited_app(database_url: str, smtp_server) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """An app with rate limits on and a small registration limit."""
    application = make_test_app(
        database_url,
        smtp_server[0].port,
        RATELIMIT_ENABLED=True,
        RATELIMIT_REGISTRATION="3 per minute",
        RATELIMIT_LINK_REQUEST="2 per minute",
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


def test_registration_is_rate_limited(limited_app: Flask) -> None:
    client = limited_app.test_client()
    statuses = []
    for index in range(5):
        data = registration_data(client, email=f"p{index}@example.org")
        statuses.append(client.post("/inscription", data=data).status_code)
    assert statuses == [303, 303, 303, 429, 429]
    page = client.post("/inscription", data=registration_data(client)).get_data(as_text=True)
    assert "Trop de tentatives" in page
    # Pages are not limited.
    assert all(client.get("/inscription").status_code == 200 for _ in range(10))


def test_link_requests_are_rate_limited(limited_app: Flask) -> None:
    client = limited_app.test_client()
    statuses = []
    for _ in range(3):
        csrf = csrf_from(client.get("/moi/lien").get_data(as_text=True))
        response = client.post(
            "/moi/lien",
            data={"csrf_token": csrf, "email": "x@example.org"},
            headers={"HX-Request": "true"},
        )
        statuses.append(response.status_code)
    assert statuses == [200, 200, 429]
    assert response.headers["HX-Retarget"] == "#alerts"


def test_behind_a_proxy_each_visitor_has_its_own_count(database_url: str, smtp_server) -> None:  # type: ignore[no-untyped-def]
    application = make_test_app(
        database_url,
        smtp_server[0].port,
        RATELIMIT_ENABLED=True,
        RATELIMIT_LINK_REQUEST="1 per minute",
        PROXY_FIX_X_FOR=1,
    )
    prepare_schema(application)
    application.extensions["clock"].freeze(NOW)
    with application.app_context():
        load_programme()
        limiter.reset()
    try:
        statuses = []
        for visitor in ("203.0.113.1", "203.0.113.2", "203.0.113.1"):
            client = application.test_client()
            csrf = csrf_from(client.get("/moi/lien").get_data(as_text=True))
            response = client.post(
                "/moi/lien",
                data={"csrf_token": csrf, "email": "x@example.org"},
                headers={"X-Forwarded-For": visitor},
            )
            statuses.append(response.status_code)
        assert statuses == [200, 200, 429]
    finally:
        limiter.enabled = False
        with application.app_context():
            db.engine.dispose()
