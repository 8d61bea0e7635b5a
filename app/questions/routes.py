"""Questions of an episode: ask, edit, withdraw, vote — fragments for htmx, pages without JS.

Everything here depends on who is asking, so nothing here is served as a shared page:
the programme page only links to these addresses and htmx loads them in place.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException, TooManyRequests, default_exceptions

from ..attendee.forms import ConfirmForm
from ..clock import utcnow
from ..extensions import db, limiter
from ..identity import Visitor, current_visitor, note_question_sent
from ..links import local_path
from ..models import Episode, Question
from ..pages import wants_fragment
from . import bp
from .forms import MAX_LENGTH, MIN_LENGTH, QuestionForm, VoteForm
from .services import (
    DEFAULT_SORT,
    SORTS,
    NotVotable,
    QuestionsClosed,
    VotesClosed,
    own_questions,
    send_question,
    set_vote,
    status_label_for_author,
    update_question,
    visible_question,
    votes_open,
    withdraw_question,
)

#: tells the published list (episode page) to refresh after a change of one's own question
CHANGED_EVENT = "questions-changed"


def visitor_rate_key() -> str:
    """Count per attendee when known (offices share one address), else per address."""
    attendee_id = session.get("attendee_id")
    return f"attendee:{attendee_id}" if attendee_id is not None else get_remote_address()


def question_limit() -> str:
    """Rate limit on sending and changing questions (configurable)."""
    return str(current_app.config["RATELIMIT_QUESTION"])


def vote_limit() -> str:
    """Rate limit on votes (configurable)."""
    return str(current_app.config["RATELIMIT_VOTE"])


@bp.record_once
def _template_globals(state: Any) -> None:
    """Lengths and labels the question templates (and their macros) share."""
    state.app.jinja_env.globals.update(
        QUESTION_MIN_LENGTH=MIN_LENGTH,
        QUESTION_MAX_LENGTH=MAX_LENGTH,
        QUESTION_SORTS=SORTS,
        question_status_label=status_label_for_author,
    )


def _private(response: Response) -> Response:
    """Per-visitor answers: never stored by a shared cache nor the back button."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _render(page: str, fragment: str, status: int = 200, **context: Any) -> Response:
    """The fragment for htmx, the page (which includes it) otherwise."""
    template = fragment if wants_fragment() else page
    return _private(make_response(render_template(template, **context), status))


def _refuse(code: int, message: str) -> None:
    """Abort with a French message of our own on the error page."""
    error: HTTPException = default_exceptions[code](description=message)
    error.french = True  # type: ignore[attr-defined]
    raise error


def _episode_or_404(slug: str) -> Episode:
    episode = db.session.scalars(sa.select(Episode).filter_by(slug=slug)).first()
    if episode is None:
        abort(404)
    return episode


def _safe_return(value: str | None, default: str) -> str:
    """A local path to come back to after a plain POST (never another site)."""
    return local_path(value) or default


def _ask_url(episode: Episode) -> str:
    return url_for("questions.ask", slug=episode.slug)


def _ask_area(
    episode: Episode,
    visitor: Visitor | None,
    form: QuestionForm,
    status: int = 200,
    **context: Any,
) -> Response:
    """The question area of an episode, in the state this visitor and this moment call for."""
    now = utcnow()
    return _render(
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
    episode = _episode_or_404(slug)
    return _ask_area(
        episode,
        current_visitor(),
        QuestionForm(formdata=None),
        sent=request.args.get("envoyee") == "1",
        registration_added=request.args.get("ajout") == "1",
    )


@bp.post("/episodes/<slug>/questions/poser")
@limiter.limit(question_limit, key_func=visitor_rate_key)
def send(slug: str) -> Response:
    """Send a question; the area comes back with the person's questions for the episode."""
    episode = _episode_or_404(slug)
    visitor = current_visitor()
    form = QuestionForm()
    if visitor is None:
        return _ask_area(episode, None, form, status=403, refused=True)
    if not episode.accepts_questions(utcnow()):
        return _ask_area(episode, visitor, form, status=409, refused=True)
    if not form.validate_on_submit():
        return _ask_area(episode, visitor, form, status=422)
    try:
        sent = send_question(
            visitor.attendee.id, episode.id, form.text.data, bool(form.show_name.data)
        )
    except QuestionsClosed:
        return _ask_area(episode, visitor, form, status=409, refused=True)
    if not visitor.full:
        note_question_sent(sent.question_id)
    if wants_fragment():
        response = _ask_area(
            episode,
            visitor,
            QuestionForm(formdata=None),
            sent=True,
            registration_added=sent.registration_added,
        )
        response.headers["HX-Trigger"] = CHANGED_EVENT
        return response
    target = url_for(
        "questions.ask",
        slug=episode.slug,
        envoyee=1,
        ajout=1 if sent.registration_added else None,
    )
    return redirect(target + "#questions-envoyees", 303)


# ---------------------------------------------------------------- one's own questions
def _own_question_or_404(question_id: int) -> tuple[Visitor, Question]:
    visitor = current_visitor()
    question = visible_question(visitor, question_id)
    if question is None or visitor is None:
        abort(404)
    return visitor, question


def _item(question: Question, retour: str, status: int = 200, **context: Any) -> Response:
    """One of the person's questions, as its list shows it (or its own page without JS)."""
    now = utcnow()
    return _render(
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


@bp.get("/questions/<int:question_id>")
def item(question_id: int) -> Response:
    """One's question (used to cancel an edit in place)."""
    _visitor, question = _own_question_or_404(question_id)
    retour = _safe_return(request.args.get("retour"), _ask_url(question.episode))
    return _item(question, retour)


def _edit_form(question: Question, form: QuestionForm, retour: str, status: int = 200) -> Response:
    now = utcnow()
    return _render(
        "questions/edit.html",
        "questions/_question_edit.html",
        status=status,
        question=question,
        episode=question.episode,
        form=form,
        retour=retour,
        now=now,
        visitor=current_visitor(),
    )


@bp.get("/questions/<int:question_id>/modifier")
def edit(question_id: int) -> Response:
    """The edit form of one's question, in place of it."""
    _visitor, question = _own_question_or_404(question_id)
    retour = _safe_return(request.args.get("retour"), _ask_url(question.episode))
    if not question.episode.accepts_questions(utcnow()):
        return _item(question, retour, status=409, closed_message=True)
    form = QuestionForm(
        formdata=None, data={"text": question.text, "show_name": question.show_name}
    )
    return _edit_form(question, form, retour)


@bp.post("/questions/<int:question_id>/modifier")
@limiter.limit(question_limit, key_func=visitor_rate_key)
def update(question_id: int) -> Response:
    """Save the change; the question shows again in place."""
    _visitor, question = _own_question_or_404(question_id)
    retour = _safe_return(request.form.get("retour"), _ask_url(question.episode))
    if not question.episode.accepts_questions(utcnow()):
        return _item(question, retour, status=409, closed_message=True)
    form = QuestionForm()
    if not form.validate_on_submit():
        return _edit_form(question, form, retour, status=422)
    try:
        updated = update_question(question_id, form.text.data, bool(form.show_name.data))
    except QuestionsClosed:
        db.session.expire_all()
        return _item(question, retour, status=409, closed_message=True)
    if updated is None:
        abort(404)
    if wants_fragment():
        response = _item(updated, retour, saved=True)
        response.headers["HX-Trigger"] = CHANGED_EVENT
        return response
    flash("Votre question a été modifiée.", "success")
    return redirect(retour + f"#question-{question_id}", 303)


@bp.get("/questions/<int:question_id>/retirer")
def confirm_withdraw(question_id: int) -> Response:
    """Ask for confirmation before withdrawing, in place."""
    _visitor, question = _own_question_or_404(question_id)
    retour = _safe_return(request.args.get("retour"), _ask_url(question.episode))
    if not question.episode.accepts_questions(utcnow()):
        return _item(question, retour, status=409, closed_message=True)
    return _render(
        "questions/withdraw.html",
        "questions/_question_withdraw.html",
        question=question,
        episode=question.episode,
        form=ConfirmForm(),
        retour=retour,
    )


@bp.post("/questions/<int:question_id>/retirer")
@limiter.limit(question_limit, key_func=visitor_rate_key)
def withdraw(question_id: int) -> Response:
    """Withdraw (delete) one's question and its votes."""
    _visitor, question = _own_question_or_404(question_id)
    retour = _safe_return(request.form.get("retour"), _ask_url(question.episode))
    try:
        withdraw_question(question_id)
    except QuestionsClosed:
        db.session.expire_all()
        return _item(question, retour, status=409, closed_message=True)
    if wants_fragment():
        response = _private(
            make_response(
                render_template("questions/_question_withdrawn.html", question_id=question_id)
            )
        )
        response.headers["HX-Trigger"] = CHANGED_EVENT
        return response
    flash("Votre question a été retirée.", "success")
    return redirect(retour, 303)


# ---------------------------------------------------------------- votes
def _vote_widget(
    question: Any, episode: Episode, sort: str, status: int = 200, **context: Any
) -> Response:
    """The vote control of one question (htmx swaps it in place)."""
    return _private(
        make_response(
            render_template(
                "questions/_vote.html",
                q=question,
                board=SimpleNamespace(
                    can_vote=True, votes_open=votes_open(episode, utcnow()), sort=sort
                ),
                episode=episode,
                focus=True,
                **context,
            ),
            status,
        )
    )


@bp.post("/questions/<int:question_id>/vote")
@limiter.limit(vote_limit, key_func=visitor_rate_key)
def vote(question_id: int) -> Response:
    """Support a published question, or withdraw the support; the count updates in place."""
    question = db.session.get(Question, question_id)
    if question is None or not question.published:
        abort(404)
    episode = question.episode
    form = VoteForm()
    sort = form.tri.data if form.tri.data in SORTS else DEFAULT_SORT
    back = url_for(
        "programme.episode", slug=episode.slug, tri=sort if sort != DEFAULT_SORT else None
    )
    back += f"#question-publiee-{question_id}"
    visitor = current_visitor()
    shown = SimpleNamespace(id=question.id, vote_count=question.vote_count, voted=False, own=False)
    if visitor is None or not visitor.full:
        message = "Pour voter, ouvrez le lien personnel reçu par e-mail."
        if not wants_fragment():
            _refuse(403, message)
        return _vote_widget(shown, episode, sort, status=403, message=message)
    if not form.validate_on_submit():
        return _vote_widget(shown, episode, sort, status=422, message="Vote non compris.")
    attendee_id = visitor.attendee.id
    try:
        state = set_vote(question_id, attendee_id, form.action.data == "soutenir")
    except NotVotable:
        db.session.expire_all()
        message = "Vous ne pouvez pas voter pour votre propre question."
        if not wants_fragment():
            _refuse(409, message)
        shown.own = True
        return _vote_widget(shown, episode, sort, status=409, message=message)
    except VotesClosed:
        db.session.expire_all()
        message = "Les votes sont clos : l’épisode est terminé."
        if not wants_fragment():
            _refuse(409, message)
        return _vote_widget(shown, episode, sort, status=409, message=message)
    if wants_fragment():
        shown = SimpleNamespace(
            id=question_id, vote_count=state.vote_count, voted=state.voted, own=False
        )
        return _vote_widget(shown, db.session.get(Episode, episode.id), sort)
    return redirect(back, 303)


@bp.errorhandler(TooManyRequests)
def too_many(error: TooManyRequests) -> Response:
    """Over the limit: htmx keeps what is on screen and adds the message on top of it."""
    response = make_response(
        render_template(
            "errors/_message.html" if wants_fragment() else "errors/page.html",
            error=error,
            code=429,
        ),
        429,
    )
    if wants_fragment():
        # Insert, do not replace: a half-typed question stays in its box.
        response.headers["HX-Reswap"] = "afterbegin"
    retry = dict(error.get_headers()).get("Retry-After")
    if retry:
        response.headers["Retry-After"] = retry
    return response
