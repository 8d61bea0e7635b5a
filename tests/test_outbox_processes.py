"""Real processes on the real database: two `flask outbox send` at once (two sites with their
crons) send each of 1,000 reminders once; a sender killed mid-send loses nothing, and sends a
message twice only when the SMTP server took it but its answer never came back."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask

from app.extensions import db
from app.mailing.reminders import queue_due_reminders
from app.models import Attendee, Episode, OutboxMessage, OutboxStatus, Registration, ReminderSent
from tests.support.mail import MailSink, free_port

ROOT = Path(__file__).resolve().parent.parent


def seed(app: Flask, count: int) -> datetime:
    """`count` registrants of episode 1, which starts in 30 minutes of real time (the child
    processes read the real clock): its hour-before reminder is due. Return that start."""
    app.extensions["clock"].freeze(None)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)
    with app.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
        episode.starts_at = start
        series_id, episode_id = episode.series_id, episode.id
        db.session.commit()
        now = datetime.now(UTC)
        db.session.execute(
            sa.insert(Attendee),
            [
                {
                    "series_id": series_id,
                    "email": f"personne{n:04d}@example.org",
                    "first_name": "Camille",
                    "last_name": f"N{n}",
                    "organisation": "Ville",
                    "organisation_kind": "collectivite",
                    "job_title": "",
                    "privacy_acknowledged_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(count)
            ],
        )
        ids = db.session.scalars(sa.select(Attendee.id)).all()
        db.session.execute(
            sa.insert(Registration),
            [{"attendee_id": i, "episode_id": episode_id, "created_at": now} for i in ids],
        )
        db.session.commit()
    return start


def _outbox(database_url: str, smtp_port: int, *args: str, **settings: str) -> subprocess.Popen:  # type: ignore[type-arg]
    """`flask --app wsgi outbox ARGS` in its own process, on the real clock."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "FLASK_SECRET_KEY": "test-secret",
        "FLASK_SITE_URL": "https://webinaires.example.org",
        "FLASK_MAIL_SERVER": "127.0.0.1",
        "FLASK_MAIL_PORT": str(smtp_port),
        "FLASK_RATELIMIT_ENABLED": "false",
        **{f"FLASK_{key}": value for key, value in settings.items()},
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "outbox", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def sender(database_url: str, smtp_port: int, **settings: str) -> subprocess.Popen:  # type: ignore[type-arg]
    """`flask --app wsgi outbox send`, as cron starts it."""
    return _outbox(database_url, smtp_port, "send", "--limit", "5000", **settings)


def worker(database_url: str, smtp_port: int) -> subprocess.Popen:  # type: ignore[type-arg]
    """`flask --app wsgi outbox work`, as a service manager starts it (a pass every 0.2 s
    here, every second by default)."""
    return _outbox(database_url, smtp_port, "work", "--every", "0.2")


def finish(process: subprocess.Popen) -> str:  # type: ignore[type-arg]
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    return out


def counted(output: str, label: str) -> int:
    line = next(part for part in output.replace("\n", " · ").split(" · ") if label in part)
    return int(line.rsplit(":", 1)[1])


def recipients(sink: MailSink) -> Counter[str]:
    with sink.lock:
        return Counter(str(message["To"]) for message in sink.messages)


def test_two_senders_at_once_send_each_of_1000_reminders_once(
    app: Flask, programme: Flask, database_url: str, smtp_server, smtp: MailSink
) -> None:
    seed(app, 1000)
    port = smtp_server[0].port
    started = time.monotonic()
    first, second = sender(database_url, port), sender(database_url, port)
    outputs = [finish(first), finish(second)]
    elapsed = time.monotonic() - started
    queued = [counted(out, "Rappels mis en file") for out in outputs]
    sent = [counted(out, "Envoyés") for out in outputs]
    assert sum(queued) == 1000, outputs
    assert sum(sent) == 1000, outputs
    smtp.wait_for(1000, timeout=60)
    time.sleep(0.5)
    received = recipients(smtp)
    assert len(received) == 1000 and set(received.values()) == {1}
    with smtp.lock:
        assert len({m["Message-ID"] for m in smtp.messages}) == 1000
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ReminderSent)) == 1000
        statuses = Counter(db.session.scalars(sa.select(OutboxMessage.status)))
        assert statuses == {OutboxStatus.SENT: 1000}
    print(f"\n2 senders, 1000 reminders: queued {queued}, sent {sent}, {elapsed:.1f} s")


class KillingSink(MailSink):
    """An SMTP server that kills the sender at a chosen moment of the n-th message."""

    def __init__(self, at_message: int, moment: str) -> None:
        super().__init__()
        self.at_message = at_message
        self.moment = moment  # "before-data": refused before taking it; "after-data": taken
        self.victim: int | None = None
        self.seen = 0

    async def _kill(self) -> None:
        if self.victim is not None:
            os.kill(self.victim, signal.SIGKILL)
            self.victim = None
            await asyncio.sleep(0.5)  # dead before any answer could reach it

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.seen += 1
        if self.moment == "before-data" and self.seen == self.at_message:
            await self._kill()  # dies before the message was handed over
            return "451 4.3.0 Try again"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if self.moment == "after-data" and self.seen == self.at_message:
            await self._kill()  # the server has the message; its "250" never reaches the sender
        return answer


@pytest.mark.parametrize(("moment", "duplicates"), [("before-data", 0), ("after-data", 1)])
def test_a_sender_killed_mid_send_loses_nothing(
    app: Flask, programme: Flask, database_url: str, moment: str, duplicates: int
) -> None:
    seed(app, 200)
    with app.app_context():
        assert queue_due_reminders() == 200
    sink = KillingSink(at_message=80, moment=moment)
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        killed = sender(database_url, controller.port, OUTBOX_CLAIM_SECONDS="2")
        sink.victim = killed.pid
        killed.communicate(timeout=300)
        assert killed.returncode == -signal.SIGKILL
        assert 70 <= len(sink.messages) <= 80
        # The next cron run, once the dead sender's claim has run out (2 s here, 5 min by
        # default), delivers the rest.
        time.sleep(2.5)
        finish(sender(database_url, controller.port, OUTBOX_CLAIM_SECONDS="2"))
        received = recipients(sink)
        assert len(received) == 200  # nothing lost
        assert sum(received.values()) - 200 == duplicates
        twice = [address for address, n in received.items() if n > 1]
        if duplicates:
            # The copy sent again carries the same Message-ID: one message to mail clients.
            with sink.lock:
                ids = {str(m["Message-ID"]) for m in sink.messages if m["To"] == twice[0]}
            assert len(ids) == 1
        with app.app_context():
            statuses = Counter(db.session.scalars(sa.select(OutboxMessage.status)))
            assert statuses == {OutboxStatus.SENT: 200}
    finally:
        controller.stop()


def stopped(process: subprocess.Popen) -> str:  # type: ignore[type-arg]
    """Stop a sender of its own as a service manager does (SIGTERM); what it printed."""
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err[-3000:]
    return out


def test_two_senders_of_their_own_deliver_what_is_queued_while_they_run(
    app: Flask, programme: Flask, database_url: str, smtp_server, smtp: MailSink
) -> None:
    """`outbox work`, one per machine beside the site's workers: they queue the reminders
    as they fall due, deliver a registration's confirmation within a pass, each message once
    between them, and stop cleanly when told."""
    from app.registration.services import RegistrationRequest, register

    port = smtp_server[0].port
    first, second = worker(database_url, port), worker(database_url, port)
    try:
        seed(app, 300)  # the hour-before reminder of 300 registrants falls due
        smtp.wait_for(300, timeout=120)
        with app.app_context():  # a registration on the site (its workers send nothing)
            episode_id = db.session.scalars(sa.select(Episode.id).filter_by(number=2)).one()
            register(
                RegistrationRequest(
                    series_id=db.session.scalars(sa.select(Episode.series_id)).first(),
                    email="nouvelle@example.org",
                    first_name="Nour",
                    last_name="Haddad",
                    organisation="Ville de Lille",
                    organisation_kind="collectivite",
                    job_title="",
                    episode_ids=[episode_id],
                    language="fr",
                )
            )
        queued = time.monotonic()
        smtp.wait_for(301, timeout=10)
        waited = time.monotonic() - queued
    finally:
        outputs = [stopped(first), stopped(second)]
    assert waited < 5, waited  # a pass every 0.2 s: no cron, no minute to wait
    received = recipients(smtp)
    assert len(received) == 301 and set(received.values()) == {1}
    assert all(out.strip().endswith("Arrêté.") for out in outputs), outputs
    with app.app_context():
        statuses = Counter(db.session.scalars(sa.select(OutboxMessage.status)))
        assert statuses == {OutboxStatus.SENT: 301}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ReminderSent)) == 300


def test_a_sender_of_its_own_outlives_a_database_that_is_down(smtp_server) -> None:  # type: ignore[no-untyped-def]
    """Nothing listens where its database should be: each pass fails, is logged, and the next
    one tries again; the service keeps running until it is told to stop."""
    nowhere = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/webinaires"
    process = _outbox(nowhere, smtp_server[0].port, "work", "--every", "0.2")
    time.sleep(3)
    assert process.poll() is None  # still running
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err[-3000:]
    assert out.strip().endswith("Arrêté.")
    assert err.count("outbox delivery failed") >= 2, err[-3000:]  # tried again and again
