"""The running order, the live view for screen sharing (driven from the running order or
from itself, with the keyboard), the printable sheet."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for

from ...converters import db_int
from ...http import refuse, render, wants_fragment
from ...models import Episode
from ...programme.services import episode_or_404
from ...vocabulary import OrderMove, ScreenMove
from .. import bp
from ..fates import answer_on_air_live
from ..running_order import move_in_order, running_order, screen, show_on_screen
from . import found, me, safe_next


@bp.get("/episodes/<slug>/ordre")
def order(slug: str) -> Response:
    """The retained questions in the order they will be asked, and what is on screen."""
    episode = episode_or_404(slug)
    return render(
        "facilitator/order.html",
        "facilitator/_order_list.html",
        targets=("running-order",),
        episode=episode,
        live=screen(episode.id),
    )


@bp.post("/episodes/<slug>/ordre")
def move(slug: str) -> Response:
    """Move one question up or down."""
    episode = episode_or_404(slug)
    question_id = request.form.get("question_id", type=db_int)
    direction = request.form.get("direction", "")
    if question_id is None or direction not in set(OrderMove):
        refuse(400, "Déplacement non compris : rechargez la page et réessayez.")
    moved = move_in_order(question_id, episode.id, OrderMove(direction), me())
    if not wants_fragment():
        if not moved:
            flash("Cette question ne peut pas aller plus loin.", "error")
        return redirect(url_for(".order", slug=slug) + f"#ordre-{question_id}", code=303)
    return render(
        "facilitator/_order_list.html",
        episode=episode,
        live=screen(episode.id),
        moved=question_id if moved else None,
    )


@bp.get("/episodes/<slug>/direct")
def live(slug: str) -> Response:
    """Full screen for screen sharing: the question on screen, its votes, the next ones.
    Polled every few seconds; nothing new answers 204."""
    episode = episode_or_404(slug)
    shown = screen(episode.id)
    if wants_fragment("live-screen") and request.args.get("etat") == shown.signature:
        return Response(status=204)
    return render(
        "facilitator/live.html",
        "facilitator/_live_screen.html",
        targets=("live-screen",),
        episode=episode,
        live=shown,
    )


@bp.post("/episodes/<slug>/direct")
def live_answered(slug: str) -> Response:
    """Mark the question on screen answered on air, at this moment of the live; the screen
    moves on to the next one."""
    episode = episode_or_404(slug)
    question_id = request.form.get("question_id", type=db_int)
    if question_id is None:
        refuse(400, "Question non précisée : rechargez la page et réessayez.")
    found(answer_on_air_live, question_id, episode.id, me())
    return _driven(episode, f"Question n° {question_id} répondue en direct.")


@bp.post("/episodes/<slug>/direct/ecran")
def show(slug: str) -> Response:
    """Put a question of the running order on screen, or the previous or next one."""
    episode = episode_or_404(slug)
    question_id = request.form.get("question_id", type=db_int)
    direction = request.form.get("direction", "")
    if question_id is None and direction not in set(ScreenMove):
        refuse(400, "Question non précisée : rechargez la page et réessayez.")
    step = ScreenMove(direction).step if direction in set(ScreenMove) else 0
    shown = show_on_screen(episode.id, me(), question_id=question_id, step=step)
    message = "Pas d’autre question de ce côté." if shown is None else None
    return _driven(episode, message or f"À l’écran : question n° {shown.id}.")


def _driven(episode: Episode, message: str) -> Response:
    """After a move on air: the part of the page that asked, else back where it came from."""
    if wants_fragment("running-order"):
        live = screen(episode.id)
        return render("facilitator/_order_list.html", episode=episode, live=live, said=message)
    if wants_fragment("live-screen"):
        return render("facilitator/_live_screen.html", episode=episode, live=screen(episode.id))
    flash(message, "success")
    back = safe_next(request.form.get("back")) or url_for(".live", slug=episode.slug)
    return redirect(back, code=303)


@bp.get("/episodes/<slug>/impression")
def print_sheet(slug: str) -> str:
    """A clean printable sheet of the retained questions, in running order."""
    episode = episode_or_404(slug)
    return render_template(
        "facilitator/print.html", episode=episode, questions=running_order(episode.id)
    )
