"""Server time of the facilitator's review page with 10,000 questions on one episode.

Seeds a throwaway database (SQLite file by default, or BENCH_DATABASE_URL for PostgreSQL),
logs in through the real form, then times the page through the Flask test client (whole
request: routing, guard, queries, template) and counts its SQL statements. The variants are
requested in turn (one of each, again and again), with the new-questions poll as the
machine's floor. The questions
have every fate (issue 10: merged ones, carried-over ones with their copy in episode 3,
declined ones with a reason, written answers) and themes (12 for the cycle, most questions
tagged with one or two).

    python bench/review_page.py [--questions 10000] [--requests 200]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app
from app.extensions import db
from app.facilitator.accounts import create_facilitator
from app.models import Attendee, Episode, Question, QuestionTheme, Registration, Theme
from app.programme.services import load_programme

PASSWORD = "un mot de passe de banc d’essai"  # noqa: S105 (a throwaway bench database)
WORDS = [
    "concertation",
    "budget",
    "participatif",
    "habitants",
    "mobiliser",
    "numérique",
    "exclusion",
    "modération",
    "confiance",
    "élus",
    "plateforme",
    "quartier",
    "jeunes",
    "associations",
    "évaluation",
    "transparence",
]


def make_app(url: str):  # type: ignore[no-untyped-def]
    """The app on the bench database, rate limits and mail off."""
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False,
            "OUTBOX_SEND_AFTER_REQUEST": False,
            "WTF_CSRF_SSL_STRICT": False,
        }
    )


def seed(app, questions: int) -> str:  # type: ignore[no-untyped-def]
    """Schema, programme, one facilitator, attendees and questions on episode 1."""
    from flask_migrate import upgrade

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        load_programme()
        create_facilitator("bench@example.org", PASSWORD)
        episode = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
        now = datetime.now(UTC)
        people = max(questions // 5, 1)
        db.session.execute(
            sa.insert(Attendee),
            [
                {
                    "series_id": episode.series_id,
                    "email": f"personne{n}@example.org",
                    "first_name": "Camille",
                    "last_name": f"Martin{n}",
                    "organisation": "Ville de Rennes",
                    "organisation_kind": "collectivite",
                    "job_title": "",
                    "privacy_acknowledged_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(people)
            ],
        )
        ids = list(db.session.scalars(sa.select(Attendee.id).order_by(Attendee.id)))
        db.session.execute(
            sa.insert(Registration),
            [{"attendee_id": i, "episode_id": episode.id, "created_at": now} for i in ids],
        )
        statuses = ["nouvelle"] * 6 + ["retenue", "repondue", "ecartee", "ecartee"]
        statuses += ["nouvelle"] * 4 + ["ecrit", "fusionnee", "fusionnee", "retenue"]
        statuses += ["nouvelle"] * 2  # 20 in all: one in 10 merged, one in 20 written…
        db.session.execute(
            sa.insert(Question),
            [
                {
                    "episode_id": episode.id,
                    "attendee_id": ids[n % len(ids)],
                    "text": f"Question {n} : "
                    + " ".join(WORDS[(n * k) % len(WORDS)] for k in range(1, 30))[:480],
                    "status": statuses[n % len(statuses)],
                    "published": n % 3 == 0 and statuses[n % len(statuses)] != "ecartee",
                    "show_name": n % 2 == 0,
                    "note": "",
                    "vote_count": (n * 7919) % 97,
                    "created_at": now - timedelta(seconds=n),
                    "updated_at": now,
                    "decline_reason": REASONS[n % len(REASONS)]
                    if statuses[n % len(statuses)] == "ecartee"
                    else None,
                    "written_answer": "Une réponse écrite." if n % 20 == 14 else "",
                }
                for n in range(questions)
            ],
        )
        _fates_and_themes(episode, questions, now)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # A database in use has its statistics and its visibility map (autovacuum): a
            # fresh one would be planned as if its tables were empty, and its index-only
            # scans would read the table until autovacuum passes, a minute later.
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "VACUUM ANALYZE"
                )
        return episode.slug


REASONS = ["hors_sujet", "doublon", "deja_traitee", "charte", "autre"]


def _fates_and_themes(episode, questions: int, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """Merged ones point to a retained one, one in 50 is carried over to episode 3, and
    the cycle's 12 themes tag most questions."""
    kept = db.session.scalar(
        sa.select(sa.func.min(Question.id)).filter_by(episode_id=episode.id, status="retenue")
    )
    db.session.execute(
        sa.update(Question)
        .where(Question.episode_id == episode.id, Question.status == "fusionnee")
        .values(merged_into_id=kept)
    )
    later = db.session.scalars(sa.select(Episode).filter_by(number=3)).one()
    carried = list(
        db.session.scalars(
            sa.select(Question).where(
                Question.episode_id == episode.id,
                Question.status == "nouvelle",
                Question.id % 50 == 0,
            )
        )
    )
    for question in carried:
        copy = Question(
            episode_id=later.id,
            attendee_id=question.attendee_id,
            text=question.text,
            status="nouvelle",
            published=question.published,
            show_name=question.show_name,
            created_at=question.created_at,
            updated_at=now,
        )
        db.session.add(copy)
        db.session.flush()
        question.status, question.carried_to_id = "reportee", copy.id
    db.session.execute(
        sa.insert(Theme),
        [
            {
                "series_id": episode.series_id,
                "name": f"Thème {k}",
                "key": f"thème {k}",
                "created_at": now,
            }
            for k in range(12)
        ],
    )
    themes = list(db.session.scalars(sa.select(Theme.id).order_by(Theme.id)))
    question_ids = list(
        db.session.scalars(
            sa.select(Question.id).filter_by(episode_id=episode.id).order_by(Question.id)
        )
    )
    tags = set()
    for n, question_id in enumerate(question_ids):
        if n % 3:
            tags.add((question_id, themes[n % 12]))
        if n % 5 == 0:
            tags.add((question_id, themes[(n * 7) % 12]))
    db.session.execute(
        sa.insert(QuestionTheme), [{"question_id": q, "theme_id": t} for q, t in sorted(tags)]
    )


def log_in(client) -> None:  # type: ignore[no-untyped-def]
    """Through the real login form."""
    page = client.get("/animation/connexion").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/animation/connexion",
        data={"email": "bench@example.org", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303, response.status_code


def statements_and_size(app, client, url: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Warm the page up (templates compiled, caches filled), then count the statements of
    one request and the page's size."""
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    for _ in range(10):
        client.get(url)
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    response = client.get(url)
    sa.event.remove(engine, "before_cursor_execute", count)
    assert response.status_code < 300, (url, response.status_code)
    queries = len([s for s in statements if not s.lstrip().upper().startswith(("BEGIN", "PRAGMA"))])
    return queries, len(response.get_data())


def timed_in_turn(client, urls: list[str], requests: int) -> list[list[float]]:  # type: ignore[no-untyped-def]
    """Times in ms of `requests` requests of each address, taken in turn (one of each, again
    and again): the machine's ups and downs fall on every variant alike."""
    times: list[list[float]] = [[] for _ in urls]
    for _ in range(requests):
        for n, url in enumerate(urls):
            start = time.perf_counter()
            client.get(url)
            times[n].append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    """Seed, then report p50/p90 and queries per variant of the page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL")
    folder = tempfile.TemporaryDirectory()
    if not url:
        url = "sqlite:///" + str(Path(folder.name) / "bench.sqlite3")
    app = make_app(url)
    started = time.perf_counter()
    slug = seed(app, args.questions)
    print(
        f"{app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}: {args.questions} questions "
        f"seeded in {time.perf_counter() - started:.1f} s; {args.requests} requests per line"
    )
    client = app.test_client()
    log_in(client)
    base = f"/animation/episodes/{slug}/questions"
    variants = [
        ("by votes, page 1 (default)", base),
        ("status nouvelle, page 1", base + "?statut=nouvelle"),
        ("newest first, page 1", base + "?tri=recentes"),
        ("by votes, page 100 (offset 4950)", base + "?page=100"),
        ("text search 'mobiliser'", base + "?q=mobiliser"),
        ("status fusionnée (merged)", base + "?statut=fusionnee"),
        ("theme 'Thème 1' (≈ 1 question in 11)", base + "?theme=2"),
        ("theme 'Thème 1' + search", base + "?theme=2&q=mobiliser"),
        # The machine's floor: the same stack and guard, one count, no page (how fast the
        # machine is at the moment: its speed varies by a third from one hour to the next).
        ("floor: the new-questions poll", base + "/nouvelles?apres=0"),
    ]
    shapes = [statements_and_size(app, client, url) for _, url in variants]
    times = timed_in_turn(client, [url for _, url in variants], args.requests)
    print(f"{'variant':<38} {'p50 ms':>7} {'p90 ms':>7} {'queries':>8} {'KB':>5}")
    for (label, _), (queries, size), taken in zip(variants, shapes, times, strict=True):
        p50 = statistics.median(taken)
        p90 = statistics.quantiles(taken, n=10)[-1]
        print(f"{label:<38} {p50:7.1f} {p90:7.1f} {queries:8d} {size / 1024:5.0f}")
    with app.app_context():
        db.engine.dispose()
    folder.cleanup()


if __name__ == "__main__":
    main()
