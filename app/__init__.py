"""Application factory for the webinar-series site."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Flask, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.middleware.proxy_fix import ProxyFix

from . import guards, http, language, links, logs, pagecache, seats, timefmt, vocabulary
from . import search as _search  # noqa: F401 (hooks the search index to create_all)
from . import tally as _tally  # noqa: F401 (hooks the status tally to create_all)
from .clock import Clock
from .config import Defaults, reminder_offsets
from .converters import BoundedIntConverter
from .database import configure_engine
from .extensions import csrf, db, htmx, limiter, login, mail, migrate
from .mailing import worker as outbox_worker
from .programme.snapshot import watch_shared_content
from .sessions import DatabaseSessionInterface
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
    ("registration.register", _l("S’inscrire")),
    ("attendee.space", _l("Mon espace")),
]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then FLASK_* variables, then the test mapping."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Defaults)
    app.config["SQLALCHEMY_DATABASE_URI"] = _database_url(app)
    app.config.from_prefixed_env()
    if test_config is not None:
        app.config.from_mapping(test_config)
    # A failed statement's message never carries its values (addresses, mail bodies).
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        "hide_parameters": True,
        **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
    }
    _secure_behind_https(app)
    _check_production_settings(app)
    logs.init_app(app)
    _check_reminder_offsets(app)

    proxies = int(app.config.get("PROXY_FIX_X_FOR", 0))
    if proxies:
        # Behind a reverse proxy every request comes from the proxy's address: trust that
        # many X-Forwarded-For hops, or rate limits would count the whole site as one visitor.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.extensions["clock"] = Clock()
    app.config.setdefault("BUILD_ID", _build_id(app))

    db.init_app(app)
    app.session_interface = DatabaseSessionInterface()
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    mail.init_app(app)
    guards.init_app(app)  # before CSRF: a JSON body is a 415, not a missing token
    csrf.init_app(app)
    htmx.init_app(app)
    language.init_app(app)
    # {% trans %} blocks read as one line whatever their wrapping (as babel.cfg extracts them)
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    limiter.init_app(app)
    # Shared public pages must not touch the session (no "Vary: Cookie"): no global
    # current_user in templates, and no remember-me refresh after every response (unused).
    login.init_app(app, add_context_processor=False)
    app.after_request_funcs[None].remove(login._update_remember_cookie)
    with app.app_context():
        configure_engine(db.engine, int(app.config["SQLITE_BUSY_TIMEOUT_MS"]))

    app.url_map.converters["int"] = BoundedIntConverter
    _register_template_helpers(app)
    _register_blueprints(app)
    _register_security_headers(app)
    http.init_app(app)
    outbox_worker.init_app(app)
    watch_shared_content()
    pagecache.init_app(app)
    language.install_address_layer(app)
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


def _secure_behind_https(app: Flask) -> None:
    """An https site gets a Secure, __Host- cookie and HSTS without further settings."""
    if not str(app.config.get("SITE_URL", "")).startswith("https://"):
        return
    app.config["SESSION_COOKIE_SECURE"] = True
    if app.config["SESSION_COOKIE_NAME"] == Defaults.SESSION_COOKIE_NAME:
        # __Host-: Secure, Path=/ and no Domain, so no sibling site can set or read it.
        app.config["SESSION_COOKIE_NAME"] = "__Host-session"


def _check_production_settings(app: Flask) -> None:
    """Refuse to run outside debug/testing with the development secret."""
    if app.debug or app.testing:
        return
    if os.environ.get("FLASK_ALLOW_DEV_SECRET") == "1":
        return
    if app.config["SECRET_KEY"] == Defaults.SECRET_KEY and not _is_local_site(app):
        raise RuntimeError("Set FLASK_SECRET_KEY: the development secret is refused in production.")


def _check_reminder_offsets(app: Flask) -> None:
    """Refuse to start with reminder offsets that are not a list of positive minutes."""
    try:
        app.config["REMINDER_OFFSETS"] = reminder_offsets(app.config["REMINDER_OFFSETS"])
    except ValueError as error:
        raise RuntimeError(
            f"FLASK_REMINDER_OFFSETS: {error}. Give minutes before each episode's start, "
            "e.g. FLASK_REMINDER_OFFSETS='[1440, 60]' (the day before and one hour before)."
        ) from None


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
    app.jinja_env.filters["replay_time"] = timefmt.replay_time
    app.jinja_env.filters["fr"] = french_spacing
    app.jinja_env.filters["number_fr"] = timefmt.number_fr
    app.jinja_env.globals["slot_fr"] = timefmt.slot_fr

    def asset(filename: str) -> str:
        """Static URL carrying the build id, so assets can be cached for a year."""
        # one address in every language: the browser caches it once
        return language.without_prefix(
            url_for("static", filename=filename, v=app.config["BUILD_ID"])
        )

    app.jinja_env.globals["asset"] = asset
    # The icon travels inside the page (a data: URI): one request fewer on every page.
    icon = (Path(app.root_path) / "static" / "favicon.svg").read_text().strip()
    app.jinja_env.globals["favicon_uri"] = "data:image/svg+xml," + quote(icon, safe=" =:/'")
    app.jinja_env.globals["episode_url"] = links.episode_url
    app.jinja_env.globals["site_link"] = links.site_link
    app.jinja_env.globals["replay_link"] = links.replay_link
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions
    app.jinja_env.globals["FEW_PLACES"] = seats.FEW_PLACES
    app.jinja_env.globals["nav_links"] = lambda: [
        (endpoint, label) for endpoint, label in NAV_LINKS if endpoint in app.view_functions
    ]
    # The vocabulary: templates iterate these enums and read their labels.
    for name in (
        "EpisodeState",
        "QuestionStatus",
        "ReviewAction",
        "OrderMove",
        "OrganisationKind",
        "MailTopic",
        "MailKind",
        "DeliveryState",
        "FateAction",
        "DeclineReason",
        "ScreenMove",
        "PublicFate",
        "REVIEW_BUTTONS",
    ):
        app.jinja_env.globals[name] = getattr(vocabulary, name)
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 365 * 24 * 3600
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


def _register_blueprints(app: Flask) -> None:
    """One blueprint per capability."""
    from .api import bp as api_bp
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
    app.register_blueprint(api_bp)


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


def _register_cli(app: Flask) -> None:
    """Command groups: programme, facilitator, outbox, retention."""
    from .attendee.cli import retention_cli
    from .backup import backup_cli
    from .facilitator.cli import facilitator_cli
    from .mailing.cli import outbox_cli
    from .programme.cli import programme_cli
    from .translations_cli import translations_cli

    app.cli.add_command(programme_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(retention_cli)
    app.cli.add_command(facilitator_cli)
    app.cli.add_command(backup_cli)
    app.cli.add_command(translations_cli)
