"""Messages per purpose (named by what they tell), each rendered from its templates and queued
in the outbox within the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app, render_template

from ..calendar.builder import build_calendar, calendar_links, ics_bytes
from ..links import site_link
from ..models import Attendee, Episode
from .queue import queue_message

#: the name of the attendee's own calendar, in files sent by mail
MY_CALENDAR = "Mes webinaires participation"


def _unsubscribe_headers(token: str) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: the link alone changes nothing, a POST does."""
    return {
        "List-Unsubscribe": f"<{site_link('attendee.unsubscribe', token=token)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _my_calendar(episodes: Sequence[Episode]) -> str:
    """The attendee's .ics for these episodes, join links included."""
    if not episodes:
        return ""
    return ics_bytes(build_calendar(episodes, MY_CALENDAR, include_join_url=True)).decode("utf-8")


def _render_both(template: str, **context: object) -> tuple[str, str]:
    """The plain-text and HTML bodies of a message."""
    context.setdefault("site_url", current_app.config["SITE_URL"])
    return (
        render_template(f"email/{template}.txt", **context),
        render_template(f"email/{template}.html", **context),
    )


def queue_registration_confirmation(
    attendee: Attendee, token: str, episodes: Sequence[Episode]
) -> None:
    """Confirmation to the registrant: episodes, personal link, calendar (.ics + links)."""
    text, html = _render_both(
        "registration_confirmation",
        attendee=attendee,
        episodes=list(episodes),
        links=[calendar_links(episode) for episode in episodes],
        space_url=site_link("attendee.open_link", token=token),
    )
    queue_message(
        kind="registration_confirmation",
        recipient=attendee.email,
        subject="Votre inscription au cycle de webinaires sur la participation",
        body_text=text,
        body_html=html,
        ics=_my_calendar(episodes),
        headers=_unsubscribe_headers(token),
        attendee_id=attendee.id,
    )


def queue_personal_link(attendee: Attendee, token: str) -> None:
    """A new personal link, asked for from the site."""
    text, html = _render_both(
        "personal_link", attendee=attendee, space_url=site_link("attendee.open_link", token=token)
    )
    queue_message(
        kind="personal_link",
        recipient=attendee.email,
        subject="Votre lien personnel · cycle de webinaires sur la participation",
        body_text=text,
        body_html=html,
        headers=_unsubscribe_headers(token),
        attendee_id=attendee.id,
    )


def queue_episode_rescheduled(episode: Episode, attendees: Sequence[Attendee]) -> int:
    """Tell each registrant the new time, with the updated .ics (same UID, higher SEQUENCE:
    calendars that imported the first file replace the event when they open this one)."""
    calendar = _my_calendar([episode])
    links = calendar_links(episode)
    for attendee in attendees:
        text, html = _render_both(
            "episode_rescheduled", attendee=attendee, episode=episode, links=links
        )
        queue_message(
            kind="episode_rescheduled",
            recipient=attendee.email,
            subject=f"Nouvel horaire : épisode {episode.number} du cycle de webinaires",
            body_text=text,
            body_html=html,
            ics=calendar,
            attendee_id=attendee.id,
            episode_id=episode.id,
        )
    return len(attendees)
