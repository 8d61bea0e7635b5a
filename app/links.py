"""Addresses: absolute links for e-mails and calendars (from FLASK_SITE_URL, never from the
request), the one builder of an episode's address, and the check of return paths."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import current_app, url_for

from .language import site_root
from .models import Episode


def site_link(endpoint: str, **values: Any) -> str:
    """Absolute URL of an endpoint on the configured public site, in the language being
    written (a mail to someone who registered in English links to the English pages)."""
    anchor = values.pop("_anchor", None)  # url_for's fragment: the map alone would query it
    adapter = current_app.url_map.bind("localhost")
    path = adapter.build(endpoint, values)
    return site_root() + path + (f"#{anchor}" if anchor else "")


def site_host() -> str:
    """The configured site's host name (calendar UIDs, Message-IDs)."""
    return urlsplit(current_app.config["SITE_URL"]).hostname or "localhost"


def episode_url(episode: Episode, *, external: bool = False, **values: Any) -> str:
    """The address of an episode's page: a path for our pages, absolute for mail and calendars."""
    if external:
        return site_link("programme.episode", slug=episode.slug, **values)
    return url_for("programme.episode", slug=episode.slug, **values)


#: an id no row has, to find where ids go in an address (a path part, never the slug's)
_SAMPLE_ID = 2_109_876_543


def address_per_id(endpoint: str, name: str, **values: Any) -> Callable[[int], str]:
    """The address of `endpoint` for any id given as `name`, from one url_for: for a list
    that needs one address per row (url_for costs more than the rest of a row)."""
    sample = url_for(endpoint, **{name: _SAMPLE_ID}, **values)
    if sample.count(str(_SAMPLE_ID)) != 1:  # not only where the id goes: ask each time
        return lambda value: url_for(endpoint, **{name: value}, **values)
    head, _, tail = sample.partition(str(_SAMPLE_ID))
    return lambda value: f"{head}{value}{tail}"


def path_of(url: str) -> str | None:
    """The path of an address (e.g. htmx's HX-Current-URL), or None if it cannot be read."""
    try:
        return urlsplit(url).path
    except ValueError:  # "http://[x": an unbalanced bracket
        return None


def local_path(target: str | None, prefix: str = "/") -> str | None:
    """`target` if it is a path on this site under `prefix`, else None (no open redirect).

    Browsers drop tabs and line breaks from URLs and read a backslash as a slash, so
    "/\\t/evil.example" would lead elsewhere: any control character, space or backslash
    is refused; so is anything the URL parser cannot read.
    """
    if not target or len(target) > 500 or target.startswith("//"):
        return None
    if any(ord(char) <= 0x20 or ord(char) == 0x7F or char == "\\" for char in target):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:  # "http://[x": an unbalanced bracket
        return None
    if parts.scheme or parts.netloc or not parts.path.startswith(prefix):
        return None
    return target


def replay_link(replay_url: str, seconds: int | None) -> str:
    """The replay at a given moment: YouTube reads `t=`, other players the media fragment
    `#t=` (W3C Media Fragments); without a moment, the replay itself."""
    if not replay_url or seconds is None:
        return replay_url
    try:
        parts = urlsplit(replay_url)
    except ValueError:
        return replay_url
    host = (parts.hostname or "").removeprefix("www.").removeprefix("m.")
    if host in ("youtube.com", "youtu.be"):
        query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("t="))
        query = f"{query}&t={seconds}s" if query else f"t={seconds}s"
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, f"t={seconds}"))
