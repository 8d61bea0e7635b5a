"""French formatting of dates and times, always shown in Europe/Paris."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

PARIS = ZoneInfo("Europe/Paris")


def to_paris(moment: datetime) -> datetime:
    """Convert an aware datetime to Paris time."""
    return moment.astimezone(PARIS)


def date_fr(moment: datetime) -> str:
    """'jeudi 23 avril 2020'."""
    return format_date(to_paris(moment).date(), "EEEE d MMMM y", locale="fr_FR")


def short_date_fr(moment: datetime) -> str:
    """'23 avril'."""
    return format_date(to_paris(moment).date(), "d MMMM", locale="fr_FR")


def time_fr(moment: datetime) -> str:
    """'11 h 00' (French typography, a no-break space each side of the h)."""
    local = to_paris(moment)
    return f"{local.hour}\u00a0h\u00a0{local.minute:02d}"


def datetime_fr(moment: datetime) -> str:
    """'jeudi 23 avril 2020 · 11 h 00'."""
    return f"{date_fr(moment)} · {time_fr(moment)}"


def slot_fr(starts_at: datetime, ends_at: datetime) -> str:
    """'jeudi 23 avril 2020 · 11 h 00 – 12 h 00'."""
    return f"{date_fr(starts_at)} · {time_fr(starts_at)} – {time_fr(ends_at)}"


def timestamp_fr(moment: datetime) -> str:
    """'23/04/2020 11:05' for tables."""
    return format_datetime(to_paris(moment), "dd/MM/y HH:mm", locale="fr_FR")
