"""Backups that any host can restore: `flask backup create FILE`, `flask backup restore FILE`.

The file is gzipped JSON lines, the same whatever the engine: a header (format, version,
schema revision, time), then for each table its columns and its rows. A backup of SQLite
restores onto an empty PostgreSQL database and the other way round; a backup of another
schema revision is refused (upgrade or downgrade the database to its revision first).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from flask.cli import AppGroup

from .clock import utcnow
from .extensions import db

FORMAT = "webinaires-backup"
VERSION = 1
#: tables written by the migrations' own machinery, not part of the data
SKIPPED = {"alembic_version"}

backup_cli = AppGroup("backup", help="Sauvegarde et restauration de toutes les données.")


class BackupError(click.ClickException):
    """A backup that cannot be restored here (message in French)."""

    def format_message(self) -> str:
        return self.message

    def show(self, file: Any = None) -> None:
        click.echo(f"Erreur : {self.format_message()}", err=True)


def _revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _tables() -> list[sa.Table]:
    """Every table of the data, parents before children."""
    return [table for table in db.metadata.sorted_tables if table.name not in SKIPPED]


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    return value


def _decode(column: sa.Column, value: Any) -> Any:
    if isinstance(value, str) and _is_datetime_column(column):
        moment = datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return value


def _is_datetime_column(column: sa.Column) -> bool:
    kind = column.type
    return isinstance(kind, sa.DateTime) or isinstance(
        getattr(kind, "impl_instance", None), sa.DateTime
    )


def dump(path: Path) -> dict[str, int]:
    """Write every table to `path`; return the rows written per table."""
    counts: dict[str, int] = {}
    with gzip.open(path, "wt", encoding="utf-8") as out:
        header = {
            "format": FORMAT,
            "version": VERSION,
            "schema": _revision(),
            "created_at": utcnow().isoformat(),
        }
        out.write(json.dumps(header) + "\n")
        with db.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # Every table as it was at one moment: under READ COMMITTED each SELECT
                # would see what was committed by then (a question saved without its
                # author, registered after the attendees were read: a restore refuses it).
                # SQLite's read transaction already holds one snapshot.
                connection.execution_options(isolation_level="REPEATABLE READ")
            for table in _tables():
                columns = [column.name for column in table.columns]
                out.write(json.dumps({"table": table.name, "columns": columns}) + "\n")
                counts[table.name] = 0
                order = list(table.primary_key.columns)
                for row in connection.execute(sa.select(table).order_by(*order)):
                    out.write(json.dumps([_encode(v) for v in row], ensure_ascii=False) + "\n")
                    counts[table.name] += 1
    return counts


def _read(path: Path) -> Iterator[Any]:
    with gzip.open(path, "rt", encoding="utf-8") as source:
        for line in source:
            yield json.loads(line)


def load(path: Path) -> dict[str, int]:
    """Restore `path` into this (empty, same-revision) database; return rows per table."""
    lines = _read(path)
    try:
        header = next(lines)
    except (OSError, EOFError, ValueError, StopIteration) as error:
        raise BackupError(f"{path} n’est pas une sauvegarde lisible.") from error
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError(f"{path} n’est pas une sauvegarde de ce site.")
    if header.get("version") != VERSION:
        raise BackupError(f"Version de sauvegarde {header.get('version')} inconnue ici.")
    if header.get("schema") != _revision():
        raise BackupError(
            f"La sauvegarde suit le schéma {header.get('schema')}, la base {_revision()} : "
            "mettez la base à la même version (flask db upgrade) avant de restaurer."
        )
    tables = {table.name: table for table in _tables()}
    counts: dict[str, int] = {}
    with db.engine.begin() as connection:
        for name, table in tables.items():
            if connection.execute(sa.select(sa.func.count()).select_from(table)).scalar():
                raise BackupError(f"La table {name} n’est pas vide : restaurez sur une base vide.")
        table, columns, batch = None, [], []
        for item in lines:
            if isinstance(item, dict):
                _insert(connection, table, batch)
                table = tables.get(item["table"])
                if table is None:
                    raise BackupError(f"Table inconnue dans la sauvegarde : {item['table']}.")
                columns = [table.c[name] for name in item["columns"]]
                counts[table.name], batch = 0, []
                continue
            batch.append({c.name: _decode(c, v) for c, v in zip(columns, item, strict=True)})
            counts[table.name] += 1  # type: ignore[union-attr]
            if len(batch) >= 500:
                _insert(connection, table, batch)
                batch = []
        _insert(connection, table, batch)
        _reset_sequences(connection, tables.values())
    return counts


def _insert(connection: sa.Connection, table: sa.Table | None, rows: list[dict]) -> None:
    if table is not None and rows:
        connection.execute(sa.insert(table), rows)


def _reset_sequences(connection: sa.Connection, tables: Any) -> None:
    """PostgreSQL numbers new rows from a sequence: start it after the restored ids."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        if "id" in table.c and table.c.id.autoincrement:
            highest = connection.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
            connection.execute(
                sa.text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :next, false)"),
                {"table": table.name, "next": highest + 1},
            )


@backup_cli.command("create")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def create_command(file: Path) -> None:
    """Write a backup of all data to FILE (gzipped JSON lines)."""
    counts = dump(file)
    click.echo(f"Sauvegarde écrite dans {file} : {sum(counts.values())} lignes.")


@backup_cli.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(file: Path) -> None:
    """Restore FILE into this empty database (run `flask db upgrade` first)."""
    counts = load(file)
    click.echo(f"Sauvegarde restaurée : {sum(counts.values())} lignes.")
