"""A long list of published questions: the first fifty, then fifty more at a time."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Episode, Question
from tests.support.http import csrf_from, htmx_headers
from tests.support.questions import vote

EPISODE_1 = "/episodes/plateformes-civictech"


@pytest.fixture
def many(programme: Flask, make_attendee) -> int:
    """120 published questions on episode 1, numbered by their support (120 votes first)."""
    author, _ = make_attendee(first_name="Aïcha", last_name="Durand")
    with programme.app_context():
        episode_id = db.session.scalar(sa.select(Episode.id).filter_by(number=1))
        db.session.execute(
            sa.insert(Question),
            [
                dict(
                    episode_id=episode_id,
                    attendee_id=author,
                    text=f"Question numéro {n:03d} sur la participation",
                    published=True,
                    vote_count=121 - n,
                )
                for n in range(1, 121)
            ],
        )
        db.session.commit()
    return author


def numbers(body: str) -> list[int]:
    """The questions the list shows, in order."""
    return [int(n) for n in re.findall(r'class="question-text"[^>]*>Question numéro (\d+)', body)]


def more_link(body: str) -> tuple[str, str] | None:
    """The "voir les suivantes" link: (address, words)."""
    found = re.search(r'<a id="voir-suivantes" href="([^"]+)"[^>]*>([^<]+)</a>', body)
    return (html.unescape(found[1]), found[2]) if found else None


def test_the_page_shows_fifty_then_fifty_more_then_the_rest(client: FlaskClient, many: int) -> None:
    body = client.get(EPISODE_1).get_data(as_text=True)
    assert numbers(body) == list(range(1, 51))
    assert "50 questions affichées sur 120." in body
    assert more_link(body) == (f"{EPISODE_1}?voir=100#suite-51", "Voir les 50 questions suivantes")

    body = client.get(f"{EPISODE_1}?voir=100").get_data(as_text=True)
    assert numbers(body) == list(range(1, 101))
    assert 'id="suite-51"' in body  # where the no-JS link lands: the first one added
    assert more_link(body) == (f"{EPISODE_1}?voir=120#suite-101", "Voir les 20 questions suivantes")

    body = client.get(f"{EPISODE_1}?voir=120").get_data(as_text=True)
    assert numbers(body) == list(range(1, 121))
    assert more_link(body) is None
    assert "affichées sur" not in body


def test_the_recent_order_keeps_its_order_while_showing_more(
    client: FlaskClient, many: int
) -> None:
    body = client.get(f"{EPISODE_1}?tri=recentes").get_data(as_text=True)
    assert more_link(body)[0] == f"{EPISODE_1}?tri=recentes&voir=100#suite-51"
    shown = numbers(client.get(f"{EPISODE_1}?tri=recentes&voir=100").get_data(as_text=True))
    assert len(shown) == 100 and len(set(shown)) == 100


def test_in_place_the_list_grows_and_focus_goes_to_the_first_question_added(
    client: FlaskClient, many: int
) -> None:
    response = client.get(
        f"{EPISODE_1}?voir=100",
        headers=htmx_headers(target="questions-publiees", trigger="voir-suivantes"),
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body and numbers(body) == list(range(1, 101))
    focused = re.findall(
        r'<p class="question-text"[^>]*data-focus[^>]*>Question numéro (\d+)', body
    )
    assert focused == ["051"]
    # The list refreshed after one's own vote keeps the hundred it shows.
    assert f'hx-get="{EPISODE_1}?tri=votes&amp;voir=100"' in body


@pytest.mark.parametrize(
    ("asked", "shown"),
    [("-5", 50), ("0", 50), ("abc", 50), ("75", 75), ("149", 120), ("10" * 30, 120)],
)
def test_any_number_asked_shows_a_sensible_list(
    client: FlaskClient, many: int, asked: str, shown: int
) -> None:
    response = client.get(f"{EPISODE_1}?voir={asked}")
    assert response.status_code == 200
    assert len(numbers(response.get_data(as_text=True))) == shown


def test_a_vote_on_a_question_beyond_the_first_fifty_counts(
    programme: Flask, many: int, make_attendee
) -> None:
    _, token = make_attendee(first_name="Paul", last_name="Lefèvre")
    with programme.app_context():
        last = db.session.scalar(sa.select(Question.id).order_by(Question.vote_count).limit(1))
    person = programme.test_client()
    person.get(f"/moi/{token}")
    page = person.get(f"{EPISODE_1}?voir=120").get_data(as_text=True)
    assert f'id="vote-{last}-compte">1 vote<' in page
    assert vote(person, last, csrf_from(page)).status_code == 200
    body = person.get(f"{EPISODE_1}?voir=120").get_data(as_text=True)
    counted = re.search(
        rf'id="vote-{last}-compte">(\d+) votes?<span class="muted">, dont le vôtre', body
    )
    assert counted, "the vote shows on the question beyond the first fifty"
