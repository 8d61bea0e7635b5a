"""Editing an episode: title, teaser, date and time (Paris), duration, speakers, links.

A new date or time for an episode with registrants is not saved at once: the page asks
"Prévenir les N inscrits ?" with the notice's preview, and only the confirmation mails it.
"""

from __future__ import annotations

from flask import Response, request, url_for

from ...http import after_post, render
from ...programme.services import episode_or_404
from .. import bp
from ..episodes import EpisodeChange, MovePlan, plan_move, update_episode
from ..forms import EpisodeForm
from . import found, me

#: the confirmation's answer: tell the registrants ("1") or not ("0")
NOTIFY = "prevenir"


@bp.route("/episodes/<slug>/modifier", methods=["GET", "POST"])
def edit_episode(slug: str) -> Response:
    """The form; saved in place (htmx) or with a 303 back to it; a move asks first."""
    episode = episode_or_404(slug)
    form = EpisodeForm.of(episode)
    if not form.is_submitted():
        return _form(episode, form)
    if not form.validate():
        return _form(episode, form, status=422)
    plan = plan_move(episode, form.values())
    answer = request.form.get(NOTIFY)
    answered = answer in ("1", "0") and request.form.get("confirme_pour") == plan.key
    if plan.asks_first and not answered:
        return _form(episode, form, plan=plan)
    change = found(update_episode, episode.id, form.values(), me(), notify=answer == "1")
    return after_post(
        url_for(".edit_episode", slug=slug),
        change.summary,
        fragment=lambda: _form(episode_or_404(slug), form, change=change),
    )


def _form(  # type: ignore[no-untyped-def]
    episode,
    form: EpisodeForm,
    status: int = 200,
    change: EpisodeChange | None = None,
    plan: MovePlan | None = None,
):
    return render(
        "facilitator/episode_edit.html",
        "facilitator/_episode_form.html",
        targets=("episode-form",),
        status=status,
        episode=episode,
        form=form,
        change=change,
        plan=plan,
        refresh_heading=True,
    )
