"""Reminders with 1,000 registrants: queued per second, sent per second to a real SMTP
server, the duplicate window, and kills of a sender at random moments.

Seeds a throwaway database (SQLite file by default, or BENCH_DATABASE_URL for PostgreSQL:
its public schema is dropped, so give it a database of its own), an episode starting in 30
minutes with N registrants, and an SMTP server (aiosmtpd) in this process.

- queue: `queue_due_reminders()` in this process (render, .ics, reminder_sent + outbox rows);
- send: `deliver_due()` in this process (claim, SMTP, mark sent), one connection;
- window: per message, from the SMTP server's acceptance of its data to the commit that
  marks it sent — a sender killed inside it sends that message again (same Message-ID);
- two processes: two `flask outbox send` started together (queue + deliver), wall time;
- kills: a `flask outbox send` killed (SIGKILL) after a random number of messages, then run
  again: messages lost (must be 0) and sent twice.

    python bench/reminders.py [--registrants 1000] [--runs 3] [--kills 10]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.mailing import worker  # noqa: E402
from app.mailing.reminders import queue_due_reminders  # noqa: E402
from app.models import Attendee, Episode, OutboxMessage, Registration  # noqa: E402
from app.programme.services import load_programme  # noqa: E402
from bench.common import free_port  # noqa: E402

MESSAGE_ID = re.compile(rb"^Message-ID: *(<[^>]+>)", re.MULTILINE | re.IGNORECASE)
TO = re.compile(rb"^To: *(\S+)", re.MULTILINE)


class Sink:
    """An SMTP handler that notes when each message was accepted, and nothing more."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: dict[bytes, float] = {}
        self.recipients: Counter[bytes] = Counter()
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        found = MESSAGE_ID.search(envelope.content)
        to = TO.search(envelope.content)
        with self.lock:
            self.accepted[found.group(1) if found else b""] = time.perf_counter()
            self.recipients[to.group(1) if to else b""] += 1
            self.count += 1
        return "250 Message accepted for delivery"


def make_app(url: str, smtp_port: int):  # type: ignore[no-untyped-def]
    """The app on the bench database, sending to the bench SMTP server."""
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "SITE_URL": "https://webinaires.example.org",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_port,
            "MAIL_SUPPRESS_SEND": False,
            "RATELIMIT_ENABLED": False,
            "OUTBOX_SEND_AFTER_REQUEST": False,
        }
    )


def seed(app, registrants: int) -> None:  # type: ignore[no-untyped-def]
    """A fresh schema, the programme, and episode 1 in 30 minutes with its registrants."""
    from flask_migrate import upgrade

    with app.app_context():
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        load_programme()
        episode = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
        episode.starts_at = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)
        episode.join_url = "https://visio.example.org/salle-episode-1"
        db.session.commit()
        now = datetime.now(UTC)
        db.session.execute(
            sa.insert(Attendee),
            [
                {
                    "series_id": episode.series_id,
                    "email": f"personne{n:05d}@example.org",
                    "first_name": "Camille",
                    "last_name": f"Martin{n}",
                    "organisation": "Ville de Rennes",
                    "organisation_kind": "collectivite",
                    "job_title": "",
                    "privacy_acknowledged_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(registrants)
            ],
        )
        ids = db.session.scalars(sa.select(Attendee.id)).all()
        db.session.execute(
            sa.insert(Registration),
            [{"attendee_id": i, "episode_id": episode.id, "created_at": now} for i in ids],
        )
        db.session.commit()
        db.session.remove()


def in_process(url: str, registrants: int) -> tuple[float, float, list[float]]:
    """Queued/s, sent/s, and the duplicate window of each message (ms)."""
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    app = make_app(url, controller.port)
    seed(app, registrants)
    marked: dict[int, float] = {}
    original = worker._mark_sent

    def timed_mark_sent(row_id: int) -> None:
        original(row_id)
        marked[row_id] = time.perf_counter()

    worker._mark_sent = timed_mark_sent  # type: ignore[assignment]
    try:
        with app.app_context():
            started = time.perf_counter()
            queued = queue_due_reminders()
            queue_seconds = time.perf_counter() - started
            assert queued == registrants, queued
            started = time.perf_counter()
            sent = worker.deliver_due(limit=registrants * 2)["sent"]
            send_seconds = time.perf_counter() - started
            assert sent == registrants, sent
            rows = db.session.execute(sa.select(OutboxMessage.id, OutboxMessage.message_id))
            ids = {row_id: message_id for row_id, message_id in rows}
            db.session.remove()
            db.engine.dispose()
    finally:
        worker._mark_sent = original  # type: ignore[assignment]
        controller.stop()
    windows = [
        (marked[row_id] - sink.accepted[message_id.encode()]) * 1000
        for row_id, message_id in ids.items()
        if row_id in marked and message_id.encode() in sink.accepted
    ]
    return registrants / queue_seconds, registrants / send_seconds, windows


def cli(url: str, smtp_port: int, **settings: str) -> subprocess.Popen:  # type: ignore[type-arg]
    """`flask --app wsgi outbox send`, as cron starts it."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": url,
        "FLASK_SECRET_KEY": "bench",
        "FLASK_SITE_URL": "https://webinaires.example.org",
        "FLASK_MAIL_SERVER": "127.0.0.1",
        "FLASK_MAIL_PORT": str(smtp_port),
        "FLASK_RATELIMIT_ENABLED": "false",
        **{f"FLASK_{key}": value for key, value in settings.items()},
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "outbox", "send", "--limit", "100000"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def two_processes(url: str, registrants: int) -> tuple[float, int, int]:
    """Two senders at once from scratch: wall seconds, messages received, distinct people."""
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        app = make_app(url, controller.port)
        seed(app, registrants)
        with app.app_context():
            db.engine.dispose()
        started = time.perf_counter()
        processes = [cli(url, controller.port), cli(url, controller.port)]
        for process in processes:
            _, err = process.communicate(timeout=600)
            assert process.returncode == 0, err.decode()[-2000:]
        elapsed = time.perf_counter() - started
    finally:
        controller.stop()
    return elapsed, sink.count, len(sink.recipients)


def kill_rounds(
    fresh: Callable[[], str], rounds: int, registrants: int, spread: float
) -> list[tuple[int, int, int]]:
    """(killed after n messages, lost, sent twice) for each round; each sender is killed at
    a random moment within `spread` seconds of its first message."""
    results = []
    for _ in range(rounds):
        url = fresh()
        sink = Sink()
        controller = Controller(sink, hostname="127.0.0.1", port=free_port())
        controller.start()
        try:
            app = make_app(url, controller.port)
            seed(app, registrants)
            with app.app_context():
                queue_due_reminders()
                db.engine.dispose()
            process = cli(url, controller.port, OUTBOX_CLAIM_SECONDS="1")
            while sink.count < 1 and process.poll() is None:
                time.sleep(0.001)
            # A random moment of the sending, not one tied to a message's acceptance (that
            # would aim at the duplicate window every time).
            time.sleep(random.uniform(0, spread))
            if process.poll() is not None:
                continue  # done before the kill: not a kill round
            os.kill(process.pid, signal.SIGKILL)
            process.communicate()
            killed_at = sink.count
            time.sleep(1.2)  # the dead sender's claim runs out
            rerun = cli(url, controller.port, OUTBOX_CLAIM_SECONDS="1")
            _, err = rerun.communicate(timeout=600)
            assert rerun.returncode == 0, err.decode()[-2000:]
            lost = registrants - len(sink.recipients)
            twice = sum(n - 1 for n in sink.recipients.values() if n > 1)
            results.append((killed_at, lost, twice))
        finally:
            controller.stop()
    return results


def main() -> None:
    """Run every measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registrants", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kills", type=int, default=10)
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    files = iter(range(1_000_000))

    def fresh() -> str:
        """The bench database, empty: PostgreSQL's schema is dropped, SQLite gets a new file."""
        given = os.environ.get("BENCH_DATABASE_URL")
        return given or "sqlite:///" + str(Path(folder.name) / f"bench{next(files)}.sqlite3")

    print(f"{fresh().split(':')[0]}, {args.registrants} registrants, {args.runs} runs (median)")
    queue_rates, send_rates, windows = [], [], []
    for _ in range(args.runs):
        queued, sent, window = in_process(fresh(), args.registrants)
        queue_rates.append(queued)
        send_rates.append(sent)
        windows += window
    print(f"  queued per second (one process):  {statistics.median(queue_rates):7.0f}")
    print(f"  sent per second (one process):    {statistics.median(send_rates):7.0f}")
    cut = statistics.quantiles(windows, n=100)
    print(
        f"  duplicate window, ms (SMTP accepted -> marked sent): median "
        f"{statistics.median(windows):.2f}, p95 {cut[94]:.2f}, p99 {cut[98]:.2f}, "
        f"max {max(windows):.2f}; {len(windows)} messages"
    )
    seconds, received, people = two_processes(fresh(), args.registrants)
    print(
        f"  two 'outbox send' processes at once: {seconds:.1f} s wall for queue + send "
        f"({args.registrants / seconds:.0f} reminders/s incl. start-up); "
        f"{received} received by {people} people"
    )
    if args.kills:
        # Killed within the time 200 messages take to leave (from the rate measured above).
        spread = 0.9 * 200 / statistics.median(send_rates)
        rounds = kill_rounds(fresh, args.kills, 200, spread)
        killed = ", ".join(str(n) for n, _, _ in rounds)
        print(
            f"  {len(rounds)} senders killed at a random moment (after {killed} of 200 "
            f"messages): lost {sum(r[1] for r in rounds)}, sent twice {sum(r[2] for r in rounds)}"
        )
    folder.cleanup()


if __name__ == "__main__":
    main()
