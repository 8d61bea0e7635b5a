"""E-mail through the outbox, on a real SMTP server: content, calendar, failures, retries."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

import icalendar
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.mailing.worker import deliver_due
from app.models import OutboxMessage, OutboxStatus
from tests.support.database import NOW, make_test_app, prepare_schema
from tests.support.http import normalise_spaces
from tests.support.mail import MailSink, free_port
from tests.support.registration import register


def outbox(app: Flask) -> list[OutboxMessage]:
    """Every outbox row, oldest first (detached copies)."""
    with app.app_context():
        found = list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return found


def deliver(app: Flask) -> dict[str, int]:
    """Run one outbox delivery, as `flask outbox send` does."""
    with app.app_context():
        return deliver_due()


def test_confirmation_email_arrives_complete(programme: Flask, smtp: MailSink) -> None:
    client = programme.test_client()
    register(client, htmx=True, episodes=["2", "6"], first_name="Zoé")
    assert deliver(programme)["sent"] == 1
    (message,) = smtp.wait_for(1)
    assert message["To"] == "camille.martin@example.org"
    assert "inscription" in message["Subject"]
    text = normalise_spaces(message.get_body(("plain",)).get_content())
    html_part = message.get_body(("html",)).get_content()
    assert "Bonjour Zoé," in text
    assert "Épisode 2 : Le Budget participatif : un exercice inratable ?" in text
    assert "jeudi 3 décembre 2026 · 11 h 00 – 12 h 00 (heure de Paris)" in text
    assert "Épisode 6 : C’est quoi une API" in text
    assert "Épisode 3" not in text
    assert "https://webinaires.example.org/moi/" in text
    assert "calendar.google.com" in text and "outlook.office.com" in text
    assert "Ouvrir mon espace personnel" in html_part
    assert 'lang="fr"' in html_part
    raw = smtp.raw[0]
    # As it travels: the plain `<url>` form, not an RFC 2047 encoded word.
    assert re.search(
        rb"List-Unsubscribe: <https://webinaires\.example\.org/moi/desinscription/[\w.-]+>", raw
    )
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://webinaires.example.org/moi/desinscription/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The visible link is the same unsubscribe-only address, never the personal link.
    assert f"Ne plus recevoir ces e-mails : {unsubscribe[1:-1]}" in text
    personal_token = re.search(r"/moi/([\w-]{40,})\s", text).group(1)
    assert personal_token not in unsubscribe
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    calendar = icalendar.Calendar.from_ical(attachment.get_content())
    uids = sorted(str(e["UID"]) for e in calendar.walk("VEVENT"))
    assert uids == [
        "episode-participation-2@webinaires.example.org",
        "episode-participation-6@webinaires.example.org",
    ]
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    # The personal link in the mail opens the personal space.
    link = re.search(r"https://webinaires\.example\.org(/moi/[\w-]{40,})\s", text).group(1)
    assert client.get(link, follow_redirects=True).status_code == 200
    assert outbox(programme)[0].status == OutboxStatus.SENT


def test_the_link_in_the_mail_comes_from_the_site_url_not_the_host(
    programme: Flask, smtp: MailSink
) -> None:
    client = programme.test_client()
    register(client, htmx=True, episodes=["2"])
    client.environ_base["HTTP_HOST"] = "evil.example.com"
    deliver(programme)
    (message,) = smtp.wait_for(1)
    assert "evil.example.com" not in message.as_string()


def test_nothing_typed_can_add_a_header_or_a_recipient(programme: Flask, smtp: MailSink) -> None:
    client = programme.test_client()
    response = register(
        client, htmx=True, email="a@example.org\nBcc: victim@example.org", first_name="A\r\nBcc: x"
    )
    assert response.status_code == 422
    register(client, htmx=True, organisation="Mairie\r\nBcc: victim@example.org")
    deliver(programme)
    assert smtp.messages == []
    assert all("victim" not in rcpt for _, rcpts in smtp.envelopes for rcpt in rcpts)


def test_smtp_down_keeps_the_registration_then_delivers(
    programme: Flask, database_url: str, smtp_server, smtp: MailSink
) -> None:
    dead_port = free_port()  # nothing listens there
    down = make_test_app(database_url, dead_port)
    down.extensions["clock"].freeze(NOW)
    response = register(down.test_client(), htmx=True)
    assert response.status_code == 200
    assert deliver(down) == {"sent": 0, "retry": 1, "failed": 0}
    (row,) = outbox(down)
    assert row.status == OutboxStatus.PENDING
    assert row.attempts == 1
    assert "Connection" in row.last_error or "refused" in row.last_error.lower()
    assert row.next_attempt_at > NOW
    # Not due yet: nothing is tried again.
    assert deliver(down) == {"sent": 0, "retry": 0, "failed": 0}

    up = make_test_app(database_url, smtp_server[0].port)
    up.extensions["clock"].freeze(NOW + timedelta(minutes=5))
    result = up.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    # `outbox send` first queues the reminders due (issue 9): episode 1's, due since 10:00.
    assert "Rappels mis en file : 1" in result.output
    assert "Envoyés : 2" in result.output
    messages = smtp.wait_for(2)
    assert {m["To"] for m in messages} == {"camille.martin@example.org"}
    row = outbox(up)[0]
    assert row.kind == "registration_confirmation"
    assert row.status == OutboxStatus.SENT and row.attempts == 2
    for application in (down, up):
        with application.app_context():
            db.engine.dispose()


class RefusingHandler:
    """An SMTP server that refuses every recipient for good (550)."""

    async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        return "550 5.1.1 Mailbox unavailable"


def test_a_permanent_refusal_is_marked_failed(programme: Flask, database_url: str) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(RefusingHandler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        refusing = make_test_app(database_url, controller.port)
        refusing.extensions["clock"].freeze(NOW)
        register(refusing.test_client(), htmx=True)
        assert deliver(refusing) == {"sent": 0, "retry": 0, "failed": 1}
        (row,) = outbox(refusing)
        assert row.status == OutboxStatus.FAILED
        assert "550" in row.last_error
        with refusing.app_context():
            db.engine.dispose()
    finally:
        controller.stop()


def test_a_slow_smtp_server_does_not_slow_registration(programme: Flask, database_url: str) -> None:
    # A server that accepts the connection and never answers.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    slow = make_test_app(
        database_url,
        listener.getsockname()[1],
        OUTBOX_SEND_AFTER_REQUEST=True,
        MAIL_TIMEOUT=3,
    )
    slow.extensions["clock"].freeze(NOW)
    try:
        started = time.monotonic()
        response = register(slow.test_client(), htmx=True)
        elapsed = time.monotonic() - started
        assert response.status_code == 200
        # The request never waits for SMTP (which would take MAIL_TIMEOUT = 3 s here).
        assert elapsed < 2.0, elapsed
        (row,) = outbox(slow)
        assert row.status == OutboxStatus.PENDING
    finally:
        stop.set()
        thread.join(timeout=2)
        worker = slow.extensions.get("outbox_worker")
        if worker:
            worker.stop()
        for conn in accepted:
            conn.close()
        listener.close()
        with slow.app_context():
            db.engine.dispose()


def test_without_smtp_the_mail_is_written_under_instance(
    database_url: str, tmp_path: Path, smtp_server
) -> None:
    from app.programme.services import load_programme

    local = make_test_app(database_url, 0, MAIL_SERVER="")
    local.instance_path = str(tmp_path)
    prepare_schema(local)
    local.extensions["clock"].freeze(NOW)
    with local.app_context():
        load_programme()
    register(local.test_client(), htmx=True)
    assert deliver(local)["sent"] == 1
    (written,) = list((tmp_path / "mail").glob("*.eml"))
    message = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert message["To"] == "camille.martin@example.org"
    assert "Votre espace personnel" in message.get_body(("plain",)).get_content()
    with local.app_context():
        db.engine.dispose()


def test_two_workers_never_send_the_same_message_twice(programme: Flask, smtp: MailSink) -> None:
    for index in range(6):
        register(programme.test_client(), htmx=True, email=f"p{index}@example.org")
    results: list[dict[str, int]] = []

    def run() -> None:
        results.append(deliver(programme))

    workers = [threading.Thread(target=run) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert sum(r["sent"] for r in results) == 6
    smtp.wait_for(6)
    time.sleep(0.3)
    assert len(smtp.messages) == 6


def test_a_delivered_message_keeps_no_personal_link(programme: Flask, smtp: MailSink) -> None:
    register(programme.test_client(), htmx=True)
    deliver(programme)
    smtp.wait_for(1)
    (row,) = outbox(programme)
    assert row.status == OutboxStatus.SENT
    assert row.recipient == "camille.martin@example.org" and row.subject
    assert "/moi/" not in row.body_text + row.body_html + str(row.headers)


class OneRefusedHandler(MailSink):
    """Refuses one address for good, accepts the others."""

    async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        if address.startswith("refusee"):
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_one_refused_address_does_not_stop_the_others(programme: Flask, database_url: str) -> None:
    from aiosmtpd.controller import Controller

    sink = OneRefusedHandler()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        mixed = make_test_app(database_url, controller.port)
        mixed.extensions["clock"].freeze(NOW)
        for address in ("a@example.org", "refusee@example.org", "b@example.org"):
            register(mixed.test_client(), htmx=True, email=address)
        assert deliver(mixed) == {"sent": 2, "retry": 0, "failed": 1}
        assert sorted(m["To"] for m in sink.wait_for(2)) == ["a@example.org", "b@example.org"]
        with mixed.app_context():
            db.engine.dispose()
    finally:
        controller.stop()
