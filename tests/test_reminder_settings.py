"""FLASK_REMINDER_OFFSETS: minutes before each episode; anything else stops the site at start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app

ROOT = Path(__file__).resolve().parent.parent


def test_the_default_is_the_day_before_and_an_hour_before() -> None:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["REMINDER_OFFSETS"] == [1440, 60]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("60", "a list of whole minutes"),
        ([1.5], "a list of whole minutes"),
        ([True], "a list of whole minutes"),
        (["1440"], "a list of whole minutes"),
        ("1440,60", "a list of whole minutes"),
        ([0], "between 1 and 43200 minutes"),
        ([-60], "between 1 and 43200 minutes"),
        ([1440, 86400], "between 1 and 43200 minutes"),
    ],
)
def test_offsets_that_are_not_positive_minutes_are_refused(value: object, words: str) -> None:
    with pytest.raises(RuntimeError, match=words):
        create_app(
            {"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "REMINDER_OFFSETS": value}
        )


def test_the_site_refuses_to_start_with_a_clear_message(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "FLASK_REMINDER_OFFSETS": "[0, 60]",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
    }
    started = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert started.stderr.strip().splitlines()[-1] == (
        "RuntimeError: FLASK_REMINDER_OFFSETS: each offset must be between 1 and 43200 minutes "
        "(30 days), got [0, 60]. Give minutes before each episode's start, "
        "e.g. FLASK_REMINDER_OFFSETS='[1440, 60]' (the day before and one hour before)."
    )


def test_offsets_are_read_from_the_environment_in_order_and_once(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "FLASK_REMINDER_OFFSETS": "[60, 1440, 60, 10]",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
    }
    started = subprocess.run(
        [sys.executable, "-c", "import wsgi; print(wsgi.app.config['REMINDER_OFFSETS'])"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "[1440, 60, 10]"
