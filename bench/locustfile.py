"""The journey of one person, for Locust (started by bench/several_instances.py).

Each simulated person, again and again: reads the programme, opens the registration form
in place and sends it (a new address each time, the real form with its CSRF token and
honeypot time stamp), asks a question for the episode, opens a personal link (full rights),
reads the personal space, reads the episode page and votes for a published question, as the
page's form says (support, or withdraw the support given on an earlier round).

A personal link is only in the mail it was sent in, so the bench registered the people who
come back through theirs beforehand, with links it knows (BENCH_PEOPLE).

Settings from the environment: BENCH_HOSTS (one address behind nginx, or the instances'
addresses, used alternately), BENCH_PEOPLE (a JSON file: "links", "episode"),
BENCH_THINK (seconds between two steps, "min,max").
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from typing import Any
from urllib.parse import urlencode

from locust import between, task
from locust.contrib.fasthttp import FastHttpUser

HOSTS = os.environ.get("BENCH_HOSTS", "http://127.0.0.1:8000").split(",")
with open(os.environ["BENCH_PEOPLE"], encoding="utf-8") as _file:
    PEOPLE: dict[str, Any] = json.load(_file)
THINK = [float(part) for part in os.environ.get("BENCH_THINK", "1,3").split(",")]

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken":\s*"([^"]+)"')
STARTED = re.compile(r'<input[^>]*name="started"[^>]*value="([^"]+)"')
EPISODE = re.compile(r'name="episodes" type="checkbox" value="(\d+)"')
VOTE_FORM = re.compile(
    r'action="/questions/(\d+)/vote".*?name="csrf_token" value="([^"]+)"'
    r'.*?name="action" value="(soutenir|retirer)"',
    re.DOTALL,
)
#: a number per simulated person: its address and its personal link
_numbers = itertools.count()


def _token(html: str) -> str:
    match = CSRF.search(html.replace("&#34;", '"').replace("&quot;", '"'))
    return (match.group(1) or match.group(2)) if match else ""


#: a form as a browser sends it (every chosen episode its own field)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class Person(FastHttpUser):
    """One person on the site, going through the whole journey in a loop. FastHttpUser
    (geventhttpclient) spends a fifth of the CPU requests does per request: Locust shares
    the machine with the instances it measures."""

    host = HOSTS[0]
    wait_time = between(*THINK)

    def on_start(self) -> None:
        """Take a number: one of the people the bench registered with a known link."""
        self.number = next(_numbers)
        self.link = PEOPLE["links"][self.number % len(PEOPLE["links"])]
        self.episode = PEOPLE["episode"]
        self.rounds = 0
        first = self.number % len(HOSTS)
        self.hosts = itertools.cycle(HOSTS[first:] + HOSTS[:first])

    def url(self, path: str) -> str:
        """The next instance (alternately, without a proxy in front), and the path."""
        return next(self.hosts) + path

    def _get(self, step: str, path: str, **kwargs: Any) -> str:
        with self.client.get(self.url(path), name=step, catch_response=True, **kwargs) as answer:
            if answer.status_code >= 400:
                answer.failure(f"{answer.status_code}")
            return answer.text or ""

    def _post(self, step: str, path: str, data: dict, expect: str, **kwargs: Any) -> None:
        headers = {**FORM, **kwargs.pop("headers", {})}
        body = urlencode(data, doseq=True)
        with self.client.post(
            self.url(path), data=body, name=step, catch_response=True, headers=headers, **kwargs
        ) as answer:
            if answer.status_code != 200 or expect not in answer.text:
                answer.failure(f"{answer.status_code}: {answer.text[:200]!r}")

    @task
    def journey(self) -> None:
        """Programme, register, ask, personal link and space, vote."""
        self.rounds += 1
        self._get("1 programme /", "/")
        self.wait()
        zone = {"HX-Request": "true", "HX-Target": "inscription-zone"}
        form = self._get("2 formulaire (htmx)", "/inscription", headers=zone)
        self.wait()
        fields = {
            "csrf_token": _token(form),
            "started": (STARTED.search(form) or [None, ""])[1],
            "website": "",
            "first_name": "Camille",
            "last_name": "Charge",
            "email": f"personne{self.number}-{self.rounds}@bench.example.org",
            "organisation": "Ville de Rennes",
            "organisation_kind": "collectivite",
            "job_title": "Chargée de participation",
            "episodes": EPISODE.findall(form),
            "privacy": "y",
        }
        sent = {"HX-Request": "true", "HX-Target": "inscription-form"}
        self._post("3 inscription (POST)", "/inscription", fields, "inscription est", headers=sent)
        self.wait()
        ask = f"/episodes/{self.episode}/questions/poser"
        area = self._get("4 zone question (htmx)", ask, headers={"HX-Request": "true"})
        self.wait()
        question = {
            "csrf_token": _token(area),
            "text": f"Comment associer les habitants, round {self.rounds} de {self.number} ?",
        }
        self._post("5 question (POST)", ask, question, "question", headers={"HX-Request": "true"})
        self.wait()
        # The personal link answers 303 to /moi, the token-free address of the space.
        self._get("6 lien personnel", self.link, allow_redirects=False)
        self._get("7 espace personnel /moi", "/moi")
        self.wait()
        page = self._get("8 page épisode", f"/episodes/{self.episode}")
        forms = VOTE_FORM.findall(page)
        if not forms:
            return
        question_id, token, action = random.choice(forms)
        vote = {"csrf_token": token, "action": action, "tri": "votes"}
        headers = {"HX-Request": "true", "HX-Target": f"vote-{question_id}"}
        self.wait()
        self._post("9 vote (POST)", f"/questions/{question_id}/vote", vote, "vote", headers=headers)
