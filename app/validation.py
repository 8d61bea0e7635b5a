"""Field validators shared by the public forms: translated messages, bounded, header-safe."""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from wtforms import Field, Form
from wtforms.validators import ValidationError

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
#: punctuation of real names: spaces, apostrophes, periods, hyphens (the non-breaking one too)
_NAME_PUNCTUATION = set(" '’.-\u2010\u2011\u00a0")


def strip(value: str | None) -> str:
    """Trim surrounding spaces and NFC-normalise (the same name typed twice compares equal)."""
    return unicodedata.normalize("NFC", value.strip()) if isinstance(value, str) else ""


def single_line(_form: Form, field: Field) -> None:
    """No line breaks nor control characters: they could forge e-mail headers."""
    if field.data and _CONTROL.search(field.data):
        raise ValidationError(_("Retirez les retours à la ligne et caractères invisibles."))


def is_person_name(text: str) -> bool:
    """Letters of any script with their combining marks (Devanagari and Tamil vowel signs,
    accents typed apart), and the punctuation of names; it starts with a letter."""
    if not text or unicodedata.category(text[0])[0] != "L":
        return False
    return all(unicodedata.category(char)[0] in "LM" or char in _NAME_PUNCTUATION for char in text)


def person_name(_form: Form, field: Field) -> None:
    """A name: letters of any alphabet, spaces, hyphens, apostrophes."""
    if field.data and not is_person_name(field.data):
        raise ValidationError(
            _("Utilisez uniquement des lettres, espaces, traits d’union et apostrophes.")
        )


def no_markup(_form: Form, field: Field) -> None:
    """No angle brackets: nobody's organisation or job title needs them."""
    if field.data and re.search(r"[<>]", field.data):
        raise ValidationError(_("Retirez les caractères < et >."))


def normalise_email(value: str) -> str:
    """Validate an address (syntax only, no DNS) and give its normalised, lower-case form."""
    if _CONTROL.search(value):
        raise ValueError(_("Retirez les retours à la ligne de l’adresse e-mail."))
    try:
        result = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise ValueError(
            _("Saisissez une adresse e-mail valide, par exemple nom@exemple.fr.")
        ) from error
    return result.normalized.lower()


def email_address(_form: Form, field: Field) -> None:
    """Validate and normalise the e-mail in place."""
    if not field.data:
        return
    try:
        field.data = normalise_email(field.data)
    except ValueError as error:
        raise ValidationError(str(error)) from error
