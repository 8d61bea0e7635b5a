"""Searching questions through the index on the review page (issue 12): accents folded,
words typed halfway, several words in any order, whatever the facilitator types; the
index in step with every insert, edit, merge and deletion; on SQLite and PostgreSQL alike
(TEST_DATABASE_URL)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Attendee, Question
from app.search import fts5_query, search_words, tsquery
from tests.support.fates import give_fate
from tests.support.http import csrf_from, htmx_headers, sign_in_as

REVIEW = "/animation/episodes/plateformes-civictech/questions"


def found(client: FlaskClient, q: str, **args: str) -> list[int]:
    """The ids of the questions the review page lists for this search (never a 5xx)."""
    response = client.get(REVIEW, query_string={"q": q, **args})
    assert response.status_code == 200, (q, response.status_code)
    return [
        int(n) for n in re.findall(r'<li class="q q-[a-z]+" id="question-(\d+)"', response.text)
    ]


def heading(client: FlaskClient, q: str) -> str:
    """The list's heading: how many, and what was searched."""
    body = client.get(REVIEW, query_string={"q": q}).get_data(as_text=True)
    match = re.search(r'<h2 id="question-list-title"[^>]*>(.*?)</h2>', body, re.S)
    assert match is not None
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).replace("&nbsp;", " ").split())


def index_in_step(app: Flask) -> None:
    """SQLite: FTS5 checks its index against the question table itself."""
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "INSERT INTO question_fts (question_fts, rank) VALUES ('integrity-check', 1)"
            )


@pytest.fixture
def questions(facilitator_client: FlaskClient, make_question) -> dict[str, int]:
    """A few questions of episode 1 (and one of episode 2), by a short name."""
    return {
        "réunion": make_question("Comment préparer une réunion publique ?"),
        "reunion": make_question("Reunion de quartier sans accents : quel ordre du jour ?"),
        "concertation": make_question("La concertation préalable est-elle obligatoire ?"),
        "budget": make_question("Quel budget participatif pour les jeunes élus ?"),
        "oeuvre": make_question("La mise en œuvre des décisions, qui la suit ?"),
        "adresse": make_question("Le site www.jeparticipe.fr et l’évaluation du porte-à-porte"),
        "autre épisode": make_question("Une réunion publique ailleurs", episode=2),
    }


def test_accents_and_case_are_folded_both_ways(
    facilitator_client: FlaskClient, questions: dict[str, int]
) -> None:
    both = sorted([questions["réunion"], questions["reunion"]])
    for typed in ("reunion", "réunion", "Reunion", "RÉUNION", "réunions"[:7]):
        assert sorted(found(facilitator_client, typed)) == both, typed
    # Other episodes' questions never show on this episode's page.
    assert questions["autre épisode"] not in found(facilitator_client, "reunion")
    # "oe" typed on a French keyboard finds "œ", and the other way round.
    assert found(facilitator_client, "oeuvre") == [questions["oeuvre"]]
    assert found(facilitator_client, "Œuvre") == [questions["oeuvre"]]


def test_a_word_typed_halfway_finds_its_end(
    facilitator_client: FlaskClient, questions: dict[str, int]
) -> None:
    assert found(facilitator_client, "concert") == [questions["concertation"]]
    assert found(facilitator_client, "concertati") == [questions["concertation"]]
    assert found(facilitator_client, "particip") == [questions["budget"]]
    # A prefix, not a fragment: the middle of a word is not a word typed halfway.
    assert found(facilitator_client, "certation") == []


def test_several_words_must_all_be_there_in_any_order(
    facilitator_client: FlaskClient, questions: dict[str, int]
) -> None:
    assert found(facilitator_client, "publique réunion") == [questions["réunion"]]
    assert found(facilitator_client, "réunion   PUBLIQUE") == [questions["réunion"]]
    assert found(facilitator_client, "jeunes budg") == [questions["budget"]]
    assert found(facilitator_client, "réunion budget") == []
    # Words joined by punctuation follow each other (an address, an elision, a hyphen).
    assert found(facilitator_client, "jeparticipe") == [questions["adresse"]]
    assert found(facilitator_client, "www.jeparticipe.fr") == [questions["adresse"]]
    assert found(facilitator_client, "l'évaluation") == [questions["adresse"]]
    assert found(facilitator_client, "porte-à-porte") == [questions["adresse"]]
    assert found(facilitator_client, "porte-a-p") == [questions["adresse"]]
    assert "1 question contenant « publique réunion »" in heading(
        facilitator_client, "publique réunion"
    )


@pytest.mark.parametrize(
    "typed",
    [
        '"',
        '""',
        "*",
        "-",
        "NEAR",
        "NEAR(réunion publique, 2)",
        "(",
        ")",
        ":",
        "'",
        "%",
        "_",
        "\\",
        "^réunion",
        "réunion*",
        '"réunion',
        "réunion OR budget",
        "NOT budget",
        "text:réunion",
        "episode_id : 2",
        "{text}: réunion",
        "réunion:* & !budget",
        "réunion <-> publique",
        "🙂",
        "réunion 🙂",
        "\x00réunion",
        "é" * 10_000,
        "réunion " * 2_000,
    ],
)
def test_whatever_is_typed_answers_a_list_never_an_error(
    facilitator_client: FlaskClient, questions: dict[str, int], typed: str
) -> None:
    """Quotes, operators and symbols are not syntax: each word is searched as typed."""
    if "\x00" in typed:  # refused before any search, as everywhere on the site
        response = facilitator_client.get(REVIEW, query_string={"q": typed})
        assert response.status_code == 400
        return
    listed = found(facilitator_client, typed)
    words = search_words(typed)
    if not words:  # nothing left to search: no filter, every question of the episode
        assert len(listed) == len(questions) - 1
        assert "contenant" not in heading(facilitator_client, typed)
    elif set(words) <= {"réunion", "publique", "2"}:
        assert questions["réunion"] in listed or words == ["episode", "id", "2"]
    if "episode" in words:  # the index's own columns are no syntax either
        assert listed == []


def test_what_is_sent_to_the_engines_is_always_quoted() -> None:
    words = search_words('Réunion" OR text:(x* NEAR «y») l’été réunion')
    assert words == ["réunion", "or", "text", "x", "near", "y", "l", "été"]
    assert fts5_query(["or", "x"]) == 'text : ("or"* AND "x"*)'
    assert fts5_query(["cœur"]) == 'text : (("cœur"* OR "coeur"*))'
    assert tsquery(["l", "été", "o'k"]) == "'l':* & 'été':* & 'o''k':*"
    assert search_words("«  » … — 🙂") == []
    assert len(search_words(" ".join(f"mot{n}" for n in range(100)))) == 12  # a paste


def test_an_edited_question_is_found_by_its_new_words_only(
    programme: Flask, facilitator_client: FlaskClient, make_attendee
) -> None:
    author, _ = make_attendee()
    from tests.support.questions import add_question

    question_id = add_question(programme, author, text="Comment toucher les familles ?")
    assert found(facilitator_client, "familles") == [question_id]
    attendee = programme.test_client()
    sign_in_as(attendee, author)
    form = attendee.get(f"/questions/{question_id}/modifier").get_data(as_text=True)
    saved = attendee.post(
        f"/questions/{question_id}/modifier",
        data={"text": "Comment associer les commerçants ?", "csrf_token": csrf_from(form)},
        headers=htmx_headers(f"question-{question_id}"),
    )
    assert saved.status_code == 200
    assert found(facilitator_client, "familles") == []
    assert found(facilitator_client, "commercants") == [question_id]
    index_in_step(programme)


def test_deleted_and_merged_questions(
    programme: Flask, facilitator_client: FlaskClient, make_attendee, make_question
) -> None:
    author, _ = make_attendee()
    other, _ = make_attendee()
    kept = make_question("La tarification solidaire des transports", attendee_id=author)
    merged = make_question("Tarification solidaire : et les bus ?", attendee_id=other)
    withdrawn = make_question("Tarification des cantines", attendee_id=author)
    assert sorted(found(facilitator_client, "tarification")) == sorted([kept, merged, withdrawn])

    # Merged: still a question of the episode, listed with its fate, found by its words.
    assert give_fate(facilitator_client, merged, "fusion", keep=kept).status_code == 200
    assert found(facilitator_client, "bus") == [merged]
    assert found(facilitator_client, "tarification", statut="fusionnee") == [merged]

    # Withdrawn by its author: gone from the index with the row.
    attendee = programme.test_client()
    sign_in_as(attendee, author)
    page = attendee.get(f"/questions/{withdrawn}/retirer").get_data(as_text=True)
    response = attendee.post(
        f"/questions/{withdrawn}/retirer", data={"csrf_token": csrf_from(page)}
    )
    assert response.status_code in (200, 303)
    assert found(facilitator_client, "cantines") == []

    # An attendee erased (cascade from the attendee table): their questions go too.
    with programme.app_context():
        db.session.execute(sa.delete(Attendee).where(Attendee.id == other))
        db.session.commit()
        assert db.session.get(Question, merged) is None
    assert found(facilitator_client, "tarification") == [kept]
    index_in_step(programme)


def test_the_search_keeps_a_fixed_number_of_statements(
    programme: Flask, facilitator_client: FlaskClient, make_attendee, make_question
) -> None:
    from tests.support.database import count_queries

    author, _ = make_attendee()
    for n in range(60):
        make_question(f"Réunion numéro {n}", attendee_id=author)
    for args in ({}, {"statut": "nouvelle"}, {"tri": "recentes"}, {"page": "2"}):
        with count_queries(programme) as statements:
            listed = found(facilitator_client, "reunion", **args)
        assert len(statements) <= 6, statements.statements
        assert len(listed) == (10 if args.get("page") else 50)
    assert "60 questions contenant « reunion »" in heading(facilitator_client, "reunion")


def test_a_search_within_a_status_or_a_theme_counts_what_it_lists(
    programme: Flask, facilitator_client: FlaskClient, make_attendee, make_question
) -> None:
    """Each way of counting a search's results (the index alone, a status, a theme's tags,
    a theme and a status) gives the number of questions listed."""
    from app.models import QuestionTheme, Theme

    author, _ = make_attendee()
    ids = [
        make_question(text, attendee_id=author, status=status)
        for text, status in [
            ("Mobiliser les jeunes", "nouvelle"),
            ("Mobiliser les aînés", "retenue"),
            ("Mobiliser en ligne", "nouvelle"),
            ("Écouter les jeunes", "nouvelle"),
        ]
    ]
    elsewhere = make_question("Mobiliser ailleurs", attendee_id=author, episode=2)
    with programme.app_context():
        series_id = db.session.scalar(sa.select(Attendee.series_id).filter_by(id=author))
        theme = Theme(series_id=series_id, name="Jeunesse", key="jeunesse")
        db.session.add(theme)
        db.session.flush()
        theme_id = theme.id
        for question_id in (ids[0], ids[1], ids[3], elsewhere):
            db.session.add(QuestionTheme(question_id=question_id, theme_id=theme_id))
        db.session.commit()
    cases = [
        ({}, [ids[0], ids[1], ids[2]]),
        ({"statut": "nouvelle"}, [ids[0], ids[2]]),
        ({"theme": str(theme_id)}, [ids[0], ids[1]]),
        ({"theme": str(theme_id), "statut": "retenue"}, [ids[1]]),
        ({"theme": str(theme_id), "statut": "ecartee"}, []),
    ]
    for args, expected in cases:
        body = facilitator_client.get(REVIEW, query_string={"q": "mobilis", **args}).text
        listed = [int(n) for n in re.findall(r'<li class="q q-[a-z]+" id="question-(\d+)"', body)]
        assert sorted(listed) == sorted(expected), args
        title = re.search(r'<h2 id="question-list-title"[^>]*>\s*(\d+) question', body)
        assert title is not None and int(title.group(1)) == len(expected), args
