"""`flask outbox send`: queue the reminders that are due, then deliver what waits."""

import click
from flask import current_app
from flask.cli import AppGroup

from .queue import outbox_summary
from .reminders import queue_due_reminders
from .worker import deliver_due

outbox_cli = AppGroup("outbox", help="File d’attente des e-mails.")


@outbox_cli.command("send")
@click.option("--limit", default=1000, show_default=True, help="Nombre maximal de messages.")
def send_command(limit: int) -> None:
    """Queue due reminders, then deliver due messages (retries included): run it every minute."""
    # This process delivers by itself: a background thread started by the reminders' commits
    # would die with it at exit, in the middle of a send.
    current_app.config["OUTBOX_SEND_AFTER_REQUEST"] = False
    click.echo(f"Rappels mis en file : {queue_due_reminders()}")
    counts = deliver_due(limit=limit)
    click.echo(
        f"Envoyés : {counts['sent']} · à réessayer : {counts['retry']} · en échec : {counts['failed']}"
    )
    click.echo(f"File : {outbox_summary()}")
