"""`flask programme load`: the seed programme into the database."""

import click
from flask.cli import AppGroup

from ..timefmt import datetime_fr
from .services import load_programme

programme_cli = AppGroup("programme", help="Programme du cycle.")


@programme_cli.command("load")
@click.option(
    "--original-dates",
    is_flag=True,
    help="Garder les dates de 2020 (tous les épisodes passés) au lieu de recaler l’épisode 1 "
    "sur le jeudi qui vient.",
)
def load_command(original_dates: bool) -> None:
    """Load or update the programme from app/content/programme.toml."""
    series = load_programme(original_dates=original_dates)
    click.echo(f"{series.title} : {len(series.episodes)} épisodes.")
    for episode in series.episodes:
        click.echo(f"  {episode.number}. {datetime_fr(episode.starts_at)}  {episode.slug}")
