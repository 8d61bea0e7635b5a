"""Votes on published questions: support one, or withdraw the support, in place."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask import Response, abort, current_app, render_template
from flask_babel import lazy_gettext as _l

from ..clock import utcnow
from ..extensions import db, limiter
from ..http import after_post, wants_fragment
from ..identity import current_visitor
from ..links import episode_url
from ..models import Episode, Question
from ..refusals import Refusal
from ..sessions import browser_rate_key
from . import bp
from .board import votes_open
from .forms import VoteForm
from .services import NotRecognised, NotVotable, set_vote

NOT_UNDERSTOOD = _l("Vote non compris.")


def vote_limit() -> str:
    """Rate limit on votes (configurable)."""
    return str(current_app.config["RATELIMIT_VOTE"])


def _vote_widget(
    question: Any, episode: Episode, sort: str, status: int = 200, **context: Any
) -> Response:
    """The vote control of one question (htmx swaps it in place)."""
    board = SimpleNamespace(can_vote=True, votes_open=votes_open(episode, utcnow()), sort=sort)
    html = render_template(
        "questions/_vote.html", q=question, board=board, episode=episode, focus=True, **context
    )
    return Response(html, status)


@bp.post("/questions/<int:question_id>/vote")
@limiter.limit(vote_limit, key_func=browser_rate_key)
def vote(question_id: int) -> Response:
    """Support a published question, or withdraw the support; the count updates in place."""
    question = db.session.get(Question, question_id)
    if question is None or not question.published:
        abort(404)
    form, visitor, episode = VoteForm(), current_visitor(), question.episode
    shown = SimpleNamespace(id=question_id, vote_count=question.vote_count, voted=False, own=False)
    try:
        if visitor is None or not visitor.full:
            raise NotRecognised
        if not form.validate_on_submit():
            return _vote_widget(shown, episode, form.sort, 422, message=str(NOT_UNDERSTOOD))
        state = set_vote(question_id, visitor.attendee.id, form.action.data == "soutenir")
    except Refusal as refusal:
        if not wants_fragment():
            raise  # the error page says why
        db.session.expire_all()
        shown.own = isinstance(refusal, NotVotable)
        return _vote_widget(
            shown, episode, form.sort, status=refusal.code, message=str(refusal.message)
        )
    shown.vote_count, shown.voted = state.vote_count, state.voted
    back = episode_url(episode, tri=form.sort_in_url) + f"#question-publiee-{question_id}"
    return after_post(back, fragment=lambda: _vote_widget(shown, episode, form.sort))
