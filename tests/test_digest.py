"""The "droit de suite" digest on the real SMTP server (issue 10): the replay, the answers
with their moment in the replay, the written answers, the questions carried over with their
new episode, and at the top, for each author, what became of their own questions."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient

from app.mailing.worker import deliver_due
from tests.support.facilitator import log_in
from tests.support.fates import give_fate, set_replay
from tests.support.http import csrf_from, normalise_spaces

FOLLOWUP = "/animation/episodes/plateformes-civictech/suivi"
AFTER_EPISODE_ONE = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_each_registrant_gets_the_digest_with_their_own_questions_first(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question, smtp
) -> None:
    ines, _ = make_attendee(email="ines@example.org", first_name="Inès")
    marc, _ = make_attendee(email="marc@example.org", first_name="Marc")
    make_attendee(email="paul@example.org", first_name="Paul")
    on_air = make_question("Quels indicateurs de réussite ?", attendee_id=ines, status="retenue")
    written = make_question("Où trouver la charte ?", attendee_id=marc)
    carried = make_question("Et les jeunes ?", attendee_id=marc)
    merged = make_question("Comment mesurer la réussite ?", attendee_id=marc)
    declined = make_question("Hors du sujet ?", attendee_id=ines)
    # Before the episode: the fates given in the review panel.
    for question_id, fate, fields in [
        (written, "ecrit", {"answer": "Sur le site de la CNDP, rubrique « outils »."}),
        (carried, "report", {"episode": _episode_id(programme, 3)}),
        (merged, "fusion", {"keep": on_air}),
        (declined, "ecartee", {"reason": "autre", "detail": "Traité au prochain cycle."}),
    ]:
        assert give_fate(facilitator_client, question_id, fate, **fields).status_code == 200
    # On air: answered at 12:34 of the replay (as the facilitator corrects it afterwards).
    programme.extensions["clock"].freeze(AFTER_EPISODE_ONE)
    assert log_in(facilitator_client).status_code == 303
    set_replay(programme, 1, "https://www.youtube.com/watch?v=ep1")
    assert give_fate(facilitator_client, on_air, "direct", replay_time="12:34").status_code == 200

    # Previewed as Marc receives it.
    page = facilitator_client.get(FOLLOWUP, query_string={"pour": marc})
    preview = normalise_spaces(page.get_data(as_text=True))
    assert "Pour&nbsp;:</strong> Marc Martin" in preview
    assert "« Comment mesurer la réussite ? » : regroupée avec une question semblable" in preview
    response = facilitator_client.post(
        FOLLOWUP, data={"csrf_token": csrf_from(page.get_data(as_text=True))}
    )
    assert response.status_code == 303
    with programme.app_context():
        assert deliver_due()["sent"] == 3
    mails = {m["To"]: m for m in smtp.wait_for(3)}
    assert set(mails) == {"ines@example.org", "marc@example.org", "paul@example.org"}

    def plain(address: str) -> str:
        body = mails[address].get_body(preferencelist=("plain",)).get_content()
        return normalise_spaces(body).replace("\r\n", "\n")

    link = "https://www.youtube.com/watch?v=ep1&t=754s"
    marc_text = plain("marc@example.org")
    own, _, rest = marc_text.partition("Merci d’avoir suivi")
    assert own.startswith("Bonjour Marc,")
    assert "« Où trouver la charte ? » : répondue par écrit" in own
    assert "Réponse écrite : Sur le site de la CNDP, rubrique « outils »." in own
    assert "« Et les jeunes ? » : reportée à un autre épisode" in own
    assert "reportée à l’épisode 3, le jeudi 10 décembre 2026 · 11 h 00" in own
    assert "https://webinaires.example.org/episodes/" in own
    assert "« Comment mesurer la réussite ? » : regroupée avec une question semblable" in own
    assert f"répondue en direct à 12:34.\n  Dans le replay : {link}" in own
    # The digest itself: the replay, the answers with their moment, the written answers,
    # the questions carried over with their new episode.
    assert "Le replay est en ligne : https://www.youtube.com/watch?v=ep1" in rest
    assert f"- Quels indicateurs de réussite ?\n  à 12:34 : {link}" in rest
    assert "- Où trouver la charte ?\n  Réponse : Sur le site de la CNDP" in rest
    assert re.search(r"- Et les jeunes \?\n  → épisode 3, le jeudi 10 décembre 2026", rest)
    assert "Hors du sujet" not in rest  # a declined question is its author's business
    ines_text = plain("ines@example.org")
    assert "« Hors du sujet ? » : écartée\n  Motif : autre — Traité au prochain cycle." in ines_text
    assert "« Quels indicateurs de réussite ? » : répondue en direct" in ines_text
    paul_text = plain("paul@example.org")
    assert paul_text.startswith("Bonjour Paul,\n\nMerci d’avoir suivi")  # no questions of his
    html = mails["marc@example.org"].get_body(preferencelist=("html",)).get_content()
    assert f'href="{link.replace("&", "&amp;")}"' in html
    assert "Ce que sont devenues vos questions" in html


def _episode_id(app: Flask, number: int) -> int:
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import Episode

    with app.app_context():
        return db.session.scalar(sa.select(Episode.id).filter_by(number=number))
