"""The load run of issue 12: 200 simulated people for 60 s on two instances of the site.

Starts everything itself and stops it by the PIDs it started: a PostgreSQL cluster of its
own (default durability: fsync and synchronous commit on), redis-server (rate limits), an
SMTP server in this process (aiosmtpd: the instances' senders deliver for real), two
gunicorn instances of two workers each (two "machines"), each with a sender of its own
(`flask outbox work`, as README's "Several instances" deploys it; `--senders workers`: the
workers' background senders instead), and nginx in front when it is installed (else Locust sends each person's requests alternately to both instances). Then
Locust, headless, drives the journey of bench/locustfile.py while this process samples the
database's connections (pg_stat_activity) twice a second.

Prints requests/s, p50/p95/p99 per step, errors, the connection count, and what the mail
and the database hold afterwards (no duplicate). Run it when the machine is quiet: it
prints the load average before and after.

    python bench/several_instances.py [--users 200] [--spawn-rate 50] [--run-time 60s]
        [--think 1,3] [--no-nginx] [--senders own|workers]

Needs the `bench` extra (`pip install -e ".[bench]"`: locust, aiosmtpd), PostgreSQL and
redis-server (`apt-get install -y postgresql redis-server`), nginx optionally
(`apt-get install -y nginx-light`).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.processes import (  # noqa: E402
    BIN,
    create_database,
    free_port,
    nginx,
    postgres_cluster,
    postgres_programs,
    redis_server,
    site_instance,
    stop,
)

#: people who come back through their personal link, and authors of published questions
RETURNING, AUTHORS = 200, 50
#: rate limits stay on (counted in Redis) but so high that none is reached: every simulated
#: person comes from 127.0.0.1
NO_LIMIT = '"100000 per minute"'


class MailCounter:
    """SMTP handler counting what arrives, and how many distinct Message-IDs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.ids: set[bytes] = set()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        content: bytes = envelope.content  # type: ignore[attr-defined]
        header = next(
            (line for line in content.splitlines() if line.lower().startswith(b"message-id:")),
            b"",
        )
        with self.lock:
            self.count += 1
            self.ids.add(header)
        return "250 OK"


def site_env(database_url: str, redis_url: str, smtp_port: int, proxied: bool) -> dict[str, str]:
    """The environment of both instances (and of the commands run on their database)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLASK_")}
    env.update(
        {
            "DATABASE_URL": database_url,
            "PYTHONPATH": str(ROOT),
            "FLASK_SECRET_KEY": f'"{secrets.token_urlsafe(32)}"',
            "FLASK_SITE_URL": "http://127.0.0.1:5000",
            "FLASK_WTF_CSRF_SSL_STRICT": "false",
            "FLASK_MAIL_SERVER": '"127.0.0.1"',
            "FLASK_MAIL_PORT": str(smtp_port),
            "FLASK_RATELIMIT_STORAGE_URI": redis_url,
            # The simulated people send the form back at once: no honeypot delay.
            "FLASK_HONEYPOT_MIN_SECONDS": "0",
            "FLASK_PROXY_FIX_X_FOR": "1" if proxied else "0",
        }
    )
    for name in ("REGISTRATION", "QUESTION", "VOTE", "LINK_REQUEST"):
        env[f"FLASK_RATELIMIT_{name}"] = NO_LIMIT
    return env


def flask(env: dict[str, str], *args: str) -> None:
    """Run `flask --app wsgi ARGS` on the site's database."""
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, check=True)


SEED = """
import json, secrets, sys
import sqlalchemy as sa
from app.clock import utcnow
from app.extensions import db
from app.identity import hash_token
from app.models import Attendee, AttendeeToken, Episode, Question, Registration
from app.vocabulary import QuestionStatus
returning, authors, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
episode = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
now = utcnow()
def person(email):
    return dict(series_id=episode.series_id, email=email, first_name="Dominique",
        last_name="Retour", organisation="Ville", organisation_kind="collectivite",
        job_title="", privacy_acknowledged_at=now, created_at=now, updated_at=now)
emails = [f"retour{n}@bench.example.org" for n in range(returning)]
emails += [f"auteur{n}@bench.example.org" for n in range(authors)]
db.session.execute(sa.insert(Attendee), [person(email) for email in emails])
ids = dict(db.session.execute(sa.select(Attendee.email, Attendee.id)).all())
db.session.execute(sa.insert(Registration),
    [dict(attendee_id=ids[e], episode_id=episode.id, created_at=now) for e in emails])
links = []
for n in range(returning):
    token = secrets.token_urlsafe(32)
    db.session.add(AttendeeToken(attendee_id=ids[emails[n]], token_hash=hash_token(token)))
    links.append(f"/moi/{token}")
for n in range(authors):
    db.session.add(Question(episode_id=episode.id, attendee_id=ids[f"auteur{n}@bench.example.org"],
        text=f"Question publiee n {n} : quels outils pour une concertation ?", show_name=False,
        status=QuestionStatus.NEW, published=True, created_at=now, updated_at=now))
db.session.commit()
json.dump({"links": links, "episode": episode.slug}, open(out, "w"))
"""


def seed(env: dict[str, str], people_file: Path) -> None:
    """People who registered before the run (with links the bench knows), and published
    questions to vote for."""
    program = "from wsgi import app\nwith app.app_context():\n" + "".join(
        f"    {line}\n" for line in SEED.strip().splitlines()
    )
    args = [sys.executable, "-c", program, str(RETURNING), str(AUTHORS), str(people_file)]
    subprocess.run(args, cwd=ROOT, env=env, check=True)


class ConnectionSampler(threading.Thread):
    """Count the database's connections (pg_stat_activity) twice a second."""

    def __init__(self, server_url: str, database: str) -> None:
        super().__init__(daemon=True)
        self.address = "postgresql://" + server_url.removeprefix("postgresql+psycopg://")
        self.database = database
        self.samples: list[tuple[int, int]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.address + "/postgres", autocommit=True) as conn:
            while not self.stopping.wait(0.5):
                total, active = conn.execute(
                    "SELECT count(*), count(*) FILTER (WHERE state = 'active')"
                    " FROM pg_stat_activity WHERE datname = %s",
                    (self.database,),
                ).fetchone()
                self.samples.append((total, active))


@contextmanager
def own_sender(env: dict[str, str]) -> Iterator[None]:
    """One machine's sender of its own, `flask outbox work`, behind the workers (`nice`),
    stopped as a service manager stops it (SIGTERM: the pass in hand ends first). Measured
    alternately, 3 runs each, p95 of all steps: 73, 120, 80 ms niced; 230, 330, 160 ms not
    (its bursts of mail then compete with the requests); 140, 260, 290 ms with the workers'
    background senders."""
    command = ["nice", "-n", "10", str(BIN / "flask"), "--app", "wsgi", "outbox", "work"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        yield
    finally:
        stop(process)


def warm_up(instances: list[str], people: Path) -> None:
    """Open each page kind a few times at once on every instance, as a deployment's checks
    would: every worker has compiled its templates and started its sender before the run."""
    episode = json.loads(people.read_text())["episode"]
    paths = ["/", "/inscription", f"/episodes/{episode}", "/healthz"]
    urls = [base + path for base in instances for path in paths for _ in range(4)]

    def fetch(url: str) -> None:
        with urllib.request.urlopen(url, timeout=30) as answer:
            answer.read()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(fetch, urls))


def locust(hosts: list[str], people: Path, args: argparse.Namespace, prefix: Path) -> None:
    """Run Locust headless on the journey; its CSV files start with `prefix`."""
    env = {**os.environ, "BENCH_HOSTS": ",".join(hosts), "BENCH_PEOPLE": str(people)}
    env["BENCH_THINK"] = args.think
    command = [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless"]
    command += ["--users", str(args.users), "--spawn-rate", str(args.spawn_rate)]
    command += ["--run-time", args.run_time, "--csv", str(prefix), "--host", hosts[0]]
    command += ["--only-summary", "--loglevel", "WARNING"]
    with (prefix.parent / "locust.log").open("w") as log:
        subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


#: the machine's processes, by what they are (their command line holds the words)
KINDS = {
    "gunicorn": "gunicorn",
    "outbox work": "sender",
    "postgres": "postgres",
    "locust": "locust",
    "nginx": "nginx",
    "redis": "redis",
    "several_instances": "several_instances",
}


def cpu_seconds() -> dict[str, float]:
    """CPU time used so far by every process on the machine, per kind (KINDS, else "other");
    read twice, it says what each part cost during the run."""
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # ended meanwhile
            continue
        kind = next((kind for words, kind in KINDS.items() if words in command), "other")
        # utime and stime (fields 14 and 15 of stat)
        used[kind] = used.get(kind, 0) + (int(fields[11]) + int(fields[12])) / tick
        if stat.parent.name == str(os.getpid()):
            # Locust has ended when this is read again: its time is this process's
            # waited-for children's (cutime, cstime), the only ones during the run.
            used["locust"] = used.get("locust", 0) + (int(fields[13]) + int(fields[14])) / tick
    return used


def print_cpu(before: dict[str, float], after: dict[str, float], requests: int) -> None:
    """CPU per request during the run, per kind of process."""
    spent = {kind: after.get(kind, 0) - before.get(kind, 0) for kind in after}
    parts = ", ".join(
        f"{kind} {seconds * 1000 / max(requests, 1):.1f}"
        for kind, seconds in sorted(spent.items(), key=lambda item: -item[1])
        if seconds > 0.05
    )
    print(f"CPU per request (ms, all processes of the machine, by kind): {parts}")


def print_report(prefix: Path, sampler: ConnectionSampler) -> None:
    """The table: requests/s, p50/p95/p99 per step, errors; then the connections."""
    with Path(f"{prefix}_stats.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    print(f"\n{'step':<26}{'requests':>9}{'errors':>8}{'req/s':>8}{'p50':>7}{'p95':>7}{'p99':>7}")
    for row in rows:
        name = row["Name"] if row["Name"] != "Aggregated" else "all steps"
        print(
            f"{name:<26}{row['Request Count']:>9}{row['Failure Count']:>8}"
            f"{float(row['Requests/s']):>8.1f}{row['50%']:>7}{row['95%']:>7}{row['99%']:>7}"
        )
    print("(times in ms)")
    failures = Path(f"{prefix}_failures.csv")
    if failures.exists():
        for row in list(csv.DictReader(failures.open()))[:10]:
            print(f"  error: {row['Name']}: {row['Error'][:160]} × {row['Occurrences']}")
    totals = [total for total, _ in sampler.samples] or [0]
    actives = [active for _, active in sampler.samples] or [0]
    print(
        f"\nPostgreSQL connections (pg_stat_activity, {len(sampler.samples)} samples): "
        f"max {max(totals)}, median {statistics.median(totals):g}; "
        f"active at once: max {max(actives)}, median {statistics.median(actives):g}"
    )


def requests_made(prefix: Path) -> int:
    """How many requests Locust made (its aggregated line)."""
    with Path(f"{prefix}_stats.csv").open() as handle:
        rows = [row for row in csv.DictReader(handle) if row["Name"] == "Aggregated"]
    return int(rows[0]["Request Count"]) if rows else 0


def print_afterwards(database_url: str, mail: MailCounter) -> None:
    """What the database and the SMTP server hold after the run: nothing twice."""
    address = "postgresql://" + database_url.removeprefix("postgresql+psycopg://")
    with psycopg.connect(address) as conn:
        (registered,) = conn.execute(
            "SELECT count(*) FROM attendee WHERE email LIKE 'personne%%'"
        ).fetchone()
        (questions,) = conn.execute("SELECT count(*) FROM question").fetchone()
        (votes,) = conn.execute("SELECT count(*) FROM vote").fetchone()
        (miscounted,) = conn.execute(
            "SELECT count(*) FROM question q WHERE q.vote_count <>"
            " (SELECT count(*) FROM vote v WHERE v.question_id = q.id)"
        ).fetchone()
        outbox = dict(conn.execute("SELECT status, count(*) FROM outbox_message GROUP BY 1"))
    print(
        f"Afterwards: {registered} new attendees, {questions} questions, {votes} votes "
        f"({miscounted} questions whose count differs from their votes); outbox {outbox}; "
        f"SMTP server received {mail.count} messages, {len(mail.ids)} distinct Message-IDs"
    )


def main() -> None:
    """Start everything, run Locust, print the figures, stop everything."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--spawn-rate", type=int, default=50)
    parser.add_argument("--run-time", default="60s")
    parser.add_argument("--think", default="1,3", help="seconds between two steps: min,max")
    parser.add_argument("--no-nginx", action="store_true")
    parser.add_argument(
        "--senders",
        choices=("own", "workers"),
        default="own",
        help="own: `flask outbox work` beside each instance; workers: each worker's thread",
    )
    args = parser.parse_args()

    programs = postgres_programs()
    nginx_program = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    missing = [
        name
        for name, found in (
            ("postgresql", programs),
            ("redis-server", shutil.which("redis-server")),
            ("locust (pip install -e '.[bench]')", (BIN / "locust").exists() or None),
        )
        if not found
    ]
    if missing:
        sys.exit(f"Missing: {', '.join(missing)}")
    proxied = nginx_program is not None and not args.no_nginx
    folder = Path(tempfile.mkdtemp(prefix="bench-instances-"))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    with ExitStack() as stack:
        server, _postgres = stack.enter_context(postgres_cluster(programs))
        database_url = create_database(server, "webinaires")
        redis_url = stack.enter_context(redis_server())
        mail = MailCounter()
        smtp = Controller(mail, hostname="127.0.0.1", port=free_port())
        smtp.start()
        stack.callback(smtp.stop)
        env = site_env(database_url, redis_url, smtp.port, proxied)
        flask(env, "db", "upgrade")
        flask(env, "programme", "load")
        people = folder / "people.json"
        seed(env, people)
        if args.senders == "own":
            env["FLASK_OUTBOX_SEND_AFTER_REQUEST"] = "false"
            for _ in range(2):
                stack.enter_context(own_sender(env))
        instances = [stack.enter_context(site_instance(env, workers=2)) for _ in range(2)]
        warm_up(instances, people)
        hosts = [stack.enter_context(nginx(instances, nginx_program))] if proxied else instances
        in_front = "nginx (round robin)" if proxied else "none: requests alternate"
        senders = (
            "a sender of its own each (flask outbox work)"
            if args.senders == "own"
            else "each worker's background sender"
        )
        print(f"two instances of 2 workers: {', '.join(instances)}; in front: {in_front}")
        print(f"mail: {senders}")
        print(f"{args.users} people, spawn rate {args.spawn_rate}/s, {args.run_time}")
        print(f"think time between two steps: {args.think.replace(',', ' to ')} s")

        sampler = ConnectionSampler(server, "webinaires")
        sampler.start()
        prefix = folder / "run"
        before = cpu_seconds()
        locust(hosts, people, args, prefix)
        after = cpu_seconds()
        sampler.stopping.set()
        sampler.join()
        time.sleep(3)  # let the senders finish what the last requests queued
        print_report(prefix, sampler)
        print_cpu(before, after, requests_made(prefix))
        print_afterwards(database_url, mail)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"Locust's CSV files and log: {folder}")


if __name__ == "__main__":
    main()
