"""Reviewing an episode's questions: the list, an action on one, its note, new arrivals."""

from __future__ import annotations

from typing import NoReturn
from urllib.parse import parse_qsl, urlsplit

from flask import Response, render_template, request, url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from ...converters import db_int
from ...http import after_post, refuse, render
from ...models import Episode, Question
from ...programme.services import episode_or_404
from ...vocabulary import ReviewAction
from .. import bp
from ..acting import act_on_question, save_note
from ..forms import NoteForm
from ..review import (
    ReviewFilters,
    ReviewPage,
    listed_question,
    new_questions_since,
    question_with_author,
    review_page,
    row_details,
    status_counts,
)
from ..rows import RowMaker, review_rows
from . import back_to, found, me


@bp.get("/episodes/<slug>/questions")
def review(slug: str) -> Response:
    """An episode's questions: filter, sort, search, paginate, act in place."""
    episode = episode_or_404(slug)
    view = review_page(episode, ReviewFilters.from_args(request.args))
    return render(
        "facilitator/review.html",
        "facilitator/_question_list.html",
        targets=("question-list",),
        episode=episode,
        view=view,
        filters=view.filters,
        back=request.full_path.rstrip("?"),
    )


@bp.app_template_global()
def review_list(view: ReviewPage, episode: Episode, back: str | None) -> Markup:
    """The rows of a page of the review list."""
    return review_rows(view.questions, view.details, episode, back, generate_csrf())


@bp.post("/episodes/<slug>/questions/<int:question_id>")
def act(slug: str, question_id: int) -> Response:
    """Retenir, marquer répondue en direct, remettre en nouvelle, publier, dépublier."""
    episode = episode_or_404(slug)
    try:
        action = ReviewAction(request.form.get("action", ""))
    except ValueError:
        refuse(400, "Action inconnue : rechargez la page et réessayez.")
    seen = request.form.get("revision", type=db_int)
    note = found(act_on_question, question_id, episode.id, action, me(), seen)
    return question_answer(episode, question_id, done_message(question_id, action.done, note))


def done_message(question_id: int, done: str, note: str = "") -> str:
    """What the announcement says after an action (and who acted first, if someone did)."""
    return f"Question n° {question_id} {done}." + (f" {note}" if note else "")


@bp.post("/episodes/<slug>/questions/<int:question_id>/note")
def note(slug: str, question_id: int) -> Response:
    """Save the private note of a question."""
    episode = episode_or_404(slug)
    form = NoteForm()
    if not form.validate():
        return after_post(
            back_to(url_for(".review", slug=slug)),
            form.note.errors[0],
            category="error",
            fragment=lambda: _row(episode, question_id, "", form, 422),
        )
    found(save_note, question_id, episode.id, form.note.data or "", me())
    message = f"Note de la question n° {question_id} enregistrée."
    return question_answer(episode, question_id, message)


def question_or_404(question_id: int, episode: Episode) -> Question:
    return question_with_author(question_id, episode.id) or _missing()


def _missing() -> NoReturn:
    refuse(404, "Cette question n’existe pas ou plus.")


def question_answer(episode: Episode, question_id: int, message: str) -> Response:
    """htmx: the row again, with the counts and the announcement out of band; else 303."""
    return after_post(
        back_to(url_for(".review", slug=episode.slug)),
        message,
        fragment=lambda: _row(episode, question_id, message),
    )


def _row(
    episode: Episode,
    question_id: int,
    message: str,
    note_form: NoteForm | None = None,
    status: int = 200,
) -> Response:
    question = listed_question(question_id, episode.id) or _missing()
    back = back_to(url_for(".review", slug=episode.slug))
    html = render_template(
        "facilitator/_question_updated.html",
        episode=episode,
        row=RowMaker(episode, back, generate_csrf()).row(
            question, row_details([question.id], episode.series_id)[question.id]
        ),
        counts=status_counts(episode.id)[0],
        filters=ReviewFilters.from_args(dict(parse_qsl(urlsplit(back).query))),
        back=back,
        message=message,
        note_form=note_form,
    )
    return Response(html, status)


@bp.get("/episodes/<slug>/questions/nouvelles")
def new_questions(slug: str) -> Response:
    """How many questions arrived since the page was loaded; 204 when nothing new to say."""
    episode = episode_or_404(slug)
    after = request.args.get("apres", type=db_int, default=0)
    count = new_questions_since(episode.id, after)
    if count == request.args.get("deja", type=db_int, default=0):
        return Response(status=204)
    return render("facilitator/_new_questions.html", episode=episode, count=count, after=after)
