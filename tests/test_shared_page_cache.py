"""Shared pages served below the framework (issue 12): the same bytes for every visitor
without a session, kept in front of Flask, keyed on what they vary on, forgotten when the
programme, its questions or an episode's state change, never for a browser with a session."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Episode, Question
from tests.support.database import NOW, count_queries
from tests.support.http import csrf_from, htmx_headers, sign_in_as
from tests.support.questions import add_question, publish

EPISODE = "/episodes/budget-participatif"


def test_a_shared_page_is_answered_before_flask_without_a_query(
    programme: Flask, client: FlaskClient
) -> None:
    programme.config["PROGRAMME_SNAPSHOT_SECONDS"] = 2  # as deployed
    for url in ("/", EPISODE, "/cycle.ics", "/episodes/budget-participatif.ics"):
        first = client.get(url)
        assert first.headers["X-Cache"] == "miss", url
        with count_queries(programme) as queries:
            again = client.get(url)
        assert again.headers["X-Cache"] == "hit", url
        assert again.get_data() == first.get_data()
        assert len(queries) == 0, queries.statements
        assert "Set-Cookie" not in again.headers
    head = client.head("/")
    assert head.headers["X-Cache"] == "hit" and head.get_data() == b""


def test_a_conditional_request_gets_a_304_from_the_cache(
    programme: Flask, client: FlaskClient
) -> None:
    etag = client.get("/").headers["ETag"]
    again = client.get("/", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["X-Cache"] == "hit"
    assert again.get_data() == b""


def test_a_page_and_its_fragment_are_kept_apart(programme: Flask, client: FlaskClient) -> None:
    page = client.get(EPISODE)
    fragment = client.get(EPISODE, headers=htmx_headers("questions-publiees"))
    assert "<html" in page.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    assert (
        client.get(EPISODE, headers=htmx_headers("questions-publiees")).headers["X-Cache"] == "hit"
    )
    assert "<html" in client.get(EPISODE).get_data(as_text=True)


def test_a_browser_with_a_session_is_never_served_from_the_cache(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    anonymous = programme.test_client()
    anonymous.get(EPISODE)
    assert anonymous.get(EPISODE).headers["X-Cache"] == "hit"
    attendee_id, _ = make_attendee()
    sign_in_as(client, attendee_id)
    own = client.get(EPISODE)
    assert "X-Cache" not in own.headers  # straight to Flask: this page is the attendee's own
    assert own.headers["Cache-Control"] == "private, no-cache"


def test_a_vote_shows_at_once_on_its_page_and_leaves_the_other_pages_kept(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    # Under load a question or a vote comes every second: `/`, the calendars and the other
    # episodes' pages, which show none of them, stay kept (they were rendered again after
    # every one of them).
    programme.config["PROGRAMME_SNAPSHOT_SECONDS"] = 2  # as deployed
    author, _ = make_attendee(email="auteur@example.org")
    voter, _ = make_attendee(email="votant@example.org")
    question_id = add_question(programme, author, number=2, text="Une question publiée ?")
    publish(programme, question_id)
    anonymous = programme.test_client()
    others = ("/", "/cycle.ics", "/episodes/budget-participatif.ics", "/episodes/api")
    for url in others:
        anonymous.get(url)
    assert "0 vote" in anonymous.get(EPISODE).get_data(as_text=True)
    assert anonymous.get(EPISODE).headers["X-Cache"] == "hit"
    sign_in_as(client, voter)
    token = csrf_from(client.get(EPISODE).get_data(as_text=True))
    client.post(f"/questions/{question_id}/vote", data={"csrf_token": token, "action": "soutenir"})
    after = anonymous.get(EPISODE)
    assert after.headers["X-Cache"] == "miss"  # this worker's own write: seen at once
    assert "1 vote" in after.get_data(as_text=True)
    for url in others:
        assert anonymous.get(url).headers["X-Cache"] == "hit", url
    add_question(programme, author, number=7, text="Une autre, ailleurs ?")
    assert anonymous.get(EPISODE).headers["X-Cache"] == "hit"


def test_another_workers_change_shows_within_the_snapshot_delay(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    programme.config["PROGRAMME_SNAPSHOT_SECONDS"] = 2
    clock = programme.extensions["clock"]
    author, _ = make_attendee()
    question_id = add_question(programme, author, number=2, text="Une question publiée ?")
    publish(programme, question_id)
    client.get(EPISODE)
    with programme.app_context(), db.engine.begin() as other_worker:
        other_worker.execute(sa.update(Question).values(vote_count=5))
    assert "0 vote" in client.get(EPISODE).get_data(as_text=True)  # still the snapshot's
    clock.freeze(clock.now() + timedelta(seconds=2))
    assert "5 votes" in client.get(EPISODE).get_data(as_text=True)


def test_a_page_rendered_before_the_snapshot_catches_up_carries_the_etag_of_what_it_shows(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    # Behind round robin, a worker whose snapshot is not yet PROGRAMME_SNAPSHOT_SECONDS old
    # renders another instance's change: the same bytes must carry the same ETag everywhere.
    programme.config["PROGRAMME_SNAPSHOT_SECONDS"] = 2
    clock = programme.extensions["clock"]
    # (Registered first: a registration is a write this worker's pages follow at once.)
    attendee_id, _ = make_attendee()
    anonymous = programme.test_client()
    before = anonymous.get("/")
    with programme.app_context(), db.engine.begin() as other_worker:
        other_worker.execute(
            sa.update(Episode)
            .where(Episode.number == 3)
            .values(title="Un titre changé ailleurs", updated_at=NOW + timedelta(minutes=1))
        )
    sign_in_as(client, attendee_id)  # straight to Flask, which renders the programme read now
    rendered = client.get("/")
    assert "Un titre changé ailleurs" in rendered.get_data(as_text=True)
    assert rendered.headers["ETag"] != before.headers["ETag"]
    assert anonymous.get("/").headers["ETag"] == before.headers["ETag"]  # the snapshot's
    assert client.get("/", headers={"If-None-Match": rendered.headers["ETag"]}).status_code == 304
    clock.freeze(clock.now() + timedelta(seconds=2))
    caught_up = anonymous.get("/")
    assert caught_up.headers["X-Cache"] == "miss"
    assert caught_up.get_data() == rendered.get_data()
    assert caught_up.headers["ETag"] == rendered.headers["ETag"]


def test_pages_follow_the_episodes_states(programme: Flask, client: FlaskClient) -> None:
    programme.config["PROGRAMME_SNAPSHOT_SECONDS"] = 60  # only the clock moves
    with programme.app_context():
        starts = db.session.scalars(sa.select(Episode).filter_by(number=1)).one().starts_at
    before = client.get("/").get_data(as_text=True)
    programme.extensions["clock"].freeze(starts + timedelta(minutes=1))
    during = client.get("/")
    assert during.headers["X-Cache"] == "miss"
    assert during.get_data(as_text=True) != before
    assert "En cours" in during.get_data(as_text=True)


def test_only_answers_that_may_be_shared_are_kept(programme: Flask, client: FlaskClient) -> None:
    for _ in range(2):
        missing = client.get("/episodes/n-existe-pas")
        assert missing.status_code == 404 and missing.headers.get("X-Cache") == "miss"
    assert "X-Cache" not in client.get("/inscription").headers  # a form: never shared
    assert "X-Cache" not in client.post("/", data={}).headers


def test_any_number_of_query_strings_cannot_fill_a_workers_memory(
    programme: Flask, client: FlaskClient, monkeypatch
) -> None:
    """Each query string is a key of its own: the cache holds a bounded number of bytes,
    forgetting the oldest, and the page last asked for is still served from it."""
    from app import pagecache

    page_size = len(client.get(EPISODE).get_data())
    monkeypatch.setattr(pagecache, "MAX_BYTES", 10 * page_size)
    cache = programme.extensions["pagecache"]
    for n in range(60):
        assert client.get(f"{EPISODE}?n={n}").status_code == 200
    assert cache.size <= 10 * page_size
    assert 5 <= len(cache.entries) <= 10
    assert cache.size == sum(len(entry.body) for entry in cache.entries.values())
    assert client.get(f"{EPISODE}?n=59").headers["X-Cache"] == "hit"
    assert client.get(f"{EPISODE}?n=0").headers["X-Cache"] == "miss"


def test_a_very_large_answer_is_served_but_not_kept(
    programme: Flask, client: FlaskClient, monkeypatch
) -> None:
    from app import pagecache

    monkeypatch.setattr(pagecache, "MAX_ENTRY_BYTES", 1000)
    first = client.get(EPISODE)
    assert first.status_code == 200 and len(first.get_data()) > 1000
    assert client.get(EPISODE).headers["X-Cache"] == "miss"
    assert programme.extensions["pagecache"].size == 0
