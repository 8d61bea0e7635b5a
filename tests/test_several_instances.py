"""Several instances, one truth (issue 12): two gunicorn instances of two workers each, as
two machines would run them, on one real PostgreSQL and one real Redis, mailing a real SMTP
server. Requests go alternately to both; concurrent ones are released at the same moment.
No duplicate attendee, vote, question, mail or reminder, and a rate limit holds across both.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller

from tests.support.http import csrf_from
from tests.support.mail import MailSink
from tests.support.processes import create_database, site_instance
from tests.support.registration import EPISODE_VALUE, started_from
from tests.support.servers import BIN, ROOT, flask, in_site, site_env
from tests.support.web import Answer, Browser, at_once, form_fields, htmx

pytestmark = pytest.mark.servers

#: "Recevoir mon lien" requests allowed per hour from one network address, whichever
#: instance answers
LINK_LIMIT = 5
FACILITATOR = ("animation@example.org", "Loutre-Cerise-Pivoine-1789")
PERSONAL_LINK = re.compile(r"/moi/([A-Za-z0-9_-]{43})")


@dataclass
class Site:
    """Two instances of the site on one database; what an operator can read of it."""

    instances: tuple[str, str]
    env: dict[str, str]
    database_url: str
    sink: MailSink

    def at(self, n: int) -> str:
        """The n-th instance, alternately."""
        return self.instances[n % 2]

    def rows(self, sql: str, *params: Any) -> list[tuple]:
        """Read the shared database as the operator would (psql)."""
        with psycopg.connect(self._address()) as conn:
            return conn.execute(sql, params).fetchall()

    def execute(self, sql: str, *params: Any) -> None:
        """Change the shared database as the operator would (psql); committed at once."""
        with psycopg.connect(self._address()) as conn:  # commits when the block ends
            conn.execute(sql, params)

    def _address(self) -> str:
        return "postgresql://" + self.database_url.removeprefix("postgresql+psycopg://")

    def value(self, sql: str, *params: Any) -> Any:
        """One value read from the shared database."""
        return self.rows(sql, *params)[0][0]

    def episode_slugs(self) -> list[str]:
        """The episodes' addresses, in programme order."""
        return [slug for (slug,) in self.rows("SELECT slug FROM episode ORDER BY number")]

    def mails_to(self, addresses: set[str], subject_start: str) -> list[EmailMessage]:
        """Messages received for these addresses whose subject starts so."""
        with self.sink.lock:
            return [
                message
                for message in self.sink.messages
                if str(message["To"]).lower() in addresses
                and str(message["Subject"]).startswith(subject_start)
            ]

    def wait_until_sent(self, addresses: set[str], seconds: float = 60) -> None:
        """Wait until no message to these addresses waits in the outbox (the senders of
        both instances deliver by themselves)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            waiting = self.value(
                "SELECT count(*) FROM outbox_message WHERE lower(status::text) = 'pending'"
                " AND recipient = ANY(%s)",
                list(addresses),
            )
            if waiting == 0:
                return
            time.sleep(0.2)
        raise AssertionError(f"{waiting} messages still wait in the outbox")


@pytest.fixture(scope="module")
def site(
    postgres_server: str, redis_url: str, smtp_server: tuple[Controller, MailSink]
) -> Iterator[Site]:
    """Two instances, two workers each, sharing PostgreSQL, Redis and the SMTP server; their
    background senders wake every second."""
    database = create_database(postgres_server, "several_instances")
    env = site_env(
        database,
        MAIL_SERVER='"127.0.0.1"',
        MAIL_PORT=str(smtp_server[0].port),
        OUTBOX_SEND_AFTER_REQUEST="true",
        OUTBOX_WAKE_SECONDS="1",
        RATELIMIT_STORAGE_URI=redis_url,
        # Counters of their own in the session's Redis, whatever other tests counted.
        RATELIMIT_KEY_PREFIX=f'"instances-{secrets.token_hex(4)}"',
        RATELIMIT_LINK_REQUEST=f'"{LINK_LIMIT} per hour"',
        # Every browser of this test comes from 127.0.0.1: the registration limit is not
        # what these tests look at.
        RATELIMIT_REGISTRATION='"1000 per minute"',
    )
    flask(env, "db", "upgrade")
    flask(env, "programme", "load")
    with site_instance(env, workers=2) as first, site_instance(env, workers=2) as second:
        yield Site((first, second), env, database, smtp_server[1])


# ---------------------------------------------------------------- helpers
def registration_fields(form: str, email: str, first_name: str, **overrides: Any) -> dict:
    """The registration form filled in as a person would, with the token it was served."""
    fields = {
        "csrf_token": csrf_from(form),
        "started": started_from(form),
        "website": "",
        "first_name": first_name,
        "last_name": "Leroy",
        "email": email,
        "organisation": "Métropole de Lyon",
        "organisation_kind": "intercommunalite",
        "job_title": "Chargée de concertation",
        "episodes": EPISODE_VALUE.findall(form),
        "privacy": "y",
    }
    fields.update(overrides)
    return fields


def register(site: Site, browser: Browser, n: int, email: str, **overrides: Any) -> Answer:
    """Open the form in place on one instance, send it to the other one."""
    form = browser.get(site.at(n) + "/inscription", htmx("inscription-zone")).text
    fields = registration_fields(form, email, "Camille", **overrides)
    return browser.post(site.at(n + 1) + "/inscription", fields, htmx("inscription-form"))


def personal_link(site: Site, email: str) -> str:
    """The personal link of the confirmation e-mail this address received."""
    site.wait_until_sent({email})
    (mail, *_) = site.mails_to({email}, "Votre inscription")
    return PERSONAL_LINK.search(mail.get_body(("plain",)).get_content()).group(0)


def etag_of(url: str) -> str:
    """The ETag a page is served with."""
    return served(url)[0]


def served(url: str) -> tuple[str, bytes]:
    """A page as a visitor without a session receives it: its ETag and its bytes."""
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.headers.get("ETag", ""), answer.read()


def message_ids(messages: list[EmailMessage]) -> set[str]:
    return {str(message["Message-ID"]) for message in messages}


def cron(site: Site) -> subprocess.Popen:  # type: ignore[type-arg]
    """`flask outbox send` as a cron starts it, on the same database."""
    return subprocess.Popen(
        [str(BIN / "flask"), "--app", "wsgi", "outbox", "send"],
        cwd=ROOT,
        env=site.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def facilitator(site: Site) -> Browser:
    """A facilitator (created by the command) logged in on the first instance."""
    subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "facilitator", "create", FACILITATOR[0]],
        input=f"{FACILITATOR[1]}\n{FACILITATOR[1]}\n",
        cwd=ROOT,
        env=site.env,
        check=True,
        capture_output=True,
        text=True,
    )
    browser = Browser()
    form = browser.get(site.at(0) + "/animation/connexion").text
    fields = {"csrf_token": csrf_from(form), "email": FACILITATOR[0], "password": FACILITATOR[1]}
    assert browser.post(site.at(0) + "/animation/connexion", fields).status == 303
    return browser


# ---------------------------------------------------------------- registrations
def test_one_address_registered_at_once_on_both_instances_is_one_attendee(site: Site) -> None:
    address = "dominique.leroy@example.org"
    slugs = site.episode_slugs()
    browsers = [Browser() for _ in range(8)]
    forms = [
        b.get(site.at(n) + "/inscription", htmx("inscription-zone")) for n, b in enumerate(browsers)
    ]
    episode_ids = EPISODE_VALUE.findall(forms[0].text)
    assert len(episode_ids) == len(slugs) == 7

    def send(n: int) -> Answer:
        # Each browser ticks one episode (all seven between them), in its own case.
        typed = address.upper() if n % 2 else address
        fields = registration_fields(
            forms[n].text, typed, "Dominique", episodes=[episode_ids[n % 7]]
        )
        return browsers[n].post(site.at(n + 1) + "/inscription", fields, htmx("inscription-form"))

    answers = at_once(send, range(8))

    for answer in answers:  # the same answer for everyone, as for a first registration
        assert answer.status == 200
        assert "Merci Dominique Leroy, votre inscription est enregistrée." in answer.text
    assert site.value("SELECT count(*) FROM attendee WHERE lower(email) = %s", address) == 1
    followed = site.rows(
        "SELECT r.episode_id FROM registration r JOIN attendee a ON a.id = r.attendee_id"
        " WHERE a.email = %s",
        address,
    )
    assert sorted(str(episode_id) for (episode_id,) in followed) == sorted(episode_ids)
    # At most three confirmations an hour reach an address, whoever types it: three left,
    # each once, although four background senders deliver the outbox.
    site.wait_until_sent({address})
    confirmations = site.mails_to({address}, "Votre inscription")
    assert len(confirmations) == 3
    assert len(message_ids(confirmations)) == 3


# ---------------------------------------------------------------- questions
def test_questions_sent_at_once_on_both_instances_are_each_kept_once(site: Site) -> None:
    slug = site.episode_slugs()[0]
    people = [f"alix{n}.martin@example.org" for n in range(10)]
    browsers = [Browser() for _ in people]
    for n, (browser, email) in enumerate(zip(browsers, people, strict=True)):
        assert register(site, browser, n, email).status == 200
    ask = f"/episodes/{slug}/questions/poser"
    areas = [b.get(site.at(n) + ask, htmx("poser-1")).text for n, b in enumerate(browsers)]

    def send(n: int) -> Answer:
        text = f"Question n° {n} : comment associer les habitants au budget participatif ?"
        fields = {"csrf_token": csrf_from(areas[n]), "text": text}
        return browsers[n].post(site.at(n + 1) + ask, fields, htmx("zone-question-1"))

    answers = at_once(send, range(10))

    assert [answer.status for answer in answers] == [200] * 10
    kept = site.rows(
        "SELECT a.email, q.text FROM question q JOIN attendee a ON a.id = q.attendee_id"
        " WHERE a.email = ANY(%s)",
        people,
    )
    assert sorted(kept) == sorted(
        (email, f"Question n° {n} : comment associer les habitants au budget participatif ?")
        for n, email in enumerate(people)
    )
    # Each browser finds its own question on the instance it did not send it to, and only it.
    for n, browser in enumerate(browsers):
        area = browser.get(site.at(n) + ask, htmx("poser-1")).text
        shown = re.findall(r"Question n° (\d+) :", area)
        assert shown == [str(n)]


# ---------------------------------------------------------------- votes
def test_double_votes_sent_at_once_on_both_instances_count_once(
    site: Site, facilitator: Browser
) -> None:
    slug = site.episode_slugs()[0]
    author = Browser()
    assert register(site, author, 0, "sacha.bernard@example.org").status == 200
    ask = f"/episodes/{slug}/questions/poser"
    area = author.get(site.at(1) + ask, htmx("poser-1")).text
    text = "Quels outils pour restituer une concertation aux habitants ?"
    fields = {"csrf_token": csrf_from(area), "text": text}
    assert author.post(site.at(0) + ask, fields, htmx("zone-question-1")).status == 200
    question_id = site.value("SELECT id FROM question WHERE text = %s", text)

    # The facilitator publishes it on the first instance.
    review = facilitator.get(site.at(0) + f"/animation/episodes/{slug}/questions").text
    action = {"csrf_token": csrf_from(review), "action": "publier"}
    published = facilitator.post(
        site.at(0) + f"/animation/episodes/{slug}/questions/{question_id}", action
    )
    assert published.status in (200, 303)

    # Six registrants open their personal link twice (a phone, a laptop), one on each
    # instance; the sessions live in the database, so both browsers are recognised anywhere.
    voters = [f"noa{n}.petit@example.org" for n in range(6)]
    for n, email in enumerate(voters):
        assert register(site, Browser(), n, email).status == 200
    devices: list[tuple[Browser, str]] = []
    for email in voters:
        link = personal_link(site, email)
        for n in range(2):
            device = Browser()
            assert device.get(site.at(n) + link).status == 303
            page = device.get(site.at(n + 1) + f"/episodes/{slug}").text
            assert f'id="vote-{question_id}"' in page
            devices.append((device, csrf_from(page)))

    # Visitors without a session read the episode page on every worker: each keeps it.
    at_once(lambda n: Browser().get(site.at(n) + f"/episodes/{slug}"), range(8))

    def vote(n: int) -> Answer:
        # Both devices of a person press "Soutenir" at the same moment, on both instances.
        device, token = devices[n]
        fields = {"csrf_token": token, "action": "soutenir", "tri": "votes"}
        return device.post(
            site.at(n) + f"/questions/{question_id}/vote", fields, htmx(f"vote-{question_id}")
        )

    answers = at_once(vote, range(len(devices)))

    assert [answer.status for answer in answers] == [200] * 12
    for answer in answers:
        assert "dont le vôtre" in answer.text
    assert site.value("SELECT count(*) FROM vote WHERE question_id = %s", question_id) == 6
    assert site.value("SELECT vote_count FROM question WHERE id = %s", question_id) == 6
    # The kept pages follow: every worker of both shows the six votes to visitors without a
    # session within FLASK_PROGRAMME_SNAPSHOT_SECONDS (2 s) of the votes.
    counted = re.compile(rf'id="vote-{question_id}-compte">6 votes<'.encode())
    deadline, stale = time.monotonic() + 10, True
    while stale and time.monotonic() < deadline:
        pages = at_once(lambda n: served(site.at(n) + f"/episodes/{slug}"), range(8))
        stale = any(not counted.search(body) for _, body in pages)
        time.sleep(0.2)
    assert not stale, "a worker still shows the votes as they were"


# ---------------------------------------------------------------- the programme
def test_a_change_made_on_one_instance_shows_on_every_worker_of_both(
    site: Site, facilitator: Browser
) -> None:
    slug = site.episode_slugs()[2]
    edit = f"/animation/episodes/{slug}/modifier"
    page = facilitator.get(site.at(0) + edit).text
    fields = form_fields(page, edit)
    fields["title"] = "Tirer au sort un panel citoyen : ce que nous avons appris"
    assert facilitator.post(site.at(0) + edit, fields).status == 303

    # Each worker keeps the rendered page, and re-reads the programme's version at most
    # every FLASK_PROGRAMME_SNAPSHOT_SECONDS (2 s): within that, every page shows the change.
    # While it spreads, the same bytes never carry two ETags (a browser's copy revalidates
    # wherever it lands).
    deadline, stale = time.monotonic() + 10, True
    etags: dict[bytes, set[str]] = {}
    while stale and time.monotonic() < deadline:
        pages = at_once(lambda n: served(site.at(n) + "/"), range(8))
        for etag, body in pages:
            etags.setdefault(body, set()).add(etag)
        stale = any(b"Tirer au sort un panel citoyen" not in body for _, body in pages)
        time.sleep(0.2)
    assert not stale, "a worker still serves the programme as it was"
    assert all(len(tags) == 1 for tags in etags.values()), etags.values()
    for instance in site.instances:
        episode = Browser().get(instance + f"/episodes/{slug}").text
        assert "Tirer au sort un panel citoyen" in episode


def test_the_programme_page_revalidates_on_either_instance(site: Site) -> None:
    # Behind round robin, a browser's conditional request may reach the other instance:
    # both give the same page under the same ETag, so it still costs a 304.
    pages = [Browser().get(instance + "/") for instance in site.instances]
    assert pages[0].status == pages[1].status == 200
    assert pages[0].text == pages[1].text
    etag = etag_of(site.at(0) + "/")
    assert etag and etag == etag_of(site.at(1) + "/")
    assert Browser().get(site.at(1) + "/", {"If-None-Match": etag}).status == 304


# ---------------------------------------------------------------- rate limits
def test_a_rate_limit_holds_across_both_instances(site: Site) -> None:
    browsers = [Browser() for _ in range(12)]
    forms = [b.get(site.at(n) + "/moi/lien").text for n, b in enumerate(browsers)]

    def ask_for_link(n: int) -> Answer:
        fields = {
            "csrf_token": csrf_from(forms[n]),
            "started": started_from(forms[n]),
            "website": "",
            "email": "personne.inconnue@example.org",
        }
        return browsers[n].post(site.at(n + 1) + "/moi/lien", fields)

    answers = at_once(ask_for_link, range(12))

    statuses = Counter(answer.status for answer in answers)
    assert statuses == {200: LINK_LIMIT, 429: 12 - LINK_LIMIT}, statuses
    refused = next(answer for answer in answers if answer.status == 429)
    assert "Trop de tentatives en peu de temps" in refused.text


# ---------------------------------------------------------------- the outbox
def test_each_confirmation_leaves_once_while_every_sender_runs(site: Site) -> None:
    people = [f"lou{n}.garnier@example.org" for n in range(24)]
    browsers = [Browser() for _ in people]
    forms = [
        b.get(site.at(n) + "/inscription", htmx("inscription-zone")).text
        for n, b in enumerate(browsers)
    ]

    def send(n: int) -> Answer:
        fields = registration_fields(forms[n], people[n], "Lou")
        return browsers[n].post(site.at(n + 1) + "/inscription", fields, htmx("inscription-form"))

    # While both instances' senders deliver what each commit hands them, two crons run
    # `outbox send` on the same outbox.
    answers = at_once(send, range(24))
    crons = [cron(site), cron(site)]
    outputs = [process.communicate(timeout=120) for process in crons]

    assert [answer.status for answer in answers] == [200] * 24
    assert [process.returncode for process in crons] == [0, 0], outputs
    site.wait_until_sent(set(people))
    confirmations = site.mails_to(set(people), "Votre inscription")
    assert Counter(str(message["To"]) for message in confirmations) == dict.fromkeys(people, 1)
    assert len(message_ids(confirmations)) == 24
    statuses = site.rows(
        "SELECT lower(status::text), count(*) FROM outbox_message WHERE recipient = ANY(%s)"
        " GROUP BY 1",
        people,
    )
    assert statuses == [("sent", 24)]


# ---------------------------------------------------------------- reminders
SEED_FOLLOWERS = """
import sqlalchemy as sa
from datetime import UTC, datetime
from app.extensions import db
from app.models import Attendee, Episode, Registration
episode = db.session.scalars(sa.select(Episode).filter_by(number=7)).one()
now = datetime.now(UTC)
db.session.execute(sa.insert(Attendee), [dict(series_id=episode.series_id, email=f"rappel{n:03d}@example.org", first_name="Eden", last_name=f"R{n}", organisation="Ville", organisation_kind="collectivite", job_title="", privacy_acknowledged_at=now, created_at=now, updated_at=now) for n in range(COUNT)])
ids = db.session.scalars(sa.select(Attendee.id).where(Attendee.email.like("rappel%"))).all()
db.session.execute(sa.insert(Registration), [dict(attendee_id=i, episode_id=episode.id, created_at=now) for i in ids])
db.session.commit()
"""


def test_due_reminders_leave_once_while_both_instances_and_two_crons_sweep(
    site: Site,
) -> None:
    in_site(site.env, SEED_FOLLOWERS.replace("COUNT", "600"))
    followers = {
        email
        for (email,) in site.rows(
            "SELECT a.email FROM registration r JOIN attendee a ON a.id = r.attendee_id"
            " JOIN episode e ON e.id = r.episode_id WHERE e.number = 7 AND a.mail_reminders"
        )
    }
    assert len(followers) >= 600  # these, and whoever registered in the tests above
    # Every worker's background sender runs (requests at once reach them all) and sweeps
    # every second.
    at_once(lambda n: Browser().get(site.at(n) + "/healthz"), range(8))

    # Episode 7 moves to 30 minutes from now: its hour-before reminder falls due for every
    # follower at once, and two crons start sweeping too.
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    site.execute(
        "UPDATE episode SET starts_at = %s, updated_at = %s WHERE number = 7",
        now + timedelta(minutes=30),
        now,
    )
    crons = [cron(site), cron(site)]
    outputs = [process.communicate(timeout=180) for process in crons]
    assert [process.returncode for process in crons] == [0, 0], outputs
    print("\n".join(out for out, _ in outputs))

    site.wait_until_sent(followers, seconds=120)
    reminders = site.mails_to(followers, "Rappel")
    assert Counter(str(message["To"]).lower() for message in reminders) == dict.fromkeys(
        followers, 1
    )
    assert all("épisode 7" in str(message["Subject"]) for message in reminders)
    assert len(message_ids(reminders)) == len(followers)
    assert site.value(
        "SELECT count(*) FROM reminder_sent s JOIN registration r ON r.id = s.registration_id"
        " JOIN episode e ON e.id = r.episode_id WHERE e.number = 7"
    ) == len(followers)
