"""Programme page budgets: weight, requests, and throughput against the limit: a raw WSGI
app returning the same bytes through the same gunicorn (`/__raw`, not a Flask route).

Usage: python bench/programme_page.py [DATABASE_URL]
"""

from __future__ import annotations

import gzip
import re
import sys
import urllib.request
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


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET a URL; return status, headers and body."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def main() -> None:
    """Measure and print."""
    need_wrk()
    database_url = sys.argv[1] if len(sys.argv) > 1 else None
    env = bench_env(database_url, temp_instance())
    prepare_database(env)
    with gunicorn(env) as base:
        status, headers, page = fetch(base + "/")
        assert status == 200
        weight = {"html": len(gzip.compress(page))}
        for asset in re.findall(rb'(?:src|href)="(/static/[^"]+\.(?:js|css)[^"]*)"', page):
            weight[asset.decode().split("?")[0]] = len(
                gzip.compress(fetch(base + asset.decode())[2])
            )
        total = sum(weight.values())
        not_modified = fetch(base + "/", {"If-None-Match": headers["ETag"]})[0]
        print(f"database: {env['DATABASE_URL'].split(':')[0]}")
        print(
            f"page: {len(page)} bytes, {weight['html']} gzipped; Set-Cookie: {'Set-Cookie' in headers}"
        )
        print(f"HTML + CSS + JS gzipped: {total} bytes ({total / 1024:.1f} KB) {weight}")
        print(f"conditional GET with the ETag: {not_modified}")
        raw = fetch(base + "/__raw")[2]
        assert raw == page, "the yardstick answers other bytes than the page"
        medians = alternate(
            {
                "programme": lambda: wrk(base + "/"),
                "raw WSGI": lambda: wrk(base + "/__raw"),
                "episode": lambda: wrk(base + "/episodes/api"),
                "cycle.ics": lambda: wrk(base + "/cycle.ics"),
            }
        )
        print("throughput (gunicorn 2 workers, wrk 2 threads 8 connections, median of 3 x 5 s):")
        for name, value in medians.items():
            print(f"  {name:<10} {value:8.0f} req/s")
        print(f"  programme / raw WSGI: {medians['programme'] / medians['raw WSGI']:.1%}")


if __name__ == "__main__":
    main()
