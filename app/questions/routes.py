"""Questions of an episode: ask, edit, withdraw, vote — fragments for htmx, pages without JS.

Everything here depends on who is asking, so nothing here is a shared page: the programme
page only links to these addresses and htmx loads them in place.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _

from ..clock import utcnow
from ..extensions import db, limiter
from ..forms import ConfirmForm
from ..http import Cache, after_post, blueprint_cache, render
from ..identity import Visitor, current_visitor, note_question_sent
from ..links import local_path
from ..models import Episode, Question
from ..programme.services import episode_or_404
from ..sessions import browser_rate_key
from . import bp
from .board import SHOWN_STEP, SORTS, own_questions, visible_question
from .forms import MAX_LENGTH, MIN_LENGTH, QuestionForm
from .services import QuestionsClosed, send_question, update_question, withdraw_question

blueprint_cache(bp, Cache.NEVER)

#: tells the published list (episode page) to refresh after a change of one's own question
CHANGED_EVENT = "questions-changed"


def question_limit() -> str:
    """Rate limit on sending and changing questions (configurable)."""
    return str(current_app.config["RATELIMIT_QUESTION"])


@bp.record_once
def _template_globals(state: Any) -> None:
    """Lengths and sorts the question templates (and their macros) share."""
    state.app.jinja_env.globals.update(
        QUESTION_MIN_LENGTH=MIN_LENGTH,
        QUESTION_MAX_LENGTH=MAX_LENGTH,
        QUESTION_SORTS=SORTS,
        SHOWN_STEP=SHOWN_STEP,
    )


def _ask_url(episode: Episode) -> str:
    return url_for("questions.ask", slug=episode.slug)


def _retour(question: Question, source: dict) -> str:
    """A local path to come back to after a plain POST (never another site)."""
    return local_path(source.get("retour")) or _ask_url(question.episode)


def _changed(response: Response) -> Response:
    """Tell the page's published list that one's own questions changed."""
    response.headers["HX-Trigger"] = CHANGED_EVENT
    return response


def _ask_area(
    episode: Episode, visitor: Visitor | None, form: QuestionForm, status: int = 200, **context: Any
) -> Response:
    """The question area of an episode, in the state this visitor and this moment call for."""
    now = utcnow()
    return render(
        "questions/ask.html",
        "questions/_ask_area.html",
        status=status,
        episode=episode,
        visitor=visitor,
        form=form,
        now=now,
        questions_open=episode.accepts_questions(now),
        own=own_questions(visitor, episode),
        retour=_ask_url(episode),
        **context,
    )


# ---------------------------------------------------------------- asking
@bp.get("/episodes/<slug>/questions/poser")
def ask(slug: str) -> Response:
    """Open the question area: the form, the closed note, or the way to be recognised."""
    return _ask_area(
        episode_or_404(slug),
        current_visitor(),
        QuestionForm(formdata=None),
        sent=request.args.get("envoyee") == "1",
        registration_added=request.args.get("ajout") == "1",
    )


@bp.post("/episodes/<slug>/questions/poser")
@limiter.limit(question_limit, key_func=browser_rate_key)
def send(slug: str) -> Response:
    """Send a question; the area comes back with the person's questions for the episode."""
    episode, visitor, form = episode_or_404(slug), current_visitor(), QuestionForm()
    if visitor is None or not episode.accepts_questions(utcnow()):
        return _ask_area(episode, visitor, form, status=409 if visitor else 403, refused=True)
    if not form.validate_on_submit():
        return _ask_area(episode, visitor, form, status=422)
    try:
        sent = send_question(visitor.attendee.id, episode.id, form.text.data, form.show_name.data)
    except QuestionsClosed:
        return _ask_area(episode, visitor, form, status=409, refused=True)
    if not visitor.full:
        note_question_sent(sent.question_id)
    # With limited rights, whether the episode was already followed is the owner's business:
    # the answer is the same either way.
    added = sent.registration_added and visitor.full
    back = url_for("questions.ask", slug=slug, envoyee=1, ajout=1 if added else None)
    return after_post(
        back + "#questions-envoyees", fragment=lambda: _changed(_sent_area(episode, added))
    )


def _sent_area(episode: Episode, registration_added: bool) -> Response:
    """The area after a question left: the news, one's questions, a fresh form."""
    return _ask_area(
        episode,
        current_visitor(),
        QuestionForm(formdata=None),
        sent=True,
        registration_added=registration_added,
    )


# ---------------------------------------------------------------- one's own questions
def _own_question_or_404(question_id: int) -> Question:
    question = visible_question(current_visitor(), question_id)
    if question is None:
        abort(404)
    return question


def _item(question: Question, retour: str, status: int = 200, **context: Any) -> Response:
    """One of the person's questions, as its list shows it (or its own page without JS)."""
    now = utcnow()
    return render(
        "questions/item.html",
        "questions/_question_item.html",
        status=status,
        question=question,
        episode=question.episode,
        questions_open=question.episode.accepts_questions(now),
        retour=retour,
        now=now,
        **context,
    )


def _closed(question: Question, retour: str) -> Response:
    """The question as it is, with the news that the episode has started (nothing changed)."""
    db.session.expire_all()
    return _item(question, retour, status=409, closed_message=True)


@bp.get("/questions/<int:question_id>")
def item(question_id: int) -> Response:
    """One's question (used to cancel an edit in place)."""
    question = _own_question_or_404(question_id)
    return _item(question, _retour(question, request.args))


@bp.get("/questions/<int:question_id>/modifier")
def edit(question_id: int) -> Response:
    """The edit form of one's question, in place of it."""
    question = _own_question_or_404(question_id)
    retour = _retour(question, request.args)
    if not question.episode.accepts_questions(utcnow()):
        return _closed(question, retour)
    form = QuestionForm(formdata=None, obj=question)
    return _edit_form(question, form, retour)


def _edit_form(question: Question, form: QuestionForm, retour: str, status: int = 200) -> Response:
    return render(
        "questions/edit.html",
        "questions/_question_edit.html",
        status=status,
        question=question,
        episode=question.episode,
        form=form,
        retour=retour,
        now=utcnow(),
        visitor=current_visitor(),
    )


@bp.post("/questions/<int:question_id>/modifier")
@limiter.limit(question_limit, key_func=browser_rate_key)
def update(question_id: int) -> Response:
    """Save the change; the question shows again in place."""
    question = _own_question_or_404(question_id)
    retour, form = _retour(question, request.form), QuestionForm()
    if not question.episode.accepts_questions(utcnow()):
        return _closed(question, retour)
    if not form.validate_on_submit():
        return _edit_form(question, form, retour, status=422)
    try:
        updated = update_question(question_id, form.text.data, form.show_name.data)
    except QuestionsClosed:
        return _closed(question, retour)
    if updated is None:
        abort(404)
    return after_post(
        f"{retour}#question-{question_id}",
        _("Votre question a été modifiée."),
        fragment=lambda: _changed(_item(updated, retour, saved=True)),
    )


@bp.get("/questions/<int:question_id>/retirer")
def confirm_withdraw(question_id: int) -> Response:
    """Ask for confirmation before withdrawing, in place."""
    question = _own_question_or_404(question_id)
    retour = _retour(question, request.args)
    if not question.episode.accepts_questions(utcnow()):
        return _closed(question, retour)
    return render(
        "questions/withdraw.html",
        "questions/_question_withdraw.html",
        question=question,
        episode=question.episode,
        form=ConfirmForm(),
        retour=retour,
    )


@bp.post("/questions/<int:question_id>/retirer")
@limiter.limit(question_limit, key_func=browser_rate_key)
def withdraw(question_id: int) -> Response:
    """Withdraw (delete) one's question and its votes."""
    question = _own_question_or_404(question_id)
    retour = _retour(question, request.form)
    try:
        withdraw_question(question_id)
    except QuestionsClosed:
        return _closed(question, retour)
    withdrawn = render_template("questions/_question_withdrawn.html", question_id=question_id)
    return after_post(
        retour, _("Votre question a été retirée."), fragment=lambda: _changed(Response(withdrawn))
    )
