"""Shared helpers: a seeded database, a gunicorn server, wrk runs."""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    """A free port on the loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env(database_url: str | None, instance: Path) -> dict[str, str]:
    """Environment of the server under test."""
    env = dict(os.environ)
    env.update(
        {
            "FLASK_RATELIMIT_ENABLED": "false",
            "FLASK_OUTBOX_SEND_AFTER_REQUEST": "false",
            "FLASK_SITE_URL": "http://127.0.0.1:5000",
            "FLASK_SECRET_KEY": '"bench-secret"',
            "FLASK_WTF_CSRF_SSL_STRICT": "false",
            "FLASK_HONEYPOT_MIN_SECONDS": "0",
            "PYTHONPATH": str(ROOT),
        }
    )
    env["DATABASE_URL"] = database_url or f"sqlite:///{instance}/bench.sqlite3"
    return env


def prepare_database(env: dict[str, str]) -> None:
    """Schema and seed programme."""
    for args in (["db", "upgrade"], ["programme", "load"]):
        subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *args],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )


class Server(str):
    """A server's base URL, with the process id of its gunicorn master."""

    pid: int


@contextmanager
def gunicorn(  # type: ignore[no-untyped-def]
    env: dict[str, str], workers: int = 2, app: str = "bench.bench_app:application"
):
    """Serve `app` (the real app plus the yardsticks) with gunicorn; yield its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--workers",
            str(workers),
            "--no-control-socket",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app,
        ],
        cwd=ROOT,
        env=env,
    )
    url = Server(f"http://127.0.0.1:{port}")
    url.pid = process.pid
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        time.sleep(1.0)  # let both workers boot
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def need_wrk() -> None:
    """Stop at once, saying what to install, on a machine without wrk (not after seeding)."""
    if shutil.which("wrk") is None:
        sys.exit("This benchmark drives gunicorn with wrk: apt-get install -y wrk")


def wrk(
    url: str,
    seconds: int = 5,
    connections: int = 8,
    script: str | None = None,
    headers: dict[str, str] | None = None,
) -> float:
    """Requests per second measured by wrk (2 threads)."""
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        args += ["-s", script]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    output = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed responses from {url}:\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def alternate(runs: dict[str, callable], rounds: int = 3) -> dict[str, float]:  # type: ignore[valid-type]
    """Measure each candidate in turn, several rounds; return the medians."""
    results: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            results[name].append(run())
    return {name: statistics.median(values) for name, values in results.items()}


def temp_instance() -> Path:
    """A throwaway folder for the SQLite file."""
    return Path(tempfile.mkdtemp(prefix="bench-"))
