"""Published questions on the episode page, votes in place, concurrency, rate limits."""

from __future__ import annotations

import html
import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from app.extensions import db, limiter
from tests.support.database import make_test_app, prepare_schema
from tests.support.http import csrf_from, htmx_headers, sign_in_as
from tests.support.questions import (
    add_question,
    ask_url,
    publish,
    starts_at,
    token_for,
    vote,
    vote_count,
    vote_rows,
)

EPISODE_1 = "/episodes/plateformes-civictech"


@pytest.fixture
def people(programme: Flask, make_attendee) -> dict[str, int]:
    """An author and a voter."""
    author, _ = make_attendee(first_name="Aïcha", last_name="Durand")
    voter, _ = make_attendee(first_name="Paul", last_name="Lefèvre")
    return {"author": author, "voter": voter}


def client_of(app: Flask, attendee_id: int, rights: str = "full") -> FlaskClient:
    client = app.test_client()
    sign_in_as(client, attendee_id, rights=rights)
    return client


def published_texts(body: str) -> list[str]:
    return [
        html.unescape(t)
        for t in re.findall(
            r'<p class="question-text" id="question-publiee-\d+-texte">([^<]*)</p>', body
        )
    ]


def test_only_published_questions_show_with_names_only_when_chosen(
    programme: Flask, client: FlaskClient, people: dict[str, int]
) -> None:
    add_question(
        programme,
        people["author"],
        text="Publiée avec le nom, s’il vous plaît.",
        published=True,
        show_name=True,
    )
    add_question(
        programme, people["author"], text="Publiée sans le nom de son autrice.", published=True
    )
    add_question(programme, people["author"], text="Pas encore relue par l’animateur.")
    body = client.get(EPISODE_1).get_data(as_text=True)
    texts = published_texts(body)
    assert sorted(texts) == [
        "Publiée avec le nom, s’il vous plaît.",
        "Publiée sans le nom de son autrice.",
    ]
    assert body.count("Aïcha Durand") == 1
    assert "Anonyme" in body
    assert "Pas encore relue" not in body
    # Anonymous visitors see counts, no button, no token, no session.
    response = client.get(EPISODE_1)
    assert "vote-button" not in body and "csrf" not in body.lower()
    assert "Set-Cookie" not in response.headers
    assert "Ouvrez le lien personnel reçu par e-mail pour soutenir" in body


def test_vote_in_place_then_withdraw(programme: Flask, people: dict[str, int]) -> None:
    question_id = add_question(programme, people["author"], published=True)
    voter = client_of(programme, people["voter"])
    page = voter.get(EPISODE_1).get_data(as_text=True)
    assert f'hx-post="/questions/{question_id}/vote"' in page
    assert 'aria-pressed="false"' in page
    token = csrf_from(page)

    first = vote(voter, question_id, token)
    assert first.status_code == 200
    body = first.get_data(as_text=True)
    assert "<html" not in body
    assert 'aria-pressed="true"' in body and 'name="action" value="retirer"' in body
    assert "1 vote" in body and "data-focus" in body
    assert vote_rows(programme) == [(question_id, people["voter"])]
    assert vote_count(programme, question_id) == 1

    # The same click again (a double click, a replay) changes nothing.
    assert vote(voter, question_id, token).status_code == 200
    assert vote_count(programme, question_id) == 1

    withdrawn = vote(voter, question_id, token, action="retirer")
    assert 'aria-pressed="false"' in withdrawn.get_data(as_text=True)
    assert "0 vote" in withdrawn.get_data(as_text=True)
    assert vote_rows(programme) == [] and vote_count(programme, question_id) == 0


def test_vote_without_javascript_redirects_back(programme: Flask, people: dict[str, int]) -> None:
    question_id = add_question(programme, people["author"], published=True)
    voter = client_of(programme, people["voter"])
    token = csrf_from(voter.get(EPISODE_1).get_data(as_text=True))
    response = vote(voter, question_id, token, htmx=False)
    assert response.status_code == 303
    assert response.headers["Location"] == f"{EPISODE_1}#question-publiee-{question_id}"
    page = voter.get(EPISODE_1).get_data(as_text=True)
    assert 'aria-pressed="true"' in page and "1 vote" in page


def test_no_vote_on_ones_own_question(programme: Flask, people: dict[str, int]) -> None:
    question_id = add_question(programme, people["author"], published=True)
    author = client_of(programme, people["author"])
    page = author.get(EPISODE_1).get_data(as_text=True)
    assert "vote-button" not in page and "votre question" in page
    response = vote(author, question_id, token_for(author, programme))
    assert response.status_code == 409
    assert "propre question" in response.get_data(as_text=True)
    plain = vote(author, question_id, token_for(author, programme), htmx=False)
    assert plain.status_code == 409 and "propre question" in plain.get_data(as_text=True)
    assert vote_rows(programme) == []


def test_limited_rights_and_strangers_cannot_vote(
    programme: Flask, client: FlaskClient, people: dict[str, int]
) -> None:
    question_id = add_question(programme, people["author"], published=True)
    limited = client_of(programme, people["voter"], rights="limited")
    page = limited.get(EPISODE_1).get_data(as_text=True)
    assert "vote-button" not in page
    assert "ce navigateur sert pour l’instant à envoyer vos questions" in page
    response = vote(limited, question_id, token_for(limited, programme))
    assert response.status_code == 403
    assert "ouvrez le lien personnel" in response.get_data(as_text=True)
    # No session at all: refused by CSRF first (no token can be had).
    assert (
        client.post(f"/questions/{question_id}/vote", data={"action": "soutenir"}).status_code
        == 400
    )
    assert vote_rows(programme) == []


def test_unpublished_or_unknown_questions_cannot_be_voted(
    programme: Flask, people: dict[str, int]
) -> None:
    hidden = add_question(programme, people["author"])
    voter = client_of(programme, people["voter"])
    token = token_for(voter, programme)
    assert vote(voter, hidden, token).status_code == 404
    assert vote(voter, 999_999, token).status_code == 404
    bogus = voter.post(f"/questions/{hidden}/vote", data={"action": "doubler", "csrf_token": token})
    assert bogus.status_code == 404
    publish(programme, hidden)
    bogus = voter.post(
        f"/questions/{hidden}/vote",
        data={"action": "doubler", "csrf_token": token},
        headers=htmx_headers(f"vote-{hidden}"),
    )
    assert bogus.status_code == 422
    assert vote_rows(programme) == []


def test_votes_close_when_the_episode_ends(programme: Flask, people: dict[str, int]) -> None:
    question_id = add_question(programme, people["author"], published=True)
    voter = client_of(programme, people["voter"])
    token = token_for(voter, programme)
    # During the live, votes still count (questions themselves are closed).
    programme.extensions["clock"].freeze(starts_at(programme, 1) + timedelta(minutes=10))
    assert vote(voter, question_id, token).status_code == 200
    programme.extensions["clock"].freeze(starts_at(programme, 1) + timedelta(hours=1))
    response = vote(voter, question_id, token, action="retirer")
    assert response.status_code == 409
    assert "Les votes sont clos" in response.get_data(as_text=True)
    assert vote_count(programme, question_id) == 1
    page = voter.get(EPISODE_1).get_data(as_text=True)
    assert "vote-button" not in page and "Les votes sont clos" in page


def test_sort_by_votes_or_newest_in_place(
    programme: Flask, people: dict[str, int], make_attendee
) -> None:
    clock = programme.extensions["clock"]
    from tests.support.database import NOW

    ids = []
    for minute, text in enumerate(
        ["Ancienne mais soutenue.", "Moyenne sans voix.", "Toute récente, peu soutenue."]
    ):
        clock.freeze(NOW + timedelta(minutes=minute))
        ids.append(add_question(programme, people["author"], text=text, published=True))
    clock.freeze(NOW + timedelta(minutes=5))
    with programme.app_context():
        from app.questions.services import set_vote

        for _ in range(3):
            voter_id, _ = make_attendee()
            set_vote(ids[0], voter_id, True)
        set_vote(ids[2], people["voter"], True)
    voter = client_of(programme, people["voter"])
    by_votes = published_texts(voter.get(EPISODE_1).get_data(as_text=True))
    assert by_votes == [
        "Ancienne mais soutenue.",
        "Toute récente, peu soutenue.",
        "Moyenne sans voix.",
    ]
    newest = voter.get(EPISODE_1 + "?tri=recentes")
    assert published_texts(newest.get_data(as_text=True)) == [
        "Toute récente, peu soutenue.",
        "Moyenne sans voix.",
        "Ancienne mais soutenue.",
    ]
    # In place: only the list, with the chosen order marked and focused.
    fragment = voter.get(
        EPISODE_1 + "?tri=recentes",
        headers=htmx_headers("questions-publiees", trigger="tri-recentes"),
    ).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="questions-publiees"')
    assert re.search(r'id="tri-recentes"[^>]*aria-current="true" data-focus', fragment)
    assert published_texts(fragment)[0] == "Toute récente, peu soutenue."
    # Unknown sort values fall back to votes.
    assert (
        published_texts(voter.get(EPISODE_1 + "?tri=<script>").get_data(as_text=True)) == by_votes
    )


def test_typed_html_and_htmx_attributes_are_inert(programme: Flask, people: dict[str, int]) -> None:
    payloads = [
        '<script>alert("xss")</script>',
        '<img src=x onerror="alert(1)">',
        '<div hx-get="/questions/1/retirer" hx-trigger="load">htmx</div>',
    ]
    for payload in payloads:
        add_question(programme, people["author"], text=payload, published=True, show_name=True)
    with programme.app_context():
        from app.models import Attendee

        attendee = db.session.get(Attendee, people["author"])
        attendee.first_name = '<b hx-post="/x">Aïcha</b>'
        db.session.commit()
    voter = client_of(programme, people["voter"])
    body = voter.get(EPISODE_1).get_data(as_text=True)
    for payload in payloads:
        assert payload not in body
        assert str(escape(payload)) in body
    assert "<b hx-post" not in body
    assert "&lt;b hx-post=&#34;/x&#34;&gt;Aïcha&lt;/b&gt;" in body
    # Every typed text sits inside an element htmx will not process.
    assert body.count('<div class="published-body" hx-disable>') == 3


def test_episode_page_query_budget_for_an_attendee(
    programme: Flask, people: dict[str, int]
) -> None:
    for n in range(5):
        question_id = add_question(
            programme, people["author"], text=f"Question numéro {n} ici.", published=True
        )
    voter = client_of(programme, people["voter"])
    vote(voter, question_id, token_for(voter, programme))
    statements: list[str] = []
    with programme.app_context():
        engine = db.engine

    def count(*args, **kwargs):  # type: ignore[no-untyped-def]
        statements.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        response = voter.get(EPISODE_1)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    # Programme, attendee of the session, published questions with this attendee's votes.
    queries = [s for s in statements if not s.startswith("BEGIN")]
    assert len(queries) <= 3, "\n".join(q[:120] for q in queries)


def test_episode_page_etag_follows_the_questions(
    programme: Flask, client: FlaskClient, people: dict[str, int]
) -> None:
    first = client.get(EPISODE_1)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    assert client.get(EPISODE_1, headers={"If-None-Match": etag}).status_code == 304
    question_id = add_question(programme, people["author"], published=True)
    changed = client.get(EPISODE_1, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    etag = changed.headers["ETag"]
    with programme.app_context():
        from app.questions.services import set_vote

        set_vote(question_id, people["voter"], True)
    assert client.get(EPISODE_1, headers={"If-None-Match": etag}).status_code == 200


# ---------------------------------------------------------------- concurrency
def _at_once(count: int, action) -> list[int]:  # type: ignore[no-untyped-def]
    """Run `action(i)` in `count` threads released together; return their statuses."""
    barrier = threading.Barrier(count)
    statuses: list[int] = [0] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            statuses[i] = action(i)
        except BaseException as error:  # reported below, in the test thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return statuses


def test_concurrent_double_clicks_leave_one_vote(programme: Flask, people: dict[str, int]) -> None:
    question_id = add_question(programme, people["author"], published=True)
    clients = []
    for _ in range(8):
        # Eight browsers of the same attendee (or eight clicks): one session each.
        c = client_of(programme, people["voter"])
        clients.append((c, token_for(c, programme)))
    statuses = _at_once(8, lambda i: vote(clients[i][0], question_id, clients[i][1]).status_code)
    assert statuses == [200] * 8
    assert vote_rows(programme) == [(question_id, people["voter"])]
    assert vote_count(programme, question_id) == 1


def test_concurrent_votes_of_many_people_are_all_counted(
    programme: Flask, people: dict[str, int], make_attendee
) -> None:
    question_id = add_question(programme, people["author"], published=True)
    clients = []
    for _ in range(10):
        voter_id, _ = make_attendee()
        c = client_of(programme, voter_id)
        clients.append((c, token_for(c, programme)))
    statuses = _at_once(10, lambda i: vote(clients[i][0], question_id, clients[i][1]).status_code)
    assert statuses == [200] * 10
    assert len(vote_rows(programme, question_id)) == 10
    assert vote_count(programme, question_id) == 10
    # And withdrawn concurrently too.
    statuses = _at_once(
        10,
        lambda i: vote(clients[i][0], question_id, clients[i][1], action="retirer").status_code,
    )
    assert statuses == [200] * 10
    assert vote_rows(programme) == [] and vote_count(programme, question_id) == 0


def test_votes_are_unique_in_the_database(programme: Flask, people: dict[str, int]) -> None:
    from app.models import Vote

    question_id = add_question(programme, people["author"], published=True)
    with programme.app_context():
        db.session.add(Vote(question_id=question_id, attendee_id=people["voter"]))
        db.session.commit()
        db.session.add(Vote(question_id=question_id, attendee_id=people["voter"]))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()
        db.session.rollback()


# ---------------------------------------------------------------- rate limits
@pytest.fixture
def limited_app(database_url: str, smtp_server, app: Flask) -> Flask:  # type: ignore[no-untyped-def]
    """An app with rate limits on (tight ones), sharing the test database."""
    application = make_test_app(
        database_url,
        smtp_server[0].port,
        RATELIMIT_ENABLED=True,
        RATELIMIT_QUESTION="3 per minute",
        RATELIMIT_VOTE="4 per minute",
    )
    prepare_schema(application)
    application.extensions["clock"].freeze(app.extensions["clock"].now())
    from app.programme.services import load_programme

    with application.app_context():
        load_programme()
    yield application
    # The limiter is one object for every app of the test session: switch it off again.
    limiter.enabled = False
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_sending_and_voting_are_rate_limited(limited_app: Flask, make_attendee) -> None:
    author, _ = make_attendee(target_app=limited_app)
    voter, _ = make_attendee(target_app=limited_app)
    client = client_of(limited_app, author)
    token = csrf_from(
        client.get(ask_url(limited_app, 1), headers=htmx_headers("poser-1")).get_data(as_text=True)
    )
    statuses = [
        client.post(
            ask_url(limited_app, 1),
            data={"text": f"Question numéro {n} pour tester.", "csrf_token": token},
            headers=htmx_headers("zone-question-1"),
        ).status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    refused = client.post(
        ask_url(limited_app, 1),
        data={"text": "Encore une question de trop.", "csrf_token": token},
        headers=htmx_headers("zone-question-1"),
    )
    assert refused.status_code == 429
    assert "Trop de tentatives" in refused.get_data(as_text=True)
    # The message goes to the page's alert region: the form, and what was typed, stay.
    assert refused.headers["HX-Retarget"] == "#alerts"
    assert refused.headers["HX-Reswap"] == "innerHTML"
    assert "Retry-After" in refused.headers

    question_id = add_question(limited_app, author, published=True)
    voting = client_of(limited_app, voter)
    vote_token = csrf_from(
        voting.get(ask_url(limited_app, 2), headers=htmx_headers("poser-2")).get_data(as_text=True)
    )
    actions = ["soutenir", "retirer"] * 3
    statuses = [vote(voting, question_id, vote_token, action=a).status_code for a in actions]
    assert statuses == [200, 200, 200, 200, 429, 429]
    # The question limit counts per browser, not per attendee: whoever spent this browser's
    # allowance (a stranger who typed the owner's address) cannot silence the owner, whose
    # own browser still sends a question.
    other = client_of(limited_app, author)
    other_token = csrf_from(
        other.get(ask_url(limited_app, 1), headers=htmx_headers("poser-1")).get_data(as_text=True)
    )
    sent = other.post(
        ask_url(limited_app, 1),
        data={
            "text": "La question de la propriétaire, depuis son navigateur.",
            "csrf_token": other_token,
        },
        headers=htmx_headers("zone-question-1"),
    )
    assert sent.status_code == 200
