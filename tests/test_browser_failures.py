"""When an htmx request fails (server error, lost network), the person is told, keeps what
they typed, and can try again: in a real Chromium."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Page, Route, expect

from tests.support.browser import assert_accessible, screenshot
from tests.test_browser_registration import fill_registration

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("live_app")]

SERVER_FAILED = "Votre demande n’a pas abouti (erreur du serveur)"
NETWORK_FAILED = "La connexion au site est interrompue"


def open_registration(page: Page, base_url: str) -> None:
    """The inline form, filled in correctly."""
    page.goto(base_url + "/")
    page.get_by_role("link", name="S’inscrire", exact=True).click()
    expect(page.locator("#inscription-form form")).to_be_visible()
    fill_registration(page, email="panne@example.org")


def post_only(handler):  # type: ignore[no-untyped-def]
    """A route handler for the form's POST; every GET goes through."""

    def route(route: Route) -> None:
        if route.request.method == "POST":
            handler(route)
        else:
            route.continue_()

    return route


def expect_kept_and_retry_possible(page: Page) -> None:
    """The form is still there with what was typed, and its button works again."""
    expect(page.get_by_label("Organisation", exact=True)).to_have_value("Grand Poitiers")
    expect(page.get_by_label("Adresse e-mail")).to_have_value("panne@example.org")
    expect(page.get_by_role("button", name="Valider mon inscription")).to_be_enabled()


def test_a_server_error_is_said_and_the_form_kept(page: Page, base_url: str) -> None:
    open_registration(page, base_url)
    # A proxy in front answering 502 with its own page: nothing of ours in it.
    page.route(
        "**/inscription?*",
        post_only(lambda route: route.fulfill(status=502, body="<h1>Bad Gateway</h1>")),
    )
    page.get_by_role("button", name="Valider mon inscription").click()
    alert = page.locator("#alerts [role=alert]")
    expect(alert).to_contain_text(SERVER_FAILED)
    expect(page.locator("body")).not_to_contain_text("Bad Gateway")
    expect_kept_and_retry_possible(page)
    assert_accessible(page, "registration after a server error")
    screenshot(page, "failure-server-error", full_page=False)

    page.unroute("**/inscription?*")
    page.get_by_role("button", name="Valider mon inscription").click()
    expect(page.locator(".registration-done")).to_be_visible()
    expect(page.locator("#alerts")).to_be_empty()


def test_our_own_500_shows_its_french_message(
    page: Page, base_url: str, live_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_registration(page, base_url)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("app.registration.routes.register_attendee", broken)
    live_app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        page.get_by_role("button", name="Valider mon inscription").click()
        alert = page.locator("#alerts [role=alert]")
        expect(alert).to_contain_text("Une erreur est survenue de notre côté")
        expect(alert).not_to_contain_text(SERVER_FAILED)  # said once, by the server
        expect_kept_and_retry_possible(page)
        assert_accessible(page, "registration after our own 500")
    finally:
        live_app.config["PROPAGATE_EXCEPTIONS"] = None


def test_a_lost_network_is_said_and_the_form_kept(page: Page, base_url: str) -> None:
    open_registration(page, base_url)
    page.route("**/inscription?*", post_only(lambda route: route.abort("internetdisconnected")))
    page.get_by_role("button", name="Valider mon inscription").click()
    alert = page.locator("#alerts [role=alert]")
    expect(alert).to_contain_text(NETWORK_FAILED)
    expect(alert).to_be_in_viewport()  # seen where the person is, at the foot of the form
    expect_kept_and_retry_possible(page)
    assert_accessible(page, "registration after the network was cut")
    screenshot(page, "failure-network")

    page.unroute("**/inscription?*")
    page.get_by_role("button", name="Valider mon inscription").click()
    expect(page.locator(".registration-done")).to_be_visible()


def test_a_failed_request_from_a_link_is_said_too(page: Page, base_url: str) -> None:
    # Any htmx request, not only forms: the question area of an episode.
    page.goto(base_url + "/")
    page.route("**/questions/poser", lambda route: route.abort("connectionreset"))
    page.get_by_role("link", name="Poser une question sur l’épisode 1").click()
    expect(page.locator("#alerts [role=alert]")).to_contain_text(NETWORK_FAILED)
    expect(page.get_by_role("link", name="Poser une question sur l’épisode 1")).to_be_visible()
