"""Default settings; the environment (FLASK_*, DATABASE_URL) and tests override them."""

from datetime import timedelta
from typing import ClassVar


class Defaults:
    """Development defaults: safe to run locally, refused in production for the secret."""

    SECRET_KEY = "dev-secret-not-for-production"  # noqa: S105 (refused in production)
    SITE_URL = "http://127.0.0.1:5000"
    SITE_NAME = "Cycle de webinaires sur la participation"
    ORGANISER_NAME = "Cap Collectif"
    #: the data protection officer's address (privacy notice, accessibility statement)
    PRIVACY_CONTACT = "dpo@example.org"
    #: where people report an accessibility problem (accessibility statement)
    ACCESSIBILITY_CONTACT = "accessibilite@example.org"
    #: the legal basis of the processing, as the privacy notice states it (a public body
    #: would name its public-interest mission instead)
    PRIVACY_LEGAL_BASIS = (
        "votre consentement, donné en vous inscrivant (article 6.1.a du RGPD)\u00a0; vous "
        "le retirez à tout moment en effaçant vos données depuis votre espace."
    )
    RETENTION_DAYS = 365

    # No form here needs more; larger bodies get a French 413.
    MAX_CONTENT_LENGTH = 256 * 1024

    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict] = {}
    #: how long a SQLite writer waits for the lock before the request answers 503
    SQLITE_BUSY_TIMEOUT_MS = 5000

    # Sessions live on the server (app/sessions.py); the cookie is an opaque key. Behind an
    # https FLASK_SITE_URL, the cookie becomes Secure and __Host- by itself.
    SESSION_COOKIE_NAME = "session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    #: an attendee's browser (limited or full rights)
    PERMANENT_SESSION_LIFETIME = timedelta(days=90)
    #: a facilitator's session: from the login, and without any request
    FACILITATOR_SESSION_LIFETIME = timedelta(hours=12)
    FACILITATOR_IDLE_TIMEOUT = timedelta(hours=2)
    #: a browser that only opened a form (its CSRF token)
    ANONYMOUS_SESSION_LIFETIME = timedelta(hours=24)

    # A person takes this long, at least, to fill in the registration form, and the one-field
    # "Recevoir mon lien" form (sent faster: a bot, answered as usual, nothing kept).
    HONEYPOT_MIN_SECONDS = 3
    HONEYPOT_MIN_SECONDS_LINK = 1

    # A facilitator's page stays open through a whole episode and more.
    WTF_CSRF_TIME_LIMIT = 12 * 3600
    WTF_CSRF_SSL_STRICT = True

    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"

    MAIL_SERVER = ""  # empty: e-mails are written under instance/mail instead of sent
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_DEFAULT_SENDER = "Cap Collectif <webinaires@example.org>"
    MAIL_TIMEOUT = 10
    MAIL_DEBUG = False
    OUTBOX_MAX_ATTEMPTS = 8
    #: seconds a worker holds a message it is sending before another may retry it
    OUTBOX_CLAIM_SECONDS = 300
    #: seconds between two runs of the background sender (reminders, then the outbox)
    OUTBOX_WAKE_SECONDS = 60
    # Deliver the outbox right after a request that queued mail (in a background thread).
    OUTBOX_SEND_AFTER_REQUEST = True

    # Reminders before each episode, in minutes before its start (the day before, an hour
    # before); FLASK_REMINDER_OFFSETS='[1440, 60]'. Checked at start-up.
    REMINDER_OFFSETS: ClassVar[list[int]] = [1440, 60]
    # The running site's background sender queues due reminders by itself (false: leave it
    # to `flask outbox send` from cron).
    REMINDERS_IN_BACKGROUND = True

    # Reverse proxies in front of the app (X-Forwarded-For hops to trust); 0: none.
    PROXY_FIX_X_FOR = 0

    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_REGISTRATION = "10 per minute;50 per hour"
    RATELIMIT_LINK_REQUEST = "5 per minute;20 per hour"
    RATELIMIT_QUESTION = "10 per minute;60 per hour"
    RATELIMIT_VOTE = "60 per minute"
    RATELIMIT_LOGIN = "5 per minute;30 per hour"
    #: the open-data API (/api/v1/), per address, every endpoint together
    RATELIMIT_API = "60 per minute;1000 per hour"

    # Seconds a worker trusts its snapshot of the programme's version before re-reading it
    # (changes made in the same worker show at once; other workers within this delay).
    PROGRAMME_SNAPSHOT_SECONDS = 2


#: the longest reminder offset accepted (30 days): a longer one is a typo (seconds?)
MAX_REMINDER_OFFSET = 30 * 24 * 60


def reminder_offsets(value: object) -> list[int]:
    """FLASK_REMINDER_OFFSETS as minutes, latest reminder last; ValueError saying what is wrong."""
    # bool is an int in Python: `[true]` must not pass for one minute.
    if not isinstance(value, list | tuple) or not all(
        isinstance(item, int) and not isinstance(item, bool) for item in value
    ):
        raise ValueError(f"a list of whole minutes is expected, got {value!r}")
    if not all(0 < item <= MAX_REMINDER_OFFSET for item in value):
        raise ValueError(
            f"each offset must be between 1 and {MAX_REMINDER_OFFSET} minutes (30 days), "
            f"got {value!r}"
        )
    return sorted(set(value), reverse=True)
