"""Absolute links for e-mails and calendars, from FLASK_SITE_URL, never from the request."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app


def site_link(endpoint: str, **values: Any) -> str:
    """Absolute URL of an endpoint on the configured public site."""
    adapter = current_app.url_map.bind("localhost")
    path = adapter.build(endpoint, values)
    return current_app.config["SITE_URL"].rstrip("/") + path


def local_path(target: str | None, prefix: str = "/") -> str | None:
    """`target` if it is a path on this site under `prefix`, else None (no open redirect).

    Browsers drop tabs and line breaks from URLs and read a backslash as a slash, so
    "/\\t/evil.example" would lead elsewhere: any control character, space or backslash
    is refused.
    """
    if not target or len(target) > 500 or target.startswith("//"):
        return None
    if any(ord(char) <= 0x20 or ord(char) == 0x7F or char == "\\" for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(prefix):
        return None
    return target
