"""`flask outbox send`: queue the reminders that are due, then deliver what waits.
`flask outbox work`: the same without stopping, a sender of its own beside the site."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
from flask.cli import AppGroup

from ..extensions import db
from ..logs import get_logger
from .queue import outbox_summary
from .worker import deliver_pass

outbox_cli = AppGroup("outbox", help="File d’attente des e-mails.")
log = get_logger(__name__)


def _sent_line(counts: dict[str, int]) -> str:
    return (
        f"Envoyés : {counts['sent']} · à réessayer : {counts['retry']}"
        f" · en échec : {counts['failed']}"
    )


@outbox_cli.command("send")
@click.option("--limit", default=1000, show_default=True, help="Nombre maximal de messages.")
def send_command(limit: int) -> None:
    """Queue due reminders, then deliver due messages (retries included): run it every minute."""
    queued, counts = deliver_pass(limit=limit)
    click.echo(f"Rappels mis en file : {queued}")
    click.echo(_sent_line(counts))
    click.echo(f"File : {outbox_summary()}")


#: messages a pass of `outbox work` delivers before it looks at the reminders again
WORK_BATCH = 50


@outbox_cli.command("work")
@click.option(
    "--every",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.05, max=3600),
    help="Secondes d’attente entre deux passages quand rien n’attend.",
)
def work_command(every: float) -> None:
    """Deliver without stopping: due reminders, then what waits, again every N seconds.

    A sender of its own, one per machine, beside the site's workers (started with
    FLASK_OUTBOX_SEND_AFTER_REQUEST=false): a worker then renders no mail between two
    requests. SIGTERM or Ctrl-C: the pass in hand ends, then the command stops."""
    stopping = threading.Event()

    def stop(_signal: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"Envoi en continu, toutes les {every:g} s (arrêt : SIGTERM ou Ctrl-C).")
    while not stopping.is_set():
        busy = False
        try:
            _queued, counts = deliver_pass(limit=WORK_BATCH)
            busy = sum(counts.values()) >= WORK_BATCH  # more may wait: no pause
            if any(counts.values()):
                click.echo(_sent_line(counts))
        except Exception:  # the database or the mail server away: try again at the next pass
            log.exception("outbox delivery failed")
            db.session.rollback()
        finally:
            db.session.remove()
        if not busy:
            stopping.wait(every)
    click.echo("Arrêté.")
