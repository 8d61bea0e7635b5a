"""The open-data page in a real Chromium: reached from the footer, accessible at phone and
desktop widths, readable without JavaScript, its links leading to the API itself."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import assert_accessible, assert_accessible_without_js, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("live_app")]


def test_the_open_data_page_is_reached_from_the_footer_and_accessible(
    page: Page, base_url: str
) -> None:
    page.goto(base_url + "/")
    page.get_by_role("contentinfo").get_by_role("link", name="Données ouvertes (API)").click()
    expect(page).to_have_url(base_url + "/donnees-ouvertes")
    expect(page.get_by_role("heading", level=1)).to_have_text("Données ouvertes")
    for name, width, height in (("phone", 375, 812), ("desktop", 1280, 900)):
        page.set_viewport_size({"width": width, "height": height})
        page.reload()
        assert_accessible(page, f"open data {name}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"horizontal scroll of {overflow}px at {width}px"
        screenshot(page, f"open-data-{name}")
    # The examples scroll sideways on a phone: each is reachable by keyboard.
    expect(page.locator("pre.code").first).to_have_attribute("tabindex", "0")


def test_the_page_and_its_links_work_without_javascript(browser: Browser, base_url: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    checker = browser.new_page()
    page = context.new_page()
    try:
        page.goto(base_url + "/donnees-ouvertes")
        expect(page.get_by_text(f"curl {base_url}/api/v1/episodes", exact=True)).to_be_visible()
        assert_accessible_without_js(page, checker, "open data without JavaScript")
        page.get_by_role("link", name="/api/v1/openapi.json").click()
        document = json.loads(page.locator("body").inner_text())
        assert document["openapi"] == "3.1.0"
    finally:
        context.close()
        checker.close()
