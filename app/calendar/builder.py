"""Calendar files and add-to-calendar links, built by pure functions from episodes."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from urllib.parse import urlencode, urlsplit

import icalendar

from ..models import Episode
from ..timefmt import PARIS

PRODID = "-//Cap Collectif//Cycle de webinaires sur la participation//FR"


def episode_url(site_url: str, episode: Episode) -> str:
    """Absolute public address of an episode page."""
    return f"{site_url.rstrip('/')}/episodes/{episode.slug}"


def episode_uid(site_url: str, episode: Episode) -> str:
    """Stable UID: the same episode keeps it across loads, moves and re-imports."""
    host = urlsplit(site_url).hostname or "localhost"
    return f"episode-{episode.series.slug}-{episode.number}@{host}"


def event_summary(episode: Episode) -> str:
    """Title shown in calendars."""
    return f"Webinaire participation · Épisode {episode.number} : {episode.title}"


def event_description(site_url: str, episode: Episode, join_url: str = "") -> str:
    """Plain-text description: teaser, cases, speakers, where to find the episode."""
    lines = [episode.teaser]
    lines += [f"• {case}" for case in episode.cases]
    names = ", ".join(speaker["name"] for speaker in episode.speakers)
    if names:
        lines += ["", f"Avec {names}."]
    lines += ["", f"Programme et questions : {episode_url(site_url, episode)}"]
    if join_url:
        lines += [f"Rejoindre le webinaire : {join_url}"]
    return "\n".join(lines)


def build_event(
    site_url: str, episode: Episode, *, include_join_url: bool = False
) -> icalendar.Event:
    """One VEVENT, in Europe/Paris time, with its stable UID and SEQUENCE."""
    event = icalendar.Event()
    event.add("uid", episode_uid(site_url, episode))
    # DTSTAMP follows the episode's last change so the file is byte-stable (ETags).
    event.add("dtstamp", episode.updated_at)
    event.add("last-modified", episode.updated_at)
    event.add("sequence", episode.sequence)
    event.add("dtstart", episode.starts_at.astimezone(PARIS))
    event.add("dtend", episode.ends_at.astimezone(PARIS))
    event.add("summary", event_summary(episode))
    join_url = episode.join_url if include_join_url else ""
    event.add("description", event_description(site_url, episode, join_url))
    event.add("url", episode_url(site_url, episode))
    event.add("location", join_url or "En ligne (le lien est envoyé aux inscrits)")
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event


def build_calendar(
    site_url: str, episodes: Iterable[Episode], name: str, *, include_join_url: bool = False
) -> icalendar.Calendar:
    """A VCALENDAR of the given episodes, with the Europe/Paris VTIMEZONE."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Europe/Paris")
    calendar.add("refresh-interval", timedelta(hours=12), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT12H")
    episodes = list(episodes)
    if episodes:
        # Only the years the events need: the full 1970-2038 table triples the file.
        first = min(e.starts_at for e in episodes).year
        last = max(e.ends_at for e in episodes).year
        calendar.add_component(paris_timezone(first - 1, last + 2))
    for episode in episodes:
        calendar.add_component(build_event(site_url, episode, include_join_url=include_join_url))
    return calendar


@functools.lru_cache(maxsize=8)
def paris_timezone(first_year: int, last_year: int) -> icalendar.Timezone:
    """The Europe/Paris VTIMEZONE for these years (costly to derive, so kept)."""
    return icalendar.Timezone.from_tzinfo(
        PARIS, first_date=date(first_year, 1, 1), last_date=date(last_year, 1, 1)
    )


def ics_bytes(calendar: icalendar.Calendar) -> bytes:
    """Serialise a calendar (CRLF line endings, folded lines)."""
    return calendar.to_ical()


def link_details(site_url: str, episode: Episode) -> str:
    """Short description for add-to-calendar links (kept short: the page carries many)."""
    return f"Programme, lien de connexion et questions : {episode_url(site_url, episode)}"


def _utc_stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def google_calendar_link(site_url: str, episode: Episode) -> str:
    """'Ajouter à Google Agenda' link."""
    query = urlencode(
        {
            "action": "TEMPLATE",
            "text": event_summary(episode),
            "dates": f"{_utc_stamp(episode.starts_at)}/{_utc_stamp(episode.ends_at)}",
            "details": link_details(site_url, episode),
            "location": episode_url(site_url, episode),
            "ctz": "Europe/Paris",
        }
    )
    return f"https://calendar.google.com/calendar/render?{query}"


def outlook_link(site_url: str, episode: Episode, *, work_account: bool = True) -> str:
    """'Ajouter à Outlook' link: Outlook on the web for Microsoft 365, or Outlook.com."""
    host = "outlook.office.com" if work_account else "outlook.live.com"
    query = urlencode(
        {
            "path": "/calendar/action/compose",
            "rru": "addevent",
            "subject": event_summary(episode),
            "startdt": episode.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "enddt": episode.ends_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "body": link_details(site_url, episode),
            "location": episode_url(site_url, episode),
        }
    )
    return f"https://{host}/calendar/0/deeplink/compose?{query}"


def webcal_link(site_url: str, path: str) -> str:
    """webcal:// address of a subscribable calendar."""
    parts = urlsplit(site_url)
    return f"webcal://{parts.netloc}{parts.path.rstrip('/')}{path}"
