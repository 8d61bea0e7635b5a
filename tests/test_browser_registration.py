"""Registration and the personal space in a real Chromium: htmx, keyboard, no JavaScript."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import assert_accessible, htmx_settled, screenshot
from tests.support.mail import MailSink

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("live_app")]


def fill_registration(page: Page, email: str = "camille.martin@example.org") -> None:
    """Fill every field correctly."""
    page.get_by_label("Prénom").fill("Camille")
    page.get_by_label("Nom", exact=True).fill("Martin")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Organisation", exact=True).fill("Grand Poitiers")
    page.get_by_label("Type d’organisation").select_option("intercommunalite")
    page.get_by_label("J’ai pris connaissance").check()


def test_inline_registration_with_an_error_then_corrected(
    page: Page, base_url: str, smtp: MailSink
) -> None:
    page.goto(base_url + "/")
    page.get_by_role("link", name="S’inscrire", exact=True).click()
    form = page.locator("#inscription-form form")
    expect(form).to_be_visible()
    assert page.url == base_url + "/"  # in place, no navigation
    assert_accessible(page, "registration form opened in place")
    boxes = page.locator("input[name=episodes]")
    expect(boxes).to_have_count(7)
    assert all(boxes.nth(i).is_checked() for i in range(7))

    fill_registration(page, email="pas-une-adresse")
    page.get_by_label("Prénom").fill("")
    page.get_by_role("button", name="Valider mon inscription").click()
    error = page.locator("#first_name-erreur")
    expect(error).to_have_text("Ce champ est obligatoire.")
    expect(page.locator("#email-erreur")).to_contain_text("adresse e-mail valide")
    expect(page.get_by_label("Prénom")).to_be_focused()
    expect(page.get_by_label("Organisation", exact=True)).to_have_value("Grand Poitiers")
    assert page.get_by_label("Prénom").get_attribute("aria-describedby") == "first_name-erreur"
    assert_accessible(page, "registration form with errors")
    screenshot(page, "registration-errors")

    page.get_by_label("Prénom").fill("Camille")
    page.get_by_label("Adresse e-mail").fill("camille.martin@example.org")
    page.locator("label", has_text="Épisode 3 ·").click()  # untick episode 3
    page.get_by_role("button", name="Valider mon inscription").click()
    heading = page.get_by_role("heading", name=re.compile("votre inscription est enregistrée"))
    expect(heading).to_be_visible()
    expect(heading).to_be_focused()
    done = page.locator(".registration-done")
    expect(done).to_contain_text("Épisode 1")
    expect(done).not_to_contain_text("Épisode 3 :")
    expect(done.get_by_role("link", name="Tous mes épisodes (.ics)")).to_be_visible()
    assert_accessible(page, "registration confirmation in place")
    screenshot(page, "registration-confirmation")

    (message,) = smtp.wait_for(1)
    assert message["To"] == "camille.martin@example.org"
    text = message.get_body(("plain",)).get_content()
    link = re.search(r"http://127\.0\.0\.1:\d+(/moi/[\w-]+)", text).group(1)
    # Back on the programme page, the browser knows this visitor.
    page.goto(base_url + "/")
    expect(page.locator(".registration-status")).to_contain_text("Bonjour Camille")
    assert_accessible(page, "programme page with the registered status")
    page.goto(base_url + link)
    expect(page.get_by_role("heading", name="Mon espace")).to_be_visible()


def test_registration_with_the_keyboard_only(page: Page, base_url: str) -> None:
    page.goto(base_url + "/")
    # The call's status loads after the page (hx-trigger="load"): a person reads before
    # tabbing; a test that tabs at once raced it on a loaded CI machine.
    page.wait_for_load_state("networkidle")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "S’inscrire":
            break
    page.keyboard.press("Enter")
    # The link is replaced by the form: focus lands on its first field.
    expect(page.get_by_label("Prénom")).to_be_focused()
    htmx_settled(page)
    page.keyboard.type("Dominique")
    page.keyboard.press("Tab")
    page.keyboard.type("Lefèvre")
    page.keyboard.press("Tab")
    page.keyboard.type("dominique@example.org")
    page.keyboard.press("Tab")
    page.keyboard.type("Métropole de Lyon")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # a select opens its list on arrow keys
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.get_by_label("J’ai pris connaissance").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Valider mon inscription")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("Merci Dominique Lefèvre"))).to_be_focused()


def test_registration_without_javascript(browser: Browser, base_url: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(base_url + "/")
        page.get_by_role("link", name="S’inscrire", exact=True).click()
        expect(page).to_have_url(base_url + "/inscription")
        assert_accessible_nojs(page)
        fill_registration(page)
        page.get_by_label("J’ai pris connaissance").uncheck()
        page.get_by_role("button", name="Valider mon inscription").click()
        expect(page.locator("#privacy-erreur")).to_have_text(
            "Cochez cette case pour vous inscrire."
        )
        expect(page.get_by_label("Prénom")).to_have_value("Camille")
        expect(page.get_by_label("J’ai pris connaissance")).to_be_focused()  # autofocus, no JS
        page.get_by_label("J’ai pris connaissance").check()
        page.get_by_role("button", name="Valider mon inscription").click()
        expect(page).to_have_url(base_url + "/inscription/confirmation")
        expect(page.get_by_role("heading", level=1)).to_have_text("Inscription enregistrée")
        expect(page.locator(".registration-done")).to_contain_text("Merci Camille Martin")
        screenshot(page, "registration-nojs-confirmation")
    finally:
        context.close()


def assert_accessible_nojs(page: Page) -> None:
    """axe needs script: run it in a JS-enabled copy of the same page content."""
    html = page.content()
    browser = page.context.browser
    assert browser is not None
    context = browser.new_context()
    try:
        twin = context.new_page()
        twin.route("**/*", lambda route: route.fulfill(body=html, content_type="text/html"))
        twin.goto(page.url)
        assert_accessible(twin, f"no-JS page {page.url}")
    finally:
        context.close()


def test_personal_space_changes_in_place_and_erasure(
    page: Page, base_url: str, live_app: Flask, make_attendee
) -> None:
    _, token = make_attendee(episodes=(2,), target_app=live_app)
    page.goto(f"{base_url}/moi/{token}")
    expect(page.get_by_role("heading", name="Mon espace")).to_be_visible()
    assert_accessible(page, "personal space")
    item = page.locator("#mon-episode-4")
    item.get_by_role("button", name=re.compile("Suivre cet épisode")).click()
    expect(item.locator("[data-status]")).to_have_text("Vous suivez maintenant l’épisode 4.")
    # Arrived with the swap, it is read out from the page's own live region.
    expect(page.locator("#status-announcer")).to_have_text("Vous suivez maintenant l’épisode 4.")
    expect(item.get_by_role("button", name=re.compile("Ne plus suivre"))).to_be_focused()
    assert_accessible(page, "personal space after following")
    page.locator("#mon-episode-2").get_by_role("button", name=re.compile("Ne plus suivre")).click()
    expect(page.locator("#mon-episode-2 [data-status]")).to_have_text(
        "Vous ne suivez plus l’épisode 2."
    )
    expect(page.locator("#status-announcer")).to_have_text("Vous ne suivez plus l’épisode 2.")
    page.reload()
    expect(page.locator(".my-episode.is-followed")).to_have_count(1)
    screenshot(page, "personal-space")

    page.get_by_role("button", name="M’envoyer un nouveau lien").click()
    expect(page.locator("#lien-renvoi")).to_contain_text("Un nouveau lien part vers")
    assert_accessible(page, "personal space after asking for a link")

    page.get_by_role("link", name="Annuler et effacer mes données").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Effacer mes données")
    assert_accessible(page, "erasure confirmation")
    page.get_by_role("button", name="Oui, tout effacer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vos données sont effacées")
    page.goto(f"{base_url}/moi/{token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page introuvable")


def test_receive_my_link_in_place(page: Page, base_url: str) -> None:
    page.goto(base_url + "/moi/lien")
    assert_accessible(page, "receive my link")
    page.get_by_label("Adresse e-mail utilisée à l’inscription").fill("quelqu.un@example.org")
    page.get_by_role("button", name="Recevoir mon lien").click()
    confirmation = page.locator("#lien-form [data-status]")
    expect(confirmation).to_contain_text("Si l’adresse quelqu.un@example.org est inscrite")
    expect(confirmation.locator("[data-focus]")).to_be_focused()  # read out as it gets focus
    assert_accessible(page, "receive my link, sent")
