"""How every view answers: the page or its fragment, a named cache policy, French refusals,
and one policy for the errors of htmx requests.

- `render(page, fragment, …)`: the fragment for an htmx request aimed at it, else the page
  (which includes the fragment).
- `@cache(Cache.X)` on a view, or `blueprint_cache(bp, Cache.X)` for a whole blueprint,
  names who may keep the answer; an after-request hook writes the header. Nobody sets
  `Cache-Control` by hand. What names nothing is never stored.
- `refuse(code, "message")`: stop with a French message that reaches the person.
- `after_post(back, message, fragment=…)`: htmx gets the fragment in place, a plain POST a
  flashed message and a 303 back (redirect-after-post).
- Errors: a full French page; for htmx, the message in the page's alert region
  (`#alerts`), so what the person typed stays where it is.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
)
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, default_exceptions

from .refusals import Refusal

F = TypeVar("F", bound=Callable[..., Any])


class Cache(enum.Enum):
    """Who may keep an answer, and for how long."""

    #: the same bytes for every anonymous visitor, revalidated by ETag at each use
    SHARED = "public, no-cache"
    #: public files that may be reused for a few minutes (calendars, notices)
    SHARED_BRIEF = "public, max-age=300"
    #: open data that moves during a live (votes, fates): a minute, then revalidated by ETag
    SHARED_MINUTE = "public, max-age=60"
    #: depends on the visitor: their browser only, revalidated by ETag
    PRIVATE = "private, no-cache"
    #: personal data, tokens or forms: never stored anywhere
    NEVER = "no-store"


_BLUEPRINT_POLICIES: dict[str, Cache] = {}


def cache(policy: Cache) -> Callable[[F], F]:
    """Name the cache policy of one view."""

    def decorate(view: F) -> F:
        view.cache_policy = policy  # type: ignore[attr-defined]
        return view

    return decorate


def blueprint_cache(blueprint: Blueprint, policy: Cache) -> None:
    """Name the cache policy of every view of a blueprint that names none itself."""
    _BLUEPRINT_POLICIES[blueprint.name] = policy


def policy_for_request() -> Cache:
    """The policy of the view that answered: its own, its blueprint's, else never stored."""
    view = current_app.view_functions.get(request.endpoint or "")
    policy = getattr(view, "cache_policy", None)
    if policy is None and request.blueprint:
        policy = _BLUEPRINT_POLICIES.get(request.blueprint)
    return policy or Cache.NEVER


def _apply_cache_policy(response: Response) -> Response:
    if request.endpoint == "static":
        return response  # versioned URLs: Flask's own year-long max-age
    policy = Cache.NEVER if response.status_code >= 400 else policy_for_request()
    response.headers["Cache-Control"] = policy.value
    return response


# ---------------------------------------------------------------- page or fragment
def wants_fragment(*targets: str) -> bool:
    """True for an htmx request (not a history restore) aimed at one of `targets`, if given."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request or htmx.boosted:
        return False
    return not targets or htmx.target in targets


def render(
    page: str,
    fragment: str | None = None,
    *,
    targets: tuple[str, ...] = (),
    status: int = 200,
    **context: Any,
) -> Response:
    """Render the fragment for htmx, the full page (which includes it) otherwise."""
    template = fragment if fragment and wants_fragment(*targets) else page
    return make_response(render_template(template, **context), status)


def after_post(
    back: str,
    message: str | None = None,
    *,
    fragment: Callable[[], Response],
    category: str = "success",
) -> Response:
    """htmx: the fragment in place; a plain POST: the message flashed and a 303 back."""
    if wants_fragment():
        return fragment()
    if message:
        flash(str(message), category)  # a lazy message is kept as the words it reads now
    return redirect(back, code=303)


# ---------------------------------------------------------------- refusals and errors
ERROR_TITLES = {
    400: _l("Requête invalide"),
    403: _l("Accès refusé"),
    404: _l("Page introuvable"),
    405: _l("Méthode non autorisée"),
    409: _l("Action impossible"),
    410: _l("Lien expiré"),
    413: _l("Envoi trop volumineux"),
    415: _l("Format non pris en charge"),
    422: _l("Données invalides"),
    429: _l("Trop de tentatives"),
    500: _l("Erreur du serveur"),
    503: _l("Service indisponible"),
}

ERROR_MESSAGES = {
    400: _l("La requête n’a pas pu être comprise. Rechargez la page et réessayez."),
    403: _l("Vous n’avez pas accès à cette page."),
    404: _l("Cette page n’existe pas ou plus. Vérifiez l’adresse, ou repartez du programme."),
    405: _l("Cette adresse ne s’utilise pas de cette façon."),
    410: _l("Ce lien n’est plus valable."),
    413: _l("Ce que vous avez envoyé est trop volumineux."),
    415: _l("Ce format d’envoi n’est pas pris en charge : envoyez le formulaire de la page."),
    429: _l("Trop de tentatives en peu de temps. Patientez une minute puis réessayez."),
    500: _l("Une erreur est survenue de notre côté. Réessayez dans un instant."),
    503: _l("Le service est momentanément indisponible. Réessayez dans un instant."),
}
GENERIC_ERROR = _l("Une erreur est survenue. Réessayez dans un instant.")
UNTITLED_ERROR = _l("Erreur")


def refuse(code: int, message: str) -> NoReturn:
    """Stop the request with this status and a French message of our own on the page."""
    raise _french_error(code, message)


def _french_error(code: int, message: str) -> HTTPException:
    error: HTTPException = default_exceptions[code](description=str(message))
    error.french = True  # type: ignore[attr-defined]
    return error


def error_message(code: int | None, error: HTTPException | None = None) -> str:
    """French text for an error: our own refusal's message, else the standard one."""
    if error is not None and getattr(error, "french", False):
        return str(error.description)
    return str(ERROR_MESSAGES.get(code or 500, GENERIC_ERROR))


def error_title(code: int | None) -> str:
    """The heading of an error page."""
    return str(ERROR_TITLES.get(code or 500, UNTITLED_ERROR))


#: headers of an error that the person's browser needs (when to retry, what is allowed)
_KEPT_ERROR_HEADERS = {"retry-after", "allow"}


def refusal_response(refusal: Refusal) -> Response:
    """A service said no: the same answer as `refuse`, with its message."""
    return error_response(_french_error(refusal.code, refusal.message))


#: addresses that answer JSON, errors included (the open-data API)
JSON_PREFIX = "/api/"


#: the API's own words where the pages' would point to a page
JSON_MESSAGES = {
    404: _l(
        "Rien à cette adresse (un épisode inconnu ?). Les adresses de l’API sont décrites "
        "dans /api/v1/openapi.json."
    ),
    405: _l("L’API se lit seulement : utilisez GET (ou HEAD)."),
    429: _l(
        "Trop de requêtes en peu de temps. Patientez le nombre de secondes indiqué par "
        "l’en-tête Retry-After puis réessayez."
    ),
}


def render_json(data: Any) -> Response:
    """JSON for everyone, with an ETag of its bytes: a conditional request gets a 304."""
    response = jsonify(data)
    response.add_etag()
    return response.make_conditional(request)


def json_error_response(error: HTTPException) -> Response:
    """The API's error: {"status", "error", "message"} in French, never an HTML page."""
    code = error.code or 500
    if getattr(error, "french", False):
        message = str(error.description)
    else:
        message = str(JSON_MESSAGES[code]) if code in JSON_MESSAGES else error_message(code)
    body = {"status": code, "error": error_title(code), "message": message}
    response = make_response(jsonify(body), code)
    for key, value in error.get_headers():
        if key.lower() in _KEPT_ERROR_HEADERS:
            response.headers[key] = value
    return response


def error_response(error: HTTPException) -> Response:
    """A French error page, or for htmx the message in the page's alert region."""
    if request.path.startswith(JSON_PREFIX):
        return json_error_response(error)
    htmx = bool(request.headers.get("HX-Request"))
    template = "errors/_message.html" if htmx else "errors/page.html"
    code = error.code or 500
    response = make_response(render_template(template, error=error, code=code), code)
    for key, value in error.get_headers():
        if key.lower() in _KEPT_ERROR_HEADERS:
            response.headers[key] = value
    if htmx:
        # Into #alerts, announced to screen readers, never in place of the fragment the
        # person was filling in (which would lose what they typed).
        response.headers["HX-Retarget"] = "#alerts"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def init_app(app: Flask) -> None:
    """Error pages, the cache policy hook, and the helpers templates use."""
    app.register_error_handler(HTTPException, error_response)
    app.register_error_handler(Refusal, refusal_response)
    app.after_request(_apply_cache_policy)
    app.jinja_env.globals["error_title"] = error_title
    app.jinja_env.globals["error_message"] = error_message
