"""Issue 11's pages and swaps in a real Chromium, axe clean: the accessibility statement,
the privacy notice, correcting one's details in place, signing out of a shared computer."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.support.browser import assert_accessible, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("live_app")]


def test_statement_and_notice_are_accessible_from_the_footer(page: Page, base_url: str) -> None:
    page.goto(base_url + "/")
    page.get_by_role("link", name=re.compile("Accessibilité : partiellement conforme")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Déclaration d’accessibilité")
    assert_accessible(page, "accessibility statement")
    page.get_by_role("link", name="Données personnelles").click()
    expect(page.get_by_text("Sur quelle base")).to_be_visible()
    assert_accessible(page, "privacy notice")


def test_correct_ones_details_in_place_then_sign_out(
    page: Page, base_url: str, live_app: Flask, make_attendee
) -> None:
    _, token = make_attendee(target_app=live_app)
    page.goto(f"{base_url}/moi/{token}")
    assert token not in page.url  # the space's address carries no token
    page.get_by_role("link", name="Corriger mes coordonnées").click()
    expect(page.get_by_label("Prénom")).to_be_focused()
    assert_accessible(page, "details form in place")
    page.get_by_label("Nom", exact=True).fill("<b>")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.locator("#last_name-erreur")).to_contain_text("Utilisez uniquement des lettres")
    expect(page.get_by_label("Nom", exact=True)).to_be_focused()
    assert_accessible(page, "details form with an error")
    page.get_by_label("Nom", exact=True).fill("शर्मा")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.locator("#mes-coordonnees")).to_contain_text("Camille शर्मा")
    expect(page.locator("#mes-coordonnees [data-status]")).to_be_focused()
    assert_accessible(page, "details corrected")
    screenshot(page, "space-details-corrected")

    page.get_by_role("button", name="Me déconnecter de cet appareil").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cet appareil ne vous reconnaît plus")
    assert_accessible(page, "signed out")
    page.goto(base_url + "/moi")
    expect(page.get_by_role("heading", level=1)).to_have_text("Recevoir mon lien personnel")
