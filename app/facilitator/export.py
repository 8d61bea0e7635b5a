"""CSV that French Excel opens as it should, and that cannot carry a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from flask import Response

from ..models import Attendee, Question
from ..timefmt import timestamp_fr
from ..vocabulary import OrganisationKind

#: a cell starting with one of these is a formula for a spreadsheet (CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def neutralise(value: object) -> object:
    """Prefix text that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 with BOM, ';' separator, CRLF line ends (what French Excel expects)."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return buffer.getvalue().encode("utf-8")


def csv_download(body: bytes, filename: str) -> Response:
    """Serve CSV as a download."""
    response = Response(body, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _when(moment: datetime | None) -> str:
    return timestamp_fr(moment) if moment else ""


def registrants_csv(rows: list[tuple[Attendee, list[int]]]) -> bytes:
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
    return to_csv(
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


def questions_csv(rows: list[tuple[Question, Attendee]]) -> bytes:
    """One line per question, with its author and review state."""
    header = [
        "N°",
        "Question",
        "Statut",
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
    return to_csv(
        header,
        (
            [
                question.id,
                question.text,
                question.status.label,
                "oui" if question.published else "non",
                question.vote_count,
                question.live_order or "",
                attendee.full_name,
                attendee.organisation,
                attendee.email,
                "oui" if question.show_name else "non",
                question.note,
                _when(question.created_at),
            ]
            for question, attendee in rows
        ),
    )
