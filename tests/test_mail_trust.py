"""Mail people can trust: every message the site sends, caught on a real SMTP server, is in
the site's layout, has a plain-text part that leads with the link that matters, and can be
stopped with a token that can do nothing else."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest
from flask import Flask

from tests.support.catalogue import JOIN, every_mail
from tests.support.http import normalise_spaces
from tests.support.mail import MailSink

#: the first link of each message's plain text: the one that matters to its reader
FIRST_LINKS = {
    "registration_confirmation": r"https://webinaires\.example\.org/moi/[\w-]{40,}",
    "personal_link": r"https://webinaires\.example\.org/moi/[\w-]{40,}",
    "reminder_without_link": re.escape(
        "https://webinaires.example.org/episodes/plateformes-civictech/questions/poser"
    ),
    "join_link": re.escape(JOIN),
    "episode_rescheduled": re.escape("https://webinaires.example.org/episodes/budget-participatif"),
    "episode_cancelled": re.escape("https://webinaires.example.org/episodes/consultation-en-ligne"),
    "episode_reinstated": re.escape(
        "https://webinaires.example.org/episodes/consultation-en-ligne"
    ),
    "reminder": re.escape(JOIN),
    "followup": re.escape("https://replay.example.org/episode-1"),
}
#: the answers to the person's own action
DIRECT = {"registration_confirmation", "personal_link"}


@pytest.fixture
def mails(programme: Flask, smtp: MailSink) -> dict[str, EmailMessage]:
    """Every kind of message, once."""
    return every_mail(programme, smtp)


def plain(message: EmailMessage) -> str:
    return normalise_spaces(message.get_body(("plain",)).get_content()).replace("\r\n", "\n")


def test_every_mail_is_in_the_layout_and_leads_with_the_link_that_matters(
    mails: dict[str, EmailMessage],
) -> None:
    assert set(mails) == set(FIRST_LINKS)
    for kind, message in mails.items():
        html = message.get_body(("html",)).get_content()
        assert html.startswith("<!doctype html>") and '<html lang="fr">' in html, kind
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
        assert "Cycle de webinaires sur la participation</p>" in html, kind
        assert "font-family:Arial" in html and "max-width:600px" in html, kind
        first = re.search(r"https?://\S+", plain(message)).group(0)
        assert re.fullmatch(FIRST_LINKS[kind], first), (kind, first)
        assert plain(message).rstrip().splitlines()[0].startswith("Bonjour "), kind


def test_every_mail_can_be_stopped_with_a_token_that_does_nothing_else(
    programme: Flask, mails: dict[str, EmailMessage]
) -> None:
    client = programme.test_client()
    ids = set()
    for kind, message in mails.items():
        header = message["List-Unsubscribe"]
        assert header, kind
        url = header.strip("<>")
        assert url.startswith("https://webinaires.example.org/moi/desinscription/"), kind
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click", kind
        # The visible link, in both parts, is the same address.
        assert f"Ne plus recevoir ces e-mails : {url}" in plain(message), kind
        assert f'href="{url}"' in message.get_body(("html",)).get_content(), kind
        token = url.rsplit("/", 1)[1]
        assert client.get(f"/moi/{token}").status_code == 404, kind  # not a personal link
        ids.add(message["Message-ID"])
    assert len(ids) == len(mails)
    # The answers to one's own action still carry the personal link; the others never do.
    for kind, message in mails.items():
        carries = re.search(r"/moi/[\w-]{40,}\s", plain(message)) is not None
        assert carries == (kind in DIRECT), kind


def test_the_follow_up_is_no_longer_bare(mails: dict[str, EmailMessage]) -> None:
    html = mails["followup"].get_body(("html",)).get_content()
    assert "Times" not in html
    assert ">Voir le replay</a>" in html
    assert "Ne plus recevoir ces e-mails" in html
