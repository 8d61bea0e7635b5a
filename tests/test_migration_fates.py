"""Issue 10's migration on a database in use: SQLite rebuilds the question table (batch
mode), which must not take the votes with it; declined questions leave the public page."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app.extensions import db
from app.programme.services import load_programme
from tests.support.database import make_test_app

BEFORE = "859830519525"


def test_upgrading_keeps_every_vote_and_unpublishes_declined_questions(tmp_path: Path) -> None:
    app = make_test_app(f"sqlite:///{tmp_path / 'in-use.sqlite3'}", smtp_port=0)
    with app.app_context():
        upgrade(revision=BEFORE)
        load_programme()
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
