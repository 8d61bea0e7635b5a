"""The visitor's first minute (issue 14) in a real Chromium, on a 375×812 phone and a
1280×800 desktop: the call in the first screen, registering for the episode one came
from, asking right after, panels left with Escape or "Annuler", and the figures.

The figures (scroll before the first "S’inscrire", taps and keystrokes from landing to
"registered" and from an episode page to "question sent") are printed (`-s`) and kept in
screenshots/first-minute-figures.json, beside the before/after screenshots.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Locator, Page, expect

from tests.support.browser import (
    SCREENSHOTS,
    assert_accessible,
    assert_accessible_without_js,
    htmx_settled,
    screenshot,
)

pytestmark = [pytest.mark.browser]

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 800}
SLUGS = [
    "plateformes-civictech",
    "budget-participatif",
    "consultation-en-ligne",
    "cas-usage-innovants",
    "droit-de-suite",
    "api",
    "numerique-et-presentiel",
]
#: what a person must fill in: first and last name, e-mail, organisation, its kind, the
#: privacy notice (the job title is optional, the episodes come ticked)
REQUIRED_FIELDS = 6
FIGURES = SCREENSHOTS / "first-minute-figures.json"


def record(name: str, value: object) -> None:
    """Print a figure and keep it in the figures file for the closing note."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    figures[name] = value
    FIGURES.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n")
    print(f"\nFIGURE {name}: {value}")


class Person:
    """Acts on the page as a person does, counting what it costs them.

    One action is a tap (or a click), or one key that is not text (Tab, Enter, Space, an
    arrow); typing into the field that has the focus costs only the characters typed. A
    choice in a list counts as one action here, but takes two taps on a phone (open the
    list, pick), so `taps` counts those apart.
    """

    def __init__(self, page: Page) -> None:
        self.page = page
        self.actions = 0
        self.list_choices = 0
        self.characters = 0

    @property
    def taps(self) -> int:
        """Actions as taps on a phone screen."""
        return self.actions + self.list_choices

    def tap(self, target: Locator) -> None:
        """Tap a control."""
        target.click()
        self.actions += 1

    def fill(self, field: Locator, text: str) -> None:
        """Type into a field, tapping it first unless the focus is already there."""
        if not field.evaluate("element => element === document.activeElement"):
            self.tap(field)
        self.page.keyboard.type(text)
        self.characters += len(text)

    def choose(self, field: Locator, value: str) -> None:
        """Pick an option in a list."""
        field.select_option(value)
        self.actions += 1
        self.list_choices += 1

    def press(self, key: str) -> None:
        """Press one key that is not text."""
        self.page.keyboard.press(key)
        self.actions += 1

    def figures(self) -> dict[str, int]:
        """What it cost."""
        return {"actions": self.actions, "phone taps": self.taps, "characters": self.characters}


def fill_the_form(person: Person, email: str) -> None:
    """Fill in the registration form opened in place (focus on its first field)."""
    page = person.page
    expect(page.get_by_label("Prénom")).to_be_focused()
    person.fill(page.get_by_label("Prénom"), "Camille")
    person.fill(page.get_by_label("Nom", exact=True), "Martin")
    person.fill(page.get_by_label("Adresse e-mail"), email)
    person.fill(page.get_by_label("Organisation", exact=True), "Grand Poitiers")
    person.choose(page.get_by_label("Type d’organisation"), "intercommunalite")
    person.tap(page.get_by_label("J’ai pris connaissance"))


def scroll_before_the_call(page: Page) -> int:
    """Pixels to scroll before the first "S’inscrire" is wholly in view (0: it already is)."""
    call = page.get_by_role("link", name="S’inscrire", exact=True).first
    expect(call).to_be_visible()
    box = call.bounding_box()
    assert box is not None
    return max(0, round(box["y"] + box["height"] - page.viewport_size["height"]))


def calls_in_view(page: Page) -> int:
    """How many "S’inscrire" the first screen shows."""
    return page.evaluate(
        """() => [...document.querySelectorAll('a, button')].filter(el => {
            const box = el.getBoundingClientRect();
            return el.textContent.trim() === 'S’inscrire' && box.height > 0
                && box.top >= 0 && box.bottom <= window.innerHeight;
        }).length"""
    )


@pytest.fixture
def phone(page: Page, live_app: Flask) -> Iterator[Page]:
    """The page on a 375×812 phone, on fresh data."""
    page.set_viewport_size(PHONE)
    yield page


# ---------------------------------------------------------------- the first screen
def test_the_call_is_in_the_first_screen_everywhere(
    page: Page, base_url: str, live_app: Flask
) -> None:
    distances = {}
    for device, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        for slug in ["", *SLUGS]:
            url = f"/episodes/{slug}" if slug else "/"
            page.goto(base_url + url)
            distances[f"{device} {url}"] = scroll_before_the_call(page)
            assert calls_in_view(page) == 1, (device, url)
            call = page.locator("#appel")
            expect(call).to_contain_text("webinaires")  # what the cycle is
            expect(call).to_contain_text(re.compile(r"(Prochain|Cet) épisode\s*:\s*\w+ \d+"))
            if slug in ("", "api"):
                assert_accessible(page, f"{device} {url}")
                label = "" if not slug else "-episode"
                screenshot(page, f"first-minute-after{label}-{device}", full_page=False)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
    record("scroll before the first S’inscrire, px (goal 0)", distances)
    assert set(distances.values()) == {0}


def test_on_a_phone_the_call_stays_at_hand_without_covering_or_trapping(
    phone: Page, base_url: str
) -> None:
    page = phone
    page.goto(base_url + "/")
    bar = page.locator("#appel-mobile")
    expect(bar).to_be_hidden()  # the call at the top is in view
    page.mouse.wheel(0, 1500)
    expect(bar).to_be_visible()
    expect(bar.get_by_role("link", name="S’inscrire")).to_be_visible()
    assert calls_in_view(page) == 1
    assert_accessible(page, "phone, scrolled, with the bar")
    screenshot(page, "first-minute-after-phone-scrolled", full_page=False)
    # What the keyboard reaches is never under the bar.
    bar_top = bar.bounding_box()["y"]
    for _ in range(25):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(() => { const b = document.activeElement.getBoundingClientRect();"
            " return [b.top, b.bottom, document.activeElement.closest('#appel-mobile') !== null]; })()"
        )
        if not focused[2]:
            assert focused[1] <= bar_top + 1, focused
    # At the end of the page the bar sits in the flow: nothing stays hidden under it.
    page.keyboard.press("End")
    page.wait_for_timeout(200)
    footer = page.locator(".site-footer").bounding_box()
    assert footer["y"] >= bar.bounding_box()["y"] + bar.bounding_box()["height"] - 1
    # Its link is one stop in the tab order, then focus moves on to the footer.
    bar.get_by_role("link", name="S’inscrire").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('.site-footer') !== null")
    # From the bar, the form opens at the top, in the call's place.
    bar.get_by_role("link", name="S’inscrire").click()
    expect(page.locator("#appel-actions #inscription-form form")).to_be_visible()
    expect(page.get_by_label("Prénom")).to_be_focused()
    expect(bar).to_be_hidden()


# ---------------------------------------------------------------- landing to registered
def test_from_landing_to_registered_on_a_phone(phone: Page, base_url: str) -> None:
    page = phone
    person = Person(page)
    page.goto(base_url + "/")
    scroll = scroll_before_the_call(page)
    person.tap(page.get_by_role("link", name="S’inscrire", exact=True))
    expect(page.locator("input[name=episodes]:checked")).to_have_count(7)
    assert_accessible(page, "form opened from the programme")
    fill_the_form(person, "camille.martin@example.org")
    person.tap(page.get_by_role("button", name="Valider mon inscription"))
    expect(
        page.get_by_role("heading", name=re.compile("votre inscription est enregistrée"))
    ).to_be_focused()
    assert_accessible(page, "registered, in place")
    record(
        "landing → registered, phone",
        {"scroll px": scroll, **person.figures(), "goal (fields + 1)": REQUIRED_FIELDS + 1},
    )
    assert scroll == 0
    assert person.actions == REQUIRED_FIELDS + 1


def test_from_landing_to_registered_with_the_keyboard_only(
    page: Page, base_url: str, live_app: Flask
) -> None:
    person = Person(page)
    page.goto(base_url + "/")
    page.wait_for_load_state("networkidle")  # the call's status, loaded after the page
    for _ in range(10):
        person.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "S’inscrire":
            break
    tabs_to_the_call = person.actions
    person.press("Enter")
    expect(page.get_by_label("Prénom")).to_be_focused()
    htmx_settled(page)
    for label, text in (
        ("Prénom", "Dominique"),
        ("Nom", "Lefèvre"),
        ("Adresse e-mail", "dominique@example.org"),
        ("Organisation", "Métropole de Lyon"),
    ):
        # Each key goes where a person would see the focus (no key sent ahead of it).
        expect(page.get_by_label(label, exact=True)).to_be_focused()
        page.keyboard.type(text)
        person.characters += len(text)
        person.press("Tab")
    expect(page.get_by_label("Type d’organisation")).to_be_focused()
    person.press("ArrowDown")  # the list of kinds: its first kind
    expect(page.get_by_label("Type d’organisation")).not_to_have_value("")
    privacy = page.get_by_label("J’ai pris connaissance")
    for _ in range(15):  # past the job title, the (ticked) episodes, the notice's link
        person.press("Tab")
        if privacy.evaluate("element => element === document.activeElement"):
            break
    person.press("Space")
    person.press("Tab")
    expect(page.get_by_role("button", name="Valider mon inscription")).to_be_focused()
    person.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("Merci Dominique Lefèvre"))).to_be_focused()
    record(
        "landing → registered, keyboard only",
        {
            "keys": person.actions,
            "Tab to reach S’inscrire": tabs_to_the_call,
            "characters": person.characters,
        },
    )
    # Skip link, site name, two menu links, the language switch, the next episode's title:
    # then the call.
    assert tabs_to_the_call <= 7


# ---------------------------------------------------------------- episode page to question sent
def test_from_an_episode_page_to_question_sent_on_a_phone(phone: Page, base_url: str) -> None:
    page = phone
    person = Person(page)
    page.goto(base_url + "/episodes/api")
    scroll = scroll_before_the_call(page)
    person.tap(page.get_by_role("link", name="S’inscrire", exact=True))
    # The episode the visitor came from is ticked; the others are offered.
    boxes = page.locator("input[name=episodes]")
    expect(boxes).to_have_count(7)
    expect(page.locator("input[name=episodes]:checked")).to_have_count(1)
    expect(page.get_by_label(re.compile("^Épisode 6 ·"))).to_be_checked()
    fill_the_form(person, "ines.benali@example.org")
    person.tap(page.get_by_role("button", name="Valider mon inscription"))
    done = page.locator(".registration-done")
    expect(done).to_contain_text("Épisode 6")
    expect(done).not_to_contain_text("Épisode 5")
    registered = person.figures()
    assert_accessible(page, "registered from an episode page")
    screenshot(page, "first-minute-after-episode-registered-phone", full_page=False)

    person.tap(done.get_by_role("link", name="Poser ma question pour cet épisode"))
    box = page.get_by_label("Votre question pour l’épisode 6")
    expect(box).to_be_focused()
    assert page.url == base_url + "/episodes/api"  # all in place
    assert_accessible(page, "question area opened from the confirmation")
    person.fill(box, "Une API, concrètement, ça sert à quoi pour une petite commune ?")
    person.tap(page.get_by_role("button", name="Envoyer ma question"))
    zone = page.locator("#zone-question-6")
    expect(zone.locator(".notice-success")).to_be_focused()
    expect(zone.locator(".notice-success")).to_contain_text("Question envoyée.")
    assert_accessible(page, "question sent")
    screenshot(page, "first-minute-after-question-sent-phone", full_page=False)
    record(
        "episode page → registered (that episode only), phone",
        {"scroll px": scroll, **registered, "goal (fields + 1)": REQUIRED_FIELDS + 1},
    )
    record("episode page → question sent, phone", person.figures())
    assert registered["actions"] == REQUIRED_FIELDS + 1
    assert person.actions == REQUIRED_FIELDS + 1 + 2

    # And the way back to the programme.
    zone.get_by_role("link", name="Revenir au programme").click()
    expect(page).to_have_url(base_url + "/#episode-6")


def test_the_same_way_without_javascript(browser: Browser, base_url: str, live_app: Flask) -> None:
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    checker = browser.new_page()
    page = context.new_page()
    try:
        page.goto(base_url + "/episodes/api")
        page.get_by_role("link", name="S’inscrire", exact=True).click()
        expect(page).to_have_url(base_url + "/inscription?episode=api")
        expect(page.locator("input[name=episodes]:checked")).to_have_count(1)
        expect(page.get_by_label(re.compile("^Épisode 6 ·"))).to_be_checked()
        expect(page.get_by_role("link", name="Annuler")).to_have_attribute("href", "/episodes/api")
        assert_accessible_without_js(page, checker, "no-JS form from an episode")
        page.get_by_label("Prénom").fill("Camille")
        page.get_by_label("Nom", exact=True).fill("Martin")
        page.get_by_label("Adresse e-mail").fill("sans.js@example.org")
        page.get_by_label("Organisation", exact=True).fill("Ville de Niort")
        page.get_by_label("Type d’organisation").select_option("collectivite")
        page.get_by_label("J’ai pris connaissance").check()
        page.get_by_role("button", name="Valider mon inscription").click()
        expect(page).to_have_url(base_url + "/inscription/confirmation?episode=api")
        page.get_by_role("link", name="Poser ma question pour cet épisode").click()
        expect(page).to_have_url(base_url + "/episodes/api/questions/poser")
        page.get_by_label("Votre question pour l’épisode 6").fill("Et sans JavaScript, ça marche ?")
        page.get_by_role("button", name="Envoyer ma question").click()
        expect(page.get_by_text("Question envoyée.")).to_be_visible()
        assert_accessible_without_js(page, checker, "no-JS question sent")
        page.get_by_role("link", name="Revenir au programme").click()
        expect(page).to_have_url(base_url + "/#episode-6")
    finally:
        context.close()
        checker.close()


# ---------------------------------------------------------------- recognised
def test_a_registered_browser_sees_its_note_where_the_call_was(phone: Page, base_url: str) -> None:
    page = phone
    page.goto(base_url + "/")
    page.get_by_role("link", name="S’inscrire", exact=True).click()
    fill_the_form(Person(page), "deja.inscrite@example.org")
    page.get_by_role("button", name="Valider mon inscription").click()
    expect(page.locator(".registration-done")).to_be_visible()
    for url in ("/", "/episodes/budget-participatif"):
        page.goto(base_url + url)
        note = page.locator("#appel-actions")
        expect(note).to_have_text(
            re.compile(r"vous êtes inscrit·e\s*(inscrite ou inscrit)?\s*· gérer mes épisodes")
        )
        expect(page.get_by_role("link", name="S’inscrire", exact=True)).to_have_count(0)
        expect(note.get_by_role("link", name="gérer mes épisodes")).to_have_attribute(
            "href", "/moi"
        )
        assert_accessible(page, f"registered note on {url}")
        page.mouse.wheel(0, 1500)
        page.wait_for_timeout(200)
        expect(page.locator("#appel-mobile")).to_be_hidden()  # never the same call again
    page.goto(base_url + "/")
    screenshot(page, "first-minute-after-registered-phone", full_page=False)


# ---------------------------------------------------------------- leaving a panel
def test_every_panel_closes_on_escape_and_annuler_and_gives_focus_back(
    page: Page, base_url: str, live_app: Flask
) -> None:
    page.goto(base_url + "/")
    call = page.get_by_role("link", name="S’inscrire", exact=True)
    # The registration form: Escape closes it, focus back on "S’inscrire".
    call.click()
    expect(page.get_by_label("Prénom")).to_be_focused()
    page.keyboard.type("Camille")
    page.keyboard.press("Escape")
    expect(page.locator("#inscription-form")).to_have_count(0)
    expect(call).to_be_focused()
    assert_accessible(page, "form closed")
    # Opened again, it is as it was left; "Annuler" closes it too.
    page.keyboard.press("Enter")
    expect(page.get_by_label("Prénom")).to_have_value("Camille")
    page.get_by_role("link", name="Annuler").click()
    expect(page.locator("#inscription-form")).to_have_count(0)
    expect(call).to_be_focused()
    # One form at a time: the seed's own call opens it there and closes it here.
    call.click()
    page.get_by_role("link", name="Inscrivez-vous ici").click()
    expect(page.locator("#inscription-form")).to_have_count(1)
    expect(page.locator("#inscription-zone #inscription-form")).to_have_count(1)
    expect(call).to_be_visible()
    expect(page.get_by_label("Prénom")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("link", name="Inscrivez-vous ici")).to_be_focused()

    # The link request, from the call.
    link = page.locator("#appel").get_by_role("link", name=re.compile("Recevoir mon lien"))
    link.click()
    expect(page.get_by_label("Adresse e-mail utilisée à l’inscription")).to_be_focused()
    assert_accessible(page, "link request in place")
    # A click on its text leaves the focus around it (on <main>): Escape still closes it.
    page.locator("#lien-form .hint").click()
    assert page.evaluate("!document.activeElement.closest('#lien-form')")
    page.keyboard.press("Escape")
    expect(page.locator("#lien-form")).to_have_count(0)
    expect(link).to_be_focused()

    # The question form, then the withdraw confirmation: this browser registers and asks.
    page.goto(base_url + "/episodes/budget-participatif")
    page.locator("#appel").get_by_role("link", name="S’inscrire").click()
    fill_the_form(Person(page), "panneaux@example.org")
    page.get_by_role("button", name="Valider mon inscription").click()
    # Registered (the browser holds its new session) before asking, as a person would be.
    expect(page.locator(".registration-done")).to_be_visible()
    ask = page.get_by_role("link", name="Poser une question sur l’épisode 2")
    ask.click()
    box = page.get_by_label("Votre question pour l’épisode 2")
    expect(box).to_be_focused()
    assert_accessible(page, "question form")
    page.keyboard.press("Escape")
    expect(page.locator("#zone-question-2")).to_have_count(0)
    expect(ask).to_be_focused()
    ask.click()
    box.fill("Une question à garder ?")
    page.get_by_role("button", name="Envoyer ma question").click()
    zone = page.locator("#zone-question-2")
    withdraw = zone.get_by_role("link", name="Retirer")
    withdraw.click()
    expect(page.get_by_text("Retirer cette question ?")).to_be_visible()
    expect(zone.locator(".confirming [data-focus]")).to_be_focused()
    assert_accessible(page, "withdraw confirmation")
    page.keyboard.press("Escape")
    expect(page.get_by_text("Retirer cette question ?")).to_have_count(0)
    expect(withdraw).to_be_focused()
    withdraw.click()
    zone.locator(".confirming").get_by_role("link", name="Annuler").click()
    expect(withdraw).to_be_focused()
    expect(zone.locator(".question-text")).to_have_text("Une question à garder ?")
    assert_accessible(page, "panels closed")


def test_the_question_area_seen_before_registering_is_asked_anew_after(
    phone: Page, base_url: str
) -> None:
    page = phone
    page.goto(base_url + "/episodes/api")
    ask = page.get_by_role("link", name="Poser une question sur l’épisode 6")
    ask.click()
    expect(page.locator("#zone-question-6")).to_contain_text("dites-nous d’abord qui vous êtes")
    expect(page.locator("#zone-question-6 [data-focus]")).to_be_focused()
    page.keyboard.press("Escape")
    expect(ask).to_be_focused()
    page.locator("#appel").get_by_role("link", name="S’inscrire").click()
    fill_the_form(Person(page), "avant.apres@example.org")
    page.get_by_role("button", name="Valider mon inscription").click()
    page.get_by_role("link", name="Poser ma question pour cet épisode").click()
    expect(page.get_by_label("Votre question pour l’épisode 6")).to_be_focused()
    # "Annuler" puts back the episode's own button, and focus on the control used.
    page.locator("#zone-question-6").get_by_role("link", name="Annuler").click()
    expect(page.get_by_role("link", name="Poser ma question pour cet épisode")).to_be_focused()
    ask.click()
    expect(page.get_by_label("Votre question pour l’épisode 6")).to_be_focused()


def test_the_programme_page_keeps_its_budget(page: Page, base_url: str, live_app: Flask) -> None:
    import gzip

    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto(base_url + "/")
    page.wait_for_load_state("networkidle")
    assets = [
        r for r in responses if r.request.resource_type in ("document", "stylesheet", "script")
    ]
    weight = sum(len(gzip.compress(r.body())) for r in assets)
    record(
        "programme page budget",
        {
            "HTML + CSS + JS requests": len(assets),
            "HTML + CSS + JS gzipped bytes": weight,
            "all requests": sorted(r.url.removeprefix(base_url).split("?")[0] for r in responses),
        },
    )
    assert len(assets) <= 4 and weight <= 40 * 1024
    assert all(r.url.startswith(base_url) for r in responses)


def test_on_the_forms_own_page_the_offer_to_ask_is_a_plain_link(
    page: Page, base_url: str, live_app: Flask
) -> None:
    page.goto(base_url + "/inscription?episode=api")
    page.get_by_label("Prénom").fill("Camille")
    page.get_by_label("Nom", exact=True).fill("Martin")
    page.get_by_label("Adresse e-mail").fill("page.seule@example.org")
    page.get_by_label("Organisation", exact=True).fill("Ville de Niort")
    page.get_by_label("Type d’organisation").select_option("collectivite")
    page.get_by_label("J’ai pris connaissance").check()
    page.get_by_role("button", name="Valider mon inscription").click()
    page.get_by_role("link", name="Poser ma question pour cet épisode").click()
    expect(page).to_have_url(base_url + "/episodes/api/questions/poser")
    expect(page.get_by_label("Votre question pour l’épisode 6")).to_be_visible()
