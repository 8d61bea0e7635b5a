"""Delivering the outbox: claim a row, send it, record the outcome; the background sender.

Delivery claims a row before sending (so two workers never send the same row twice),
retries temporary failures with exponential back-off and marks permanent ones failed.
A row claimed by a worker that died is tried again once its claim runs out
(OUTBOX_CLAIM_SECONDS), with the same Message-ID.
"""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from ..clock import utcnow
from ..database import write
from ..extensions import db
from ..logs import get_logger, redact
from ..models import OutboxMessage, OutboxStatus
from ..vocabulary import MailKind
from .queue import QUEUED, BadRecipient, due_ids, new_message_id, render_deferred
from .transport import (
    Transport,
    build_message,
    describe_failure,
    is_message_fault,
    is_permanent,
)

log = get_logger(__name__)

#: a message done with keeps who, what and when, not its body: the personal link in it is a
#: key to someone's data, and only its hash is meant to be stored
SPENT: dict[str, Any] = {
    "body_text": "",
    "body_html": "",
    "ics": "",
    "headers": {},
    "payload": {},
}
#: kinds whose body holds a personal link: spent even when they fail (the person asks the
#: site for a new link); the others keep theirs until sent, so the facilitator can resend
PERSONAL_LINK_KINDS = {MailKind.REGISTRATION_CONFIRMATION, MailKind.PERSONAL_LINK}
#: what the facilitator reads for a message that came too late to be of use
EXPIRED = "Non envoyé : l’épisode avait déjà commencé quand le message pouvait partir."


def _backoff(attempts: int) -> timedelta:
    """1 min, 2 min, 4 min… capped at 6 hours."""
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 6 * 3600))


def _claim(row_id: int) -> OutboxMessage | None:
    """Take a due message for this worker and return it as claimed, out of the session; None
    if another took it first. Claimed and read in one statement: a row read afterwards
    could already be sent and spent by a worker whose claim had run out (an empty message)."""
    now = utcnow()
    hold = timedelta(seconds=float(current_app.config.get("OUTBOX_CLAIM_SECONDS", 300)))
    with write():
        row = db.session.scalars(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.id == row_id,
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.next_attempt_at <= now,
            )
            .values(
                next_attempt_at=now + hold,
                attempts=OutboxMessage.attempts + 1,
                # rows queued before Message-IDs were kept get theirs now, once
                message_id=sa.func.coalesce(OutboxMessage.message_id, new_message_id()),
            )
            .returning(OutboxMessage)
            # the row as this statement left it, even if the session held an older copy
            .execution_options(synchronize_session=False, populate_existing=True)
        ).one_or_none()
        if row is not None:
            # Rendered out of the session: nothing rendered (a personal link) is ever flushed
            # back into the row, which keeps only what the request recorded.
            db.session.expunge(row)
    return row


def _expire(row_id: int) -> None:
    """Give up a message that would now arrive too late (a reminder after the start)."""
    with write():
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(status=OutboxStatus.FAILED, last_error=EXPIRED)
        )


def _mark_sent(row_id: int) -> None:
    """Record a delivery."""
    with write():
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(status=OutboxStatus.SENT, sent_at=utcnow(), last_error="", **SPENT)
        )


def _record_failure(row_id: int, error: Exception, counts: dict[str, int]) -> None:
    """Retry later, or give up for good."""
    with write():
        row = db.session.get(OutboxMessage, row_id)
        if row is None:  # erased meanwhile
            return
        row.last_error = redact(describe_failure(error))[:500]
        max_attempts = int(current_app.config.get("OUTBOX_MAX_ATTEMPTS", 8))
        if is_permanent(error) or row.attempts >= max_attempts:
            row.status = OutboxStatus.FAILED
            if row.kind in PERSONAL_LINK_KINDS:
                for column, value in SPENT.items():
                    setattr(row, column, value)
            counts["failed"] += 1
        else:
            row.next_attempt_at = utcnow() + _backoff(row.attempts)
            counts["retry"] += 1
    # The reason itself may name the recipient (a refused address): the log says only what
    # kind of failure it was; the facilitator's page shows the whole reason.
    code = getattr(error, "smtp_code", "")
    log.warning("outbox message %s not sent: %s %s", row_id, type(error).__name__, code)


#: jobs that queue mail before each delivery run (e.g. answering link requests)
_PREPARERS: list[Callable[[], object]] = []


def before_delivery(job: Callable[[], object]) -> Callable[[], object]:
    """Run `job` at the start of every delivery run (the site's sender and the CLI)."""
    if job not in _PREPARERS:
        _PREPARERS.append(job)
    return job


def deliver_due(limit: int = 100) -> dict[str, int]:
    """Queue what the preparers have, then send what is due now; return counts of sent,
    retried and failed messages."""
    for job in _PREPARERS:
        job()
    counts = {"sent": 0, "retry": 0, "failed": 0}
    ids = due_ids(limit)
    if not ids:
        return counts
    transport = Transport()
    try:
        for row_id in ids:
            row = _claim(row_id)
            if row is None:  # taken by another sender, or erased meanwhile
                continue
            if row.expires_at is not None and row.expires_at <= utcnow():
                _expire(row_id)
                counts["failed"] += 1
                continue
            try:
                render_deferred(row)  # what the request only recorded is rendered now
                transport.send(build_message(row))
            except (smtplib.SMTPException, OSError, BadRecipient, ValueError) as error:
                _record_failure(row_id, error, counts)
                if is_message_fault(error):
                    continue  # this message's fault: go on with the next one
                break  # the server is unreachable or dropped us: leave the rest for later
            _mark_sent(row_id)
            counts["sent"] += 1
    finally:
        transport.close()
    return counts


def deliver_pass(limit: int = 100, reminders: bool = True) -> tuple[int, dict[str, int]]:
    """One pass of a sender (the background thread, `outbox send`, `outbox work`): the due
    reminders queued (unless told not to), then the outbox delivered, retries included;
    return the reminders queued and the counts of deliver_due."""
    from .reminders import queue_due_reminders  # reminders render mail: imported on use

    with delivering_here():  # what this pass queues, it delivers just below
        queued = queue_due_reminders() if reminders else 0
        return queued, deliver_due(limit=limit)


def run_once(app: Flask) -> None:
    """One run of the background sender: due reminders (if the site queues them itself),
    then the outbox, retries included."""
    deliver_pass(reminders=app.config.get("REMINDERS_IN_BACKGROUND", True))


class OutboxWorker:
    """One background thread per process: wakes when nudged and every OUTBOX_WAKE_SECONDS
    (due reminders, retries), so the running site needs no cron."""

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
        self.ensure_running()
        self.wake.set()

    def ensure_running(self) -> None:
        """Start the thread if this process has none (first request, or after a fork)."""
        if self.thread is not None and self.thread.is_alive():
            return
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.stopping = False
                self.thread = threading.Thread(target=self._run, name="outbox", daemon=True)
                self.thread.start()
                self.wake.set()  # a first run now: what fell due while nobody was here

    def _run(self) -> None:
        interval = float(self.app.config.get("OUTBOX_WAKE_SECONDS", 60))
        while not self.stopping:
            self.wake.wait(timeout=interval)
            self.wake.clear()
            if self.stopping:
                return
            with self.app.app_context():
                try:
                    run_once(self.app)
                except Exception:  # keep the thread alive; the CLI can retry
                    log.exception("outbox delivery failed")
                    db.session.rollback()
                finally:
                    db.session.remove()


def _worker(app: Flask) -> OutboxWorker:
    worker: OutboxWorker = app.extensions.setdefault("outbox_worker", OutboxWorker(app))
    return worker


def nudge_outbox(app: Flask) -> None:
    """Deliver in the background soon, if the site is configured to."""
    if not app.config.get("OUTBOX_SEND_AFTER_REQUEST", True):
        return
    _worker(app).nudge()


def _start_background_sender() -> None:
    """The first request of a process starts its sender (never at import: gunicorn forks
    after loading the app, and a thread does not survive a fork)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config.get("OUTBOX_SEND_AFTER_REQUEST", True):
        _worker(app).ensure_running()


#: true while this very thread delivers the outbox itself (`flask outbox send`)
_delivering_here: ContextVar[bool] = ContextVar("delivering_here", default=False)


@contextmanager
def delivering_here() -> Iterator[None]:
    """This thread delivers what it queues: its commits start no background sender (which,
    in a command, would die with the process in the middle of a send)."""
    token = _delivering_here.set(True)
    try:
        yield
    finally:
        _delivering_here.reset(token)


def _after_commit(session: sa.orm.Session) -> None:
    """A transaction that queued mail has committed: hand the outbox to the sender."""
    if session.info.pop(QUEUED, False) and not _delivering_here.get():
        nudge_outbox(current_app._get_current_object())  # type: ignore[attr-defined]


def _after_rollback(session: sa.orm.Session, _transaction: sa.orm.SessionTransaction) -> None:
    """Rolled back: what was queued is gone, nothing to send."""
    session.info.pop(QUEUED, None)


def init_app(app: Flask) -> None:
    """Listen to the app's sessions: mail queued in a transaction leaves after its commit."""
    app.before_request(_start_background_sender)
    session_class = db.session.session_factory.class_
    if not sa.event.contains(session_class, "after_commit", _after_commit):
        sa.event.listen(session_class, "after_commit", _after_commit)
        sa.event.listen(session_class, "after_soft_rollback", _after_rollback)
