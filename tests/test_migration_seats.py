"""Issue 13's migration on a database in use: everyone registered keeps a seat, episodes
stay unlimited, and going back keeps every registration (batch mode on SQLite)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app.extensions import db
from app.programme.services import load_programme
from tests.support.database import make_test_app

BEFORE = "f2ac5dc4f5ef"


def test_upgrading_seats_everyone_already_registered(tmp_path: Path) -> None:
    app = make_test_app(f"sqlite:///{tmp_path / 'in-use.sqlite3'}", smtp_port=0)
    with app.app_context():
        upgrade()
        load_programme()
        db.session.remove()
        downgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO attendee (series_id, email, first_name, last_name,"
                    " organisation, organisation_kind, job_title, privacy_acknowledged_at,"
                    " created_at, updated_at) VALUES (1, 'p@example.org', 'A', 'B', 'O',"
                    " 'autre', '', '2026-11-01', '2026-11-01', '2026-11-01')"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO registration (attendee_id, episode_id, created_at)"
                    " VALUES (1, 1, '2026-11-01'), (1, 2, '2026-11-01')"
                )
            )
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT episode_id, waiting_since FROM registration ORDER BY episode_id")
            ).all()
            assert [tuple(r) for r in rows] == [(1, None), (2, None)]
            capacities = conn.execute(sa.text("SELECT DISTINCT capacity FROM episode")).all()
            assert [tuple(r) for r in capacities] == [(None,)]
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        downgrade(revision=BEFORE)
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM registration")).scalar() == 2
        db.engine.dispose()
