"""Database models: the cycle, its audience, their questions and the outbox.

Over 300 lines on purpose: the whole schema reads in one place, and Alembic writes the
migrations from it.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .clock import utcnow
from .extensions import db
from .vocabulary import DeclineReason, EpisodeState, QuestionStatus, ReminderKind


class UTCDateTime(sa.types.TypeDecorator):
    """Store aware datetimes as naive UTC, give them back aware (SQLite forgets zones)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class EnumText(sa.types.TypeDecorator):
    """A StrEnum stored as its value in a VARCHAR, given back as the enum member (a new
    member needs no change of database type)."""

    impl = sa.String
    cache_ok = True

    def __init__(self, enum_class: type[enum.StrEnum], length: int) -> None:
        super().__init__(length)
        self.enum_class = enum_class

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        return None if value is None else self.enum_class(value).value

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> enum.StrEnum | None:
        return None if value is None else self.enum_class(value)


class Series(db.Model):
    """A cycle of webinars: its public presentation text."""

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stable key used by `programme load` to find the series again
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    #: the opening questions of the source, in order
    questions: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    introduction: Mapped[str] = mapped_column(sa.Text, default="")
    menu: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    hosting: Mapped[str] = mapped_column(sa.Text, default="")
    audience: Mapped[str] = mapped_column(sa.Text, default="")
    organiser: Mapped[str] = mapped_column(sa.String(120), default="")
    #: the English of the text fields above (field → text), from the content file
    english: Mapped[dict | None] = mapped_column(sa.JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    episodes: Mapped[list[Episode]] = relationship(
        back_populates="series", order_by="Episode.number"
    )


class Episode(db.Model):
    """One live webinar of the cycle."""

    __table_args__ = (sa.UniqueConstraint("series_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(sa.ForeignKey("series.id", ondelete="CASCADE"))
    number: Mapped[int]
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    teaser: Mapped[str] = mapped_column(sa.Text, default="")
    #: bullet-listed cases shown under the teaser
    cases: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: [{"name": ..., "role": ..., "host": bool}]
    speakers: Mapped[list[dict]] = mapped_column(sa.JSON, default=list)
    #: the English of title, teaser and cases (field → text), from the content file
    english: Mapped[dict | None] = mapped_column(sa.JSON, default=dict)
    #: start of the live, UTC
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(default=60)
    #: private: shown to registrants only (personal space, e-mails)
    join_url: Mapped[str] = mapped_column(sa.String(500), default="")
    replay_url: Mapped[str] = mapped_column(sa.String(500), default="")
    #: iCalendar SEQUENCE, raised whenever the time, the join link or the cancellation changes
    sequence: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("facilitator.id", ondelete="SET NULL")
    )
    #: set once the follow-up has been queued; guards against a second send
    followup_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    followup_sent_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("facilitator.id", ondelete="SET NULL")
    )
    #: set when the facilitator cancels the episode (cleared if it is maintained after all)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: why, as the public page and the notice to registrants say it
    cancel_reason: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    #: seats: None is unlimited; past it, registrations join the waiting list (lowering it
    #: below the seats taken removes nobody, it only stops new seats)
    capacity: Mapped[int | None]

    series: Mapped[Series] = relationship(back_populates="episodes")
    registrations: Mapped[list[Registration]] = relationship(
        back_populates="episode", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def ends_at(self) -> datetime:
        """End of the live, UTC."""
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def cancelled(self) -> bool:
        """The facilitator cancelled it."""
        return self.cancelled_at is not None

    def state(self, now: datetime) -> EpisodeState:
        """Say whether the episode is cancelled, or upcoming, live or over at `now`."""
        if self.cancelled:
            return EpisodeState.CANCELLED
        return EpisodeState.at(self.starts_at, self.ends_at, now)

    def accepts_questions(self, now: datetime) -> bool:
        """Questions are open until the live starts, and close when it is cancelled."""
        return now < self.starts_at and not self.cancelled


class Attendee(db.Model):
    """A person registered to the cycle: one per e-mail per series."""

    __table_args__ = (sa.UniqueConstraint("series_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(sa.ForeignKey("series.id", ondelete="CASCADE"))
    #: normalised (lower-case, trimmed): the case-insensitive key
    email: Mapped[str] = mapped_column(sa.String(254))
    first_name: Mapped[str] = mapped_column(sa.String(100))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    organisation: Mapped[str] = mapped_column(sa.String(200))
    organisation_kind: Mapped[str] = mapped_column(sa.String(40))
    job_title: Mapped[str] = mapped_column(sa.String(200), default="")
    #: when the privacy notice was acknowledged (RGPD proof)
    privacy_acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: mail preferences (vocabulary.MailTopic): the e-mails that do not answer one's own action
    mail_reminders: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    mail_changes: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    mail_followup: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    #: the language the person registered in ("fr", "en"): their mail is written in it
    language: Mapped[str] = mapped_column(sa.String(5), default="fr", server_default="fr")

    registrations: Mapped[list[Registration]] = relationship(
        back_populates="attendee", cascade="all, delete-orphan", passive_deletes=True
    )
    tokens: Mapped[list[AttendeeToken]] = relationship(
        back_populates="attendee", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def full_name(self) -> str:
        """First and last name, as the person wrote them."""
        return f"{self.first_name} {self.last_name}"


class AttendeeToken(db.Model):
    """One personal link of an attendee; only its SHA-256 is kept."""

    id: Mapped[int] = mapped_column(primary_key=True)
    attendee_id: Mapped[int] = mapped_column(
        sa.ForeignKey("attendee.id", ondelete="CASCADE"), index=True
    )
    #: hex SHA-256 of the token in the link
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attendee: Mapped[Attendee] = relationship(back_populates="tokens")


class Registration(db.Model):
    """An attendee follows an episode: with a seat, or on its waiting list."""

    __table_args__ = (
        sa.UniqueConstraint("attendee_id", "episode_id"),
        sa.Index("ix_registration_episode_waiting", "episode_id", "waiting_since"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attendee_id: Mapped[int] = mapped_column(sa.ForeignKey("attendee.id", ondelete="CASCADE"))
    episode_id: Mapped[int] = mapped_column(
        sa.ForeignKey("episode.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: on the waiting list since then (the order of arrival, with the id); None: a seat
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def waiting(self) -> bool:
        """On the waiting list, not (yet) seated."""
        return self.waiting_since is not None

    attendee: Mapped[Attendee] = relationship(back_populates="registrations")
    episode: Mapped[Episode] = relationship(back_populates="registrations")


class ReminderSent(db.Model):
    """A reminder (or a new join link) queued for one registration: the unique key makes it
    once, whatever the number of senders racing for it."""

    __table_args__ = (sa.UniqueConstraint("registration_id", "kind", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registration.id", ondelete="CASCADE")
    )
    kind: Mapped[ReminderKind] = mapped_column(EnumText(ReminderKind, 20))
    #: a reminder: minutes before the start; a new join link: the episode's SEQUENCE
    step: Mapped[int]
    #: the join link the message carried ("" when it had none yet)
    join_url: Mapped[str] = mapped_column(sa.String(500), default="")
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Question(db.Model):
    """A question sent by an attendee before an episode."""

    __table_args__ = (
        # The id too (PostgreSQL): the review's counts per status, and its newest id, come
        # from this index alone (SQLite's indexes hold the rowid anyway).
        sa.Index("ix_question_episode_status", "episode_id", "status", postgresql_include=["id"]),
        # The id too: "by votes" breaks ties on it, and a page far down walks the index in
        # order instead of sorting what it skips (SQLite's indexes end with the rowid anyway).
        sa.Index("ix_question_episode_votes", "episode_id", "vote_count", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(sa.ForeignKey("episode.id", ondelete="CASCADE"))
    attendee_id: Mapped[int] = mapped_column(
        sa.ForeignKey("attendee.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[QuestionStatus] = mapped_column(
        EnumText(QuestionStatus, 20), default=QuestionStatus.NEW
    )
    #: shown on the episode page and open to votes
    published: Mapped[bool] = mapped_column(default=False)
    #: the author chose to show their name publicly
    show_name: Mapped[bool] = mapped_column(default=False)
    #: facilitator's private note
    note: Mapped[str] = mapped_column(sa.String(1000), default="")
    #: position in the live running order (retained questions)
    live_order: Mapped[int | None]
    #: denormalised count, kept in step with Vote rows by the vote service
    vote_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("facilitator.id", ondelete="SET NULL")
    )
    #: raised by every facilitator action: a form sent from an older one was overtaken
    revision: Mapped[int] = mapped_column(default=0, server_default="0")
    #: answered on air: seconds from the start of the live (a link into the replay)
    replay_seconds: Mapped[int | None]
    #: answered in writing: the answer, shown under the question
    written_answer: Mapped[str] = mapped_column(sa.String(2000), default="", server_default="")
    #: merged: the question of the same episode kept in its place
    merged_into_id: Mapped[int | None] = mapped_column(
        # Deferred: a backup restores rows in id order, and the kept one may come later.
        sa.ForeignKey("question.id", ondelete="SET NULL", deferrable=True, initially="DEFERRED"),
        index=True,
    )
    #: carried over: its continuation in a later episode (same author, its votes moved there)
    carried_to_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("question.id", ondelete="SET NULL", deferrable=True, initially="DEFERRED"),
        unique=True,
    )
    #: declined: why, and a few words for the author ("autre" needs them)
    decline_reason: Mapped[DeclineReason | None] = mapped_column(EnumText(DeclineReason, 20))
    decline_detail: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")

    episode: Mapped[Episode] = relationship()
    attendee: Mapped[Attendee] = relationship()
    merged_into: Mapped[Question | None] = relationship(
        remote_side=[id], foreign_keys=[merged_into_id]
    )
    carried_to: Mapped[Question | None] = relationship(
        remote_side=[id], foreign_keys=[carried_to_id]
    )
    #: carried in: the question of the earlier episode this one continues
    carried_from: Mapped[Question | None] = relationship(
        primaryjoin="Question.id == remote(Question.carried_to_id)",
        uselist=False,
        viewonly=True,
    )


class Theme(db.Model):
    """A theme of the cycle's questions, created by the facilitators while they tag."""

    __table_args__ = (sa.UniqueConstraint("series_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(sa.ForeignKey("series.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(60))
    #: the name folded (case, spaces): "Jeunesse" and " jeunesse" are one theme
    key: Mapped[str] = mapped_column(sa.String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuestionTheme(db.Model):
    """A question tagged with a theme."""

    question_id: Mapped[int] = mapped_column(
        sa.ForeignKey("question.id", ondelete="CASCADE"), primary_key=True
    )
    theme_id: Mapped[int] = mapped_column(
        sa.ForeignKey("theme.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class LiveScreen(db.Model):
    """The question the live view shows for an episode, chosen from the running order."""

    episode_id: Mapped[int] = mapped_column(
        sa.ForeignKey("episode.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("question.id", ondelete="CASCADE"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Vote(db.Model):
    """An attendee upvotes a published question, once."""

    __table_args__ = (sa.UniqueConstraint("question_id", "attendee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("question.id", ondelete="CASCADE"))
    attendee_id: Mapped[int] = mapped_column(
        sa.ForeignKey("attendee.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: a merged question's vote lent to the question kept in its place (given back on undo)
    moved_from_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("question.id", ondelete="CASCADE"), index=True
    )


class Facilitator(db.Model):
    """A person who runs the cycle; logs in under /animation/."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BrowserSession(db.Model):
    """A browser's session, kept here: the cookie holds only an opaque random key."""

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the key in the cookie (the key itself is never stored)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: what Flask keeps in the session (CSRF token, rights, questions sent from here…)
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: whom it speaks for, so that erasure and logout can end it
    attendee_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("attendee.id", ondelete="CASCADE"), index=True
    )
    facilitator_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("facilitator.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: absolute end, whatever the activity
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    #: read with the session in one query (the request needs them next)
    attendee: Mapped[Attendee | None] = relationship(lazy="joined")
    facilitator: Mapped[Facilitator | None] = relationship(lazy="joined")


class LinkRequest(db.Model):
    """An address typed into "Recevoir mon lien", waiting for the sender to look it up.

    The request only writes this row, whether the address is registered or not (same work,
    same time); the lookup and the e-mail happen afterwards. Deleted once looked up.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(sa.ForeignKey("series.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(sa.String(254))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HealthCheck(db.Model):
    """One row that /healthz writes: proof that the database takes writes."""

    id: Mapped[int] = mapped_column(primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FacilitatorAction(db.Model):
    """Audit trail: who changed what, when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    facilitator_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("facilitator.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(sa.String(60))
    #: e.g. "question:12", "episode:3"
    target: Mapped[str] = mapped_column(sa.String(60))
    detail: Mapped[str] = mapped_column(sa.String(500), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxStatus(enum.StrEnum):
    """Delivery state of an outbox message."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(db.Model):
    """An e-mail waiting to be delivered, written in the same transaction as its cause."""

    __table_args__ = (sa.Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: purpose, e.g. "registration_confirmation", "followup"
    kind: Mapped[str] = mapped_column(sa.String(40))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    #: whose message it is: erased with the attendee
    attendee_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("attendee.id", ondelete="CASCADE"), index=True
    )
    episode_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("episode.id", ondelete="SET NULL"), index=True
    )
    #: makes a message unique (e.g. one follow-up per episode and attendee)
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True)
    subject: Mapped[str] = mapped_column(sa.String(300))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    #: iCalendar attachment, if any
    ics: Mapped[str] = mapped_column(sa.Text, default="")
    #: extra headers as a JSON object (List-Unsubscribe…)
    headers: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: what a message rendered at send time is made from (e.g. the personal link's token):
    #: the request only records it; emptied once the message is done with
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[OutboxStatus] = mapped_column(
        EnumText(OutboxStatus, 10), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the Message-ID of every attempt: a copy sent twice reads as one message to mail clients
    message_id: Mapped[str | None] = mapped_column(sa.String(250))
    #: not sent after this moment (a reminder once its episode has started)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
