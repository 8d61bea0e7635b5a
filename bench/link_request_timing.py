"""How long "Recevoir mon lien" takes for a registered address and for an unknown one.

    python bench/link_request_timing.py [--samples 500]          # SQLite (a temporary file)
    BENCH_DATABASE_URL=postgresql+psycopg://… python bench/link_request_timing.py

Alternating samples through the whole Flask stack (routing, CSRF, form, session, database
write), medians and the gap between them. The request only notes the address; the lookup
and the mail wait for the sender, so both answers cost the same.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import Attendee, Series
from app.programme.services import load_programme


def build_app(url: str):  # type: ignore[no-untyped-def]
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False,
            "OUTBOX_SEND_AFTER_REQUEST": False,
            "HONEYPOT_MIN_SECONDS_LINK": 0,
            "MAIL_SERVER": "",
        }
    )
    with app.app_context():
        from flask_migrate import upgrade

        if url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        load_programme()
        series = db.session.scalars(sa.select(Series)).one()
        db.session.add(
            Attendee(
                series_id=series.id,
                email="inscrite@example.org",
                first_name="A",
                last_name="B",
                organisation="O",
                organisation_kind="autre",
                privacy_acknowledged_at=series.updated_at,
            )
        )
        db.session.commit()
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL") or (
        f"sqlite:///{tempfile.mkdtemp(prefix='bench-')}/bench.sqlite3"
    )
    app = build_app(url)
    client = app.test_client()
    form = client.get("/moi/lien").get_data(as_text=True)
    fields = {
        "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1),
        "started": re.search(r'name="started"[^>]*value="([^"]+)"', form).group(1),
    }

    def ask(address: str) -> float:
        started = time.perf_counter()
        response = client.post("/moi/lien", data={**fields, "email": address})
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        return elapsed * 1000

    for _ in range(50):
        ask("inscrite@example.org")
        ask("inconnue@example.org")
    known, unknown = [], []
    for _ in range(args.samples):
        known.append(ask("inscrite@example.org"))
        unknown.append(ask("inconnue@example.org"))
    engine = url.split(":", 1)[0]
    print(f"{engine}: {args.samples} alternating samples each")
    print(f"  registered address: median {statistics.median(known):.2f} ms")
    print(f"  unknown address:    median {statistics.median(unknown):.2f} ms")
    print(f"  gap: {abs(statistics.median(known) - statistics.median(unknown)):.3f} ms")


if __name__ == "__main__":
    main()
