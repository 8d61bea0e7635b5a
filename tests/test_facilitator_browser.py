"""The facilitator's space in a real Chromium: keyboard, mouse, htmx swaps, axe-core everywhere."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from app.extensions import db
from app.models import Attendee, Episode, Question, Registration
from tests.support.browser import assert_accessible, screenshot
from tests.support.database import NOW
from tests.support.facilitator import PASSWORD, create_account

pytestmark = [pytest.mark.browser]

EPISODE = "plateformes-civictech"


_emails = itertools.count(1)


def seed(app: Flask, questions: list[dict]) -> list[int]:
    """Attendees and questions on episode 1 of the live app; return the question ids."""
    with app.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
        ids = []
        for n, values in enumerate(questions):
            attendee = Attendee(
                series_id=episode.series_id,
                email=f"personne{next(_emails)}@example.org",
                first_name=["Camille", "Inès", "Marc", "Léa"][n % 4],
                last_name="Martin",
                organisation="Ville de Rennes",
                organisation_kind=["collectivite", "association", "intercommunalite"][n % 3],
                privacy_acknowledged_at=NOW,
            )
            db.session.add(attendee)
            db.session.flush()
            db.session.add(Registration(attendee_id=attendee.id, episode_id=episode.id))
            question = Question(episode_id=episode.id, attendee_id=attendee.id, **values)
            db.session.add(question)
            db.session.flush()
            ids.append(question.id)
        db.session.commit()
        return ids


@pytest.fixture
def fac_app(live_app: Flask) -> Flask:
    """The live app with a facilitator account."""
    create_account(live_app)
    return live_app


def log_in(page: Page, base_url: str) -> None:
    page.goto(base_url + "/animation/connexion")
    page.get_by_label("Adresse e-mail").fill("animation@example.org")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord")


def test_login_dashboard_and_every_page_are_accessible(
    fac_app: Flask, page: Page, base_url: str
) -> None:
    seed(
        fac_app, [{"text": "Une question ?", "status": "retenue", "live_order": 1, "vote_count": 3}]
    )
    page.goto(base_url + "/animation/")
    expect(page).to_have_url(base_url + "/animation/connexion?next=/animation/")
    assert_accessible(page, "login")
    page.get_by_label("Adresse e-mail").fill("animation@example.org")
    page.get_by_label("Mot de passe").fill("pas le bon")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_contain_text("E-mail ou mot de passe incorrect.")
    assert_accessible(page, "login failed")
    screenshot(page, "facilitator-login-failed")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord")
    expect(page.locator("#chart-title")).to_have_text("Nouvelles inscriptions par jour")
    assert_accessible(page, "dashboard")
    screenshot(page, "facilitator-dashboard")
    for path, name in [
        (f"/animation/episodes/{EPISODE}/questions", "review"),
        (f"/animation/episodes/{EPISODE}/ordre", "order"),
        (f"/animation/episodes/{EPISODE}/direct", "live"),
        (f"/animation/episodes/{EPISODE}/modifier", "edit"),
        (f"/animation/episodes/{EPISODE}/impression", "print"),
        (f"/animation/episodes/{EPISODE}/suivi", "followup"),
        ("/animation/inscrits", "registrants"),
        ("/animation/journal", "journal"),
    ]:
        page.goto(base_url + path)
        assert_accessible(page, name)
        screenshot(page, f"facilitator-{name}")
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(base_url + f"/animation/episodes/{EPISODE}/questions")
    assert_accessible(page, "review phone")
    screenshot(page, "facilitator-review-phone")
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Espace d’animation")
    page.goto(base_url + "/animation/")
    expect(page).to_have_url(base_url + "/animation/connexion?next=/animation/")


def test_review_with_mouse_and_keyboard(fac_app: Flask, page: Page, base_url: str) -> None:
    ids = seed(
        fac_app,
        [
            {"text": "Comment toucher les publics éloignés ?", "vote_count": 5},
            {"text": "Faut-il une charte de modération ?", "vote_count": 2},
            {"text": "Quel budget prévoir ?", "vote_count": 1},
        ],
    )
    page.clock.install(time=datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    log_in(page, base_url)
    page.goto(base_url + f"/animation/episodes/{EPISODE}/questions")
    counts = page.locator("#status-counts")
    expect(counts.get_by_role("link", name="Retenues 0")).to_be_visible()
    assert_accessible(page, "review")

    # Mouse: retain the first question; the row and the counts change in place.
    first = page.locator(f"#question-{ids[0]}")
    first.get_by_role("button", name="Retenue").click()
    expect(first.get_by_role("button", name="Retenue")).to_have_attribute("aria-pressed", "true")
    expect(counts.get_by_role("link", name="Retenues 1")).to_be_visible()
    expect(counts.get_by_role("link", name="Nouvelles 2")).to_be_visible()
    expect(page.locator("#review-announce")).to_have_text(f"Question n° {ids[0]} retenue.")
    assert_accessible(page, "review after retain")
    first.get_by_role("button", name="Publier").click()
    expect(first.get_by_role("button", name="Dépublier")).to_be_focused()
    expect(first.locator(".badge-published")).to_be_visible()
    assert_accessible(page, "review after publish")

    # Keyboard: J moves to the next question, letters act on the focused one only.
    first.focus()
    page.keyboard.press("j")
    second = page.locator(f"#question-{ids[1]}")
    expect(second).to_be_focused()
    # E opens the decline panel (issue 10: a declined question has a reason), typing first.
    page.keyboard.press("e")
    expect(second.get_by_label("Précision pour la personne")).to_be_focused()
    assert_accessible(page, "review decline panel")
    page.keyboard.press("Tab")
    expect(second.get_by_role("button", name="Hors sujet")).to_be_focused()
    page.keyboard.press("Enter")
    expect(second.locator(".badge-ecartee")).to_have_text("Écartée")
    expect(second).to_contain_text("Écartée : hors sujet")
    expect(counts.get_by_role("link", name="Écartées 1")).to_be_visible()
    # Focus stays in the row that was acted on, so the next key still works.
    page.wait_for_function(f"document.activeElement.closest('#question-{ids[1]}') !== null")
    page.keyboard.press("k")
    expect(first).to_be_focused()
    # Tab to a real button and press Enter: no mouse, no shortcut.
    third = page.locator(f"#question-{ids[2]}")
    third.get_by_role("button", name="Répondue").focus()
    page.keyboard.press("Enter")
    expect(third.get_by_role("button", name="Répondue")).to_have_attribute("aria-pressed", "true")
    expect(third.get_by_role("button", name="Répondue")).to_be_focused()

    # A private note, typed from the keyboard: letters typed are not shortcuts.
    third.get_by_text("Note privée").click()
    note = third.get_by_label(f"Note sur la question n° {ids[2]}")
    note.fill("Répondre avec l’exemple de Rennes")
    third.get_by_role("button", name="Enregistrer la note").click()
    expect(third.locator(".note-preview")).to_have_text("Répondre avec l’exemple de Rennes")
    expect(third.get_by_role("button", name="Répondue")).to_have_attribute("aria-pressed", "true")
    assert_accessible(page, "review after note")

    # New questions while the page is open: announced after the next poll, place kept.
    seed(fac_app, [{"text": "Arrivée pendant la revue", "vote_count": 0}] * 3)
    page.clock.fast_forward(21_000)
    expect(page.locator("#new-questions")).to_contain_text(
        "3 nouvelles questions depuis l’ouverture de la page."
    )
    expect(page.get_by_text("Arrivée pendant la revue")).to_have_count(0)
    assert_accessible(page, "review after new questions")
    screenshot(page, "facilitator-review-after-actions")
    with fac_app.app_context():
        statuses = [db.session.get(Question, i).status for i in ids]
    assert statuses == ["retenue", "ecartee", "repondue"]


def test_running_order_and_live_view(fac_app: Flask, page: Page, base_url: str) -> None:
    ids = seed(
        fac_app,
        [
            {"text": "Première question du direct ?", "status": "retenue", "live_order": 1},
            {
                "text": "Deuxième question du direct ?",
                "status": "retenue",
                "live_order": 2,
                "show_name": True,
            },
        ],
    )
    log_in(page, base_url)
    page.goto(base_url + f"/animation/episodes/{EPISODE}/ordre")
    items = page.locator(".running-order > li")
    expect(items.first).to_contain_text("Première")
    page.locator(f"#monter-{ids[1]}").click()
    expect(items.first).to_contain_text("Deuxième")
    expect(page.locator(f"#monter-{ids[1]}")).to_be_focused()
    expect(page.locator("#order-announce")).to_have_text("Question déplacée en place 1 sur 2.")
    assert_accessible(page, "order after move")

    page.get_by_role("link", name="Ouvrir le direct").click()
    expect(page.locator("#live-question")).to_contain_text("Deuxième question du direct ?")
    expect(page.get_by_text("Question 1 sur 2")).to_be_visible()
    assert_accessible(page, "live")
    screenshot(page, "facilitator-live")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#live-question")).to_contain_text("Première question du direct ?")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#live-question")).to_contain_text("Deuxième question du direct ?")
    page.get_by_role("button", name="Répondue en direct").click()
    expect(page.get_by_text("Question 2 sur 2")).to_be_visible()
    with fac_app.app_context():
        assert db.session.get(Question, ids[1]).status == "repondue"


def test_episode_edit_in_place(fac_app: Flask, page: Page, base_url: str) -> None:
    log_in(page, base_url)
    page.goto(base_url + f"/animation/episodes/{EPISODE}/modifier")
    page.get_by_label("Lien pour rejoindre le direct").fill("javascript:alert(1)")
    page.get_by_role("button", name="Enregistrer").click()
    field = page.get_by_label("Lien pour rejoindre le direct")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    expect(page.locator("#join_url-erreur")).to_contain_text("commençant par https://")
    assert_accessible(page, "edit with error")
    screenshot(page, "facilitator-edit-error")
    field.fill("https://visio.example.org/episode-1")
    page.get_by_label("Heure de début (heure de Paris)").fill("14:30")
    page.get_by_role("button", name="Enregistrer").click()
    saved = page.locator("#episode-form [data-status]")
    expect(saved).to_contain_text("Épisode enregistré")
    expect(saved).to_be_focused()  # read out as it gets the focus
    # The date and time under the heading follow the change.
    expect(page.locator("#episode-heading time")).to_contain_text("14 h 30 – 15 h 30")
    assert_accessible(page, "edit saved")
    with fac_app.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
        assert episode.join_url == "https://visio.example.org/episode-1"
        assert episode.starts_at == datetime(2026, 11, 26, 13, 30, tzinfo=UTC)
        assert episode.sequence == 1


def test_export_links_download_csv(fac_app: Flask, page: Page, base_url: str) -> None:
    seed(fac_app, [{"text": "=1+1 et les accents é à ç ?"}])
    log_in(page, base_url)
    page.goto(base_url + f"/animation/episodes/{EPISODE}/questions")
    with page.expect_download() as info:
        page.get_by_role("link", name="Questions en CSV").click()
    download = info.value
    assert download.suggested_filename == "questions-episode-1.csv"
    body = Path(download.path()).read_bytes()
    assert body.startswith(b"\xef\xbb\xbf")
    assert "'=1+1 et les accents é à ç ?" in body.decode("utf-8-sig")
    page.goto(base_url + "/animation/inscrits")
    with page.expect_download() as info:
        page.get_by_role("link", name="Exporter tous les inscrits (CSV)").click()
    assert info.value.suggested_filename == "inscrits.csv"


def test_works_without_javascript(fac_app: Flask, browser: Browser, base_url: str) -> None:
    ids = seed(fac_app, [{"text": "Sans JavaScript aussi ?"}])
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, base_url)
    page.goto(base_url + f"/animation/episodes/{EPISODE}/questions?tri=anciennes")
    page.locator(f"#question-{ids[0]}").get_by_role("button", name="Retenue").click()
    expect(page).to_have_url(base_url + f"/animation/episodes/{EPISODE}/questions?tri=anciennes")
    expect(page.get_by_text(f"Question n° {ids[0]} retenue.")).to_be_visible()
    # (axe needs JavaScript in the page: the same page is checked with it elsewhere.)
    context.close()


def test_followup_page_after_the_episode(fac_app: Flask, page: Page, base_url: str) -> None:
    seed(fac_app, [{"text": "Répondue en direct ?", "status": "repondue", "live_order": 1}])
    fac_app.extensions["clock"].freeze(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    log_in(page, base_url)
    page.goto(base_url + f"/animation/episodes/{EPISODE}/suivi")
    expect(page.locator(".mail-body")).to_contain_text("Répondue en direct ?")
    assert_accessible(page, "followup preview")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Envoyer à 1 personne").click()
    expect(page.get_by_text("Droit de suite envoyé à 1 personne.")).to_be_visible()
    assert_accessible(page, "followup sent")
    screenshot(page, "facilitator-followup-sent")
