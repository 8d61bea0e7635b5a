"""The site's two languages: French (the default, at the root) and English (under `/en/`).

- **Chosen by the address.** A WSGI layer in front of everything moves a leading `/en` into
  SCRIPT_NAME: Flask then routes the same paths, and every `url_for` in an English page
  builds English addresses, so the choice is remembered by the links themselves, with no
  cookie and no session. Shared pages stay cacheable (their key includes the prefix).
- **The facilitator's space stays French** (a French team's tool): its pages ignore the prefix.
- **Mail goes out in the language the person registered in** (`Attendee.language`): every
  message is rendered inside `speaking(attendee.language)`.
- **Content** (titles, teasers) has its English in the content file; where one is missing the
  French is shown, marked `lang="fr"` so screen readers pronounce it right (`localized.py`).
- **Catalogues**: French texts are the message ids, `translations/en/LC_MESSAGES/messages.po`
  their English. The `.mo` is compiled into the instance folder when the site starts if it is
  missing or older than the `.po` (so a fresh clone works with no build step); `flask --app wsgi translations update`
  extracts and updates after a change of texts.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from flask import Flask, current_app, g, has_request_context, redirect, request
from flask_babel import force_locale, get_locale, get_translations, gettext

T = TypeVar("T")

#: the languages, the default first
LANGUAGES = ("fr", "en")
DEFAULT = "fr"
#: the address prefix of each language other than the default
PREFIXES = {"en": "/en"}
#: what each language calls itself (the switch shows the other one's)
NAMES = {"fr": "Français", "en": "English"}
#: where the WSGI layer records the language an address asked for
ENVIRON_KEY = "webinaires.language"
#: blueprints always in French: the facilitator's space, and the API (its data and labels are
#: the programme's French, its document says so)
FRENCH_ONLY = ("facilitator", "api")

CATALOGUES = Path(__file__).resolve().parent / "translations"


def N_(text: str) -> str:  # Babel's name for "extract this text, translate it later"
    """Mark a text for the catalogue where it is translated later (`_(config.SITE_NAME)`)."""
    return text


#: config defaults translated where they are shown: the site's name (config.SITE_NAME), the
#: legal basis of the processing (config.PRIVACY_LEGAL_BASIS)
N_("Cycle de webinaires sur la participation")
N_(
    "votre consentement, donné en vous inscrivant (article 6.1.a du RGPD)\u00a0; vous "
    "le retirez à tout moment en effaçant vos données depuis votre espace."
)


class LanguagePrefix:
    """WSGI layer: `/en/…` is the English of `/…` (the prefix moves into SCRIPT_NAME)."""

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        for language, prefix in PREFIXES.items():
            if path == prefix or path.startswith(prefix + "/"):
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
                environ["PATH_INFO"] = path[len(prefix) :] or "/"
                environ[ENVIRON_KEY] = language
                break
        return self.wsgi_app(environ, start_response)


def asked_language() -> str:
    """The language the address asks for (the default outside a request)."""
    if not has_request_context():
        return DEFAULT
    return request.environ.get(ENVIRON_KEY, DEFAULT)


def _select_locale() -> str:
    if has_request_context() and (request.blueprint or "").startswith(FRENCH_ONLY):
        return DEFAULT
    return asked_language()


def current_language() -> str:
    """The language being written now: the request's, or the one a mail is rendered in."""
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else DEFAULT


def known(language: str | None) -> str:
    """`language` if the site speaks it, else the default (a stored value, a form's)."""
    return language if language in LANGUAGES else DEFAULT


@contextmanager
def speaking(language: str | None) -> Iterator[None]:
    """Render what follows in `language` (mail, calendars), whatever the request's."""
    with force_locale(known(language)):
        yield


class PerLanguage(Generic[T]):
    """A value many messages share (a calendar, calendar links), made once per language
    they are written in: call it inside `speaking(...)`."""

    def __init__(self, make: Callable[[], T]) -> None:
        self.make = make
        self.made: dict[str, T] = {}

    def __call__(self) -> T:
        language = current_language()
        if language not in self.made:
            self.made[language] = self.make()
        return self.made[language]


def prefix(language: str | None = None) -> str:
    """The address prefix of a language ('' for French, '/en' for English)."""
    return PREFIXES.get(known(language or current_language()), "")


#: a query value the switch carries over (a sort, a page, an episode's slug): nothing that
#: could be an address (a `retour=` given by someone else is not echoed into the page)
_PLAIN_VALUE = re.compile(r"[\w.,-]{0,80}")


def switch_links() -> list[dict[str, str]]:
    """This page in each other language: the address (with the plain values of its query),
    the language's own name and code."""
    kept = [
        (name, value)
        for name, value in request.args.items(multi=True)
        if _PLAIN_VALUE.fullmatch(name) and _PLAIN_VALUE.fullmatch(value)
    ]
    here = request.path + ("?" + urlencode(kept) if kept else "")
    now = asked_language()
    return [
        {
            "href": _site_root() + PREFIXES.get(language, "") + here,
            "name": NAMES[language],
            "lang": language,
        }
        for language in LANGUAGES
        if language != now
    ]


def _site_root() -> str:
    """Where the site itself is mounted ('' at a domain's root), whatever the language."""
    root = request.script_root
    language_prefix = PREFIXES.get(asked_language(), "")
    return (
        root[: -len(language_prefix)]
        if language_prefix and root.endswith(language_prefix)
        else root
    )


def alternates() -> list[dict[str, str]]:
    """Every language's address of this page (`<link rel="alternate" hreflang>`), absolute
    on the configured site as search engines require (a path is ignored by them)."""
    return [
        {"href": site_root(language) + request.path, "lang": language} for language in LANGUAGES
    ]


# ---------------------------------------------------------------- catalogues
def compile_catalogues(target: Path, source: Path = CATALOGUES) -> None:
    """Compile each `.po` of `source` into `target` where its `.mo` is missing or older
    (atomically: several workers start together)."""
    for po in source.glob("*/LC_MESSAGES/*.po"):
        mo = target / po.relative_to(source).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        from babel.messages.mofile import write_mo  # only when a catalogue needs compiling
        from babel.messages.pofile import read_po

        with po.open("rb") as handle:
            catalogue = read_po(handle)
        mo.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=mo.parent, suffix=".mo.tmp")
        with os.fdopen(handle, "wb") as output:
            write_mo(output, catalogue)
        os.replace(temporary, mo)


def compiled_catalogues(app: Flask) -> Path:
    """Where the compiled catalogues live: the instance folder (always writable; the
    sources in `app/translations` may be read-only once installed)."""
    return Path(app.instance_path) / "translations"


def without_prefix(path: str) -> str:
    """An address built in an English request, made the same in every language (assets)."""
    if not has_request_context() or not path.startswith(request.script_root):
        return path
    return _site_root() + path[len(request.script_root) :]


def _french_only_in_french() -> Any:
    """An English address of the facilitator's space leads to its French address."""
    if asked_language() == DEFAULT or not (request.blueprint or "").startswith(FRENCH_ONLY):
        return None
    if request.method not in ("GET", "HEAD"):
        return None
    here = request.script_root + (request.full_path if request.query_string else request.path)
    return redirect(without_prefix(here))


def _translations() -> Any:
    """Flask-Babel's get_translations(), kept for the locale being written: for each word
    of a template it looks the context up four times and names the locale again, 11 µs a
    word (a programme page has a hundred). Flask-Babel keeps the locale on `g._flask_babel`
    (force_locale swaps it there); should that change, this asks Flask-Babel each time."""
    try:
        state = g._flask_babel
    except (AttributeError, RuntimeError):  # no word asked for yet, or outside any context
        return get_translations()
    locale = getattr(state, "babel_locale", None)
    if locale is None:  # not chosen yet: Flask-Babel chooses it
        return get_translations()
    kept = getattr(state, "kept_translations", None)
    if kept is None or kept[0] is not locale:
        kept = state.kept_translations = (locale, get_translations())
    return kept[1]


def init_app(app: Flask) -> None:
    """Locale selection, the catalogues, template helpers and the address layer."""
    from .extensions import babel
    from .localized import clip, content, in_french, localized, marked, speaker_role
    from .timefmt import LOCALES  # (timefmt reads the language from here)

    compile_catalogues(compiled_catalogues(app))
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(compiled_catalogues(app))
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=lambda: "Europe/Paris")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.before_request(_french_only_in_french)
    app.jinja_env.globals.update(
        current_language=current_language,
        switch_links=switch_links,
        alternates=alternates,
        localized=localized,
        speaker_role=speaker_role,
        LANGUAGE_NAMES=NAMES,
        in_french=in_french,
        og_locale=lambda: LOCALES[current_language()],
        site_name=lambda: gettext(app.config["SITE_NAME"]),
    )
    app.jinja_env.filters["content"] = content
    app.jinja_env.filters["clip"] = clip
    app.jinja_env.filters["marked"] = marked


def install_address_layer(app: Flask) -> None:
    """The `/en/` layer goes outside every other (the shared-page cache keys on its result)."""
    app.wsgi_app = LanguagePrefix(app.wsgi_app)  # type: ignore[method-assign]


def site_root(language: str | None = None) -> str:
    """The configured site's address in `language`, by default the current one (mail,
    calendars, the alternates)."""
    return current_app.config["SITE_URL"].rstrip("/") + prefix(language)
