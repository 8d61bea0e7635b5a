"""A tiny browser for real servers: one cookie jar, any instance, htmx headers, and
requests sent at the same moment from several threads."""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Answer:
    """What a server answered."""

    status: int
    text: str
    location: str = ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are answers to look at, as htmx and the tests see them."""

    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


class Browser:
    """One browser: its cookies go to every instance on the host, as a real browser's go to
    every port of it (cookies are per host, not per port)."""

    def __init__(self) -> None:
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def get(self, url: str, headers: dict[str, str] | None = None) -> Answer:
        """GET a page or a fragment."""
        return self._open(urllib.request.Request(url, headers=headers or {}))

    def post(
        self, url: str, fields: dict[str, str | list[str]], headers: dict[str, str] | None = None
    ) -> Answer:
        """POST a form (lists become repeated fields, as checkboxes send them)."""
        body = urllib.parse.urlencode(fields, doseq=True).encode()
        request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST")
        return self._open(request)

    def _open(self, request: urllib.request.Request) -> Answer:
        try:
            with self.opener.open(request, timeout=30) as response:
                return Answer(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read().decode(), error.headers.get("Location", ""))


def htmx(target: str) -> dict[str, str]:
    """The headers htmx sends for a request aimed at element `target`."""
    return {"HX-Request": "true", "HX-Target": target}


def at_once(action: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """Run `action` on every item in its own thread, all released at the same moment;
    return the results in order."""
    items = list(items)
    start = threading.Barrier(len(items))

    def released(item: T) -> R:
        start.wait(timeout=30)
        return action(item)

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(released, items))


class _FormReader(HTMLParser):
    """The fields of the first form whose action is `action`, as a browser would send them."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.done = False
        self.fields: dict[str, str] = {}
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form" and not self.done and found.get("action") == self.action:
            self.inside = True
        elif self.inside and tag == "input" and "name" in found:
            kind = found.get("type", "text")
            if kind not in ("checkbox", "radio") or "checked" in found:
                self.fields[found["name"]] = found.get("value", "")
        elif self.inside and tag == "textarea" and "name" in found:
            self.textarea = found["name"]
            self.fields[self.textarea] = ""

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.fields[self.textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self.textarea = None
        elif tag == "form" and self.inside:
            self.inside, self.done = False, True


def form_fields(html: str, action: str) -> dict[str, str]:
    """What the form posting to `action` would send as it stands (select boxes left out)."""
    reader = _FormReader(action)
    reader.feed(html)
    # A textarea's first line feed belongs to the markup, not to its value.
    return {name: value.removeprefix("\n") for name, value in reader.fields.items()}
