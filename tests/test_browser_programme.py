"""The programme in a real Chromium: accessible, responsive, keyboard-reachable."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import assert_accessible, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("live_app")]


def test_programme_page_is_accessible_at_phone_and_desktop_widths(
    page: Page, base_url: str
) -> None:
    for name, width, height in (("phone", 375, 812), ("desktop", 1280, 900)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(base_url + "/")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Cycle de webinaires sur la participation"
        )
        expect(page.locator("article.episode")).to_have_count(7)
        assert_accessible(page, f"programme {name}")
        # Nothing wider than the screen on a phone.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"horizontal scroll of {overflow}px at {width}px"
        screenshot(page, f"programme-{name}")


def test_episode_page_is_accessible(page: Page, base_url: str) -> None:
    page.goto(base_url + "/episodes/api")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Épisode 6")
    expect(page.get_by_text("Aurélien David", exact=True)).to_be_visible()
    assert_accessible(page, "episode page")
    screenshot(page, "episode-6")
    page.goto(base_url + "/episodes/inconnu")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page introuvable")
    assert_accessible(page, "404 page")


def test_keyboard_reaches_every_episode_and_calendar_link(page: Page, base_url: str) -> None:
    page.goto(base_url + "/")
    wanted = set(
        page.eval_on_selector_all(
            "article.episode a, .subscribe a", "links => links.map(a => a.getAttribute('href'))"
        )
    )
    assert len(wanted) >= 7 * 5
    reached: set[str] = set()
    for _ in range(400):
        page.keyboard.press("Tab")
        href = page.evaluate(
            "document.activeElement && document.activeElement.getAttribute('href')"
        )
        if href:
            reached.add(href)
        if wanted <= reached:
            break
    assert wanted - reached == set()
    # The first Tab lands on the skip link, which moves focus to the content.
    page.goto(base_url + "/")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "contenu"


def test_no_request_leaves_the_site(page: Page, base_url: str) -> None:
    hosts: list[str] = []
    page.on("request", lambda request: hosts.append(request.url))
    page.goto(base_url + "/")
    page.goto(base_url + "/episodes/droit-de-suite")
    assert hosts and all(url.startswith(base_url) for url in hosts), hosts
