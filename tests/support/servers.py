"""Real server processes for the tests that need several: gunicorn (the site as it is
deployed, with gunicorn.conf.py), redis-server, the flask commands."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.mail import free_port
from tests.support.processes import postgres_cluster, postgres_programs

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def require(program: str) -> str:
    """The path of a program the test needs; skip (fail in CI) when it is missing."""
    path = shutil.which(program)
    if path is None:
        message = f"{program} absent: apt-get install -y {program}"
        if os.environ.get("REQUIRE_BROWSER") == "1":  # CI installs every real part
            pytest.fail(message)
        pytest.skip(message)
    return path


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 30) -> None:
    """Wait until something listens on the port (or the process died)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def site_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment a deployed site reads: DATABASE_URL and FLASK_* settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLASK_")}
    env.update(
        {
            "DATABASE_URL": database_url,
            "FLASK_SECRET_KEY": '"a-test-secret-for-real-servers"',
            "FLASK_SITE_URL": "http://127.0.0.1:5000",
            "FLASK_MAIL_SERVER": '""',
            "FLASK_OUTBOX_SEND_AFTER_REQUEST": "false",
            "FLASK_HONEYPOT_MIN_SECONDS": "0",
            "FLASK_HONEYPOT_MIN_SECONDS_LINK": "0",
            "FLASK_WTF_CSRF_SSL_STRICT": "false",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update({f"FLASK_{name}": value for name, value in settings.items()})
    return env


def flask(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run `flask --app wsgi ARGS` as an operator would."""
    return subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        check=check,
        capture_output=True,
        text=True,
    )


def in_site(env: dict[str, str], code: str) -> str:
    """Run Python `code` inside the site's app context (as an operator's script would);
    return what it printed."""
    program = "from wsgi import app\nwith app.app_context():\n" + "".join(
        f"    {line}\n" for line in code.splitlines()
    )
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def sqlite_site_database() -> str:
    """A fresh SQLite database in a temporary folder, schema and programme loaded."""
    folder = Path(tempfile.mkdtemp(prefix="site-"))
    url = f"sqlite:///{folder}/site.sqlite3"
    env = site_env(url)
    flask(env, "db", "upgrade")
    flask(env, "programme", "load")
    return url


@contextmanager
def gunicorn(
    env: dict[str, str], workers: int = 1, access_log: Path | None = None
) -> Iterator[str]:
    """Serve the site with gunicorn from the repository (so gunicorn.conf.py applies);
    yield its base URL."""
    port = free_port()
    args = [str(BIN / "gunicorn"), "--workers", str(workers), "--no-control-socket"]
    args += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    if access_log is not None:
        args += ["--access-logfile", str(access_log)]
    process = subprocess.Popen([*args, "wsgi:app"], cwd=ROOT, env=env)
    try:
        wait_for_port(port, process)
        time.sleep(0.5 * workers)  # every worker booted
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server on a free port, for the session."""
    program = require("redis-server")
    port = free_port()
    process = subprocess.Popen(
        [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def require_postgres() -> Path:
    """The folder of PostgreSQL's server programs; skip (fail in CI) when it is missing."""
    programs = postgres_programs()
    if programs is None:
        message = "PostgreSQL absent: apt-get install -y postgresql"
        if os.environ.get("REQUIRE_BROWSER") == "1":  # CI installs every real part
            pytest.fail(message)
        pytest.skip(message)
    return programs


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL server of its own (initdb in a temporary folder, a free port), for
    the session; its URL without a database name (see `create_database`)."""
    with postgres_cluster(require_postgres(), {"fsync": "off"}) as (url, _process):
        yield url
