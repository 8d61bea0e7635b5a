"""Calendar files and add-to-calendar links, built by pure functions from episodes, and the
one way to serve an .ics (download, subscription, the attendee's own agenda)."""

from __future__ import annotations

import functools
import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from contextlib import suppress
from datetime import date, datetime, timedelta
from email.utils import parseaddr
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import icalendar
from flask import Response, current_app, request
from flask_babel import gettext as _

from ..language import current_language
from ..links import episode_url, site_host, site_link
from ..localized import localized
from ..models import Episode
from ..timefmt import PARIS

PRODID = "-//Cap Collectif//Cycle de webinaires sur la participation//FR"


def episode_uid(episode: Episode) -> str:
    """Stable UID: the same episode keeps it across loads, moves and re-imports."""
    return f"episode-{episode.series.slug}-{episode.number}@{site_host()}"


def event_summary(episode: Episode) -> str:
    """Title shown in calendars (a cancelled episode says so first)."""
    if episode.cancelled:
        return _(
            "Annulé · Webinaire participation · Épisode %(number)s : %(title)s",
            number=episode.number,
            title=localized(episode, "title"),
        )
    return _(
        "Webinaire participation · Épisode %(number)s : %(title)s",
        number=episode.number,
        title=localized(episode, "title"),
    )


def event_description(episode: Episode, join_url: str = "") -> str:
    """Plain-text description: teaser, cases, speakers, where to find the episode."""
    lines = [localized(episode, "teaser")]
    lines += [f"• {case}" for case in localized(episode, "cases")]
    names = ", ".join(speaker["name"] for speaker in episode.speakers)
    if names:
        lines += ["", _("Avec %(names)s.", names=names)]
    lines += ["", _("Programme et questions : %(url)s", url=episode_url(episode, external=True))]
    if join_url:
        lines += [_("Rejoindre le webinaire : %(url)s", url=join_url)]
    if episode.cancelled:
        lines = [_("Épisode annulé : %(reason)s", reason=episode.cancel_reason), "", *lines]
    return "\n".join(lines)


def build_event(episode: Episode, *, include_join_url: bool = False) -> icalendar.Event:
    """One VEVENT, in Europe/Paris time, with its stable UID and SEQUENCE."""
    event = icalendar.Event()
    event.add("uid", episode_uid(episode))
    # DTSTAMP follows the episode's last change so the file is byte-stable (ETags).
    event.add("dtstamp", episode.updated_at)
    event.add("last-modified", episode.updated_at)
    event.add("sequence", episode.sequence)
    event.add("dtstart", episode.starts_at.astimezone(PARIS))
    event.add("dtend", episode.ends_at.astimezone(PARIS))
    event.add("summary", event_summary(episode))
    join_url = episode.join_url if include_join_url else ""
    event.add("description", event_description(episode, join_url))
    event.add("url", episode_url(episode, external=True))
    event.add("location", join_url or _("En ligne (le lien est envoyé aux inscrits)"))
    event.add("status", "CANCELLED" if episode.cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if episode.cancelled else "OPAQUE")
    return event


def organizer() -> icalendar.vCalAddress:
    """The organiser as iTIP messages name it (the address mail comes from)."""
    name, address = parseaddr(str(current_app.config["MAIL_DEFAULT_SENDER"]))
    organizer = icalendar.vCalAddress(f"mailto:{address}")
    organizer.params["cn"] = icalendar.vText(name or current_app.config["ORGANISER_NAME"])
    return organizer


def build_calendar(
    episodes: Iterable[Episode],
    name: str,
    *,
    include_join_url: bool = False,
    method: str = "PUBLISH",
) -> icalendar.Calendar:
    """A VCALENDAR of the given episodes, with the Europe/Paris VTIMEZONE.

    METHOD:CANCEL (a cancelled episode mailed to its registrants) removes the event from
    calendars that imported it: same UID, higher SEQUENCE, an ORGANIZER as iTIP requires.
    """
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
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
        event = build_event(episode, include_join_url=include_join_url)
        if method != "PUBLISH":
            event.add("organizer", organizer())
        calendar.add_component(event)
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


def ics_response(calendar: icalendar.Calendar, filename: str) -> Response:
    """Serve a calendar as an .ics download with a content ETag (304 when unchanged)."""
    body = ics_bytes(calendar)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    return response.make_conditional(request)


def link_details(episode: Episode) -> str:
    """Short description for add-to-calendar links (kept short: the page carries many)."""
    return _(
        "Programme, lien de connexion et questions : %(url)s",
        url=episode_url(episode, external=True),
    )


def _utc_stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def google_calendar_link(episode: Episode) -> str:
    """'Ajouter à Google Agenda' link."""
    query = urlencode(
        {
            "action": "TEMPLATE",
            "text": event_summary(episode),
            "dates": f"{_utc_stamp(episode.starts_at)}/{_utc_stamp(episode.ends_at)}",
            "details": link_details(episode),
            "location": episode_url(episode, external=True),
            "ctz": "Europe/Paris",
        }
    )
    return f"https://calendar.google.com/calendar/render?{query}"


def outlook_link(episode: Episode, *, work_account: bool = True) -> str:
    """'Ajouter à Outlook' link: Outlook on the web for Microsoft 365, or Outlook.com."""
    host = "outlook.office.com" if work_account else "outlook.live.com"
    query = urlencode(
        {
            "path": "/calendar/action/compose",
            "rru": "addevent",
            "subject": event_summary(episode),
            "startdt": episode.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "enddt": episode.ends_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "body": link_details(episode),
            "location": episode_url(episode, external=True),
        }
    )
    return f"https://{host}/calendar/0/deeplink/compose?{query}"


def calendar_links(episode: Episode) -> dict[str, str]:
    """Every way to add one episode to a calendar, and its page (pages and e-mails): kept
    by each worker (a confirmation lists them for each episode followed, a fifth of its
    time when they were made each time)."""

    def make() -> dict[str, str]:
        return {
            "google": google_calendar_link(episode),
            "outlook": outlook_link(episode, work_account=True),
            "outlook_com": outlook_link(episode, work_account=False),
            "ics": site_link("calendar.episode_ics", slug=episode.slug),
            "page": episode_url(episode, external=True),
        }

    return dict(kept("links", [episode], make))


#: calendars and links each worker keeps (a few KB each)
MAX_KEPT = 128
_MISSING = object()
T = TypeVar("T")


def kept(kind: str, episodes: Sequence[Episode], make: Callable[[], T], *more: Hashable) -> T:
    """`make()`, made once per worker for these episodes as they are now, in the language
    being written, and kept until one of them changes (or is among the least used)."""
    cache: OrderedDict[tuple, Any] = current_app.extensions.setdefault(
        "calendar_cache", OrderedDict()
    )
    key = (kind, current_language(), *more, *(_episode_key(episode) for episode in episodes))
    # The request's thread and the background sender share the cache: each step is one
    # operation on the dict, and one that finds the key gone meanwhile goes on.
    value = cache.get(key, _MISSING)
    if value is not _MISSING:
        with suppress(KeyError):
            cache.move_to_end(key)
        return value
    value = cache[key] = make()
    while len(cache) > MAX_KEPT:
        try:
            cache.popitem(last=False)
        except KeyError:
            break
    return value


def _episode_key(episode: Episode) -> tuple:
    """What an episode's event and links are made of (its texts as one string: lists and
    dicts are no keys; its updated_at alone would not do, two edits in one tick)."""
    return (
        episode.id,
        episode.updated_at,
        episode.sequence,
        episode.slug,
        episode.number,
        episode.starts_at,
        episode.duration_minutes,
        episode.join_url,
        episode.cancelled_at,
        episode.cancel_reason,
        repr((episode.title, episode.teaser, episode.cases, episode.speakers, episode.english)),
    )


def webcal_link(path: str) -> str:
    """webcal:// address of a subscribable calendar on the configured site."""
    parts = urlsplit(current_app.config["SITE_URL"])
    return f"webcal://{parts.netloc}{parts.path.rstrip('/')}{path}"
