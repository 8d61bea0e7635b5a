"""A real browser: the live server, Debian's Chromium for Playwright, axe-core, screenshots."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from werkzeug.serving import make_server

from app.extensions import db
from app.programme.services import load_programme
from tests.support.database import NOW, make_test_app, prepare_schema
from tests.support.mail import MailSink


class LiveServer:
    """The app served by werkzeug in a thread, for the browser."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        """Serve in the background."""
        self.thread.start()

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture(scope="session")
def live_server(
    database_url: str, smtp_server: tuple[Controller, MailSink]
) -> Iterator[LiveServer]:
    """One live server for the session; each browser test resets the data it needs."""
    application = make_test_app(
        database_url,
        smtp_server[0].port,
        SITE_URL="http://127.0.0.1:0",
        OUTBOX_SEND_AFTER_REQUEST=False,  # on during each test (live_app)
    )
    server = LiveServer(application)
    application.config["SITE_URL"] = server.url
    server.start()
    yield server
    server.stop()
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def live_app(live_server: LiveServer) -> Iterator[Flask]:
    """The live server's app, on an empty database with the seed programme, clock at NOW."""
    application = live_server.app
    prepare_schema(application)
    application.extensions["clock"].freeze(NOW)
    application.extensions.pop("page_cache", None)
    application.config["OUTBOX_SEND_AFTER_REQUEST"] = True  # as on a real site
    with application.app_context():
        load_programme()
    yield application
    # Mail queued by this test is delivered now, not into the next test's SMTP sink.
    from app.mailing.worker import deliver_due

    with application.app_context():
        deliver_due()
        db.session.remove()
    # Its background sender stops with the test, and a request the browser sends late
    # starts none: left running on the shared database with this app's clock, it would
    # take the next tests' rows as due and send them a second time.
    application.config["OUTBOX_SEND_AFTER_REQUEST"] = False
    worker = application.extensions.pop("outbox_worker", None)
    if worker is not None:
        worker.stop()


def _chromium_path() -> str | None:
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    return path if Path(path).exists() else shutil.which("chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict, pytestconfig: pytest.Config) -> dict:
    """Debian's Chromium, never a downloaded one; quiet on a closed network."""
    path = _chromium_path()
    if path is None:
        message = "Chromium absent: apt-get install -y chromium (or set CHROMIUM_PATH)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return {
        **browser_type_launch_args,
        "executable_path": path,
        "args": [
            *browser_type_launch_args.get("args", []),
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    """Playwright's base URL: the live server (tests take `live_app` for fresh data)."""
    return live_server.url


#: WCAG 2.1 A and AA, and the rules axe-core maps to the RGAA 4 (the French public sector's
#: reference, which the accessibility statement claims)
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "RGAAv4"]


def assert_accessible(page: Any, label: str = "") -> None:
    """Zero axe-core violations for WCAG 2.1 A/AA and RGAA 4 on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page,
        options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]},
    )
    violations = results.response["violations"]
    assert violations == [], f"{label}: {results.generate_report()}"


@pytest.fixture
def axe() -> Callable[[Any, str], None]:
    """The accessibility check, as a fixture."""
    return assert_accessible


# Not under test-results/: pytest-playwright empties that folder at each run.
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", "screenshots"))


def htmx_settled(page: Any) -> None:
    """Wait until no htmx request, swap or settle is under way: htmx focuses a swapped
    fragment's [autofocus] field when it settles (20 ms after the swap, later on a loaded
    machine), and a key sent before then would be taken back by it."""
    page.wait_for_function(
        "document.querySelectorAll('.htmx-request, .htmx-swapping, .htmx-settling').length === 0"
    )


def screenshot(page: Any, name: str, full_page: bool = True) -> Path:
    """Save a screenshot under screenshots/ (to look at): the whole page, or what is in view."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def assert_accessible_without_js(no_js_page: Any, checker: Any, label: str) -> None:
    """axe-core on the DOM a browser without JavaScript shows (axe itself needs JavaScript).

    The very DOM of the no-JS page is served, at a same-site address, to a page that can run
    axe (`page.evaluate` never returns in a context with JavaScript disabled).
    """
    html = no_js_page.content()
    url = no_js_page.url.split("#")[0].split("?")[0].rstrip("/") + "/__axe__"
    checker.route(
        url, lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8")
    )
    checker.goto(url)
    assert_accessible(checker, label)
    checker.unroute(url)
