"""`flask retention purge`: erase personal data kept longer than the privacy notice says."""

from datetime import timedelta

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from ..clock import utcnow
from ..database import write
from ..extensions import db
from ..models import Attendee, Episode, OutboxMessage, OutboxStatus, Series
from ..sessions import purge_expired_sessions
from .services import erase_attendees

retention_cli = AppGroup("retention", help="Durée de conservation des données (RGPD).")


@retention_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Compter sans rien effacer.")
def purge_command(dry_run: bool) -> None:
    """Erase attendees of series that ended RETENTION_DAYS ago, and old delivered e-mails."""
    now = utcnow()
    cutoff = now - timedelta(days=int(current_app.config["RETENTION_DAYS"]))
    last_episode = (
        sa.select(Episode.series_id, sa.func.max(Episode.starts_at).label("last"))
        .group_by(Episode.series_id)
        .subquery()
    )
    expired_series = (
        sa.select(Series.id)
        .join(last_episode, last_episode.c.series_id == Series.id)
        .where(last_episode.c.last < cutoff)
    )
    attendees = sa.select(Attendee.id).where(Attendee.series_id.in_(expired_series))
    old_mail = sa.select(OutboxMessage.id).where(
        OutboxMessage.status != OutboxStatus.PENDING,
        OutboxMessage.created_at < now - timedelta(days=30),
    )
    counts = {
        "attendees": db.session.scalar(
            sa.select(sa.func.count()).select_from(attendees.subquery())
        ),
        "mails": db.session.scalar(sa.select(sa.func.count()).select_from(old_mail.subquery())),
    }
    if not dry_run:
        with write():
            erase_attendees(attendees)
            db.session.execute(sa.delete(OutboxMessage).where(OutboxMessage.id.in_(old_mail)))
            purge_expired_sessions(now)
    people, mails = counts["attendees"], counts["mails"]
    if dry_run:
        click.echo(f"Personnes à effacer : {people} · anciens e-mails à effacer : {mails}")
    else:
        click.echo(f"Personnes effacées : {people} · anciens e-mails effacés : {mails}")
