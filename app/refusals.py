"""Refusals of the domain: a service says no with a status and a French message.

Views let them rise (the error handler shows the message on a page, or in the alert
region for htmx) or catch them to answer in place.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l


class Refusal(Exception):
    """A rule says no: `code` is the HTTP status, `message` what the person reads."""

    code = 409
    message = _l("Cette action n’est pas possible.")

    def __init__(self, message: str | None = None) -> None:
        # Class messages are lazy (translated when read): a refusal made while answering
        # holds its message as a plain string, in the visitor's language.
        chosen = self.message if message is None else message
        self.message = chosen if isinstance(chosen, str) else str(chosen)
        super().__init__(self.message)
