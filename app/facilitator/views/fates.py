"""A question's fate panel: answer on air or in writing, merge (and undo), carry over,
decline with a reason, themes. Opened in place in the review row (htmx), or as a page."""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for

from ...http import refuse, render, wants_fragment
from ...models import Episode
from ...programme.services import episode_or_404
from ...refusals import Refusal
from ...vocabulary import FateAction
from .. import bp
from ..fate_forms import ThemesForm, blank_forms, fate_form, panel_ids
from ..fates import decide
from ..review import row_details
from ..themes import set_themes, themes_of_series
from . import found, me, safe_next
from .review import done_message, question_answer, question_or_404

#: the sections a shortcut can open the panel at
SECTIONS = {action.value for action in FateAction} | {"themes"}


@bp.get("/episodes/<slug>/questions/<int:question_id>/sort")
def fate_panel(slug: str, question_id: int) -> Response:
    """Every fate of one question, with its detail; opened in place or on its own page."""
    episode = episode_or_404(slug)
    section = request.args.get("ouvrir", "")
    return _panel(episode, question_id, section=section if section in SECTIONS else "")


@bp.post("/episodes/<slug>/questions/<int:question_id>/sort/<fate>")
def decide_fate(slug: str, question_id: int, fate: str) -> Response:
    """Answer on air or in writing, merge or undo it, carry over, decline with a reason."""
    episode = episode_or_404(slug)
    if fate not in set(FateAction):
        refuse(404, "Ce sort n’existe pas.")
    action = FateAction(fate)
    form = fate_form(action, episode, question_id)
    if not form.validate_on_submit():
        return _panel(episode, question_id, failed=form, status=422)
    try:
        note = found(decide, question_id, episode.id, form.decision(), me())
    except Refusal as refusal:
        if not form.main:  # no field to say it next to (undo, from the row): the alert region
            raise
        return _panel(
            episode, question_id, failed=form.refused(refusal.message), status=refusal.code
        )
    return question_answer(episode, question_id, done_message(question_id, action.done, note))


@bp.post("/episodes/<slug>/questions/<int:question_id>/themes")
def tag(slug: str, question_id: int) -> Response:
    """Tag the question with the cycle's themes, creating one in place if named."""
    episode = episode_or_404(slug)
    form = ThemesForm().offer(themes_of_series(episode.series_id))
    if not form.validate_on_submit():
        return _panel(episode, question_id, themes_form=form, status=422)
    try:
        found(set_themes, question_id, episode, form.themes.data or [], form.new_theme.data, me())
    except Refusal as refusal:  # the list is full: said next to the new name
        form.new_theme.errors = [refusal.message]
        return _panel(episode, question_id, themes_form=form, status=refusal.code)
    return question_answer(
        episode, question_id, f"Thèmes de la question n° {question_id} enregistrés."
    )


def _panel(
    episode: Episode,
    question_id: int,
    *,
    failed: Any = None,
    themes_form: ThemesForm | None = None,
    status: int = 200,
    section: str = "",
) -> Response:
    """The panel (the page without htmx); after a refusal, in place of itself."""
    question = question_or_404(question_id, episode)
    details = row_details([question.id], episode.series_id)[question.id]
    forms = blank_forms(episode, question)
    if failed is not None:
        forms[failed.action] = failed
        section = failed.action.value
    themes = themes_form or ThemesForm(formdata=None)
    panel_ids(themes.offer(themes_of_series(episode.series_id), details.themes), question.id)
    if themes_form is not None:
        section = "themes"
    response = render(
        "facilitator/fate.html",
        "facilitator/_fate_panel.html",
        status=status,
        episode=episode,
        question=question,
        details=details,
        forms=forms,
        themes_form=themes,
        section=section,
        back=safe_next(request.values.get("back")) or url_for(".review", slug=episode.slug),
    )
    if status >= 400 and wants_fragment():
        # In place of the panel itself, so what was typed elsewhere in the row stays.
        response.headers["HX-Retarget"] = f"#q{question.id}-sort-panel"
        response.headers["HX-Reswap"] = "outerHTML"
    return response
