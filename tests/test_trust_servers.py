"""The site as it is deployed (gunicorn, several workers, Redis): limits that hold across
workers, a server that refuses to count them per worker, logs without tokens (issue 11,
findings 6 and 9)."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.support.servers import BIN, ROOT, gunicorn, in_site, site_env, sqlite_site_database

pytestmark = pytest.mark.servers


class Browser:
    """A tiny browser on one cookie jar: GET a form, POST it back with its token."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect()
        )

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, fields: dict[str, str]) -> tuple[int, str]:
        body = urllib.parse.urlencode(fields).encode()
        return self._open(urllib.request.Request(self.base + path, data=body, method="POST"))

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}"[^>]*value="([^"]+)"', html).group(1)


def test_a_limit_holds_across_two_workers_sharing_redis(redis_url: str) -> None:
    env = site_env(
        sqlite_site_database(),
        RATELIMIT_STORAGE_URI=redis_url,
        RATELIMIT_LINK_REQUEST='"5 per minute"',
    )
    with gunicorn(env, workers=2) as url:
        statuses = []
        for _ in range(12):  # each request may land on either worker
            browser = Browser(url)
            _, form = browser.get("/moi/lien")
            fields = {
                "csrf_token": hidden(form, "csrf_token"),
                "started": hidden(form, "started"),
                "email": "x@example.org",
            }
            statuses.append(browser.post("/moi/lien", fields)[0])
    assert statuses.count(200) == 5, statuses
    assert statuses.count(429) == 7, statuses


def test_two_workers_counting_limits_in_memory_refuse_to_start() -> None:
    import subprocess

    env = site_env(sqlite_site_database())
    result = subprocess.run(
        [str(BIN / "gunicorn"), "--workers", "2", "--bind", "127.0.0.1:0", "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "FLASK_RATELIMIT_STORAGE_URI=redis://" in result.stderr


def test_logs_never_hold_a_token_nor_an_address(tmp_path: Path) -> None:
    database = sqlite_site_database()
    env = site_env(database)
    # A registered attendee and their personal link, as the operator would see them.
    script = (
        "from app.extensions import db\n"
        "from app.identity import issue_token\n"
        "from app.models import Attendee, Series\n"
        "from app.clock import utcnow\n"
        "import sqlalchemy as sa\n"
        "series = db.session.scalars(sa.select(Series)).one()\n"
        "a = Attendee(series_id=series.id, email='secret.person@example.org', first_name='A',"
        " last_name='B', organisation='O', organisation_kind='autre',"
        " privacy_acknowledged_at=utcnow())\n"
        "db.session.add(a); db.session.flush()\n"
        "print(issue_token(a)); db.session.commit()\n"
    )
    token = in_site(env, script).strip().splitlines()[-1]
    access = tmp_path / "access.log"
    with gunicorn(env, access_log=access) as url:
        browser = Browser(url)
        status, _ = browser.get(f"/moi/{token}")
        assert status == 303
        assert browser.get("/moi")[0] == 200
    log = access.read_text()
    assert "/moi/[jeton]" in log
    assert token not in log
    assert "secret.person@example.org" not in log
