"""Fixtures: a real database (SQLite file or PostgreSQL), a real SMTP server, a real browser."""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from app.programme.services import load_programme

#: "now" for most tests: the day before the demo episode 1 (Wednesday 25 November 2026)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def free_port() -> int:
    """A free TCP port on the loopback (aiosmtpd cannot take port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- mail
class MailSink:
    """aiosmtpd handler keeping every message received."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        #: the bytes as they travelled
        self.raw: list[bytes] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.raw.append(envelope.content)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait until `count` messages arrived; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} e-mails, got {len(self.messages)}")

    def clear(self) -> None:
        """Forget what arrived."""
        with self.lock:
            self.messages.clear()
            self.envelopes.clear()
            self.raw.clear()


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Controller, MailSink]]:
    """A real SMTP server on 127.0.0.1, for the whole session."""
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, sink
    controller.stop()


@pytest.fixture
def smtp(smtp_server: tuple[Controller, MailSink]) -> MailSink:
    """The SMTP sink, emptied for this test."""
    smtp_server[1].clear()
    return smtp_server[1]


# ---------------------------------------------------------------- database
@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """TEST_DATABASE_URL (PostgreSQL in CI) or a SQLite file (never :memory:, see TESTING.md)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url.replace("postgresql://", "postgresql+psycopg://", 1)
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")


def make_test_app(database_url: str, smtp_port: int, **overrides: Any) -> Flask:
    """An app on the test database, talking to the test SMTP server."""
    config: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 20, "max_overflow": 40}
        if database_url.startswith("postgresql")
        else {},
        "SITE_URL": "https://webinaires.example.org",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_port,
        "MAIL_SUPPRESS_SEND": False,
        "MAIL_TIMEOUT": 5,
        "OUTBOX_SEND_AFTER_REQUEST": False,
        "RATELIMIT_ENABLED": False,
    }
    config.update(overrides)
    return create_app(config)


_schema_ready: set[str] = set()


def prepare_schema(app: Flask) -> None:
    """Build the schema through the migrations once per session, then empty every table."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        if url not in _schema_ready:
            from flask_migrate import downgrade, upgrade

            with db.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            upgrade()
            downgrade(revision="base")
            upgrade()
            _schema_ready.add(url)
        empty_tables()


def empty_tables() -> None:
    """Delete every row (children first), reset the session."""
    db.session.remove()
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(sa.text(f"DELETE FROM {name}"))


@pytest.fixture
def app(database_url: str, smtp_server: tuple[Controller, MailSink]) -> Iterator[Flask]:
    """A fresh app on an empty database with the clock frozen at NOW."""
    application = make_test_app(database_url, smtp_server[0].port)
    prepare_schema(application)
    application.extensions["clock"].freeze(NOW)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def programme(app: Flask) -> Flask:
    """The seed programme loaded with demo dates (episode 1 on Thursday 26 November 2026)."""
    with app.app_context():
        load_programme()
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client."""
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken":\s*"([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token found in a form or in an hx-headers attribute."""
    match = CSRF_RE.search(html.replace("&#34;", '"').replace("&quot;", '"'))
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


HTMX_HEADERS = {"HX-Request": "true"}


def htmx_headers(target: str | None = None, trigger: str | None = None, **extra: str) -> dict:
    """Headers htmx sends with a request."""
    headers = {"HX-Request": "true", "HX-Current-URL": "https://webinaires.example.org/"}
    if target:
        headers["HX-Target"] = target
    if trigger:
        headers["HX-Trigger"] = trigger
    headers.update(extra)
    return headers


def normalise_spaces(text: str) -> str:
    """Fold Babel's no-break spaces so assertions can use plain ones."""
    return re.sub(r"[\u00a0\u202f]", " ", text)


# ---------------------------------------------------------------- live server and browser
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
        OUTBOX_SEND_AFTER_REQUEST=True,
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
    with application.app_context():
        load_programme()
    yield application
    # Mail queued by this test is delivered now, not into the next test's SMTP sink.
    from app.mailing.worker import deliver_due

    with application.app_context():
        deliver_due()
        db.session.remove()


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


WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def assert_accessible(page: Any, label: str = "") -> None:
    """Zero axe-core violations for WCAG 2.1 A/AA on the page as it is now."""
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


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under screenshots/ (to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# ---------------------------------------------------------------- factories
@pytest.fixture
def make_attendee(request: pytest.FixtureRequest) -> Callable[..., tuple[int, str]]:
    """Create an attendee registered to the given episode numbers; return (id, token).

    Browser tests pass `target_app=live_app`; other tests get the `app` fixture (asked for
    lazily, so that a browser test does not empty the live server's database).
    """
    from app.identity import issue_token
    from app.models import Attendee, Episode, Registration, Series

    counter = iter(range(1, 1_000_000))

    def factory(
        email: str | None = None,
        episodes: tuple[int, ...] = (1, 2, 3),
        first_name: str = "Camille",
        last_name: str = "Martin",
        organisation: str = "Ville de Rennes",
        organisation_kind: str = "collectivite",
        target_app: Flask | None = None,
    ) -> tuple[int, str]:
        application = target_app or request.getfixturevalue("app")
        with application.app_context():
            series = db.session.scalars(sa.select(Series)).first()
            assert series is not None, "load the programme first"
            attendee = Attendee(
                series_id=series.id,
                email=email or f"personne{next(counter)}@example.org",
                first_name=first_name,
                last_name=last_name,
                organisation=organisation,
                organisation_kind=organisation_kind,
                job_title="",
                privacy_acknowledged_at=NOW,
            )
            db.session.add(attendee)
            db.session.flush()
            for episode in db.session.scalars(
                sa.select(Episode).where(Episode.number.in_(episodes))
            ):
                db.session.add(Registration(attendee_id=attendee.id, episode_id=episode.id))
            token = issue_token(attendee)
            db.session.commit()
            return attendee.id, token

    return factory


def sign_in_as(client: FlaskClient, attendee_id: int, rights: str = "full") -> None:
    """Give a test client's session the attendee's rights (as the personal link does)."""
    from app.identity import attendee_key
    from app.models import Attendee

    with client.application.app_context():
        key = attendee_key(db.session.get(Attendee, attendee_id))
    with client.session_transaction() as flask_session:
        flask_session["attendee_id"] = attendee_id
        flask_session["attendee_key"] = key
        flask_session["rights"] = rights
        flask_session.permanent = True


# ---------------------------------------------------------------- facilitator's space (issue 5)
from .facilitator_fixtures import (  # noqa: E402,F401
    facilitator_client,
    make_facilitator,
    make_question,
)
