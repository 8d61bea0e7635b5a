"""Messages per purpose, each rendered from its templates and queued in the outbox."""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app, render_template

from ..calendar.builder import (
    build_calendar,
    google_calendar_link,
    ics_bytes,
    outlook_link,
)
from ..links import site_link
from ..models import Attendee, Episode
from .outbox import queue_message


def _unsubscribe_headers(token: str) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: the link alone changes nothing, a POST does."""
    return {
        "List-Unsubscribe": f"<{site_link('attendee.unsubscribe', token=token)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _calendar_entries(episodes: Sequence[Episode]) -> list[dict[str, str]]:
    site = current_app.config["SITE_URL"]
    return [
        {
            "google": google_calendar_link(site, episode),
            "outlook": outlook_link(site, episode, work_account=True),
            "outlook_com": outlook_link(site, episode, work_account=False),
            "ics": site_link("calendar.episode_ics", slug=episode.slug),
            "page": site_link("programme.episode", slug=episode.slug),
        }
        for episode in episodes
    ]


def queue_registration_confirmation(
    attendee: Attendee, token: str, episodes: Sequence[Episode]
) -> None:
    """Confirmation to the registrant: episodes, personal link, calendar (.ics + links)."""
    context = {
        "attendee": attendee,
        "episodes": list(episodes),
        "links": _calendar_entries(episodes),
        "space_url": site_link("attendee.space", token=token),
        "site_url": current_app.config["SITE_URL"],
    }
    calendar = build_calendar(
        current_app.config["SITE_URL"],
        episodes,
        "Mes webinaires participation",
        include_join_url=True,
    )
    queue_message(
        kind="registration_confirmation",
        recipient=attendee.email,
        subject="Votre inscription au cycle de webinaires sur la participation",
        body_text=render_template("email/registration_confirmation.txt", **context),
        body_html=render_template("email/registration_confirmation.html", **context),
        ics=ics_bytes(calendar).decode("utf-8") if episodes else "",
        headers=_unsubscribe_headers(token),
        attendee_id=attendee.id,
    )


def queue_personal_link(attendee: Attendee, token: str) -> None:
    """A new personal link, asked for from the site."""
    context = {
        "attendee": attendee,
        "space_url": site_link("attendee.space", token=token),
        "site_url": current_app.config["SITE_URL"],
    }
    queue_message(
        kind="personal_link",
        recipient=attendee.email,
        subject="Votre lien personnel · cycle de webinaires sur la participation",
        body_text=render_template("email/personal_link.txt", **context),
        body_html=render_template("email/personal_link.html", **context),
        headers=_unsubscribe_headers(token),
        attendee_id=attendee.id,
    )


def queue_episode_rescheduled(episode: Episode, attendees: Sequence[Attendee]) -> int:
    """Tell each registrant the new time, with the updated .ics (same UID, higher SEQUENCE:
    calendars that imported the first file replace the event when they open this one)."""
    site = current_app.config["SITE_URL"]
    calendar = ics_bytes(
        build_calendar(site, [episode], "Mes webinaires participation", include_join_url=True)
    ).decode("utf-8")
    (links,) = _calendar_entries([episode])
    for attendee in attendees:
        context = {"attendee": attendee, "episode": episode, "links": links, "site_url": site}
        queue_message(
            kind="episode_rescheduled",
            recipient=attendee.email,
            subject=f"Nouvel horaire : épisode {episode.number} du cycle de webinaires",
            body_text=render_template("email/episode_rescheduled.txt", **context),
            body_html=render_template("email/episode_rescheduled.html", **context),
            ics=calendar,
            attendee_id=attendee.id,
            episode_id=episode.id,
        )
    return len(attendees)
