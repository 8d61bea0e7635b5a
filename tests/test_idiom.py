"""The site's one idiom, as a person (or a cache between them and us) notices it: every page
says who may keep it, errors speak French, the vocabulary is the same everywhere, and mail
leaves only once its transaction has committed."""

from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.database import write
from app.extensions import db
from app.http import Cache
from app.mailing.queue import queue_message
from app.models import Episode, OutboxMessage
from app.programme.services import load_programme
from app.vocabulary import EpisodeState, QuestionStatus
from tests.support.database import NOW, make_test_app, prepare_schema
from tests.support.mail import MailSink

POLICIES = {policy.value for policy in Cache}


def sample_values(app: Flask, token: str, question_id: int) -> dict[str, object]:
    """A real value for every argument a rule of the URL map takes."""
    with app.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
        return {
            "slug": episode.slug,
            "token": token,
            "question_id": question_id,
            "episode_id": episode.id,
            "filename": "css/site.css",
            "fate": "ecrit",
        }


def get_urls(app: Flask, values: dict[str, object]) -> list[tuple[str, str]]:
    """(endpoint, url) of every GET rule, its arguments filled in."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        url = rule.rule
        for name in rule.arguments:
            url = re.sub(rf"<(?:[^:<>]+:)?{name}>", str(values[name]), url)
        urls.append((rule.endpoint, url))
    return urls


def test_every_page_names_who_may_keep_it(
    facilitator_client: FlaskClient, make_attendee, make_question
) -> None:
    app = facilitator_client.application
    attendee_id, token = make_attendee()
    question_id = make_question(attendee_id=attendee_id, published=True)
    checked = 0
    for endpoint, url in get_urls(app, sample_values(app, token, question_id)):
        response = facilitator_client.get(url)
        response.close()  # a static file is streamed from disk
        assert response.status_code < 500, url
        if endpoint == "static":
            assert response.headers["Cache-Control"].startswith("public, max-age=")
            continue
        assert response.headers.get("Cache-Control") in POLICIES, (url, response.headers)
        checked += 1
    assert checked >= 30


def test_shared_personal_and_refused_answers_get_their_policy(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    _, token = make_attendee()
    assert client.get("/").headers["Cache-Control"] == Cache.SHARED.value
    assert client.get("/cycle.ics").headers["Cache-Control"] == Cache.SHARED_BRIEF.value
    assert (
        client.get(f"/moi/{token}", follow_redirects=True).headers["Cache-Control"]
        == Cache.NEVER.value
    )
    assert client.get("/moi/agenda.ics").headers["Cache-Control"] == Cache.NEVER.value
    # A refusal is never kept, even on a shared address.
    missing = client.get("/episodes/n-existe-pas")
    assert missing.status_code == 404
    assert missing.headers["Cache-Control"] == Cache.NEVER.value


def test_a_refusal_speaks_french_on_a_page_and_in_the_alert_region(
    programme: Flask, client: FlaskClient
) -> None:
    page = client.get("/moi/" + "x" * 43)
    assert page.status_code == 404
    assert "Ce lien personnel n’est pas (ou plus) valable." in page.get_data(as_text=True)
    assert "<html" in page.get_data(as_text=True)
    fragment = client.get("/moi/" + "x" * 43, headers={"HX-Request": "true"})
    assert fragment.status_code == 404
    assert "<html" not in fragment.get_data(as_text=True)
    assert "Ce lien personnel n’est pas (ou plus) valable." in fragment.get_data(as_text=True)
    assert fragment.headers["HX-Retarget"] == "#alerts"
    assert fragment.headers["HX-Reswap"] == "innerHTML"


def test_every_status_has_its_words_on_every_screen(
    facilitator_client: FlaskClient, make_attendee, make_question
) -> None:
    app = facilitator_client.application
    attendee_id, token = make_attendee()
    for status in QuestionStatus:
        make_question(attendee_id=attendee_id, status=status.value, text=f"Question {status}")
    with app.app_context():
        slug = db.session.scalars(sa.select(Episode.slug).filter_by(number=1)).one()
    review = facilitator_client.get(f"/animation/episodes/{slug}/questions").get_data(as_text=True)
    dashboard = facilitator_client.get("/animation/").get_data(as_text=True)
    space = app.test_client().get(f"/moi/{token}", follow_redirects=True).get_data(as_text=True)
    for status in QuestionStatus:
        assert f'>{status.plural} <span class="count">1</span>' in review, status
        assert f'badge-{status}">{status.button}</span>' in review, status
        if status.direct:  # the fates that take a detail have their forms in the fate panel
            assert f'value="{status}"' in review and f">{status.button}</button>" in review
        assert f">{status.plural}</th>" in dashboard, status
        assert f"Statut&nbsp;: {status.for_author}" in space, status
    assert "Statut&nbsp;: reçue" in space  # the author's word for a question not yet read
    for state in EpisodeState:
        assert state.label in {"À venir", "En cours", "Terminé", "Annulé"}
    assert f">{EpisodeState.UPCOMING.label}</span>" in dashboard


def test_mail_leaves_after_its_commit_and_never_after_a_rollback(
    database_url: str, smtp_server, smtp: MailSink
) -> None:
    eager = make_test_app(database_url, smtp_server[0].port, OUTBOX_SEND_AFTER_REQUEST=True)
    prepare_schema(eager)
    eager.extensions["clock"].freeze(NOW)
    try:
        with eager.app_context():
            load_programme()
            with pytest.raises(RuntimeError), write():
                queue_message(
                    kind="test", recipient="a@example.org", subject="Jamais", body_text="."
                )
                raise RuntimeError("the change failed")
            assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
            with write():
                queue_message(
                    kind="test", recipient="b@example.org", subject="Après le commit", body_text="."
                )
        # Nobody called the sender: the session's hook handed it the outbox.
        (message,) = smtp.wait_for(1)
        assert message["Subject"] == "Après le commit"
        time.sleep(0.3)
        assert len(smtp.messages) == 1
    finally:
        worker = eager.extensions.get("outbox_worker")
        if worker:
            worker.stop()
        with eager.app_context():
            db.engine.dispose()
