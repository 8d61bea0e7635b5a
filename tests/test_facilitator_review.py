"""Dashboard, question review, running order and live view, as a logged-in facilitator."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from app.extensions import db
from app.models import (
    Attendee,
    Episode,
    FacilitatorAction,
    Question,
    QuestionTheme,
    Registration,
    Theme,
)
from tests.support.database import NOW, count_queries
from tests.support.facilitator import log_in
from tests.support.http import csrf_from, htmx_headers, normalise_spaces
from tests.support.questions import starts_at

EPISODE = "plateformes-civictech"
REVIEW = f"/animation/episodes/{EPISODE}/questions"


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    """Visible text, tags removed, spaces folded."""
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", normalise_spaces(html.unescape(body)))


def add_questions(episode_id: int, questions: list[dict[str, object]]) -> None:
    """Many questions on the episode in one statement (in an app context): each one's
    text and attendee_id, its status (nouvelle) and vote_count (0) when given."""
    defaults = {
        "episode_id": episode_id,
        "status": "nouvelle",
        "vote_count": 0,
        "created_at": NOW,
        "updated_at": NOW,
    }
    db.session.execute(sa.insert(Question), [defaults | fields for fields in questions])
    db.session.commit()


def question(app: Flask, question_id: int) -> Question:
    with app.app_context():
        found = db.session.get(Question, question_id)
        db.session.expunge(found)
        return found


# ---------------------------------------------------------------- dashboard
def test_dashboard_shows_counts_per_episode(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question
) -> None:
    attendee, _ = make_attendee(episodes=(1, 2), organisation_kind="intercommunalite")
    make_attendee(episodes=(1,))
    make_question(attendee_id=attendee, votes=3)
    make_question(attendee_id=attendee, status="retenue", votes=2)
    make_question(attendee_id=attendee, status="ecartee", episode=2)
    response = facilitator_client.get("/animation/")
    assert response.status_code == 200
    text = text_of(response)
    assert "2 personnes inscrites au cycle" in text
    # Episode 1: 2 registrants, 1 new, 1 retained, 0 for every other fate, 5 votes.
    row = re.search(r"1\. Les plateformes.*?</tr>", response.get_data(as_text=True), re.S)
    assert row is not None
    cells = re.findall(r'<td class="num">(\d+)</td>', row.group(0))
    # One column per status, from the vocabulary (issue 10 added three fates).
    assert cells == ["2", "1", "1", "0", "0", "0", "0", "0", "5"]
    assert "Intercommunalité" in text
    assert 'role="img"' in response.get_data(as_text=True)
    assert "Nouvelles inscriptions par jour" in text


def test_dashboard_runs_a_constant_number_of_queries(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question
) -> None:
    with count_queries(programme) as few:
        facilitator_client.get("/animation/")
    for number in range(1, 8):
        attendee, _ = make_attendee(episodes=(number,))
        make_question(attendee_id=attendee, episode=number)
    with count_queries(programme) as many:
        facilitator_client.get("/animation/")
    assert len(few) == len(many) <= 8, many.statements


def test_signups_per_day_follow_paris_days(programme: Flask, make_attendee) -> None:
    from app.facilitator.dashboard import signups_per_day
    from app.models import Attendee

    ids = [make_attendee()[0] for _ in range(3)]
    with programme.app_context():
        # 23:30 UTC on 20 Nov is 00:30 on 21 Nov in Paris.
        moments = [NOW - timedelta(days=5, hours=-11, minutes=-30), NOW - timedelta(days=4), NOW]
        for attendee_id, moment in zip(ids, moments, strict=True):
            db.session.get(Attendee, attendee_id).created_at = moment
        db.session.commit()
        days = signups_per_day()
    assert [(d.isoformat(), n) for d, n in days] == [
        ("2026-11-21", 2),
        ("2026-11-22", 0),
        ("2026-11-23", 0),
        ("2026-11-24", 0),
        ("2026-11-25", 1),
    ]


# ---------------------------------------------------------------- review page
def test_review_filters_sorts_searches_and_paginates(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question
) -> None:
    attendee, _ = make_attendee()
    ids = [
        make_question(f"Question {n} sur la concertation", attendee_id=attendee, votes=n)
        for n in range(55)
    ]
    make_question("Le budget participatif 100% en ligne ?", attendee_id=attendee, status="retenue")
    make_question("Autre épisode", attendee_id=attendee, episode=2)

    first = facilitator_client.get(REVIEW)
    text = text_of(first)
    assert "56 questions · page 1 sur 2" in text
    assert text.index("Question 54 sur") < text.index("Question 53 sur")  # by votes
    assert "Autre épisode" not in text
    second = facilitator_client.get(REVIEW, query_string={"page": 2})
    assert "page 2 sur 2" in text_of(second)

    oldest = text_of(facilitator_client.get(REVIEW, query_string={"tri": "anciennes"}))
    assert oldest.index("Question 0 sur") < oldest.index("Question 1 sur")
    newest = text_of(facilitator_client.get(REVIEW, query_string={"tri": "recentes"}))
    assert newest.index("budget participatif") < newest.index("Question 54")

    retained = text_of(facilitator_client.get(REVIEW, query_string={"statut": "retenue"}))
    assert "1 question retenue" in retained and "Question 1 sur" not in retained

    found = text_of(facilitator_client.get(REVIEW, query_string={"q": "100%"}))
    assert "1 question contenant « 100% »" in found
    assert "budget participatif" in found
    # "_" and "%" are no wildcards ("b_dget" is two words, found nowhere together); a
    # search made of them alone has no word to look for: no filter (issue 12).
    none = text_of(facilitator_client.get(REVIEW, query_string={"q": "b_dget"}))
    assert "0 question contenant « b_dget »" in none
    symbols = text_of(facilitator_client.get(REVIEW, query_string={"q": "_%"}))
    assert "56 questions · page 1 sur 2" in symbols and "contenant" not in symbols

    # Unknown values fall back to defaults instead of failing.
    odd = facilitator_client.get(REVIEW, query_string={"statut": "x", "tri": "y", "page": "z"})
    assert odd.status_code == 200
    assert facilitator_client.get("/animation/episodes/inconnu/questions").status_code == 404
    assert ids


def test_a_page_past_the_end_shows_the_last_one_whatever_filters(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question
) -> None:
    """A link kept from a longer list (questions since merged, declined, untagged) opens on
    the last page there is, not on an empty "page 9 sur 2"."""
    attendee, _ = make_attendee()
    ids = [
        make_question(f"Question {n} sur la concertation", attendee_id=attendee, votes=n)
        for n in range(60)
    ]
    with programme.app_context():
        series_id = db.session.scalar(sa.select(Attendee.series_id).filter_by(id=attendee))
        theme = Theme(series_id=series_id, name="Jeunesse", key="jeunesse")
        db.session.add(theme)
        db.session.flush()
        db.session.add_all(QuestionTheme(question_id=i, theme_id=theme.id) for i in ids[:55])
        db.session.commit()
        theme_id = theme.id
    for args, title in [
        ({"page": 9}, "60 questions · page 2 sur 2"),
        (
            {"q": "concertation", "page": 9},
            "60 questions contenant « concertation » · page 2 sur 2",
        ),
        ({"theme": theme_id, "page": 9}, "55 questions sur le thème « Jeunesse » · page 2 sur 2"),
        ({"theme": theme_id, "q": "sur", "page": 9}, "page 2 sur 2"),
        ({"statut": "retenue", "q": "concertation", "page": 3}, "0 question retenue"),
    ]:
        text = text_of(facilitator_client.get(REVIEW, query_string=args))
        assert title in text, args
        if "page 2" in title:
            # the last page holds the rest: the least voted of the list
            assert "Question 0 sur la concertation" in text, args


def test_a_search_by_votes_shows_the_right_page_however_its_questions_are_found(
    facilitator_client: FlaskClient, programme: Flask, make_attendee
) -> None:
    """On PostgreSQL a search sorted by votes walks the most voted questions and keeps
    those that match, and sorts every match when too few of them do (a word only the least
    voted hold, a page further on): either way the page is the one a sort of every match
    gives, with its total. 400 questions, so that a walk sees only some of them."""
    from app.facilitator.review import ReviewFilters, review_page
    from app.programme.services import episode_or_404

    attendee, _ = make_attendee()
    votes = [(n * 37) % 400 // 2 for n in range(400)]  # scattered, each twice (ties)
    words = {
        "commun": lambda n: n % 10 != 0,  # nine in ten
        "moitie": lambda n: n % 2 == 0,  # one in two
        "parfois": lambda n: votes[n] % 8 == 0,  # one in eight: a walk finds some
        "rare": lambda n: votes[n] < 10,  # the 20 least voted only: a walk finds none
        "absent": lambda n: False,
    }
    with programme.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(slug=EPISODE)).one()
        add_questions(
            episode.id,
            [
                {
                    "attendee_id": attendee,
                    "text": f"Question {n} " + " ".join(w for w, has in words.items() if has(n)),
                    "status": "retenue" if n % 3 == 0 else "nouvelle",
                    "vote_count": votes[n],
                }
                for n in range(400)
            ],
        )
        questions = db.session.execute(
            sa.select(Question.id, Question.text, Question.vote_count, Question.status).where(
                Question.episode_id == episode.id
            )
        ).all()
    by_votes = sorted(questions, key=lambda q: (q.vote_count, q.id), reverse=True)
    for word in words:
        for status in (None, "retenue"):
            expected = [
                q.id
                for q in by_votes
                if word in q.text.split() and (status is None or q.status == status)
            ]
            for page in (1, 2, 5):
                want = expected[(page - 1) * 50 : page * 50]
                args = {"q": word, "page": str(page), "statut": status or ""}
                with programme.test_request_context():
                    for walk in (True, False):
                        shown = review_page(
                            episode_or_404(EPISODE), ReviewFilters.from_args(args), walk=walk
                        )
                        assert shown.total == len(expected), (word, status, page, walk)
                        if want:
                            ids = [row.id for row in shown.questions]
                            assert ids == want, (word, status, page, walk)
                    db.session.remove()
    # Through the page: the rare word, found by a sort after the walk fell short.
    text = text_of(facilitator_client.get(REVIEW, query_string={"q": "rare"}))
    assert "20 questions contenant « rare »" in text
    rare = [n for n in range(400) if words["rare"](n)]
    assert all(f"Question {n} " in text for n in rare)


def test_a_search_counts_up_to_a_thousand_and_says_plus_de_beyond(
    facilitator_client: FlaskClient, programme: Flask, make_attendee
) -> None:
    """A search that finds 1,100 questions says "plus de 1 000" (it stops counting there)
    and still pages through all of them; the last pages count exactly; lists without a
    search count exactly, in French (1 100)."""
    attendee, _ = make_attendee()
    with programme.app_context():
        episode_id = db.session.scalar(sa.select(Episode.id).filter_by(slug=EPISODE))
        add_questions(
            episode_id,
            [
                {
                    "attendee_id": attendee,
                    "text": f"Question {n} : " + ("concertation" if n < 1100 else "budget"),
                    "vote_count": n,
                }
                for n in range(1150)
            ],
        )
    for args, title in [
        ({"q": "concertation"}, "Plus de 1 000 questions contenant « concertation » · page 1 "),
        ({"q": "concertation", "page": 21}, "Plus de 1 050 questions contenant « concertation »"),
        (
            {"q": "concertation", "page": 22},
            "1 100 questions contenant « concertation » · page 22 sur 22",
        ),
        ({"q": "concertation", "statut": "nouvelle"}, "Plus de 1 000 questions nouvelles"),
        ({"q": "budget"}, "50 questions contenant « budget »"),
        ({}, "1 150 questions · page 1 sur 23"),
    ]:
        response = facilitator_client.get(REVIEW, query_string=args)
        assert response.status_code == 200
        assert title in text_of(response), args
    page = facilitator_client.get(REVIEW, query_string={"q": "concertation", "page": 20})
    text = text_of(page)
    assert "Plus de 1 000 questions" in text and "page 20 sur" not in text
    # the next page is offered, and it holds the next 50 by votes
    assert 'rel="next"' in page.get_data(as_text=True)
    assert "Question 100 : concertation" in text and "Question 99 :" not in text


def test_the_facilitators_counts_are_written_in_french_past_a_thousand(
    facilitator_client: FlaskClient, programme: Flask
) -> None:
    """1 200 people on the cycle, 1 050 questions: the dashboard, the list of registrants
    and the review's status filters write them as French does (a narrow no-break space
    between thousands), not « 1200 »."""
    with programme.app_context():
        episode = db.session.scalars(sa.select(Episode).filter_by(slug=EPISODE)).one()
        db.session.execute(
            sa.insert(Attendee),
            [
                {
                    "series_id": episode.series_id,
                    "email": f"personne{n}@example.org",
                    "first_name": "Camille",
                    "last_name": f"Martin{n}",
                    "organisation": "Ville de Rennes",
                    "organisation_kind": "collectivite",
                    "job_title": "",
                    "privacy_acknowledged_at": NOW,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for n in range(1200)
            ],
        )
        people = list(db.session.scalars(sa.select(Attendee.id).order_by(Attendee.id)))
        db.session.execute(
            sa.insert(Registration),
            [{"attendee_id": i, "episode_id": episode.id, "created_at": NOW} for i in people],
        )
        add_questions(
            episode.id, [{"attendee_id": people[n], "text": f"Question {n}"} for n in range(1050)]
        )
    dashboard = text_of(facilitator_client.get("/animation/"))
    assert "1 200 personnes inscrites au cycle" in dashboard
    assert "1 050" in dashboard and "1050" not in dashboard
    assert "1 200 personnes" in text_of(facilitator_client.get("/animation/inscrits"))
    review = text_of(facilitator_client.get(REVIEW))
    assert "Toutes 1 050" in review and "Nouvelles 1 050" in review
    assert "1 050 questions · page 1 sur 21" in review


def test_review_page_runs_a_constant_number_of_queries(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question
) -> None:
    attendee, _ = make_attendee()
    make_question(attendee_id=attendee)
    with count_queries(programme) as few:
        assert facilitator_client.get(REVIEW, query_string={"q": "mobiliser"}).status_code == 200
    other, _ = make_attendee()
    for n in range(60):
        make_question(f"mobiliser {n}", attendee_id=other if n % 2 else attendee)
    with count_queries(programme) as many:
        assert facilitator_client.get(REVIEW, query_string={"q": "mobiliser"}).status_code == 200
    assert len(few) == len(many) <= 6, many.statements


def test_each_action_in_place_with_htmx(
    facilitator_client: FlaskClient, programme: Flask, make_question
) -> None:
    question_id = make_question(votes=4)
    page = facilitator_client.get(REVIEW, query_string={"statut": "nouvelle"})
    token = csrf_from(page.get_data(as_text=True))
    url = f"{REVIEW}/{question_id}"
    back = f"{REVIEW}?statut=nouvelle"
    for action, check in [
        ("retenue", lambda q: q.status == "retenue" and q.live_order == 1),
        ("publier", lambda q: q.published),
        ("repondue", lambda q: q.status == "repondue" and q.live_order == 1),
        ("depublier", lambda q: not q.published),
        ("ecartee", lambda q: q.status == "ecartee" and q.live_order is None),
        ("nouvelle", lambda q: q.status == "nouvelle" and q.decline_reason is None),
    ]:
        if action == "ecartee":
            # Declining takes a reason (issue 10): it has its own form, in the fate panel.
            data = {"reason": "hors_sujet", "csrf_token": token, "back": back}
            target = f"{url}/sort/ecartee"
        else:
            data, target = {"action": action, "csrf_token": token, "back": back}, url
        response = facilitator_client.post(
            target, data=data, headers=htmx_headers(target=f"question-{question_id}")
        )
        assert response.status_code == 200, action
        body = response.get_data(as_text=True)
        assert body.lstrip().startswith('<li class="q q-'), action
        assert (
            'id="status-counts" class="status-counts" aria-label="Filtrer par statut" hx-swap-oob="true"'
            in body
        )
        assert 'id="review-announce" hx-swap-oob="innerHTML"' in body
        # The filter of the page the action came from stays current in the counts.
        assert re.search(r'statut=nouvelle"\s+aria-current="page"', body), action
        found = question(programme, question_id)
        assert check(found), action
        assert found.vote_count == 4  # never touched by a review action
        assert found.reviewed_by_id is not None and found.reviewed_at == NOW
    with programme.app_context():
        logged = [a.action for a in db.session.scalars(sa.select(FacilitatorAction))]
    assert [a for a in logged if a.startswith("question.")] == [
        "question.retenue",
        "question.publier",
        "question.repondue",
        "question.depublier",
        "question.ecartee",
        "question.nouvelle",
    ]


def test_actions_work_without_javascript(
    facilitator_client: FlaskClient, programme: Flask, make_question
) -> None:
    question_id = make_question()
    page = facilitator_client.get(REVIEW, query_string={"tri": "anciennes", "q": "mobiliser"})
    token = csrf_from(page.get_data(as_text=True))
    back = f"{REVIEW}?tri=anciennes&q=mobiliser"
    response = facilitator_client.post(
        f"{REVIEW}/{question_id}", data={"action": "retenue", "csrf_token": token, "back": back}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == back  # filters kept
    followed = facilitator_client.get(back)
    assert f"Question n° {question_id} retenue." in text_of(followed)
    # A 'back' that leaves the facilitator's space is ignored.
    response = facilitator_client.post(
        f"{REVIEW}/{question_id}",
        data={"action": "nouvelle", "csrf_token": token, "back": "https://evil.example/"},
    )
    assert response.headers["Location"] == REVIEW


def test_bad_actions_are_refused_cleanly(
    facilitator_client: FlaskClient, programme: Flask, make_question
) -> None:
    question_id = make_question()
    other_episode = make_question(episode=2)
    token = csrf_from(facilitator_client.get(REVIEW).get_data(as_text=True))
    assert (
        facilitator_client.post(
            f"{REVIEW}/{question_id}", data={"action": "supprimer", "csrf_token": token}
        ).status_code
        == 400
    )
    assert (
        facilitator_client.post(
            f"{REVIEW}/{other_episode}", data={"action": "retenue", "csrf_token": token}
        ).status_code
        == 404
    )
    assert (
        facilitator_client.post(
            f"{REVIEW}/999999", data={"action": "retenue", "csrf_token": token}
        ).status_code
        == 404
    )
    assert question(programme, other_episode).status == "nouvelle"


def test_private_note_is_saved_and_bounded(
    facilitator_client: FlaskClient, programme: Flask, make_question
) -> None:
    question_id = make_question()
    token = csrf_from(facilitator_client.get(REVIEW).get_data(as_text=True))
    url = f"{REVIEW}/{question_id}/note"
    response = facilitator_client.post(
        url,
        data={"note": "  À poser en premier <b>!</b>  ", "csrf_token": token},
        headers=htmx_headers(target=f"question-{question_id}"),
    )
    assert response.status_code == 200
    assert "À poser en premier &lt;b&gt;!&lt;/b&gt;" in response.get_data(as_text=True)
    assert question(programme, question_id).note == "À poser en premier <b>!</b>"

    too_long = facilitator_client.post(
        url,
        data={"note": "x" * 1001, "csrf_token": token},
        headers=htmx_headers(target=f"question-{question_id}"),
    )
    assert too_long.status_code == 422
    assert "1 000 caractères au plus." in too_long.get_data(as_text=True)
    assert 'aria-invalid="true"' in too_long.get_data(as_text=True)
    assert question(programme, question_id).note == "À poser en premier <b>!</b>"

    plain = facilitator_client.post(url, data={"note": "Sans JS", "csrf_token": token})
    assert plain.status_code == 303
    assert question(programme, question_id).note == "Sans JS"


def test_new_questions_are_counted_since_the_page_was_loaded(
    facilitator_client: FlaskClient, programme: Flask, make_question
) -> None:
    make_question()
    page = facilitator_client.get(REVIEW).get_data(as_text=True)
    poll = re.search(r'hx-get="([^"]+nouvelles[^"]+)"', page)
    assert poll is not None and 'hx-trigger="every 20s"' in page
    url = poll.group(1).replace("&amp;", "&")
    assert facilitator_client.get(url, headers=htmx_headers()).status_code == 204
    for _ in range(3):
        make_question("Une de plus")
    response = facilitator_client.get(url, headers=htmx_headers())
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "3 nouvelles questions depuis l’ouverture de la page." in body
    # The poller comes back knowing what was announced: no repeat until it changes.
    again = re.search(r'hx-get="([^"]+)"', body).group(1).replace("&amp;", "&")
    assert "deja=3" in again
    assert facilitator_client.get(again, headers=htmx_headers()).status_code == 204


# ---------------------------------------------------------------- running order and live
def test_running_order_moves_up_and_down(
    facilitator_client: FlaskClient, programme: Flask, make_question
) -> None:
    first = make_question("Première", status="retenue", live_order=1)
    second = make_question("Deuxième", status="retenue", live_order=2)
    third = make_question("Troisième", status="retenue", votes=9)  # no place yet: last
    make_question("Pas retenue")
    order_url = f"/animation/episodes/{EPISODE}/ordre"
    page = facilitator_client.get(order_url)
    text = text_of(page)
    assert text.index("Première") < text.index("Deuxième") < text.index("Troisième")
    assert "Pas retenue" not in text
    token = csrf_from(page.get_data(as_text=True))

    response = facilitator_client.post(
        order_url,
        data={"question_id": third, "direction": "monter", "csrf_token": token},
        headers=htmx_headers(target="running-order"),
    )
    assert response.status_code == 200
    text = text_of(response)
    assert text.index("Première") < text.index("Troisième") < text.index("Deuxième")
    assert "Question déplacée en place 2 sur 3." in text

    plain = facilitator_client.post(
        order_url, data={"question_id": first, "direction": "descendre", "csrf_token": token}
    )
    assert plain.status_code == 303
    assert [question(programme, i).live_order for i in (third, first, second)] == [1, 2, 3]
    # The top one cannot go higher: nothing changes, a French message says why.
    facilitator_client.post(
        order_url, data={"question_id": third, "direction": "monter", "csrf_token": token}
    )
    assert "ne peut pas aller plus loin" in text_of(facilitator_client.get(order_url))
    assert (
        facilitator_client.post(
            order_url, data={"question_id": third, "direction": "sauter", "csrf_token": token}
        ).status_code
        == 400
    )


def test_live_view_shows_the_question_on_screen_and_marks_it_answered(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question
) -> None:
    # Issue 10: the live view shows the question chosen from the running order (kept on
    # the server, so the shared screen follows), with the next ones under it.
    named, _ = make_attendee(first_name="Aïcha", last_name="Benali", organisation="Ville de Lyon")
    first = make_question(
        "Première question ?", status="retenue", live_order=1, attendee_id=named, show_name=True
    )
    second = make_question("Deuxième question ?", status="retenue", live_order=2, votes=4)
    live_url = f"/animation/episodes/{EPISODE}/direct"
    page = facilitator_client.get(live_url)
    text = text_of(page)
    assert "Question 1 sur 2" in text and "Première question ?" in text
    assert "À suivre Deuxième question ? 4 votes" in text
    assert "Aïcha Benali, Ville de Lyon" in text
    assert 'class="site-header"' in page.get_data(as_text=True)  # hidden by .live-mode
    assert 'body class="live-mode"' in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))
    moved = facilitator_client.post(
        f"{live_url}/ecran", data={"direction": "suivante", "csrf_token": token}
    )
    assert moved.status_code == 303 and moved.headers["Location"].endswith("/direct")
    text = text_of(facilitator_client.get(live_url))
    assert "Question 2 sur 2" in text and "Deuxième question ?" in text
    assert "Aïcha Benali" not in text  # the name only when the author chose so
    # Answered on air at 12 min 34 s of the live: its moment in the replay is recorded.
    programme.extensions["clock"].freeze(
        starts_at(programme, 1) + timedelta(minutes=12, seconds=34)
    )

    assert log_in(facilitator_client).status_code == 303
    token = csrf_from(facilitator_client.get(live_url).get_data(as_text=True))
    response = facilitator_client.post(live_url, data={"question_id": second, "csrf_token": token})
    assert response.status_code == 303
    answered = question(programme, second)
    assert (answered.status, answered.replay_seconds) == ("repondue", 754)
    assert question(programme, first).status == "retenue"
    assert facilitator_client.get(live_url, query_string={"n": 99}).status_code == 200


def test_the_live_view_poll_answers_204_until_something_changes(
    facilitator_client: FlaskClient, programme: Flask, make_question
) -> None:
    make_question("Retenue d’abord ?", status="retenue", live_order=1, votes=1)
    live_url = f"/animation/episodes/{EPISODE}/direct"
    page = facilitator_client.get(live_url).get_data(as_text=True)
    poll = html.unescape(re.search(r'id="live-screen"[^>]*hx-get="([^"]+)"', page).group(1))
    assert 'hx-trigger="every 3s"' in page
    headers = htmx_headers(target="live-screen")
    assert facilitator_client.get(poll, headers=headers).status_code == 204
    # A question retained meanwhile shows up by itself under "À suivre".
    make_question("Retenue pendant le direct ?", status="retenue", live_order=2)
    fresh = facilitator_client.get(poll, headers=headers)
    assert fresh.status_code == 200
    assert "Retenue pendant le direct ?" in text_of(fresh)
    assert "<html" not in fresh.get_data(as_text=True)


def test_question_text_is_inert_on_every_facilitator_view(
    programme: Flask, facilitator_client: FlaskClient, make_question
) -> None:
    payload = '<img src=x onerror=alert(1)> <b hx-get="/animation/" hx-trigger="load">x</b>'
    make_question(text=payload, status="retenue")
    base = "/animation/episodes/plateformes-civictech"
    for url in (f"{base}/questions", f"{base}/ordre", f"{base}/direct", f"{base}/impression"):
        body = facilitator_client.get(url).get_data(as_text=True)
        assert "<img src=x" not in body and '<b hx-get="/animation/"' not in body, url
        assert re.search(r"<p[^>]*hx-disable[^>]*>&lt;img src=x", body), url


def test_row_addresses_built_once_a_page_are_url_for_s(app: Flask) -> None:
    """The review rows' addresses come from one url_for per page (links.address_per_id):
    the same as url_for for every id, even when the sample id shows elsewhere."""
    from flask import url_for

    from app.links import address_per_id

    with app.test_request_context():
        for slug, back in [("episode-1", "/animation/x?q=a b&page=2"), ("e2109876543", None)]:
            for endpoint in ("facilitator.act", "facilitator.fate_panel"):
                values = {"slug": slug, "back": back} if "panel" in endpoint else {"slug": slug}
                address = address_per_id(endpoint, "question_id", **values)
                for question_id in (1, 42, 2_109_876_543):
                    expected = url_for(endpoint, question_id=question_id, **values)
                    assert address(question_id) == expected


def test_each_row_s_buttons_are_its_own(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question
) -> None:
    """Rows of one kind share one drawing (rows.RowDrawer): each row still carries its own
    id, revision, addresses and pressed button, and no marker."""
    attendee, _ = make_attendee()
    kinds = [("nouvelle", False), ("retenue", True), ("nouvelle", True), ("retenue", False)]
    ids = [
        make_question(f"Question {n}", attendee_id=attendee, status=status, published=published)
        for n, (status, published) in enumerate(kinds * 2)
    ]
    with programme.app_context():
        for n, question_id in enumerate(ids):
            db.session.get(Question, question_id).revision = 10 + n
        db.session.commit()
    page = facilitator_client.get(REVIEW).get_data(as_text=True)
    assert "\ue000" not in page and "\ue001" not in page
    for n, question_id in enumerate(ids):
        status, published = (kinds * 2)[n]
        row = re.search(rf'<li [^>]*id="question-{question_id}".*?</li>', page, re.S).group(0)
        form = re.search(r'<form [^>]*class="q-actions".*?</form>', row, re.S).group(0)
        assert f'action="{REVIEW}/{question_id}"' in form
        assert f'name="revision" value="{10 + n}"' in form
        assert f'aria-label="Statut de la question n° {question_id}"' in form
        pressed = re.findall(r'id="q(\d+)-(\w+)"[^>]*aria-pressed="true"', form)
        assert pressed == [(str(question_id), status)]
        assert ("Dépublier" if published else "Publier") in form
        openers = re.findall(r'href="([^"]+)"[^>]*hx-target="#q(\d+)-sort"', row)
        assert len(openers) == 3 and {q for _, q in openers} == {str(question_id)}
        assert all(f"/questions/{question_id}/sort" in html.unescape(u) for u, _ in openers)


def test_a_row_drawn_from_its_kind_is_the_row_drawn_alone(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question
) -> None:
    """The list draws each kind of row once and puts each row's values in; every row of a
    page with every status, published or not, notes, votes, fates and hostile text reads
    exactly as the row template draws it alone (as after an action), and again on the
    next request, from the kept drawings."""
    from app.facilitator.review import ReviewFilters, review_page
    from app.facilitator.rows import ROW_TEMPLATE, RowDrawer, RowMaker
    from app.programme.services import episode_or_404

    hostile = "Texte <script>alert(1)</script> {0} {{x}} \ue000id\ue001 & « ' \" »"
    attendee, _ = make_attendee(organisation="Ville <&> {1}")
    statuses = ["nouvelle", "retenue", "repondue", "ecartee", "ecrit", "nouvelle"]
    ids = [
        make_question(
            hostile if n % 3 == 0 else f"Question {n}",
            attendee_id=attendee,
            status=statuses[n % len(statuses)],
            published=n % 2 == 0,
            show_name=n % 4 == 0,
            votes=n % 3,
        )
        for n in range(24)
    ]
    with programme.app_context():
        for n, question_id in enumerate(ids):
            row = db.session.get(Question, question_id)
            row.note = ("Note <b>{}</b> " * (n % 3)) + "x" * (n * 7 % 90)
            row.revision = n
            if row.status == "repondue" and n % 2:
                row.replay_seconds = 61 * n
        db.session.get(Question, ids[7]).status = "fusionnee"
        db.session.get(Question, ids[7]).merged_into_id = ids[1]
        db.session.commit()
    for _ in range(2):
        with programme.test_request_context(REVIEW + "?page=1"):
            episode = episode_or_404(EPISODE)
            view = review_page(episode, ReviewFilters.from_args({}))
            assert len(view.questions) == 24
            maker, draw = RowMaker(episode, "/retour?a=1&b=2", "jeton"), RowDrawer()
            alone = programme.jinja_env.get_template(ROW_TEMPLATE).module.question_row
            kinds = set()
            for question in view.questions:
                row = maker.row(question, view.details[question.id])
                kinds.add(row.kind())
                assert str(draw(row)) == str(alone(row)), question.id
            assert 1 < len(kinds) < len(view.questions)
    page = facilitator_client.get(REVIEW).get_data(as_text=True)
    # The text as its author wrote it, markers and braces included, escaped once.
    assert "<script>alert" not in page
    assert page.count(str(escape(hostile))) == 8
    assert page.count("Ville &lt;&amp;&gt; {1}") == 24


def test_theme_names_are_shown_as_written_whatever_their_characters(
    facilitator_client: FlaskClient, programme: Flask, make_attendee, make_question
) -> None:
    """Theme tags are drawn once a page per set of themes, their names filled in: a name
    holding the drawing's own marker characters (pasted from a PDF) is shown as written,
    and the page still answers."""
    from app.models import QuestionTheme, Series, Theme

    attendee, _ = make_attendee()
    ids = [make_question(f"Question {n}", attendee_id=attendee) for n in range(3)]
    names = ["Budget \ue000 2027", "\ue000id\ue001", "Jeunesse <b>&</b>"]
    with programme.app_context():
        series_id = db.session.scalars(sa.select(Series.id)).one()
        themes = [Theme(series_id=series_id, name=name, key=name.lower()) for name in names]
        db.session.add_all(themes)
        db.session.flush()
        for question_id in ids:
            for theme in themes:
                db.session.add(QuestionTheme(question_id=question_id, theme_id=theme.id))
        db.session.commit()
    response = facilitator_client.get(REVIEW)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for question_id in ids:
        tags = re.search(
            rf'<ul class="theme-tags" aria-label="Thèmes de la question n° {question_id}">.*?</ul>',
            page,
            re.S,
        ).group(0)
        shown = [html.unescape(name) for name in re.findall(r"<a [^>]*>([^<]*)</a>", tags)]
        assert sorted(shown) == sorted(names)
