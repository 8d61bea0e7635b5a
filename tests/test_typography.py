"""French typography on screen."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from app.typography import NBSP, NNBSP, french_spacing


def test_french_spacing_glues_punctuation_to_the_word_before() -> None:
    assert french_spacing("Peut-on rater un budget ?") == f"Peut-on rater un budget{NNBSP}?"
    assert french_spacing("Droit de suite : faire") == f"Droit de suite{NBSP}: faire"
    assert french_spacing("« Poser une question »") == f"«{NNBSP}Poser une question{NNBSP}»"
    assert french_spacing("http://example.org:80 a") == "http://example.org:80 a"
    assert french_spacing("") == ""


def test_no_line_of_the_programme_can_start_with_a_question_mark(
    programme: Flask, client: FlaskClient
) -> None:
    body = client.get("/").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", "\n", body)
    assert not re.search(r"\w [?!:;]", text), re.search(r".{30}\w [?!:;].{10}", text)
    assert f"opium du peuple{NNBSP}?" in body


def test_quotes_are_french_guillemets_and_the_sources_spellings_stay(
    programme: Flask, client: FlaskClient
) -> None:
    for url in ("/", "/episodes/cas-usage-innovants", "/episodes/numerique-et-presentiel"):
        body = client.get(url).get_data(as_text=True)
        assert "“" not in body and "”" not in body, url
        assert not re.search(r"«[ \u00a0]|[ \u00a0]»", body), url  # narrow no-break spaces only
    home = client.get("/").get_data(as_text=True)
    assert f"une «{NNBSP}bonne{NNBSP}» consultation" in home
    assert f"attendre «{NNBSP}raisonnablement{NNBSP}» des outils" in home
    # The source's own spellings, as published.
    assert "Ecueils et facteurs clés" in home and "Les plateformes civitech" in home
    assert "La Civictech est-elle" in home
