"""A full episode in a real Chromium: the waiting list in place, a seat freed from the
personal space with the keyboard (axe after each swap), and both without JavaScript."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from app.extensions import db
from app.models import Attendee, Episode, Registration
from tests.support.browser import assert_accessible, screenshot
from tests.support.mail import MailSink

pytestmark = [pytest.mark.browser]


def full_episode_two(app: Flask, make_attendee) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Episode 2 with one seat, held by Aïcha; return (its slug, Aïcha's personal token)."""
    _, token = make_attendee(
        target_app=app, email="aicha@example.org", first_name="Aïcha", episodes=(2,)
    )
    with app.app_context():
        db.session.execute(
            sa.update(Episode)
            .filter_by(number=2)
            .values(capacity=1, join_url="https://visio.example.org/e2")
        )
        db.session.commit()
        return db.session.scalar(sa.select(Episode.slug).filter_by(number=2)), token


def seats(app: Flask) -> list[tuple[str, bool]]:
    """(address, waiting?) for episode 2, seats first, then the list in order."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Attendee.email, Registration.waiting_since.is_not(None))
            .join(Registration, Registration.attendee_id == Attendee.id)
            .join(Episode, Episode.id == Registration.episode_id)
            .where(Episode.number == 2)
            .order_by(Registration.waiting_since.is_not(None), Registration.id)
        ).all()
        return [(email, bool(waiting)) for email, waiting in rows]


def test_registering_to_a_full_episode_then_a_seat_freed_with_the_keyboard(
    live_app: Flask, browser: Browser, page: Page, base_url: str, make_attendee, smtp: MailSink
) -> None:
    slug, token = full_episode_two(live_app, make_attendee)
    page.goto(f"{base_url}/episodes/{slug}")
    expect(page.locator("#episode-2 .seats-full")).to_have_text("Complet · liste d’attente")
    assert_accessible(page, "full episode page")

    page.get_by_role("link", name="S’inscrire", exact=True).first.click()
    page.get_by_label("Prénom").fill("Camille")
    page.get_by_label("Nom", exact=True).fill("Martin")
    page.get_by_label("Adresse e-mail").fill("camille@example.org")
    page.get_by_label("Organisation", exact=True).fill("Grand Poitiers")
    page.get_by_label("Type d’organisation").select_option("intercommunalite")
    page.get_by_label("J’ai pris connaissance").check()
    expect(page.locator("label", has_text="Épisode 2 ·")).to_contain_text("liste d’attente")
    assert_accessible(page, "form offering the waiting list")
    page.get_by_role("button", name="Valider mon inscription").click()
    done = page.locator(".registration-done")
    expect(done).to_contain_text("vous êtes sur la liste d’attente, en position 1.")
    assert_accessible(page, "confirmation on the waiting list, in place")
    screenshot(page, "seats-full-episode")
    assert seats(live_app) == [("aicha@example.org", False), ("camille@example.org", True)]

    # Aïcha frees her seat from her space, with the keyboard only.
    aicha = browser.new_context(base_url=base_url).new_page()
    aicha.goto(f"{base_url}/moi/{token}")
    release = aicha.get_by_role("link", name=re.compile("Libérer ma place"))
    release.focus()
    aicha.keyboard.press("Enter")
    confirm = aicha.get_by_role("button", name=re.compile("Oui, libérer ma place"))
    expect(confirm).to_be_visible()
    expect(aicha.locator("#mon-episode-2 .notice")).to_be_focused()
    assert_accessible(aicha, "confirmation to free the seat, in place")
    screenshot(aicha, "seats-release-confirm", full_page=False)
    aicha.keyboard.press("Tab")
    expect(confirm).to_be_focused()
    aicha.keyboard.press("Enter")
    item = aicha.locator("#mon-episode-2")
    expect(item).to_contain_text("Votre place pour l’épisode 2 est libérée.")
    expect(item.get_by_role("button", name=re.compile("Suivre cet épisode"))).to_be_focused()
    assert aicha.url.endswith("/moi")  # in place
    assert_accessible(aicha, "seat freed, in place")
    assert seats(live_app) == [("camille@example.org", False)]

    # Camille was told at once, with the join link.
    messages = smtp.wait_for(2)
    given = [m for m in messages if m["Subject"].startswith("Une place pour vous")]
    assert [m["To"] for m in given] == ["camille@example.org"]
    assert "https://visio.example.org/e2" in given[0].get_body(("plain",)).get_content()
    aicha.context.close()


def test_the_waiting_list_and_freeing_a_seat_without_javascript(
    live_app: Flask, browser: Browser, base_url: str, make_attendee
) -> None:
    slug, token = full_episode_two(live_app, make_attendee)
    context = browser.new_context(java_script_enabled=False, base_url=base_url)
    page = context.new_page()
    page.goto(f"/inscription?episode={slug}")
    page.get_by_label("Prénom").fill("Marc")
    page.get_by_label("Nom", exact=True).fill("Petit")
    page.get_by_label("Adresse e-mail").fill("marc@example.org")
    page.get_by_label("Organisation", exact=True).fill("Ville de Lyon")
    page.get_by_label("Type d’organisation").select_option("collectivite")
    page.get_by_label("J’ai pris connaissance").check()
    page.get_by_role("button", name="Valider mon inscription").click()
    expect(page).to_have_url(re.compile(r"/inscription/confirmation"))
    expect(page.locator(".registration-done")).to_contain_text("en position 1.")

    # The link of the mail, opened without JavaScript: a page that asks, then a POST.
    aicha = browser.new_context(java_script_enabled=False, base_url=base_url).new_page()
    aicha.goto(f"/moi/{token}")
    with live_app.app_context():
        two = db.session.scalar(sa.select(Episode.id).filter_by(number=2))
    aicha.goto(f"/moi/episodes/{two}/liberer")
    expect(aicha.get_by_role("heading", name="Libérer ma place")).to_be_visible()
    assert seats(live_app)[0] == ("aicha@example.org", False)  # the GET changed nothing
    aicha.get_by_role("button", name=re.compile("Oui, libérer ma place")).click()
    expect(aicha).to_have_url(re.compile(r"/moi#mon-episode-2$"))
    expect(aicha.locator("#alerts, .flashes, body").first).to_contain_text(
        "Votre place pour l’épisode 2 est libérée."
    )
    assert seats(live_app) == [("marc@example.org", False)]
    context.close()
    aicha.context.close()
