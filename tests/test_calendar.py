"""Calendar files: valid, Paris time zone, stable UIDs, growing SEQUENCE, no private link."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import icalendar
import sqlalchemy as sa
import vobject
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Episode
from app.programme.services import load_programme, read_content

PARIS = ZoneInfo("Europe/Paris")


def parse(body: bytes) -> icalendar.Calendar:
    """Parse with icalendar."""
    return icalendar.Calendar.from_ical(body)


def test_cycle_ics_is_valid_for_two_parsers(programme: Flask, client: FlaskClient) -> None:
    response = client.get("/cycle.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert b"\r\n" in response.data
    calendar = parse(response.data)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 7
    timezones = list(calendar.walk("VTIMEZONE"))
    assert [str(tz["TZID"]) for tz in timezones] == ["Europe/Paris"]
    first = min(events, key=lambda e: e.decoded("DTSTART"))
    start = first.decoded("DTSTART")
    assert str(first["DTSTART"].params["TZID"]) == "Europe/Paris"
    assert start.astimezone(UTC) == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert first.decoded("DTEND").astimezone(PARIS).hour == 12

    # An independent parser reads the same seven events at the same instants.
    parsed = vobject.readOne(response.data.decode("utf-8"))
    starts = sorted(event.dtstart.value.astimezone(UTC) for event in parsed.vevent_list)
    assert starts[0] == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert len(starts) == 7
    uids = {event.uid.value for event in parsed.vevent_list}
    assert len(uids) == 7


def test_episode_ics_carries_uid_sequence_url_and_no_join_link(
    programme: Flask, client: FlaskClient
) -> None:
    with programme.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=4)).one()
        episode.join_url = "https://visio.example.org/secret-room-4"
        db.session.commit()
    response = client.get("/episodes/cas-usage-innovants.ics")
    assert response.status_code == 200
    assert b"secret-room-4" not in response.data
    assert b"secret-room-4" not in client.get("/cycle.ics").data
    assert b"secret-room-4" not in client.get("/").data
    assert b"secret-room-4" not in client.get("/episodes/cas-usage-innovants").data
    (event,) = parse(response.data).walk("VEVENT")
    assert str(event["UID"]) == "episode-participation-4@webinaires.example.org"
    assert int(event["SEQUENCE"]) == 0
    assert str(event["URL"]) == "https://webinaires.example.org/episodes/cas-usage-innovants"
    assert "Épisode 4" in str(event["SUMMARY"])
    assert "Consultation budgétaire (département de la Corrèze)" in str(event["DESCRIPTION"])
    assert "attachment" in response.headers["Content-Disposition"]


def test_uid_is_stable_and_sequence_grows_when_the_time_changes(
    app: Flask, client: FlaskClient
) -> None:
    content = read_content()
    with app.app_context():
        load_programme(content=content)
    before = parse(client.get("/episodes/api.ics").data).walk("VEVENT")[0]
    with app.app_context():
        load_programme(content=content)  # unchanged: same file
    same = client.get("/episodes/api.ics")
    assert parse(same.data).walk("VEVENT")[0].to_ical() == before.to_ical()
    content["episodes"][5]["start_time"] = "15:00"
    with app.app_context():
        load_programme(content=content)
    after = parse(client.get("/episodes/api.ics").data).walk("VEVENT")[0]
    assert str(after["UID"]) == str(before["UID"])
    assert int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    assert after.decoded("DTSTART").astimezone(PARIS).hour == 15


def test_ics_is_cacheable(programme: Flask, client: FlaskClient) -> None:
    first = client.get("/cycle.ics")
    again = client.get("/cycle.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_add_to_calendar_links(programme: Flask, client: FlaskClient) -> None:
    body = html.unescape(client.get("/episodes/budget-participatif").get_data(as_text=True))
    google = re.search(r'href="(https://calendar\.google\.com/[^"]+)"', body).group(1)
    query = parse_qs(urlsplit(google).query)
    assert query["action"] == ["TEMPLATE"]
    # Episode 2: Thursday 3 December 2026, 11:00-12:00 in Paris = 10:00-11:00 UTC.
    assert query["dates"] == ["20261203T100000Z/20261203T110000Z"]
    assert query["ctz"] == ["Europe/Paris"]
    outlook = re.search(r'href="(https://outlook\.office\.com/[^"]+)"', body).group(1)
    oquery = parse_qs(urlsplit(outlook).query)
    assert oquery["startdt"] == ["2026-12-03T10:00:00Z"]
    assert oquery["rru"] == ["addevent"]
    assert "https://outlook.live.com/calendar/0/deeplink/compose?" in body
    home = html.unescape(client.get("/").get_data(as_text=True))
    assert 'href="webcal://webinaires.example.org/cycle.ics"' in home


def test_kept_calendars_and_links_follow_each_change_and_the_language(app: Flask) -> None:
    """Each worker keeps the calendars and add-to-calendar links it made (the same for
    everyone who follows the same episodes): an episode's change, or another language,
    gives new ones, never the kept ones."""
    from app.calendar.builder import calendar_links
    from app.language import speaking
    from app.mailing.notifications import my_calendar

    content = read_content()
    with app.app_context():
        load_programme(content=content)

    def made() -> tuple[str, str]:
        with app.test_request_context():
            episodes = list(db.session.scalars(sa.select(Episode).order_by(Episode.number)))
            return my_calendar(episodes), calendar_links(episodes[0])["google"]

    first = made()
    assert made() == first
    content["episodes"][0]["title"] = "Un titre tout neuf"
    with app.app_context():
        load_programme(content=content)
    ics, google = made()
    assert "Un titre tout neuf" in ics.replace("\r\n ", "")
    assert parse_qs(urlsplit(google).query)["text"][0].endswith("Un titre tout neuf")
    with app.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
        episode.join_url = "https://visio.example.org/nouveau"  # nothing else changes
        db.session.commit()
    assert "https://visio.example.org/nouveau" in made()[0].replace("\r\n ", "")
    with app.test_request_context(), speaking("en"):
        episodes = list(db.session.scalars(sa.select(Episode).order_by(Episode.number)))
        english = my_calendar(episodes)
    assert "/en/episodes/" in english and "/en/episodes/" not in made()[0]
