"""Absolute links for e-mails and calendars, from FLASK_SITE_URL, never from the request."""

from __future__ import annotations

from typing import Any

from flask import current_app


def site_link(endpoint: str, **values: Any) -> str:
    """Absolute URL of an endpoint on the configured public site."""
    adapter = current_app.url_map.bind("localhost")
    path = adapter.build(endpoint, values)
    return current_app.config["SITE_URL"].rstrip("/") + path
