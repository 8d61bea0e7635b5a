"""Resident memory of a gunicorn worker (budget: under 100 MB), after it has served every
kind of page: the public pages, registrations, and the facilitator's review page, search and
CSV export with 10,000 questions on one episode.

Usage: python bench/worker_memory.py [--questions 10000] [--seconds 5]
(BENCH_DATABASE_URL=postgresql+psycopg://… for PostgreSQL; a throwaway SQLite file otherwise)

Reads VmRSS (now) and VmHWM (the most it ever held) of each worker from /proc, at boot and
after each round of load; the real app (`wsgi:app`), 2 workers as deployed.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_env, gunicorn, need_wrk, temp_instance, wrk
from bench.registration import script, visitor
from bench.review_page import PASSWORD, make_app, seed

BUDGET_MB = 100


def workers(master: int) -> list[int]:
    """The worker processes of a gunicorn master."""
    found = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True
    ).stdout
    return [int(pid) for pid in found.split()]


def memory(pid: int) -> tuple[float, float]:
    """Resident memory now and at its peak, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss, peak = (
        int(re.search(rf"{key}:\s+(\d+) kB", status).group(1)) for key in ("VmRSS", "VmHWM")
    )
    return rss / 1024, peak / 1024


def facilitator_cookie(base: str) -> str:
    """Log in through the real form; return the session cookie."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/animation/connexion").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode(
        {"email": "bench@example.org", "password": PASSWORD, "csrf_token": token}
    ).encode()
    opener.open(base + "/animation/connexion", data)
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def report(label: str, master: int) -> float:
    """Print each worker's memory; return the highest peak."""
    figures = [memory(pid) for pid in workers(master)]
    shown = ", ".join(f"{rss:.1f} MB (peak {peak:.1f})" for rss, peak in figures)
    print(f"  {label:<44} {shown}")
    return max(peak for _, peak in figures)


def main() -> None:
    """Seed, serve, load, read /proc."""
    need_wrk()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL")
    env = bench_env(database_url, temp_instance())
    slug = seed(make_app(env["DATABASE_URL"]), args.questions)
    review = f"/animation/episodes/{slug}/questions"
    print(f"database: {env['DATABASE_URL'].split(':')[0]}, {args.questions} questions on {slug}")
    print(f"worker memory (gunicorn 2 workers, wrk {args.seconds} s per round):")
    with gunicorn(env, app="wsgi:app") as base:
        report("after boot", base.pid)
        for path in ("/", f"/episodes/{slug}", "/cycle.ics", "/inscription", "/confidentialite"):
            wrk(base + path, seconds=args.seconds)
        report("public pages", base.pid)
        with ThreadPoolExecutor(8) as pool:
            visitors = list(pool.map(lambda _: visitor(base), range(3000)))
        wrk(base + "/", seconds=args.seconds, script=script("/inscription", visitors))
        report("registrations", base.pid)
        cookie = facilitator_cookie(base)
        headers = {"Cookie": cookie}
        for query in ("", "?statut=nouvelle", "?page=100", "?q=mobiliser"):
            wrk(base + review + query, seconds=args.seconds, headers=headers)
        report("review page (10,000 questions), search", base.pid)
        wrk(
            base + review.removesuffix("/questions") + "/questions.csv",
            seconds=args.seconds,
            headers=headers,
        )
        wrk(base + "/animation/inscrits.csv", seconds=args.seconds, headers=headers)
        peak = report("CSV exports (questions, registrations)", base.pid)
    verdict = "within" if peak < BUDGET_MB else "OVER"
    print(f"highest peak: {peak:.1f} MB ({verdict} the {BUDGET_MB} MB budget)")


if __name__ == "__main__":
    main()
