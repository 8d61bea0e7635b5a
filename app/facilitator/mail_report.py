"""What the mail did: counts per kind and state, the messages that wait for a new try or
failed (with the reason in French), and sending failed ones again once the cause is fixed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..clock import utcnow
from ..database import write
from ..extensions import db
from ..mailing.queue import wake_sender
from ..models import OutboxMessage, OutboxStatus
from ..vocabulary import DeliveryState, MailKind
from .journal import record

#: failed messages older than this no longer raise the dashboard's banner
BANNER_DAYS = 7
#: problem messages listed on one page
LISTED = 200


@dataclass
class Problem:
    """A message waiting for a new try, or failed."""

    id: int
    kind: str
    recipient: str
    state: DeliveryState
    attempts: int
    reason: str
    created_at: datetime
    next_attempt_at: datetime
    #: failed, body kept, still of use: "Renvoyer" is offered
    resendable: bool

    @property
    def kind_label(self) -> str:
        """The kind in French."""
        return MailKind.label_of(self.kind)


@dataclass
class MailReport:
    """Counts per kind and state, totals, and the problems."""

    by_kind: dict[str, dict[DeliveryState, int]] = field(default_factory=dict)
    totals: dict[DeliveryState, int] = field(
        default_factory=lambda: dict.fromkeys(DeliveryState, 0)
    )
    problems: list[Problem] = field(default_factory=list)

    @property
    def resendable(self) -> int:
        """How many failed messages can be sent again."""
        return sum(problem.resendable for problem in self.problems)


def _state_columns() -> tuple[sa.ColumnElement, sa.ColumnElement]:
    return OutboxMessage.status, OutboxMessage.last_error != ""


def _resendable(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        OutboxMessage.status == OutboxStatus.FAILED,
        OutboxMessage.body_text != "",
        sa.or_(OutboxMessage.expires_at.is_(None), OutboxMessage.expires_at > now),
    )


def mail_report(episode_id: int | None) -> MailReport:
    """The report for one episode's messages, or (None) for every message: three queries."""
    where = [] if episode_id is None else [OutboxMessage.episode_id == episode_id]
    report = MailReport()
    status, has_error = _state_columns()
    for kind, row_status, erred, count in db.session.execute(
        sa.select(OutboxMessage.kind, status, has_error, sa.func.count())
        .where(*where)
        .group_by(OutboxMessage.kind, status, has_error)
    ):
        state = DeliveryState.of(row_status, "x" if erred else "")
        per_kind = report.by_kind.setdefault(kind, dict.fromkeys(DeliveryState, 0))
        per_kind[state] += count
        report.totals[state] += count
    now = utcnow()
    troubled = sa.or_(
        OutboxMessage.status == OutboxStatus.FAILED,
        sa.and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.last_error != ""),
    )
    for row, resendable in db.session.execute(
        sa.select(OutboxMessage, _resendable(now))
        .where(*where, troubled)
        .order_by(OutboxMessage.id.desc())
        .limit(LISTED)
    ):
        report.problems.append(
            Problem(
                id=row.id,
                kind=row.kind,
                recipient=row.recipient,
                state=DeliveryState.of(row.status, row.last_error),
                attempts=row.attempts,
                reason=row.last_error,
                created_at=row.created_at,
                next_attempt_at=row.next_attempt_at,
                resendable=bool(resendable),
            )
        )
    return report


def recent_failures() -> int:
    """Messages that failed lately: the dashboard says so at once."""
    since = utcnow() - timedelta(days=BANNER_DAYS)
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.FAILED, OutboxMessage.created_at >= since)
    )


def resend_failed(facilitator_id: int, episode_id: int | None, ids: list[int] | None = None) -> int:
    """Send failed messages again (all those of the episode, or these ids), each with its
    Message-ID kept; return how many were queued again."""
    now = utcnow()
    where = [_resendable(now)]
    if episode_id is not None:
        where.append(OutboxMessage.episode_id == episode_id)
    if ids is not None:
        where.append(OutboxMessage.id.in_(ids))
    with write():
        result = db.session.execute(
            sa.update(OutboxMessage)
            .where(*where)
            .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now, last_error="")
            .execution_options(synchronize_session=False)
        )
        count = result.rowcount
        if count:
            target = f"episode:{episode_id}" if episode_id is not None else "tous les e-mails"
            record(
                facilitator_id, "mail.resend", target, f"{count} e-mail{'s' if count > 1 else ''}"
            )
            wake_sender()
    return count
