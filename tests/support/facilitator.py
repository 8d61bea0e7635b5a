"""The facilitator's space: accounts (as the CLI makes them), logging in, a logged-in client."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.http import csrf_from

PASSWORD = "un mot de passe assez long"


def create_account(
    app: Flask, email: str = "animation@example.org", password: str = PASSWORD
) -> int:
    """A facilitator account through the service (as the CLI does); return its id."""
    from app.facilitator.accounts import create_facilitator

    with app.app_context():
        return create_facilitator(email, password).id


def log_in(client: FlaskClient, email: str = "animation@example.org", password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """Log in through the real form (CSRF token included); return the response."""
    page = client.get("/animation/connexion")
    token = csrf_from(page.get_data(as_text=True))
    return client.post(
        "/animation/connexion",
        data={"email": email, "password": password, "csrf_token": token},
    )


@pytest.fixture
def make_facilitator(app: Flask) -> Callable[..., int]:
    """Create a facilitator account; return its id."""

    def factory(email: str = "animation@example.org", password: str = PASSWORD) -> int:
        return create_account(app, email, password)

    return factory


@pytest.fixture
def facilitator_client(programme: Flask, make_facilitator: Callable[..., int]) -> FlaskClient:
    """A test client logged in as animation@example.org, on the seed programme."""
    make_facilitator()
    client = programme.test_client()
    response = log_in(client)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client
