"""Reminders before each episode, and the join link to those whose reminder carried another.

Who gets what is decided here (notifications render the messages). Each reminder is a row
of `reminder_sent`, unique per (registration, kind, step), written by INSERT … ON CONFLICT
DO NOTHING in the same transaction as its outbox row: however many sites and crons sweep at
once, the database lets one of them queue it, once.

- A reminder is due from FLASK_REMINDER_OFFSETS minutes before the start until the start;
  when several are due (a late registration, an episode moved closer), only the latest
  (the smallest offset) is sent, and the earlier ones never are.
- Nobody who stopped following, switched reminders off, or erased themselves is reminded,
  nor anyone on the waiting list (no seat, no join link); a cancelled episode reminds nobody.
- When the join link changes, whoever last received another link (or the promise of one)
  gets the new one at once, until the episode ends.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from ..clock import utcnow
from ..database import insert_ignoring_conflicts, write
from ..extensions import db
from ..language import PerLanguage
from ..models import Attendee, Episode, OutboxMessage, OutboxStatus, Registration, ReminderSent
from ..vocabulary import MailKind, ReminderKind
from .notifications import my_calendar, queue_join_link, queue_reminder

#: registrations handled per transaction (SQLite holds its write lock that long)
BATCH = 200
#: the longest an episode lasts (the edit form's limit): the sweep looks no further back
MAX_DURATION = 480


def offsets() -> list[int]:
    """The reminder offsets in minutes, earliest reminder first (checked at start-up)."""
    return list(current_app.config["REMINDER_OFFSETS"])


def due_step(starts_at: datetime, now: datetime, minutes: list[int]) -> int | None:
    """The latest reminder due at `now`: the smallest offset whose moment has come; None
    before the first one and from the start on."""
    if now >= starts_at:
        return None
    due = [offset for offset in minutes if now >= starts_at - timedelta(minutes=offset)]
    return min(due) if due else None


def _episodes_to_sweep(now: datetime) -> list[int]:
    """Episodes from their first reminder until their end, not cancelled."""
    minutes = offsets()
    if not minutes:
        return []
    rows = db.session.execute(
        sa.select(Episode.id, Episode.starts_at, Episode.duration_minutes)
        .where(
            Episode.cancelled_at.is_(None),
            Episode.starts_at <= now + timedelta(minutes=max(minutes)),
            Episode.starts_at > now - timedelta(minutes=MAX_DURATION),
        )
        .order_by(Episode.starts_at)
    ).all()
    # Join links are still sent during the live (a link fixed at 11:05); reminders stop at
    # the start (the batch itself checks).
    return [row.id for row in rows if now < row.starts_at + timedelta(minutes=row.duration_minutes)]


def queue_due_reminders(now: datetime | None = None) -> int:
    """Queue every reminder and join link due now; return how many messages were queued."""
    now = now or utcnow()
    queued = 0
    for episode_id in _episodes_to_sweep(now):
        for sweep in (_queue_reminder_batch, _queue_join_link_batch):
            while True:
                found, added = sweep(episode_id, now)
                queued += added
                # A full batch may hide more; one that added nothing was taken by another
                # sender meanwhile, which will finish the job.
                if found < BATCH or added == 0:
                    break
    return queued


def _dedupe_key(reminder_sent_id: int) -> str:
    """The outbox key of a reminder: which reminder_sent row it is (a move finds the ones
    still waiting), plus a random part, as SQLite may give a deleted row's id again."""
    return f"reminder-sent:{reminder_sent_id}:{secrets.token_hex(4)}"


def _locked_episode(episode_id: int) -> Episode | None:
    """The episode, its row locked on PostgreSQL: two sweeps of one episode take turns
    (SQLite's BEGIN IMMEDIATE already makes every writer wait for the previous one)."""
    return db.session.scalars(
        sa.select(Episode).where(Episode.id == episode_id).with_for_update()
    ).first()


def _record(rows: list[dict], kind: ReminderKind) -> dict[int, int]:
    """Insert reminder_sent rows, keeping those this transaction won: registration → row id."""
    won = insert_ignoring_conflicts(
        ReminderSent,
        [{**row, "kind": kind} for row in rows],
        index_elements=["registration_id", "kind", "step"],
        returning=(ReminderSent.registration_id, ReminderSent.id),
    )
    return {registration_id: row_id for registration_id, row_id in won}


def _queue_reminder_batch(episode_id: int, now: datetime) -> tuple[int, int]:
    """Queue the due reminder of up to BATCH registrations; (registrations found, queued)."""
    with write():
        episode = _locked_episode(episode_id)
        if episode is None or episode.cancelled:
            return 0, 0
        step = due_step(episode.starts_at, now, offsets())
        if step is None:
            return 0, 0
        # The latest due reminder, or a later one, already went: nothing to send.
        sent = sa.exists().where(
            ReminderSent.registration_id == Registration.id,
            ReminderSent.kind == ReminderKind.REMINDER,
            ReminderSent.step <= step,
        )
        candidates = db.session.execute(
            sa.select(Registration.id, Attendee)
            .join(Attendee, Attendee.id == Registration.attendee_id)
            .where(
                Registration.episode_id == episode.id,
                Registration.waiting_since.is_(None),  # the waiting list has no seat to join
                Attendee.mail_reminders,
                ~sent,
            )
            .order_by(Registration.id)
            .limit(BATCH)
        ).all()
        if not candidates:
            return 0, 0
        won = _record(
            [
                {
                    "registration_id": registration_id,
                    "step": step,
                    "join_url": episode.join_url,
                    "queued_at": now,
                }
                for registration_id, _ in candidates
            ],
            ReminderKind.REMINDER,
        )
        calendar = PerLanguage(lambda: my_calendar([episode]))
        for registration_id, attendee in candidates:
            if registration_id in won:
                queue_reminder(
                    episode,
                    attendee,
                    calendar=calendar,
                    now=now,
                    dedupe_key=_dedupe_key(won[registration_id]),
                )
        return len(candidates), len(won)


def _queue_join_link_batch(episode_id: int, now: datetime) -> tuple[int, int]:
    """Send the current join link to registrations whose latest reminder carried another."""
    with write():
        episode = _locked_episode(episode_id)
        if episode is None or episode.cancelled or not episode.join_url or now >= episode.ends_at:
            return 0, 0
        candidates = db.session.execute(
            _awaiting_link(episode).order_by(Registration.id).limit(BATCH)
        ).all()
        if not candidates:
            return 0, 0
        won = _record(
            [
                {
                    "registration_id": registration_id,
                    "step": episode.sequence,
                    "join_url": episode.join_url,
                    "queued_at": now,
                }
                for registration_id, _, _ in candidates
            ],
            ReminderKind.JOIN_LINK,
        )
        calendar = PerLanguage(lambda: my_calendar([episode]))
        for registration_id, attendee, old_link in candidates:
            if registration_id in won:
                queue_join_link(
                    episode,
                    attendee,
                    had_link=bool(old_link),
                    calendar=calendar,
                    dedupe_key=_dedupe_key(won[registration_id]),
                )
        return len(candidates), len(won)


def _awaiting_link(episode: Episode) -> sa.Select:
    """Registrations of the episode whose latest reminder carried another join link."""
    earlier = aliased(ReminderSent)
    latest = (
        sa.select(sa.func.max(earlier.id))
        .where(earlier.registration_id == Registration.id)
        .correlate(Registration)
        .scalar_subquery()
    )
    return (
        sa.select(Registration.id, Attendee, ReminderSent.join_url)
        .join(Attendee, Attendee.id == Registration.attendee_id)
        .join(ReminderSent, ReminderSent.id == latest)
        .where(
            Registration.episode_id == episode.id,
            Registration.waiting_since.is_(None),
            Attendee.mail_reminders,
            ReminderSent.join_url != episode.join_url,
        )
    )


def awaiting_new_link(episode: Episode) -> int:
    """How many registrants the next sweep will send the episode's new join link."""
    if episode.cancelled or not episode.join_url or utcnow() >= episode.ends_at:
        return 0
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(_awaiting_link(episode).subquery())
    )


def note_link_sent(episode: Episode, registration_ids: list[int]) -> None:
    """Record that these registrations just received the current join link in another
    message (a notice of a new time): the sweep owes them no separate one."""
    has_reminder = sa.select(ReminderSent.registration_id).where(
        ReminderSent.registration_id.in_(registration_ids)
    )
    reminded = list(db.session.scalars(has_reminder.distinct()))
    _record(
        [
            {
                "registration_id": registration_id,
                "step": episode.sequence,
                "join_url": episode.join_url,
                "queued_at": utcnow(),
            }
            for registration_id in reminded
        ],
        ReminderKind.JOIN_LINK,
    )


def rearm_reminders(episode: Episode, now: datetime) -> None:
    """The episode moved: reminders whose moment is ahead again are owed again, and the
    ones still waiting in the outbox (with the old time) are rewritten by the next sweep."""
    registrations = sa.select(Registration.id).where(Registration.episode_id == episode.id)
    waiting = list(
        db.session.scalars(
            sa.select(OutboxMessage.dedupe_key).where(
                OutboxMessage.episode_id == episode.id,
                OutboxMessage.kind == MailKind.REMINDER,
                OutboxMessage.status == OutboxStatus.PENDING,
            )
        )
    )
    waiting_ids = [
        int(key.split(":")[1]) for key in waiting if key and key.startswith("reminder-sent:")
    ]
    ahead = [offset for offset in offsets() if episode.starts_at - timedelta(minutes=offset) > now]
    db.session.execute(
        sa.delete(ReminderSent).where(
            ReminderSent.registration_id.in_(registrations),
            ReminderSent.kind == ReminderKind.REMINDER,
            sa.or_(ReminderSent.step.in_(ahead), ReminderSent.id.in_(waiting_ids)),
        )
    )
    db.session.execute(
        sa.delete(OutboxMessage).where(
            OutboxMessage.episode_id == episode.id,
            OutboxMessage.kind == MailKind.REMINDER,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
    )


def forget_pending_for(episode: Episode) -> None:
    """A cancelled episode: reminders and links still waiting in the outbox are dropped."""
    db.session.execute(
        sa.delete(OutboxMessage).where(
            OutboxMessage.episode_id == episode.id,
            OutboxMessage.kind.in_([MailKind.REMINDER, MailKind.JOIN_LINK]),
            OutboxMessage.status == OutboxStatus.PENDING,
        )
    )
