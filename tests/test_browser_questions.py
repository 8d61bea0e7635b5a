"""Questions in a real Chromium: ask, edit, withdraw, vote, unknown visitor, closed, no-JS."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect

from app.extensions import db
from app.models import Attendee, Episode, Question
from tests.support.browser import SCREENSHOTS, assert_accessible, screenshot
from tests.support.database import NOW
from tests.support.http import attendee_session
from tests.support.questions import add_question, question_rows, vote_count

pytestmark = [pytest.mark.browser]

QUESTION = "Comment faire venir aux ateliers les habitants qui ne viennent jamais ?"


def new_attendee(app: Flask, first: str = "Camille", last: str = "Martin", episodes=(1, 2)) -> int:
    """An attendee registered to some episodes, in the live app's database."""
    from app.models import Registration

    with app.app_context():
        series_id = db.session.scalar(sa.text("SELECT id FROM series"))
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Attendee))
        attendee = Attendee(
            series_id=series_id,
            email=f"navigateur{count}@example.org",
            first_name=first,
            last_name=last,
            organisation="Ville de Nantes",
            organisation_kind="collectivite",
            privacy_acknowledged_at=NOW,
        )
        db.session.add(attendee)
        db.session.flush()
        for episode in db.session.scalars(sa.select(Episode).where(Episode.number.in_(episodes))):
            db.session.add(Registration(attendee_id=attendee.id, episode_id=episode.id))
        db.session.commit()
        return attendee.id


def recognise(
    context: BrowserContext, app: Flask, base_url: str, attendee_id: int, rights: str = "full"
) -> None:
    """Give the browser the session the personal link (full) or a registration (limited) gives."""
    value = attendee_session(app, attendee_id, rights)
    context.add_cookies(
        [{"name": app.config["SESSION_COOKIE_NAME"], "value": value, "url": base_url}]
    )


@pytest.fixture
def author(live_app: Flask, page: Page, base_url: str) -> int:
    """The browser's attendee, with full rights."""
    attendee_id = new_attendee(live_app, "Inès", "Benali")
    recognise(page.context, live_app, base_url, attendee_id)
    return attendee_id


@pytest.fixture
def no_js(browser: Browser, base_url: str) -> Iterator[Page]:
    """A page in a browser context with JavaScript disabled."""
    context = browser.new_context(java_script_enabled=False, base_url=base_url)
    yield context.new_page()
    context.close()


def assert_accessible_without_js(no_js_page: Page, checker: Page, label: str) -> None:
    """axe-core on the DOM a browser without JavaScript shows (axe itself needs JavaScript).

    `page.evaluate` never returns in a context with JavaScript disabled, so the very DOM
    of the no-JS page is served, at a same-site address, to a page that can run axe.
    """
    html = no_js_page.content()
    url = no_js_page.url.split("#")[0].rstrip("/") + "/__axe__"
    checker.route(
        url, lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8")
    )
    checker.goto(url)
    assert_accessible(checker, label)
    checker.unroute(url)


def element_shot(locator, name: str) -> None:  # type: ignore[no-untyped-def]
    """Screenshot of one part of the page (to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    locator.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def fail_on_dialog(page: Page) -> list[str]:
    dialogs: list[str] = []

    def record(dialog) -> None:  # type: ignore[no-untyped-def]
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return dialogs


def test_unknown_visitor_is_offered_the_way_in_place(
    live_app: Flask, page: Page, base_url: str
) -> None:
    page.goto(base_url + "/")
    article = page.locator("#episode-1")
    article.get_by_role("link", name="Poser une question sur l’épisode 1").click()
    zone = page.locator("#poser-1")
    expect(zone.get_by_role("link", name="Je m’inscris au cycle")).to_have_attribute(
        "href", "/inscription?episode=plateformes-civictech"
    )
    expect(
        zone.get_by_role("link", name=re.compile("recevoir mon lien personnel"))
    ).to_have_attribute("href", "/moi/lien")
    assert page.url == base_url + "/"
    assert_accessible(page, "unknown visitor choice")
    element_shot(page.locator("#episode-1"), "questions-unknown-visitor")


def test_ask_edit_withdraw_in_place(
    live_app: Flask, page: Page, base_url: str, author: int
) -> None:
    dialogs = fail_on_dialog(page)
    page.goto(base_url + "/")
    page.locator("#episode-3").get_by_role(
        "link", name="Poser une question sur l’épisode 3"
    ).click()
    box = page.get_by_label("Votre question pour l’épisode 3")
    expect(box).to_be_focused()
    expect(page.get_by_label(re.compile(r"Afficher mon nom \(Inès Benali\)"))).not_to_be_checked()
    assert_accessible(page, "question form")

    # Too short first: the message comes in place, focus on the box, text kept.
    box.fill("Pourquoi?")
    expect(page.locator("#question-3-texte-compteur")).to_have_text("Encore 1 caractère au minimum")
    page.get_by_role("button", name="Envoyer ma question").click()
    expect(page.locator("#question-3-texte-erreur")).to_contain_text("trop courte")
    box = page.get_by_label("Votre question pour l’épisode 3")
    expect(box).to_be_focused()
    expect(box).to_have_value("Pourquoi?")
    expect(box).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, "question form with error")

    # The count follows the typing; screen readers hear it at thresholds only.
    box.fill("")
    box.press_sequentially(QUESTION[:12])
    expect(page.locator("#question-3-texte-compteur")).to_have_text("488 caractères restants")
    # Said once, when the minimum was reached (10 characters typed), not at every key.
    expect(page.locator("#question-3-texte-annonce")).to_have_text("490 caractères restants")
    box.press_sequentially(QUESTION[12:])
    expect(page.locator("#question-3-texte-compteur")).to_have_text(
        f"{500 - len(QUESTION)} caractères restants"
    )
    expect(page.locator("#question-3-texte-annonce")).to_have_text("490 caractères restants")
    page.get_by_label(re.compile("Afficher mon nom")).check()
    element_shot(page.locator("#episode-3"), "questions-form-filled")
    page.get_by_role("button", name="Envoyer ma question").click()

    zone = page.locator("#zone-question-3")
    expect(zone.get_by_text("Question envoyée.")).to_be_visible()
    expect(zone.get_by_text("L’épisode 3 a été ajouté à votre inscription.")).to_be_visible()
    expect(zone.locator(".question-text")).to_have_text(QUESTION)
    expect(zone.get_by_text("Statut : reçue")).to_be_visible()
    assert page.url == base_url + "/"
    assert_accessible(page, "question sent")
    element_shot(page.locator("#episode-3"), "questions-sent")
    [question] = question_rows(live_app)
    assert question.show_name and question.episode_id

    # Edit in place.
    zone.get_by_role("link", name="Modifier").click()
    edit_box = page.get_by_label("Modifier votre question")
    expect(edit_box).to_be_focused()
    expect(edit_box).to_have_value(QUESTION)
    assert_accessible(page, "edit form")
    edit_box.fill(QUESTION + " Et les jeunes ?")
    page.get_by_role("button", name="Enregistrer").click()
    expect(zone.get_by_text("Question modifiée.")).to_be_visible()
    expect(zone.locator(".question-text")).to_have_text(QUESTION + " Et les jeunes ?")
    assert_accessible(page, "question edited")

    # Cancel an edit, then withdraw after the confirmation in place.
    zone.get_by_role("link", name="Modifier").click()
    page.get_by_role("link", name="Annuler").click()
    expect(zone.get_by_role("link", name="Retirer")).to_be_visible()
    zone.get_by_role("link", name="Retirer").click()
    expect(zone.get_by_text("Retirer cette question ?")).to_be_visible()
    assert_accessible(page, "withdraw confirmation")
    element_shot(page.locator("#episode-3"), "questions-withdraw-confirm")
    zone.get_by_role("button", name="Oui, retirer la question").click()
    expect(zone.get_by_text("Question retirée.")).to_be_visible()
    expect(zone.get_by_text("Question retirée.")).to_be_focused()
    assert_accessible(page, "question withdrawn")
    assert question_rows(live_app) == []
    assert dialogs == []

    # Another question, from the same area.
    zone.get_by_role("link", name="Poser une autre question sur l’épisode 3").click()
    expect(page.get_by_label("Votre question pour l’épisode 3")).to_be_focused()
    assert_accessible(page, "asking again")


def test_vote_and_sort_in_place(live_app: Flask, page: Page, base_url: str, author: int) -> None:
    other = new_attendee(live_app, "Paul", "Lefèvre")
    clock = live_app.extensions["clock"]
    clock.freeze(NOW - timedelta(minutes=10))
    older = add_question(
        live_app,
        other,
        number=1,
        text="Question plus ancienne, déjà soutenue.",
        published=True,
        show_name=True,
    )
    clock.freeze(NOW - timedelta(minutes=5))
    newer = add_question(
        live_app, other, number=1, text="Question plus récente, sans soutien.", published=True
    )
    own = add_question(
        live_app, author, number=1, text="Ma propre question publiée.", published=True
    )
    clock.freeze(NOW)
    with live_app.app_context():
        from app.questions.services import set_vote

        set_vote(older, new_attendee(live_app, "Léa", "Roux"), True)

    page.goto(base_url + "/episodes/plateformes-civictech")
    items = page.locator(".published-question .question-text")
    expect(items).to_have_text(
        [
            "Question plus ancienne, déjà soutenue.",
            "Question plus récente, sans soutien.",
            "Ma propre question publiée.",
        ]
    )
    expect(page.locator(f"#question-publiee-{older}")).to_contain_text("Paul Lefèvre")
    expect(page.locator(f"#question-publiee-{newer}")).to_contain_text("Anonyme")
    expect(page.locator(f"#vote-{own}")).to_contain_text("votre question")
    expect(page.locator(f"#vote-{own} button")).to_have_count(0)
    assert_accessible(page, "published questions")

    button = page.locator(f"#vote-{newer}").get_by_role("button", name="Soutenir cette question")
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    button = page.locator(f"#vote-{newer}").get_by_role("button", name="Soutenir cette question")
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(page.locator(f"#vote-{newer}-compte")).to_contain_text("1 vote")
    expect(button).to_be_focused()
    assert_accessible(page, "after a vote")
    screenshot(page, "questions-voted")
    assert vote_count(live_app, newer) == 1

    # A second click withdraws, keyboard only.
    page.keyboard.press("Enter")
    expect(page.locator(f"#vote-{newer}").get_by_role("button")).to_have_attribute(
        "aria-pressed", "false"
    )
    expect(page.locator(f"#vote-{newer}-compte")).to_have_text("0 vote")
    assert vote_count(live_app, newer) == 0

    # Sort by newest, in place; the address follows.
    page.get_by_role("link", name="Les plus récentes").click()
    expect(page.get_by_role("link", name="Les plus récentes")).to_have_attribute(
        "aria-current", "true"
    )
    expect(items).to_have_text(
        [
            "Ma propre question publiée.",
            "Question plus récente, sans soutien.",
            "Question plus ancienne, déjà soutenue.",
        ]
    )
    assert page.url.endswith("?tri=recentes")
    assert_accessible(page, "sorted by newest")


def test_typed_payloads_are_inert(live_app: Flask, page: Page, base_url: str, author: int) -> None:
    """An XSS payload and htmx attributes in a question are shown as text and do nothing."""
    other = new_attendee(live_app, '<img src=x onerror="alert(2)">', "Nom")
    target = add_question(
        live_app, other, number=1, text="Une question innocente, à ne pas retirer.", published=True
    )
    payloads = [
        '<script>alert("xss")</script> est-ce grave ?',
        '<img src="x" onerror="alert(1)"> une image ?',
        f'<button hx-post="/questions/{target}/vote" hx-trigger="load" hx-vals=\'{{"action":"soutenir"}}\'>piège</button>',
        f'<div hx-get="/questions/{target}/retirer" hx-trigger="load">htmx</div>',
    ]
    for text in payloads:
        add_question(live_app, other, number=1, text=text, published=True, show_name=True)
    dialogs = fail_on_dialog(page)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    page.goto(base_url + "/episodes/plateformes-civictech")
    page.wait_for_load_state("networkidle")
    for text in payloads:
        expect(page.get_by_text(text, exact=True)).to_be_visible()
    expect(
        page.locator(".published-body img, .published-body button, .published-body script")
    ).to_have_count(0)

    # The same payload typed by the browser's own attendee, swapped in by htmx.
    page.goto(base_url + "/")
    page.locator("#episode-2").get_by_role("link", name=re.compile("Poser une question")).click()
    page.get_by_label("Votre question pour l’épisode 2").fill(payloads[3])
    page.get_by_role("button", name="Envoyer ma question").click()
    expect(page.locator("#zone-question-2 .question-text")).to_have_text(payloads[3])
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)

    assert dialogs == []
    assert not [url for url in requests if f"/questions/{target}/" in url], requests
    assert vote_count(live_app, target) == 0
    with live_app.app_context():
        assert db.session.get(Question, target) is not None
    screenshot(page, "questions-payloads")


def test_closed_episode(live_app: Flask, page: Page, base_url: str, author: int) -> None:
    with live_app.app_context():
        starts = db.session.scalars(sa.select(Episode).filter_by(number=1)).one().starts_at
    live_app.extensions["clock"].freeze(starts - timedelta(seconds=30))
    page.goto(base_url + "/")
    page.locator("#episode-1").get_by_role("link", name=re.compile("Poser une question")).click()
    page.get_by_label("Votre question pour l’épisode 1").fill(QUESTION)
    # The live begins while the person is still typing.
    live_app.extensions["clock"].freeze(starts)
    page.get_by_role("button", name="Envoyer ma question").click()
    zone = page.locator("#zone-question-1")
    expect(zone.get_by_role("alert")).to_contain_text("Les questions sont closes pour cet épisode")
    expect(zone.get_by_role("alert")).to_contain_text("Votre question n’a pas été envoyée.")
    assert question_rows(live_app) == []
    assert_accessible(page, "closed after typing")
    element_shot(page.locator("#episode-1"), "questions-closed-refused")

    live_app.extensions["clock"].freeze(starts + timedelta(minutes=5))
    page.goto(base_url + "/")
    episode = page.locator("#episode-1")
    expect(episode.get_by_role("link", name=re.compile("Poser une question"))).to_have_count(0)
    expect(
        episode.get_by_text("Questions closes : elles sont reçues jusqu’au début de l’épisode.")
    ).to_be_visible()
    page.goto(base_url + "/episodes/plateformes-civictech/questions/poser")
    expect(page.get_by_text("Les questions sont closes pour cet épisode")).to_be_visible()
    expect(page.get_by_role("textbox")).to_have_count(0)
    assert_accessible(page, "closed question page")


def test_no_javascript_path(live_app: Flask, no_js: Page, page: Page, base_url: str) -> None:
    checker, page = page, no_js
    attendee_id = new_attendee(live_app, "Jules", "Moreau", episodes=(1,))
    recognise(page.context, live_app, base_url, attendee_id)
    other = new_attendee(live_app, "Paul", "Lefèvre")
    published = add_question(
        live_app, other, number=2, text="Une question publiée d’une autre personne.", published=True
    )

    page.goto(base_url + "/")
    page.locator("#episode-2").get_by_role("link", name=re.compile("Poser une question")).click()
    expect(page).to_have_url(base_url + "/episodes/budget-participatif/questions/poser")
    expect(page.get_by_role("heading", level=1)).to_have_text("Poser une question")
    assert_accessible_without_js(page, checker, "no-JS question page")
    page.get_by_label("Votre question pour l’épisode 2").fill("Court")
    page.get_by_role("button", name="Envoyer ma question").click()
    expect(page.locator("#question-2-texte-erreur")).to_contain_text("trop courte")
    assert_accessible_without_js(page, checker, "no-JS error")
    page.get_by_label("Votre question pour l’épisode 2").fill(QUESTION)
    page.get_by_role("button", name="Envoyer ma question").click()
    assert "envoyee=1" in page.url
    expect(page.get_by_text("Question envoyée.")).to_be_visible()
    expect(page.get_by_text("L’épisode 2 a été ajouté à votre inscription.")).to_be_visible()
    assert_accessible_without_js(page, checker, "no-JS sent")
    screenshot(page, "questions-nojs-sent")

    page.get_by_role("link", name="Modifier").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Modifier ma question")
    assert_accessible_without_js(page, checker, "no-JS edit page")
    page.get_by_label("Modifier votre question").fill(QUESTION + " Sans JavaScript.")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Votre question a été modifiée.")).to_be_visible()
    expect(page.locator(".my-question .question-text")).to_have_text(QUESTION + " Sans JavaScript.")

    page.get_by_role("link", name="Retirer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Retirer ma question")
    assert_accessible_without_js(page, checker, "no-JS withdraw page")
    page.get_by_role("button", name="Oui, retirer la question").click()
    expect(page.get_by_text("Votre question a été retirée.")).to_be_visible()
    assert question_rows(live_app)[-1].id == published

    page.goto(base_url + "/episodes/budget-participatif")
    page.get_by_role("button", name="Soutenir cette question").click()
    expect(page).to_have_url(re.compile(r"/episodes/budget-participatif#question-publiee-\d+$"))
    expect(page.get_by_role("button", name="Soutenir cette question")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.locator(f"#vote-{published}-compte")).to_contain_text("1 vote")
    assert_accessible_without_js(page, checker, "no-JS voted")


def test_a_long_list_shows_fifty_then_more_in_place_from_the_keyboard(
    live_app: Flask, page: Page, base_url: str, author: int
) -> None:
    with live_app.app_context():
        episode_id = db.session.scalar(sa.select(Episode.id).filter_by(number=1))
        db.session.execute(
            sa.insert(Question),
            [
                dict(
                    episode_id=episode_id,
                    attendee_id=author,
                    text=f"Question publiée numéro {n:03d}",
                    published=True,
                    vote_count=100 - n,
                )
                for n in range(1, 71)
            ],
        )
        db.session.commit()
    page.goto(base_url + "/episodes/plateformes-civictech")
    items = page.locator(".published-question .question-text")
    expect(items).to_have_count(50)
    expect(page.locator(".more-questions")).to_contain_text("50 questions affichées sur 70.")
    more = page.get_by_role("link", name="Voir les 20 questions suivantes")
    more.focus()
    page.keyboard.press("Enter")
    expect(items).to_have_count(70)
    # Focus goes to the first question added, where reading goes on; the address follows.
    expect(items.nth(50)).to_have_text("Question publiée numéro 051")
    expect(items.nth(50)).to_be_focused()
    expect(page).to_have_url(re.compile(r"\?voir=70$"))
    expect(page.get_by_role("link", name=re.compile("questions suivantes"))).to_have_count(0)
    assert_accessible(page, "seventy published questions")
    screenshot(page, "questions-voir-suivantes")
