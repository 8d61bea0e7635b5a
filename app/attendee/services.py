"""Writes of the personal space: episodes followed, mail preferences, new links, erasure."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..clock import utcnow
from ..database import write
from ..extensions import db
from ..identity import issue_token
from ..mailing.notifications import queue_personal_link
from ..mailing.queue import QUEUED, drop_pending, recent_mail_count
from ..mailing.worker import before_delivery
from ..models import (
    Attendee,
    Episode,
    FacilitatorAction,
    LinkRequest,
    OutboxMessage,
    Question,
    Registration,
    Vote,
)
from ..questions.merges import detach_merges
from ..questions.services import recount_votes
from ..refusals import Refusal
from ..seats import fill_seats, lock_episodes, place, registered_episodes
from ..vocabulary import DeliveryState, EpisodeState, MailKind, MailTopic

#: personal-link e-mails per attendee per hour
MAX_LINKS_PER_HOUR = 3


class EpisodeClosed(Refusal):
    """The episode has started: following it or not can no longer change."""

    message = _l("Cet épisode a commencé : il ne peut plus être ajouté ni retiré.")


class EpisodeCancelled(Refusal):
    """The episode is cancelled: it can no longer be added."""

    message = _l("Cet épisode est annulé : il ne peut plus être ajouté ni retiré.")


def set_following(attendee_id: int, episode: Episode, follow: bool) -> None:
    """Follow or stop following an upcoming episode (idempotent): a seat while one is free,
    else the waiting list; who stops following gets none of its reminders still waiting in
    the outbox, and the seat they free goes at once to the first person waiting."""
    now = utcnow()
    state = episode.state(now)
    if state == EpisodeState.CANCELLED:
        raise EpisodeCancelled
    if state != EpisodeState.UPCOMING:
        raise EpisodeClosed
    with write():
        if follow:
            place(attendee_id, [episode.id], now)
        else:
            # The episode's lock first (app/seats.py), then the seat given on.
            fill_seats_after(
                [episode.id],
                sa.delete(Registration).where(
                    Registration.attendee_id == attendee_id, Registration.episode_id == episode.id
                ),
                now,
            )
            drop_pending(attendee_id, MailKind.of_topics(set(MailTopic)), episode_id=episode.id)


def fill_seats_after(episode_ids: list[int], delete: sa.Delete, now: datetime) -> None:
    """Run this delete of registrations, then give the seats it freed to those waiting."""
    if not episode_ids:
        db.session.execute(delete)
        return
    lock_episodes(episode_ids)
    db.session.execute(delete)
    fill_seats(episode_ids, now)


#: what an attendee may correct in their space (the address is the key: it stays)
CORRECTABLE = ("first_name", "last_name", "organisation", "organisation_kind", "job_title")


def update_details(attendee_id: int, values: dict[str, object]) -> None:
    """Correct the attendee's name, organisation and job title."""
    with write():
        attendee = db.session.get(Attendee, attendee_id)
        if attendee is None:
            return
        for name in CORRECTABLE:
            setattr(attendee, name, values[name] or "")
        attendee.updated_at = utcnow()


def send_new_link(attendee_id: int) -> bool:
    """Queue a new personal link by e-mail, unless too many went out this hour."""
    with write():
        attendee = db.session.get(Attendee, attendee_id)
        if attendee is None:
            return False
        if recent_mail_count(attendee.id, ("personal_link",)) >= MAX_LINKS_PER_HOUR:
            return False
        queue_personal_link(attendee, issue_token(attendee))
    return True


def request_link(series_id: int, email: str) -> None:
    """'Recevoir mon lien': note the address, nothing more (the same work whether it is
    registered or not, so the answer's time says nothing); the sender looks it up."""
    with write():
        db.session.add(LinkRequest(series_id=series_id, email=email, requested_at=utcnow()))
        db.session.info[QUEUED] = True  # wake the sender after the commit


@before_delivery
def process_link_requests(limit: int = 100) -> int:
    """Look up the addresses typed into 'Recevoir mon lien': a registered one gets a new link
    (within the hourly limit), an unknown one nothing; each request is then forgotten."""
    ids = list(db.session.scalars(sa.select(LinkRequest.id).order_by(LinkRequest.id).limit(limit)))
    sent = 0
    for request_id in ids:
        with write():
            request = db.session.get(LinkRequest, request_id)
            # Deleting first claims the request: two senders never both answer it.
            claimed = db.session.execute(sa.delete(LinkRequest).filter_by(id=request_id))
            if request is None or claimed.rowcount != 1:
                continue
            attendee_id = db.session.scalar(
                sa.select(Attendee.id).filter_by(series_id=request.series_id, email=request.email)
            )
        if attendee_id is not None and send_new_link(attendee_id):
            sent += 1
    return sent


def erase(attendee_id: int) -> None:
    """Delete the attendee and everything of theirs (registrations, links, questions, votes,
    queued e-mails, sessions), and recount the votes they had given."""
    with write():
        erase_attendees(sa.select(sa.literal(attendee_id)))


def erase_attendees(ids: sa.Select) -> None:
    """Delete these attendees and all that is theirs, in the caller's transaction: the
    facilitators' journal keeps what was done to their questions, not what was written."""
    voted = list(db.session.scalars(sa.select(Vote.question_id).where(Vote.attendee_id.in_(ids))))
    # Their seats go to the first people waiting, in this transaction. Locks in the order a
    # registration takes them (the attendee, then the episodes): no deadlock between the two.
    db.session.execute(sa.select(Attendee.id).where(Attendee.id.in_(ids)).with_for_update())
    freed = registered_episodes(ids)
    targets = sa.select(sa.literal("question:") + sa.cast(Question.id, sa.String)).where(
        Question.attendee_id.in_(ids)
    )
    db.session.execute(
        sa.update(FacilitatorAction).where(FacilitatorAction.target.in_(targets)).values(detail="")
    )
    # Others' questions merged into theirs are separated again, with their votes back.
    detach_merges(sa.select(Question.id).where(Question.attendee_id.in_(ids)))
    fill_seats_after(freed, sa.delete(Attendee).where(Attendee.id.in_(ids)), utcnow())
    recount_votes(voted)


def set_mail_preferences(
    attendee_id: int, wanted: set[MailTopic], language: str | None = None
) -> None:
    """Receive the e-mails of these topics and no others (in `language` from now on, when
    given); what waits in the outbox for a topic now refused is not sent."""
    values: dict[str, object] = {topic.value: topic in wanted for topic in MailTopic}
    if language is not None:
        values["language"] = language
    with write():
        db.session.execute(sa.update(Attendee).where(Attendee.id == attendee_id).values(values))
        drop_pending(attendee_id, MailKind.of_topics(set(MailTopic) - wanted))


def unsubscribe(attendee_id: int) -> None:
    """One-click unsubscribe (RFC 8058): no more reminders, notices or follow-ups. The person
    stays registered: their space still shows the episodes, their times and the join link."""
    set_mail_preferences(attendee_id, set())


def mails_sent_to(attendee_id: int, limit: int = 50) -> list[tuple[OutboxMessage, DeliveryState]]:
    """What was sent to the attendee, latest first, each with where it stands."""
    rows = db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.attendee_id == attendee_id)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    )
    return [(row, DeliveryState.of(row.status, row.last_error)) for row in rows]
