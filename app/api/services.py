"""What the API says, read from the programme, the public register and the question board:
the same public facts as the pages, as plain values (schemas.py decides what leaves)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from limits import parse_many

from ..links import episode_url, replay_link, site_link
from ..models import Episode
from ..programme.services import ProgrammeView, episode_or_404, programme_view_or_404
from ..questions.board import MOST_SHOWN, PublishedQuestion, question_board
from ..questions.register import RegisterCounts, register_counts
from ..vocabulary import EpisodeState, PublicFate, QuestionStatus

#: the terms of reuse (Etalab's open licence, the French administration's default)
LICENCE = {
    "name": "Licence Ouverte / Open Licence 2.0 (Etalab)",
    "url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    "identifier": "etalab-2.0",
}


def cycle_data(now: datetime) -> dict[str, Any]:
    """The cycle with its episodes (404 when no programme is loaded)."""
    view = programme_view_or_404()
    series = view.series
    return {
        "id": series.id,
        "slug": series.slug,
        "title": series.title,
        "introduction": series.introduction,
        "organiser": series.organiser,
        "page_url": site_link("programme.index"),
        "licence": LICENCE,
        "episodes": episodes_data(view, now),
    }


def episodes_data(view: ProgrammeView, now: datetime) -> list[dict[str, Any]]:
    """Every episode in order, with the registers of those that started (one query)."""
    started = [e.id for e in view.episodes if now >= e.starts_at]
    counts = register_counts(started)
    return [episode_data(e, now, counts.get(e.id)) for e in view.episodes]


def one_episode_data(slug: str, now: datetime) -> dict[str, Any]:
    """One episode by its slug (404 when unknown)."""
    episode = episode_or_404(slug)
    counts = register_counts([episode.id]) if now >= episode.starts_at else {}
    return episode_data(episode, now, counts.get(episode.id))


def episode_data(episode: Episode, now: datetime, counts: RegisterCounts | None) -> dict[str, Any]:
    """An episode's public facts; its join link is private and never read here."""
    state = episode.state(now)
    return {
        "id": episode.id,
        "number": episode.number,
        "slug": episode.slug,
        "title": episode.title,
        "teaser": episode.teaser,
        "cases": list(episode.cases or []),
        "starts_at": episode.starts_at,
        "ends_at": episode.ends_at,
        "duration_minutes": episode.duration_minutes,
        "state": state.value,
        "cancel_reason": episode.cancel_reason if state is EpisodeState.CANCELLED else None,
        "speakers": [
            {"name": s.get("name") or "", "role": s.get("role") or "", "host": bool(s.get("host"))}
            for s in episode.speakers or []
        ],
        "replay_url": episode.replay_url or None,
        "page_url": episode_url(episode, external=True),
        "questions_url": site_link("api.questions", slug=episode.slug),
        "register": None if counts is None else register_data(counts),
    }


def register_data(counts: RegisterCounts) -> dict[str, Any]:
    """The register's counts by their API names (as the episode page words them)."""
    by = counts.by_status
    return {
        "received": counts.received,
        "published": counts.published,
        "answered_on_air": by[QuestionStatus.ANSWERED],
        "answered_in_writing": by[QuestionStatus.WRITTEN],
        "merged": by[QuestionStatus.MERGED],
        "carried_over": by[QuestionStatus.CARRIED_OVER],
        "declined": by[QuestionStatus.DISMISSED],
        "declined_by_reason": {r.value: n for r, n in counts.declined_by_reason.items()},
        "waiting": by[QuestionStatus.NEW] + by[QuestionStatus.SELECTED],
    }


def questions_data(slug: str, now: datetime) -> dict[str, Any]:
    """The published questions of an episode as anyone sees them: no visitor, no votes of
    anyone, a name only where its author chose to show it."""
    episode = episode_or_404(slug)
    board = question_board(episode, None, "votes", now, MOST_SHOWN)
    return {
        "episode_id": episode.id,
        "episode_slug": episode.slug,
        "total": board.total,
        "questions": [question_data(q, episode) for q in board.questions],
    }


def question_data(question: PublishedQuestion, episode: Episode) -> dict[str, Any]:
    """A published question and its public fate."""
    fate = PublicFate.of(question.status)
    on_air = fate is PublicFate.ANSWERED_ON_AIR
    seconds = question.replay_seconds if on_air else None
    carried = question.carried_to if fate is PublicFate.CARRIED_OVER else None
    return {
        "id": question.id,
        "text": question.text,
        "author": question.author,
        "votes": question.vote_count,
        "created_at": question.created_at,
        "fate": {
            "code": fate.value,
            "label": fate.label,
            "replay_seconds": seconds,
            "replay_url": replay_link(episode.replay_url, seconds)
            if seconds is not None and episode.replay_url
            else None,
            "written_answer": question.written_answer
            if fate is PublicFate.ANSWERED_IN_WRITING
            else None,
            "merged_into_id": _public_merge_target(question) if fate is PublicFate.MERGED else None,
            "carried_to": None
            if carried is None
            else {
                "episode_id": carried.id,
                "episode_slug": carried.slug,
                "episode_number": carried.number,
                "question_id": question.carried_to_id,
            },
        },
    }


def _public_merge_target(question: PublishedQuestion) -> int | None:
    """The kept question's id when it is public (the board gives its text only then)."""
    return question.merged_into_id if question.merged_into_text is not None else None


#: flask-limiter's units, as people read them
_UNITS = {
    "second": (_l("par seconde"), _l("par tranche de %(n)s secondes")),
    "minute": (_l("par minute"), _l("par tranche de %(n)s minutes")),
    "hour": (_l("par heure"), _l("par tranche de %(n)s heures")),
    "day": (_l("par jour"), _l("par tranche de %(n)s jours")),
}


def rate_limits_fr(setting: str) -> list[str]:
    """A limit setting ("60 per minute;1000 per hour") as people read it, in the page's
    language ("60 requêtes par minute", "60 requests per minute")."""
    said = []
    for item in parse_many(setting):
        one, several = _UNITS.get(item.GRANULARITY.name, (item.GRANULARITY.name,) * 2)
        per = str(several) % {"n": item.multiples} if item.multiples > 1 else str(one)
        said.append(_("%(amount)s requêtes %(per)s", amount=item.amount, per=per))
    return said
