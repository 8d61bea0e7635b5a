"""The live day in a real Chromium: moving an episode asks before anyone is mailed (keyboard,
no JavaScript, axe after each swap), cancelling, the mail pages, and every e-mail read on a
phone (375 px, screenshots under screenshots/)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from app.extensions import db
from app.models import Episode
from tests.support.browser import assert_accessible, screenshot
from tests.support.catalogue import every_mail
from tests.support.facilitator import PASSWORD, create_account
from tests.support.mail import MailSink

pytestmark = [pytest.mark.browser]

EPISODE = "budget-participatif"  # episode 2, 3 December: no reminder is due on the test day


@pytest.fixture
def fac_app(live_app: Flask, make_attendee) -> Flask:  # type: ignore[no-untyped-def]
    """The live app with a facilitator account and two registrants of episode 2."""
    create_account(live_app)
    make_attendee(email="suit@example.org", episodes=(2,), target_app=live_app)
    make_attendee(email="aussi@example.org", episodes=(2, 3), target_app=live_app)
    return live_app


def log_in(page: Page, base_url: str) -> None:
    page.goto(base_url + "/animation/connexion")
    page.get_by_label("Adresse e-mail").fill("animation@example.org")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord")


def starts_at(app: Flask) -> str:
    with app.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(slug=EPISODE)).one()
        return episode.starts_at.isoformat()


def test_moving_an_episode_asks_first_with_the_keyboard(
    fac_app: Flask, page: Page, base_url: str, smtp: MailSink
) -> None:
    log_in(page, base_url)
    page.goto(base_url + f"/animation/episodes/{EPISODE}/modifier")
    before = starts_at(fac_app)
    page.get_by_label("Heure de début (heure de Paris)").fill("14:30")
    page.keyboard.press("Enter")  # submits the form, as a keyboard user would
    heading = page.get_by_role("heading", name="Prévenir les 2 inscrits ?")
    expect(heading).to_be_visible()
    expect(heading).to_be_focused()
    expect(page.locator(".mail-body")).to_contain_text("14 h 30 – 15 h 30")
    assert_accessible(page, "move: confirmation asked")
    screenshot(page, "facilitator-move-confirm")
    assert starts_at(fac_app) == before  # nothing saved, nobody mailed
    assert smtp.messages == []
    # Tab from the heading to the first button, Enter: saved and mailed.
    page.keyboard.press("Tab")
    confirm = page.get_by_role("button", name="Enregistrer et prévenir les 2 inscrits")
    expect(confirm).to_be_focused()
    page.keyboard.press("Enter")
    saved = page.locator("#episode-form [data-status]")
    expect(saved).to_contain_text("2 inscrits reçoivent un e-mail avec le nouvel horaire")
    expect(saved).to_be_focused()  # read out as it gets the focus
    expect(page.locator("#episode-heading time")).to_contain_text("14 h 30 – 15 h 30")
    assert_accessible(page, "move: saved")
    assert sorted(m["To"] for m in smtp.wait_for(2)) == ["aussi@example.org", "suit@example.org"]


def test_moving_an_episode_without_javascript(
    fac_app: Flask, browser: Browser, base_url: str, smtp: MailSink
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, base_url)
        page.goto(base_url + f"/animation/episodes/{EPISODE}/modifier")
        page.get_by_label("Date").fill("2026-12-04")
        page.get_by_role("button", name="Enregistrer", exact=True).click()
        expect(page.get_by_role("heading", name="Prévenir les 2 inscrits ?")).to_be_visible()
        page.get_by_role("button", name="Enregistrer sans prévenir").click()
        expect(
            page.get_by_text("Aucun e-mail n’a été envoyé aux inscrits, comme demandé.")
        ).to_be_visible()
        assert starts_at(fac_app).startswith("2026-12-04")
    finally:
        context.close()
    assert smtp.messages == []


def test_cancelling_and_the_pages_that_show_it(
    fac_app: Flask, page: Page, base_url: str, smtp: MailSink
) -> None:
    log_in(page, base_url)
    page.goto(base_url + f"/animation/episodes/{EPISODE}/modifier")
    page.get_by_role("link", name="Annulation").click()
    assert_accessible(page, "cancellation")
    page.get_by_role("button", name="Voir le message aux inscrits").click()
    expect(page.get_by_label("Raison de l’annulation")).to_be_focused()  # the error, in French
    expect(page.locator("#reason-erreur")).to_contain_text("Indiquez la raison")
    assert_accessible(page, "cancellation: reason missing")
    page.get_by_label("Raison de l’annulation").fill("L’intervenant est malade.")
    page.get_by_role("button", name="Voir le message aux inscrits").click()
    expect(page.get_by_role("heading", name="Prévenir les 2 inscrits ?")).to_be_visible()
    expect(page.locator(".mail-body")).to_contain_text("Pourquoi : L’intervenant est malade.")
    assert_accessible(page, "cancellation: confirmation asked")
    screenshot(page, "facilitator-cancel-confirm")
    page.get_by_role("button", name="Annuler l’épisode et prévenir les 2 inscrits").click()
    done = page.get_by_text("Épisode annulé. 2 inscrits reçoivent un e-mail.")
    expect(done).to_be_visible()
    expect(page.locator("#annulation .notice-success")).to_be_focused()
    expect(page.locator("#episode-heading .state")).to_have_text("Annulé")
    assert_accessible(page, "cancellation: done")
    smtp.wait_for(2)
    page.goto(base_url + f"/episodes/{EPISODE}")
    expect(page.locator(".state-cancelled").first).to_have_text("Annulé")
    assert_accessible(page, "public page of a cancelled episode")
    page.goto(base_url + "/")
    expect(page.locator("#episode-2 .state-cancelled")).to_have_text("Annulé")
    assert_accessible(page, "programme with a cancelled episode")
    screenshot(page, "programme-cancelled-episode")
    page.goto(base_url + f"/animation/episodes/{EPISODE}/e-mails")
    expect(page.get_by_role("heading", name="Ce que le courrier a fait")).to_be_visible()
    assert_accessible(page, "mail of the episode")
    screenshot(page, "facilitator-episode-mail")


def test_mail_preferences_in_place(
    live_app: Flask, page: Page, base_url: str, make_attendee
) -> None:
    _, token = make_attendee(episodes=(2,), target_app=live_app)
    page.goto(f"{base_url}/moi/{token}")
    section = page.locator("#mes-e-mails")
    expect(section.get_by_label(re.compile("Les rappels avant chaque épisode"))).to_be_checked()
    assert_accessible(page, "personal space with mail preferences")
    section.get_by_label(re.compile("Les rappels avant chaque épisode")).uncheck()
    section.get_by_role("button", name="Enregistrer mes choix").click()
    expect(section.locator("[data-status]")).to_have_text("Vos choix d’e-mails sont enregistrés.")
    # Arrived with the swap, it is read out from the page's own live region.
    expect(page.locator("#status-announcer")).to_have_text("Vos choix d’e-mails sont enregistrés.")
    expect(section.get_by_role("button", name="Enregistrer mes choix")).to_be_focused()
    expect(section.get_by_label(re.compile("Les rappels avant chaque épisode"))).not_to_be_checked()
    assert_accessible(page, "mail preferences saved")


def test_every_mail_reads_on_a_phone(live_app: Flask, page: Page, smtp: MailSink) -> None:
    mails = every_mail(live_app, smtp)
    page.set_viewport_size({"width": 375, "height": 740})
    for kind, message in mails.items():
        page.set_content(message.get_body(("html",)).get_content())
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, (kind, width)
        smallest = page.evaluate(
            "Math.min(...[...document.querySelectorAll('p, li, a, h1')]"
            ".map(e => parseFloat(getComputedStyle(e).fontSize)))"
        )
        assert smallest >= 14, (kind, smallest)
        screenshot(page, f"mail-{kind}")
