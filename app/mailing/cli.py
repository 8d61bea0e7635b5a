"""`flask outbox send`: deliver what waits in the outbox."""

import click
from flask.cli import AppGroup

from .queue import outbox_summary
from .worker import deliver_due

outbox_cli = AppGroup("outbox", help="File d’attente des e-mails.")


@outbox_cli.command("send")
@click.option("--limit", default=1000, show_default=True, help="Nombre maximal de messages.")
def send_command(limit: int) -> None:
    """Deliver due messages (retries included)."""
    counts = deliver_due(limit=limit)
    click.echo(
        f"Envoyés : {counts['sent']} · à réessayer : {counts['retry']} · en échec : {counts['failed']}"
    )
    click.echo(f"File : {outbox_summary()}")
