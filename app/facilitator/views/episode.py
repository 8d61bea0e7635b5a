"""Editing an episode: title, teaser, date and time (Paris), duration, speakers, links."""

from __future__ import annotations

from flask import Response, url_for

from ...http import after_post, render
from ...programme.services import episode_or_404
from .. import bp
from ..episodes import update_episode
from ..forms import EpisodeForm
from . import found, me


@bp.route("/episodes/<slug>/modifier", methods=["GET", "POST"])
def edit_episode(slug: str) -> Response:
    """The form; saved in place (htmx) or with a 303 back to it."""
    episode = episode_or_404(slug)
    form = EpisodeForm.of(episode)
    if not form.is_submitted():
        return _form(episode, form)
    if not form.validate():
        return _form(episode, form, status=422)
    saved = found(update_episode, episode.id, form.values(), me())
    message = "Épisode enregistré." if saved else "Aucun changement à enregistrer."
    return after_post(
        url_for(".edit_episode", slug=slug),
        message,
        fragment=lambda: _form(episode_or_404(slug), form, saved=saved),
    )


def _form(episode, form: EpisodeForm, status: int = 200, saved: list[str] | None = None):  # type: ignore[no-untyped-def]
    return render(
        "facilitator/episode_edit.html",
        "facilitator/_episode_form.html",
        targets=("episode-form",),
        status=status,
        episode=episode,
        form=form,
        saved=saved,
        refresh_heading=True,
    )
