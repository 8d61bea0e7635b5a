"""Registrations per second under gunicorn (2 workers), against a trivial POST handler.

Usage: python bench/registration.py [DATABASE_URL]
Each registration is a new address (one attendee, its registrations and its outbox row in
one transaction). Outbox delivery is off during the run: the request never talks to SMTP.
"""

from __future__ import annotations

import http.cookiejar
import re
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import alternate, bench_env, gunicorn, prepare_database, temp_instance, wrk

LUA = """
local counter = 0
local id = "0"
function setup(thread)
  thread:set("id", tostring(math.random(1, 1000000000)))
end
function init(args)
  id = wrk.thread:get("id")
end
request = function()
  counter = counter + 1
  local body = "csrf_token=%(token)s&first_name=Camille&last_name=Martin"
    .. "&email=b" .. id .. "-" .. counter .. "%%40example.org"
    .. "&organisation=Ville+de+Rennes&organisation_kind=collectivite"
    .. "&episodes=%(episode)s&privacy=y"
  return wrk.format("POST", "%(path)s", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "%(cookie)s",
    ["HX-Request"] = "true",
  }, body)
end
"""


def session_and_token(base: str) -> tuple[str, str, str]:
    """A session cookie, its CSRF token and one episode id, as a browser would get them."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/inscription").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    episode = re.search(r'name="episodes" type="checkbox" value="(\d+)"', page).group(1)
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return cookie, urllib.parse.quote(token), episode


def script(path: str, cookie: str, token: str, episode: str) -> str:
    """Write a wrk Lua script posting the form to `path`."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(LUA % {"token": token, "episode": episode, "path": path, "cookie": cookie})
    return handle.name


def main() -> None:
    """Measure and print."""
    database_url = sys.argv[1] if len(sys.argv) > 1 else None
    env = bench_env(database_url, temp_instance())
    prepare_database(env)
    with gunicorn(env) as base:
        cookie, token, episode = session_and_token(base)
        register = script("/inscription", cookie, token, episode)
        trivial = script("/__bench/post", cookie, token, episode)
        medians = alternate(
            {
                "registration": lambda: wrk(base + "/", script=register),
                "trivial": lambda: wrk(base + "/", script=trivial),
            }
        )
    ratio = medians["registration"] / medians["trivial"]
    print(f"database: {env['DATABASE_URL'].split(':')[0]}")
    print(
        f"POST throughput (gunicorn 2 workers, wrk 2 threads 8 connections, median of 3 x 5 s): "
        f"registration {medians['registration']:.0f}/s, trivial POST {medians['trivial']:.0f}/s, "
        f"ratio {ratio:.1%}"
    )


if __name__ == "__main__":
    main()
