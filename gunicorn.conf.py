"""gunicorn's settings for this site, read by `gunicorn wsgi:app` started from this folder.

- Logs (access and errors) go through the app's redacting filter: no personal-link token,
  no e-mail address in them.
- Rate limits counted in a process's memory (FLASK_RATELIMIT_STORAGE_URI=memory://, the
  default) hold for one worker only: with more than one, the server refuses to start and
  says to use Redis. (FLASK_DEBUG=1 lifts the check for trials.)
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import sys

from app.logs import protect

wsgi_app = "wsgi:app"


def _flask_setting(name: str, default: object) -> object:
    """A FLASK_* variable as the app reads it (JSON when it parses, else the raw text)."""
    raw = os.environ.get(f"FLASK_{name}")
    if raw is None:
        return default
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def on_starting(server) -> None:  # type: ignore[no-untyped-def]
    """Refuse several workers counting rate limits each in its own memory."""
    storage = str(_flask_setting("RATELIMIT_STORAGE_URI", "memory://"))
    limits_on = _flask_setting("RATELIMIT_ENABLED", True)
    debug = _flask_setting("DEBUG", False)
    if server.cfg.workers > 1 and storage.startswith("memory://") and limits_on and not debug:
        sys.stderr.write(
            "Refus de démarrer : avec plusieurs workers, les limites de fréquence doivent être "
            "comptées dans un stockage partagé. Indiquez FLASK_RATELIMIT_STORAGE_URI=redis://… "
            "(ou lancez un seul worker).\n"
        )
        raise SystemExit(1)
    _redact_logs(server)


def post_fork(server, worker) -> None:  # type: ignore[no-untyped-def]
    """Each worker redacts its logs too, and gives large buffers back when it frees them."""
    _redact_logs(server)
    _fixed_mmap_threshold()


#: glibc's mallopt parameter, and the threshold it starts with (128 KiB)
_M_MMAP_THRESHOLD, _MMAP_THRESHOLD = -3, 128 * 1024


def _fixed_mmap_threshold() -> None:
    """Keep glibc's threshold for mapping large blocks at 128 KiB. By default it grows to the
    size of the last large block freed: after the first password check (argon2 fills 19 MiB)
    every later one took its 19 MiB from the heap and kept them, a worker grew by 20 MB
    at the first login. (Not glibc, e.g. musl: nothing to do.)"""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)


def _redact_logs(server) -> None:  # type: ignore[no-untyped-def]
    protect(server.log.error_log)
    protect(server.log.access_log)
