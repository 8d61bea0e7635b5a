"""Login, logout, and the one guard that protects the whole blueprint."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from ...extensions import limiter, login
from .. import bp
from ..accounts import FacilitatorUser, authenticate, load_user, sign_out_everywhere
from ..forms import LoginForm
from . import me, safe_next

#: endpoints reachable without being logged in
PUBLIC_ENDPOINTS = {"facilitator.login"}
LOGIN_FAILED = "E-mail ou mot de passe incorrect."


@login.user_loader
def _load_user(user_id: str) -> FacilitatorUser | None:
    """Flask-Login's loader: the session's facilitator, if still valid."""
    return load_user(user_id)


@bp.before_request
def require_login() -> Response | None:
    """The single guard: everything under /animation/ needs a logged-in facilitator."""
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    if getattr(request, "htmx", None):
        # A login form swapped into a fragment would be nonsense: send the browser there.
        origin = _split(request.headers.get("HX-Current-URL", ""))
        next_path = safe_next(f"{origin.path}?{origin.query}") if origin else None
        response = Response("", status=401)
        response.headers["HX-Redirect"] = url_for(".login", next=next_path)
        return response
    next_path = safe_next(request.full_path if request.method == "GET" else None)
    return redirect(url_for(".login", next=next_path), code=303)


def _split(url: str):  # type: ignore[no-untyped-def]
    """The parts of a URL, or None for one the parser cannot read ("http://[x")."""
    try:
        return urlsplit(url)
    except ValueError:
        return None


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
    user = authenticate(form.email.data, form.password.data) if form.validate_on_submit() else None
    if user is not None:
        # A fresh session, under a new key: nothing from before the login survives (fixation).
        session.clear()
        session.rotate()  # type: ignore[attr-defined]
        login_user(user)
        g.pop("csrf_token", None)
        generate_csrf()  # saved with the login, not by the next page
        return redirect(next_path or url_for(".dashboard"), code=303)
    failed = form.is_submitted() and not form.errors
    form.password.data = ""
    status = 422 if request.method == "POST" else 200
    page = render_template("facilitator/login.html", form=form, failed=failed, next_path=next_path)
    return page, status


@bp.post("/deconnexion")
def logout() -> Response:
    """End the session on the server (POST only: a link must never log anyone out)."""
    logout_user()
    session.clear()  # the row goes: a copy of the cookie is worth nothing now
    session.rotate()  # type: ignore[attr-defined]
    flash("La session est fermée.", "success")
    return redirect(url_for(".login"), code=303)


@bp.post("/deconnexion-partout")
def logout_everywhere() -> Response:
    """End every session of this facilitator, on every device (a lost laptop)."""
    ended = sign_out_everywhere(me())
    logout_user()
    session.clear()
    session.rotate()  # type: ignore[attr-defined]
    flash(
        f"Vous êtes déconnecté·e de tous vos appareils ({ended} session(s) fermée(s)).", "success"
    )
    return redirect(url_for(".login"), code=303)
