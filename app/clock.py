"""The application's clock: real time, or a time fixed by the tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app, has_app_context


class Clock:
    """Give the current UTC time; tests can freeze it or shift it (no patching needed)."""

    def __init__(self) -> None:
        self.frozen: datetime | None = None
        self.offset = timedelta(0)

    def now(self) -> datetime:
        """Return the current aware UTC datetime, as the app should see it."""
        base = self.frozen if self.frozen is not None else datetime.now(UTC)
        return base + self.offset

    def freeze(self, moment: datetime | None) -> None:
        """Fix the time at `moment` (aware), or release it with None."""
        self.frozen = moment
        self.offset = timedelta(0)


def utcnow() -> datetime:
    """Return now in UTC from the app's clock when there is an app, else the real time."""
    if has_app_context():
        clock = current_app.extensions.get("clock")
        if clock is not None:
            return clock.now()
    return datetime.now(UTC)
