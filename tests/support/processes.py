"""Real server processes, started from their programs and stopped by the PID started:
PostgreSQL, Redis, nginx, gunicorn instances of the site.

Plain context managers without pytest, shared by the tests (`tests/support/servers.py`)
and the load run (`bench/several_instances.py`).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    """A free TCP port on the loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 30) -> None:  # type: ignore[type-arg]
    """Wait until something listens on the port (or the process died)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, seconds: float = 20) -> None:  # type: ignore[type-arg]
    """Stop a process we started, by its PID; kill it if it does not go in time."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=seconds)


# ---------------------------------------------------------------- PostgreSQL
def postgres_programs() -> Path | None:
    """The folder of the newest installed PostgreSQL server programs (Debian's layout)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@contextmanager
def postgres_cluster(
    programs: Path, settings: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen]]:  # type: ignore[type-arg]
    """A throwaway PostgreSQL cluster on a free port; yield its server URL (no database
    name) and its process.

    initdb refuses root: as root, the cluster belongs to the `postgres` user.
    """
    folder = Path(tempfile.mkdtemp(prefix="pg-"))
    user = "postgres" if os.geteuid() == 0 else None
    if user:
        shutil.chown(folder, user, user)
    data = folder / "data"
    subprocess.run(
        [programs / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--locale=C.UTF-8"],
        user=user,
        cwd=folder,
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = {"listen_addresses": "127.0.0.1", "max_connections": "200", **(settings or {})}
    args = [programs / "postgres", "-D", data, "-p", str(port), "-k", str(folder)]
    for name, value in options.items():
        args += ["-c", f"{name}={value}"]
    with (folder / "server.log").open("wb") as log:
        process = subprocess.Popen(args, user=user, cwd=folder, stdout=log, stderr=log)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    try:
        _wait_for_postgres(port, process)
        yield url, process
    finally:
        stop(process, signal.SIGINT)  # SIGINT: PostgreSQL's fast shutdown
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for_postgres(port: int, process: subprocess.Popen, seconds: float = 30) -> None:  # type: ignore[type-arg]
    """Wait until the server accepts connections (it listens before it is ready)."""
    import psycopg

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"postgres exited with status {process.returncode}")
        try:
            psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres").close()
            return
        except psycopg.OperationalError:
            time.sleep(0.1)
    raise RuntimeError(f"PostgreSQL on port {port} never accepted connections")


def create_database(server_url: str, name: str) -> str:
    """Create an empty database on the server; return its URL."""
    import psycopg

    address = server_url.removeprefix("postgresql+psycopg://")
    with psycopg.connect(f"postgresql://{address}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"


# ---------------------------------------------------------------- Redis
@contextmanager
def redis_server(program: str = "redis-server") -> Iterator[str]:
    """A throwaway redis-server on a free port, nothing saved; yield its URL."""
    port = free_port()
    process = subprocess.Popen(
        [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process)


# ---------------------------------------------------------------- the site
@contextmanager
def site_instance(env: dict[str, str], workers: int = 2) -> Iterator[str]:
    """One "machine": gunicorn serving the site from the repository (gunicorn.conf.py
    applies) with `workers` workers on its own port; yield its base URL."""
    port = free_port()
    args = [str(BIN / "gunicorn"), "--workers", str(workers), "--no-control-socket"]
    args += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"]
    process = subprocess.Popen(args, cwd=ROOT, env=env)
    try:
        wait_for_port(port, process)
        time.sleep(0.5 * workers)  # every worker booted
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


# ---------------------------------------------------------------- nginx
NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 2048; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream webinaires {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://webinaires;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            # Answers stay in memory: no temporary file for a large page.
            proxy_buffers 16 16k;
            proxy_max_temp_file_size 0;
        }}
    }}
}}
"""


@contextmanager
def nginx(upstreams: list[str], program: str = "nginx") -> Iterator[str]:
    """nginx on a free port, spreading requests over the instances (round robin); yield
    its base URL."""
    folder = Path(tempfile.mkdtemp(prefix="nginx-"))
    folder.chmod(0o755)  # its workers (www-data when run as root) read the temp folders
    port = free_port()
    servers = "\n".join(f"        server {url.removeprefix('http://')};" for url in upstreams)
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(folder=folder, port=port, servers=servers))
    process = subprocess.Popen(
        [program, "-c", str(conf), "-p", str(folder), "-e", str(folder / "error.log")],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process, signal.SIGQUIT)  # SIGQUIT: finish the requests in flight
        shutil.rmtree(folder, ignore_errors=True)
