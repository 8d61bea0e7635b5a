"""`flask facilitator create EMAIL`: a facilitator account from the command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from .accounts import (
    MIN_PASSWORD_LENGTH,
    AccountError,
    check_password,
    create_facilitator,
    normalise_email,
)

facilitator_cli = AppGroup("facilitator", help="Comptes de l’espace d’animation.")


@facilitator_cli.command("create")
@click.argument("email")
def create_command(email: str) -> None:
    """Create a facilitator account; the password is asked twice, never shown."""
    try:
        address = normalise_email(email)
        password = click.prompt(
            f"Mot de passe ({MIN_PASSWORD_LENGTH} caractères au moins)",
            hide_input=True,
            err=True,
            prompt_suffix="\u00a0: ",
        )
        check_password(password)
        again = click.prompt(
            "Le même mot de passe, une seconde fois",
            hide_input=True,
            err=True,
            prompt_suffix="\u00a0: ",
        )
        if again != password:
            raise AccountError("Les deux mots de passe ne sont pas identiques : rien n’a été créé.")
        create_facilitator(address, password)
    except AccountError as error:
        # click's own "Error:" prefix is English: say it ourselves, exit status 1.
        click.echo(f"Erreur : {error}", err=True)
        raise click.exceptions.Exit(1) from error
    click.echo(f"Compte créé pour {address} : connexion sur /animation/connexion.")
