"""Hostile input over every route (issue 11): Hypothesis sends every rule of the URL map,
with every method it takes, form and JSON bodies (numbers, lists, objects, null where text
is expected, control characters, huge values), malformed return addresses and htmx headers,
as a stranger, an attendee and a facilitator. Nothing may answer 5xx, and a refused request
(4xx) may not write a row.

FUZZ_EXAMPLES (default 40) sets the examples per route and visitor: the closing note's run
used 300.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db
from tests.support.database import make_test_app
from tests.support.http import csrf_from, sign_in_as

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
#: session bookkeeping (a CSRF token for the form shown with its errors) is not data
NOT_DATA = {"browser_session", "alembic_version"}
#: what the fuzzer has sent, for the closing note (printed with -s)
SENT: Counter[str] = Counter()

CONTROL = st.characters(min_codepoint=0, max_codepoint=0x9F)
TEXT = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=CONTROL, max_size=10),
    st.sampled_from(
        [
            "",
            "http://[x",
            "//evil.example",
            "/\t/evil.example",
            "javascript:alert(1)",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "\x00",
            "x" * 5000,
            "é" * 600,
            "2147483648",
            "-1",
            "99999999999999999999",
            "NaN",
        ]
    ),
)
FIELDS = st.sampled_from(
    [
        "text",
        "show_name",
        "action",
        "tri",
        "follow",
        "email",
        "first_name",
        "last_name",
        "organisation",
        "organisation_kind",
        "job_title",
        "episodes",
        "privacy",
        "website",
        "started",
        "note",
        "back",
        "retour",
        "next",
        "question_id",
        "direction",
        "n",
        "title",
        "teaser",
        "date",
        "time",
        "duration_minutes",
        "speakers",
        "join_url",
        "replay_url",
        "password",
        "csrf_token",
        "List-Unsubscribe",
    ]
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(FIELDS, inner, max_size=3),
    max_leaves=8,
)


def url_rules(app: Flask) -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, rule, its arguments) for every rule of the URL map but static files."""
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            rules.append((method, rule.rule, tuple(sorted(rule.arguments))))
    return rules


RULES = url_rules(make_test_app("sqlite://", smtp_port=0))


def fill(rule: str, values: dict[str, str]) -> str:
    """The rule with its arguments, percent-encoded as a browser would send them."""
    url = rule
    for name, value in values.items():
        url = re.sub(rf"<(?:[^:<>]+:)?{name}>", lambda _m, v=value: quote(v, safe=""), url)
    return url


ARGUMENT = st.one_of(
    st.sampled_from(["1", "2", "0", "2147483648", "api", "plateformes-civictech", "x" * 300]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20),
)


def data_rows(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables
            if table.name not in NOT_DATA
        }


@pytest.fixture
def visitors(facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question):
    """A stranger, an attendee with full rights, a facilitator; a published question."""
    attendee_id, _ = make_attendee()
    author_id, _ = make_attendee(email="auteur@example.org")
    make_question(attendee_id=author_id, published=True)
    attendee = programme.test_client()
    sign_in_as(attendee, attendee_id)
    return {
        "stranger": programme.test_client(),
        "attendee": attendee,
        "facilitator": facilitator_client,
    }


@pytest.mark.parametrize(
    ("method", "rule", "arguments"), RULES, ids=[f"{m}:{r}" for m, r, _ in RULES]
)
def test_no_input_makes_a_5xx_nor_a_row_when_refused(
    programme: Flask, visitors: dict[str, FlaskClient], method: str, rule: str, arguments: tuple
) -> None:
    tokens = {
        name: csrf_from(
            client.get("/animation/" if name == "facilitator" else "/inscription").get_data(
                as_text=True
            )
        )
        for name, client in visitors.items()
    }

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        who=st.sampled_from(sorted(visitors)),
        values=st.fixed_dictionaries({name: ARGUMENT for name in arguments}),
        query=st.dictionaries(FIELDS, TEXT, max_size=3),
        body=st.one_of(
            st.dictionaries(FIELDS, st.one_of(TEXT, st.lists(TEXT, max_size=3)), max_size=6),
            JSON.map(lambda value: ("json", value)),
        ),
        with_token=st.booleans(),
        htmx=st.booleans(),
        current_url=TEXT,
    )
    def attempt(who, values, query, body, with_token, htmx, current_url):  # type: ignore[no-untyped-def]
        client = visitors[who]
        headers = {"HX-Request": "true", "HX-Current-URL": current_url} if htmx else {}
        headers = {
            key: value for key, value in headers.items() if "\n" not in value and "\r" not in value
        }
        kwargs: dict = {"query_string": query, "headers": headers}
        if method != "GET":
            if isinstance(body, tuple):
                kwargs["json"] = body[1]
            else:
                kwargs["data"] = {**body, **({"csrf_token": tokens[who]} if with_token else {})}
        before = data_rows(programme)
        response = client.open(fill(rule, values), method=method, **kwargs)
        response.close()
        SENT[f"{response.status_code // 100}xx"] += 1
        assert response.status_code < 500, (method, rule, values, kwargs, response.status_code)
        if response.status_code >= 400:
            assert data_rows(programme) == before, (method, rule, kwargs, response.status_code)

    attempt()


def test_zz_report_what_the_fuzzer_sent() -> None:
    """Print the counts (pytest -s) for the closing note."""
    total = sum(SENT.values())
    print(f"\nfuzz: {total} requests, by class: {dict(sorted(SENT.items()))}")
    assert SENT["5xx"] == 0
