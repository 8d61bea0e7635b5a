"""Editing an episode: the change, its trace in the journal, the notice when it moves (once
the facilitator confirmed), and the new join link to those who had another."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..clock import utcnow
from ..database import write
from ..extensions import db
from ..mailing.notifications import Preview, preview_rescheduled, queue_episode_rescheduled
from ..mailing.queue import wake_sender
from ..mailing.reminders import awaiting_new_link, note_link_sent, rearm_reminders
from ..models import Attendee, Episode, Registration
from ..programme.services import forget_programme_view
from ..seats import fill_seats
from ..vocabulary import EpisodeState, MailTopic
from .journal import record

#: fields whose change moves the event in calendars (RFC 5545: raise SEQUENCE)
TIMING_FIELDS = ("starts_at", "duration_minutes")
#: the columns an episode is copied with for a preview
COLUMNS = [attr for attr in sa.inspect(Episode).column_attrs]


def registrants_of(
    episode_id: int, topic: MailTopic | None = None, *, seated: bool = False
) -> list[Attendee]:
    """The attendees who follow an episode (those who receive this topic's mail, if given;
    only those with a seat if `seated`: a message carrying the join link)."""
    statement = (
        sa.select(Attendee)
        .join(Registration, Registration.attendee_id == Attendee.id)
        .where(Registration.episode_id == episode_id)
        .order_by(Attendee.id)
    )
    if seated:
        statement = statement.where(Registration.waiting_since.is_(None))
    if topic is not None:
        statement = statement.where(getattr(Attendee, topic.value).is_(True))
    return list(db.session.scalars(statement))


def recipient_count(episode_id: int, topic: MailTopic, *, seated: bool = False) -> int:
    """How many registrants of an episode receive this topic's mail (with a seat, if
    `seated`)."""
    statement = (
        sa.select(sa.func.count())
        .select_from(Registration)
        .join(Attendee, Attendee.id == Registration.attendee_id)
        .where(Registration.episode_id == episode_id, getattr(Attendee, topic.value).is_(True))
    )
    if seated:
        statement = statement.where(Registration.waiting_since.is_(None))
    return db.session.scalar(statement)


def _with_values(episode: Episode, values: dict[str, Any]) -> Episode:
    """A detached copy of the episode as the form would leave it (for previews)."""
    copy = Episode(**{attr.key: getattr(episode, attr.key) for attr in COLUMNS})
    for name, value in values.items():
        setattr(copy, name, value)
    copy.sequence = (episode.sequence or 0) + 1
    return copy


@dataclass
class MovePlan:
    """What saving a new date or time would do to the registrants, before anything is saved."""

    moves: bool
    #: registrants who would be told (those who receive notices)
    recipients: int = 0
    #: registrants who switched notices off
    opted_out: int = 0
    #: why nobody is told, in French (an episode over, a date in the past…)
    why_not: str | None = None
    preview: Preview | None = None
    #: what a confirmation is for: a confirmation of other values asks again
    key: str = ""
    #: the new start and end
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    @property
    def asks_first(self) -> bool:
        """The facilitator must choose to tell the registrants or not."""
        return self.moves and self.why_not is None


def plan_move(episode: Episode, values: dict[str, Any]) -> MovePlan:
    """Whether these values move the episode, and whom a notice would reach."""
    if not any(getattr(episode, name) != values[name] for name in TIMING_FIELDS):
        return MovePlan(moves=False)
    now = utcnow()
    moved = _with_values(episode, values)
    key = f"{moved.starts_at.isoformat()}|{moved.duration_minutes}"
    state = episode.state(now)
    why_not = None
    if state == EpisodeState.CANCELLED:
        why_not = "Cet épisode est annulé : aucun e-mail n’est envoyé aux inscrits."
    elif state == EpisodeState.PAST:
        why_not = "Cet épisode est terminé : aucun e-mail n’est envoyé aux inscrits."
    elif state == EpisodeState.LIVE:
        why_not = "Cet épisode a commencé : aucun e-mail n’est envoyé aux inscrits."
    elif moved.starts_at <= now:
        why_not = "La nouvelle date est déjà passée : aucun e-mail n’est envoyé aux inscrits."
    # The notice of a new time carries the join link: it goes to those with a seat.
    recipients = recipient_count(episode.id, MailTopic.CHANGES, seated=True)
    registered = db.session.scalar(
        sa.select(sa.func.count()).where(
            Registration.episode_id == episode.id, Registration.waiting_since.is_(None)
        )
    )
    opted_out = registered - recipients
    if why_not is None and recipients == 0:
        why_not = (
            "Personne n’est inscrit à cet épisode : aucun e-mail à envoyer."
            if opted_out == 0
            else "Aucun inscrit ne reçoit les avis de changement : aucun e-mail n’est envoyé."
        )
    preview = preview_rescheduled(moved) if why_not is None else None
    return MovePlan(
        True, recipients, opted_out, why_not, preview, key, moved.starts_at, moved.ends_at
    )


@dataclass
class EpisodeChange:
    """What a save did: the fields changed, and who was or will be mailed."""

    changed: list[str] = field(default_factory=list)
    #: registrants mailed the new time
    notified: int = 0
    #: the episode moved and the facilitator chose to tell nobody
    kept_quiet: bool = False
    #: why nobody was told of a move
    why_not: str | None = None
    #: people whose reminder carried another join link: the new one goes to them at once
    link_recipients: int = 0

    @property
    def moved(self) -> bool:
        """The date, time or duration changed."""
        return any(name in TIMING_FIELDS for name in self.changed)

    @property
    def summary(self) -> str:
        """What the facilitator reads after saving."""
        if not self.changed:
            return "Aucun changement à enregistrer."
        count = len(self.changed)
        parts = [f"Épisode enregistré ({count} changement{'s' if count > 1 else ''})."]
        if self.moved:
            if self.notified:
                parts.append(
                    f"{self.notified} inscrit{'s' if self.notified > 1 else ''} "
                    f"reçoi{'vent' if self.notified > 1 else 't'} un e-mail avec le nouvel horaire "
                    "et le fichier d’agenda à jour."
                )
            elif self.kept_quiet:
                parts.append("Aucun e-mail n’a été envoyé aux inscrits, comme demandé.")
            elif self.why_not:
                parts.append(self.why_not)
            parts.append("Les agendas abonnés au cycle se mettent à jour d’eux-mêmes.")
        if self.link_recipients:
            people = self.link_recipients
            parts.append(
                f"Le nouveau lien part tout de suite {'aux' if people > 1 else 'à la'} "
                f"{people} personne{'s' if people > 1 else ''} dont le rappel portait "
                "l’ancien (ou annonçait qu’il viendrait)."
            )
        return " ".join(parts)


def _keep_english_roles(speakers: list[dict], before: list[dict]) -> list[dict]:
    """The form edits the French only: a speaker whose role is unchanged keeps its English
    (from the content file); a changed role loses it (the French is then shown)."""
    english = {
        (old["name"], old.get("role", "")): old["role_en"]
        for old in before or []
        if old.get("role_en")
    }
    return [
        {**new, "role_en": english[key]} if (key := (new["name"], new["role"])) in english else new
        for new in speakers
    ]


def update_episode(
    episode_id: int, values: dict[str, Any], facilitator_id: int, *, notify: bool = False
) -> EpisodeChange:
    """Apply the edit form; bump updated_at on any change, and SEQUENCE when the event
    changes for calendars (its time, or the join link that is its LOCATION for registrants).

    A move re-arms the reminders still ahead; registrants are told of it only when
    `notify` (the facilitator confirmed) and the episode has not started nor moves into
    the past. A new join link reaches at once, through the reminder sweep, those whose
    reminder carried another. LookupError if the episode is gone.
    """
    now = utcnow()
    with write():
        episode = db.session.get(Episode, episode_id)
        if episode is None:
            raise LookupError(episode_id)
        if "speakers" in values:
            values = {
                **values,
                "speakers": _keep_english_roles(values["speakers"], episode.speakers),
            }
        plan = plan_move(episode, values)
        change = EpisodeChange(
            [name for name, value in values.items() if getattr(episode, name) != value]
        )
        if not change.changed:
            return change
        for name in change.changed:
            setattr(episode, name, values[name])
        if change.moved or "join_url" in change.changed:
            episode.sequence = (episode.sequence or 0) + 1
        episode.updated_at = now
        episode.updated_by_id = facilitator_id
        record(facilitator_id, "episode.update", f"episode:{episode.id}", ", ".join(change.changed))
        if change.moved:
            rearm_reminders(episode, now)
            change.why_not = plan.why_not
            change.kept_quiet = plan.asks_first and not notify
            if plan.asks_first and notify:
                told = registrants_of(episode.id, MailTopic.CHANGES, seated=True)
                change.notified = queue_episode_rescheduled(episode, told)
                if episode.join_url:
                    note_link_sent(episode, registrations_of(episode.id, told))
        if "capacity" in change.changed:
            # More seats (or none counted): the first people waiting get them now.
            fill_seats([episode.id], now)
        if "join_url" in change.changed and episode.join_url:
            change.link_recipients = awaiting_new_link(episode)
            wake_sender()  # the sweep sends the new link now, not at the next minute
    forget_programme_view()  # this worker's public pages show the change at once
    return change


def registrations_of(episode_id: int, attendees: list[Attendee]) -> list[int]:
    """The registration ids of these attendees for the episode."""
    ids = [attendee.id for attendee in attendees]
    return list(
        db.session.scalars(
            sa.select(Registration.id).where(
                Registration.episode_id == episode_id, Registration.attendee_id.in_(ids)
            )
        )
    )
