"""Login, logout, and the one guard that protects the whole blueprint."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from ..extensions import db, limiter, login
from ..links import local_path
from . import bp
from .forms import LoginForm
from .services import FacilitatorUser, authenticate, load_user

#: endpoints reachable without being logged in
PUBLIC_ENDPOINTS = {"facilitator.login"}
LOGIN_FAILED = "E-mail ou mot de passe incorrect."


@login.user_loader
def _load_user(user_id: str) -> FacilitatorUser | None:
    """Flask-Login's loader: the session's facilitator, if still valid."""
    return load_user(user_id)


def safe_next(target: str | None) -> str | None:
    """A same-site path under /animation/, else None (no open redirect)."""
    path = local_path(target, prefix=bp.url_prefix + "/")
    if path is None:
        return None
    # request.full_path ends with a bare "?" when there is no query string.
    return path.removesuffix("?")


@bp.before_request
def require_login() -> Response | None:
    """The single guard: everything under /animation/ needs a logged-in facilitator."""
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    if getattr(request, "htmx", None):
        # A login form swapped into a fragment would be nonsense: send the browser there.
        origin = request.headers.get("HX-Current-URL", "")
        next_path = safe_next(urlsplit(origin).path + "?" + urlsplit(origin).query)
        response = Response("", status=401)
        response.headers["HX-Redirect"] = url_for(".login", next=next_path)
        return response
    next_path = safe_next(request.full_path if request.method == "GET" else None)
    return redirect(url_for(".login", next=next_path), code=303)


@bp.after_request
def keep_private(response: Response) -> Response:
    """Facilitator pages hold personal data: never stored by a cache or search engine."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.vary.add("Cookie")
    return response


def _login_limit() -> str:
    """Rate of login attempts, from the configuration."""
    return str(current_app.config["RATELIMIT_LOGIN"])


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> Response | str | tuple[str, int]:
    """Log a facilitator in with e-mail and password."""
    next_path = safe_next(request.args.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_path or url_for(".dashboard"), code=303)
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        user = authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            # A fresh session: nothing from before the login survives (fixation).
            session.clear()
            login_user(user)
            db.session.commit()
            return redirect(next_path or url_for(".dashboard"), code=303)
        failed = True
        form.password.data = ""
    status = 422 if request.method == "POST" else 200
    return render_template(
        "facilitator/login.html", form=form, failed=failed, next_path=next_path
    ), status


@bp.post("/deconnexion")
def logout() -> Response:
    """End the session (POST only: a link must never log anyone out)."""
    logout_user()
    session.clear()
    flash("La session est fermée.", "success")
    return redirect(url_for(".login"), code=303)
