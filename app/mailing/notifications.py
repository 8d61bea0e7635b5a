"""Messages per purpose (named by what they tell), each rendered from its templates and queued
in the outbox within the caller's transaction.

Every message uses the mail layout (`email/_layout.html`) and has a plain-text part whose
first link is the one that matters. Every message that is not the direct answer to the
person's own action (vocabulary.MailKind with a topic) carries RFC 8058 one-click
unsubscribe and a visible link, with a token that can only unsubscribe.

Over 300 lines on purpose: one function per message, with its subject and its preview for
the facilitator's confirmations, all in the one place a reader looks for what we send.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from flask import render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..calendar.builder import build_calendar, calendar_links, ics_bytes, kept
from ..extensions import db
from ..language import DEFAULT, PerLanguage, site_root, speaking
from ..links import episode_url, site_link
from ..models import Attendee, Episode, OutboxMessage, Question
from ..programme.services import followed_episodes
from ..seats import waiting_positions
from ..timefmt import short_date_fr, time_fr
from ..vocabulary import MailKind
from .queue import queue_message, render_at_send
from .unsubscribe import unsubscribe_token

if TYPE_CHECKING:
    from ..facilitator.followup import FollowupContent

#: the name of the attendee's own calendar, in files sent by mail
MY_CALENDAR = _l("Mes webinaires participation")
#: what previews show where each person's unsubscribe link will be (the facilitator's
#: previews stay French: not translated)
PREVIEW_LINK = "(lien de désinscription propre à chaque personne)"


@dataclass(frozen=True)
class Addressee:
    """Who a preview is addressed to (a first name is all the templates read)."""

    first_name: str = "Prénom"


@dataclass(frozen=True)
class Preview:
    """A message as the facilitator sees it before confirming."""

    subject: str
    text: str


def _unsubscribe_headers(unsubscribe_url: str) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: the link alone changes nothing, a POST does."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def my_calendar(episodes: Sequence[Episode], method: str = "PUBLISH") -> str:
    """The attendee's .ics for these episodes, join links included: the same for everyone
    who follows them, so each worker keeps the last ones it made (building one was a third
    of a confirmation's time)."""
    if not episodes:
        return ""

    def make() -> str:
        calendar = build_calendar(episodes, str(MY_CALENDAR), include_join_url=True, method=method)
        return ics_bytes(calendar).decode("utf-8")

    return kept("ics", episodes, make, method)


def _render_both(template: str, **context: object) -> tuple[str, str]:
    """The plain-text and HTML bodies of a message (`template` without its extension)."""
    context.setdefault("site_url", site_root())
    context.setdefault("space_url", site_link("attendee.space"))
    context.setdefault("preferences_url", site_link("attendee.space") + "#mes-e-mails")
    context.setdefault("unsubscribe_url", "")
    return render_template(f"{template}.txt", **context), render_template(
        f"{template}.html", **context
    )


def _queue_to(
    attendee: Attendee,
    kind: MailKind,
    template: str,
    subject: str,
    *,
    episode: Episode | None = None,
    ics: str | PerLanguage[str] = "",
    expires_at: datetime | None = None,
    dedupe_key: str | None = None,
    language: str | None = None,
    **context: object,
) -> None:
    """Render a message for one attendee and queue it, unsubscribe link and headers included,
    in the attendee's language unless told (the caller computes its subject inside
    `speaking` too)."""
    with speaking(language or attendee.language):
        unsubscribe_url = site_link("attendee.unsubscribe", token=unsubscribe_token(attendee))
        text, html = _render_both(
            template, attendee=attendee, episode=episode, unsubscribe_url=unsubscribe_url, **context
        )
        if isinstance(ics, PerLanguage):
            ics = ics()
    queue_message(
        kind=kind,
        recipient=attendee.email,
        subject=subject,
        body_text=text,
        body_html=html,
        ics=ics,
        headers=_unsubscribe_headers(unsubscribe_url),
        attendee_id=attendee.id,
        episode_id=episode.id if episode is not None else None,
        expires_at=expires_at,
        dedupe_key=dedupe_key,
    )


def _preview(template: str, subject: str, **context: object) -> Preview:
    """A message's plain text for a placeholder person, as previews show it."""
    text, _html = _render_both(
        template, attendee=Addressee(), unsubscribe_url=PREVIEW_LINK, **context
    )
    return Preview(subject, text)


# ---------------------------------------------------------------- answers to one's own action
# The request only records these two (the person, their new link's token): their bodies
# and calendar are rendered at send time, out of the request (a registration costs one
# commit and no template). The token stays in the row's payload until the row is done.
# Their subjects are given again when the body is rendered, in the same language as it.
CONFIRMATION_SUBJECT = _l("Votre inscription au cycle de webinaires sur la participation")
PERSONAL_LINK_SUBJECT = _l("Votre lien personnel · cycle de webinaires sur la participation")


def _subject_for(attendee: Attendee, subject: object) -> str:
    """A subject in the attendee's language (the outbox and their space show it as sent)."""
    with speaking(attendee.language):
        return str(subject)


def queue_registration_confirmation(attendee: Attendee, token: str) -> None:
    """Confirmation to the registrant: episodes, personal link, calendar (.ics + links)."""
    queue_message(
        kind=MailKind.REGISTRATION_CONFIRMATION,
        recipient=attendee.email,
        subject=_subject_for(attendee, CONFIRMATION_SUBJECT),
        body_text="",
        attendee_id=attendee.id,
        payload={"token": token},
    )


def queue_personal_link(attendee: Attendee, token: str) -> None:
    """A new personal link, asked for from the site."""
    queue_message(
        kind=MailKind.PERSONAL_LINK,
        recipient=attendee.email,
        subject=_subject_for(attendee, PERSONAL_LINK_SUBJECT),
        body_text="",
        attendee_id=attendee.id,
        payload={"token": token},
    )


def _fill(row: OutboxMessage, template: str, **context: object) -> None:
    """Render a deferred row's bodies and unsubscribe headers for its attendee."""
    attendee = db.session.get(Attendee, row.attendee_id)
    unsubscribe_url = site_link("attendee.unsubscribe", token=unsubscribe_token(attendee))
    row.body_text, row.body_html = _render_both(
        template,
        attendee=attendee,
        episode=None,
        unsubscribe_url=unsubscribe_url,
        space_url=site_link("attendee.open_link", token=row.payload["token"]),
        **context,
    )
    row.headers = _unsubscribe_headers(unsubscribe_url)


def release_url(episode: Episode) -> str:
    """Where a registrant frees their seat: a confirmation in their space (never a GET that acts)."""
    return site_link("attendee.release", episode_id=episode.id)


@render_at_send(MailKind.REGISTRATION_CONFIRMATION)
def render_registration_confirmation(row: OutboxMessage) -> None:
    """The confirmation as sent: the episodes the person follows now, with their calendar;
    where they wait for a seat, their place on the list (and no join link)."""
    with speaking(_language_of(row)):
        _render_registration_confirmation(row)


def _render_registration_confirmation(row: OutboxMessage) -> None:
    episodes = followed_episodes(row.attendee_id)
    waiting = waiting_positions(row.attendee_id)
    _fill(
        row,
        "email/registration_confirmation",
        episodes=episodes,
        links=[calendar_links(episode) for episode in episodes],
        waiting=waiting,
        release_urls={episode.id: release_url(episode) for episode in episodes},
    )
    # The calendar carries the join links: only the episodes with a seat.
    row.ics = my_calendar([episode for episode in episodes if episode.id not in waiting])
    row.subject = str(CONFIRMATION_SUBJECT)


@render_at_send(MailKind.PERSONAL_LINK)
def render_personal_link(row: OutboxMessage) -> None:
    """The new personal link as sent."""
    with speaking(_language_of(row)):
        _fill(row, "email/personal_link")
        row.subject = str(PERSONAL_LINK_SUBJECT)


def _language_of(row: OutboxMessage) -> str:
    """The language the row's attendee registered in."""
    return db.session.get(Attendee, row.attendee_id).language


# ---------------------------------------------------------------- reminders
def reminder_subject(episode: Episode) -> str:
    """'Rappel · jeudi 26 novembre à 11 h 00 : épisode 1 du cycle de webinaires'."""
    return _(
        "Rappel · %(date)s à %(time)s : épisode %(number)s du cycle de webinaires",
        date=short_date_fr(episode.starts_at),
        time=time_fr(episode.starts_at),
        number=episode.number,
    )


def _reminder_context(episode: Episode, now: datetime) -> dict[str, object]:
    return {
        "links": calendar_links(episode),
        "ask_url": site_link("questions.ask", slug=episode.slug)
        if episode.accepts_questions(now)
        else "",
    }


def queue_reminder(
    episode: Episode,
    attendee: Attendee,
    *,
    calendar: PerLanguage[str],
    now: datetime,
    dedupe_key: str,
) -> None:
    """A reminder before the episode: the join link (or when it will come), the time, the
    question form while open, and the updated .ics (join link as LOCATION)."""
    with speaking(attendee.language):
        _queue_to(
            attendee,
            MailKind.REMINDER,
            "email/reminder",
            reminder_subject(episode),
            episode=episode,
            ics=calendar,
            # A reminder is no use once the live has started (SMTP down until then).
            expires_at=episode.starts_at,
            dedupe_key=dedupe_key,
            release_url=release_url(episode),
            **_reminder_context(episode, now),
        )


def preview_reminder(episode: Episode, now: datetime) -> Preview:
    """The reminder as a registrant would read it now."""
    return _preview(
        "email/reminder",
        reminder_subject(episode),
        episode=episode,
        release_url=release_url(episode),
        **_reminder_context(episode, now),
    )


# ---------------------------------------------------------------- the waiting list
def seat_given_subject(episode: Episode) -> str:
    """'Une place pour vous : épisode 3 du cycle de webinaires'."""
    return _(
        "Une place pour vous : épisode %(number)s du cycle de webinaires", number=episode.number
    )


def queue_seat_given(attendee: Attendee, episode: Episode) -> None:
    """A seat freed went to this person, first on the waiting list: they have it now, with
    the join link when it is set and the calendar file."""
    with speaking(attendee.language):
        _queue_to(
            attendee,
            MailKind.SEAT_GIVEN,
            "email/seat_given",
            seat_given_subject(episode),
            episode=episode,
            ics=my_calendar([episode]),
            links=calendar_links(episode),
            release_url=release_url(episode),
        )


def queue_join_link(
    episode: Episode,
    attendee: Attendee,
    *,
    had_link: bool,
    calendar: PerLanguage[str],
    dedupe_key: str,
) -> None:
    """The join link, to someone whose reminder carried another one (or none yet)."""
    with speaking(attendee.language):
        _queue_join_link(episode, attendee, had_link, calendar, dedupe_key)


def _queue_join_link(
    episode: Episode,
    attendee: Attendee,
    had_link: bool,
    calendar: PerLanguage[str],
    dedupe_key: str,
) -> None:
    subject = (
        _("Nouveau lien pour rejoindre l’épisode %(number)s", number=episode.number)
        if had_link
        else _("Le lien pour rejoindre l’épisode %(number)s", number=episode.number)
    )
    _queue_to(
        attendee,
        MailKind.JOIN_LINK,
        "email/join_link",
        subject,
        episode=episode,
        ics=calendar,
        # Still useful while the live runs: a broken link fixed at 11:05 must reach people.
        expires_at=episode.ends_at,
        dedupe_key=dedupe_key,
        had_link=had_link,
        links=calendar_links(episode),
    )


# ---------------------------------------------------------------- notices of a change
def rescheduled_subject(episode: Episode) -> str:
    """The subject of the notice of a new time."""
    return _("Nouvel horaire : épisode %(number)s du cycle de webinaires", number=episode.number)


def queue_episode_rescheduled(episode: Episode, attendees: Sequence[Attendee]) -> int:
    """Tell each registrant the new time, with the updated .ics (same UID, higher SEQUENCE:
    calendars that imported the first file replace the event when they open this one)."""
    calendar = PerLanguage(lambda: my_calendar([episode]))
    links = PerLanguage(lambda: calendar_links(episode))
    for attendee in attendees:
        with speaking(attendee.language):
            _queue_to(
                attendee,
                MailKind.EPISODE_RESCHEDULED,
                "email/episode_rescheduled",
                rescheduled_subject(episode),
                episode=episode,
                ics=calendar,
                links=links(),
            )
    return len(attendees)


def preview_rescheduled(episode: Episode) -> Preview:
    """The notice of a new time, for the facilitator's confirmation."""
    return _preview(
        "email/episode_rescheduled",
        rescheduled_subject(episode),
        episode=episode,
        links=calendar_links(episode),
    )


def cancelled_subject(episode: Episode) -> str:
    """The subject of the notice of a cancellation."""
    return _(
        "Annulé : épisode %(number)s du %(date)s",
        number=episode.number,
        date=short_date_fr(episode.starts_at),
    )


def queue_episode_cancelled(episode: Episode, attendees: Sequence[Attendee]) -> int:
    """Tell each registrant the episode is cancelled, and why; the .ics (METHOD:CANCEL,
    STATUS:CANCELLED, same UID, higher SEQUENCE) takes it out of their calendar."""
    calendar = PerLanguage(lambda: my_calendar([episode], method="CANCEL"))
    for attendee in attendees:
        with speaking(attendee.language):
            _queue_to(
                attendee,
                MailKind.EPISODE_CANCELLED,
                "email/episode_cancelled",
                cancelled_subject(episode),
                episode=episode,
                ics=calendar,
                programme_url=site_link("programme.index", _anchor="programme"),
                page_url=episode_url(episode, external=True),
            )
    return len(attendees)


def preview_cancelled(episode: Episode) -> Preview:
    """The notice of a cancellation, for the facilitator's confirmation."""
    return _preview(
        "email/episode_cancelled",
        cancelled_subject(episode),
        episode=episode,
        programme_url=site_link("programme.index", _anchor="programme"),
        page_url=episode_url(episode, external=True),
    )


def reinstated_subject(episode: Episode) -> str:
    """The subject of the notice that a cancelled episode takes place after all."""
    return _(
        "Maintenu : épisode %(number)s, %(date)s à %(time)s",
        number=episode.number,
        date=short_date_fr(episode.starts_at),
        time=time_fr(episode.starts_at),
    )


def queue_episode_reinstated(episode: Episode, attendees: Sequence[Attendee]) -> int:
    """Tell each registrant a cancelled episode takes place after all, with an .ics that
    puts it back in their calendar (same UID, higher SEQUENCE)."""
    calendar = PerLanguage(lambda: my_calendar([episode]))
    links = PerLanguage(lambda: calendar_links(episode))
    for attendee in attendees:
        with speaking(attendee.language):
            _queue_to(
                attendee,
                MailKind.EPISODE_REINSTATED,
                "email/episode_reinstated",
                reinstated_subject(episode),
                episode=episode,
                ics=calendar,
                links=links(),
            )
    return len(attendees)


def preview_reinstated(episode: Episode) -> Preview:
    """The notice that the episode is maintained, for the facilitator's confirmation."""
    return _preview(
        "email/episode_reinstated",
        reinstated_subject(episode),
        episode=episode,
        links=calendar_links(episode),
    )


# ---------------------------------------------------------------- after the episode
def queue_followup(
    content: FollowupContent, attendee: Attendee, episode: Episode, own: list[Question]
) -> None:
    """The follow-up ("droit de suite") to one registrant, once per episode, leading with
    what became of their own questions. Written by the facilitator in French, it goes out
    in French to everyone (its links lead to the French pages)."""
    _queue_to(
        attendee,
        MailKind.FOLLOWUP,
        "facilitator/email/followup",
        content.subject,
        episode=episode,
        content=content,
        first_name=attendee.first_name,
        own=own,
        # Even if the episode's guard were bypassed, the database refuses a second copy.
        dedupe_key=f"followup:{episode.id}:{attendee.id}",
        language=DEFAULT,
    )
