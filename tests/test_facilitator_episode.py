"""Editing an episode: Paris time in, UTC stored, SEQUENCE and updated_at follow, errors in French."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Episode, FacilitatorAction
from tests.support.database import NOW
from tests.support.http import csrf_from, htmx_headers

EDIT = "/animation/episodes/plateformes-civictech/modifier"


def episode_one(app: Flask) -> Episode:
    with app.app_context():
        found = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
        db.session.expunge(found)
        return found


def form_data(client: FlaskClient, **changes: str) -> dict[str, str]:
    """The edit form as the page fills it, with some values changed."""
    page = client.get(EDIT)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    title = re.search(r'id="title"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*id="title"', body)
    teaser = re.search(r'<textarea[^>]*id="teaser"[^>]*>\s*(.*?)</textarea>', body, re.S)
    assert title and teaser
    data = {
        "csrf_token": csrf_from(body),
        "title": html.unescape(title.group(1) or title.group(2)),
        "teaser": html.unescape(teaser.group(1)),
        "date": "2026-11-26",
        "time": "11:00",
        "duration_minutes": "60",
        "speakers": "Thibaut Dernoncourt, Directeur Conseil chez Cap Collectif (animation)",
        "join_url": "",
        "replay_url": "",
    }
    data.update(changes)
    return data


def test_edit_form_shows_paris_time(facilitator_client: FlaskClient) -> None:
    body = facilitator_client.get(EDIT).get_data(as_text=True)
    assert 'value="2026-11-26"' in body and 'value="11:00"' in body
    assert "Thibaut Dernoncourt, Directeur Conseil chez Cap Collectif (animation)" in body


def test_moving_the_time_bumps_sequence_and_calendars_follow(
    facilitator_client: FlaskClient, programme: Flask
) -> None:
    before = episode_one(programme)
    programme.extensions["clock"].freeze(NOW + timedelta(minutes=5))
    response = facilitator_client.post(
        EDIT, data=form_data(facilitator_client, date="2026-12-03", time="14:30")
    )
    assert response.status_code == 303
    after = episode_one(programme)
    # 3 December 14:30 in Paris (UTC+1) is 13:30 UTC.
    assert after.starts_at == datetime(2026, 12, 3, 13, 30, tzinfo=UTC)
    assert after.sequence == before.sequence + 1
    assert after.updated_at == NOW + timedelta(minutes=5)
    assert after.updated_by_id is not None
    ics = facilitator_client.get("/episodes/plateformes-civictech.ics").get_data()
    event = icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]
    assert int(event["SEQUENCE"]) == after.sequence
    with programme.app_context():
        action = db.session.scalars(
            sa.select(FacilitatorAction).filter_by(action="episode.update")
        ).one()
        assert action.detail == "starts_at" and action.target == f"episode:{after.id}"


def test_other_changes_bump_updated_at_and_the_public_etag_only(
    facilitator_client: FlaskClient, programme: Flask
) -> None:
    before = episode_one(programme)
    etag_before = facilitator_client.get("/").headers["ETag"]
    # A second later: the public page's snapshot of the programme is still fresh, so the
    # edit itself must make this worker show the change at once.
    programme.extensions["clock"].freeze(NOW + timedelta(seconds=1))
    data = form_data(
        facilitator_client,
        title="Un nouveau titre",
        join_url="https://visio.example.org/salle?id=42",
        replay_url="http://replay.example.org/1",
        speakers="Thibaut Dernoncourt, Directeur Conseil (animation)\nAurélien David, Développeur, expert API",
    )
    response = facilitator_client.post(EDIT, data=data, headers=htmx_headers(target="episode-form"))
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert "Épisode enregistré" in fragment
    # The heading above the form follows the new title (out-of-band swap).
    assert '<div id="episode-heading" hx-swap-oob="true">' in fragment
    assert "Un nouveau titre" in fragment.split('id="episode-form"')[0]
    after = episode_one(programme)
    assert after.title == "Un nouveau titre"
    # The join link is the registrants' calendar LOCATION (issue 9): calendars must take it.
    assert after.sequence == before.sequence + 1
    assert after.updated_at > before.updated_at
    assert after.join_url == "https://visio.example.org/salle?id=42"
    assert after.speakers[1] == {
        "name": "Aurélien David",
        "role": "Développeur, expert API",
        "host": False,
    }
    assert after.speakers[0]["host"] is True
    public = facilitator_client.get("/")
    assert public.headers["ETag"] != etag_before
    assert "Un nouveau titre" in public.get_data(as_text=True)
    assert "visio.example.org" not in public.get_data(as_text=True)  # the join link stays private


def test_saving_without_changes_changes_nothing(
    facilitator_client: FlaskClient, programme: Flask
) -> None:
    before = episode_one(programme)
    data = form_data(facilitator_client, title=before.title, teaser=before.teaser)
    data["speakers"] = "Thibaut Dernoncourt, Directeur Conseil chez Cap Collectif (animation)"
    facilitator_client.post(EDIT, data=data)
    after = episode_one(programme)
    assert after.updated_at == before.updated_at and after.sequence == before.sequence


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": ""}, "title", "Indiquez le titre de l’épisode."),
        ({"title": "x" * 301}, "title", "300 caractères au maximum."),
        ({"join_url": "javascript:alert(1)"}, "join_url", "commençant par https://"),
        ({"replay_url": "ftp://example.org/x"}, "replay_url", "commençant par https://"),
        ({"join_url": "https://exa mple.org"}, "join_url", "ne doit pas contenir d’espace"),
        ({"date": "31/02/2026"}, "date", "Date invalide"),
        ({"time": "25:00"}, "time", "Heure invalide"),
        ({"date": "0001-01-01"}, "date", "Choisissez une date entre 2000 et 2100."),
        (
            {"date": "9999-12-31", "time": "23:00"},
            "date",
            "Choisissez une date entre 2000 et 2100.",
        ),
        ({"join_url": "https://[::1"}, "join_url", "commençant par https://"),
        ({"title": "Titre\r\nBcc: victime@example.org"}, "title", "Retirez les retours à la ligne"),
        ({"time": "02:30", "date": "2027-03-28"}, "time", "passage à l’heure d’été"),
        ({"duration_minutes": "deux heures"}, "duration_minutes", "nombre entier de minutes"),
        ({"duration_minutes": "5"}, "duration_minutes", "Entre 15 et 480 minutes."),
        ({"speakers": ", rôle sans nom"}, "speakers", "commence par le nom"),
    ],
)
def test_bad_input_gets_a_french_message_next_to_the_field(
    facilitator_client: FlaskClient, programme: Flask, changes: dict, field: str, message: str
) -> None:
    before = episode_one(programme)
    for headers in ({}, htmx_headers(target="episode-form")):
        response = facilitator_client.post(
            EDIT, data=form_data(facilitator_client, **changes), headers=headers
        )
        assert response.status_code == 422
        body = response.get_data(as_text=True)
        assert message in html.unescape(body)
        assert f'id="{field}-erreur"' in body
        assert f'id="{field}"' in body and 'aria-invalid="true"' in body
    after = episode_one(programme)
    assert (after.title, after.join_url, after.starts_at, after.updated_at) == (
        before.title,
        before.join_url,
        before.starts_at,
        before.updated_at,
    )


def test_moving_an_episode_asks_first_then_mails_its_registrants_the_new_time(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, smtp
) -> None:  # type: ignore[no-untyped-def]
    """Issue 9 changes this: the move is saved only once the facilitator answered
    "Prévenir les N inscrits ?", and only "yes" mails them."""
    from app.mailing.worker import deliver_due

    make_attendee(email="suit-1@example.org", episodes=(1, 2))
    make_attendee(email="suit-aussi@example.org", episodes=(1,))
    make_attendee(email="ne-suit-pas@example.org", episodes=(2,))
    before = episode_one(programme)
    data = form_data(facilitator_client, date="2026-11-26", time="14:30")
    asked = facilitator_client.post(EDIT, data=data)
    assert asked.status_code == 200
    page = html.unescape(asked.get_data(as_text=True)).replace("\u00a0", " ")
    assert "Prévenir les 2 inscrits ?" in page
    assert "Rien n’est encore enregistré" in page
    assert "Nouvel horaire : épisode 1 du cycle de webinaires" in page  # the mail's preview
    assert "jeudi 26 novembre 2026 · 14 h 30 – 15 h 30 (heure de Paris)" in page
    assert episode_one(programme).starts_at == before.starts_at
    with programme.app_context():
        assert deliver_due()["sent"] == 0
    key = re.search(r'name="confirme_pour" value="([^"]+)"', asked.get_data(as_text=True))
    response = facilitator_client.post(
        EDIT, data={**data, "prevenir": "1", "confirme_pour": html.unescape(key.group(1))}
    )
    assert response.status_code == 303
    with programme.app_context():
        assert deliver_due()["sent"] == 2
    messages = smtp.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["suit-1@example.org", "suit-aussi@example.org"]
    text = messages[0].get_body(("plain",)).get_content().replace("\u00a0", " ")
    assert "jeudi 26 novembre 2026 · 14 h 30 – 15 h 30 (heure de Paris)" in text
    (attachment,) = list(messages[0].iter_attachments())
    event = icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")[0]
    assert str(event["UID"]) == "episode-participation-1@webinaires.example.org"
    assert int(event["SEQUENCE"]) == 1
    # A change that does not move the episode mails nobody.
    smtp.clear()
    facilitator_client.post(
        EDIT, data=form_data(facilitator_client, time="14:30", title="Titre retouché")
    )
    with programme.app_context():
        assert deliver_due()["sent"] == 0


def test_the_journal_speaks_french(facilitator_client: FlaskClient, programme: Flask) -> None:
    facilitator_client.post(
        EDIT, data=form_data(facilitator_client, time="15:00", title="Titre du journal")
    )
    page = html.unescape(facilitator_client.get("/animation/journal").get_data(as_text=True))
    assert "Épisode modifié" in page
    assert "titre, date et heure" in page
    assert "épisode n°\u00a01" in page
    assert "episode.update" not in page and "starts_at" not in page
