"""CSV that French Excel opens as it should, and that cannot carry a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

import sqlalchemy as sa
from flask import Response, stream_with_context

from ..timefmt import replay_time, timestamp_fr
from ..vocabulary import DeclineReason, OrganisationKind, QuestionStatus

#: a cell starting with one of these is a formula for a spreadsheet (CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def neutralise(value: object) -> object:
    """Prefix text that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


#: lines written before a chunk of the download leaves (the file is never whole in memory)
CHUNK_LINES = 500


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[bytes]:
    """UTF-8 with BOM, ';' separator, CRLF line ends (what French Excel expects), a few
    hundred lines at a time."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([neutralise(cell) for cell in header])
    for count, row in enumerate(rows, 1):
        writer.writerow([neutralise(cell) for cell in row])
        if count % CHUNK_LINES == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """The whole file at once."""
    return b"".join(csv_chunks(header, rows))


def csv_download(chunks: Iterator[bytes], filename: str) -> Response:
    """Serve CSV as a download, streamed while the rows are read."""
    response = Response(stream_with_context(chunks), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _when(moment: datetime | None) -> str:
    return timestamp_fr(moment) if moment else ""


def registrants_csv(rows: Iterable[tuple[sa.Row, list[int]]]) -> Iterator[bytes]:
    """One line per attendee."""
    header = [
        "Nom",
        "Prénom",
        "E-mail",
        "Organisation",
        "Type d’organisation",
        "Fonction",
        "Épisodes",
        "Inscription (heure de Paris)",
    ]
    return csv_chunks(
        header,
        (
            [
                attendee.last_name,
                attendee.first_name,
                attendee.email,
                attendee.organisation,
                OrganisationKind.label_of(attendee.organisation_kind),
                attendee.job_title,
                ", ".join(str(n) for n in numbers),
                _when(attendee.created_at),
            ]
            for attendee, numbers in rows
        ),
    )


def _fate(row: sa.Row) -> str:
    """What became of a question, in the words of the review."""
    if row.status == QuestionStatus.ANSWERED and row.replay_seconds is not None:
        return f"à {replay_time(row.replay_seconds)} du direct"
    if row.status == QuestionStatus.WRITTEN:
        return row.written_answer
    if row.status == QuestionStatus.MERGED and row.merged_into_id:
        return f"fusionnée dans la question n° {row.merged_into_id}"
    if row.status == QuestionStatus.CARRIED_OVER and row.carried_to_number:
        return f"reportée à l’épisode {row.carried_to_number}"
    if row.status == QuestionStatus.DISMISSED:
        reason = DeclineReason(row.decline_reason).label if row.decline_reason else "non précisé"
        return " — ".join(part for part in (reason, row.decline_detail) if part)
    return ""


def questions_csv(rows: Iterable[sa.Row]) -> Iterator[bytes]:
    """One line per question, with its author, review state and fate."""
    header = [
        "N°",
        "Question",
        "Statut",
        "Sort (moment, réponse écrite, motif…)",
        "Publiée",
        "Votes",
        "Ordre du direct",
        "Auteur",
        "Organisation",
        "E-mail",
        "Nom affiché publiquement",
        "Note privée",
        "Envoyée le (heure de Paris)",
    ]
    return csv_chunks(
        header,
        (
            [
                row.id,
                row.text,
                QuestionStatus(row.status).label,
                _fate(row),
                "oui" if row.published else "non",
                row.vote_count,
                row.live_order or "",
                f"{row.first_name} {row.last_name}",
                row.organisation,
                row.email,
                "oui" if row.show_name else "non",
                row.note,
                _when(row.created_at),
            ]
            for row in rows
        ),
    )
