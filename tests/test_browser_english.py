"""English in a real Chromium: every public page axe-clean in English, the switch with the
keyboard, a full episode's waiting list joined in English (in place and without
JavaScript), and the mail that follows in English."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from app.extensions import db
from app.models import Attendee, Episode
from tests.support.browser import assert_accessible, screenshot
from tests.support.language import english_reading, french_left
from tests.support.mail import MailSink

pytestmark = [pytest.mark.browser]


def _slugs(app: Flask) -> list[str]:
    with app.app_context():
        return db.session.scalars(sa.select(Episode.slug).order_by(Episode.number)).all()


def _full_episode_two(app: Flask, make_attendee) -> str:  # type: ignore[no-untyped-def]
    """Episode 2 with one seat, held by Aïcha (who registered in French)."""
    make_attendee(target_app=app, email="aicha@example.org", first_name="Aïcha", episodes=(2,))
    with app.app_context():
        db.session.execute(sa.update(Episode).filter_by(number=2).values(capacity=1))
        db.session.commit()
    return _slugs(app)[1]


def fill_in_english(page: Page, first: str, last: str, email: str, organisation: str) -> None:
    """The English registration form, filled in by its labels (a local authority)."""
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name", exact=True).fill(last)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Organisation", exact=True).fill(organisation)
    page.get_by_label("Type of organisation").select_option("collectivite")
    page.get_by_label("I have read the notice").check()


def _no_french_left(page: Page, label: str) -> None:
    body = page.content().split("<body", 1)[1]
    assert french_left(english_reading(body)) == [], label


def test_every_public_page_in_english_is_accessible(
    live_app: Flask, page: Page, base_url: str, make_attendee
) -> None:
    slugs = _slugs(live_app)
    _, token = make_attendee(target_app=live_app, email="sam@example.org", language="en")
    for path in (
        "/en/",
        *[f"/en/episodes/{slug}" for slug in slugs[:3]],
        f"/en/episodes/{slugs[0]}/questions/poser",
        "/en/inscription",
        "/en/moi/lien",
        "/en/confidentialite",
        "/en/accessibilite",
        "/en/donnees-ouvertes",
        f"/en/moi/{token}",  # the personal space, through the personal link
        "/en/moi/coordonnees",
    ):
        page.goto(base_url + path)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        assert_accessible(page, path)
        _no_french_left(page, path)
        if path == "/en/":
            screenshot(page, "english-programme")
    response = page.goto(base_url + "/en/nulle-part")
    assert response is not None and response.status == 404
    assert_accessible(page, "English 404")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")


def test_the_language_switch_with_the_keyboard(live_app: Flask, page: Page, base_url: str) -> None:
    slug = _slugs(live_app)[0]
    page.goto(f"{base_url}/episodes/{slug}")
    switch = page.get_by_role("link", name="English")
    for _ in range(12):  # Tab until the switch (skip link, brand, nav… come first)
        page.keyboard.press("Tab")
        if switch.evaluate("element => element === document.activeElement"):
            break
    expect(switch).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base_url}/en/episodes/{slug}")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Episode 1:")
    page.get_by_role("link", name="Français").click()
    expect(page).to_have_url(f"{base_url}/episodes/{slug}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Épisode 1")


def test_joining_a_full_episodes_waiting_list_in_english(
    live_app: Flask, page: Page, base_url: str, make_attendee, smtp: MailSink
) -> None:
    slug = _full_episode_two(live_app, make_attendee)
    smtp.clear()
    page.goto(f"{base_url}/en/episodes/{slug}")
    expect(page.locator("#episode-2 .seats-full")).to_have_text("Full · waiting list")
    assert_accessible(page, "full episode, English")
    page.get_by_role("link", name="Register", exact=True).first.click()
    fill_in_english(page, "Sam", "Taylor", "sam@example.org", "Bristol City Council")
    expect(page.locator("label", has_text="Episode 2 ·")).to_contain_text("waiting list")
    assert_accessible(page, "English form offering the waiting list")
    page.get_by_role("button", name="Confirm my registration").click()
    done = page.locator(".registration-done")
    expect(done).to_contain_text("you are on the waiting list, in position 1.")
    assert_accessible(page, "English confirmation on the waiting list, in place")
    _no_french_left(page, "English confirmation")
    screenshot(page, "english-full-episode-waiting-list")

    with live_app.app_context():
        assert (
            db.session.scalar(sa.select(Attendee.language).filter_by(email="sam@example.org"))
            == "en"
        )
    message = next(m for m in smtp.wait_for(1) if m["To"] == "sam@example.org")
    assert message["Subject"] == "Your registration for the webinar series on participation"
    text = message.get_body(("plain",)).get_content()
    assert "waiting list" in text and "/en/moi/" in text
    assert french_left(re.sub(r"https?://\S+", "", text)) == []


def test_registering_in_english_without_javascript(
    live_app: Flask, browser: Browser, base_url: str, make_attendee
) -> None:
    slug = _full_episode_two(live_app, make_attendee)
    context = browser.new_context(java_script_enabled=False, base_url=base_url)
    page = context.new_page()
    page.goto(f"/en/inscription?episode={slug}")
    fill_in_english(page, "Alex", "Morgan", "alex@example.org", "Cardiff Council")
    page.get_by_role("button", name="Confirm my registration").click()
    expect(page).to_have_url(re.compile(r"/en/inscription/confirmation"))
    expect(page.locator(".registration-done")).to_contain_text("in position 1.")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    context.close()


def test_a_failed_request_is_said_in_english(live_app: Flask, page: Page, base_url: str) -> None:
    """site.js's own messages (a proxy's 502, a lost network) come in the page's language."""
    page.goto(f"{base_url}/en/")
    page.get_by_role("link", name="Register", exact=True).first.click()
    expect(page.locator("#inscription-form form")).to_be_visible()
    fill_in_english(page, "Sam", "Taylor", "sam@example.org", "Bristol City Council")

    def proxy_failure(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.method == "POST":
            route.fulfill(status=502, body="<h1>Bad Gateway</h1>")
        else:
            route.continue_()

    page.route("**/en/inscription?*", proxy_failure)
    page.get_by_role("button", name="Confirm my registration").click()
    expect(page.locator("#alerts [role=alert]")).to_contain_text(
        "Your request did not go through (a server error). What you typed is kept"
    )
    expect(page.get_by_label("Email address")).to_have_value("sam@example.org")
    assert_accessible(page, "English failure message")
    page.unroute("**/en/inscription?*")
    page.route("**/en/inscription?*", lambda route: route.abort())
    page.get_by_role("button", name="Confirm my registration").click()
    expect(page.locator("#alerts [role=alert]")).to_contain_text(
        "The connection to the site is lost."
    )
