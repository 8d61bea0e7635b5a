"""Seats and a fair waiting list (issue 13): capacity, the list in order of arrival, the seat
given on at once with a mail, "libérer ma place", the public counts, and the last seat under
20 concurrent registrations (with the lock, and the control without it)."""

from __future__ import annotations

import html
import re
import threading
from datetime import timedelta

import icalendar
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Attendee, Episode, OutboxMessage, Registration
from tests.support.database import NOW
from tests.support.episodes import edit_form, edit_url
from tests.support.http import csrf_from, htmx_headers, normalise_spaces, sign_in_as
from tests.support.mail import MailSink
from tests.support.registration import register, registration_data


def text_of(body: str) -> str:
    """Visible text, unescaped, spaces normalised."""
    body = re.sub(r"<[^>]+>", " ", body)
    return re.sub(r"\s+", " ", normalise_spaces(html.unescape(body)))


def episode_id(app: Flask, number: int) -> int:
    """The id of episode `number`."""
    with app.app_context():
        return db.session.scalar(sa.select(Episode.id).filter_by(number=number))


def set_capacity(app: Flask, number: int, capacity: int | None) -> None:
    """Give episode `number` this many seats, behind the app's back."""
    with app.app_context():
        db.session.execute(sa.update(Episode).filter_by(number=number).values(capacity=capacity))
        db.session.commit()


def places(app: Flask, number: int) -> list[tuple[str, bool]]:
    """(address, waiting?) of each registration of episode `number`, in order of arrival."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Attendee.email, Registration.waiting_since.is_not(None))
            .join(Registration, Registration.attendee_id == Attendee.id)
            .join(Episode, Episode.id == Registration.episode_id)
            .where(Episode.number == number)
            .order_by(
                Registration.waiting_since.is_not(None), Registration.waiting_since, Registration.id
            )
        ).all()
        return [(email, bool(waiting)) for email, waiting in rows]


def deliver(app: Flask) -> dict[str, int]:
    """Run the outbox sender once."""
    from app.mailing.worker import deliver_due

    with app.app_context():
        return deliver_due()


def fill(programme: Flask, make_attendee, number: int, capacity: int) -> None:  # type: ignore[no-untyped-def]
    """Episode `number` with `capacity` seats, all taken by people registered before."""
    for n in range(capacity):
        make_attendee(email=f"assise{n}@example.org", episodes=(number,))
    set_capacity(programme, number, capacity)


# ---------------------------------------------------------------- registering to a full episode
def test_a_full_episode_offers_its_waiting_list_and_says_the_place(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    fill(programme, make_attendee, 2, 2)
    form = client.get("/inscription").get_data(as_text=True)
    assert "complet : inscription sur la liste d’attente" in html.unescape(form)
    two, three = episode_id(programme, 2), episode_id(programme, 3)

    first = register(client, htmx=True, email="ines@example.org", episodes=[str(two), str(three)])
    assert first.status_code == 200
    said = text_of(first.get_data(as_text=True))
    assert "Pour un épisode, vous êtes sur la liste d’attente" in said
    assert "Complet : vous êtes sur la liste d’attente, en position 1." in said

    second = register(programme.test_client(), email="marc@example.org", episodes=[str(two)])
    assert second.status_code == 303
    assert places(programme, 2)[-2:] == [("ines@example.org", True), ("marc@example.org", True)]
    assert places(programme, 3) == [("ines@example.org", False)]


def test_the_no_js_confirmation_page_gives_the_place(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    fill(programme, make_attendee, 2, 1)
    make_attendee(email="avant@example.org", episodes=())
    response = register(client, email="marc@example.org", episodes=[str(episode_id(programme, 2))])
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    said = text_of(page)
    assert "Vous êtes sur la liste d’attente : il n’y a plus de place." in said
    assert "en position 1." in said


def test_registering_an_address_again_answers_like_a_first_registration(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    """No enumeration: whoever types an address on file is answered as a newcomer would be
    (the owner's seat is not revealed, nor taken from them)."""
    fill(programme, make_attendee, 2, 1)  # assise0 holds the only seat
    make_attendee(email="attente@example.org", episodes=(2,))
    with programme.app_context():  # …registered by the factory: put them on the list
        db.session.execute(
            sa.update(Registration)
            .where(
                Registration.attendee_id
                == sa.select(Attendee.id).filter_by(email="attente@example.org").scalar_subquery()
            )
            .values(waiting_since=NOW)
        )
        db.session.commit()
    two = str(episode_id(programme, 2))
    stranger = text_of(
        register(client, htmx=True, email="assise0@example.org", episodes=[two]).get_data(
            as_text=True
        )
    )
    newcomer = text_of(
        register(
            programme.test_client(), htmx=True, email="nouveau@example.org", episodes=[two]
        ).get_data(as_text=True)
    )
    assert "en position 2." in stranger  # what a newcomer got at that moment
    assert "en position 2." in newcomer
    assert places(programme, 2) == [
        ("assise0@example.org", False),
        ("attente@example.org", True),
        ("nouveau@example.org", True),
    ]


# ---------------------------------------------------------------- the mails
def test_the_confirmation_mail_says_waiting_list_and_position_over_smtp(
    programme: Flask, client: FlaskClient, make_attendee, smtp: MailSink
) -> None:
    fill(programme, make_attendee, 2, 1)
    with programme.app_context():
        db.session.execute(
            sa.update(Episode).filter_by(number=2).values(join_url="https://visio.example.org/e2")
        )
        db.session.commit()
    two, three = episode_id(programme, 2), episode_id(programme, 3)
    register(client, email="ines@example.org", first_name="Inès", episodes=[str(two), str(three)])
    deliver(programme)
    mail = next(m for m in smtp.wait_for(1) if m["To"] == "ines@example.org")
    plain = normalise_spaces(mail.get_body(preferencelist=("plain",)).get_content())
    html_part = normalise_spaces(mail.get_body(preferencelist=("html",)).get_content())
    assert "Complet : vous êtes sur la liste d’attente, en position 1." in plain
    assert "liste d’attente, en position 1." in html_part
    assert "https://visio.example.org/e2" not in plain + html_part
    # The seat of episode 3 can be freed from the personal space (a page, never a GET that acts).
    assert f"https://webinaires.example.org/moi/episodes/{three}/liberer" in plain
    assert f"/moi/episodes/{two}/liberer" not in plain
    attachment = next(p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar")
    events = icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    # Only the episode with a seat: the calendar carries the join links.
    assert len(events) == 1 and "Épisode 3" in str(events[0]["SUMMARY"])


def test_freeing_a_seat_gives_it_at_once_to_the_first_waiting_with_a_mail(
    programme: Flask, make_attendee, smtp: MailSink
) -> None:
    seated, _ = make_attendee(email="assise@example.org", episodes=(2,))
    set_capacity(programme, 2, 1)
    with programme.app_context():
        db.session.execute(
            sa.update(Episode).filter_by(number=2).values(join_url="https://visio.example.org/e2")
        )
        db.session.commit()
    two = str(episode_id(programme, 2))
    for email, first in (("ines@example.org", "Inès"), ("marc@example.org", "Marc")):
        register(programme.test_client(), email=email, first_name=first, episodes=[two])
    deliver(programme)
    smtp.wait_for(2)
    smtp.clear()

    client = programme.test_client()
    sign_in_as(client, seated)
    space = client.get("/moi").get_data(as_text=True)
    assert "Libérer ma place" in space
    # The link in the mail only asks: a GET changes nothing.
    ask = client.get(f"/moi/episodes/{two}/liberer")
    assert ask.status_code == 200
    assert "Libérer votre place pour l’épisode 2" in html.unescape(ask.get_data(as_text=True))
    assert places(programme, 2)[0] == ("assise@example.org", False)

    freed = client.post(
        f"/moi/episodes/{two}/liberer",
        data={"csrf_token": csrf_from(ask.get_data(as_text=True))},
        headers=htmx_headers("mon-episode-2"),
    )
    assert freed.status_code == 200
    assert "Votre place pour l’épisode 2 est libérée." in html.unescape(
        freed.get_data(as_text=True)
    )
    assert places(programme, 2) == [("ines@example.org", False), ("marc@example.org", True)]

    deliver(programme)
    mail = smtp.wait_for(1)[0]
    assert mail["To"] == "ines@example.org"
    assert mail["Subject"] == "Une place pour vous : épisode 2 du cycle de webinaires"
    plain = normalise_spaces(mail.get_body(preferencelist=("plain",)).get_content())
    assert plain.startswith("Bonjour Inès,")
    assert "vous avez maintenant une place pour l’épisode 2" in plain
    assert "https://visio.example.org/e2" in plain
    assert mail["List-Unsubscribe"]

    # Marc is now first on the list, and his space says so.
    with programme.app_context():
        marc = db.session.scalar(sa.select(Attendee.id).filter_by(email="marc@example.org"))
    other = programme.test_client()
    sign_in_as(other, marc)
    assert "en position 1." in text_of(other.get("/moi").get_data(as_text=True))


def test_erasing_oneself_gives_the_seat_on_in_the_same_transaction(
    programme: Flask, make_attendee
) -> None:
    seated, _ = make_attendee(email="assise@example.org", episodes=(2, 3))
    set_capacity(programme, 2, 1)
    register(
        programme.test_client(), email="ines@example.org", episodes=[str(episode_id(programme, 2))]
    )
    client = programme.test_client()
    sign_in_as(client, seated)
    token = csrf_from(client.get("/moi/effacer").get_data(as_text=True))
    assert client.post("/moi/effacer", data={"csrf_token": token}).status_code == 200
    assert places(programme, 2) == [("ines@example.org", False)]
    with programme.app_context():
        kinds = list(db.session.scalars(sa.select(OutboxMessage.kind).order_by(OutboxMessage.id)))
    assert kinds[-1] == "seat_given"


def test_nobody_on_the_waiting_list_is_reminded(programme: Flask, make_attendee) -> None:
    from app.mailing.reminders import queue_due_reminders

    make_attendee(email="assise@example.org", episodes=(1,))
    set_capacity(programme, 1, 1)
    register(
        programme.test_client(),
        email="attente@example.org",
        episodes=[str(episode_id(programme, 1))],
    )
    with programme.app_context():
        assert queue_due_reminders() == 1  # episode 1's reminder of the day before is due
        reminded = list(
            db.session.scalars(sa.select(OutboxMessage.recipient).filter_by(kind="reminder"))
        )
        reminder = db.session.scalars(sa.select(OutboxMessage).filter_by(kind="reminder")).one()
    assert reminded == ["assise@example.org"]
    assert f"/moi/episodes/{episode_id(programme, 1)}/liberer" in reminder.body_text
    assert "Libérer ma place" in reminder.body_html


def test_a_post_is_needed_and_a_stranger_cannot_free_a_seat(
    programme: Flask, make_attendee
) -> None:
    seated, _ = make_attendee(email="assise@example.org", episodes=(2,))
    set_capacity(programme, 2, 1)
    two = episode_id(programme, 2)
    anonymous = programme.test_client()
    assert anonymous.get(f"/moi/episodes/{two}/liberer").status_code == 303  # to "my link"
    assert anonymous.post(f"/moi/episodes/{two}/liberer").status_code in (400, 403)
    client = programme.test_client()
    sign_in_as(client, seated)
    assert client.post(f"/moi/episodes/{two}/liberer", data={}).status_code == 400  # no token
    assert places(programme, 2) == [("assise@example.org", False)]


# ---------------------------------------------------------------- the facilitator's capacity
def test_lowering_the_capacity_removes_nobody_and_raising_it_gives_seats(
    programme: Flask, facilitator_client: FlaskClient, make_attendee
) -> None:
    for n in range(3):
        make_attendee(email=f"assise{n}@example.org", episodes=(2,))
    url = edit_url(programme, 2)
    saved = facilitator_client.post(url, data=edit_form(facilitator_client, 2, capacity="1"))
    assert saved.status_code == 303
    assert [w for _, w in places(programme, 2)] == [False, False, False]  # nobody removed
    two = str(episode_id(programme, 2))
    register(programme.test_client(), email="ines@example.org", episodes=[two])
    register(programme.test_client(), email="marc@example.org", episodes=[two])
    assert places(programme, 2)[3:] == [("ines@example.org", True), ("marc@example.org", True)]

    refused = facilitator_client.post(url, data=edit_form(facilitator_client, 2, capacity="zéro"))
    assert refused.status_code == 422
    assert "nombre entier de places" in html.unescape(refused.get_data(as_text=True))

    facilitator_client.post(url, data=edit_form(facilitator_client, 2, capacity="4"))
    assert places(programme, 2)[3:] == [("ines@example.org", False), ("marc@example.org", True)]
    dashboard = text_of(facilitator_client.get("/animation/").get_data(as_text=True))
    assert "4 places, 1 en liste d’attente" in dashboard
    facilitator_client.post(url, data=edit_form(facilitator_client, 2, capacity=""))
    assert all(not waiting for _, waiting in places(programme, 2))  # unlimited: all seated


# ---------------------------------------------------------------- the public pages
def test_public_pages_say_full_or_few_places_and_follow_every_seat(
    programme: Flask, make_attendee
) -> None:
    """The shared page cache (app/pagecache.py) keeps `/` until its version changes: the
    seats of episodes with a capacity are part of it."""
    anonymous = programme.test_client()
    make_attendee(email="assise@example.org", episodes=(2,))
    set_capacity(programme, 2, 3)
    first = anonymous.get("/")
    assert "2 places restantes" in text_of(first.get_data(as_text=True))
    assert "assise@example.org" not in first.get_data(as_text=True)
    two = str(episode_id(programme, 2))
    register(programme.test_client(), email="b@example.org", episodes=[two])
    again = anonymous.get("/")
    assert again.headers["ETag"] != first.headers["ETag"]
    assert "1 place restante" in text_of(again.get_data(as_text=True))
    register(programme.test_client(), email="c@example.org", episodes=[two])
    full = text_of(anonymous.get("/").get_data(as_text=True))
    assert "Complet · liste d’attente" in full
    with programme.app_context():
        slug = db.session.scalar(sa.select(Episode.slug).filter_by(number=2))
    page = text_of(anonymous.get(f"/episodes/{slug}").get_data(as_text=True))
    assert "Complet · liste d’attente" in page
    # Far from full: nothing said.
    set_capacity(programme, 2, 100)
    assert "restante" not in text_of(anonymous.get("/").get_data(as_text=True))


# ---------------------------------------------------------------- the last seat, 20 at once
def _race(programme: Flask, lock: bool) -> list[tuple[str, bool]]:
    """20 registrations at once for episode 2's last seat, straight through the service."""
    from app.registration.services import RegistrationRequest
    from app.registration.services import register as register_service

    fill(programme, make_attendee=_maker(programme), number=2, capacity=1)
    set_capacity(programme, 2, 2)  # one seat left
    two = episode_id(programme, 2)
    with programme.app_context():
        from app.models import Series

        series_id = db.session.scalar(sa.select(Series.id))
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def submit(n: int) -> None:
        try:
            with programme.app_context():
                barrier.wait()
                register_service(
                    RegistrationRequest(
                        series_id=series_id,
                        email=f"course{n}@example.org",
                        first_name="Personne",
                        last_name=str(n),
                        organisation="Ville",
                        organisation_kind="collectivite",
                        job_title="",
                        episode_ids=[two],
                    ),
                    lock_seats=lock,
                )
                db.session.remove()
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=submit, args=(n,)) for n in range(20)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    return [p for p in places(programme, 2) if p[0].startswith("course")]


def _maker(programme: Flask):  # type: ignore[no-untyped-def]
    from app.identity import issue_token
    from app.models import Series

    def make(email: str, episodes: tuple[int, ...]) -> None:
        with programme.app_context():
            series = db.session.scalars(sa.select(Series)).one()
            attendee = Attendee(
                series_id=series.id,
                email=email,
                first_name="A",
                last_name="B",
                organisation="O",
                organisation_kind="collectivite",
                job_title="",
                privacy_acknowledged_at=NOW,
            )
            db.session.add(attendee)
            db.session.flush()
            for number in episodes:
                db.session.add(
                    Registration(attendee_id=attendee.id, episode_id=episode_id(programme, number))
                )
            issue_token(attendee)
            db.session.commit()

    return make


def test_twenty_people_racing_for_the_last_seat_get_one_seat_and_nineteen_places(
    programme: Flask,
) -> None:
    raced = _race(programme, lock=True)
    assert len(raced) == 20
    assert sum(not waiting for _, waiting in raced) == 1
    assert sum(waiting for _, waiting in raced) == 19
    # The list is in order of arrival, each place given once.
    with programme.app_context():
        from app.seats import waiting_positions

        positions = sorted(
            waiting_positions(a)[episode_id(programme, 2)]
            for a in db.session.scalars(
                sa.select(Attendee.id).where(Attendee.email.like("course%"))
            )
            if episode_id(programme, 2) in waiting_positions(a)
        )
    assert positions == list(range(1, 20))


def test_without_the_lock_the_last_seat_is_oversold_on_postgresql(
    programme: Flask, monkeypatch
) -> None:
    """The control (pretix style): the same race with the episode's row left unlocked.
    PostgreSQL (READ COMMITTED) lets several transactions count the same free seat; here
    every one waits, once it has counted, for the others to have counted too (the worst
    interleaving, made certain). On SQLite there is no lock to leave out: `write()` takes
    the write lock at BEGIN IMMEDIATE, so registrations are serialised whatever
    `lock_seats` says (and a barrier inside that lock would only wait for nothing)."""
    import app.seats

    with programme.app_context():
        dialect = db.engine.dialect.name
    if dialect == "postgresql":
        counted = threading.Barrier(20)
        original = app.seats.seats_taken

        def count_then_wait(episode_ids):  # type: ignore[no-untyped-def]
            taken = original(episode_ids)
            counted.wait(timeout=30)
            return taken

        monkeypatch.setattr(app.seats, "seats_taken", count_then_wait)
    raced = _race(programme, lock=False)
    seated = sum(not waiting for _, waiting in raced)
    print(f"\n[{dialect}] without the lock: {seated} seats taken for 1 left, {20 - seated} waiting")
    if dialect == "postgresql":
        assert seated == 20
    else:
        assert seated == 1


def test_the_registration_view_decides_the_last_seat_under_the_lock_too(
    programme: Flask, make_attendee
) -> None:
    """The same race through the real form (HTTP, CSRF, one transaction per request)."""
    fill(programme, make_attendee, 2, 1)
    set_capacity(programme, 2, 2)
    two = str(episode_id(programme, 2))
    clients = [programme.test_client() for _ in range(20)]
    forms = [
        registration_data(c, email=f"http{n}@example.org", episodes=[two])
        for n, c in enumerate(clients)
    ]
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def submit(n: int) -> None:
        barrier.wait()
        statuses.append(
            clients[n]
            .post("/inscription", data=forms[n], headers={"HX-Request": "true"})
            .status_code
        )

    workers = [threading.Thread(target=submit, args=(n,)) for n in range(20)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert statuses == [200] * 20
    raced = [p for p in places(programme, 2) if p[0].startswith("http")]
    assert sum(not waiting for _, waiting in raced) == 1
    assert sum(waiting for _, waiting in raced) == 19


def test_a_seat_is_not_given_on_once_the_episode_has_started(
    programme: Flask, make_attendee
) -> None:
    make_attendee(email="assise@example.org", episodes=(2,))
    set_capacity(programme, 2, 1)
    register(
        programme.test_client(),
        email="attente@example.org",
        episodes=[str(episode_id(programme, 2))],
    )
    with programme.app_context():
        starts = db.session.scalar(sa.select(Episode.starts_at).filter_by(number=2))
        from app.attendee.services import erase

        programme.extensions["clock"].freeze(starts + timedelta(minutes=5))
        assistant = db.session.scalar(sa.select(Attendee.id).filter_by(email="assise@example.org"))
        erase(assistant)
    assert places(programme, 2) == [("attente@example.org", True)]


def test_following_a_full_episode_from_the_space_joins_its_waiting_list(
    programme: Flask, make_attendee
) -> None:
    make_attendee(email="assise@example.org", episodes=(2,))
    set_capacity(programme, 2, 1)
    camille, _ = make_attendee(email="camille@example.org", episodes=())
    client = programme.test_client()
    sign_in_as(client, camille)
    space = client.get("/moi").get_data(as_text=True)
    two = episode_id(programme, 2)
    answer = client.post(
        f"/moi/episodes/{two}",
        data={"csrf_token": csrf_from(space), "follow": "1"},
        headers=htmx_headers("mon-episode-2"),
    )
    said = text_of(answer.get_data(as_text=True))
    assert "L’épisode 2 est complet : vous êtes sur la liste d’attente, en position 1." in said
    assert "Quitter la liste d’attente" in said
    assert places(programme, 2) == [("assise@example.org", False), ("camille@example.org", True)]


def test_a_join_link_set_after_the_seat_was_given_reaches_that_person(
    programme: Flask, facilitator_client: FlaskClient, make_attendee
) -> None:
    """The mail giving the seat promised the link "by e-mail" when it was not set yet; the
    day before episode 1, the sweep keeps that promise (the seat's mail counts as one that
    carried no link, like a reminder)."""
    from app.mailing.reminders import queue_due_reminders

    seated, _ = make_attendee(email="assise@example.org", episodes=(1,))
    set_capacity(programme, 1, 1)
    register(
        programme.test_client(), email="ines@example.org", episodes=[str(episode_id(programme, 1))]
    )
    with programme.app_context():
        queue_due_reminders()  # the seat's holder is reminded, Inès (waiting) is not
        from app.attendee.services import erase

        erase(seated)
        queue_due_reminders()  # Inès now has a seat: the reminder of the day before is hers
    facilitator_client.post(
        edit_url(programme, 1),
        data=edit_form(facilitator_client, 1, join_url="https://visio.example.org/e1"),
    )
    with programme.app_context():
        queue_due_reminders()
        sent = db.session.execute(
            sa.select(OutboxMessage.kind, OutboxMessage.body_text)
            .filter_by(recipient="ines@example.org")
            .order_by(OutboxMessage.id)
        ).all()
    assert [kind for kind, _ in sent] == [
        "registration_confirmation",
        "seat_given",
        "reminder",
        "join_link",
    ]
    assert "https://visio.example.org/e1" in sent[-1][1]


def test_the_facilitator_sees_who_waits_in_the_list_and_the_export(
    programme: Flask, facilitator_client: FlaskClient, make_attendee
) -> None:
    fill(programme, make_attendee, 2, 1)
    two, three = episode_id(programme, 2), episode_id(programme, 3)
    visitor = programme.test_client()
    register(visitor, email="ines@example.org", episodes=[str(two), str(three)])
    page = text_of(facilitator_client.get("/animation/inscrits?q=ines").get_data(as_text=True))
    assert "2 (liste d’attente), 3" in page
    seated = text_of(facilitator_client.get("/animation/inscrits?q=assise0").get_data(as_text=True))
    assert "liste d’attente" not in seated
    export = facilitator_client.get("/animation/inscrits.csv").get_data(as_text=True)
    line = next(row for row in export.splitlines() if "ines@example.org" in row)
    assert "2 (liste d’attente), 3" in line
