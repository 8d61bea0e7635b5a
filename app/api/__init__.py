"""The programme as open data: a read-only JSON API under /api/v1/ and its OpenAPI document.

Every answer is public and the same for everyone: shared caching for a minute (then an ETag),
`Access-Control-Allow-Origin: *`, one rate limit for the whole API, errors in JSON and in
French (app/http.py), and never a session: no view here reads it, so no cookie is set.
"""

from flask import Blueprint, Response, current_app, request

from ..extensions import limiter
from ..http import JSON_PREFIX, Cache, blueprint_cache

bp = Blueprint("api", __name__, url_prefix="/api/v1")
blueprint_cache(bp, Cache.SHARED_MINUTE)

#: what a script on another site may read of our answers besides the simple headers
EXPOSED_HEADERS = "ETag, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
#: a preflight's answer holds this long (seconds)
PREFLIGHT_MAX_AGE = 86400


def api_limit() -> str:
    """The API's rate limit, from the configuration (FLASK_RATELIMIT_API)."""
    return str(current_app.config["RATELIMIT_API"])


# One budget per address for the whole API; a CORS preflight costs nothing.
limiter.shared_limit(api_limit, scope="api", methods=["GET", "HEAD"])(bp)


@bp.after_app_request
def _open_to_every_site(response: Response) -> Response:
    """CORS on every answer under /api/ (errors included); preflights get their answer."""
    if not request.path.startswith(JSON_PREFIX):
        return response
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = "*"
    headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    if request.method == "OPTIONS":
        headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        # A script revalidating by hand sends If-None-Match: the one header it may add.
        headers["Access-Control-Allow-Headers"] = "If-None-Match"
        headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return response


from . import routes  # noqa: E402,F401
