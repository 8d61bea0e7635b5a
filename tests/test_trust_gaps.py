"""Parts of SECURITY.md's items that no other test checked: a temporary SMTP refusal and its
back-off (9), the .ics text escaping (10), long passphrases (14), one token per purpose (22),
the CSP's object and base rules (26), the notice's purposes and rights (31), and no mail body
in the logs (issue 11, finding 9)."""

from __future__ import annotations

import logging
from datetime import timedelta

import icalendar
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from app.extensions import db
from app.mailing.worker import deliver_due
from app.models import Attendee, Episode, OutboxMessage, OutboxStatus
from tests.support.database import NOW, make_test_app
from tests.support.http import normalise_spaces
from tests.support.mail import free_port
from tests.support.registration import register


def _rows(app: Flask) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return rows


# ---------------------------------------------------------------- 9: temporary refusal
class BusyHandler:
    """An SMTP server that is busy for every recipient (451: try again later)."""

    async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        return "451 4.3.2 Try again later"


def test_a_temporary_refusal_is_retried_later_and_later(
    programme: Flask, database_url: str
) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(BusyHandler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    busy = make_test_app(database_url, controller.port)
    clock = busy.extensions["clock"]
    try:
        clock.freeze(NOW)
        register(busy.test_client(), htmx=True)
        waits = []
        for _ in range(3):
            with busy.app_context():
                assert deliver_due()["retry"] == 1
            (row,) = [r for r in _rows(busy) if r.kind == "registration_confirmation"]
            assert row.status == OutboxStatus.PENDING and "451" in row.last_error
            waits.append(row.next_attempt_at - clock.now())
            clock.freeze(row.next_attempt_at)
        # 1 minute, then 2, then 4: the back-off doubles; the message is still there to send.
        assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
        assert row.attempts == 3
    finally:
        controller.stop()
        with busy.app_context():
            db.engine.dispose()


# ---------------------------------------------------------------- 10: calendar text
def test_calendar_text_with_commas_semicolons_and_newlines_reads_back_the_same(
    programme: Flask, client: FlaskClient
) -> None:
    title = "Budget, concertation ; et après ? Un titre assez long pour être plié sur deux lignes"
    teaser = "Première ligne ; deuxième, avec virgule\nTroisième ligne."
    with programme.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
        episode.title, episode.teaser = title, teaser
        db.session.commit()
        slug = episode.slug
    body = client.get(f"/episodes/{slug}.ics").get_data()
    assert b"\\," in body and b"\\;" in body and b"\\n" in body
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    (event,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert str(event["SUMMARY"]).endswith(title)
    assert teaser in str(event["DESCRIPTION"])
    assert event.get("DTSTAMP") is not None


# ---------------------------------------------------------------- 14: long passphrases
def test_a_long_passphrase_is_accepted_and_an_endless_one_refused(
    app: Flask, runner: FlaskCliRunner
) -> None:
    phrase = "le vélo bleu de la médiathèque attend sous la pluie de novembre, patient"
    assert len(phrase) >= 64
    result = runner.invoke(
        args=["facilitator", "create", "longue@example.org"], input=f"{phrase}\n{phrase}\n"
    )
    assert result.exit_code == 0, result.output
    endless = "une phrase sans fin " * 60
    result = runner.invoke(
        args=["facilitator", "create", "infinie@example.org"], input=f"{endless}\n{endless}\n"
    )
    assert result.exit_code == 1
    assert "Mot de passe trop long" in result.output


# ---------------------------------------------------------------- 22: one token, one purpose
def test_a_token_made_for_one_purpose_opens_nothing_else(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    from app.forms import HoneypotForm
    from app.mailing.unsubscribe import unsubscribe_token

    attendee_id, personal = make_attendee()
    with programme.test_request_context("/"):
        stamp = HoneypotForm().started.data
        unsubscribe = unsubscribe_token(db.session.get(Attendee, attendee_id))
    # The unsubscribe token is not a personal link, and a form's time stamp is neither.
    for token in (unsubscribe, stamp):
        opened = client.get(f"/moi/{token}")
        assert opened.status_code in (404, 410), token
        assert "attendee_id" not in str(opened.headers.get("Set-Cookie", ""))
        assert client.get("/moi").status_code != 200
    # The personal link and the stamp do not unsubscribe.
    for token in (personal, stamp):
        assert client.post(f"/moi/desinscription/{token}").status_code == 404
    with programme.app_context():
        attendee = db.session.get(Attendee, attendee_id)
        assert attendee.mail_reminders and attendee.mail_changes and attendee.mail_followup


# ---------------------------------------------------------------- 26: the CSP's other rules
def test_the_content_security_policy_forbids_plugins_and_a_changed_base(
    programme: Flask, client: FlaskClient
) -> None:
    for url in ("/", "/inscription", "/episodes/api", "/animation/connexion"):
        csp = client.get(url).headers["Content-Security-Policy"]
        assert "object-src 'none'" in csp, url
        assert "base-uri 'none'" in csp or "base-uri 'self'" in csp, url
        assert "form-action 'self'" in csp, url


# ---------------------------------------------------------------- 31: the notice
def test_the_privacy_notice_says_why_and_what_rights_a_person_has(
    programme: Flask, client: FlaskClient
) -> None:
    for url in ("/confidentialite", "/inscription"):
        page = normalise_spaces(client.get(url).get_data(as_text=True))
        rights = ("accès", "rectification", "effacement", "limitation", "opposition", "portabilité")
        for right in rights:
            assert right in page, (url, right)
        assert "Pourquoi" in page and "vous envoyer le lien des webinaires" in page, url


# ---------------------------------------------------------------- finding 9: no mail body in logs
def test_no_mail_body_reaches_the_logs_when_sending_fails(
    programme: Flask, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    down = make_test_app(database_url, free_port())  # nothing listens there
    down.extensions["clock"].freeze(NOW)
    caplog.set_level(logging.DEBUG)
    register(down.test_client(), htmx=True, first_name="Ombeline")
    with down.app_context():
        assert deliver_due()["retry"] >= 1
        db.engine.dispose()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged, "the failure is logged"
    for secret in ("Ombeline", "/moi/", "camille.martin@example.org", "Bonjour"):
        assert secret not in logged, secret


def test_the_notice_says_published_questions_are_open_data_without_addresses(
    programme: Flask, client: FlaskClient
) -> None:
    for url in ("/confidentialite", "/inscription"):
        page = normalise_spaces(client.get(url).get_data(as_text=True))
        assert 'href="/donnees-ouvertes">données ouvertes</a>' in page, url
        assert "votre nom seulement si vous avez choisi de l’afficher" in page, url
