"""The follow-up ("droit de suite"): previewed, sent through the outbox, once and only once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.mailing.worker import deliver_due
from app.models import Episode, FacilitatorAction, OutboxMessage
from tests.support.facilitator import log_in
from tests.support.http import csrf_from, normalise_spaces

FOLLOWUP = "/animation/episodes/plateformes-civictech/suivi"
AFTER_EPISODE_ONE = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def set_replay(app: Flask, url: str) -> None:
    with app.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
        episode.replay_url = url
        db.session.commit()


def outbox_rows(app: Flask) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def test_refused_before_the_episode_starts(
    facilitator_client: FlaskClient, programme: Flask, make_attendee
) -> None:
    make_attendee()
    page = facilitator_client.get(FOLLOWUP)
    text = normalise_spaces(page.get_data(as_text=True))
    assert "pourra être envoyé une fois l’épisode commencé" in text
    assert "Envoyer à" not in text
    response = facilitator_client.post(
        FOLLOWUP, data={"csrf_token": csrf_from(page.get_data(as_text=True))}
    )
    assert response.status_code == 409
    assert "ne peut être envoyé qu’une fois l’épisode commencé" in response.get_data(as_text=True)
    assert outbox_rows(programme) == []


def test_preview_then_exactly_one_email_per_registrant(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question, smtp
) -> None:
    programme.extensions["clock"].freeze(AFTER_EPISODE_ONE)
    # The day after, the facilitator's session has ended (2 h idle): log in again.
    assert log_in(facilitator_client).status_code == 303
    set_replay(programme, "https://replay.example.org/episode-1")
    first, _ = make_attendee(email="ines@example.org", first_name="Inès")
    make_attendee(email="marc@example.org", first_name="Marc")
    make_attendee(email="autre@example.org", episodes=(2,))  # not a registrant of episode 1
    make_question(
        "Comment éviter l’entre-soi ?", attendee_id=first, status="repondue", live_order=1
    )
    make_question("Question écartée", attendee_id=first, status="ecartee")

    page = facilitator_client.get(FOLLOWUP)
    text = normalise_spaces(page.get_data(as_text=True))
    assert "Merci d’avoir suivi l’épisode 1" in text
    assert "https://replay.example.org/episode-1" in text
    assert "Comment éviter l’entre-soi ?" in text
    # Previewed as Inès receives it (issue 10): her declined question only in her own part.
    assert "Pour&nbsp;:</strong> Inès Martin" in text
    own, _, rest = text.partition("Merci d’avoir suivi l’épisode 1 du")
    assert "« Question écartée » : écartée" in own and "Question écartée" not in rest
    assert "Prochain épisode" in text and "Envoyer à 2 personnes" in text

    response = facilitator_client.post(
        FOLLOWUP,
        data={"csrf_token": csrf_from(page.get_data(as_text=True))},
    )
    assert response.status_code == 303
    rows = outbox_rows(programme)
    assert sorted(r.recipient for r in rows) == ["ines@example.org", "marc@example.org"]
    assert {r.dedupe_key for r in rows} == {
        f"followup:{r.episode_id}:{r.attendee_id}" for r in rows
    }
    with programme.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
        assert episode.followup_sent_at == AFTER_EPISODE_ONE
        assert episode.followup_sent_by_id is not None
        assert db.session.scalars(
            sa.select(FacilitatorAction).filter_by(action="episode.followup")
        ).one()
        assert deliver_due()["sent"] == 2

    messages = smtp.wait_for(2)
    by_recipient = {m["To"]: m for m in messages}
    assert set(by_recipient) == {"ines@example.org", "marc@example.org"}
    mail = by_recipient["ines@example.org"]
    assert mail["Subject"].startswith("Merci d’avoir suivi l’épisode 1")
    plain = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert plain.startswith("Bonjour Inès,")
    assert (
        "https://replay.example.org/episode-1" in plain and "Comment éviter l’entre-soi ?" in plain
    )
    # Links come from SITE_URL, never from the Host of the request (the test client's).
    assert "https://webinaires.example.org/episodes/" in plain and "localhost" not in plain
    assert 'href="https://webinaires.example.org/episodes/' in html and "localhost" not in html
    assert "Inès" in html

    # A second click, a second tab: refused, nothing queued.
    again = facilitator_client.post(
        FOLLOWUP, data={"csrf_token": csrf_from(page.get_data(as_text=True))}
    )
    assert again.status_code == 409
    assert "déjà été envoyé" in again.get_data(as_text=True)
    assert len(outbox_rows(programme)) == 2
    assert "il ne peut pas l’être une seconde fois" in normalise_spaces(
        facilitator_client.get(FOLLOWUP).get_data(as_text=True)
    )


def test_two_concurrent_sends_queue_only_once(
    programme: Flask, make_facilitator, make_attendee, smtp
) -> None:
    programme.extensions["clock"].freeze(AFTER_EPISODE_ONE)
    make_facilitator("une@example.org")
    make_facilitator("deux@example.org")
    for n in range(12):
        make_attendee(email=f"p{n}@example.org")
    clients, tokens = [], []
    for email in ("une@example.org", "deux@example.org"):
        client = programme.test_client()
        assert log_in(client, email=email).status_code == 303
        clients.append(client)
        tokens.append(csrf_from(client.get(FOLLOWUP).get_data(as_text=True)))
    barrier = threading.Barrier(len(clients) * 2)
    statuses: list[int] = []
    lock = threading.Lock()

    def send(client: FlaskClient, token: str) -> None:
        barrier.wait()
        status = client.post(FOLLOWUP, data={"csrf_token": token}).status_code
        with lock:
            statuses.append(status)

    threads = [
        threading.Thread(target=send, args=(client, token))
        for client, token in zip(clients, tokens, strict=True)
        for _ in range(2)  # each facilitator double-clicks
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [303, 409, 409, 409]
    assert len(outbox_rows(programme)) == 12
    with programme.app_context():
        assert deliver_due()["sent"] == 12
        assert deliver_due()["sent"] == 0
    messages = smtp.wait_for(12)
    assert sorted(m["To"] for m in messages) == sorted(f"p{n}@example.org" for n in range(12))
