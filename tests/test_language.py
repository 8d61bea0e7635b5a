"""English second: `/en/…` is the English of every public page, the choice stays in the
links (no cookie, shared pages still cached), dates follow English conventions, content has
its English (French marked `lang="fr"` where it has none), no French is left in English
pages or templates, and mail goes out in the language the person registered in."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import Environment

from app.extensions import db
from app.models import Attendee, Episode
from tests.support.catalogue import every_mail
from tests.support.fates import EPISODE_1
from tests.support.http import sign_in_as
from tests.support.language import SPOKEN, english_reading, french_left
from tests.support.mail import MailSink
from tests.support.registration import register

TEMPLATES = Path(__file__).resolve().parent.parent / "app" / "templates"
#: words a template may write as they are, in both languages: names of products, and the
#: header name of a macro that writes an attribute (`hx-headers='{"X-CSRFToken": …}'`)
ALLOWED = {"API", "ics", "JSON", "curl", "CSV", "OpenAPI", "Cap", "Collectif", "Outlook"}
ALLOWED |= {"Microsoft", "Google", "com", "hx", "headers", "CSRFToken"}


def _page(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


def _public_pages(app: Flask) -> list[str]:
    with app.app_context():
        slugs = db.session.scalars(sa.select(Episode.slug).order_by(Episode.number)).all()
    return [
        "/",
        *[f"/episodes/{slug}" for slug in slugs],
        *[f"/episodes/{slug}/questions/poser" for slug in slugs[:2]],
        "/inscription",
        "/moi/lien",
        "/confidentialite",
        "/accessibilite",
        "/donnees-ouvertes",
    ]


# ---------------------------------------------------------------- the address chooses
def test_the_english_address_serves_english_and_its_links_stay_english(
    programme: Flask, client: FlaskClient
) -> None:
    html = _page(client, "/en/")
    assert '<html lang="en">' in html
    assert "Times are given in Paris time." in html
    body = html.split("<body", 1)[1]
    internal = re.findall(r'(?:href|action|hx-get|hx-post)="(/[^"/][^"]*|/)"', body)
    french = [link for link in internal if not link.startswith(("/en/", "/static/"))]
    assert french == ["/"], french  # only the switch back to French
    assert re.search(r'<a href="/" hreflang="fr" lang="fr">Français</a>', html)
    # Every language's version, by its absolute address on the site (as search engines
    # require: Lighthouse's SEO audit fails a relative one).
    site = programme.config["SITE_URL"]
    assert site.startswith("https://")
    assert f'<link rel="alternate" hreflang="fr" href="{site}/">' in html
    assert f'<link rel="alternate" hreflang="en" href="{site}/en/">' in html

    french_page = _page(client, "/")
    assert '<html lang="fr">' in french_page
    assert re.search(r'<a href="/en/" hreflang="en" lang="en">English</a>', french_page)


def test_the_switch_leads_to_the_same_page_with_its_query(
    programme: Flask, client: FlaskClient
) -> None:
    html = _page(client, f"/en/episodes/{EPISODE_1}?tri=recentes")
    assert f'href="/episodes/{EPISODE_1}?tri=recentes" hreflang="fr"' in html
    html = _page(client, f"/episodes/{EPISODE_1}?tri=recentes")
    assert f'href="/en/episodes/{EPISODE_1}?tri=recentes" hreflang="en"' in html
    site = programme.config["SITE_URL"]
    for language, prefix in (("fr", ""), ("en", "/en")):
        link = f'<link rel="alternate" hreflang="{language}" href="{site}{prefix}/episodes/{EPISODE_1}">'
        assert link in html


def test_assets_have_one_address_in_both_languages(programme: Flask, client: FlaskClient) -> None:
    pattern = re.compile(r'href="(/static/css/site\.css\?v=\w+)"')
    assert pattern.findall(_page(client, "/en/")) == pattern.findall(_page(client, "/"))


def test_shared_pages_are_cached_per_language(programme: Flask) -> None:
    answers = []
    for path in ("/", "/en/", "/", "/en/"):
        response = programme.test_client().get(path)  # a fresh browser: no session
        answers.append((response.headers.get("X-Cache"), response.get_data(as_text=True)))
    assert [cache for cache, _ in answers] == ["miss", "miss", "hit", "hit"]
    assert '<html lang="fr">' in answers[2][1] and '<html lang="en">' in answers[3][1]
    assert "Set-Cookie" not in programme.test_client().get("/en/").headers


def test_the_facilitators_space_stays_french(programme: Flask, client: FlaskClient) -> None:
    response = client.get("/en/animation/connexion?suivant=/animation/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/animation/connexion?suivant=/animation/"
    html = _page(client, "/animation/connexion")
    assert '<html lang="fr">' in html and "hreflang" not in html


def test_an_unknown_english_page_is_an_english_404(programme: Flask, client: FlaskClient) -> None:
    html = _page(client, "/en/nulle-part", status=404)
    assert '<html lang="en">' in html
    assert french_left(english_reading(html)) == []


# ---------------------------------------------------------------- English conventions
def test_dates_times_and_numbers_follow_english_conventions(
    programme: Flask, client: FlaskClient
) -> None:
    english = english_reading(_page(client, f"/en/episodes/{EPISODE_1}"))
    french = _page(client, f"/episodes/{EPISODE_1}")
    # episode 1 is on Thursday 26 November 2026 at 11:00 in Paris (the demo dates)
    assert "Thursday 26 November 2026" in english and "11:00" in english
    assert "jeudi 26 novembre 2026" in french and "11\u00a0h\u00a000" in french
    assert "h\u00a000" not in english


def test_no_french_spacing_in_english_text(programme: Flask, client: FlaskClient) -> None:
    for path in _public_pages(programme):
        text = english_reading(_page(client, "/en" + path))
        glued = re.findall(r".{0,30}[\u00a0\u202f][?!:;»].{0,10}", text)
        assert glued == [], (path, glued)


# ---------------------------------------------------------------- nothing French is left
def test_no_french_is_left_in_english_pages(
    programme: Flask, client: FlaskClient, make_attendee: Callable[..., tuple[int, str]]
) -> None:
    for path in _public_pages(programme):
        left = french_left(english_reading(_page(client, "/en" + path)))
        assert left == [], (path, left)
    attendee_id, _ = make_attendee(language="en")
    sign_in_as(client, attendee_id)
    for path in ("/moi", "/moi/coordonnees", "/moi/effacer"):
        left = french_left(english_reading(_page(client, "/en" + path)))
        assert left == [], (path, left)


def test_content_without_english_is_marked_french(programme: Flask, client: FlaskClient) -> None:
    with programme.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
        english_title = episode.english["title"]
        episode.english = {}
        db.session.commit()
    html = _page(client, f"/en/episodes/{EPISODE_1}")
    assert english_title not in html
    assert re.search(r'<h1[^>]*>[^<]*<span lang="fr">Les plateformes civitech', html), (
        "the French title is not marked"
    )
    # (the head's <title> mixes both languages: it cannot mark a part of itself)
    assert french_left(english_reading(html.split("<body", 1)[1])) == []


class _Literal(HTMLParser):
    """Text nodes and spoken attributes of a template whose Jinja parts are blanked out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.silent = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.silent += tag in ("script", "style", "code")  # code is not prose
        self.found += [value or "" for name, value in attrs if name in SPOKEN]
        if tag == "input" and ("type", "submit") in attrs:
            self.found.append(dict(attrs).get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        self.silent -= tag in ("script", "style", "code")

    def handle_data(self, data: str) -> None:
        if not self.silent:
            self.found.append(data)


def _literal_text(template: Path, environment: Environment) -> list[str]:
    """Words a template writes itself, outside any gettext call or expression: its text
    nodes and spoken attributes, with every Jinja part blanked out."""
    pieces, in_trans, tag_next = [], False, False
    for _line, kind, value in environment.lex(template.read_text()):
        if tag_next and kind == "name":  # the name of a {% tag %}
            in_trans = {"trans": True, "endtrans": False}.get(value, in_trans)
        if kind != "whitespace":
            tag_next = kind == "block_begin"
        pieces.append(value if kind == "data" and not in_trans else " ")
    reader = _Literal()
    reader.feed("".join(pieces))
    return re.findall(r"[^\W\d_]{2,}", " ".join(reader.found))


def test_no_french_text_is_left_in_the_public_templates(app: Flask) -> None:
    """Every text of every template a visitor or an attendee meets, mail included, goes
    through the catalogue (the facilitator's space is French only)."""
    untranslated = {}
    for template in sorted(TEMPLATES.rglob("*")):
        if template.suffix not in (".html", ".txt") or "facilitator" in template.parts:
            continue
        words = [w for w in _literal_text(template, app.jinja_env) if w not in ALLOWED]
        if words:
            untranslated[str(template.relative_to(TEMPLATES))] = words[:8]
    assert untranslated == {}


def test_every_text_has_its_english(runner: object) -> None:
    result = runner.invoke(args=["translations", "check"])  # type: ignore[attr-defined]
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- mail in one's language
def test_a_registration_in_english_gets_its_mail_in_english(
    programme: Flask, client: FlaskClient, smtp: MailSink
) -> None:
    smtp.clear()
    assert register(client, prefix="/en", email="sam@example.org").status_code in (200, 303)
    french_visitor = programme.test_client()
    assert register(french_visitor, email="claude@example.org").status_code in (200, 303)
    with programme.app_context():
        from app.mailing.worker import deliver_due

        deliver_due()
        languages = dict(db.session.execute(sa.select(Attendee.email, Attendee.language)).all())
    assert languages == {"sam@example.org": "en", "claude@example.org": "fr"}
    by_recipient = {message["To"]: message for message in smtp.wait_for(2)}
    english, french = by_recipient["sam@example.org"], by_recipient["claude@example.org"]
    assert "registration" in english["Subject"].lower()
    assert "inscription" in french["Subject"].lower()
    text = english.get_body(("plain",)).get_content()
    assert "/en/moi/" in text and "Thursday" in text
    assert french_left(re.sub(r"https?://\S+", "", text)) == []
    assert "jeudi" in french.get_body(("plain",)).get_content()
    assert "/en/" in english["List-Unsubscribe"]
    assert "/en/" not in french["List-Unsubscribe"]


def test_every_mail_reaches_an_english_registrant_in_english(
    programme: Flask, smtp: MailSink
) -> None:
    """Reminders, join links, changes, cancellation, personal link: all in English for
    someone who registered from the English pages, links to the English pages included.
    The follow-up is the facilitator's own French (it says so in README)."""
    mails = every_mail(programme, smtp, prefix="/en")
    typed_by_the_facilitator = (
        "L’intervenante est souffrante ; l’épisode sera reprogrammé en janvier."
    )
    calendars = 0
    for kind, message in mails.items():
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        if kind == "followup":
            assert "/en/" not in text
            continue
        assert french_left(message["Subject"]) == [], (kind, message["Subject"])
        prose = re.sub(r"https?://\S+", "", text).replace(typed_by_the_facilitator, "")
        assert french_left(prose) == [], (kind, french_left(prose))
        assert '<html lang="en">' in html, kind
        assert "/en/" in text, kind
        assert "/en/" in message.get("List-Unsubscribe", "/en/"), kind
        assert "_anchor" not in text, kind
        for part in message.iter_attachments():
            if part.get_content_type() == "text/calendar":
                calendar = part.get_content()
                calendar = calendar if isinstance(calendar, str) else calendar.decode()
                unfolded = calendar.replace("\r\n ", "")
                summaries = re.findall(r"^SUMMARY:(.*)$", unfolded, re.M)
                assert summaries and all("Episode" in s for s in summaries), (kind, summaries)
                calendars += 1
    assert calendars >= 5


def test_the_language_of_ones_mail_is_chosen_in_ones_space(
    programme: Flask, client: FlaskClient, make_attendee: Callable[..., tuple[int, str]]
) -> None:
    attendee_id, _ = make_attendee(language="fr")
    sign_in_as(client, attendee_id)
    page = _page(client, "/en/moi")
    assert re.search(r'id="langue-fr" name="language" value="fr" checked', page)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    fields = {"csrf_token": token, "topics": ["mail_reminders"], "language": "en"}
    assert client.post("/en/moi/e-mails", data=fields).status_code == 303
    with programme.app_context():
        attendee = db.session.get(Attendee, attendee_id)
        assert (attendee.language, attendee.mail_reminders, attendee.mail_changes) == (
            "en",
            True,
            False,
        )
    refused = client.post("/en/moi/e-mails", data={**fields, "language": "de"})
    assert refused.status_code == 400
    with programme.app_context():
        assert db.session.get(Attendee, attendee_id).language == "en"


def test_what_the_facilitator_wrote_is_marked_french_on_english_pages(
    programme: Flask, client: FlaskClient, make_attendee: Callable[..., tuple[int, str]]
) -> None:
    reason = "L’intervenante est souffrante ; l’épisode sera reprogrammé."
    with programme.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=2)).one()
        episode.cancelled_at, episode.cancel_reason = programme.extensions["clock"].now(), reason
        slug = episode.slug
        db.session.commit()
    attendee_id, _ = make_attendee(language="en", episodes=(2,))
    sign_in_as(client, attendee_id)
    for path in (f"/en/episodes/{slug}", "/en/", "/en/moi"):
        html = _page(client, path)
        assert re.search(r'<span lang="fr">L’intervenante est souffrante', html), path
        assert french_left(english_reading(html.split("<body", 1)[1])) == [], path
    french = _page(client, f"/episodes/{slug}")
    assert "<span lang" not in french.split("<body", 1)[1].split("</header>", 1)[1]


def test_the_switch_carries_plain_query_values_only(programme: Flask, client: FlaskClient) -> None:
    html = _page(client, f"/episodes/{EPISODE_1}?tri=votes&retour=https://evil.example/")
    assert f'href="/en/episodes/{EPISODE_1}?tri=votes" hreflang="en"' in html
    assert "evil.example" not in html


def test_a_plain_edit_from_the_english_space_comes_back_to_it(
    programme: Flask, client: FlaskClient, make_attendee, make_question
) -> None:  # type: ignore[no-untyped-def]
    attendee_id, _ = make_attendee(language="en")
    make_question(attendee_id=attendee_id)
    sign_in_as(client, attendee_id)
    html = _page(client, "/en/moi")
    assert re.search(r'name="retour" value="/en/moi"|retour=/en/moi', html), "no way back"


def test_wtforms_own_words_follow_the_page_language(app: Flask) -> None:
    """WTForms' few words of its own (a field it names itself) are in the page's language,
    from a catalogue read once per language, not once per request."""
    from app.forms import ConfirmForm
    from app.language import ENVIRON_KEY

    for language, expected in (("fr", "N'est pas un choix valide"), ("en", "Not a valid choice")):
        # the language the address asked for, as the language layer hands it on
        environ = {ENVIRON_KEY: language}
        with app.test_request_context("/", environ_base=environ, method="POST"):
            form = ConfirmForm()
            assert form.csrf_token.gettext("Not a valid choice.").startswith(expected), language


def test_a_template_s_words_follow_each_change_of_language_within_a_request(app: Flask) -> None:
    """Templates keep the words of the language being written (language._translations):
    a mail in English inside a French page, then the page again, each in its own words."""
    from app.language import ENVIRON_KEY, speaking

    page = app.jinja_env.from_string("{{ _('S’inscrire') }}")
    for asked in ("fr", "en"):
        with app.test_request_context("/", environ_base={ENVIRON_KEY: asked}):
            mine = page.render()
            with speaking("en"):
                english = page.render()
            with speaking("fr"):
                french = page.render()
            assert (french, english) == ("S’inscrire", "Register")
            assert page.render() == mine == (english if asked == "en" else french)
