"""The cycle's dates as its introduction says them, from the episodes as they are."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime

from ..models import Episode
from ..timefmt import PARIS


@dataclass(frozen=True)
class Rhythm:
    """The cycle's dates as its introduction says them ("7 webinaires, chaque semaine, du …
    au … à 11 h 00"), true to the data after any move or cancellation."""

    #: the episodes that take place, in order
    held: list[Episode]
    #: each one week after the previous one
    weekly: bool
    #: the start time most of them share (Paris), if any
    usual_time: datetime | None
    #: the few held at another time (said next to the usual one)
    exceptions: list[Episode]
    cancelled: list[Episode]


#: episodes at another time that the introduction still names one by one
MAX_EXCEPTIONS = 2


def rhythm(episodes: list[Episode]) -> Rhythm:
    """Describe the dates of these episodes: weekly or not, a shared time and its exceptions."""
    held = sorted((e for e in episodes if not e.cancelled), key=lambda e: e.starts_at)
    cancelled = [e for e in episodes if e.cancelled]
    days = [e.starts_at.astimezone(PARIS).date() for e in held]
    weekly = len(held) > 1 and all(
        (later - earlier).days == 7 for earlier, later in itertools.pairwise(days)
    )

    def clock(episode: Episode) -> tuple[int, int]:
        local = episode.starts_at.astimezone(PARIS)
        return local.hour, local.minute

    times = [clock(e) for e in held]
    usual = max(set(times), key=times.count) if times else None
    exceptions = [e for e in held if clock(e) != usual]
    if len(exceptions) > MAX_EXCEPTIONS or len(exceptions) * 2 >= len(held):
        return Rhythm(held, weekly, None, [], cancelled)
    first_usual = next((e.starts_at for e in held if clock(e) == usual), None)
    return Rhythm(held, weekly, first_usual, exceptions, cancelled)
