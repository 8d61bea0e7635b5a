"""Odd requests get a 4xx, never a 500: huge ids, wrong methods, unknown slugs."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

HUGE = "9" * 30


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", f"/questions/{HUGE}"),
        ("GET", f"/questions/{HUGE}/modifier"),
        ("POST", f"/questions/{HUGE}/modifier"),
        ("GET", f"/questions/{HUGE}/retirer"),
        ("POST", f"/questions/{HUGE}/retirer"),
        ("POST", f"/questions/{HUGE}/vote"),
        ("GET", "/questions/2147483648"),
        ("GET", "/episodes/inconnu"),
        ("GET", "/episodes/inconnu/questions/poser"),
        ("POST", "/episodes/inconnu/questions/poser"),
        ("GET", "/agenda.ics?episodes=" + HUGE),
        ("DELETE", "/inscription"),
        ("PUT", "/"),
        ("GET", "/moi/" + "x" * 5000),
        ("POST", "/moi/lien?x=" + "y" * 5000),
    ],
)
def test_public_oddities_are_4xx(
    programme: Flask, client: FlaskClient, method: str, url: str
) -> None:
    response = client.open(url, method=method)
    assert 400 <= response.status_code < 500, (url, response.status_code)


def test_huge_ids_in_the_personal_space_are_404(
    programme: Flask, client: FlaskClient, make_attendee
) -> None:
    from tests.support.http import csrf_from

    _, token = make_attendee()
    csrf = csrf_from(client.get(f"/moi/{token}", follow_redirects=True).get_data(as_text=True))
    response = client.post(f"/moi/episodes/{HUGE}", data={"csrf_token": csrf, "follow": "1"})
    assert response.status_code == 404


def test_huge_numbers_in_facilitator_queries_are_ignored(
    programme: Flask, facilitator_client: FlaskClient
) -> None:
    base = "/animation/episodes/plateformes-civictech"
    for url in (
        f"{base}/questions/nouvelles?apres={HUGE}&deja={HUGE}",
        f"/animation/inscrits?page={HUGE}&episode={HUGE}",
        f"{base}/direct?n={HUGE}",
        f"{base}/questions?page={HUGE}",
    ):
        response = facilitator_client.get(url)
        assert response.status_code < 500, (url, response.status_code)
    page = facilitator_client.get(f"{base}/direct").get_data(as_text=True)
    from tests.support.http import csrf_from

    token = csrf_from(page)
    for url, data in (
        (f"{base}/questions/{HUGE}", {"action": "retenir"}),
        (f"{base}/questions/{HUGE}/note", {"note": "x"}),
        (f"{base}/direct", {"question_id": HUGE, "n": HUGE}),
        (f"{base}/ordre", {"question_id": HUGE, "direction": "up"}),
    ):
        response = facilitator_client.post(url, data={**data, "csrf_token": token})
        assert response.status_code < 500, (url, response.status_code)


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/\n/x",
        " /x",
    ],
)
def test_no_open_redirect_through_return_paths(
    programme: Flask, client: FlaskClient, make_attendee, target: str
) -> None:
    from app.links import local_path

    assert local_path(target) is None
    assert local_path("/moi/abc?x=1#y") == "/moi/abc?x=1#y"
    assert local_path("/animation/inscrits", prefix="/animation/") == "/animation/inscrits"
    assert local_path("/moi/x", prefix="/animation/") is None
