"""The API keeps the contract its OpenAPI document states: Schemathesis generates requests
from /api/v1/openapi.json (valid ones, and invalid ones) and runs them in-process against
the Flask app, on a programme with questions of every fate. Every check must pass: no 5xx,
every status, header, content type and body as documented.

Schemathesis's pytest loader (`schemathesis.pytest.from_fixture`) does not run under pytest 9
(it sets `node._nodeid`, gone since), so each operation's Hypothesis strategy is driven here
by hand; `schemathesis run` (README) does the same against a running site.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode

from tests.support.opendata import OpenDataWorld

#: examples per operation and per mode (valid, invalid)
EXAMPLES = 60


def test_the_api_honours_its_openapi_document(open_data_world: OpenDataWorld) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", open_data_world.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} == {
        "/api/v1/cycle",
        "/api/v1/episodes",
        "/api/v1/episodes/{slug}",
        "/api/v1/episodes/{slug}/questions",
    }
    cases: list[tuple[str, str, int]] = []
    for operation in operations:
        for mode in GenerationMode:
            if mode is GenerationMode.NEGATIVE and "{" not in operation.path:
                continue  # nothing to get wrong in a request without parameters

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def honours(case: schemathesis.Case) -> None:
                response = case.call_and_validate()
                cases.append((case.operation.label, case.formatted_path, response.status_code))

            honours()
    # Then every real episode, whose answers carry every fate and register.
    slugs = [
        e["slug"]
        for e in open_data_world.app.test_client().get("/api/v1/episodes").json["episodes"]
    ]
    for operation in operations:
        for slug in slugs if "{slug}" in operation.path else []:
            strategy = operation.as_strategy(path_parameters={"slug": slug})

            @given(case=strategy)
            @settings(max_examples=1, deadline=None, database=None)
            def real(case: schemathesis.Case) -> None:
                response = case.call_and_validate()
                cases.append((case.operation.label, case.formatted_path, response.status_code))

            real()
    statuses = {status for _, _, status in cases}
    print(f"Schemathesis: {len(cases)} test cases, statuses {sorted(statuses)}")
    assert all(status < 500 for status in statuses)
    # Known slugs were found as well as unknown ones: both answers were checked.
    assert {200, 404} <= statuses
