"""The facilitator's space under /animation/: review, live, episodes, audience, follow-up.

Views live in `views/` by area; what they call lives beside this file by capability
(accounts, journal, review, running order, episodes, audience, follow-up).
"""

from typing import Any

from flask import Blueprint, Response
from flask_login import current_user

from ..clock import utcnow
from ..http import Cache, blueprint_cache

bp = Blueprint("facilitator", __name__, url_prefix="/animation")
blueprint_cache(bp, Cache.NEVER)


@bp.after_request
def _out_of_search_engines(response: Response) -> Response:
    """Facilitator pages hold personal data: never indexed, never shared between people."""
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.vary.add("Cookie")
    return response


@bp.context_processor
def _facilitator_globals() -> dict[str, Any]:
    """What every facilitator template may use."""
    return {"now": utcnow(), "current_user": current_user}


from .views import (  # noqa: E402,F401
    audience,
    auth,
    cancellation,
    dashboard,
    episode,
    fates,
    followup,
    live,
    mail,
    review,
)
