"""Reminders with the join link, on a real SMTP server, the app's clock walking through the day:
each once, only the latest when several are due, none after the start, none to people who
stopped, the new join link at once to those who had another, retries that stay once."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import icalendar
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Episode, OutboxMessage, OutboxStatus, ReminderSent
from app.timefmt import PARIS
from tests.support.database import make_test_app
from tests.support.episodes import edit_form, edit_url, move
from tests.support.facilitator import log_in
from tests.support.http import csrf_from, normalise_spaces, sign_in_as
from tests.support.mail import MailSink, free_port
from tests.support.registration import register

#: episode 1 of the demo programme: Thursday 26 November 2026, 11:00 in Paris
START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
DAY_BEFORE = START - timedelta(days=1)
HOUR_BEFORE = START - timedelta(hours=1)
JOIN = "https://visio.example.org/salle-episode-1"


def at(app: Flask, moment: datetime) -> None:
    """Move the app's clock."""
    app.extensions["clock"].freeze(moment)


def send(app: Flask) -> str:
    """`flask --app wsgi outbox send`, as cron runs it; its output."""
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def queued(output: str) -> int:
    """The number of reminders a run of `outbox send` queued."""
    return int(re.search(r"Rappels mis en file : (\d+)", output).group(1))


def set_join_link(app: Flask, url: str, number: int = 1) -> None:
    """Set an episode's join link as the edit form does (a new calendar SEQUENCE)."""
    with app.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=number)).one()
        episode.join_url = url
        episode.sequence += 1
        db.session.commit()


def text_of(message: EmailMessage) -> str:
    """The plain-text part, with plain spaces."""
    return normalise_spaces(message.get_body(("plain",)).get_content()).replace("\r\n", "\n")


def first_link(message: EmailMessage) -> str:
    """The first address in the plain-text part."""
    return re.search(r"https?://\S+", text_of(message)).group(0)


def event_of(message: EmailMessage) -> icalendar.Event:
    """The VEVENT of the message's .ics attachment."""
    (attachment,) = list(message.iter_attachments())
    return icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")[0]


def rows(app: Flask) -> list[tuple[int, str, int]]:
    """(registration, kind, step) of every reminder_sent row."""
    with app.app_context():
        return [
            (r.registration_id, str(r.kind), r.step)
            for r in db.session.scalars(sa.select(ReminderSent).order_by(ReminderSent.id))
        ]


def test_a_whole_episode_day(programme: Flask, make_attendee, smtp: MailSink) -> None:
    make_attendee(email="camille@example.org", first_name="Camille", episodes=(1,))
    make_attendee(email="ines@example.org", first_name="Inès", episodes=(1, 2))
    make_attendee(email="autre-episode@example.org", episodes=(2,))

    at(programme, DAY_BEFORE - timedelta(minutes=1))
    assert queued(send(programme)) == 0

    # The day before, at the same time: the first reminder, the link not set yet.
    at(programme, DAY_BEFORE)
    assert queued(send(programme)) == 2
    day_before = smtp.wait_for(2)
    assert sorted(m["To"] for m in day_before) == ["camille@example.org", "ines@example.org"]
    message = next(m for m in day_before if m["To"] == "camille@example.org")
    assert normalise_spaces(message["Subject"]) == (
        "Rappel · 26 novembre à 11 h 00 : épisode 1 du cycle de webinaires"
    )
    text = text_of(message)
    assert text.startswith("Bonjour Camille,")
    assert "Le lien pour rejoindre le webinaire n’est pas encore prêt" in text
    assert "jeudi 26 novembre 2026 · 11 h 00 – 12 h 00 (heure de Paris)" in text
    assert "https://webinaires.example.org/episodes/plateformes-civictech/questions/poser" in text
    assert "Votre espace personnel :\nhttps://webinaires.example.org/moi\n" in text
    assert message["List-Unsubscribe"].startswith(
        "<https://webinaires.example.org/moi/desinscription/"
    )
    assert str(event_of(message)["LOCATION"]).startswith("En ligne")
    first_sequence = int(event_of(message)["SEQUENCE"])

    at(programme, DAY_BEFORE + timedelta(minutes=1))
    assert queued(send(programme)) == 0

    # The facilitator sets the link that evening: it goes to both at once.
    smtp.clear()
    at(programme, DAY_BEFORE + timedelta(hours=8))
    set_join_link(programme, JOIN)
    assert queued(send(programme)) == 2
    links = smtp.wait_for(2)
    assert {m["Subject"] for m in links} == {"Le lien pour rejoindre l’épisode 1"}
    assert all(first_link(m) == JOIN for m in links)

    # One hour before: the link comes first, and the calendar entry gets it.
    smtp.clear()
    at(programme, HOUR_BEFORE)
    assert queued(send(programme)) == 2
    hour_before = smtp.wait_for(2)
    message = next(m for m in hour_before if m["To"] == "ines@example.org")
    assert text_of(message).startswith(f"Bonjour Inès,\n\nRejoindre le webinaire :\n{JOIN}\n")
    assert first_link(message) == JOIN
    event = event_of(message)
    assert str(event["UID"]) == "episode-participation-1@webinaires.example.org"
    assert str(event["LOCATION"]) == JOIN
    assert int(event["SEQUENCE"]) > first_sequence

    at(programme, HOUR_BEFORE + timedelta(minutes=30))
    assert queued(send(programme)) == 0
    # From the start on, nothing more, even for someone who registers now.
    at(programme, START)
    make_attendee(email="en-retard@example.org", episodes=(1,))
    assert queued(send(programme)) == 0
    at(programme, START + timedelta(hours=3))
    assert queued(send(programme)) == 0
    time.sleep(0.2)
    assert len(smtp.messages) == 2
    assert sorted(kind for _, kind, _ in rows(programme)) == ["join_link"] * 2 + ["reminder"] * 4
    with programme.app_context():
        ids = list(db.session.scalars(sa.select(OutboxMessage.message_id)))
    assert len(ids) == len(set(ids)) == 6


def test_someone_who_registers_half_an_hour_before_gets_only_the_latest(
    programme: Flask, smtp: MailSink
) -> None:
    at(programme, START - timedelta(minutes=30))
    register(programme.test_client(), htmx=True, email="tardive@example.org")
    assert queued(send(programme)) == 1
    messages = smtp.wait_for(2)
    subjects = sorted(normalise_spaces(m["Subject"]) for m in messages)
    assert subjects[0].startswith("Rappel · 26 novembre à 11 h 00")
    assert rows(programme) == [(rows(programme)[0][0], "reminder", 60)]
    # The day-before reminder, overdue, never goes.
    at(programme, START - timedelta(minutes=10))
    assert queued(send(programme)) == 0


def test_an_episode_moved_closer_sends_only_the_latest(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, smtp: MailSink
) -> None:
    make_attendee(email="a@example.org", episodes=(2,))
    make_attendee(email="b@example.org", episodes=(2,))
    at(programme, datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    assert queued(send(programme)) == 0
    # Episode 2 (3 December) moved to today, 40 minutes from now: both reminders are due.
    soon = datetime(2026, 11, 25, 12, 40, tzinfo=UTC).astimezone(PARIS)
    assert move(facilitator_client, 2, soon, notify=False).status_code == 303
    assert queued(send(programme)) == 2
    assert {step for _, kind, step in rows(programme)} == {60}
    smtp.wait_for(2)
    assert queued(send(programme)) == 0


def test_moving_an_episode_later_owes_the_reminders_again(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, smtp: MailSink
) -> None:
    make_attendee(email="a@example.org", episodes=(1,))
    at(programme, DAY_BEFORE)
    assert queued(send(programme)) == 1
    # A week later: the day-before reminder is owed again for the new date, not before.
    later = (START + timedelta(days=7)).astimezone(PARIS)
    at(programme, DAY_BEFORE + timedelta(hours=2))
    assert move(facilitator_client, 1, later, notify=True).status_code == 303
    assert queued(send(programme)) == 0
    at(programme, DAY_BEFORE + timedelta(days=7))
    assert queued(send(programme)) == 1
    # Moved by ten minutes after a reminder: no second copy of it.
    at(programme, DAY_BEFORE + timedelta(days=7, hours=1))
    assert log_in(facilitator_client).status_code == 303  # a week later: a new session
    assert (
        move(facilitator_client, 1, later + timedelta(minutes=10), notify=False).status_code == 303
    )
    assert queued(send(programme)) == 0


def test_nobody_who_stopped_is_reminded(
    programme: Flask, client: FlaskClient, make_attendee, smtp: MailSink
) -> None:
    from app.attendee.services import erase, set_following, unsubscribe

    make_attendee(email="reste@example.org", episodes=(1,))
    stops, _ = make_attendee(email="ne-suit-plus@example.org", episodes=(1,))
    unsubscribes, _ = make_attendee(email="desinscrite@example.org", episodes=(1,))
    erased, _ = make_attendee(email="effacee@example.org", episodes=(1,))
    no_reminders, _ = make_attendee(email="sans-rappels@example.org", episodes=(1,))
    at(programme, DAY_BEFORE - timedelta(hours=1))
    with programme.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
        set_following(stops, episode, False)
        unsubscribe(unsubscribes)
        erase(erased)
    sign_in_as(client, no_reminders)
    page = client.get("/moi").get_data(as_text=True)
    response = client.post(
        "/moi/e-mails",
        data={"csrf_token": csrf_from(page), "topics": ["mail_changes", "mail_followup"]},
    )
    assert response.status_code == 303
    at(programme, DAY_BEFORE)
    assert queued(send(programme)) == 1
    assert [m["To"] for m in smtp.wait_for(1)] == ["reste@example.org"]


def test_reminders_waiting_in_the_outbox_are_dropped_for_who_stops_meanwhile(
    programme: Flask, make_attendee, smtp: MailSink
) -> None:
    from app.attendee.services import set_following, set_mail_preferences
    from app.mailing.reminders import queue_due_reminders

    make_attendee(email="reste@example.org", episodes=(1,))
    stops, _ = make_attendee(email="ne-suit-plus@example.org", episodes=(1,))
    quiet, _ = make_attendee(email="plus-de-rappels@example.org", episodes=(1,))
    at(programme, DAY_BEFORE)
    with programme.app_context():
        assert queue_due_reminders() == 3  # queued, not yet delivered (SMTP was slow…)
        episode = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
        set_following(stops, episode, False)
        set_mail_preferences(quiet, set())
    assert queued(send(programme)) == 0
    assert [m["To"] for m in smtp.wait_for(1)] == ["reste@example.org"]
    time.sleep(0.2)
    assert len(smtp.messages) == 1


def test_a_new_join_link_goes_at_once_to_those_who_had_the_old_one(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, smtp: MailSink
) -> None:
    make_attendee(email="rappelee@example.org", episodes=(1,))
    set_join_link(programme, JOIN)
    at(programme, DAY_BEFORE)
    assert queued(send(programme)) == 1
    smtp.wait_for(1)
    smtp.clear()
    new_link = "https://visio.example.org/nouvelle-salle"
    data = edit_form(facilitator_client, 1, join_url=new_link)
    # The running site sends it by itself, right after the save (no cron, no minute to wait).
    programme.config.update(OUTBOX_SEND_AFTER_REQUEST=True, REMINDERS_IN_BACKGROUND=True)
    try:
        saved = facilitator_client.post(edit_url(programme, 1), data=data, follow_redirects=True)
        page = normalise_spaces(saved.get_data(as_text=True))
        assert "Le nouveau lien part tout de suite à la 1 personne dont le rappel portait" in page
        (message,) = smtp.wait_for(1)
        assert message["To"] == "rappelee@example.org"
        assert message["Subject"] == "Nouveau lien pour rejoindre l’épisode 1"
        assert first_link(message) == new_link
        assert "l’ancien ne fonctionne plus" in text_of(message)
        assert str(event_of(message)["LOCATION"]) == new_link
    finally:
        programme.extensions["outbox_worker"].stop()
        programme.config.update(OUTBOX_SEND_AFTER_REQUEST=False, REMINDERS_IN_BACKGROUND=False)
    time.sleep(0.2)
    assert len(smtp.messages) == 1


def test_the_new_link_goes_only_to_those_whose_reminder_carried_another(
    programme: Flask, make_attendee, smtp: MailSink
) -> None:
    make_attendee(email="rappelee@example.org", episodes=(1,))
    at(programme, DAY_BEFORE)
    assert queued(send(programme)) == 1  # "the link is not ready yet"
    make_attendee(email="inscrite-ensuite@example.org", episodes=(1,))
    set_join_link(programme, JOIN)
    smtp.clear()
    at(programme, DAY_BEFORE + timedelta(minutes=5))
    # One message each: the link for the first, her overdue reminder (with it) for the other.
    assert queued(send(programme)) == 2
    received = {m["To"]: m for m in smtp.wait_for(2)}
    assert received["rappelee@example.org"]["Subject"] == "Le lien pour rejoindre l’épisode 1"
    assert normalise_spaces(received["inscrite-ensuite@example.org"]["Subject"]).startswith(
        "Rappel"
    )
    assert all(first_link(m) == JOIN for m in received.values())
    # The same link set again changes nothing; the next reminder carries it to both.
    assert queued(send(programme)) == 0
    smtp.clear()
    at(programme, HOUR_BEFORE)
    assert queued(send(programme)) == 2
    assert all(first_link(m) == JOIN for m in smtp.wait_for(2))


def test_the_running_site_queues_due_reminders_by_itself(
    programme: Flask, make_attendee, smtp: MailSink
) -> None:
    make_attendee(email="a@example.org", episodes=(1,))
    at(programme, DAY_BEFORE - timedelta(minutes=1))
    programme.config.update(
        OUTBOX_SEND_AFTER_REQUEST=True, REMINDERS_IN_BACKGROUND=True, OUTBOX_WAKE_SECONDS=0.2
    )
    try:
        assert programme.test_client().get("/healthz").status_code == 200
        time.sleep(0.6)
        assert smtp.messages == []
        at(programme, DAY_BEFORE)  # nobody calls anything: the sender wakes by itself
        (message,) = smtp.wait_for(1)
        assert normalise_spaces(message["Subject"]).startswith("Rappel · 26 novembre")
        time.sleep(0.6)
        assert len(smtp.messages) == 1
    finally:
        programme.extensions["outbox_worker"].stop()


def test_smtp_down_at_reminder_time_retries_and_stays_once(
    programme: Flask, database_url: str, smtp_server, make_attendee, smtp: MailSink
) -> None:
    make_attendee(email="a@example.org", episodes=(1,))
    down = make_test_app(database_url, free_port())
    try:
        at(down, HOUR_BEFORE)
        output = send(down)
        assert "Rappels mis en file : 1" in output and "à réessayer : 1" in output
        with down.app_context():
            row = db.session.scalars(sa.select(OutboxMessage)).one()
            assert row.status == OutboxStatus.PENDING and row.attempts >= 1
            assert row.last_error.startswith("Serveur de messagerie injoignable")
            message_id = row.message_id
        # Later runs while it is still down: the back-off holds, nothing is queued twice.
        at(down, HOUR_BEFORE + timedelta(minutes=3))
        send(down)
        at(programme, HOUR_BEFORE + timedelta(minutes=10))
        assert "Envoyés : 1" in send(programme)
        (message,) = smtp.wait_for(1)
        assert message["Message-ID"] == message_id
        assert rows(programme) == [(rows(programme)[0][0], "reminder", 60)]
        at(programme, HOUR_BEFORE + timedelta(minutes=20))
        send(programme)
        time.sleep(0.2)
        assert len(smtp.messages) == 1
    finally:
        with down.app_context():
            db.engine.dispose()


def test_a_reminder_that_could_not_leave_before_the_start_is_not_sent(
    programme: Flask, database_url: str, make_attendee, smtp: MailSink
) -> None:
    make_attendee(email="a@example.org", episodes=(1,))
    down = make_test_app(database_url, free_port())
    try:
        at(down, HOUR_BEFORE)
        send(down)
    finally:
        with down.app_context():
            db.engine.dispose()
    at(programme, START + timedelta(minutes=1))
    assert "en échec : 1" in send(programme)
    time.sleep(0.2)
    assert smtp.messages == []
    with programme.app_context():
        row = db.session.scalars(sa.select(OutboxMessage)).one()
        assert row.status == OutboxStatus.FAILED
        assert (
            row.last_error
            == "Non envoyé : l’épisode avait déjà commencé quand le message pouvait partir."
        )


def test_the_command_delivers_by_itself_and_starts_no_background_sender(
    programme: Flask, make_attendee, smtp: MailSink
) -> None:
    make_attendee(email="a@example.org", episodes=(1,))
    programme.config["OUTBOX_SEND_AFTER_REQUEST"] = True  # as on a real site
    at(programme, DAY_BEFORE)
    assert "Envoyés : 1" in send(programme)
    # A thread started by the command would die with its process in the middle of a send.
    assert "outbox_worker" not in programme.extensions
    assert programme.config["OUTBOX_SEND_AFTER_REQUEST"] is True
