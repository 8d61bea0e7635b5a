"""Issue 10's migration on a database in use: SQLite rebuilds the question table (batch
mode), which must not take the votes with it; declined questions leave the public page."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app.extensions import db
from app.programme.services import load_programme
from tests.support.database import make_test_app

BEFORE = "0f1eab22f35d"


def test_upgrading_keeps_every_vote_and_unpublishes_declined_questions(tmp_path: Path) -> None:
    app = make_test_app(f"sqlite:///{tmp_path / 'in-use.sqlite3'}", smtp_port=0)
    with app.app_context():
        # The programme is loaded by today's models, then the schema taken back to BEFORE
        # (the models know columns of later revisions).
        upgrade()
        load_programme()
        db.session.remove()
        downgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            for n in (1, 2):
                conn.execute(
                    sa.text(
                        "INSERT INTO attendee (series_id, email, first_name, last_name,"
                        " organisation, organisation_kind, job_title, privacy_acknowledged_at,"
                        " created_at, updated_at) VALUES (1, :email, 'A', 'B', 'O', 'autre', '',"
                        " '2026-11-01', '2026-11-01', '2026-11-01')"
                    ),
                    {"email": f"p{n}@example.org"},
                )
            for status in ("ecartee", "retenue"):
                conn.execute(
                    sa.text(
                        "INSERT INTO question (episode_id, attendee_id, text, status, published,"
                        " show_name, note, vote_count, created_at, updated_at) VALUES"
                        " (1, 1, 'Une question', :status, 1, 0, '', 1, '2026-11-01',"
                        " '2026-11-01')"
                    ),
                    {"status": status},
                )
            conn.execute(
                sa.text(
                    "INSERT INTO vote (question_id, attendee_id, created_at)"
                    " VALUES (1, 2, '2026-11-01'), (2, 2, '2026-11-01')"
                )
            )
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM vote")).scalar() == 2
            rows = conn.execute(
                sa.text("SELECT status, published, decline_reason FROM question ORDER BY id")
            ).all()
            assert [tuple(r) for r in rows] == [("ecartee", 0, "autre"), ("retenue", 1, None)]
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        downgrade(revision=BEFORE)
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM vote")).scalar() == 2
        db.engine.dispose()


def test_a_backup_restores_merges_and_carry_overs_whatever_the_id_order(
    tmp_path: Path,
) -> None:
    """The kept question often comes after the merged one: the deferred keys let a restore
    insert rows in id order (on SQLite here; PostgreSQL has the same deferred keys)."""
    from app.backup import dump, load
    from app.models import Attendee, Episode, Question, QuestionTheme, Series, Theme, Vote

    source = make_test_app(f"sqlite:///{tmp_path / 'source.sqlite3'}", smtp_port=0)
    with source.app_context():
        upgrade()
        load_programme()
        series = db.session.scalars(sa.select(Series)).one()
        first, third = (
            db.session.scalars(sa.select(Episode).filter_by(number=n)).one() for n in (1, 3)
        )
        people = [
            Attendee(
                series_id=series.id,
                email=f"p{n}@example.org",
                first_name="A",
                last_name="B",
                organisation="O",
                organisation_kind="autre",
                privacy_acknowledged_at=first.starts_at,
            )
            for n in range(2)
        ]
        db.session.add_all(people)
        db.session.flush()
        merged = Question(episode_id=first.id, attendee_id=people[0].id, text="Fusionnée")
        carried = Question(episode_id=first.id, attendee_id=people[0].id, text="Reportée")
        db.session.add_all([merged, carried])
        db.session.flush()
        kept = Question(episode_id=first.id, attendee_id=people[1].id, text="Gardée")
        copy = Question(episode_id=third.id, attendee_id=people[0].id, text="Reportée")
        db.session.add_all([kept, copy])
        db.session.flush()
        merged.status, merged.merged_into_id = "fusionnee", kept.id
        carried.status, carried.carried_to_id = "reportee", copy.id
        theme = Theme(series_id=series.id, name="Jeunesse", key="jeunesse")
        db.session.add(theme)
        db.session.flush()
        db.session.add(QuestionTheme(question_id=copy.id, theme_id=theme.id))
        db.session.add(Vote(question_id=kept.id, attendee_id=people[0].id, moved_from_id=merged.id))
        db.session.commit()
        dump(tmp_path / "backup.jsonl.gz")
        db.engine.dispose()
    target = make_test_app(f"sqlite:///{tmp_path / 'target.sqlite3'}", smtp_port=0)
    with target.app_context():
        upgrade()
        counts = load(tmp_path / "backup.jsonl.gz")
        assert counts["question"] == 4 and counts["vote"] == 1 and counts["question_theme"] == 1
        rows = db.session.execute(
            sa.select(Question.text, Question.merged_into_id, Question.carried_to_id).order_by(
                Question.id
            )
        ).all()
        assert [tuple(r) for r in rows] == [
            ("Fusionnée", 3, None),
            ("Reportée", None, 4),
            ("Gardée", None, None),
            ("Reportée", None, None),
        ]
        db.engine.dispose()
