"""Engine set-up per database, and the one way to write: `with write(): ...`."""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .extensions import db


def configure_engine(engine: sa.Engine, busy_timeout_ms: int = 5000) -> None:
    """Make SQLite safe for concurrent writers: FKs on, WAL, busy timeout, explicit BEGIN.

    A writer waits `busy_timeout_ms` for the lock, then the request answers 503 (guards).
    """
    if engine.dialect.name == "postgresql":
        _keep_prepared_statements(engine)
        _reads_outside_transactions(engine)
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, emit BEGIN, so we can choose IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Writers take the write lock up front: a deferred transaction that later
        # upgrades fails at once with "database is locked" instead of waiting.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    if engine.url.database and engine.url.database != ":memory:":
        _QUEUES[engine] = WriterQueue(engine.url.database + "-writers", busy_timeout_ms)


#: connection info key: what the transaction has done so far (None: unknown, treated as written)
_WROTE = "wrote"


def _keep_prepared_statements(engine: sa.Engine) -> None:
    """End a transaction that wrote nothing with COMMIT rather than ROLLBACK (the same to
    the database). psycopg prepares a statement run often, and forgets every prepared
    statement at a ROLLBACK; every request that only reads ends in one (the session
    closing), so each of its statements was planned anew: 2.5 ms of the review page's
    text search, a third of its time on the server."""
    # Imported here: a site on SQLite never loads psycopg (5 MB of each worker's memory).
    from psycopg.pq import TransactionStatus

    dialect = engine.dialect
    roll_back = dialect.do_rollback

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.connection.info[_WROTE] = False

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _on_statement(conn: sa.Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if _may_write(statement):
            conn.connection.info[_WROTE] = True

    def do_rollback(connection: Any) -> None:
        try:
            wrote = connection.info.pop(_WROTE, None)
        except NotImplementedError:  # the engine's first connection, before the pool has it
            wrote = None
        status = connection.dbapi_connection.info.transaction_status
        if wrote is False and status == TransactionStatus.INTRANS:  # not failed either
            connection.dbapi_connection.commit()
        else:
            roll_back(connection)

    dialect.do_rollback = do_rollback  # type: ignore[method-assign]

    @sa.event.listens_for(engine, "commit")
    def _on_commit(conn: sa.Connection) -> None:
        conn.connection.info.pop(_WROTE, None)


#: a SELECT that takes row locks: they last only as long as the transaction holding them
_LOCKING = re.compile(r"\bFOR\s+(?:UPDATE|SHARE|NO\s+KEY\s+UPDATE|KEY\s+SHARE)\b", re.IGNORECASE)


@lru_cache(maxsize=2048)
def _may_write(statement: str) -> bool:
    """Anything but a plain SELECT may write (a WITH may hold an UPDATE). A SELECT that
    writes (a function that changes rows, pg_notify, set_config) would be taken for a read:
    the site sends none, and must not without marking it here. (The site's statements are a
    few hundred texts: each is looked at once.)"""
    return statement.lstrip()[:6].upper() != "SELECT"


@lru_cache(maxsize=2048)
def _needs_transaction(statement: str) -> bool:
    """A statement that may write, or a SELECT … FOR UPDATE, which locks rows that only a
    transaction keeps locked."""
    return _may_write(statement) or bool(_LOCKING.search(statement))


def _reads_outside_transactions(engine: sa.Engine) -> None:
    """On PostgreSQL, a statement that only reads runs on its own (psycopg's autocommit): a
    request that only reads sends no BEGIN and no COMMIT, two round trips of its five to
    seven, each a wait for the server (a third of a worker's time under load). What reads
    see is the same: under READ COMMITTED each statement already reads a snapshot of its
    own. A real transaction starts before the first statement that may write or lock rows,
    and at the start of every write() block (its reads and writes are one); once it is
    committed or rolled back, the connection reads on its own again."""
    from psycopg import ServerCursor
    from psycopg.pq import TransactionStatus

    idle = TransactionStatus.IDLE

    def transaction(dbapi_connection: Any) -> None:
        if dbapi_connection.autocommit:  # idle: never inside a transaction
            dbapi_connection.autocommit = False

    def read_alone(dbapi_connection: Any) -> None:
        """Back to autocommit, unless a transaction is open or the connection is broken."""
        if (
            dbapi_connection is not None
            and not dbapi_connection.autocommit
            and dbapi_connection.info.transaction_status == idle
        ):
            dbapi_connection.autocommit = True

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.autocommit = True

    @sa.event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        # A connection that was given an isolation level (the backup's REPEATABLE READ)
        # comes back with autocommit off: reads run alone again.
        read_alone(dbapi_connection)

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get("sqlite_begin") == "IMMEDIATE":  # write()
            transaction(conn.connection.dbapi_connection)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _on_statement(conn: sa.Connection, cursor: Any, statement: str, *_args: Any) -> None:
        # A read streamed through a server-side cursor (an export) needs a transaction too;
        # a connection asked for AUTOCOMMIT (VACUUM) keeps it.
        if (_needs_transaction(statement) or isinstance(cursor, ServerCursor)) and (
            conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT"
        ):
            transaction(conn.connection.dbapi_connection)

    def then_read_alone(end: Any) -> Any:
        def ended(connection: Any) -> None:
            end(connection)
            read_alone(connection.dbapi_connection)

        return ended

    dialect = engine.dialect
    dialect.do_commit = then_read_alone(dialect.do_commit)  # type: ignore[method-assign]
    dialect.do_rollback = then_read_alone(dialect.do_rollback)  # type: ignore[method-assign]


class WriterQueue:
    """SQLite's writers one after the other, each let in as soon as the last one is done.

    SQLite's own wait for its write lock sleeps 1, 2, 5, 10… ms between tries: with two
    workers registering people, a writer often slept while the lock was free (about a fifth
    of the throughput lost). Here each write transaction first holds an exclusive lock on a
    file beside the database, which a waiting writer takes as soon as it is released (tried
    every 50 µs to 0.5 ms). SQLite's lock stays the guard; this is only the queue in front of
    it. A writer that waits longer than the busy timeout gets the error SQLite would give
    (the request answers 503). Each process and thread opens the file for itself: a lock
    taken through a descriptor another thread or a forked parent shares excludes nobody.
    """

    def __init__(self, path: str, timeout_ms: int) -> None:
        self.path = path
        self.timeout = timeout_ms / 1000
        self.local = threading.local()

    def _descriptor(self) -> int | None:
        local = self.local
        file = getattr(local, "file", None)
        if file is None or file.pid != os.getpid():
            file = local.file = _LockFile(self.path)
        return file.fd

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the queue's lock for the block (a write transaction)."""
        fd = self._descriptor()
        if fd is None:
            yield
            return
        deadline, pause = time.monotonic() + self.timeout, 0.00005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise sa.exc.OperationalError(
                        "BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.0005)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


class _LockFile:
    """The queue's file, opened by one thread of one process; closed with the thread (the
    development server starts a thread per request)."""

    def __init__(self, path: str) -> None:
        self.pid = os.getpid()
        try:
            self.fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:  # read-only folder, another owner: SQLite's own wait only
            self.fd = None

    def __del__(self) -> None:
        if self.fd is not None and self.pid == os.getpid():
            os.close(self.fd)


#: the writer queue of each SQLite file database's engine
_QUEUES: weakref.WeakKeyDictionary[sa.Engine, WriterQueue] = weakref.WeakKeyDictionary()


def _end_read(keep_loaded: bool = False) -> None:
    """End the read transaction the session may have open (e.g. loading the current
    attendee), so that the write lock is taken before anything is read for the write.
    Ending it forgets what was read (read again, fresh, when next used), unless the caller
    keeps it: a read-only transaction then simply commits. Done before the writers' queue:
    the other writers need not wait for it."""
    session = db.session()  # the request's Session behind the scoped_session proxy
    if session.in_transaction():
        if keep_loaded and not (session.new or session.dirty or session.deleted):
            session.expire_on_commit = False
            session.commit()
        else:
            session.rollback()


#: session.info key: a write() block is open on this session
_WRITING = "writing"


@contextmanager
def write(keep_loaded: bool = False) -> Iterator[None]:
    """One write transaction: the write lock first, commit at the end, roll back on any error.

    Inside another write() block it joins that transaction (one commit for the whole), so a
    view can make several services one transaction. Whatever the block queued (mail in the
    outbox) is handed on by the session's after-commit hooks, never by a call the caller
    must remember. `keep_loaded`: objects read before the block stay as read, through the
    block and after its commit, instead of being read again one by one — for a block that
    changes none of them and reads under a lock (or inserts) whatever it relies on.
    """
    session = db.session()
    if session.info.get(_WRITING):
        yield
        return
    queue = _QUEUES.get(session.get_bind())
    _end_read(keep_loaded)
    with queue.turn() if queue is not None else nullcontext():
        # The writer's transaction: IMMEDIATE on SQLite, the write lock up front.
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        session.info[_WRITING] = True
        session.expire_on_commit = not keep_loaded
        try:
            yield
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.info.pop(_WRITING, None)
            session.expire_on_commit = True


def on_postgresql() -> bool:
    """The session's database is PostgreSQL (else SQLite)."""
    return db.session.get_bind().dialect.name == "postgresql"


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching `text` literally anywhere (%, _ and \\ escaped)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def upsert_statement(model: type) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (PostgreSQL and SQLite alike)."""
    dialect = db.session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(model)


def insert_ignoring_conflicts(
    model: type,
    rows: Iterable[dict[str, Any]],
    index_elements: list[str],
    returning: tuple[sa.ColumnElement[Any], ...] = (),
) -> list[sa.Row[Any]]:
    """INSERT … ON CONFLICT DO NOTHING, for create-or-keep paths under concurrency; with
    `returning`, the rows this very statement inserted (what a concurrent writer won is not
    among them). Every row has the same keys.

    The rows go as parameters of one statement, which SQLAlchemy sends as one INSERT of
    many VALUES per batch ("insertmanyvalues"): written into the statement instead, they
    made a new statement each time (0.9 ms of a registration's seven rows against 0.3)."""
    rows = list(rows)
    if not rows:
        return []
    # On the table, not the model: the ORM's bulk insert path does work no caller uses,
    # inside the write lock (a registration's row: 190 µs through it, 86 µs without).
    statement = upsert_statement(model.__table__).on_conflict_do_nothing(
        index_elements=index_elements
    )
    if returning:
        return list(db.session.execute(statement.returning(*returning), rows))
    db.session.execute(statement, rows)
    return []


def with_table(
    table: sa.Table,
    create: Mapping[str, Sequence[str]],
    drop: Mapping[str, Sequence[str]],
) -> None:
    """Objects no model describes (an index, triggers, a table they keep), per dialect: made
    by `create_all` after `table` and dropped by `drop_all` before it, as a migration made
    them (a test or a script that skips the migrations gets them too)."""

    def run(statements: Mapping[str, Sequence[str]], connection: sa.Connection) -> None:
        for statement in statements.get(connection.dialect.name, ()):
            connection.exec_driver_sql(statement)

    sa.event.listen(table, "after_create", lambda _t, connection, **_kw: run(create, connection))
    sa.event.listen(table, "before_drop", lambda _t, connection, **_kw: run(drop, connection))
