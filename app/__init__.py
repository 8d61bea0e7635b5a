"""Application factory for the webinar-series site."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from . import timefmt
from .clock import Clock
from .config import Defaults
from .converters import BoundedIntConverter
from .database import configure_engine
from .extensions import babel, csrf, db, htmx, limiter, login, mail, migrate
from .typography import french_spacing

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def _database_url(app: Flask) -> str:
    """DATABASE_URL, made psycopg-3 explicit; SQLite in instance/ by default."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return "sqlite:///" + str(Path(app.instance_path) / "webinaires.sqlite3")
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


NAV_LINKS = [
    ("registration.register", "S’inscrire"),
    ("attendee.home", "Mon espace"),
]

ERROR_TITLES = {
    400: "Requête invalide",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Méthode non autorisée",
    409: "Action impossible",
    410: "Lien expiré",
    413: "Envoi trop volumineux",
    422: "Données invalides",
    429: "Trop de tentatives",
    500: "Erreur du serveur",
    503: "Service indisponible",
}

ERROR_MESSAGES = {
    400: "La requête n’a pas pu être comprise. Rechargez la page et réessayez.",
    403: "Vous n’avez pas accès à cette page.",
    404: "Cette page n’existe pas ou plus. Vérifiez l’adresse, ou repartez du programme.",
    405: "Cette adresse ne s’utilise pas de cette façon.",
    410: "Ce lien n’est plus valable.",
    413: "Ce que vous avez envoyé est trop volumineux.",
    429: "Trop de tentatives en peu de temps. Patientez une minute puis réessayez.",
    500: "Une erreur est survenue de notre côté. Réessayez dans un instant.",
    503: "Le service est momentanément indisponible. Réessayez dans un instant.",
}


def _error_message(code: int | None, error: HTTPException | None = None) -> str:
    """French text for an error page; our own aborts may carry a French description."""
    description = getattr(error, "description", None)
    if code not in ERROR_MESSAGES and description:
        return str(description)
    if description and getattr(error, "french", False):
        return str(description)
    return ERROR_MESSAGES.get(code or 500, "Une erreur est survenue. Réessayez dans un instant.")


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then FLASK_* variables, then the test mapping."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Defaults)
    app.config["SQLALCHEMY_DATABASE_URI"] = _database_url(app)
    app.config.from_prefixed_env()
    if test_config is not None:
        app.config.from_mapping(test_config)
    _check_production_settings(app)

    proxies = int(app.config.get("PROXY_FIX_X_FOR", 0))
    if proxies:
        # Behind a reverse proxy every request comes from the proxy's address: trust that
        # many X-Forwarded-For hops, or rate limits would count the whole site as one visitor.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.extensions["clock"] = Clock()
    app.config.setdefault("BUILD_ID", _build_id(app))

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    mail.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    babel.init_app(app, locale_selector=lambda: "fr", timezone_selector=lambda: "Europe/Paris")
    limiter.init_app(app)
    # Shared public pages must not touch the session (no "Vary: Cookie"): no global
    # current_user in templates, and no remember-me refresh after every response (unused).
    login.init_app(app, add_context_processor=False)
    app.after_request_funcs[None].remove(login._update_remember_cookie)
    with app.app_context():
        configure_engine(db.engine)

    app.url_map.converters["int"] = BoundedIntConverter
    _register_template_helpers(app)
    _register_blueprints(app)
    _register_security_headers(app)
    _register_error_pages(app)
    _register_cli(app)
    return app


def _build_id(app: Flask) -> str:
    """Digest of templates and static files: versions asset URLs and page ETags."""
    digest = hashlib.sha256()
    root = Path(app.root_path)
    for folder in ("templates", "static"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _check_production_settings(app: Flask) -> None:
    """Refuse to run outside debug/testing with the development secret."""
    if app.debug or app.testing:
        return
    if os.environ.get("FLASK_ALLOW_DEV_SECRET") == "1":
        return
    if app.config["SECRET_KEY"] == Defaults.SECRET_KEY and not _is_local_site(app):
        raise RuntimeError("Set FLASK_SECRET_KEY: the development secret is refused in production.")


def _is_local_site(app: Flask) -> bool:
    """A site served on the loopback is a local trial, not production."""
    site = str(app.config.get("SITE_URL", ""))
    return site.startswith(("http://127.0.0.1", "http://localhost"))


def _register_template_helpers(app: Flask) -> None:
    """Date filters in French, Paris time."""
    app.jinja_env.filters["date_fr"] = timefmt.date_fr
    app.jinja_env.filters["short_date_fr"] = timefmt.short_date_fr
    app.jinja_env.filters["time_fr"] = timefmt.time_fr
    app.jinja_env.filters["datetime_fr"] = timefmt.datetime_fr
    app.jinja_env.filters["timestamp_fr"] = timefmt.timestamp_fr
    app.jinja_env.filters["fr"] = french_spacing
    app.jinja_env.globals["slot_fr"] = timefmt.slot_fr

    def asset(filename: str) -> str:
        """Static URL carrying the build id, so assets can be cached for a year."""
        return url_for("static", filename=filename, v=app.config["BUILD_ID"])

    app.jinja_env.globals["asset"] = asset
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions
    app.jinja_env.globals["nav_links"] = lambda: [
        (endpoint, label) for endpoint, label in NAV_LINKS if endpoint in app.view_functions
    ]
    app.jinja_env.globals["error_title"] = lambda code: ERROR_TITLES.get(code, "Erreur")
    app.jinja_env.globals["error_message"] = _error_message
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 365 * 24 * 3600
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


def _register_blueprints(app: Flask) -> None:
    """One blueprint per capability."""
    from .attendee import bp as attendee_bp
    from .calendar import bp as calendar_bp
    from .facilitator import bp as facilitator_bp
    from .health import bp as health_bp
    from .programme import bp as programme_bp
    from .questions import bp as questions_bp
    from .registration import bp as registration_bp

    app.register_blueprint(programme_bp)
    app.register_blueprint(questions_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(registration_bp)
    app.register_blueprint(attendee_bp)
    app.register_blueprint(facilitator_bp)


def _register_security_headers(app: Flask) -> None:
    """Strict CSP and friends on every response."""

    @app.after_request
    def _headers(response):  # type: ignore[no-untyped-def]
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        # Pages and their htmx fragments share URLs: caches must keep them apart.
        response.vary.add("HX-Request")
        return response


def _register_error_pages(app: Flask) -> None:
    """French error pages; an htmx request gets a short fragment instead."""

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        template = (
            "errors/_message.html" if request.headers.get("HX-Request") else "errors/page.html"
        )
        response = app.make_response(
            (render_template(template, error=error, code=error.code), error.code or 500)
        )
        if error.code == 429 or error.code == 405:
            for key, value in error.get_headers():
                if key.lower() in {"retry-after", "allow"}:
                    response.headers[key] = value
        if request.headers.get("HX-Request"):
            # Show the message in the page's alert region rather than in place of the
            # fragment the person was filling in (which would lose what they typed).
            response.headers["HX-Retarget"] = "#alerts"
            response.headers["HX-Reswap"] = "innerHTML"
        return response


def _register_cli(app: Flask) -> None:
    """Command groups: programme, facilitator, outbox, retention."""
    from .attendee.cli import retention_cli
    from .facilitator.cli import facilitator_cli
    from .mailing.cli import outbox_cli
    from .programme.cli import programme_cli

    app.cli.add_command(programme_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(retention_cli)
    app.cli.add_command(facilitator_cli)
