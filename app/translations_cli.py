"""`flask translations update`: extract the texts and update the English catalogue;
`flask translations check`: fail if a text has no English (CI and the test suite run it)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import AppGroup

from .language import CATALOGUES, LANGUAGES, compile_catalogues, compiled_catalogues

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

# Babel's extraction tools are imported by the commands only: the site's workers never load
# them (a worker's memory is budgeted).

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "babel.cfg"
#: Flask-Babel's lazy names, beside Babel's own (texts of module constants: labels, messages)
LAZY_KEYWORDS = {"_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}

translations_cli = AppGroup("translations", help="Catalogues de traduction (anglais).")


def extract() -> Catalog:
    """Every text the code and templates mark for translation (babel.cfg says where)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with MAPPING.open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    catalogue = Catalog(locale=None)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords={**DEFAULT_KEYWORDS, **LAZY_KEYWORDS}
    ):
        catalogue.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalogue


def catalogue_path(language: str) -> Path:
    return CATALOGUES / language / "LC_MESSAGES" / "messages.po"


def read_catalogue(language: str) -> Catalog:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po

    path = catalogue_path(language)
    if not path.exists():
        return Catalog(locale=language)
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def missing(language: str) -> list[str]:
    """The texts of the code that the catalogue does not translate (or only fuzzily)."""
    catalogue = read_catalogue(language)
    gaps = []
    for message in extract():
        if not message.id:
            continue
        found = catalogue.get(message.id, message.context)
        strings = found.string if found is not None else None
        translated = all(strings) if isinstance(strings, tuple | list) else bool(strings)
        if found is None or not translated or found.fuzzy:
            gaps.append(message.id if isinstance(message.id, str) else message.id[0])
    return gaps


@translations_cli.command("update")
def update_command() -> None:
    """Extract the texts and update each catalogue (new texts come in untranslated)."""
    from babel.messages.pofile import write_po

    template = extract()
    for language in LANGUAGES[1:]:
        catalogue = read_catalogue(language)
        catalogue.update(template, no_fuzzy_matching=True)
        catalogue.project, catalogue.fuzzy = "Cycle de webinaires sur la participation", False
        path = catalogue_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalogue, width=100, omit_header=False, sort_output=False)
        click.echo(
            f"{path.relative_to(ROOT)}: {len(catalogue)} textes, {len(missing(language))} à traduire"
        )
    compile_catalogues(compiled_catalogues(current_app))


@translations_cli.command("check")
def check_command() -> None:
    """Fail if a text has no translation."""
    for language in LANGUAGES[1:]:
        gaps = missing(language)
        for text in gaps:
            click.echo(f"{language}: {text}")
        if gaps:
            raise SystemExit(f"{len(gaps)} texte(s) sans traduction ({language})")
    click.echo("Toutes les traductions sont là.")
