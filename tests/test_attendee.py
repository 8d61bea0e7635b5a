"""The personal space: opened by the link, episodes in place, join links, new link, erasure."""

from __future__ import annotations

import re
from datetime import timedelta

import icalendar
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from app.extensions import db
from app.identity import hash_token
from app.mailing.worker import deliver_due
from app.models import (
    Attendee,
    AttendeeToken,
    Episode,
    OutboxMessage,
    Question,
    Registration,
    Vote,
)
from tests.support.database import NOW
from tests.support.http import csrf_from, htmx_headers
from tests.support.mail import MailSink
from tests.support.registration import register, started_from

JOIN = "https://visio.example.org/salle-secrete-"


def set_join_links(app: Flask) -> None:
    """Give every episode a private join link."""
    with app.app_context():
        for episode in db.session.scalars(sa.select(Episode)):
            episode.join_url = f"{JOIN}{episode.number}"
        db.session.commit()


def test_personal_space_shows_details_episodes_and_join_links(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    set_join_links(programme)
    _, token = make_attendee(episodes=(2, 3))
    response = client.get(f"/moi/{token}", follow_redirects=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "strict-origin"
    body = response.get_data(as_text=True)
    assert "Camille Martin" in body and "Ville de Rennes" in body
    assert f"{JOIN}2" in body and f"{JOIN}3" in body
    assert f"{JOIN}4" not in body  # not followed
    assert body.count("Suivre cet épisode") == 5  # 1, 4, 5, 6, 7
    assert body.count("Ne plus suivre") == 2


def test_join_links_appear_nowhere_else(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    set_join_links(programme)
    make_attendee(episodes=(1, 2))
    for url in (
        "/",
        "/episodes/api",
        "/cycle.ics",
        "/episodes/api.ics",
        "/inscription",
        "/agenda.ics?episodes=1,2",
    ):
        assert JOIN.encode() not in client.get(url).data, url


def test_a_wrong_token_is_a_french_404(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    make_attendee()
    for token in ("x" * 43, "nope", "a" * 500):
        response = client.get(f"/moi/{token}", follow_redirects=True)
        assert response.status_code == 404
        assert "introuvable" in response.get_data(as_text=True).lower()
        # Its own message, not the generic one.
        assert "Ce lien personnel n’est pas (ou plus) valable." in response.get_data(as_text=True)
    response = client.post(f"/moi/{'x' * 43}/effacer", data={})
    assert response.status_code in (400, 404)


def test_tokens_are_stored_hashed(programme: Flask, make_attendee) -> None:
    _, token = make_attendee()
    assert len(token) >= 43  # 256 bits in URL-safe base64
    with programme.app_context():
        stored = db.session.scalars(sa.select(AttendeeToken.token_hash)).all()
    assert token not in stored
    assert stored == [hash_token(token)]


def test_follow_and_unfollow_in_place(programme: Flask, client: FlaskClient, make_attendee) -> None:
    attendee_id, token = make_attendee(episodes=(2,))
    page = client.get(f"/moi/{token}", follow_redirects=True).get_data(as_text=True)
    csrf = csrf_from(page)
    with programme.app_context():
        episode4 = db.session.scalars(sa.select(Episode).filter_by(number=4)).one().id
        episode2 = db.session.scalars(sa.select(Episode).filter_by(number=2)).one().id
    added = client.post(
        f"/moi/episodes/{episode4}",
        data={"follow": "1"},
        headers=htmx_headers(target="mon-episode-4", **{"X-CSRFToken": csrf}),
    )
    assert added.status_code == 200
    fragment = added.get_data(as_text=True)
    assert "<html" not in fragment and 'id="mon-episode-4"' in fragment
    assert "Vous suivez maintenant l’épisode 4." in fragment
    # Plain POST without JavaScript: 303 back to the space.
    dropped = client.post(f"/moi/episodes/{episode2}", data={"csrf_token": csrf, "follow": "0"})
    assert dropped.status_code == 303
    assert dropped.headers["Location"].endswith("/moi#mon-episode-2")
    with programme.app_context():
        numbers = sorted(
            r.episode.number
            for r in db.session.scalars(sa.select(Registration).filter_by(attendee_id=attendee_id))
        )
    assert numbers == [4]
    # Twice the same click (two tabs): still one registration.
    for _ in range(2):
        response = client.post(
            f"/moi/episodes/{episode4}", data={"csrf_token": csrf, "follow": "1"}
        )
        assert response.status_code == 303
    with programme.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 1


def test_a_started_episode_cannot_be_changed(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    _, token = make_attendee(episodes=(1,))
    csrf = csrf_from(client.get(f"/moi/{token}", follow_redirects=True).get_data(as_text=True))
    with programme.app_context():
        first = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
    programme.extensions["clock"].freeze(first.starts_at + timedelta(seconds=1))
    response = client.post(
        f"/moi/episodes/{first.id}",
        data={"follow": "0"},
        headers=htmx_headers(**{"X-CSRFToken": csrf}),
    )
    assert response.status_code == 409
    assert "Cet épisode a commencé" in response.get_data(as_text=True)
    with programme.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 1


def test_personal_calendar_carries_the_join_links(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    set_join_links(programme)
    _, token = make_attendee(episodes=(3, 5))
    assert client.get("/moi/agenda.ics").status_code == 403  # not before the link is opened
    client.get(f"/moi/{token}")
    response = client.get("/moi/agenda.ics")
    assert response.status_code == 200
    events = icalendar.Calendar.from_ical(response.data).walk("VEVENT")
    assert sorted(str(e["LOCATION"]) for e in events) == [f"{JOIN}3", f"{JOIN}5"]


def test_ask_for_the_link_again(
    programme: Flask, client: FlaskClient, make_attendee, smtp: MailSink
) -> None:
    _, token = make_attendee(email="zoe@example.org")
    csrf = csrf_from(client.get(f"/moi/{token}", follow_redirects=True).get_data(as_text=True))
    response = client.post("/moi/nouveau-lien", headers=htmx_headers(**{"X-CSRFToken": csrf}))
    assert response.status_code == 200
    assert "Un nouveau lien part vers zoe@example.org" in response.get_data(as_text=True)
    with programme.app_context():
        deliver_due()
    (message,) = smtp.wait_for(1)
    new_link = re.search(r"/moi/[\w-]{40,}", message.get_body(("plain",)).get_content()).group(0)
    assert new_link != f"/moi/{token}"
    # Both links work: several valid links may exist.
    assert client.get(new_link, follow_redirects=True).status_code == 200
    assert client.get(f"/moi/{token}", follow_redirects=True).status_code == 200


def test_receive_my_link_answers_the_same_for_anyone(
    programme: Flask, app: Flask, make_attendee, smtp: MailSink
) -> None:
    make_attendee(email="inscrite@example.org")

    def ask(address: str) -> str:
        client = app.test_client()
        form = client.get("/moi/lien").get_data(as_text=True)
        response = client.post(
            "/moi/lien",
            data={"csrf_token": csrf_from(form), "started": started_from(form), "email": address},
            headers=htmx_headers(target="lien-form"),
        )
        assert response.status_code == 200
        answer = re.sub(r'"X-CSRFToken": "[^"]+"', "", response.get_data(as_text=True))
        return re.sub(r'name="started"[^>]*>', "", answer).replace(address, "ADDRESS")

    known = ask("Inscrite@Example.org")
    unknown = ask("inconnue@example.org")
    assert known.replace("inscrite@example.org", "ADDRESS") == unknown
    with programme.app_context():
        deliver_due()
    (message,) = smtp.wait_for(1)
    assert message["To"] == "inscrite@example.org"
    time_bad = app.test_client()
    csrf = csrf_from(time_bad.get("/moi/lien").get_data(as_text=True))
    bad = time_bad.post("/moi/lien", data={"csrf_token": csrf, "email": "pas une adresse"})
    assert bad.status_code == 422
    assert "Saisissez une adresse e-mail valide" in bad.get_data(as_text=True)


def test_erasure_asks_once_then_leaves_nothing(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    attendee_id, token = make_attendee(email="efface@example.org", episodes=(2, 3))
    other_id, _ = make_attendee(email="autre@example.org")
    with programme.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=2)).one()
        mine = Question(
            episode_id=episode.id, attendee_id=attendee_id, text="Ma question à effacer"
        )
        theirs = Question(
            episode_id=episode.id, attendee_id=other_id, text="Une autre question", published=True
        )
        db.session.add_all([mine, theirs])
        db.session.flush()
        db.session.add(Vote(question_id=theirs.id, attendee_id=attendee_id))
        theirs.vote_count = 1
        db.session.add(
            OutboxMessage(
                kind="registration_confirmation",
                recipient="efface@example.org",
                subject="s",
                body_text="b",
                attendee_id=attendee_id,
                next_attempt_at=NOW,
            )
        )
        db.session.commit()
        theirs_id = theirs.id
    client.get(f"/moi/{token}")
    confirm = client.get("/moi/effacer")
    assert confirm.status_code == 200
    assert "Oui, tout effacer" in confirm.get_data(as_text=True)
    with programme.app_context():  # the GET changed nothing
        assert db.session.get(Attendee, attendee_id) is not None
    done = client.post(
        "/moi/effacer", data={"csrf_token": csrf_from(confirm.get_data(as_text=True))}
    )
    assert done.status_code == 200
    assert "Vos données sont effacées" in done.get_data(as_text=True)
    with programme.app_context():
        assert db.session.get(Attendee, attendee_id) is None
        for model, column in (
            (Registration, Registration.attendee_id),
            (AttendeeToken, AttendeeToken.attendee_id),
            (Question, Question.attendee_id),
            (Vote, Vote.attendee_id),
            (OutboxMessage, OutboxMessage.attendee_id),
        ):
            assert (
                db.session.scalar(sa.select(sa.func.count()).where(column == attendee_id)) == 0
            ), model
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.recipient == "efface@example.org")
            )
            == 0
        )
        assert db.session.get(Question, theirs_id).vote_count == 0
        assert db.session.get(Attendee, other_id) is not None
    assert client.get(f"/moi/{token}", follow_redirects=True).status_code == 404
    assert client.get("/inscription/etat").status_code == 204
    assert client.get("/moi").headers["Location"].endswith("/moi/lien")


def test_one_click_unsubscribe(programme: Flask, app: Flask, make_attendee) -> None:
    """Issue 9: the unsubscribe link carries a token that can only unsubscribe, and it stops
    the mail (reminders, notices, follow-up), not the episodes the person follows."""
    from app.mailing.unsubscribe import unsubscribe_token

    attendee_id, personal_token = make_attendee(episodes=(2, 3))
    with programme.app_context():
        token = unsubscribe_token(db.session.get(Attendee, attendee_id))
    client = app.test_client()
    page = client.get(f"/moi/desinscription/{token}")
    assert page.status_code == 200
    assert "Ne plus recevoir ces e-mails" in page.get_data(as_text=True)
    with programme.app_context():  # a GET (a link scanner) changes nothing
        attendee = db.session.get(Attendee, attendee_id)
        assert (attendee.mail_reminders, attendee.mail_changes, attendee.mail_followup) == (
            True,
            True,
            True,
        )
    # What a mail client sends for RFC 8058: a POST with no form of ours.
    response = app.test_client().post(
        f"/moi/desinscription/{token}", data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    with programme.app_context():
        attendee = db.session.get(Attendee, attendee_id)
        assert (attendee.mail_reminders, attendee.mail_changes, attendee.mail_followup) == (
            False,
            False,
            False,
        )
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 2
    # The unsubscribe token opens nothing else, and the personal link does not unsubscribe.
    assert app.test_client().get(f"/moi/{token}").status_code == 404
    assert app.test_client().post(f"/moi/desinscription/{personal_token}").status_code == 404
    assert app.test_client().get(f"/moi/desinscription/{token}x").status_code == 404


def test_opening_the_link_gives_full_rights_and_registering_limited(
    programme: Flask, app: Flask, make_attendee
) -> None:
    _, token = make_attendee(email="camille.martin@example.org")
    stranger = app.test_client()
    register(stranger, htmx=True)
    with stranger.session_transaction() as session:
        assert session["rights"] == "limited"
    assert stranger.get("/moi").headers["Location"].endswith("/moi/lien")
    owner = app.test_client()
    opened = owner.get(f"/moi/{token}")
    # The token is exchanged for the session, then left behind: a token-free address.
    assert opened.status_code == 303 and opened.headers["Location"].endswith("/moi")
    assert token not in opened.headers["Location"]
    with owner.session_transaction() as session:
        assert session["rights"] == "full"
    assert owner.get("/moi").status_code == 200
    # "Mon espace" in every page's header leads there.
    assert 'href="/moi">Mon espace</a>' in owner.get("/confidentialite").get_data(as_text=True)


def test_retention_purge_erases_old_attendees_only(
    app: Flask, runner: FlaskCliRunner, make_attendee
) -> None:
    from app.programme.services import load_programme

    with app.app_context():
        load_programme(original_dates=True)  # last episode: 4 June 2020
    make_attendee(email="ancienne@example.org")
    app.config["RETENTION_DAYS"] = 365 * 10
    assert "Personnes effacées : 0" in runner.invoke(args=["retention", "purge"]).output
    app.config["RETENTION_DAYS"] = 365
    dry = runner.invoke(args=["retention", "purge", "--dry-run"]).output
    assert "Personnes à effacer : 1" in dry
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendee)) == 1
    assert "Personnes effacées : 1" in runner.invoke(args=["retention", "purge"]).output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendee)) == 0


def test_personal_space_lists_my_questions_with_their_status(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    from app.vocabulary import QuestionStatus

    attendee_id, token = make_attendee(episodes=(2, 3))
    with programme.app_context():
        episodes = {e.number: e.id for e in db.session.scalars(sa.select(Episode))}
        db.session.add_all(
            [
                Question(
                    episode_id=episodes[2],
                    attendee_id=attendee_id,
                    text="Combien coûte un budget participatif ?",
                ),
                Question(
                    episode_id=episodes[3],
                    attendee_id=attendee_id,
                    text="Comment mesurer une consultation réussie ?",
                    status=QuestionStatus.SELECTED,
                ),
                Question(
                    episode_id=episodes[3],
                    attendee_id=attendee_id,
                    text="<b>Question écartée</b>",
                    status=QuestionStatus.DISMISSED,
                ),
            ]
        )
        db.session.commit()
    body = client.get(f"/moi/{token}", follow_redirects=True).get_data(as_text=True)
    section = body[body.index('id="mes-questions"') :]
    assert "Combien coûte un budget participatif ?" in section
    assert "Statut&nbsp;: reçue" in section
    assert "Statut&nbsp;: retenue" in section
    assert "Statut&nbsp;: écartée" in section
    assert "&lt;b&gt;Question écartée&lt;/b&gt;" in section
    # Editing without JavaScript comes back to the personal space.
    edit = re.search(r'href="(/questions/\d+/modifier\?retour=[^"]+)"', section).group(1)
    assert edit.endswith("retour=/moi") or edit.endswith("retour=%2Fmoi")
    assert token not in body  # the space's address carries no token


def test_editing_a_question_from_the_space_without_javascript(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    import html as html_module

    attendee_id, token = make_attendee(episodes=(2,))
    with programme.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=2)).one()
        question = Question(
            episode_id=episode.id, attendee_id=attendee_id, text="Première version de ma question"
        )
        db.session.add(question)
        db.session.commit()
        question_id = question.id
    space = client.get(f"/moi/{token}", follow_redirects=True).get_data(as_text=True)
    edit = html_module.unescape(
        re.search(r'href="(/questions/\d+/modifier\?retour=[^"]+)"', space).group(1)
    )
    form = client.get(edit).get_data(as_text=True)
    action = html_module.unescape(
        re.search(r'<form[^>]*action="([^"]+/modifier[^"]*)"', form).group(1)
    )
    # Every hidden field the form carries (the CSRF token, where to come back to).
    hidden = {
        name: html_module.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)
    }
    assert hidden["retour"] == "/moi"
    response = client.post(
        action,
        data={
            **hidden,
            "text": "Seconde version, plus précise, de ma question",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"].split("#")[0].endswith("/moi")
    with programme.app_context():
        assert (
            db.session.get(Question, question_id).text
            == "Seconde version, plus précise, de ma question"
        )


def test_personal_pages_post_over_https_with_the_origin_as_referrer(
    programme: Flask, app: Flask, make_attendee
) -> None:
    # Over HTTPS Flask-WTF also checks the Referer; the personal pages' "strict-origin"
    # policy makes browsers send just the origin, which must be enough.
    programme.config["WTF_CSRF_SSL_STRICT"] = True
    _, token = make_attendee(episodes=(2,))
    client = app.test_client()
    page = client.get(
        f"/moi/{token}", base_url="https://webinaires.example.org", follow_redirects=True
    )
    assert page.headers["Referrer-Policy"] == "strict-origin"
    with programme.app_context():
        episode4 = db.session.scalars(sa.select(Episode).filter_by(number=4)).one().id
    response = client.post(
        f"/moi/episodes/{episode4}",
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "follow": "1"},
        base_url="https://webinaires.example.org",
        headers={"Referer": "https://webinaires.example.org/"},
    )
    assert response.status_code == 303


def test_an_erased_attendees_browser_never_speaks_for_the_next_one(
    programme: Flask, app: Flask, make_attendee
) -> None:
    _, token = make_attendee(email="alice@example.org", first_name="Alice")
    phone = app.test_client()
    phone.get(f"/moi/{token}")
    laptop = app.test_client()
    laptop.get(f"/moi/{token}")
    confirm = laptop.get("/moi/effacer").get_data(as_text=True)
    laptop.post("/moi/effacer", data={"csrf_token": csrf_from(confirm)})
    # The next registrant may get the same id back (SQLite reuses the highest freed id).
    register(app.test_client(), htmx=True, email="bruno@example.org", first_name="Bruno")
    assert phone.get("/inscription/etat").status_code == 204
    with phone.session_transaction() as session:
        assert "attendee_id" not in session


def test_registering_someone_elses_address_never_shows_their_name(
    programme: Flask, app: Flask, make_attendee
) -> None:
    make_attendee(email="alice@example.org", first_name="Alice")
    stranger = app.test_client()
    register(stranger, htmx=True, email="alice@example.org", first_name="Mallory")
    status = stranger.get("/inscription/etat").get_data(as_text=True)
    assert "Mallory" in status
    assert "Alice" not in status


def test_a_known_visitor_gets_no_cookie_on_shared_responses(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    _, token = make_attendee()
    assert "Set-Cookie" in client.get(f"/moi/{token}").headers  # the link ties the browser
    for url in ("/", "/episodes/api", "/cycle.ics", "/confidentialite", "/healthz"):
        response = client.get(url)
        assert "Set-Cookie" not in response.headers, url
    with client.get("/static/js/site.js") as asset:
        assert "Set-Cookie" not in asset.headers
    assert "Cookie" not in client.get("/").headers.get("Vary", "")
