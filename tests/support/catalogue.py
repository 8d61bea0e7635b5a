"""Every e-mail the site sends, produced by the real flows (forms, the facilitator's pages,
`outbox send`) and caught by the test SMTP server: one of each kind, to look at."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage

import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import Episode
from app.timefmt import PARIS
from tests.support.episodes import edit_form, edit_url, move
from tests.support.facilitator import create_account, log_in
from tests.support.http import csrf_from
from tests.support.mail import MailSink
from tests.support.registration import register, started_from

JOIN = "https://visio.example.org/salle-episode-1"


def _slug(app: Flask, number: int) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(Episode.slug).filter_by(number=number))


def every_mail(app: Flask, smtp: MailSink, prefix: str = "") -> dict[str, EmailMessage]:
    """One message of each kind, by kind; the clock walks from the day before episode 1.
    `prefix` "/en": the person registers (and asks for a link) from the English pages."""
    from app.mailing.worker import deliver_due

    caught: dict[str, EmailMessage] = {}
    smtp.clear()

    def step(kind: str, action: Callable[[], object]) -> None:
        before = len(smtp.messages)
        action()
        with app.app_context():
            deliver_due()
        caught[kind] = smtp.wait_for(before + 1)[before]

    def at(moment: datetime) -> None:
        app.extensions["clock"].freeze(moment)

    def send() -> None:
        result = app.test_cli_runner().invoke(args=["outbox", "send"])
        assert result.exit_code == 0, result.output

    at(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    visitor = app.test_client()
    facilitator = app.test_client()
    create_account(app)
    assert log_in(facilitator).status_code == 303
    step(
        "registration_confirmation",
        lambda: register(
            visitor, htmx=True, prefix=prefix, first_name="Camille", email="camille@example.org"
        ),
    )

    def ask_link() -> None:
        page = visitor.get(f"{prefix}/moi/lien").get_data(as_text=True)
        fields = {"csrf_token": csrf_from(page), "started": started_from(page)}
        visitor.post(f"{prefix}/moi/lien", data={**fields, "email": "camille@example.org"})

    step("personal_link", ask_link)
    at(datetime(2026, 11, 25, 10, 0, tzinfo=UTC))
    step("reminder_without_link", send)

    def set_link() -> None:
        data = edit_form(facilitator, 1, join_url=JOIN)
        assert facilitator.post(edit_url(app, 1), data=data).status_code == 303
        send()

    step("join_link", set_link)
    step(
        "episode_rescheduled",
        lambda: move(facilitator, 2, datetime(2026, 12, 3, 14, 30, tzinfo=PARIS), notify=True),
    )

    def cancel() -> None:
        url = f"/animation/episodes/{_slug(app, 3)}/annulation"
        token = csrf_from(facilitator.get(url).get_data(as_text=True))
        reason = "L’intervenante est souffrante ; l’épisode sera reprogrammé en janvier."
        asked = facilitator.post(url, data={"csrf_token": token, "reason": reason})
        key = re.search(r'name="confirme_pour" value="([^"]+)"', asked.get_data(as_text=True))
        facilitator.post(
            url, data={"csrf_token": token, "reason": reason, "confirme_pour": key.group(1)}
        )

    step("episode_cancelled", cancel)

    def reinstate() -> None:
        url = f"/animation/episodes/{_slug(app, 3)}/maintien"
        token = csrf_from(facilitator.get(url.replace("maintien", "annulation")).text)
        asked = facilitator.post(url, data={"csrf_token": token})
        key = re.search(r'name="confirme_pour" value="([^"]+)"', asked.get_data(as_text=True))
        facilitator.post(url, data={"csrf_token": token, "confirme_pour": key.group(1)})

    step("episode_reinstated", reinstate)
    at(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    step("reminder", send)
    at(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    assert log_in(facilitator).status_code == 303

    def followup() -> None:
        with app.app_context():
            db.session.scalars(
                sa.select(Episode).filter_by(number=1)
            ).one().replay_url = "https://replay.example.org/episode-1"
            db.session.commit()
        url = f"/animation/episodes/{_slug(app, 1)}/suivi"
        token = csrf_from(facilitator.get(url).get_data(as_text=True))
        assert facilitator.post(url, data={"csrf_token": token}).status_code == 303

    step("followup", followup)
    return caught
