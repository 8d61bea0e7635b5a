"""Logs that never write a personal link's token, an address or a password.

Every log line of the app, of the development server (werkzeug) and of gunicorn (see
gunicorn.conf.py) goes through `RedactingFilter`: personal-link tokens in paths become
"/moi/[jeton]", e-mail addresses "[adresse]". Mail bodies are never logged at all, and
SQL errors never carry their values (the engine's `hide_parameters`).
"""

from __future__ import annotations

import logging
import re

#: a personal link or any other secret-looking path segment of ours
_TOKEN_PATH = re.compile(r"(/(?:moi|desabonnement|d)/)[A-Za-z0-9_-]{16,}")
_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def redact(text: str) -> str:
    """The text with tokens and e-mail addresses blanked out."""
    return _ADDRESS.sub("[adresse]", _TOKEN_PATH.sub(r"\1[jeton]", text))


class RedactingFilter(logging.Filter):
    """Rewrite a record's message (and its traceback) without tokens or addresses."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text)
            record.exc_info = None
            record.msg = f"{record.msg}\n{record.exc_text}"
            record.exc_text = None
        return True


REDACTING = RedactingFilter()


def protect(logger: logging.Logger) -> logging.Logger:
    """Attach the redacting filter to a logger (once); return it."""
    if REDACTING not in logger.filters:
        logger.addFilter(REDACTING)
    return logger


def get_logger(name: str) -> logging.Logger:
    """A module's logger, already redacting."""
    return protect(logging.getLogger(name))


def init_app(app) -> None:  # type: ignore[no-untyped-def]
    """Redact the app's own logger and the development server's request log."""
    protect(app.logger)
    protect(logging.getLogger("werkzeug"))
