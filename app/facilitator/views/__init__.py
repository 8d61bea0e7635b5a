"""The facilitator's views, one module per area; helpers they share."""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import request
from flask_login import current_user

from ...http import refuse
from ...links import local_path
from .. import bp

P = ParamSpec("P")
R = TypeVar("R")


def me() -> int:
    """Id of the logged-in facilitator (the guard made sure there is one)."""
    return int(current_user.facilitator_id)


def safe_next(target: str | None) -> str | None:
    """A same-site path under /animation/, else None (no open redirect)."""
    path = local_path(target, prefix=bp.url_prefix + "/")
    # request.full_path ends with a bare "?" when there is no query string.
    return path.removesuffix("?") if path else None


def back_to(default: str) -> str:
    """Where a plain POST returns: the page it came from (filters kept), else `default`."""
    return safe_next(request.form.get("back")) or default


def found(service: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Call a service; what it could not find (LookupError) is a 404."""
    try:
        return service(*args, **kwargs)
    except LookupError:
        refuse(404, "Cet élément n’existe pas ou plus.")
