"""Items of shared/SECURITY.md that no other module checks as a whole: CSRF on every state
change (2, 3), no GET changes state (4), stuck mail re-queued (9), tokens (21), htmx's
configuration (27), SQLite's concurrency settings (29)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Attendee, Episode, OutboxMessage, OutboxStatus
from tests.support.database import NOW, make_test_app
from tests.test_idiom import get_urls, sample_values

#: the one route that takes a POST without our token: RFC 8058's one-click unsubscribe,
#: authenticated by its own token in the address
CSRF_EXEMPT = {"attendee.unsubscribe"}
NOT_DATA = {"browser_session", "health_check", "link_request"}


def post_rules(app: Flask) -> list[tuple[str, str]]:
    return sorted(
        (rule.endpoint, rule.rule)
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and rule.endpoint not in CSRF_EXEMPT
    )


POSTS = post_rules(make_test_app("sqlite://", smtp_port=0))


def data_rows(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables
            if table.name not in NOT_DATA
        }


# ---------------------------------------------------------------- 2: CSRF on every POST
@pytest.mark.parametrize(("endpoint", "rule"), POSTS, ids=[e for e, _ in POSTS])
def test_every_state_change_needs_the_csrf_token(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question,
    endpoint: str, rule: str,
) -> None:  # fmt: skip
    attendee_id, token = make_attendee()
    question_id = make_question(attendee_id=attendee_id, published=True)
    values = sample_values(programme, token, question_id)
    url = re.sub(r"<(?:[^:<>]+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule)
    client = facilitator_client if rule.startswith("/animation/") else programme.test_client()
    client.get(f"/moi/{token}")  # full rights, so that only the token is missing
    before = data_rows(programme)
    response = client.post(url, data={"text": "Une question sans jeton.", "action": "retenue"})
    assert response.status_code in (400, 401, 403, 404), (url, response.status_code)
    assert data_rows(programme) == before, url


# ---------------------------------------------------------------- 3: every hx-post has it
def test_every_hx_post_carries_the_token(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question
) -> None:
    attendee_id, token = make_attendee()
    question_id = make_question(attendee_id=attendee_id, published=True, status="retenue")
    person = programme.test_client()
    person.get(f"/moi/{token}")
    with programme.app_context():
        slug = db.session.scalar(sa.select(Episode.slug).filter_by(number=1))
    pages = [
        (person, "/moi"),
        (person, f"/episodes/{slug}"),
        (person, f"/episodes/{slug}/questions/poser"),
        (person, f"/questions/{question_id}/modifier"),
        (person, "/inscription"),
        (person, "/moi/lien"),
        (facilitator_client, f"/animation/episodes/{slug}/questions"),
        (facilitator_client, f"/animation/episodes/{slug}/ordre"),
        (facilitator_client, f"/animation/episodes/{slug}/modifier"),
    ]
    checked = 0
    for client, url in pages:
        html = unescape(client.get(url).get_data(as_text=True))
        for match in re.finditer(r"<[^>]*\bhx-post=", html):
            # The form the element is (or is in) carries the token, or an element around it
            # carries it in hx-headers.
            start = match.start()
            form_start = start if html.startswith("<form", start) else html.rfind("<form", 0, start)
            in_form = form_start >= 0 and html.rfind("</form>", 0, start) < form_start
            form = html[form_start : html.find("</form>", start)] if in_form else ""
            carries = 'name="csrf_token"' in form or '"X-CSRFToken"' in html[:start]
            assert carries, (url, html[start : start + 200])
            checked += 1
    assert checked >= 10


# ---------------------------------------------------------------- 4: no GET changes state
def test_no_get_changes_a_row(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question
) -> None:
    attendee_id, token = make_attendee()
    question_id = make_question(attendee_id=attendee_id, published=True)
    values = sample_values(programme, token, question_id)
    before = data_rows(programme)
    for endpoint, url in get_urls(programme, values):
        if endpoint == "static":
            continue
        for client in (facilitator_client, programme.test_client()):
            client.get(url).close()
        assert data_rows(programme) == before, url


# ---------------------------------------------------------------- 9: stuck mail re-queued
def test_a_message_claimed_by_a_worker_that_died_is_sent_later(programme: Flask, smtp) -> None:  # type: ignore[no-untyped-def]
    from app.mailing.worker import deliver_due

    claim_seconds = programme.config["OUTBOX_CLAIM_SECONDS"]

    with programme.app_context():
        db.session.add(
            OutboxMessage(
                kind="test",
                recipient="a@example.org",
                subject="Bloqué",
                body_text=".",
                status=OutboxStatus.PENDING,
                attempts=1,
                next_attempt_at=NOW + timedelta(seconds=claim_seconds),  # claimed, then killed
            )
        )
        db.session.commit()
        assert deliver_due()["sent"] == 0  # still held by its claim
        programme.extensions["clock"].freeze(NOW + timedelta(seconds=claim_seconds + 1))
        assert deliver_due()["sent"] == 1
    (message,) = smtp.wait_for(1)
    assert message["Subject"] == "Bloqué"


def test_a_sender_whose_claim_ran_out_never_sends_the_spent_row(  # type: ignore[no-untyped-def]
    programme: Flask, database_url: str, smtp_server, smtp, make_attendee
) -> None:
    """A sender stalls right after its claim, long enough for the claim to run out; another
    sends the message meanwhile and spends the row (no body, no headers). The first goes on
    with the message as it claimed it, never with the spent row: at worst a second whole
    copy, never an empty mail without its unsubscribe link (seen on CI)."""
    from app.identity import issue_token
    from app.mailing.notifications import queue_personal_link
    from app.mailing.worker import deliver_due

    claim_seconds = programme.config["OUTBOX_CLAIM_SECONDS"]
    attendee_id, _token = make_attendee(email="lente@example.org")
    with programme.app_context():
        attendee = db.session.get(Attendee, attendee_id)
        queue_personal_link(attendee, issue_token(attendee))
        db.session.commit()
    later = make_test_app(database_url, smtp_server[0].port)
    later.extensions["clock"].freeze(NOW + timedelta(seconds=claim_seconds + 1))
    smtp.clear()

    sent_by_the_other: list[int] = []

    def the_other_sender() -> None:
        with later.app_context():
            sent_by_the_other.append(deliver_due()["sent"])
            db.session.remove()

    other = threading.Thread(target=the_other_sender)

    def meanwhile(_session: sa.orm.Session) -> None:
        if not other.is_alive() and not sent_by_the_other:  # once: after the first's claim
            other.start()

    def before_its_next_statement(*_args: object) -> None:
        # The other sender takes its turn as soon as the first's claim is committed, and
        # is done before the first reads anything more.
        if other.is_alive():
            other.join(timeout=30)

    with programme.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before_its_next_statement)
    try:
        with programme.app_context():
            # The first commit of this run is its claim (no link request waits).
            sa.event.listen(db.session(), "after_commit", meanwhile)
            assert deliver_due()["sent"] == 1
    finally:
        sa.event.remove(engine, "before_cursor_execute", before_its_next_statement)
        with later.app_context():
            db.engine.dispose()
    assert sent_by_the_other == [1]
    first, second = smtp.wait_for(2)
    for message in (first, second):
        assert message["List-Unsubscribe"], message.as_string()[:300]
        assert "/moi/" in message.get_body(("plain",)).get_content()
    assert first["Message-ID"] == second["Message-ID"]  # one message, sent twice at worst


# ---------------------------------------------------------------- 21: tokens
def test_personal_tokens_carry_256_random_bits_and_are_not_ids(
    programme: Flask, make_attendee
) -> None:
    tokens = {make_attendee()[1] for _ in range(20)}
    assert len(tokens) == 20
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 32 bytes of secrets.token_urlsafe
        assert not token.isdigit()


# ---------------------------------------------------------------- 27: htmx's configuration
def test_htmx_runs_without_eval_script_tags_or_other_hosts(
    programme: Flask, client: FlaskClient
) -> None:
    html = unescape(client.get("/").get_data(as_text=True))
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'', html).group(1)
    for setting in (
        '"allowEval":false',
        '"allowScriptTags":false',
        '"selfRequestsOnly":true',
        '"includeIndicatorStyles":false',
    ):
        assert setting in config


# ---------------------------------------------------------------- 29: SQLite
def test_sqlite_waits_for_the_lock_in_wal_mode_with_foreign_keys(programme: Flask) -> None:
    with programme.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's own settings")
        with db.engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA busy_timeout").scalar() == 5000
            assert pragma("PRAGMA foreign_keys").scalar() == 1
