"""The outbox queue: messages are rows written in the caller's transaction.

`queue_message` writes a row in the caller's transaction and marks it; once that transaction commits,
the session's after-commit hook hands the outbox to the sender (see `worker`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any

import sqlalchemy as sa

from ..clock import utcnow
from ..extensions import db
from ..links import site_host
from ..models import OutboxMessage, OutboxStatus

#: session.info key: this transaction queued mail
QUEUED = "outbox_queued"


class BadRecipient(ValueError):
    """An address or header that could smuggle a header (CR/LF) or is empty."""


def check_header_value(value: str) -> str:
    """Refuse an empty header value or one with a line break."""
    if not value or "\r" in value or "\n" in value:
        raise BadRecipient("header value with a line break or empty")
    return value


#: an outbox row, written as one statement built once: the ORM's unit of work cost several
#: times the insert itself (on every registration, and on each message of a bulk send)
_QUEUE = OutboxMessage.__table__.insert()


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
    expires_at: datetime | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Write a message into the caller's transaction; it is delivered once the caller
    commits. With a `payload` and no body, the body is rendered at send time by the kind's
    renderer (`render_at_send`)."""
    check_header_value(recipient)
    check_header_value(subject)
    for value in (headers or {}).values():
        check_header_value(value)
    now = utcnow()
    db.session.execute(
        _QUEUE,
        {
            "kind": kind,
            "recipient": recipient,
            "subject": subject,
            "body_text": body_text,
            "body_html": body_html,
            "ics": ics,
            "headers": dict(headers or {}),
            "attendee_id": attendee_id,
            "episode_id": episode_id,
            "dedupe_key": dedupe_key,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "expires_at": expires_at,
            "message_id": new_message_id(),
            "payload": dict(payload or {}),
        },
    )
    db.session.info[QUEUED] = True


#: kind → renderer of the messages whose body waits for send time (see `render_at_send`)
_RENDERERS: dict[str, Callable[[OutboxMessage], None]] = {}


def render_at_send(kind: str) -> Callable[[Callable], Callable]:
    """Register the function that fills in an outbox row of this kind at send time."""

    def register(renderer: Callable[[OutboxMessage], None]) -> Callable:
        _RENDERERS[kind] = renderer
        return renderer

    return register


def render_deferred(row: OutboxMessage) -> None:
    """Fill in the body (and attachment, headers) of a row queued with a payload only; the
    row in the database keeps its payload, the rendering lives for this sending."""
    renderer = _RENDERERS.get(row.kind)
    if renderer is not None and row.payload and not row.body_text:
        renderer(row)


def wake_sender() -> None:
    """Have the background sender run right after this transaction commits: what it made
    due (a new join link) leaves now rather than at the next minute."""
    db.session.info[QUEUED] = True


def new_message_id() -> str:
    """A Message-ID on the site's domain (given once: every attempt of a row carries it)."""
    # make_msgid() without a domain calls getfqdn(), slow on some hosts.
    return make_msgid(domain=site_host())


def drop_pending(attendee_id: int, kinds: Iterable[str], episode_id: int | None = None) -> None:
    """Forget messages of these kinds not yet sent to the attendee (they stopped them)."""
    conditions = [
        OutboxMessage.attendee_id == attendee_id,
        OutboxMessage.kind.in_([str(kind) for kind in kinds]),
        OutboxMessage.status == OutboxStatus.PENDING,
    ]
    if episode_id is not None:
        conditions.append(OutboxMessage.episode_id == episode_id)
    db.session.execute(sa.delete(OutboxMessage).where(*conditions))


def recent_mail_count(attendee_id: int, kinds: tuple[str, ...], hours: int = 1) -> int:
    """Messages of these kinds queued for the attendee lately."""
    since = utcnow() - timedelta(hours=hours)
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.attendee_id == attendee_id,
            OutboxMessage.kind.in_(kinds),
            OutboxMessage.created_at >= since,
        )
    )


def due_ids(limit: int) -> list[int]:
    """Ids of the pending messages whose time has come, oldest first."""
    return list(
        db.session.scalars(
            sa.select(OutboxMessage.id)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.next_attempt_at <= utcnow(),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


def outbox_summary() -> dict[str, Any]:
    """Counts by status, for the CLI and the facilitator."""
    rows = db.session.execute(
        sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
    )
    return {status: count for status, count in rows}
