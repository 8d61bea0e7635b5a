"""`flask outbox send`: queue the reminders that are due, then deliver what waits."""

import click
from flask.cli import AppGroup

from .queue import outbox_summary
from .reminders import queue_due_reminders
from .worker import deliver_due, delivering_here

outbox_cli = AppGroup("outbox", help="File d’attente des e-mails.")


@outbox_cli.command("send")
@click.option("--limit", default=1000, show_default=True, help="Nombre maximal de messages.")
def send_command(limit: int) -> None:
    """Queue due reminders, then deliver due messages (retries included): run it every minute."""
    with delivering_here():
        click.echo(f"Rappels mis en file : {queue_due_reminders()}")
        counts = deliver_due(limit=limit)
    click.echo(
        f"Envoyés : {counts['sent']} · à réessayer : {counts['retry']} · en échec : {counts['failed']}"
    )
    click.echo(f"File : {outbox_summary()}")
