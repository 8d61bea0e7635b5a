"""The public programme: faithful content, French dates, states, caching, errors."""

from __future__ import annotations

import gzip
import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from app.extensions import db
from app.models import Episode, Series
from app.programme.services import load_programme, next_thursday, read_content
from tests.support.database import NOW
from tests.support.http import normalise_spaces

# The source document: a copy in the repository (a clone runs its tests on its own), checked
# against shared/seed/ beside the repository when that folder is there.
SEED = Path(__file__).resolve().parent / "data" / "cycle-webinaires-participation.txt"
SHARED_SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / SEED.name

MONTHS = {"avril": 4, "mai": 5, "juin": 6}


def in_french_quotes(text: str) -> str:
    """The source's English quotes as the site prints them: « » (spaces folded to plain)."""
    return re.sub(r"“([^”]*)”", r"« \1 »", text)


def seed_episodes() -> list[tuple[int, int, int, str]]:
    """(number, day, month, title) of every 'Episode N – D mois : Title' line of the source."""
    text = in_french_quotes(SEED.read_text(encoding="utf-8"))
    found = re.findall(r"^Episode (\d) – (\d+) (\w+) : (.+)$", text, flags=re.M)
    return [(int(n), int(d), MONTHS[m], title.strip()) for n, d, m, title in found]


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    """Visible text of a page, unescaped, spaces normalised."""
    body = response.get_data(as_text=True)
    body = re.sub(r"<script.*?</script>|<style.*?</style>", "", body, flags=re.S)
    return normalise_spaces(html.unescape(re.sub(r"<[^>]+>", " ", body)))


def test_seed_file_is_read() -> None:
    assert SEED.exists(), SEED
    assert len(seed_episodes()) == 7


@pytest.mark.skipif(not SHARED_SEED.exists(), reason="no shared/ folder beside the repository")
def test_seed_copy_matches_the_shared_source() -> None:
    assert SEED.read_bytes() == SHARED_SEED.read_bytes()


def test_programme_page_is_faithful_to_the_source(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        load_programme(original_dates=True)
    response = client.get("/")
    assert response.status_code == 200
    text = re.sub(r"\s+", " ", page_text(response))
    source = in_french_quotes(SEED.read_text(encoding="utf-8"))

    assert "Cycle de webinaires sur la participation" in text
    assert "La participation est-elle le nouvel opium du peuple ?" in text
    assert "Madame Michu existe-t-elle et qui peut le prouver ?" in text
    assert "Cap Collectif, pionnier et leader de la Civictech" in text
    assert (
        "5 années de consultation en ligne, 800 projets menés et 3 millions de contributions"
        in text
    )
    assert "des cas concrets" in text and "une parole libre" in text
    assert "animé par Thibaut Dernoncourt, Directeur Conseil chez Cap Collectif" in text
    assert "Esprits étroits ou radicaux s’abstenir" in text

    for number, day, month, title in seed_episodes():
        assert title in text, f"episode {number} title"
        month_name = {4: "avril", 5: "mai", 6: "juin"}[month]
        # Every source date, in French, with the default time (Europe/Paris).
        assert re.search(rf"jeudi {day} {month_name} 2020 · 11 h 00 – 12 h 00", text), number
    # Teasers and the bullet-listed cases of episodes 4 and 7, as written.
    for line in source.splitlines():
        line = line.strip().lstrip("•").strip()
        if len(line) > 60 and not line.startswith("Episode"):
            assert re.sub(r"\s+", " ", line) in text, line[:60]
    assert "Projet d’entraide directe pendant la crise du Covid-19" in text
    assert "les ateliers-relais pendant la consultation" in text
    # Speakers: the host on every episode, the guest on episode 6 only.
    assert text.count("Thibaut Dernoncourt") >= 8
    api = client.get("/episodes/api")
    assert "Aurélien David" in page_text(api)
    assert "Aurélien David" not in page_text(client.get("/episodes/budget-participatif"))


def test_demo_dates_put_episode_one_on_next_thursday(programme: Flask, client: FlaskClient) -> None:
    text = page_text(client.get("/"))
    # NOW is Wednesday 25 November 2026: episode 1 is the next day, then weekly.
    assert "jeudi 26 novembre 2026 · 11 h 00 – 12 h 00" in text
    assert "jeudi 3 décembre 2026 · 11 h 00 – 12 h 00" in text
    assert "jeudi 7 janvier 2027 · 11 h 00 – 12 h 00" in text
    assert text.count("À venir") == 7


@pytest.mark.parametrize(
    ("today", "expected"),
    [("2026-11-25", "2026-11-26"), ("2026-11-26", "2026-12-03"), ("2026-11-29", "2026-12-03")],
)
def test_next_thursday(today: str, expected: str) -> None:
    from datetime import date

    assert next_thursday(date.fromisoformat(today)) == date.fromisoformat(expected)


def test_winter_and_summer_time_are_paris_time(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        load_programme(original_dates=True)
        first = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
        # 23 April 2020, 11:00 in Paris is 09:00 UTC (summer time).
        assert first.starts_at.hour == 9
    with app.app_context():
        load_programme()
        first = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
        # 26 November 2026, 11:00 in Paris is 10:00 UTC (winter time).
        assert first.starts_at.hour == 10


def test_episode_states_follow_the_clock(programme: Flask, client: FlaskClient) -> None:
    clock = programme.extensions["clock"]
    with programme.app_context():
        first = db.session.scalars(sa.select(Episode).filter_by(number=1)).one()
        starts = first.starts_at
    clock.freeze(starts - timedelta(seconds=1))
    assert "En cours" not in page_text(client.get("/"))
    clock.freeze(starts + timedelta(minutes=5))
    text = page_text(client.get("/"))
    assert text.count("En cours") == 1 and text.count("À venir") == 6
    clock.freeze(starts + timedelta(hours=2))
    text = page_text(client.get("/"))
    assert text.count("Terminé") == 1
    assert "Le replay sera indiqué ici" in text


def test_original_dates_show_every_episode_past_with_replay(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    result = runner.invoke(args=["programme", "load", "--original-dates"])
    assert result.exit_code == 0, result.output
    assert "7 épisodes" in result.output
    with app.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(number=2)).one()
        episode.replay_url = "https://replay.example.org/episode-2"
        db.session.commit()
    response = client.get("/")
    text = page_text(response)
    assert text.count("Terminé") == 7
    assert "À venir" not in text
    assert 'href="https://replay.example.org/episode-2"' in response.get_data(as_text=True)
    assert "Le cycle est terminé" in text


def test_loading_twice_updates_in_place(app: Flask, runner: FlaskCliRunner) -> None:
    for _ in range(2):
        assert runner.invoke(args=["programme", "load"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Series)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Episode)) == 7
        sequences = set(db.session.scalars(sa.select(Episode.sequence)))
        assert sequences == {0}, "an unchanged load must not bump SEQUENCE"


def test_moving_an_episode_bumps_its_sequence(app: Flask) -> None:
    content = read_content()
    with app.app_context():
        load_programme(content=content)
        content["episodes"][2]["start_time"] = "14:00"
        load_programme(content=content)
        by_number = {e.number: e for e in db.session.scalars(sa.select(Episode))}
        assert by_number[3].sequence == 1
        assert by_number[4].sequence == 0


def test_default_time_is_a_content_setting(app: Flask, client: FlaskClient) -> None:
    content = read_content()
    content["series"]["default_start_time"] = "10:30"
    content["series"]["default_duration_minutes"] = 90
    with app.app_context():
        load_programme(original_dates=True, content=content)
    assert "jeudi 23 avril 2020 · 10 h 30 – 12 h 00" in page_text(client.get("/"))


def test_episode_page_is_shareable(programme: Flask, client: FlaskClient) -> None:
    response = client.get("/episodes/droit-de-suite")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<title>Épisode 5 : Droit de suite" in html.unescape(body)
    assert re.search(r'<meta name="description" content="Comment organiser le retour', body)
    for prop in ("og:title", "og:description", "og:url", "og:type"):
        assert f'property="{prop}"' in body
    assert 'content="https://webinaires.example.org/episodes/droit-de-suite"' in body


def test_unknown_episode_is_a_french_404(programme: Flask, client: FlaskClient) -> None:
    for url in ("/episodes/nexiste-pas", "/episodes/nexiste-pas.ics", "/nulle-part"):
        response = client.get(url)
        assert response.status_code == 404
        assert "Page introuvable" in response.get_data(as_text=True)
        assert 'lang="fr"' in response.get_data(as_text=True)


def test_htmx_error_gets_a_fragment(programme: Flask, client: FlaskClient) -> None:
    response = client.get("/episodes/nexiste-pas", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert "<html" not in response.get_data(as_text=True)
    assert 'role="alert"' in response.get_data(as_text=True)


def test_security_headers(programme: Flask, client: FlaskClient) -> None:
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "HX-Request" in response.headers["Vary"]


def test_no_inline_script_or_style_and_no_other_host(programme: Flask, client: FlaskClient) -> None:
    for url in ("/", "/episodes/api", "/confidentialite"):
        body = client.get(url).get_data(as_text=True)
        assert "<style" not in body
        assert not re.search(r"<script(?![^>]*\bsrc=)", body), "inline script"
        assert not re.search(r" style=", body)
        assert not re.search(
            r'(src|href)="(https?:)?//(?!webinaires\.example\.org)[^"]*\.(js|css)', body
        )
        for src in re.findall(r'<(?:script|img|link)[^>]+(?:src|href)="([^"]+)"', body):
            assert src.startswith(("/", "https://webinaires.example.org", "data:image/svg+xml,")), (
                src
            )


def test_htmx_is_self_hosted_2_0(programme: Flask, client: FlaskClient) -> None:
    body = client.get("/").get_data(as_text=True)
    src = re.search(r'<script src="(/static/js/htmx-2\.0\.\d+\.min\.js)\?v=\w+"', body)
    assert src
    with client.get(src.group(1)) as script:
        assert script.status_code == 200
        assert b'version:"2.0.' in script.data
    assert '"includeIndicatorStyles":false' in body
    assert '"allowEval":false' in body


def test_programme_page_is_cacheable_and_sessionless(programme: Flask, client: FlaskClient) -> None:
    programme.config["PROGRAMME_SNAPSHOT_SECONDS"] = 2  # as deployed
    first = client.get("/")
    assert "Set-Cookie" not in first.headers
    assert "Cookie" not in first.headers.get("Vary", "")
    etag = first.headers["ETag"]
    again = client.get("/", headers={"If-None-Match": etag})
    assert again.status_code == 304
    # The ETag follows each episode's state.
    with programme.app_context():
        starts = db.session.scalars(sa.select(Episode).filter_by(number=1)).one().starts_at
    programme.extensions["clock"].freeze(starts + timedelta(minutes=1))
    live = client.get("/", headers={"If-None-Match": etag})
    assert live.status_code == 200
    assert live.headers["ETag"] != etag
    # …and the content.
    etag_live = live.headers["ETag"]
    with programme.app_context(), db.engine.begin() as other_worker:
        other_worker.execute(
            sa.update(Episode)
            .where(Episode.number == 3)
            .values(title="Un autre titre", updated_at=NOW + timedelta(minutes=1))
        )
    # Another worker's change (straight to the database) shows once the snapshot is
    # PROGRAMME_SNAPSHOT_SECONDS old; until then the page is served without any query.
    assert client.get("/", headers={"If-None-Match": etag_live}).status_code == 304
    programme.extensions["clock"].freeze(starts + timedelta(minutes=1, seconds=2))
    changed = client.get("/", headers={"If-None-Match": etag_live})
    assert changed.status_code == 200
    assert "Un autre titre" in changed.get_data(as_text=True)


def test_programme_page_query_budget(programme: Flask, client: FlaskClient) -> None:
    programme.config["PROGRAMME_SNAPSHOT_SECONDS"] = 2  # as deployed
    statements: list[str] = []
    with programme.app_context():
        engine = db.engine

    def count(*args, **kwargs):  # type: ignore[no-untyped-def]
        statements.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        client.get("/")  # first render
        first = len(statements)
        statements.clear()
        client.get("/episodes/api")
        episode = len(statements)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert first <= 3, statements
    assert episode <= 3, "\n".join(s[:100] for s in statements)
    # Already rendered for this version and these states: no query at all.
    statements.clear()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/").status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert statements == []


def test_programme_page_weight_budget(programme: Flask, client: FlaskClient) -> None:
    body = client.get("/").get_data()
    total = len(gzip.compress(body))
    for asset in re.findall(rb'(?:src|href)="(/static/[^"?]+\.(?:js|css))', body):
        with client.get(asset.decode()) as response:
            total += len(gzip.compress(response.get_data()))
    assert total <= 40 * 1024, total


def test_healthz(programme: Flask, client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_a_dead_database(tmp_path: Path) -> None:
    from app import create_app

    bad = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/db.sqlite3",
            "OUTBOX_SEND_AFTER_REQUEST": False,  # no sender left trying a dead database
        }
    )
    response = bad.test_client().get("/healthz")
    assert response.status_code == 503


def test_privacy_page(client: FlaskClient, programme: Flask) -> None:
    text = page_text(client.get("/confidentialite"))
    assert "Qui traite vos données" in text and "Combien de temps" in text


def test_an_upcoming_episode_page_offers_registration(
    programme: Flask, client: FlaskClient
) -> None:
    body = client.get("/episodes/api").get_data(as_text=True)
    # The call registers for the episode the visitor is reading (issue 14).
    assert 'href="/inscription?episode=api"' in body
    assert ">S’inscrire</a>" in body
