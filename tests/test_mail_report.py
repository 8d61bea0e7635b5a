"""What the mail did, for the facilitator (per episode, a banner, "Renvoyer") and for the
attendee (what was sent to them, and which e-mails they want)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.mailing.reminders import queue_due_reminders
from app.models import Attendee, Episode, OutboxMessage, OutboxStatus
from tests.support.database import make_test_app
from tests.support.facilitator import log_in
from tests.support.http import csrf_from, htmx_headers, normalise_spaces, sign_in_as
from tests.support.mail import MailSink, free_port

MAIL = "/animation/episodes/plateformes-civictech/e-mails"


class RefusesOne(MailSink):
    """Refuses one address for good (550), accepts the others."""

    async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        if address.startswith("refusee"):
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def text(response) -> str:  # type: ignore[no-untyped-def]
    return normalise_spaces(response.get_data(as_text=True)).replace("&#39;", "’")


def test_the_facilitator_sees_states_reasons_and_resends_once_fixed(
    facilitator_client: FlaskClient,
    programme: Flask,
    database_url: str,
    make_attendee,
    smtp: MailSink,
    caplog,  # type: ignore[no-untyped-def]
) -> None:
    make_attendee(email="ok@example.org", episodes=(1,))
    make_attendee(email="refusee@example.org", episodes=(1,))
    make_attendee(email="plus-tard@example.org", episodes=(1,))
    with programme.app_context():
        assert queue_due_reminders() == 3
    sink = RefusesOne()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    strict = make_test_app(database_url, controller.port)
    strict.extensions["clock"].freeze(programme.extensions["clock"].now())
    try:
        # One accepted, one refused for good; then the server goes away for the third.
        with strict.app_context():
            later = db.session.scalars(
                sa.select(OutboxMessage).filter_by(recipient="plus-tard@example.org")
            ).one()
            later.next_attempt_at += timedelta(minutes=1)
            db.session.commit()
        assert strict.test_cli_runner().invoke(args=["outbox", "send"]).exit_code == 0
        sink.wait_for(1)
    finally:
        controller.stop()
        with strict.app_context():
            db.engine.dispose()
    down = make_test_app(database_url, free_port())
    down.extensions["clock"].freeze(programme.extensions["clock"].now() + timedelta(minutes=2))
    try:
        assert down.test_cli_runner().invoke(args=["outbox", "send"]).exit_code == 0
    finally:
        with down.app_context():
            db.engine.dispose()

    # The log says a message failed, never to whom.
    assert "outbox message" in caplog.text and "@example.org" not in caplog.text
    page = text(facilitator_client.get(MAIL))
    assert "Ce que le courrier a fait" in page
    assert "Rappel" in page
    for label in ("En attente", "Envoyé", "À réessayer", "En échec"):
        assert f">{label}</th>" in page
    assert "Adresse refusée par le serveur de messagerie (SMTPRecipientsRefused: 550" in page
    assert "Serveur de messagerie injoignable (connexion refusée)" in page
    assert "Prochain essai le" in page
    # The dashboard says so at once, with the way there.
    dashboard = text(facilitator_client.get("/animation/"))
    assert "1 e-mail n’a pas pu partir" in dashboard
    assert 'href="/animation/e-mails"' in dashboard
    assert "refusee@example.org" in text(facilitator_client.get("/animation/e-mails"))

    # The address is fixed on the mail server's side: "Renvoyer" sends it, once, same ID.
    with programme.app_context():
        failed = db.session.scalars(
            sa.select(OutboxMessage).filter_by(status=OutboxStatus.FAILED)
        ).one()
        failed_id, message_id = failed.id, failed.message_id
    token = csrf_from(facilitator_client.get(MAIL).get_data(as_text=True))
    response = facilitator_client.post(
        MAIL + "/renvoyer", data={"csrf_token": token, "message": str(failed_id)}
    )
    assert response.status_code == 303
    assert "1 e-mail renvoyé" in text(facilitator_client.get(response.headers["Location"]))
    assert (
        facilitator_client.post(
            MAIL + "/renvoyer", data={"csrf_token": token, "message": str(failed_id)}
        ).status_code
        == 303
    )  # a second click resends nothing
    programme.extensions["clock"].freeze(programme.extensions["clock"].now() + timedelta(hours=1))
    assert programme.test_cli_runner().invoke(args=["outbox", "send"]).exit_code == 0
    received = [m for m in smtp.wait_for(2) if m["To"] == "refusee@example.org"]
    assert [m["Message-ID"] for m in received] == [message_id]
    assert "n’a pas pu partir" not in text(facilitator_client.get("/animation/"))


def test_bad_resend_requests_are_refused_in_french(facilitator_client: FlaskClient) -> None:
    token = csrf_from(facilitator_client.get(MAIL).get_data(as_text=True))
    for data in ({}, {"message": "abc"}):
        response = facilitator_client.post(MAIL + "/renvoyer", data={"csrf_token": token, **data})
        assert response.status_code == 400
        assert "renvoyer" in text(response)


def test_the_dashboard_warns_when_the_last_reminder_would_leave_without_a_link(
    facilitator_client: FlaskClient, programme: Flask
) -> None:
    clock = programme.extensions["clock"]
    start = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    warning = "L’épisode 1 commence à 11 h 00 et n’a pas de lien pour le rejoindre."
    clock.freeze(start - timedelta(hours=2, minutes=1))
    assert log_in(facilitator_client).status_code == 303
    assert warning not in text(facilitator_client.get("/animation/"))
    clock.freeze(start - timedelta(hours=2))  # an hour before the hour-before reminder
    page = text(facilitator_client.get("/animation/"))
    assert warning in page
    assert 'href="/animation/episodes/plateformes-civictech/modifier#join_url"' in page
    with programme.app_context():
        db.session.scalars(
            sa.select(Episode).filter_by(number=1)
        ).one().join_url = "https://visio.example.org/1"
        db.session.commit()
    assert warning not in text(facilitator_client.get("/animation/"))


def test_the_attendee_sees_what_was_sent_and_chooses_what_to_receive(
    programme: Flask, client: FlaskClient, make_attendee, smtp: MailSink
) -> None:
    attendee_id, _ = make_attendee(email="camille@example.org", episodes=(1,))
    with programme.app_context():
        assert queue_due_reminders() == 1
    assert programme.test_cli_runner().invoke(args=["outbox", "send"]).exit_code == 0
    sign_in_as(client, attendee_id)
    space = text(client.get("/moi"))
    assert "E-mails envoyés" in space
    assert "Rappel · 26 novembre à 11 h 00 : épisode 1 du cycle de webinaires" in space
    assert "25/11/2026 13:00" in space and ">envoyé</span>" in space
    for label in (
        "Les rappels avant chaque épisode",
        "Les avis de changement",
        "Le droit de suite",
    ):
        assert label in space
    assert len(re.findall(r"name=\"topics\" value=\"\w+\" checked>", space)) == 3
    # In place with htmx; the fragment is the form, its choices and a status message.
    token = csrf_from(client.get("/moi").get_data(as_text=True))
    response = client.post(
        "/moi/e-mails",
        data={"csrf_token": token, "topics": ["mail_followup"]},
        headers=htmx_headers(target="mes-e-mails-choix"),
    )
    assert response.status_code == 200
    fragment = text(response)
    assert fragment.startswith('<div id="mes-e-mails-choix">')
    assert "Vos choix d’e-mails sont enregistrés." in fragment
    assert len(re.findall(r"name=\"topics\" value=\"\w+\" checked>", fragment)) == 1
    with programme.app_context():
        attendee = db.session.get(Attendee, attendee_id)
        assert (attendee.mail_reminders, attendee.mail_changes, attendee.mail_followup) == (
            False,
            False,
            True,
        )
    # An unknown choice is refused, nothing changes; without a session, nothing either.
    bad = client.post("/moi/e-mails", data={"csrf_token": token, "topics": ["mail_everything"]})
    assert bad.status_code == 400
    stranger = programme.test_client()
    assert stranger.post("/moi/e-mails", data={"topics": []}).status_code in (400, 403)
    with programme.app_context():
        assert db.session.get(Attendee, attendee_id).mail_followup is True
