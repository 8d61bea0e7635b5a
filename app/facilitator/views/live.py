"""The running order, the live view for screen sharing, the printable sheet."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for

from ...converters import db_int
from ...http import refuse, render, wants_fragment
from ...programme.services import episode_or_404
from ...vocabulary import OrderMove, ReviewAction
from .. import bp
from ..review import act_on_question
from ..running_order import move_in_order, running_order
from . import found, me


@bp.get("/episodes/<slug>/ordre")
def order(slug: str) -> Response:
    """The retained questions in the order they will be asked."""
    episode = episode_or_404(slug)
    return render(
        "facilitator/order.html",
        "facilitator/_order_list.html",
        targets=("running-order",),
        episode=episode,
        questions=running_order(episode.id),
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
        questions=running_order(episode.id),
        moved=question_id if moved else None,
    )


@bp.get("/episodes/<slug>/direct")
def live(slug: str) -> str:
    """One question at a time, large, for screen sharing."""
    episode = episode_or_404(slug)
    questions = running_order(episode.id)
    position = max(1, min(request.args.get("n", type=db_int, default=1), max(len(questions), 1)))
    return render_template(
        "facilitator/live.html",
        episode=episode,
        question=questions[position - 1] if questions else None,
        position=position,
        total=len(questions),
    )


@bp.post("/episodes/<slug>/direct")
def live_answered(slug: str) -> Response:
    """Mark the shown question answered, then show the next one."""
    episode = episode_or_404(slug)
    question_id = request.form.get("question_id", type=db_int)
    position = request.form.get("n", type=db_int, default=1)
    if question_id is None:
        refuse(400, "Question non précisée : rechargez la page et réessayez.")
    found(act_on_question, question_id, episode.id, ReviewAction.ANSWERED, me())
    total = len(running_order(episode.id))
    return redirect(url_for(".live", slug=slug, n=min(position + 1, max(total, 1))), code=303)


@bp.get("/episodes/<slug>/impression")
def print_sheet(slug: str) -> str:
    """A clean printable sheet of the retained questions, in running order."""
    episode = episode_or_404(slug)
    return render_template(
        "facilitator/print.html", episode=episode, questions=running_order(episode.id)
    )
