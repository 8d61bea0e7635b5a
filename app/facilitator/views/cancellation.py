"""Cancelling an episode, and maintaining it after all: each asks first, with the notice's
preview ("Prévenir les N inscrits ?"); only the confirmation changes and mails."""

from __future__ import annotations

from flask import Response, request, url_for

from ...http import after_post, render, wants_fragment
from ...models import Episode
from ...programme.services import episode_or_404
from .. import bp
from ..cancellation import (
    CancellationRefused,
    NoticePlan,
    cancel_episode,
    plan_cancellation,
    plan_reinstatement,
    reinstate_episode,
)
from ..forms import CancelForm
from . import found, me


@bp.route("/episodes/<slug>/annulation", methods=["GET", "POST"])
def cancellation(slug: str) -> Response:
    """The reason, then the notice's preview, then the cancellation once confirmed."""
    episode, form = episode_or_404(slug), CancelForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return _page(episode, form, status=status)
    try:
        plan = plan_cancellation(episode, form.reason.data)
    except CancellationRefused as refused:
        return _page(episode, form, status=409, error=refused.message)
    if request.form.get("confirme_pour") != plan.key:
        return _page(episode, form, plan=plan)
    told = found(cancel_episode, episode.id, form.reason.data, me())
    message = f"Épisode annulé. {_told(told)}"
    return after_post(
        url_for(".cancellation", slug=slug), message, fragment=lambda: _done(slug, message)
    )


@bp.post("/episodes/<slug>/maintien")
def reinstatement(slug: str) -> Response:
    """Maintain a cancelled episode after all: the preview, then the change once confirmed."""
    episode, form = episode_or_404(slug), CancelForm()
    try:
        plan = plan_reinstatement(episode)
    except CancellationRefused as refused:
        return _page(episode, form, status=409, error=refused.message)
    if not form.is_submitted() or request.form.get("confirme_pour") != plan.key:
        return _page(episode, form, plan=plan)
    told = found(reinstate_episode, episode.id, me())
    message = f"L’épisode est maintenu. {_told(told)}"
    return after_post(
        url_for(".cancellation", slug=slug), message, fragment=lambda: _done(slug, message)
    )


def _told(count: int) -> str:
    if not count:
        return "Aucun inscrit ne reçoit les avis : aucun e-mail n’est parti."
    return (
        f"{count} inscrit{'s' if count > 1 else ''} reçoi{'vent' if count > 1 else 't'} un e-mail."
    )


def _done(slug: str, message: str) -> Response:
    return _page(episode_or_404(slug), CancelForm(formdata=None), message=message)


def _page(
    episode: Episode,
    form: CancelForm,
    status: int = 200,
    plan: NoticePlan | None = None,
    error: str | None = None,
    message: str | None = None,
) -> Response:
    return render(
        "facilitator/cancellation.html",
        "facilitator/_cancellation.html",
        targets=("annulation",),
        status=status,
        message=message,
        refresh_heading=wants_fragment(),
        episode=episode,
        form=form,
        plan=plan,
        error=error,
    )
