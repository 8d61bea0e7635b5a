"""Every question has a fate, with a reason (issue 10): declined, merged (and undone),
carried over, answered on air or in writing; the rules that say no, with nothing changed."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Episode, FacilitatorAction, Question, QuestionTheme, Vote
from tests.support.facilitator import log_in
from tests.support.fates import (
    add_votes,
    assert_votes_consistent,
    fresh,
    give_fate,
    review_url,
    voters,
)
from tests.support.http import csrf_from, htmx_headers, normalise_spaces, sign_in_as
from tests.support.questions import starts_at, token_for, vote

EPISODE_1_PAGE = "/episodes/plateformes-civictech"


def visible(body: str) -> str:
    """The text a person reads: tags removed, entities decoded, spaces folded."""
    inline = re.sub(r"</?(?:a|span|strong|em|time)\b[^>]*>", "", body)
    text = html.unescape(re.sub(r"<[^>]+>", " ", inline))
    return re.sub(r"\s+", " ", normalise_spaces(text))


def rows_snapshot(app: Flask) -> list[tuple]:
    """Every question and vote as stored: 'nothing changed' compares two of these."""
    with app.app_context():
        questions = db.session.execute(
            sa.select(
                Question.id,
                Question.episode_id,
                Question.status,
                Question.published,
                Question.merged_into_id,
                Question.carried_to_id,
                Question.vote_count,
                Question.decline_reason,
            ).order_by(Question.id)
        ).all()
        votes = db.session.execute(
            sa.select(Vote.question_id, Vote.attendee_id, Vote.moved_from_id).order_by(Vote.id)
        ).all()
        return [tuple(r) for r in questions] + [tuple(r) for r in votes]


def episode_id(app: Flask, number: int) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Episode.id).filter_by(number=number))


# ---------------------------------------------------------------- declined, with a reason
def test_a_declined_question_leaves_the_public_page_and_its_votes_in_one_step(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question
) -> None:
    author, _ = make_attendee(first_name="Aïcha", last_name="Durand")
    voter, _ = make_attendee()
    question_id = make_question(
        "Pourquoi ne pas tout privatiser ?", attendee_id=author, published=True, show_name=True
    )
    visitor = programme.test_client()
    sign_in_as(visitor, voter)
    assert "Pourquoi ne pas tout privatiser" in visitor.get(EPISODE_1_PAGE).get_data(as_text=True)

    response = give_fate(
        facilitator_client, question_id, "ecartee", reason="hors_sujet", detail="Hors du cycle."
    )
    assert response.status_code == 200
    assert f"Question n° {question_id} écartée." in response.get_data(as_text=True)
    stored = fresh(programme, question_id)
    assert (stored.status, stored.published, stored.decline_reason) == (
        "ecartee",
        False,
        "hors_sujet",
    )
    assert stored.decline_detail == "Hors du cycle."
    assert "Pourquoi ne pas tout privatiser" not in visitor.get(EPISODE_1_PAGE).get_data(
        as_text=True
    )
    refused = vote(visitor, question_id, token_for(visitor, programme))
    assert refused.status_code == 404
    assert voters(programme, question_id) == set()
    # It cannot be published again while declined: a French 409, nothing changed.
    token = csrf_from(facilitator_client.get(review_url()).get_data(as_text=True))
    again = facilitator_client.post(
        f"{review_url()}/{question_id}", data={"action": "publier", "csrf_token": token}
    )
    assert again.status_code == 409
    assert "Une question écartée ne peut pas être publiée" in again.get_data(as_text=True)
    assert fresh(programme, question_id).published is False


def test_a_reason_is_required_and_autre_needs_words_capped_and_escaped(
    facilitator_client: FlaskClient, programme: Flask, make_question
) -> None:
    question_id = make_question(published=True)
    before = rows_snapshot(programme)
    for fields, message in [
        ({"reason": "autre", "detail": ""}, "Avec le motif « autre », dites en quelques mots"),
        ({"reason": "inconnu"}, "Choisissez un motif dans la liste."),
        ({"detail": "sans motif"}, "Choisissez un motif"),
        ({"reason": "autre", "detail": "x" * 301}, "300 caractères au plus."),
        ({"reason": "autre", "detail": "deux\nlignes"}, "Retirez les retours à la ligne"),
    ]:
        response = give_fate(facilitator_client, question_id, "ecartee", **fields)
        assert response.status_code == 422, fields
        body = normalise_spaces(response.get_data(as_text=True))
        assert message in body, (fields, body[:3000])
        # Back in place of the panel, the field marked, what was typed kept.
        assert response.headers["HX-Retarget"] == f"#q{question_id}-sort-panel"
        assert "data-panel" in body
        assert rows_snapshot(programme) == before
    payload = '<img src=x onerror=alert(1)> <b hx-get="/animation/">'
    ok = give_fate(facilitator_client, question_id, "ecartee", reason="autre", detail=payload)
    assert ok.status_code == 200
    body = ok.get_data(as_text=True)
    assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body
    assert re.search(r"<span hx-disable>&lt;img", body)


# ---------------------------------------------------------------- merged
def test_merging_combines_votes_without_counting_anyone_twice_and_can_be_undone(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question
) -> None:
    kept_author, _ = make_attendee(first_name="Inès")
    merged_author, _ = make_attendee(first_name="Marc")
    people = [make_attendee()[0] for _ in range(5)]
    kept = make_question("Comment toucher les publics éloignés ?", attendee_id=kept_author)
    merged = make_question(
        "Comment aller vers ceux qui ne viennent jamais ?",
        attendee_id=merged_author,
        published=True,
    )
    add_votes(programme, kept, people[:3])
    # people[2] supports both; the kept question's author supports the merged one.
    add_votes(programme, merged, [people[2], people[3], people[4], kept_author])

    response = give_fate(facilitator_client, merged, "fusion", keep=kept)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert voters(programme, kept) == {people[0], people[1], people[2], people[3], people[4]}
    assert fresh(programme, kept).vote_count == 5
    stored = fresh(programme, merged)
    assert (stored.status, stored.merged_into_id) == ("fusionnee", kept)
    # What stays behind: the second vote of people[2], the kept author's own.
    assert voters(programme, merged) == {people[2], kept_author}
    assert fresh(programme, kept).published is True  # its supporters must see it
    assert_votes_consistent(programme)

    # The public page: the merged one points to the kept one, which takes the votes.
    page = programme.test_client().get(EPISODE_1_PAGE).get_data(as_text=True)
    assert f'href="#question-publiee-{kept}"' in page
    assert "Regroupée avec une question semblable" in normalise_spaces(page)
    assert f'id="vote-{merged}"' not in page

    # Undo before the episode starts: exactly the votes it lent come back.
    undone = give_fate(facilitator_client, merged, "defusion")
    assert undone.status_code == 200
    assert voters(programme, kept) == {people[0], people[1], people[2]}
    assert voters(programme, merged) == {people[2], people[3], people[4], kept_author}
    assert (fresh(programme, merged).status, fresh(programme, merged).merged_into_id) == (
        "nouvelle",
        None,
    )
    assert_votes_consistent(programme)
    with programme.app_context():
        journal = [a.action for a in db.session.scalars(sa.select(FacilitatorAction))]
    assert journal[-2:] == ["question.fusion", "question.defusion"]


def test_undo_is_refused_once_the_episode_has_started(
    facilitator_client: FlaskClient, programme: Flask, make_question
) -> None:
    kept, merged = make_question("Gardée"), make_question("Fusionnée")
    assert give_fate(facilitator_client, merged, "fusion", keep=kept).status_code == 200
    programme.extensions["clock"].freeze(starts_at(programme, 1) + timedelta(minutes=5))
    assert log_in(facilitator_client).status_code == 303  # the evening's session has ended
    before = rows_snapshot(programme)
    response = give_fate(facilitator_client, merged, "defusion")
    assert response.status_code == 409
    assert "La fusion ne peut plus être annulée : l’épisode a commencé." in normalise_spaces(
        response.get_data(as_text=True)
    )
    assert rows_snapshot(programme) == before
    review = visible(facilitator_client.get(review_url()).get_data(as_text=True))
    assert "La fusion ne peut plus être annulée : l’épisode a commencé." in review


def test_merging_into_itself_another_episode_or_a_merged_one_is_a_409_and_nothing_changes(
    facilitator_client: FlaskClient, programme: Flask, make_question
) -> None:
    first, second, third = make_question("Une"), make_question("Deux"), make_question("Trois")
    elsewhere = make_question("Épisode 2", episode=2)
    assert give_fate(facilitator_client, second, "fusion", keep=first).status_code == 200
    before = rows_snapshot(programme)
    for question_id, keep, message in [
        (first, first, "Une question ne peut pas être fusionnée avec elle-même."),
        (third, elsewhere, f"La question n° {elsewhere} appartient à un autre épisode"),
        (third, second, f"La question n° {second} est elle-même fusionnée avec la n° {first}"),
        (second, third, f"La question n° {second} est déjà fusionnée avec la n° {first}"),
        (third, 999999, "Il n’y a pas de question n° 999999."),
    ]:
        response = give_fate(facilitator_client, question_id, "fusion", keep=keep)
        assert response.status_code == 409, message
        body = normalise_spaces(response.get_data(as_text=True))
        assert message in body
        # Next to the field, which is marked for assistive technologies.
        assert re.search(rf'id="q{question_id}-keep-erreur">{re.escape(message)}', body)
        assert 'aria-invalid="true"' in body
        assert rows_snapshot(programme) == before
    # Without htmx: the panel's page with the message, status 409.
    plain = give_fate(facilitator_client, first, "fusion", htmx=False, keep=first)
    assert plain.status_code == 409
    assert "<h1>Sort de la question n°" in normalise_spaces(plain.get_data(as_text=True))


def test_merging_a_question_others_were_merged_into_repoints_them(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question
) -> None:
    people = [make_attendee()[0] for _ in range(3)]
    a, b, c = make_question("A"), make_question("B"), make_question("C")
    add_votes(programme, a, [people[0]])
    add_votes(programme, b, [people[1]])
    add_votes(programme, c, [people[2]])
    assert give_fate(facilitator_client, a, "fusion", keep=b).status_code == 200
    assert give_fate(facilitator_client, b, "fusion", keep=c).status_code == 200
    assert fresh(programme, a).merged_into_id == c  # no chain
    assert voters(programme, c) == set(people)
    assert_votes_consistent(programme)
    # Undoing B gives back B's own vote only; A's stays on C, with A.
    assert give_fate(facilitator_client, b, "defusion").status_code == 200
    assert voters(programme, b) == {people[1]}
    assert voters(programme, c) == {people[0], people[2]}
    assert_votes_consistent(programme)


# ---------------------------------------------------------------- carried over
def test_carrying_over_keeps_author_votes_and_themes_and_the_author_sees_where(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question
) -> None:
    author, _ = make_attendee(first_name="Léa", episodes=(1,))
    people = [make_attendee()[0] for _ in range(2)]
    question_id = make_question(
        "Et le tirage au sort ?", attendee_id=author, published=True, status="retenue"
    )
    add_votes(programme, question_id, people)
    tagged = facilitator_client.post(
        f"{review_url()}/{question_id}/themes",
        data={
            "new_theme": "Tirage au sort",
            "csrf_token": csrf_from(facilitator_client.get(review_url()).get_data(as_text=True)),
        },
        headers=htmx_headers(target=f"question-{question_id}"),
    )
    assert tagged.status_code == 200
    response = give_fate(
        facilitator_client, question_id, "report", episode=episode_id(programme, 3)
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    original = fresh(programme, question_id)
    assert original.status == "reportee" and original.carried_to_id is not None
    copy = fresh(programme, original.carried_to_id)
    assert copy.episode_id == episode_id(programme, 3)
    assert (copy.attendee_id, copy.text, copy.status, copy.published) == (
        author,
        "Et le tirage au sort ?",
        "nouvelle",
        True,
    )
    assert voters(programme, copy.id) == set(people) and copy.vote_count == 2
    assert voters(programme, question_id) == set() and original.vote_count == 0
    with programme.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).where(QuestionTheme.question_id == copy.id)
            )
            == 1
        )
    assert_votes_consistent(programme)

    # The author's space says where it went; the original cannot be changed any more.
    space = programme.test_client()
    sign_in_as(space, author)
    body = space.get("/moi").get_data(as_text=True)
    assert "Reportée à l’épisode 3" in visible(body)
    assert "Ce que sont devenues vos questions" in visible(body)
    assert f"/questions/{question_id}/modifier" not in body
    assert f"/questions/{copy.id}/modifier" in body
    # The public page of episode 1 points to episode 3, where it takes votes.
    page = visible(programme.test_client().get(EPISODE_1_PAGE).get_data(as_text=True))
    assert "Reportée à l’épisode 3" in page
    later = programme.test_client().get("/episodes/" + _slug(programme, 3)).get_data(as_text=True)
    assert f'id="vote-{copy.id}"' in later


def _slug(app: Flask, number: int) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(Episode.slug).filter_by(number=number))


def test_carrying_over_to_a_past_or_an_earlier_episode_is_refused(
    facilitator_client: FlaskClient, programme: Flask, make_facilitator, make_question
) -> None:
    question_id = make_question(episode=2)
    slug = _slug(programme, 2)
    panel = facilitator_client.get(f"{review_url(slug)}/{question_id}/sort").get_data(as_text=True)
    offered = set(re.findall(r'<option value="(\d+)"', panel))
    assert offered == {str(episode_id(programme, n)) for n in (3, 4, 5, 6, 7)}
    before = rows_snapshot(programme)
    # Episode 3 starts: it is no longer offered, and a form sent for it is refused.
    programme.extensions["clock"].freeze(starts_at(programme, 3) + timedelta(minutes=1))
    assert log_in(facilitator_client).status_code == 303  # the earlier session has ended
    for number in (1, 2, 3):
        response = give_fate(
            facilitator_client,
            question_id,
            "report",
            slug=slug,
            episode=episode_id(programme, number),
        )
        assert response.status_code == 422, number
        assert "Choisissez un épisode à venir dans la liste." in normalise_spaces(
            response.get_data(as_text=True)
        )
        assert rows_snapshot(programme) == before
    # The rule holds in the service too, whatever form reaches it: a French 409.
    from app.facilitator.acting import ActionRefused
    from app.facilitator.fates import Decision, decide
    from app.vocabulary import FateAction

    other = make_facilitator("b@example.org")
    with programme.test_request_context():
        for number, message in [
            (3, "L’épisode 3 a commencé ou n’a plus lieu"),
            (1, "Une question se reporte à un épisode suivant, pas à un précédent."),
        ]:
            decision = Decision(
                FateAction.CARRY_OVER, target_episode_id=episode_id(programme, number)
            )
            try:
                decide(
                    question_id,
                    episode_id(programme, 2),
                    decision,
                    other,
                )
            except ActionRefused as refused:
                assert refused.code == 409 and message in refused.message
            else:
                raise AssertionError("carried over to a started or earlier episode")
    assert rows_snapshot(programme) == before


# ---------------------------------------------------------------- answered
def test_answered_on_air_at_a_replay_time_and_in_writing_show_on_the_public_page(
    facilitator_client: FlaskClient, programme: Flask, make_question
) -> None:
    with programme.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
        episode.replay_url = "https://www.youtube.com/watch?v=abc"
        db.session.commit()
    on_air = make_question("Quel budget ?", published=True, status="retenue")
    written = make_question("Quelle charte ?", published=True)
    for bad in ("12", "1:2:3", "12:60", "25:00:00", "ab:cd", "１２:３４"):
        response = give_fate(facilitator_client, on_air, "direct", replay_time=bad)
        assert response.status_code == 422, bad
        assert "mm:ss ou h:mm:ss" in response.get_data(as_text=True) or "24 heures" in (
            response.get_data(as_text=True)
        )
    assert give_fate(facilitator_client, on_air, "direct", replay_time="1:02:03").status_code == 200
    assert fresh(programme, on_air).replay_seconds == 3723
    answer = "Voyez le guide <de la CNDP>, page 12."
    assert give_fate(facilitator_client, written, "ecrit", answer=answer).status_code == 200
    assert give_fate(facilitator_client, written, "ecrit", answer="").status_code == 422
    assert give_fate(facilitator_client, written, "ecrit", answer="x" * 2001).status_code == 422
    page = programme.test_client().get(EPISODE_1_PAGE).get_data(as_text=True)
    assert 'href="https://www.youtube.com/watch?v=abc&amp;t=3723s"' in page
    assert "Voyez le guide &lt;de la CNDP&gt;, page 12." in page
    assert fresh(programme, written).status == "ecrit"
