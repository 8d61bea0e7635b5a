"""How transactions end (app/database.py): one that wrote is rolled back for real on any
engine, and on PostgreSQL one that only read ends without making psycopg forget the
statements it prepared (each request was planning every statement anew)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import Series

PROBE = "SELECT count(*) FROM series WHERE slug = :slug"


def _title(app: Flask) -> str:
    with app.app_context():
        return db.session.scalars(sa.select(Series.title)).one()


def test_a_transaction_that_wrote_is_rolled_back_for_real(programme: Flask) -> None:
    """Whatever way it wrote (the ORM, a statement, the driver's own text), a rollback
    keeps none of it, even after reads in the same transaction."""
    before = _title(programme)
    writes = [
        lambda: db.session.execute(sa.update(Series).values(title="Écrit puis annulé")),
        lambda: db.session.connection().exec_driver_sql("UPDATE series SET title = 'annulé'"),
        lambda: setattr(db.session.scalars(sa.select(Series)).one(), "title", "annulé"),
    ]
    for write in writes:
        with programme.app_context():
            db.session.scalar(sa.text(PROBE), {"slug": "x"})
            write()
            db.session.flush()
            db.session.scalar(sa.text(PROBE), {"slug": "x"})
            db.session.rollback()
        assert _title(programme) == before


def test_a_write_hidden_in_a_with_is_rolled_back(programme: Flask) -> None:
    with programme.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has no UPDATE inside a WITH")
        before = db.session.scalars(sa.select(Series.title)).one()
        db.session.execute(
            sa.text("WITH changed AS (UPDATE series SET title = 'x' RETURNING id) SELECT 1")
        )
        db.session.rollback()
        assert db.session.scalars(sa.select(Series.title)).one() == before


def test_a_read_that_failed_ends_cleanly(programme: Flask) -> None:
    """A statement that fails leaves its transaction aborted: it is rolled back, and the
    next request's reads work."""
    with programme.app_context():
        with pytest.raises(sa.exc.DBAPIError):
            db.session.execute(sa.text("SELECT no_such_column FROM series"))
        db.session.rollback()
        assert db.session.scalar(sa.text(PROBE), {"slug": "x"}) == 0
    assert _title(programme)


def test_reads_keep_their_prepared_statements_from_one_request_to_the_next(
    programme: Flask,
) -> None:
    """psycopg prepares a statement run five times on a connection, and forgets them all at
    a ROLLBACK: a request that only read used to end in one, so nothing ever stayed
    prepared. Now it ends in a COMMIT, and the statement stays prepared."""
    with programme.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("psycopg's prepared statements")
        db.engine.dispose()  # one connection, reused by each "request" below
        for _ in range(8):
            assert db.session.scalar(sa.text(PROBE), {"slug": "x"}) == 0
            db.session.remove()  # the end of a request: the session closes
        prepared = db.session.scalar(
            sa.text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :probe"),
            {"probe": "SELECT count(*) FROM series WHERE slug = %"},
        )
        assert prepared == 1


def test_a_site_on_sqlite_never_loads_the_postgresql_driver(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """psycopg costs each worker 5 MB of its 100 MB budget: only a site on PostgreSQL loads
    it (the prepared statements' set-up imports it there, and only there)."""
    import subprocess
    import sys

    program = (
        "import sys\n"
        "from app import create_app\n"
        f"app = create_app({{'SECRET_KEY': 'x' * 40, 'SQLALCHEMY_DATABASE_URI':"
        f" 'sqlite:///{tmp_path}/site.sqlite3'}})\n"
        "with app.app_context():\n"
        "    from app.extensions import db\n"
        "    db.engine.connect().close()\n"
        "print(sorted(m for m in sys.modules if m.startswith('psycopg')))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout.strip()
    assert loaded == "[]"


# ---------------------------------------------------------------- reads outside transactions
def _postgresql_only() -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's reads run outside transactions (psycopg's autocommit)")


def _state_of(backend: int) -> str:
    """What the server says this connection is doing, seen from another connection."""
    with db.engine.connect() as other:
        state = other.scalar(
            sa.text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": backend}
        )
        other.rollback()
        return state


def test_a_read_leaves_no_transaction_open_on_the_server(programme: Flask) -> None:
    """A request that only reads sends no BEGIN and no COMMIT (two round trips of its five
    to seven), and leaves no connection "idle in transaction" while it renders; after a
    write is committed, reads run alone again."""
    with programme.app_context():
        _postgresql_only()
        backend = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
        assert db.session.scalar(sa.text(PROBE), {"slug": "x"}) == 0
        assert _state_of(backend) == "idle"
        db.session.execute(sa.update(Series).values(title=Series.title))
        assert _state_of(backend) == "idle in transaction"  # a write: a real transaction
        db.session.commit()
        backend = db.session.scalar(sa.text("SELECT pg_backend_pid()"))  # maybe another one
        assert db.session.scalar(sa.text(PROBE), {"slug": "x"}) == 0
        assert _state_of(backend) == "idle"


def test_a_write_block_is_one_transaction_from_its_first_read(programme: Flask) -> None:
    """write() reads what it relies on, then writes: one transaction from its start, so an
    error after a write keeps nothing of the block."""
    from app.database import write

    before = _title(programme)
    with programme.app_context():
        _postgresql_only()
        with pytest.raises(RuntimeError), write():
            backend = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
            assert _state_of(backend) == "idle in transaction"  # from the block's first read
            db.session.execute(sa.update(Series).values(title="Premier"))
            db.session.execute(sa.update(Series).values(title="Second"))
            raise RuntimeError("une erreur après les écritures")
    assert _title(programme) == before


def test_rows_locked_by_a_read_stay_locked_until_the_transaction_ends(
    programme: Flask,
) -> None:
    """SELECT … FOR UPDATE is a read that locks: it starts a transaction, which holds the
    lock (run alone, the lock would be released as soon as it was taken)."""
    with programme.app_context():
        _postgresql_only()
        db.session.execute(sa.select(Series.id).with_for_update()).all()
        with db.engine.connect() as other, pytest.raises(sa.exc.OperationalError):
            other.execute(sa.select(Series.id).with_for_update(nowait=True)).all()
        db.session.rollback()
        with db.engine.connect() as other:
            assert other.execute(sa.select(Series.id).with_for_update(nowait=True)).all()
            other.rollback()


def test_a_connection_asked_for_autocommit_keeps_it(programme: Flask) -> None:
    """VACUUM cannot run in a transaction: a connection that asks for AUTOCOMMIT gets it
    (the review bench vacuums its database)."""
    with programme.app_context():
        _postgresql_only()
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM series")
