"""The outbox: messages are rows written in the caller's transaction, delivered afterwards.

Delivery claims a row before sending (so two workers never send the same row twice),
retries temporary failures with exponential back-off and marks permanent ones failed.
Without a configured SMTP server, messages are written as .eml files under instance/mail/.
"""

from __future__ import annotations

import email.policy
import logging
import smtplib
import threading
from datetime import timedelta
from email.charset import QP, Charset
from email.mime.text import MIMEText
from email.utils import make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, current_app
from flask_mail import Attachment, Connection, Message

from ..clock import utcnow
from ..database import begin_write
from ..extensions import db
from ..models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

#: how long a claimed message is held before another worker may retry it
CLAIM_SECONDS = 300


class BadRecipient(ValueError):
    """An address or header that could smuggle a header (CR/LF) or is empty."""


def _check_header_value(value: str) -> str:
    if not value or "\r" in value or "\n" in value:
        raise BadRecipient("header value with a line break or empty")
    return value


def queue_message(
    *,
    kind: str,
    recipient: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    ics: str = "",
    headers: dict[str, str] | None = None,
    attendee_id: int | None = None,
    episode_id: int | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage:
    """Add a message to the session; it is delivered once the caller commits."""
    _check_header_value(recipient)
    _check_header_value(subject)
    for value in (headers or {}).values():
        _check_header_value(value)
    message = OutboxMessage(
        kind=kind,
        recipient=recipient,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        ics=ics,
        headers=dict(headers or {}),
        attendee_id=attendee_id,
        episode_id=episode_id,
        dedupe_key=dedupe_key,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    db.session.add(message)
    return message


class _TimeoutConnection(Connection):
    """Flask-Mail's connection, with a socket timeout (it has none of its own)."""

    def configure_host(self) -> smtplib.SMTP | smtplib.SMTP_SSL:
        timeout = float(current_app.config.get("MAIL_TIMEOUT", 10))
        host: smtplib.SMTP | smtplib.SMTP_SSL
        if self.mail.use_ssl:
            host = smtplib.SMTP_SSL(self.mail.server, self.mail.port, timeout=timeout)
        else:
            host = smtplib.SMTP(self.mail.server, self.mail.port, timeout=timeout)
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, str(self.mail.password))
        return host


SMTP_POLICY = email.policy.SMTP.clone(max_line_length=998)


class QuotedPrintableMessage(Message):
    """Flask-Mail sends UTF-8 bodies as 8bit, so a long link makes a line over the 998
    octets SMTP allows (servers answer 500): encode text parts as quoted-printable."""

    def _message(self):  # type: ignore[no-untyped-def]
        """Flask-Mail's MIME message, with headers folded at 998 octets rather than 78:
        a long URL header has no space to fold at, and the 78-octet policy turns it into an
        encoded word, which mail clients do not read as List-Unsubscribe's `<url>`."""
        message = super()._message()
        message.policy = SMTP_POLICY
        return message

    def _mimetext(self, text: str | None, subtype: str = "plain") -> MIMEText:
        encoding = Charset("utf-8")
        encoding.body_encoding = QP
        return MIMEText(text or "", _subtype=subtype, _charset=encoding)  # type: ignore[arg-type]


def build_message(row: OutboxMessage) -> Message:
    """The Flask-Mail message for an outbox row."""
    message = QuotedPrintableMessage(
        subject=row.subject,
        recipients=[row.recipient],
        body=row.body_text,
        html=row.body_html or None,
        extra_headers=dict(row.headers or {}),
        charset="utf-8",
    )
    # make_msgid() without a domain calls getfqdn(), slow on some hosts.
    domain = urlsplit(current_app.config["SITE_URL"]).hostname or "localhost"
    message.msgId = make_msgid(domain=domain)
    if row.ics:
        message.attachments.append(
            Attachment(
                filename="webinaires-participation.ics",
                content_type="text/calendar; charset=utf-8; method=PUBLISH",
                data=row.ics.encode("utf-8"),
                disposition="attachment",
            )
        )
    return message


def _is_permanent(error: Exception) -> bool:
    """5xx answers and refused recipients do not get better with time."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return isinstance(error, BadRecipient | ValueError)


def _backoff(attempts: int) -> timedelta:
    """1 min, 2 min, 4 min… capped at 6 hours."""
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 6 * 3600))


def _claim(row_id: int) -> bool:
    """Take a due message for this worker; False if another took it first."""
    begin_write()
    now = utcnow()
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id == row_id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= now,
        )
        .values(
            next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS),
            attempts=OutboxMessage.attempts + 1,
        )
    )
    db.session.commit()
    return result.rowcount == 1


def _write_to_folder(message: Message) -> None:
    """No SMTP configured: keep the message readable under instance/mail/."""
    folder = Path(current_app.instance_path) / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"{stamp}.eml"
    path.write_bytes(message.as_bytes())
    current_app.logger.warning("Pas de serveur SMTP configuré : e-mail écrit dans %s", path)


def deliver_due(limit: int = 100) -> dict[str, int]:
    """Send what is due now; return counts of sent, retried and failed messages."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    now = utcnow()
    due_ids = list(
        db.session.scalars(
            sa.select(OutboxMessage.id)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.next_attempt_at <= now,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )
    db.session.commit()
    if not due_ids:
        return counts
    use_smtp = bool(current_app.config.get("MAIL_SERVER"))
    connection: _TimeoutConnection | None = None
    try:
        for row_id in due_ids:
            if not _claim(row_id):
                continue
            row = db.session.get(OutboxMessage, row_id)
            if row is None:  # erased meanwhile
                continue
            try:
                message = build_message(row)
                if use_smtp:
                    if connection is None:
                        connection = _TimeoutConnection(current_app.extensions["mail"])
                        connection.__enter__()
                    connection.send(message)
                else:
                    _write_to_folder(message)
            except (smtplib.SMTPException, OSError, BadRecipient, ValueError) as error:
                _record_failure(row, error, counts)
                if isinstance(
                    error,
                    smtplib.SMTPResponseException
                    | smtplib.SMTPRecipientsRefused
                    | BadRecipient
                    | ValueError,
                ):
                    continue  # this message's fault: go on with the next one
                # The server is unreachable or dropped us: leave the rest for later.
                connection = _close_quietly(connection)
                break
            _mark_sent(row_id)
            counts["sent"] += 1
    finally:
        _close_quietly(connection)
    return counts


#: a message done with keeps who, what and when, not its body: the personal link in it is a
#: key to someone's data, and only its hash is meant to be stored
SPENT: dict[str, Any] = {"body_text": "", "body_html": "", "ics": "", "headers": {}}


def _mark_sent(row_id: int) -> None:
    """Record a delivery."""
    begin_write()
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(status=OutboxStatus.SENT, sent_at=utcnow(), last_error="", **SPENT)
    )
    db.session.commit()


def _record_failure(row: OutboxMessage, error: Exception, counts: dict[str, int]) -> None:
    """Retry later, or give up for good."""
    row_id = row.id
    begin_write()
    row = db.session.get(OutboxMessage, row_id)
    if row is None:  # erased meanwhile
        db.session.rollback()
        return
    row.last_error = f"{type(error).__name__}: {error}"[:500]
    max_attempts = int(current_app.config.get("OUTBOX_MAX_ATTEMPTS", 8))
    if _is_permanent(error) or row.attempts >= max_attempts:
        row.status = OutboxStatus.FAILED
        for column, value in SPENT.items():
            setattr(row, column, value)
        counts["failed"] += 1
    else:
        row.next_attempt_at = utcnow() + _backoff(row.attempts)
        counts["retry"] += 1
    db.session.commit()
    log.warning("outbox message %s not sent: %s", row.id, row.last_error)


def _close_quietly(connection: _TimeoutConnection | None) -> None:
    if connection is None:
        return None
    try:
        if connection.host is not None:
            connection.host.quit()
    except (smtplib.SMTPException, OSError):
        pass
    return None


class OutboxWorker:
    """One background thread per process that delivers the outbox when nudged."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.stopping = False

    def stop(self, timeout: float = 10) -> None:
        """Finish the current run and end the thread (tests, shutdown)."""
        self.stopping = True
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=timeout)

    def nudge(self) -> None:
        """Ask for a delivery run soon (never blocks the request)."""
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="outbox", daemon=True)
                self.thread.start()
        self.wake.set()

    def _run(self) -> None:
        while not self.stopping:
            self.wake.wait(timeout=60)
            self.wake.clear()
            if self.stopping:
                return
            with self.app.app_context():
                try:
                    deliver_due()
                except Exception:  # keep the thread alive; the CLI can retry
                    log.exception("outbox delivery failed")
                    db.session.rollback()
                finally:
                    db.session.remove()


def nudge_outbox() -> None:
    """After a commit that queued mail: deliver in the background if configured."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("OUTBOX_SEND_AFTER_REQUEST", True):
        return
    worker: OutboxWorker = app.extensions.setdefault("outbox_worker", OutboxWorker(app))
    worker.nudge()


def outbox_summary() -> dict[str, Any]:
    """Counts by status, for the CLI and the facilitator."""
    rows = db.session.execute(
        sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
    )
    return {status: count for status, count in rows}
