"""Honest outages: a database that is down, locked or full answers 503 with Retry-After and
a French message, and /healthz says so (issue 11, finding 7)."""

from __future__ import annotations

import gc
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from app.database import write
from app.extensions import db
from tests.support.database import NOW, make_test_app, prepare_schema
from tests.support.mail import free_port
from tests.support.registration import registration_data

UNAVAILABLE = "Le service est momentanément indisponible."


def assert_unavailable(response, htmx: bool = False) -> None:  # type: ignore[no-untyped-def]
    """A 503 that says when to try again, in French, in the alert region for htmx."""
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert UNAVAILABLE in response.get_data(as_text=True)
    if htmx:
        assert response.headers["HX-Retarget"] == "#alerts"


@pytest.fixture
def database_down(smtp_server) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """The site with its PostgreSQL server down (nothing listens on its port)."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/webinaires"
    application = make_test_app(
        url, smtp_server[0].port, SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}}
    )
    yield application
    with application.app_context():
        db.engine.dispose()


def test_postgresql_down_answers_503_everywhere(database_down: Flask) -> None:
    client = database_down.test_client()
    for url in ("/", "/episodes/api", "/inscription", "/cycle.ics", "/animation/"):
        response = client.get(url)
        if url == "/animation/":  # the guard needs no database to send people to the login
            assert response.status_code in (303, 503)
            continue
        assert_unavailable(response)
    assert_unavailable(client.get("/inscription", headers={"HX-Request": "true"}), htmx=True)
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json() == {"status": "error", "database": "unavailable"}


def programme_on(url: str, smtp_port: int, **overrides: object) -> Flask:
    """The site on this database, the programme loaded, the clock at NOW."""
    from app.programme.services import load_programme

    application = make_test_app(url, smtp_port, **overrides)
    prepare_schema(application)
    application.extensions["clock"].freeze(NOW)
    with application.app_context():
        load_programme()
    return application


@pytest.fixture
def sqlite_app(database_url: str, smtp_server) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """The site on SQLite, with a short wait for the write lock."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's own locks and disk")
    application = programme_on(database_url, smtp_server[0].port, SQLITE_BUSY_TIMEOUT_MS=200)
    yield application
    with application.app_context():
        db.engine.dispose()


def test_sqlite_write_locked_answers_503_and_keeps_nothing(
    sqlite_app: Flask, database_url: str
) -> None:
    client = sqlite_app.test_client()
    data = registration_data(client)
    path = database_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None, timeout=1)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        assert_unavailable(client.post("/inscription", data=data))
        assert_unavailable(
            client.post("/inscription", data=data, headers={"HX-Request": "true"}), htmx=True
        )
        assert client.get("/healthz").status_code == 503  # a SELECT alone would pass
        assert client.get("/").status_code == 200  # reading still works
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert client.get("/healthz").status_code == 200
    with sqlite_app.app_context():
        assert db.session.scalar(sa.text("SELECT count(*) FROM attendee")) == 0


def test_sqlite_writers_queue_and_one_stuck_past_the_wait_gives_503(
    sqlite_app: Flask, database_url: str
) -> None:
    """The site's writers queue in front of SQLite's lock (app/database.py, WriterQueue): a
    request waits while another of the site's writers, in this process or another, holds
    its turn; past the busy timeout it answers 503 and keeps nothing, as for SQLite's own
    lock, and the turn is free again afterwards."""
    client = sqlite_app.test_client()
    data = registration_data(client)
    inside, release = threading.Event(), threading.Event()

    def stuck_writer() -> None:  # another thread of the site, inside its write transaction
        with sqlite_app.app_context(), write():
            inside.set()
            release.wait(timeout=10)

    thread = threading.Thread(target=stuck_writer)
    thread.start()
    try:
        assert inside.wait(timeout=5)
        assert_unavailable(client.post("/inscription", data=data))
    finally:
        release.set()
        thread.join(timeout=5)
    # Another process's turn: a program holding the queue's file lock.
    path = database_url.removeprefix("sqlite:///") + "-writers"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_TURN, path], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert_unavailable(
            client.post("/inscription", data=data, headers={"HX-Request": "true"}), htmx=True
        )
    finally:
        holder.kill()
        holder.communicate()
    with sqlite_app.app_context():
        assert db.session.scalar(sa.text("SELECT count(*) FROM attendee")) == 0
    assert client.post("/inscription", data=data).status_code == 303  # the turn is free


#: a program that takes the writers' turn and keeps it until killed
HOLD_THE_TURN = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(60)
"""


def test_sqlite_without_a_queue_file_still_writes(tmp_path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    """Where the queue's file cannot be opened (here a folder has its name), writers rely on
    SQLite's own wait alone: the site still registers people."""
    (tmp_path / "no-queue.sqlite3-writers").mkdir()
    application = programme_on(f"sqlite:///{tmp_path}/no-queue.sqlite3", smtp_server[0].port)
    try:
        client = application.test_client()
        assert client.post("/inscription", data=registration_data(client)).status_code == 303
    finally:
        with application.app_context():
            db.engine.dispose()


def test_sqlite_disk_full_answers_503(tmp_path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    # A database of its own: the shared test file has free pages left by earlier tests,
    # which SQLite fills before it needs a new one.
    sqlite_app = programme_on(f"sqlite:///{tmp_path}/full.sqlite3", smtp_server[0].port)
    with sqlite_app.app_context():
        engine = db.engine

    def tiny_disk(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    engine.dispose()
    sa.event.listen(engine, "connect", tiny_disk)
    try:
        client = sqlite_app.test_client()
        data = registration_data(client, organisation="x" * 200, job_title="y" * 200)
        responses = [
            client.post("/inscription", data=dict(data, email=f"p{n}@example.org"))
            for n in range(40)
        ]
        assert any(r.status_code == 503 for r in responses), [r.status_code for r in responses]
        for response in responses:
            assert response.status_code in (200, 303, 503)
            if response.status_code == 503:
                assert_unavailable(response)
    finally:
        sa.event.remove(engine, "connect", tiny_disk)
        engine.dispose()


def test_the_writers_queue_keeps_no_file_open_after_its_threads(sqlite_app: Flask) -> None:
    """The development server answers each request in a thread of its own: each thread's
    handle on the queue's file is closed with it (300 requests would otherwise leave 300
    files open, and the process would run out of them)."""
    fds = Path("/proc/self/fd")
    if not fds.exists():
        pytest.skip("counts open files through /proc")

    def write_once() -> None:
        with sqlite_app.app_context(), write():
            pass

    write_once()
    before = len(list(fds.iterdir()))
    for _ in range(50):
        thread = threading.Thread(target=write_once)
        thread.start()
        thread.join()
    gc.collect()
    assert len(list(fds.iterdir())) <= before + 2
