"""Registrations per second under gunicorn (2 workers), against the yardstick: a POST that
validates the same form and commits one row to the same database (`/__bench/form`).

Usage: python bench/registration.py [DATABASE_URL]
Each registration is a new address (one attendee, its registrations, its personal link and
its outbox row in one transaction). Outbox delivery is off during the run: the request
never talks to SMTP. The trivial POST (reads the form, commits nothing) is printed too.
"""

from __future__ import annotations

import http.cookiejar
import re
import sys
import tempfile
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    alternate,
    bench_env,
    gunicorn,
    need_wrk,
    prepare_database,
    temp_instance,
    wrk,
)

LUA = """
local visitors = {%(visitors)s}
local threads = 0
local next_one = 0
function setup(thread)
  thread:set("start", tostring(threads))
  threads = threads + 1
end
function init(args)
  next_one = tonumber(wrk.thread:get("start"))
end
request = function()
  -- Each request is a new visitor: the session and CSRF token its GET of the form gave it.
  -- A registration gives the browser a new key (as it would a real browser), so no visitor
  -- is used twice in a run: thread 0 takes the even ones, thread 1 the odd ones.
  local v = visitors[(next_one %% #visitors) + 1]
  next_one = next_one + 2
  local body = "csrf_token=" .. v[2] .. "&started=" .. v[3]
    .. "&first_name=Camille&last_name=Martin"
    .. "&email=b" .. next_one .. "-" .. math.random(1, 1000000000) .. "%%40example.org"
    .. "&organisation=Ville+de+Rennes&organisation_kind=collectivite"
    .. "&episodes=%(episode)s&privacy=y"
  return wrk.format("POST", "%(path)s", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = v[1],
    ["HX-Request"] = "true",
  }, body)
end
"""


def visitor(base: str) -> tuple[str, str, str, str]:
    """A session cookie, its CSRF token, the form's time stamp and one episode id, as a
    browser gets them by opening the form."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/inscription").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    started = re.search(r'name="started"[^>]*value="([^"]+)"', page).group(1)
    episode = re.search(r'name="episodes" type="checkbox" value="(\d+)"', page).group(1)
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return cookie, urllib.parse.quote(token), urllib.parse.quote(started), episode


def script(path: str, visitors: list[tuple[str, str, str, str]]) -> str:
    """Write a wrk Lua script posting the form to `path`, one visitor per request."""
    table = ",".join('{{"{}","{}","{}"}}'.format(*v[:3]) for v in visitors)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(LUA % {"path": path, "visitors": table, "episode": visitors[0][3]})
    return handle.name


#: sessions prepared for a run of 5 s (each registration takes the next one)
VISITORS = 6000
ROUNDS = 3


def main() -> None:
    """Measure and print."""
    need_wrk()
    database_url = sys.argv[1] if len(sys.argv) > 1 else None
    env = bench_env(database_url, temp_instance())
    prepare_database(env)
    with gunicorn(env) as base:
        with ThreadPoolExecutor(8) as pool:
            visitors = list(pool.map(lambda _: visitor(base), range(VISITORS * (ROUNDS + 1))))
        # Registrations use up their visitors: each round gets fresh ones.
        rounds = [
            script("/inscription", visitors[n * VISITORS : (n + 1) * VISITORS])
            for n in range(ROUNDS)
        ]
        others = visitors[ROUNDS * VISITORS :]
        yardstick, trivial = script("/__bench/form", others), script("/__bench/post", others)
        medians = alternate(
            {
                "registration": lambda: wrk(base + "/", script=rounds.pop()),
                "yardstick": lambda: wrk(base + "/", script=yardstick),
                "trivial": lambda: wrk(base + "/", script=trivial),
            },
            rounds=ROUNDS,
        )
    print(f"database: {env['DATABASE_URL'].split(':')[0]}")
    print("POST throughput (gunicorn 2 workers, wrk 2 threads 8 connections, median of 3 x 5 s):")
    for name, value in medians.items():
        print(f"  {name:<13} {value:7.0f}/s")
    print(f"  registration / yardstick: {medians['registration'] / medians['yardstick']:.1%}")


if __name__ == "__main__":
    main()
