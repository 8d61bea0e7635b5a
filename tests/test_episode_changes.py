"""Moving and cancelling an episode: the facilitator confirms before anyone is mailed, the
message says when nobody is, calendars follow (same UID, higher SEQUENCE), public pages too."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import icalendar
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.mailing.worker import deliver_due
from app.models import Episode, FacilitatorAction, OutboxMessage
from app.timefmt import PARIS
from tests.support.database import NOW
from tests.support.episodes import edit_form, edit_url, move
from tests.support.facilitator import log_in
from tests.support.http import csrf_from, htmx_headers, normalise_spaces, sign_in_as
from tests.support.mail import MailSink

CANCEL = "/animation/episodes/{slug}/annulation"
REINSTATE = "/animation/episodes/{slug}/maintien"


def episode(app: Flask, number: int) -> Episode:
    with app.app_context():
        found = db.session.scalars(sa.select(Episode).filter_by(number=number)).one()
        db.session.expunge(found)
        return found


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    return normalise_spaces(html.unescape(response.get_data(as_text=True)))


def delivered(app: Flask) -> int:
    with app.app_context():
        return deliver_due()["sent"]


def paris(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


# ---------------------------------------------------------------- moving
def test_a_move_answered_no_is_saved_and_mails_nobody(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, smtp: MailSink
) -> None:
    make_attendee(episodes=(2,))
    response = move(facilitator_client, 2, paris(2026, 12, 3, 14, 30), notify=False)
    assert response.status_code == 303
    assert episode(programme, 2).starts_at == paris(2026, 12, 3, 14, 30).astimezone(UTC)
    page = page_text(facilitator_client.get(response.headers["Location"]))
    assert "Aucun e-mail n’a été envoyé aux inscrits, comme demandé." in page
    assert delivered(programme) == 0


def test_a_confirmation_given_for_another_time_asks_again(
    facilitator_client: FlaskClient, programme: Flask, make_attendee
) -> None:
    make_attendee(episodes=(2,))
    url = edit_url(programme, 2)
    data = edit_form(facilitator_client, 2, time="14:30")
    asked = facilitator_client.post(url, data=data)
    key = re.search(r'name="confirme_pour" value="([^"]+)"', asked.get_data(as_text=True))
    # The person changed the time again before confirming: the preview was for 14:30.
    again = facilitator_client.post(
        url, data={**data, "time": "15:00", "prevenir": "1", "confirme_pour": key.group(1)}
    )
    assert again.status_code == 200
    assert "15 h 00 – 16 h 00" in page_text(again)
    assert "Prévenir les 1 inscrit ?" in page_text(again)
    assert episode(programme, 2).starts_at == paris(2026, 12, 3, 11).astimezone(UTC)
    assert delivered(programme) == 0


def test_the_confirmation_comes_in_place_with_htmx(
    facilitator_client: FlaskClient, programme: Flask, make_attendee
) -> None:
    make_attendee(episodes=(2,))
    make_attendee(episodes=(2,))
    response = facilitator_client.post(
        edit_url(programme, 2),
        data=edit_form(facilitator_client, 2, time="09:30"),
        headers=htmx_headers(target="episode-form"),
    )
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="episode-form">')
    assert "<html" not in fragment
    assert "Prévenir les 2 inscrits" in fragment and 'name="csrf_token"' in fragment
    assert "data-focus" in fragment


def test_moving_an_episode_that_is_over_mails_nobody_and_says_so(
    facilitator_client: FlaskClient, programme: Flask, make_attendee
) -> None:
    make_attendee(episodes=(1,))
    programme.extensions["clock"].freeze(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    assert log_in(facilitator_client).status_code == 303
    response = move(facilitator_client, 1, paris(2026, 11, 26, 11, 15), notify=None)
    assert response.status_code == 303  # nothing to ask: it is saved at once
    page = page_text(facilitator_client.get(response.headers["Location"]))
    assert "Cet épisode est terminé : aucun e-mail n’est envoyé aux inscrits." in page
    assert "reçoivent un e-mail" not in page
    assert delivered(programme) == 0


def test_moving_an_episode_into_the_past_mails_nobody_and_says_so(
    facilitator_client: FlaskClient, programme: Flask, make_attendee
) -> None:
    make_attendee(episodes=(3,))
    yesterday = (NOW - timedelta(days=1)).astimezone(PARIS)
    response = move(facilitator_client, 3, yesterday, notify=None)
    assert response.status_code == 303
    page = page_text(facilitator_client.get(response.headers["Location"]))
    assert "La nouvelle date est déjà passée : aucun e-mail n’est envoyé aux inscrits." in page
    assert delivered(programme) == 0


def test_the_introduction_follows_the_episodes(
    facilitator_client: FlaskClient, programme: Flask
) -> None:
    def hero() -> str:
        body = page_text(facilitator_client.get("/"))
        return " ".join(re.search(r'<p class="call-what">(.*?)</p>', body, re.S).group(1).split())

    assert re.sub(r"<[^>]+>", "", hero()) == (
        "7 webinaires en direct, chaque semaine, du jeudi 26 novembre 2026 au jeudi 7 janvier "
        "2027 à 11 h 00 (heure de Paris), en ligne et gratuit."
    )
    move(facilitator_client, 3, paris(2026, 12, 10, 14, 30), notify=False)
    assert "à 11 h 00 (épisode 3 à 14 h 30) (heure de Paris)" in hero()
    for number in (4, 5, 6):
        move(facilitator_client, number, paris(2026, 12, 17 + 7 * (number - 4), 9, 0), notify=False)
    text = re.sub(r"<[^>]+>", "", hero())
    assert "11 h 00" not in text and "l’horaire de chaque épisode est donné ci-dessous" in text


# ---------------------------------------------------------------- cancelling
def cancel(client: FlaskClient, slug: str, reason: str) -> tuple:  # type: ignore[type-arg]
    """Ask to cancel, then confirm; return (the page that asked, the confirmation's answer)."""
    url = CANCEL.format(slug=slug)
    token = csrf_from(client.get(url).get_data(as_text=True))
    asked = client.post(url, data={"csrf_token": token, "reason": reason})
    key = re.search(r'name="confirme_pour" value="([^"]+)"', asked.get_data(as_text=True))
    assert key, page_text(asked)
    done = client.post(
        url, data={"csrf_token": token, "reason": reason, "confirme_pour": key.group(1)}
    )
    return asked, done


def test_cancelling_asks_first_then_tells_registrants_and_every_page(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, smtp: MailSink
) -> None:
    follower, _ = make_attendee(email="suit@example.org", episodes=(2, 3))
    make_attendee(email="aussi@example.org", episodes=(2,))
    make_attendee(email="autre@example.org", episodes=(3,))
    before = episode(programme, 2)
    slug = before.slug
    reason = "L’intervenant est malade ; l’épisode sera reprogrammé en janvier."
    asked, done = cancel(facilitator_client, slug, reason)
    text = page_text(asked)
    assert "Prévenir les 2 inscrits ?" in text and "Rien n’est encore changé" in text
    assert f"Pourquoi : {reason}" in text  # the notice's preview
    assert done.status_code == 303
    after = episode(programme, 2)
    assert after.cancelled and after.cancel_reason == reason
    assert after.sequence == before.sequence + 1
    # The registrants: the reason, and an .ics that takes the event out of their calendar.
    assert delivered(programme) == 2
    messages = smtp.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["aussi@example.org", "suit@example.org"]
    message = messages[0]
    assert normalise_spaces(message["Subject"]) == "Annulé : épisode 2 du 3 décembre"
    assert reason in message.get_body(("plain",)).get_content()
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_param("method") == "CANCEL"
    calendar = icalendar.Calendar.from_ical(attachment.get_content())
    assert str(calendar["METHOD"]) == "CANCEL"
    event = calendar.walk("VEVENT")[0]
    assert str(event["UID"]) == "episode-participation-2@webinaires.example.org"
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == after.sequence
    assert "ORGANIZER" in event
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Public pages, the programme, the cycle feed, the personal space.
    visitor = programme.test_client()
    public = page_text(visitor.get(f"/episodes/{slug}"))
    assert '<span class="state state-cancelled">Annulé</span>' in public
    assert reason in public and "Questions closes : l’épisode est annulé." in public
    assert "Je m’inscris" not in public
    programme_page = page_text(visitor.get("/"))
    assert programme_page.count('<span class="state state-cancelled">Annulé</span>') == 1
    assert "6 webinaires en direct" in programme_page and "Annulé : épisode 2." in programme_page
    feed = icalendar.Calendar.from_ical(visitor.get("/cycle.ics").data)
    statuses = {str(e["UID"]): str(e["STATUS"]) for e in feed.walk("VEVENT")}
    assert statuses["episode-participation-2@webinaires.example.org"] == "CANCELLED"
    assert list(statuses.values()).count("CANCELLED") == 1
    sign_in_as(visitor, follower)
    space = page_text(visitor.get("/moi"))
    assert "Épisode annulé." in space and reason in space
    # Questions close; the registration form no longer offers it.
    ask = visitor.get(f"/episodes/{slug}/questions/poser")
    assert "Cet épisode est annulé" in page_text(ask)
    form = visitor.get("/inscription").get_data(as_text=True)
    assert f'value="{after.id}"' not in form
    with programme.app_context():
        action = db.session.scalars(
            sa.select(FacilitatorAction).filter_by(action="episode.cancel")
        ).one()
        assert action.detail == reason
    assert "Épisode annulé" in page_text(facilitator_client.get("/animation/journal"))


def test_a_cancelled_episode_gets_no_reminders_and_loses_those_waiting(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, smtp: MailSink
) -> None:
    from app.mailing.reminders import queue_due_reminders

    make_attendee(email="suit@example.org", episodes=(1,))
    with programme.app_context():
        assert queue_due_reminders() == 1  # episode 1's day-before reminder, not yet sent
    cancel(facilitator_client, episode(programme, 1).slug, "Salle indisponible.")
    with programme.app_context():
        kinds = list(db.session.scalars(sa.select(OutboxMessage.kind)))
        assert kinds == ["episode_cancelled"]
        assert queue_due_reminders() == 0
    programme.extensions["clock"].freeze(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    with programme.app_context():
        assert queue_due_reminders() == 0


def test_a_cancellation_needs_a_reason_and_a_time_before_the_start(
    facilitator_client: FlaskClient, programme: Flask, make_attendee
) -> None:
    slug = episode(programme, 2).slug
    url = CANCEL.format(slug=slug)
    token = csrf_from(facilitator_client.get(url).get_data(as_text=True))
    for reason, message in (
        ("", "Indiquez la raison : elle est donnée aux inscrits et sur la page publique."),
        ("x" * 501, "500 caractères au plus."),
    ):
        response = facilitator_client.post(url, data={"csrf_token": token, "reason": reason})
        assert response.status_code == 422
        body = page_text(response)
        assert message in body and 'id="reason-erreur"' in body
        assert 'aria-invalid="true"' in body
    assert not episode(programme, 2).cancelled
    programme.extensions["clock"].freeze(datetime(2026, 12, 3, 10, 30, tzinfo=UTC))
    assert log_in(facilitator_client).status_code == 303
    token = csrf_from(facilitator_client.get(url).get_data(as_text=True))
    late = facilitator_client.post(url, data={"csrf_token": token, "reason": "Trop tard"})
    assert late.status_code == 409
    assert "Cet épisode a commencé : il ne peut plus être annulé ni maintenu." in page_text(late)
    assert not episode(programme, 2).cancelled


def test_a_cancelled_episode_can_be_maintained_before_its_start(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, smtp: MailSink
) -> None:
    make_attendee(email="suit@example.org", episodes=(2,))
    slug = episode(programme, 2).slug
    cancel(facilitator_client, slug, "Intervenant indisponible.")
    cancelled = episode(programme, 2)
    assert delivered(programme) == 1
    smtp.wait_for(1)
    smtp.clear()
    page = facilitator_client.get(CANCEL.format(slug=slug))
    token = csrf_from(page.get_data(as_text=True))
    asked = facilitator_client.post(REINSTATE.format(slug=slug), data={"csrf_token": token})
    assert asked.status_code == 200
    assert "Prévenir les 1 inscrit ?" in page_text(asked)
    assert episode(programme, 2).cancelled  # nothing changed yet
    key = re.search(r'name="confirme_pour" value="([^"]+)"', asked.get_data(as_text=True))
    done = facilitator_client.post(
        REINSTATE.format(slug=slug), data={"csrf_token": token, "confirme_pour": key.group(1)}
    )
    assert done.status_code == 303
    after = episode(programme, 2)
    assert not after.cancelled and after.sequence == cancelled.sequence + 1
    assert delivered(programme) == 1
    (message,) = smtp.wait_for(1)
    assert normalise_spaces(message["Subject"]) == "Maintenu : épisode 2, 3 décembre à 11 h 00"
    event = icalendar.Calendar.from_ical(next(message.iter_attachments()).get_content()).walk(
        "VEVENT"
    )[0]
    assert str(event["STATUS"]) == "CONFIRMED" and int(event["SEQUENCE"]) == after.sequence
    assert "Annulé" not in page_text(programme.test_client().get(f"/episodes/{slug}"))
    # Once the planned start is past, a cancelled episode stays cancelled.
    cancel(facilitator_client, slug, "Finalement non.")
    programme.extensions["clock"].freeze(datetime(2026, 12, 3, 10, 5, tzinfo=UTC))
    assert log_in(facilitator_client).status_code == 303
    token = csrf_from(facilitator_client.get(CANCEL.format(slug=slug)).get_data(as_text=True))
    late = facilitator_client.post(REINSTATE.format(slug=slug), data={"csrf_token": token})
    assert late.status_code == 409
    assert episode(programme, 2).cancelled


def test_nobody_can_follow_a_cancelled_episode(
    facilitator_client: FlaskClient, programme: Flask, make_attendee
) -> None:
    attendee_id, _ = make_attendee(episodes=(3,))
    cancel(facilitator_client, episode(programme, 2).slug, "Reporté.")
    client = programme.test_client()
    sign_in_as(client, attendee_id)
    token = csrf_from(client.get("/moi").get_data(as_text=True))
    response = client.post(
        f"/moi/episodes/{episode(programme, 2).id}",
        data={"csrf_token": token, "follow": "1"},
        headers=htmx_headers(),
    )
    assert response.status_code == 409
    assert "Cet épisode est annulé" in page_text(response)
