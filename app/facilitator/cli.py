"""`flask facilitator create|reset-password|remove EMAIL`: accounts from the command line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask.cli import AppGroup

from .accounts import (
    MIN_PASSWORD_LENGTH,
    AccountError,
    check_password,
    create_facilitator,
    normalise_email,
    remove_facilitator,
    reset_password,
)

facilitator_cli = AppGroup("facilitator", help="Comptes de l’espace d’animation.")


@contextmanager
def _french_errors() -> Iterator[None]:
    """An AccountError ends the command with its French message and exit status 1 (click's
    own "Error:" prefix is English)."""
    try:
        yield
    except AccountError as error:
        click.echo(f"Erreur : {error}", err=True)
        raise click.exceptions.Exit(1) from error


def _ask_password(email: str, nothing_done: str) -> str:
    """The password, asked twice and never shown; checked before the second prompt."""
    password = click.prompt(
        f"Mot de passe ({MIN_PASSWORD_LENGTH} caractères au moins)",
        hide_input=True,
        err=True,
        prompt_suffix="\u00a0: ",
    )
    check_password(password, email)
    again = click.prompt(
        "Le même mot de passe, une seconde fois",
        hide_input=True,
        err=True,
        prompt_suffix="\u00a0: ",
    )
    if again != password:
        raise AccountError(f"Les deux mots de passe ne sont pas identiques : {nothing_done}.")
    return password


@facilitator_cli.command("create")
@click.argument("email")
def create_command(email: str) -> None:
    """Create a facilitator account; the password is asked twice, never shown."""
    with _french_errors():
        address = normalise_email(email)
        create_facilitator(address, _ask_password(address, "rien n’a été créé"))
    click.echo(f"Compte créé pour {address} : connexion sur /animation/connexion.")


@facilitator_cli.command("reset-password")
@click.argument("email")
def reset_password_command(email: str) -> None:
    """Set a new password; every open session of that person ends."""
    with _french_errors():
        address = normalise_email(email)
        ended = reset_password(address, _ask_password(address, "rien n’a changé"))
    click.echo(f"Mot de passe changé pour {address} ; sessions fermées : {ended}.")


@facilitator_cli.command("remove")
@click.argument("email")
def remove_command(email: str) -> None:
    """Remove an account; every open session of that person ends (the journal keeps
    what was done, without the name)."""
    with _french_errors():
        address = normalise_email(email)
        ended = remove_facilitator(address)
    click.echo(f"Compte supprimé : {address} ; sessions fermées : {ended}.")
