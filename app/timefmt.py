"""Dates and times (always shown in Europe/Paris) and numbers, as the language being written
formats them: French by default ('jeudi 23 avril 2020 · 11 h 00'), English conventions on
English pages and mail ('Thursday 23 April 2020 · 11:00'). The `_fr` names are historical:
each follows the current language."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal

from .language import current_language

PARIS = ZoneInfo("Europe/Paris")
#: Babel's locale for each language's dates and numbers
LOCALES = {"fr": "fr_FR", "en": "en_GB"}


def to_paris(moment: datetime) -> datetime:
    """Convert an aware datetime to Paris time."""
    return moment.astimezone(PARIS)


def date_fr(moment: datetime) -> str:
    """'jeudi 23 avril 2020' · 'Thursday 23 April 2020'."""
    return format_date(to_paris(moment).date(), "EEEE d MMMM y", locale=_locale())


def short_date_fr(moment: datetime) -> str:
    """'23 avril' · '23 April'."""
    return format_date(to_paris(moment).date(), "d MMMM", locale=_locale())


def time_fr(moment: datetime) -> str:
    """'11 h 00' (French typography, a no-break space each side of the h) · '11:00'."""
    local = to_paris(moment)
    if current_language() == "en":
        return f"{local.hour:02d}:{local.minute:02d}"
    return f"{local.hour}\u00a0h\u00a0{local.minute:02d}"


def datetime_fr(moment: datetime) -> str:
    """'jeudi 23 avril 2020 · 11 h 00'."""
    return f"{date_fr(moment)} · {time_fr(moment)}"


def slot_fr(starts_at: datetime, ends_at: datetime) -> str:
    """'jeudi 23 avril 2020 · 11 h 00 – 12 h 00' · 'Thursday 23 April 2020 · 11:00–12:00'."""
    dash = "–" if current_language() == "en" else " – "
    return f"{date_fr(starts_at)} · {time_fr(starts_at)}{dash}{time_fr(ends_at)}"


def timestamp_fr(moment: datetime) -> str:
    """'23/04/2020 11:05' for tables (digits only: no locale to consult, once a row)."""
    local = to_paris(moment)
    return f"{local.day:02d}/{local.month:02d}/{local.year} {local.hour:02d}:{local.minute:02d}"


#: the longest replay time we accept: nobody's live lasts a day
MAX_REPLAY_SECONDS = 24 * 3600 - 1


def replay_time(seconds: int) -> str:
    """'12:34' under an hour, '1:02:03' from an hour on (as video players write it)."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def parse_replay_time(text: str) -> int:
    """Seconds from 'mm:ss' or 'h:mm:ss' (ValueError with a French message otherwise)."""
    parts = text.strip().split(":")
    message = "Écrivez le moment sous la forme mm:ss ou h:mm:ss, par exemple 12:34."
    if len(parts) not in (2, 3) or not all(p.isascii() and p.isdigit() for p in parts):
        raise ValueError(message)
    numbers = [int(p) for p in parts]
    if len(parts[-1]) != 2 or numbers[-1] > 59:
        raise ValueError(message)
    if len(parts) == 3 and (len(parts[1]) != 2 or numbers[1] > 59):
        raise ValueError(message)
    seconds = sum(n * 60**k for k, n in enumerate(reversed(numbers)))
    if seconds > MAX_REPLAY_SECONDS:
        raise ValueError("Ce moment dépasse la durée d’un direct (24 heures au plus).")
    return seconds


def number_fr(number: int) -> str:
    """A count as the language writes it: 3 300 (a narrow no-break space) · 3,300."""
    return format_decimal(number, locale=_locale())


def _locale() -> str:
    return LOCALES.get(current_language(), "fr_FR")
