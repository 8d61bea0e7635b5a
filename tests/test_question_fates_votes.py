"""Vote totals across merges, checked against the vote rows (issue 10): random votes,
merges and undos keep every count equal to its rows, count nobody twice, and undoing every
merge gives each question back exactly the supporters it had; two facilitators at once."""

from __future__ import annotations

import random
import threading

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.facilitator.acting import ActionRefused
from app.facilitator.fates import Decision, decide
from app.models import Episode, FacilitatorAction, Question
from app.questions.services import set_vote
from app.refusals import Refusal
from app.vocabulary import FateAction, QuestionStatus
from tests.support.facilitator import log_in
from tests.support.fates import assert_votes_consistent, facilitator_token, give_fate, voters


def _group_supporters(app: Flask, kept_id: int, supporters: dict[int, set[int]]) -> set[int]:
    """Everyone who supported the kept question or one merged into it, but its author."""
    with app.app_context():
        kept = db.session.get(Question, kept_id)
        group = [
            kept_id,
            *db.session.scalars(sa.select(Question.id).filter_by(merged_into_id=kept_id)),
        ]
        author = kept.attendee_id
    return set().union(*(supporters[q] for q in group)) - {author}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_votes_merges_and_undos_keep_counts_equal_to_the_vote_rows(
    programme: Flask, make_attendee, make_facilitator, seed: int
) -> None:
    rng = random.Random(seed)
    facilitator = make_facilitator()
    people = [make_attendee()[0] for _ in range(10)]
    with programme.app_context():
        episode_id = db.session.scalar(sa.select(Episode.id).filter_by(number=1))
        questions = []
        for n in range(7):
            question = Question(
                episode_id=episode_id,
                attendee_id=people[n],
                text=f"Question {n}",
                status=QuestionStatus.NEW,
                published=True,
            )
            db.session.add(question)
            db.session.flush()
            questions.append(question.id)
        db.session.commit()
    #: who supported each question by their own vote (a vote that made a row)
    supporters: dict[int, set[int]] = {q: set() for q in questions}
    merged: set[int] = set()
    for _ in range(120):
        roll = rng.random()
        with programme.test_request_context():
            if roll < 0.6:
                person, question = rng.choice(people), rng.choice(questions)
                if question in merged or person in voters(programme, question):
                    continue  # not votable, or already counted there (the button says so)
                try:
                    set_vote(question, person, True)
                except Refusal:
                    continue  # their own question
                supporters[question].add(person)
            elif roll < 0.85:
                source, target = rng.sample(questions, 2)
                try:
                    decide(
                        source, episode_id, Decision(FateAction.MERGE, keep_id=target), facilitator
                    )
                except ActionRefused:
                    continue  # merged already, or into a merged one: refused, nothing changed
                merged.add(source)
            elif merged:
                source = rng.choice(sorted(merged))
                decide(source, episode_id, Decision(FateAction.UNMERGE), facilitator)
                merged.discard(source)
        assert_votes_consistent(programme)
        for question in questions:
            if question not in merged:
                assert voters(programme, question) == _group_supporters(
                    programme, question, supporters
                ), (seed, question)
    # Every merge undone: each question has exactly its own supporters back.
    with programme.test_request_context():
        for source in sorted(merged):
            decide(source, episode_id, Decision(FateAction.UNMERGE), facilitator)
    assert_votes_consistent(programme)
    for question in questions:
        assert voters(programme, question) == supporters[question], (seed, question)


def test_withdrawing_support_from_the_kept_question_after_a_merge_counts_right(
    programme: Flask, facilitator_client: FlaskClient, make_attendee, make_question
) -> None:
    voter, _ = make_attendee()
    kept, merged = (
        make_question("Gardée", published=True),
        make_question("Fusionnée", published=True),
    )
    with programme.test_request_context():
        set_vote(merged, voter, True)
    assert give_fate(facilitator_client, merged, "fusion", keep=kept).status_code == 200
    assert voters(programme, kept) == {voter}
    with programme.test_request_context():
        state = set_vote(kept, voter, False)
    assert (state.vote_count, state.voted) == (0, False)
    assert_votes_consistent(programme)
    # Their support withdrawn, the undo does not bring it back to the merged question.
    assert give_fate(facilitator_client, merged, "defusion").status_code == 200
    assert voters(programme, merged) == set()
    assert_votes_consistent(programme)


def test_two_facilitators_at_once_take_turns_and_counts_stay_exact(
    programme: Flask, make_facilitator, make_attendee, make_question
) -> None:
    make_facilitator("une@example.org")
    make_facilitator("deux@example.org")
    people = [make_attendee()[0] for _ in range(6)]
    kept = make_question("Gardée", published=True)
    sources = [make_question(f"Semblable {n}", published=True) for n in range(4)]
    disputed = make_question("Disputée", published=True)
    with programme.test_request_context():
        for n, source in enumerate(sources):
            for person in people[n : n + 3]:
                set_vote(source, person, True)
    clients = []
    for email in ("une@example.org", "deux@example.org"):
        client = programme.test_client()
        assert log_in(client, email=email).status_code == 303
        clients.append((client, facilitator_token(client)))
    barrier = threading.Barrier(6)
    statuses: list[int] = []
    lock = threading.Lock()

    def act(index: int, fate: str, question_id: int, **fields: object) -> None:
        client, token = clients[index % 2]
        barrier.wait()
        status = give_fate(client, question_id, fate, token=token, **fields).status_code
        with lock:
            statuses.append(status)

    jobs = [
        (0, "fusion", sources[0], {"keep": kept}),
        (1, "fusion", sources[1], {"keep": kept}),
        (2, "fusion", sources[2], {"keep": kept}),
        (3, "fusion", sources[3], {"keep": kept}),
        (4, "ecartee", disputed, {"reason": "doublon"}),
        (5, "direct", disputed, {"replay_time": "3:21"}),
    ]
    threads = [threading.Thread(target=act, args=(i, f, q), kwargs=kw) for i, f, q, kw in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200] * 6
    assert voters(programme, kept) == set(people)
    assert_votes_consistent(programme)
    with programme.app_context():
        final = db.session.get(Question, disputed)
        logged = db.session.scalars(
            sa.select(FacilitatorAction.action).where(
                FacilitatorAction.target == f"question:{disputed}"
            )
        ).all()
        # The last one won; it is wholly that fate (no mix of a reason and a replay time).
        assert (final.status, final.decline_reason, final.replay_seconds) in (
            ("ecartee", "doublon", None),
            ("repondue", None, 201),
        )
        assert final.revision == 2 and sorted(logged) == ["question.direct", "question.ecartee"]
        assert (
            db.session.scalar(sa.select(sa.func.count()).where(Question.merged_into_id == kept))
            == 4
        )


def test_two_opposite_merges_at_once_one_wins_the_other_is_refused(
    programme: Flask, make_facilitator, make_question
) -> None:
    make_facilitator("une@example.org")
    make_facilitator("deux@example.org")
    a, b = make_question("A", published=True), make_question("B", published=True)
    clients = []
    for email in ("une@example.org", "deux@example.org"):
        client = programme.test_client()
        assert log_in(client, email=email).status_code == 303
        clients.append((client, facilitator_token(client)))
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def merge(index: int, source: int, target: int) -> None:
        client, token = clients[index]
        barrier.wait()
        statuses.append(give_fate(client, source, "fusion", token=token, keep=target).status_code)

    threads = [
        threading.Thread(target=merge, args=(0, a, b)),
        threading.Thread(target=merge, args=(1, b, a)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200, 409]
    with programme.app_context():
        states = {
            q.id: (q.status, q.merged_into_id) for q in db.session.scalars(sa.select(Question))
        }
    assert sorted(states.values(), key=str) in (
        sorted([("fusionnee", b), ("nouvelle", None)], key=str),
        sorted([("fusionnee", a), ("nouvelle", None)], key=str),
    )
