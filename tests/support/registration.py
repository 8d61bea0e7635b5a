"""Helpers to register through the real form (CSRF token included)."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from tests.support.http import csrf_from

EPISODE_VALUE = re.compile(r'name="episodes" type="checkbox" value="(\d+)"')


def started_from(html: str) -> str:
    """The honeypot's signed time stamp served with a public form."""
    match = re.search(r'<input[^>]*name="started"[^>]*value="([^"]+)"', html)
    assert match, "no time stamp in the form"
    return match.group(1)


def registration_data(client: FlaskClient, prefix: str = "", **overrides: Any) -> dict[str, Any]:
    """A valid submission for the form as served now (token, all offered episodes);
    `prefix` "/en" for the English form."""
    page = client.get(f"{prefix}/inscription").get_data(as_text=True)
    data: dict[str, Any] = {
        "csrf_token": csrf_from(page),
        "first_name": "Camille",
        "last_name": "Martin",
        "email": "camille.martin@example.org",
        "organisation": "Ville de Rennes",
        "organisation_kind": "collectivite",
        "job_title": "Chargée de participation",
        "episodes": EPISODE_VALUE.findall(page),
        "privacy": "y",
        "website": "",
        "started": started_from(page),
    }
    data.update(overrides)
    return data


def register(client: FlaskClient, htmx: bool = False, prefix: str = "", **overrides: Any):  # type: ignore[no-untyped-def]
    """POST the registration form, as htmx or as a plain form (`prefix` "/en": in English)."""
    data = registration_data(client, prefix, **overrides)
    headers = {"HX-Request": "true", "HX-Target": "inscription-form"} if htmx else {}
    return client.post(f"{prefix}/inscription", data=data, headers=headers)
