"""The review page's counts per status come from `question_tally`, which the database keeps
(app/tally.py): it must agree with the questions after every kind of write, whoever makes
it; on PostgreSQL a change does not wait for another facilitator's open transaction; the
migration counts the questions already on file, and `create_all` builds what it builds."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from app.backup import dump, load
from app.extensions import db
from app.facilitator.review import new_questions_since
from app.models import Attendee, Episode, Question
from app.programme.services import load_programme
from app.tally import status_counts
from app.vocabulary import QuestionStatus
from tests.support.questions import add_question
from tests.test_migration_search import empty_database, some_questions

BEFORE = "c4d8e2a6f0b3"


def counted(episode_id: int) -> dict[QuestionStatus, int]:
    """What the tally should say, counted from the questions themselves."""
    counts = dict.fromkeys(QuestionStatus, 0)
    for status, count in db.session.execute(
        sa.select(Question.status, sa.func.count())
        .where(Question.episode_id == episode_id)
        .group_by(Question.status)
    ):
        counts[status] = count
    return counts


def agrees(episode_ids: list[int]) -> None:
    """The tally of each episode is its questions' count (and its newest id, at least)."""
    db.session.remove()
    for episode_id in episode_ids:
        counts, max_id = status_counts(episode_id)
        assert counts == counted(episode_id), episode_id
        newest = db.session.scalar(
            sa.select(sa.func.max(Question.id)).where(Question.episode_id == episode_id)
        )
        # Ids only grow: a deleted newest question leaves its id as the newest seen.
        assert max_id >= (newest or 0)
    db.session.remove()


def test_the_tally_follows_every_kind_of_write(
    programme: Flask, make_attendee: Callable[..., tuple[int, str]]
) -> None:
    app = programme
    author, _ = make_attendee()
    other, _ = make_attendee()
    with app.app_context():
        first, third = (
            db.session.scalar(sa.select(Episode.id).filter_by(number=n)) for n in (1, 3)
        )
        episodes = [first, third]
        assert status_counts(first) == (dict.fromkeys(QuestionStatus, 0), 0)

        # One by one, as a person asks; then many in one statement, as a script would.
        ids = [add_question(app, author, status=s) for s in ("nouvelle", "nouvelle", "retenue")]
        agrees(episodes)
        assert status_counts(first)[1] == max(ids)
        db.session.execute(
            sa.insert(Question),
            [
                {"episode_id": first, "attendee_id": other, "text": f"Question {n}", "status": s}
                for n, s in enumerate(["nouvelle", "ecartee", "ecrit", "repondue"])
            ],
        )
        db.session.commit()
        agrees(episodes)

        # A review action; a vote and an edit (no change of status); a bulk change.
        db.session.get(Question, ids[0]).status = QuestionStatus.SELECTED
        db.session.commit()
        db.session.execute(sa.update(Question).values(vote_count=Question.vote_count + 1))
        db.session.get(Question, ids[1]).text = "Une autre formulation ?"
        db.session.commit()
        agrees(episodes)
        db.session.execute(
            sa.update(Question)
            .where(Question.status == QuestionStatus.NEW)
            .values(status=QuestionStatus.MERGED, merged_into_id=ids[2])
        )
        db.session.commit()
        agrees(episodes)

        # Moved to another episode, with and without a new status, in one transaction with
        # a new question that is changed before the commit.
        db.session.get(Question, ids[1]).episode_id = third
        moved = db.session.get(Question, ids[2])
        moved.episode_id, moved.status = third, QuestionStatus.CARRIED_OVER
        fresh = Question(episode_id=third, attendee_id=author, text="Et après ?")
        db.session.add(fresh)
        db.session.flush()
        fresh.status = QuestionStatus.DISMISSED
        db.session.commit()
        agrees(episodes)
        assert status_counts(third)[0][QuestionStatus.DISMISSED] == 1

        # What is rolled back leaves the tally as it was.
        before = status_counts(first)
        db.session.get(Question, ids[0]).status = QuestionStatus.DISMISSED
        db.session.add(Question(episode_id=first, attendee_id=other, text="Annulée ?"))
        db.session.flush()
        db.session.rollback()
        assert status_counts(first) == before

        # Deleted: one question, then an attendee and every question of theirs (cascade).
        db.session.delete(db.session.get(Question, ids[0]))
        db.session.commit()
        agrees(episodes)
        db.session.delete(db.session.get(Attendee, other))
        db.session.commit()
        agrees(episodes)
        assert sum(status_counts(first)[0].values()) == 0
        assert sum(status_counts(third)[0].values()) == 3


def test_the_review_page_shows_the_tally(
    programme: Flask, make_attendee: Callable[..., tuple[int, str]], facilitator_client
) -> None:
    """What the facilitator reads: the count of each status, after questions change."""
    app = programme
    author, _ = make_attendee()
    for status in ("nouvelle", "nouvelle", "retenue", "ecartee"):
        add_question(app, author, status=status)
    with app.app_context():
        slug = db.session.scalar(sa.select(Episode.slug).filter_by(number=1))
        db.session.execute(
            sa.update(Question)
            .where(Question.status == QuestionStatus.DISMISSED)
            .values(status=QuestionStatus.NEW)
        )
        db.session.commit()
    page = facilitator_client.get(f"/animation/episodes/{slug}/questions").get_data(as_text=True)
    shown = dict(re.findall(r'>([^<>]+) <span class="count">(\d+)</span>', page))
    assert (shown["Toutes"], shown["Nouvelles"], shown["Retenues"], shown["Écartées"]) == (
        "4",
        "3",
        "1",
        "0",
    )


def test_a_change_does_not_wait_for_another_facilitators_open_transaction(
    programme: Flask, make_attendee: Callable[..., tuple[int, str]]
) -> None:
    """Two facilitators on one episode: one has changed a question and not committed yet
    (a merge in progress), the other changes another question and commits at once. Locked
    as each question changed, the tally row would make the second wait for the first (and
    deadlock, should the first then want the second's question)."""
    app = programme
    author, _ = make_attendee()
    a, b = add_question(app, author), add_question(app, author)
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time")
        episode_id = db.session.scalar(sa.select(Question.episode_id).filter_by(id=a))
        db.session.remove()
        first = db.engine.connect()
        second = db.engine.connect()
        try:
            with first.begin():
                first.execute(sa.update(Question).filter_by(id=a).values(status="retenue"))
                errors: list[BaseException] = []

                def other_facilitator() -> None:
                    try:
                        with second.begin():
                            second.exec_driver_sql("SET LOCAL lock_timeout = '3s'")
                            second.execute(
                                sa.update(Question).filter_by(id=b).values(status="ecartee")
                            )
                    except BaseException as error:
                        errors.append(error)

                thread = threading.Thread(target=other_facilitator)
                thread.start()
                thread.join(10)
                assert not thread.is_alive() and errors == []
                # The first now touches the question the second changed: no deadlock.
                first.execute(sa.update(Question).filter_by(id=b).values(vote_count=1))
        finally:
            first.close()
            second.close()
        agrees([episode_id])
        assert status_counts(episode_id)[0][QuestionStatus.SELECTED] == 1
        assert status_counts(episode_id)[0][QuestionStatus.DISMISSED] == 1


def test_after_the_newest_question_is_deleted_the_poll_still_sees_the_next_one(
    programme: Flask, make_attendee: Callable[..., tuple[int, str]]
) -> None:
    """SQLite gives a deleted last id to the next row: `max_id` must go back to the newest
    question left, or the review's new-questions poll (ids above it) would miss that row."""
    app = programme
    author, _ = make_attendee()
    kept, newest = add_question(app, author), add_question(app, author)
    with app.app_context():
        episode_id = db.session.scalar(sa.select(Question.episode_id).filter_by(id=kept))
        db.session.delete(db.session.get(Question, newest))
        db.session.commit()
        page_loaded_with = status_counts(episode_id)[1]
        assert page_loaded_with == kept
    arrived = add_question(app, author, text="Arrivée après le chargement ?")
    with app.app_context():
        assert new_questions_since(episode_id, page_loaded_with) == 1, (arrived, newest)


def test_crossing_transactions_on_two_episodes_do_not_deadlock(
    programme: Flask, make_attendee: Callable[..., tuple[int, str]]
) -> None:
    """An attendee's erasure deletes their questions of episodes 1 then 2; a carry-over
    adds a copy to episode 2, then marks the original of episode 1. Both reach their commit
    while a third commit holds episode 1's tally: taken row by row, in the order of their
    changes, they would deadlock (PostgreSQL aborts one)."""
    app = programme
    erased, _ = make_attendee()
    author, _ = make_attendee()
    add_question(app, erased, number=1)
    add_question(app, erased, number=2)
    original = add_question(app, author, number=1)
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time")
        first, second = (
            db.session.scalar(sa.select(Episode.id).filter_by(number=n)) for n in (1, 2)
        )
        db.session.remove()
        holder, erasure, carry = (db.engine.connect() for _ in range(3))
        outcome: dict[str, str] = {}

        def commit(name: str, connection: sa.Connection) -> None:
            try:
                connection.commit()
                outcome[name] = "committed"
            except sa.exc.DBAPIError as error:
                outcome[name] = type(error.orig).__name__

        try:
            holder.begin()
            holder.execute(
                sa.text("SELECT 1 FROM question_tally WHERE episode_id = :e FOR UPDATE"),
                {"e": first},
            )
            erasure.begin()
            erasure.execute(sa.delete(Attendee).filter_by(id=erased))
            carry.begin()
            copy = carry.execute(
                sa.insert(Question)
                .values(episode_id=second, attendee_id=author, text="Copie")
                .returning(Question.id)
            ).scalar_one()
            carry.execute(
                sa.update(Question)
                .filter_by(id=original)
                .values(status=QuestionStatus.CARRIED_OVER, carried_to_id=copy)
            )
            threads = [
                threading.Thread(target=commit, args=(name, connection))
                for name, connection in (("erasure", erasure), ("carry", carry))
            ]
            for thread in threads:
                thread.start()
                time.sleep(0.3)
            holder.commit()
            for thread in threads:
                thread.join(15)
        finally:
            for connection in (holder, erasure, carry):
                connection.close()
        assert outcome == {"erasure": "committed", "carry": "committed"}
        agrees([first, second])
        assert status_counts(first)[0][QuestionStatus.CARRIED_OVER] == 1
        assert sum(status_counts(second)[0].values()) == 1


def test_a_truncate_empties_the_tally(
    programme: Flask, make_attendee: Callable[..., tuple[int, str]]
) -> None:
    app = programme
    author, _ = make_attendee()
    question = add_question(app, author)
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has no TRUNCATE")
        episode_id = db.session.scalar(sa.select(Question.episode_id).filter_by(id=question))
        db.session.remove()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE question CASCADE")
        assert status_counts(episode_id) == (dict.fromkeys(QuestionStatus, 0), 0)
        agrees([episode_id])


def tally_objects(connection: sa.Connection) -> list[str]:
    """The tally's objects as the database describes them."""
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(
            "SELECT type, name, sql FROM sqlite_master WHERE name LIKE 'question_tally%'"
            " ORDER BY name"
        )
        return [" ".join(str(v) for v in row) for row in rows]
    rows = connection.exec_driver_sql(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE left(tgname, 14) = 'question_tally'"
        " UNION ALL SELECT concat_ws(' ', column_name, data_type, column_default)"
        " FROM information_schema.columns WHERE table_name = 'question_tally'"
        " UNION ALL SELECT prosrc FROM pg_proc WHERE proname = 'question_tally_keep'"
        " ORDER BY 1"
    )
    return [str(row[0]) for row in rows]


def test_the_migration_counts_the_questions_on_file_and_create_all_builds_the_same(
    tmp_path: Path,
) -> None:
    with empty_database(tmp_path, "tally") as app, app.app_context():
        upgrade()
        load_programme()
        some_questions(["Une ?", "Deux ?", "Trois ?"])
        db.session.execute(
            sa.update(Question).where(Question.text == "Deux ?").values(status="retenue")
        )
        db.session.commit()
        episode_id = db.session.scalar(sa.select(Episode.id).filter_by(number=1))
        db.session.remove()
        downgrade(revision=BEFORE)
        with db.engine.connect() as conn:
            assert tally_objects(conn) == []
        upgrade()
        counts, max_id = status_counts(episode_id)
        assert (counts[QuestionStatus.NEW], counts[QuestionStatus.SELECTED]) == (2, 1)
        assert max_id == db.session.scalar(sa.select(sa.func.max(Question.id)))
        db.session.remove()
        with db.engine.connect() as conn:
            migrated = tally_objects(conn)
        assert migrated
    with empty_database(tmp_path, "tally_created") as created, created.app_context():
        db.create_all()
        with db.engine.connect() as conn:
            assert tally_objects(conn) == migrated
        db.drop_all()
        with db.engine.connect() as conn:
            assert tally_objects(conn) == []


def test_a_backup_leaves_the_tally_out_and_a_restore_counts_again(tmp_path: Path) -> None:
    backup = tmp_path / "backup.jsonl.gz"
    with empty_database(tmp_path, "tally_source") as source, source.app_context():
        upgrade()
        load_programme()
        some_questions(["Une ?", "Deux ?"])
        episode_id = db.session.scalar(sa.select(Episode.id).filter_by(number=1))
        db.session.remove()
        expected = status_counts(episode_id)
        counts = dump(backup)
        db.session.remove()
    assert "question_tally" not in counts
    with empty_database(tmp_path, "tally_restored") as target, target.app_context():
        upgrade()
        load(backup)
        assert status_counts(episode_id) == expected
        agrees([episode_id])
