"""Registrants list, CSV exports for French Excel, the printable sheet."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.facilitator.export import neutralise, to_csv
from app.models import Question
from tests.support.http import normalise_spaces


def read_csv(body: bytes) -> list[list[str]]:
    """Parse as Excel would: BOM, ';' separator, CRLF."""
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM missing"
    text = body.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    # Records end with CRLF; a bare LF may only appear inside a quoted multi-line cell.
    assert text.endswith("\r\n") and text.count("\r\n") == len(rows), "CRLF line ends expected"
    return rows


def test_neutralise_formula_cells() -> None:
    for dangerous in ("=1+1", "+33 6", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(dangerous) == "'" + dangerous
    assert neutralise("Élodie") == "Élodie"
    assert neutralise(-2) == -2  # numbers are numbers, not text


def test_csv_round_trip_of_accents_separators_and_line_breaks() -> None:
    rows = [["Éloïse Çà", 'Texte ; avec "guillemets"\net retour', '=HYPERLINK("http://x")']]
    parsed = read_csv(to_csv(["Nom", "Question", "Formule"], rows))
    assert parsed[0] == ["Nom", "Question", "Formule"]
    assert parsed[1][:2] == rows[0][:2]
    assert parsed[1][2] == '\'=HYPERLINK("http://x")'


def test_registrants_export(
    facilitator_client: FlaskClient, programme: Flask, make_attendee
) -> None:
    make_attendee(
        email="cecile@example.org",
        first_name="Cécile",
        last_name="=cmd|' /C calc'!A0",
        organisation="Métropole d’Aix-Marseille",
        organisation_kind="intercommunalite",
        episodes=(1, 3),
    )
    make_attendee(email="bob@example.org", last_name="Zola", episodes=(2,))
    response = facilitator_client.get("/animation/inscrits.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="inscrits.csv"' in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    rows = read_csv(response.get_data())
    assert rows[0][:3] == ["Nom", "Prénom", "E-mail"]
    cecile = next(r for r in rows if r[2] == "cecile@example.org")
    assert cecile[0] == "'=cmd|' /C calc'!A0"
    assert cecile[1] == "Cécile" and cecile[3] == "Métropole d’Aix-Marseille"
    assert cecile[4].startswith("Intercommunalité")
    assert cecile[6] == "1, 3"
    only_two = read_csv(facilitator_client.get("/animation/inscrits.csv?episode=2").get_data())
    assert [r[2] for r in only_two[1:]] == ["bob@example.org"]


def test_questions_export(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question
) -> None:
    author, _ = make_attendee(first_name="Zoé", last_name="Hébert")
    make_question(
        "+33 : que pensez-vous des « civic tech » ?", attendee_id=author, votes=7, status="retenue"
    )
    make_question("@tous : et l’exclusion numérique ?", attendee_id=author, status="ecartee")
    make_question("Autre épisode", attendee_id=author, episode=2)
    response = facilitator_client.get("/animation/episodes/plateformes-civictech/questions.csv")
    assert 'filename="questions-episode-1.csv"' in response.headers["Content-Disposition"]
    rows = read_csv(response.get_data())
    assert len(rows) == 3
    assert rows[1][1] == "'+33 : que pensez-vous des « civic tech » ?"
    assert rows[1][2:6] == ["retenue", "", "non", "7"]
    assert rows[1][7] == "Zoé Hébert"
    assert rows[2][1] == "'@tous : et l’exclusion numérique ?" and rows[2][2] == "écartée"
    assert rows[2][3] == "non précisé"


def test_questions_export_says_what_became_of_each_question(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question
) -> None:
    """The fate column: the moment on air, the written answer, the merge, the carry-over,
    the reason of a decline (with its words); and the file streams, a batch at a time."""
    author, _ = make_attendee(first_name="Zoé", last_name="Hébert")
    ids = {
        name: make_question(f"Question {name}", attendee_id=author)
        for name in ("direct", "ecrit", "gardee", "fusionnee", "reportee", "ecartee")
    }
    later = make_question("Question reportee (copie)", attendee_id=author, episode=3)
    with programme.app_context():
        rows = {q.id: q for q in db.session.scalars(sa.select(Question))}
        rows[ids["direct"]].status, rows[ids["direct"]].replay_seconds = "repondue", 754
        rows[ids["ecrit"]].status = "ecrit"
        rows[ids["ecrit"]].written_answer = "Voir le guide de la CNDP, page 12."
        rows[ids["fusionnee"]].status = "fusionnee"
        rows[ids["fusionnee"]].merged_into_id = ids["gardee"]
        rows[ids["reportee"]].status = "reportee"
        rows[ids["reportee"]].carried_to_id = later
        rows[ids["ecartee"]].status = "ecartee"
        rows[ids["ecartee"]].decline_reason = "hors_sujet"
        rows[ids["ecartee"]].decline_detail = "Traité à l’épisode 6"
        db.session.commit()
    response = facilitator_client.get("/animation/episodes/plateformes-civictech/questions.csv")
    assert response.is_streamed
    fates = {row[1]: row[3] for row in read_csv(response.get_data())[1:]}
    assert fates == {
        "Question direct": "à 12:34 du direct",
        "Question ecrit": "Voir le guide de la CNDP, page 12.",
        "Question gardee": "",
        "Question fusionnee": f"fusionnée dans la question n° {ids['gardee']}",
        "Question reportee": "reportée à l’épisode 3",
        "Question ecartee": "hors sujet — Traité à l’épisode 6",
    }


def test_registrants_list_searches_filters_and_paginates(
    facilitator_client: FlaskClient, programme: Flask, make_attendee
) -> None:
    for n in range(52):
        make_attendee(email=f"agent{n:02d}@ville.example", last_name=f"Agent{n:02d}", episodes=(1,))
    make_attendee(
        email="elu@example.org", last_name="Dupont_%", organisation="Région Bretagne", episodes=(2,)
    )
    page = facilitator_client.get("/animation/inscrits")
    text = normalise_spaces(page.get_data(as_text=True))
    assert "53 personnes" in text and "page 1 sur 2" in text
    assert "page 2 sur 2" in facilitator_client.get("/animation/inscrits?page=2").get_data(
        as_text=True
    )
    found = facilitator_client.get("/animation/inscrits", query_string={"q": "bretagne"})
    assert "1 personne" in found.get_data(as_text=True)
    assert "elu@example.org" in found.get_data(as_text=True)
    literal = facilitator_client.get("/animation/inscrits", query_string={"q": "_%"})
    assert "elu@example.org" in literal.get_data(as_text=True)
    assert "agent00" not in literal.get_data(as_text=True)
    episode_two = facilitator_client.get("/animation/inscrits", query_string={"episode": 2})
    assert "1 personne" in episode_two.get_data(as_text=True)
    assert facilitator_client.get("/animation/inscrits?page=abc&episode=x").status_code == 200


def test_print_sheet_lists_retained_questions_in_order(
    facilitator_client: FlaskClient, programme: Flask, make_question
) -> None:
    make_question("Deuxième", status="retenue", live_order=2)
    make_question("Première", status="retenue", live_order=1)
    make_question("Écartée", status="ecartee")
    body = facilitator_client.get("/animation/episodes/plateformes-civictech/impression").get_data(
        as_text=True
    )
    assert body.index("Première") < body.index("Deuxième")
    assert "Écartée</p>" not in body
    assert 'class="print-sheet"' in body
