"""Facilitator views: validate, call one service or query, render or redirect."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import (
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from ..clock import utcnow
from ..converters import db_int
from ..models import ORGANISATION_KIND_LABELS, QUESTION_STATUS_LABELS, Episode
from ..pages import render_page_or_fragment, wants_fragment
from ..timefmt import PARIS
from . import bp, queries
from .auth import safe_next
from .charts import bar_chart
from .export import questions_csv, registrants_csv
from .forms import EpisodeForm, NoteForm, format_speakers, parse_speakers
from .notifications import followup_content, render_followup, send_followup_to_registrants
from .services import (
    ACTION_LABELS,
    QUESTION_ACTIONS,
    FollowupRefused,
    act_on_question,
    describe_detail,
    describe_target,
    move_in_order,
    running_order,
    save_note,
    update_episode,
)

STATE_LABELS = {"upcoming": "À venir", "live": "En cours", "past": "Terminé"}
ACTION_DONE = {
    "nouvelle": "remise en nouvelle",
    "retenue": "retenue",
    "repondue": "marquée répondue",
    "ecartee": "écartée",
    "publier": "publiée",
    "depublier": "dépubliée",
}


@bp.context_processor
def _facilitator_globals() -> dict[str, Any]:
    """Labels shared by the facilitator templates."""
    return {
        "STATE_LABELS": STATE_LABELS,
        "STATUS_LABELS": QUESTION_STATUS_LABELS,
        "KIND_LABELS": ORGANISATION_KIND_LABELS,
        "now": utcnow(),
        "current_user": current_user,
    }


def _me() -> int:
    """Id of the logged-in facilitator (the guard made sure there is one)."""
    return int(current_user.facilitator_id)


def _episode_or_404(slug: str) -> Episode:
    episode = queries.episode_by_slug(slug)
    if episode is None:
        abort(404)
    return episode


def _download(body: bytes, filename: str) -> Response:
    response = make_response(body)
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# ---------------------------------------------------------------- dashboard
@bp.get("/")
def dashboard() -> str:
    """Per-episode figures, sign-ups per day, kinds of organisation."""
    data = queries.dashboard()
    return render_template("facilitator/dashboard.html", data=data, chart=bar_chart(data.per_day))


# ---------------------------------------------------------------- review
@bp.get("/episodes/<slug>/questions")
def review(slug: str) -> Response:
    """An episode's questions: filter, sort, search, paginate, act in place."""
    episode = _episode_or_404(slug)
    filters = queries.ReviewFilters.from_args(request.args)
    view = queries.review_page(episode.id, filters)
    return render_page_or_fragment(
        "facilitator/review.html",
        "facilitator/_question_list.html",
        targets=("question-list",),
        episode=episode,
        view=view,
        filters=view.filters,
        back=request.full_path.rstrip("?"),
    )


def _back_to_review(slug: str) -> str:
    """Where a plain POST returns: the page it came from, filters kept."""
    return safe_next(request.form.get("back")) or url_for(".review", slug=slug)


@bp.post("/episodes/<slug>/questions/<int:question_id>")
def act(slug: str, question_id: int) -> Response:
    """Retenir, marquer répondue, écarter, remettre en nouvelle, publier, dépublier."""
    episode = _episode_or_404(slug)
    action = request.form.get("action", "")
    if action not in QUESTION_ACTIONS:
        abort(400)
    try:
        act_on_question(question_id, episode.id, action, _me())
    except LookupError:
        abort(404)
    message = f"Question n° {question_id} {ACTION_DONE[action]}."
    return _question_response(episode, question_id, message, slug)


@bp.post("/episodes/<slug>/questions/<int:question_id>/note")
def note(slug: str, question_id: int) -> Response:
    """Save the private note of a question."""
    episode = _episode_or_404(slug)
    form = NoteForm()
    if not form.validate():
        question = queries.question_with_author(question_id, episode.id)
        if question is None:
            abort(404)
        if wants_fragment():
            return _render_row(episode, question, "", note_form=form, status=422)
        flash(form.note.errors[0], "error")
        return redirect(_back_to_review(slug), code=303)
    try:
        save_note(question_id, episode.id, form.note.data or "", _me())
    except LookupError:
        abort(404)
    return _question_response(
        episode, question_id, f"Note de la question n° {question_id} enregistrée.", slug
    )


def _question_response(episode: Episode, question_id: int, message: str, slug: str) -> Response:
    """htmx: the row again, with the counts and the announcement out of band; else 303."""
    if not wants_fragment():
        flash(message, "success")
        return redirect(_back_to_review(slug), code=303)
    question = queries.question_with_author(question_id, episode.id)
    if question is None:
        abort(404)
    return _render_row(episode, question, message)


def _render_row(
    episode: Episode,
    question: Any,
    message: str,
    note_form: NoteForm | None = None,
    status: int = 200,
) -> Response:
    back = safe_next(request.form.get("back")) or url_for(".review", slug=episode.slug)
    filters = queries.ReviewFilters.from_args(_query_args(back))
    counts, _ = queries.status_counts(episode.id)
    html = render_template(
        "facilitator/_question_updated.html",
        episode=episode,
        question=question,
        counts=counts,
        filters=filters,
        back=back,
        message=message,
        note_form=note_form,
    )
    return make_response(html, status)


def _query_args(path: str) -> dict[str, str]:
    """The query string of a path, as a dict."""
    return dict(parse_qsl(urlsplit(path).query))


@bp.get("/episodes/<slug>/questions/nouvelles")
def new_questions(slug: str) -> Response:
    """How many questions arrived since the page was loaded; 204 when nothing new to say."""
    episode = _episode_or_404(slug)
    after = request.args.get("apres", type=db_int, default=0)
    already = request.args.get("deja", type=db_int, default=0)
    count = queries.new_questions_since(episode.id, after)
    if count == already:
        return Response(status=204)
    return make_response(
        render_template(
            "facilitator/_new_questions.html", episode=episode, count=count, after=after
        )
    )


# ---------------------------------------------------------------- running order and live
@bp.get("/episodes/<slug>/ordre")
def order(slug: str) -> Response:
    """The retained questions in the order they will be asked."""
    episode = _episode_or_404(slug)
    return render_page_or_fragment(
        "facilitator/order.html",
        "facilitator/_order_list.html",
        targets=("running-order",),
        episode=episode,
        questions=running_order(episode.id),
    )


@bp.post("/episodes/<slug>/ordre")
def move(slug: str) -> Response:
    """Move one question up or down."""
    episode = _episode_or_404(slug)
    question_id = request.form.get("question_id", type=db_int)
    direction = request.form.get("direction", "")
    if question_id is None or direction not in {"monter", "descendre"}:
        abort(400)
    moved = move_in_order(question_id, episode.id, direction, _me())
    if not wants_fragment():
        if not moved:
            flash("Cette question ne peut pas aller plus loin.", "error")
        return redirect(url_for(".order", slug=slug) + f"#ordre-{question_id}", code=303)
    return make_response(
        render_template(
            "facilitator/_order_list.html",
            episode=episode,
            questions=running_order(episode.id),
            moved=question_id if moved else None,
            direction=direction,
        )
    )


@bp.get("/episodes/<slug>/direct")
def live(slug: str) -> str:
    """One question at a time, large, for screen sharing."""
    episode = _episode_or_404(slug)
    questions = running_order(episode.id)
    position = max(1, min(request.args.get("n", type=db_int, default=1), max(len(questions), 1)))
    current = questions[position - 1] if questions else None
    return render_template(
        "facilitator/live.html",
        episode=episode,
        question=current,
        position=position,
        total=len(questions),
    )


@bp.post("/episodes/<slug>/direct")
def live_answered(slug: str) -> Response:
    """Mark the shown question answered, then show the next one."""
    episode = _episode_or_404(slug)
    question_id = request.form.get("question_id", type=db_int)
    position = request.form.get("n", type=db_int, default=1)
    if question_id is None:
        abort(400)
    try:
        act_on_question(question_id, episode.id, "repondue", _me())
    except LookupError:
        abort(404)
    total = len(running_order(episode.id))
    return redirect(url_for(".live", slug=slug, n=min(position + 1, max(total, 1))), code=303)


# ---------------------------------------------------------------- episode edit
@bp.route("/episodes/<slug>/modifier", methods=["GET", "POST"])
def edit_episode(slug: str) -> Response:
    """Title, teaser, date and time (Paris), duration, speakers, links."""
    episode = _episode_or_404(slug)
    local = episode.starts_at.astimezone(PARIS)
    form = EpisodeForm(
        data={
            "title": episode.title,
            "teaser": episode.teaser,
            "date": local.date(),
            "time": local.time().replace(second=0, microsecond=0),
            "duration_minutes": episode.duration_minutes,
            "speakers": format_speakers(episode.speakers),
            "join_url": episode.join_url,
            "replay_url": episode.replay_url,
        }
        if request.method == "GET"
        else None
    )
    status = 200
    saved: list[str] | None = None
    if request.method == "POST":
        if form.validate():
            saved = update_episode(
                episode.id,
                {
                    "title": form.title.data.strip(),
                    "teaser": (form.teaser.data or "").strip(),
                    "starts_at": form.starts_at(),
                    "duration_minutes": form.duration_minutes.data,
                    "speakers": parse_speakers(form.speakers.data or ""),
                    "join_url": form.join_url.data or "",
                    "replay_url": form.replay_url.data or "",
                },
                _me(),
            )
            message = "Épisode enregistré." if saved else "Aucun changement à enregistrer."
            if not wants_fragment():
                flash(message, "success")
                return redirect(url_for(".edit_episode", slug=slug), code=303)
            episode = _episode_or_404(slug)
        else:
            status = 422
    return render_page_or_fragment(
        "facilitator/episode_edit.html",
        "facilitator/_episode_form.html",
        targets=("episode-form",),
        status=status,
        episode=episode,
        form=form,
        saved=saved,
        refresh_heading=True,
    )


# ---------------------------------------------------------------- registrants and exports
@bp.get("/inscrits")
def registrants() -> str:
    """Everyone registered: search, filter by episode, paginated."""
    all_episodes = queries.episodes()
    episode_number = request.args.get("episode", type=db_int)
    episode = next((e for e in all_episodes if e.number == episode_number), None)
    q = (request.args.get("q") or "").strip()[:200]
    page = request.args.get("page", type=db_int, default=1)
    view = queries.registrants_page(q, episode.id if episode else None, page)
    return render_template(
        "facilitator/registrants.html",
        view=view,
        episodes=all_episodes,
        selected=episode,
        q=q,
    )


@bp.get("/inscrits.csv")
def registrants_export() -> Response:
    """Registrants as CSV (all, or of one episode)."""
    episode_number = request.args.get("episode", type=db_int)
    episode = next((e for e in queries.episodes() if e.number == episode_number), None)
    rows = queries.registrants_for_export(episode.id if episode else None)
    name = f"inscrits-episode-{episode.number}.csv" if episode else "inscrits.csv"
    return _download(registrants_csv(rows), name)


@bp.get("/episodes/<slug>/questions.csv")
def questions_export(slug: str) -> Response:
    """An episode's questions as CSV."""
    episode = _episode_or_404(slug)
    rows = queries.questions_for_export(episode.id)
    return _download(questions_csv(rows), f"questions-episode-{episode.number}.csv")


@bp.get("/episodes/<slug>/impression")
def print_sheet(slug: str) -> str:
    """A clean printable sheet of the retained questions, in running order."""
    episode = _episode_or_404(slug)
    return render_template(
        "facilitator/print.html", episode=episode, questions=running_order(episode.id)
    )


# ---------------------------------------------------------------- follow-up
@bp.route("/episodes/<slug>/suivi", methods=["GET", "POST"])
def followup(slug: str) -> Response:
    """Preview the follow-up, then send it once to every registrant."""
    episode = _episode_or_404(slug)
    error = None
    if request.method == "POST":
        try:
            count = send_followup_to_registrants(episode.id, _me())
        except FollowupRefused as refused:
            error = str(refused)
        except LookupError:
            abort(404)
        else:
            flash(f"Droit de suite envoyé à {count} personne{'s' if count > 1 else ''}.", "success")
            return redirect(url_for(".followup", slug=slug), code=303)
        episode = _episode_or_404(slug)
    content = followup_content(episode)
    preview_text, _ = render_followup(content, "Prénom")
    recipients = queries.registrant_count(episode.id)
    return make_response(
        render_template(
            "facilitator/followup.html",
            episode=episode,
            content=content,
            preview_text=preview_text,
            recipients=recipients,
            sent_by=queries.facilitator_email(episode.followup_sent_by_id),
            error=error,
        ),
        409 if error else 200,
    )


# ---------------------------------------------------------------- audit trail
@bp.get("/journal")
def journal() -> str:
    """Who changed what, when (latest first)."""
    return render_template(
        "facilitator/journal.html",
        actions=queries.recent_actions(),
        ACTION_LABELS=ACTION_LABELS,
        describe_target=describe_target,
        describe_detail=describe_detail,
    )
