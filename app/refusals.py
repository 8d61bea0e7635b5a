"""Refusals of the domain: a service says no with a status and a French message.

Views let them rise (the error handler shows the message on a page, or in the alert
region for htmx) or catch them to answer in place.
"""

from __future__ import annotations


class Refusal(Exception):
    """A rule says no: `code` is the HTTP status, `message` what the person reads."""

    code = 409
    message = "Cette action n’est pas possible."

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)
