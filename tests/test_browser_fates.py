"""Question fates in a real Chromium (issue 10): decline with a reason, merge and undo,
carry over with a theme, the public register, the author's view, the live view on air, and
two facilitators acting on one question at once. axe-core after every swap."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, Locator, Page, expect

from app.extensions import db
from app.models import Question
from tests.support.browser import assert_accessible, screenshot
from tests.support.database import NOW
from tests.support.facilitator import PASSWORD, create_account
from tests.support.fates import add_votes, fresh, seed_question, set_replay, voters
from tests.support.questions import starts_at

pytestmark = [pytest.mark.browser]

REVIEW = "/animation/episodes/plateformes-civictech/questions"
EPISODE_PAGE = "/episodes/plateformes-civictech"
FULL_HD = {"width": 1920, "height": 1080}


@pytest.fixture
def fac_app(live_app: Flask) -> Flask:
    """The live app with a facilitator account."""
    create_account(live_app)
    return live_app


def log_in(page: Page, base_url: str, email: str = "animation@example.org") -> None:
    page.goto(base_url + "/animation/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord")


def theme_id(app: Flask) -> int:
    """The id of the only theme."""
    from app.models import Theme

    with app.app_context():
        return db.session.scalars(sa.select(Theme.id)).one()


def choose_episode(select: Locator, number: int) -> None:
    """Pick "Épisode N : …" in a list of episodes."""
    option = select.locator("option", has_text=f"Épisode {number} :")
    select.select_option(value=option.get_attribute("value"))


def open_panel(page: Page, question_id: int, opener: str) -> None:
    """Open a row's fate panel with one of its buttons, as a person would."""
    row = page.locator(f"#question-{question_id}")
    row.get_by_role("link", name=opener).click()
    expect(row.locator(".fate-panel")).to_be_visible()


def test_decline_with_a_reason_keyboard_only(
    fac_app: Flask, page: Page, base_url: str, make_attendee
) -> None:
    author, _ = make_attendee(target_app=fac_app, first_name="Aïcha", last_name="Durand")
    question_id = seed_question(
        fac_app,
        "Et si on votait les impôts en ligne ?",
        attendee_id=author,
        published=True,
        show_name=True,
    )
    log_in(page, base_url)
    page.goto(base_url + REVIEW)
    row = page.locator(f"#question-{question_id}")
    row.focus()
    page.keyboard.press("e")
    detail = row.get_by_label("Précision pour la personne")
    expect(detail).to_be_focused()
    assert_accessible(page, "decline panel open")
    # "Autre" needs words: refused next to the field, in place, nothing changed.
    page.keyboard.press("Tab")
    for _ in range(4):
        page.keyboard.press("Tab")
    expect(row.get_by_role("button", name="Autre")).to_be_focused()
    page.keyboard.press("Enter")
    expect(detail).to_have_attribute("aria-invalid", "true")
    expect(row.locator(f"#q{question_id}-detail-erreur")).to_contain_text("quelques mots")
    expect(detail).to_be_focused()
    assert fresh(fac_app, question_id).status == "nouvelle"
    assert_accessible(page, "decline refused")
    screenshot(page, "fates-decline-refused", full_page=False)
    detail.fill("Ce cycle ne traite pas de la fiscalité locale.")
    page.keyboard.press("Tab")
    for _ in range(4):
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(row.locator(".badge-ecartee")).to_be_visible()
    expect(row).to_contain_text("Écartée : autre — Ce cycle ne traite pas de la fiscalité locale.")
    expect(page.locator("#review-announce")).to_have_text(f"Question n° {question_id} écartée.")
    assert_accessible(page, "declined")
    stored = fresh(fac_app, question_id)
    assert (stored.status, stored.published, stored.decline_reason) == ("ecartee", False, "autre")
    # Gone from the public page at once.
    visitor = page.context.browser.new_page()
    visitor.goto(base_url + EPISODE_PAGE)
    expect(visitor.locator("#questions-publiees")).not_to_contain_text("impôts en ligne")
    visitor.close()
    # Escape closes a panel opened by mistake and gives the focus back to its opener.
    other = seed_question(fac_app, "Une autre ?")
    page.reload()
    opener = page.locator(f"#question-{other}").get_by_role("link", name="Fusionner…")
    opener.click()
    expect(page.locator(f"#q{other}-keep")).to_be_focused()  # as a person would, once in it
    page.keyboard.press("Escape")
    expect(page.locator(f"#question-{other} .fate-panel")).to_have_count(0)
    expect(opener).to_be_focused()


def test_merge_refused_then_done_then_undone_and_the_author_is_told(
    fac_app: Flask, browser: Browser, page: Page, base_url: str, make_attendee
) -> None:
    page.set_viewport_size(FULL_HD)
    kept_author, _ = make_attendee(target_app=fac_app, first_name="Inès")
    author, token = make_attendee(target_app=fac_app, first_name="Marc", last_name="Petit")
    people = [make_attendee(target_app=fac_app)[0] for _ in range(3)]
    kept = seed_question(
        fac_app,
        "Comment toucher les publics éloignés du numérique ?",
        attendee_id=kept_author,
        published=True,
    )
    merged = seed_question(
        fac_app,
        "Comment associer celles et ceux qui n’ont pas internet ?",
        attendee_id=author,
        published=True,
    )
    elsewhere = seed_question(fac_app, "Une question de l’épisode 2 ?", episode=2)
    add_votes(fac_app, kept, people[:2])
    add_votes(fac_app, merged, people[1:])
    log_in(page, base_url)
    page.goto(base_url + REVIEW + "?tri=anciennes")
    row = page.locator(f"#question-{merged}")
    open_panel(page, merged, "Fusionner…")
    number = row.get_by_label("Numéro de la question à garder")
    expect(number).to_be_focused()
    assert_accessible(page, "merge panel")
    for wrong, message in [
        (merged, "Une question ne peut pas être fusionnée avec elle-même."),
        (elsewhere, f"La question n° {elsewhere} appartient à un autre épisode"),
    ]:
        number.fill(str(wrong))
        number.press("Enter")
        expect(row.locator(f"#q{merged}-keep-erreur")).to_contain_text(message)
        expect(number).to_have_attribute("aria-invalid", "true")
        assert_accessible(page, f"merge refused {wrong}")
    assert fresh(fac_app, merged).status == "nouvelle"
    screenshot(page, "fates-merge-refused", full_page=False)
    number.fill(str(kept))
    row.get_by_role("button", name="Fusionner", exact=True).click()
    expect(row).to_contain_text(f"Fusionnée avec la question n° {kept}")
    expect(row.get_by_role("button", name="Annuler la fusion")).to_be_visible()
    assert_accessible(page, "merged")
    assert voters(fac_app, kept) == set(people)
    expect(page.locator(f"#question-{kept}")).to_contain_text("2 votes")  # until reloaded
    page.reload()
    expect(page.locator(f"#question-{kept}")).to_contain_text("3 votes")
    expect(page.locator(f"#question-{kept}")).to_contain_text("Regroupe 1 autre question")

    # The author, in their space, is told where their question went.
    author_page = browser.new_page(viewport=FULL_HD)
    author_page.goto(base_url + f"/moi/{token}")
    notice = author_page.locator("#sort-de-mes-questions")
    expect(notice).to_contain_text("regroupée avec une question semblable")
    item = author_page.locator(f"#question-{merged}")
    expect(item).to_contain_text("Comment toucher les publics éloignés du numérique ?")
    expect(item).not_to_contain_text("Inès")  # the kept question's author stays unnamed
    assert_accessible(author_page, "author's space after merge")
    screenshot(author_page, "fates-author-space-merged")
    # The public page points from the merged question to the kept one.
    author_page.goto(base_url + EPISODE_PAGE)
    pointer = author_page.locator(f"#question-publiee-{merged}")
    expect(pointer).to_contain_text("Regroupée avec une question semblable")
    pointer.get_by_role("link").click()
    expect(author_page).to_have_url(re.compile(rf"#question-publiee-{kept}$"))
    assert_accessible(author_page, "public page with a merged question")
    author_page.close()

    # Undo, before the episode starts: the votes it lent go back.
    page.locator(f"#question-{merged}").get_by_role("button", name="Annuler la fusion").click()
    expect(page.locator(f"#question-{merged} .badge-nouvelle")).to_be_visible()
    assert_accessible(page, "merge undone")
    assert voters(fac_app, kept) == set(people[:2])
    assert voters(fac_app, merged) == set(people[1:])


def test_carry_over_with_a_theme_created_in_place_and_filter_by_it(
    fac_app: Flask, browser: Browser, page: Page, base_url: str, make_attendee
) -> None:
    author, token = make_attendee(target_app=fac_app, first_name="Léa", episodes=(1,))
    question_id = seed_question(
        fac_app,
        "Le tirage au sort des panels, ça marche ?",
        attendee_id=author,
        published=True,
    )
    seed_question(fac_app, "Sans thème ?")
    add_votes(fac_app, question_id, [make_attendee(target_app=fac_app)[0]])
    log_in(page, base_url)
    page.goto(base_url + REVIEW)
    row = page.locator(f"#question-{question_id}")
    open_panel(page, question_id, "Autres sorts et thèmes…")
    assert_accessible(page, "fate panel")
    row.get_by_label("Nouveau thème").fill("Tirage au sort")
    row.get_by_role("button", name="Enregistrer les thèmes").click()
    expect(row.get_by_role("list", name=f"Thèmes de la question n° {question_id}")).to_contain_text(
        "Tirage au sort"
    )
    assert_accessible(page, "theme created")
    # Filter the review by the new theme: its tag is a link, the filters offer it too.
    row.get_by_role("link", name="Tirage au sort").click()
    expect(page.locator("#question-list-title")).to_contain_text(
        "1 question sur le thème « Tirage au sort »"
    )
    expect(page.get_by_text("Sans thème ?")).to_have_count(0)
    expect(page.get_by_label("Thème", exact=True)).to_have_value(str(theme_id(fac_app)))
    assert_accessible(page, "review filtered by theme")
    page.get_by_label("Thème", exact=True).select_option(label="Tous les thèmes")
    page.get_by_role("button", name="Afficher").click()
    expect(page.get_by_text("Sans thème ?")).to_be_visible()
    # Carry it over to episode 3.
    open_panel(page, question_id, "Autres sorts et thèmes…")
    choose_episode(row.get_by_label("Épisode où la reporter"), 3)
    row.get_by_role("button", name="Reporter").click()
    expect(row).to_contain_text("Reportée à l’épisode 3")
    assert_accessible(page, "carried over")
    original = fresh(fac_app, question_id)
    copy = fresh(fac_app, original.carried_to_id)
    assert copy.attendee_id == author and copy.vote_count == 1
    # The author sees where it went, and can follow that episode.
    author_page = browser.new_page()
    author_page.goto(base_url + f"/moi/{token}")
    item = author_page.locator(f"#question-{question_id}")
    expect(item).to_contain_text("Reportée à l’épisode 3")
    expect(item.get_by_role("link", name=re.compile("épisode 3"))).to_be_visible()
    expect(author_page.locator(f"#question-{copy.id}")).to_contain_text(
        "Reportée depuis l’épisode 1"
    )
    assert_accessible(author_page, "author's space, carried over")
    author_page.close()


def test_public_register_and_the_authors_view_after_the_episode(
    fac_app: Flask, browser: Browser, page: Page, base_url: str, make_attendee
) -> None:
    named, token = make_attendee(
        target_app=fac_app, first_name="Aïcha", last_name="Benali", episodes=(1, 2, 3)
    )
    anonymous, _ = make_attendee(target_app=fac_app, first_name="Secret", last_name="Gardé")
    set_replay(fac_app, 1, "https://www.youtube.com/watch?v=replay1")
    on_air = seed_question(
        fac_app,
        "Quels indicateurs pour une consultation réussie ?",
        attendee_id=named,
        show_name=True,
        published=True,
        status="repondue",
        live_order=1,
    )
    written = seed_question(
        fac_app,
        "Où trouver la charte de modération type ?",
        attendee_id=anonymous,
        published=True,
    )
    declined = seed_question(fac_app, "Hors sujet ?", attendee_id=named)
    merged = seed_question(fac_app, "Quels indicateurs suivre ?", attendee_id=named)
    carried = seed_question(fac_app, "Et la jeunesse ?", attendee_id=named)
    log_in(page, base_url)
    # The fates given before the episode, as the facilitator does in the panel.
    page.goto(base_url + REVIEW)
    for question_id, opener, fill, button in [
        (
            written,
            "Autres sorts et thèmes…",
            ("Réponse écrite", "Voyez la charte type sur le site de la CNDP."),
            "Enregistrer la réponse écrite",
        ),
        (declined, "Écarter…", None, "Hors sujet"),
        (merged, "Fusionner…", ("Numéro de la question à garder", str(on_air)), "Fusionner"),
    ]:
        open_panel(page, question_id, opener)
        row = page.locator(f"#question-{question_id}")
        if fill:
            row.get_by_label(fill[0]).fill(fill[1])
        row.get_by_role("button", name=button, exact=True).click()
        expect(row.locator(".fate-panel")).to_have_count(0)
        assert_accessible(page, f"fate given to {question_id}")
    open_panel(page, carried, "Autres sorts et thèmes…")
    choose_episode(page.locator(f"#question-{carried}").get_by_label("Épisode où la reporter"), 2)
    page.locator(f"#question-{carried}").get_by_role("button", name="Reporter").click()
    expect(page.locator(f"#question-{carried}")).to_contain_text("Reportée à l’épisode 2")
    with fac_app.app_context():
        db.session.get(Question, on_air).replay_seconds = 754
        db.session.commit()

    # During the episode: the counts, no answers yet.
    visitor = browser.new_page(viewport=FULL_HD)
    fac_app.extensions["clock"].freeze(starts_at(fac_app, 1) + timedelta(minutes=20))
    visitor.goto(base_url + EPISODE_PAGE)
    register = visitor.locator("#registre")
    expect(register).to_contain_text("5 questions reçues")
    expect(register).to_contain_text("1 écartée — hors sujet : 1")
    expect(register.get_by_role("heading", name="Les réponses")).to_have_count(0)
    assert_accessible(visitor, "register during the episode")

    # After it: the answers, with their moment in the replay; anonymous stays anonymous.
    fac_app.extensions["clock"].freeze(starts_at(fac_app, 1) + timedelta(hours=3))
    visitor.reload()
    for text in (
        "1 répondue en direct",
        "1 répondue par écrit",
        "1 regroupée avec une question semblable",
        "1 reportée à un épisode suivant",
        "1 écartée — hors sujet : 1",
    ):
        expect(register).to_contain_text(text)
    answers = register.locator(".register-answers")
    expect(answers.get_by_role("link", name=re.compile("à 12:34"))).to_have_attribute(
        "href", "https://www.youtube.com/watch?v=replay1&t=754s"
    )
    expect(answers).to_contain_text("Aïcha Benali")
    expect(answers).to_contain_text("Voyez la charte type sur le site de la CNDP.")
    expect(answers).to_contain_text("Anonyme")
    expect(visitor.locator("body")).not_to_contain_text("Secret Gardé")
    assert_accessible(visitor, "register after the episode")
    register.scroll_into_view_if_needed()
    screenshot(visitor, "fates-public-register", full_page=False)
    screenshot(visitor, "fates-public-register-full")
    visitor.close()

    # The author's space: each question's fate and the reason.
    author_page = browser.new_page(viewport=FULL_HD)
    author_page.goto(base_url + f"/moi/{token}")
    space = author_page.locator("#mes-questions")
    expect(author_page.locator(f"#question-{on_air}")).to_contain_text(
        "Répondue en direct, à 12:34"
    )
    expect(
        author_page.locator(f"#question-{on_air}").get_by_role(
            "link", name="Voir la réponse dans le replay"
        )
    ).to_be_visible()
    expect(author_page.locator(f"#question-{declined}")).to_contain_text("Motif : hors sujet")
    expect(author_page.locator(f"#question-{merged}")).to_contain_text(
        "regroupée avec une question semblable"
    )
    expect(author_page.locator(f"#question-{carried}")).to_contain_text("Reportée à l’épisode 2")
    expect(space).to_be_visible()
    assert_accessible(author_page, "author's view")
    author_page.locator("#mes-questions").scroll_into_view_if_needed()
    screenshot(author_page, "fates-author-view", full_page=False)
    screenshot(author_page, "fates-author-view-full")
    author_page.close()


def test_live_view_on_air_follows_the_running_order_by_itself(
    fac_app: Flask, browser: Browser, page: Page, base_url: str, make_attendee
) -> None:
    speaker, _ = make_attendee(
        target_app=fac_app, first_name="Camille", last_name="Roux", organisation="Métropole de Lyon"
    )
    first = seed_question(
        fac_app,
        "Comment rendre compte aux habitants de ce qui a été fait de leurs avis ?",
        attendee_id=speaker,
        show_name=True,
        status="retenue",
        live_order=1,
    )
    second = seed_question(
        fac_app,
        "Faut-il rémunérer les citoyens tirés au sort ?",
        status="retenue",
        live_order=2,
    )
    add_votes(fac_app, first, [make_attendee(target_app=fac_app)[0] for _ in range(3)])
    fac_app.extensions["clock"].freeze(starts_at(fac_app, 1) + timedelta(minutes=7, seconds=5))
    log_in(page, base_url)
    screen = page.context.new_page()
    screen.set_viewport_size(FULL_HD)
    screen.goto(base_url + "/animation/episodes/plateformes-civictech/direct")
    expect(screen.locator("#live-question")).to_contain_text("rendre compte aux habitants")
    expect(screen.locator(".site-header")).to_be_hidden()
    expect(screen.locator(".live-votes")).to_have_text("3 votes")
    expect(screen.locator(".live-next")).to_contain_text("rémunérer les citoyens")
    assert_accessible(screen, "live view")

    # Picked up by itself: a question retained meanwhile, votes given meanwhile.
    third = seed_question(
        fac_app,
        "Quelle place pour les élus dans un budget participatif ?",
        status="retenue",
        live_order=3,
    )
    add_votes(fac_app, first, [make_attendee(target_app=fac_app)[0]])
    expect(screen.locator(".live-next")).to_contain_text("place pour les élus", timeout=10_000)
    expect(screen.locator(".live-votes")).to_have_text("4 votes", timeout=10_000)
    assert_accessible(screen, "live view after polling")
    screenshot(screen, "fates-live-view", full_page=False)

    # Driven from the running order with the keyboard: the shared screen follows.
    page.goto(base_url + "/animation/episodes/plateformes-civictech/ordre")
    expect(page.locator(f"#ordre-{first}")).to_have_attribute("aria-current", "true")
    page.locator("#running-order-suivante").focus()
    page.keyboard.press("Enter")
    expect(page.locator(f"#ordre-{second}")).to_have_attribute("aria-current", "true")
    expect(page.locator("#running-order-suivante")).to_be_focused()
    assert_accessible(page, "running order after next")
    expect(screen.locator("#live-question")).to_contain_text("rémunérer", timeout=10_000)
    page.keyboard.press("ArrowLeft")
    expect(page.locator(f"#ordre-{first}")).to_have_attribute("aria-current", "true")
    expect(screen.locator("#live-question")).to_contain_text("rendre compte", timeout=10_000)
    # Answered on air from the running order: its moment in the replay is the time elapsed.
    page.locator("#running-order-repondue").click()
    expect(page.locator(f"#ordre-{second}")).to_have_attribute("aria-current", "true")
    assert fresh(fac_app, first).status == "repondue"
    assert fresh(fac_app, first).replay_seconds == 7 * 60 + 5
    expect(screen.locator("#live-question")).to_contain_text("rémunérer", timeout=10_000)
    # And from the live view itself, with the arrow keys.
    screen.keyboard.press("ArrowRight")
    expect(screen.locator("#live-question")).to_contain_text("place pour les élus")
    assert_accessible(screen, "live view after arrow")
    assert third


def test_two_facilitators_on_one_question_the_last_one_wins_visibly(
    fac_app: Flask, browser: Browser, base_url: str, make_attendee
) -> None:
    create_account(fac_app, "deuxieme@example.org")
    question_id = seed_question(fac_app, "Une question disputée ?", published=True)
    others = [seed_question(fac_app, f"Autre {n} ?") for n in range(3)]
    first, second = browser.new_context(), browser.new_context()
    a, b = first.new_page(), second.new_page()
    log_in(a, base_url)
    log_in(b, base_url, "deuxieme@example.org")
    for page in (a, b):
        page.goto(base_url + REVIEW)
    # A declines it; B, whose page still shows it new, retains it a moment later.
    open_panel(a, question_id, "Écarter…")
    a.locator(f"#question-{question_id}").get_by_role("button", name="Doublon").click()
    expect(a.locator(f"#question-{question_id} .badge-ecartee")).to_be_visible()
    b.locator(f"#question-{question_id}").get_by_role("button", name="Retenue").click()
    row_b = b.locator(f"#question-{question_id}")
    expect(row_b.get_by_role("button", name="Retenue")).to_have_attribute("aria-pressed", "true")
    expect(b.locator("#review-announce")).to_contain_text(
        "Entre-temps, animation@example.org avait changé cette question (écartée) : "
        "votre choix l’a remplacé."
    )
    assert_accessible(b, "overtaken")
    # A sees the outcome on the next look; the counts are exact.
    a.reload()
    expect(a.locator(f"#question-{question_id} .badge-retenue")).to_be_visible()
    counts = a.locator("#status-counts")
    expect(counts.get_by_role("link", name="Toutes 4")).to_be_visible()
    expect(counts.get_by_role("link", name="Retenues 1")).to_be_visible()
    expect(counts.get_by_role("link", name="Nouvelles 3")).to_be_visible()
    expect(counts.get_by_role("link", name="Écartées 0")).to_be_visible()
    with fac_app.app_context():
        stored = db.session.get(Question, question_id)
        assert (stored.status, stored.decline_reason, stored.published) == ("retenue", None, False)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Question)) == 4
    assert others and NOW
    first.close()
    second.close()
