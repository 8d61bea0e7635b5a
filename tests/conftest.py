"""The suite's fixtures live in `tests/support/`, by capability, loaded here as plugins.

A real database (SQLite file or PostgreSQL), a real SMTP server, a real browser: see
`tests/support/`. Test modules import plain helpers from there, never from this file.
"""

import pytest

# Helpers in tests/support/ that are not plugins still get pytest's assertion messages.
pytest.register_assert_rewrite("tests.support")

pytest_plugins = [
    "tests.support.mail",
    "tests.support.database",
    "tests.support.factories",
    "tests.support.facilitator",
    "tests.support.browser",
    "tests.support.servers",
    "tests.support.opendata",
]

# pytest-playwright registers its own `base_url` after every plugin above, so a plugin's
# override loses; a conftest's wins. Ours points Playwright at the live server.
from tests.support.browser import base_url  # noqa: E402, F401
