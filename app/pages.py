"""Page-or-fragment decisions and shared response helpers."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, make_response, render_template, request


def wants_fragment(*targets: str) -> bool:
    """True for an htmx request (not a history restore) aimed at one of `targets`, if given."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request or htmx.boosted:
        return False
    return not targets or htmx.target in targets


def render_page_or_fragment(
    page: str, fragment: str, *, targets: tuple[str, ...] = (), status: int = 200, **context: Any
) -> Response:
    """Render the fragment for htmx, the full page (which includes it) otherwise."""
    template = fragment if wants_fragment(*targets) else page
    return make_response(render_template(template, **context), status)


def etag_of(*parts: object) -> str:
    """A short strong ETag from the given parts."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()
    return digest[:32]
