"""The facilitator's episode pages as a browser posts them: the edit form, its confirmation."""

from __future__ import annotations

import html
import re
from datetime import datetime

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Episode
from app.timefmt import PARIS
from tests.support.http import csrf_from


def edit_url(app: Flask, number: int) -> str:
    """The edit page of episode `number`."""
    with app.app_context():
        slug = db.session.scalar(sa.select(Episode.slug).filter_by(number=number))
    return f"/animation/episodes/{slug}/modifier"


def edit_form(client: FlaskClient, number: int, **changes: str) -> dict[str, str]:
    """The edit form of an episode as its page fills it, with some values changed."""
    app = client.application
    body = client.get(edit_url(app, number)).get_data(as_text=True)
    with app.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=number)).one()
        local = episode.starts_at.astimezone(PARIS)
        teaser = re.search(r'<textarea[^>]*id="teaser"[^>]*>\s*(.*?)</textarea>', body, re.S)
        speakers = re.search(r'<textarea[^>]*id="speakers"[^>]*>\s*(.*?)</textarea>', body, re.S)
        data = {
            "csrf_token": csrf_from(body),
            "title": episode.title,
            "teaser": html.unescape(teaser.group(1)) if teaser else episode.teaser,
            "date": local.strftime("%Y-%m-%d"),
            "time": local.strftime("%H:%M"),
            "duration_minutes": str(episode.duration_minutes),
            "speakers": html.unescape(speakers.group(1)) if speakers else "",
            "join_url": episode.join_url,
            "replay_url": episode.replay_url,
            "capacity": "" if episode.capacity is None else str(episode.capacity),
        }
    data.update(changes)
    return data


def confirmation_key(page: str) -> str:
    """The value a move's confirmation is tied to, from the page that asks it."""
    found = re.search(r'name="confirme_pour" value="([^"]+)"', page)
    assert found, "no confirmation asked"
    return html.unescape(found.group(1))


def move(
    client: FlaskClient, number: int, local: datetime, notify: bool | None = True, **changes: str
):  # type: ignore[no-untyped-def]
    """Move an episode to `local` (Paris time) through the form, answering the confirmation
    with `notify` if it is asked (None: leave the question unanswered)."""
    data = edit_form(
        client, number, date=local.strftime("%Y-%m-%d"), time=local.strftime("%H:%M"), **changes
    )
    url = edit_url(client.application, number)
    first = client.post(url, data=data)
    if first.status_code != 200 or notify is None or 'name="confirme_pour"' not in first.text:
        return first
    key = confirmation_key(first.get_data(as_text=True))
    return client.post(url, data={**data, "prevenir": "1" if notify else "0", "confirme_pour": key})
