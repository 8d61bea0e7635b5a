"""Forms of the questions area: a question, a vote."""

from __future__ import annotations

import re
import unicodedata

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, TextAreaField
from wtforms.validators import AnyOf, StopValidation, ValidationError

from ..forms import Form
from .board import DEFAULT_SORT, SORTS

MIN_LENGTH = 10
MAX_LENGTH = 500

# Control characters other than the line feed and tab: invisible, and NUL breaks PostgreSQL.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def normalise_text(value: str | None) -> str:
    """One form of each character, LF line ends (browsers send CRLF), no outer spaces."""
    if value is None:
        return ""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", value).strip()


def required_text(form: FlaskForm, field: TextAreaField) -> None:
    """Something must remain once spaces are trimmed."""
    if not field.data:
        raise StopValidation(_("Écrivez votre question avant de l’envoyer."))


required_text.field_flags = {"required": True}  # type: ignore[attr-defined]


def plain_text(form: FlaskForm, field: TextAreaField) -> None:
    """Refuse invisible control characters."""
    if _CONTROL.search(field.data or ""):
        raise StopValidation(_("Votre question contient des caractères invisibles non autorisés."))


def bounded_length(form: FlaskForm, field: TextAreaField) -> None:
    """Between 10 and 500 characters, said with the current count."""
    length = len(field.data or "")
    if length < MIN_LENGTH:
        raise ValidationError(
            _(
                "Votre question est trop courte : %(min)s caractères au moins "
                "(elle en compte %(length)s).",
                min=MIN_LENGTH,
                length=length,
            )
        )
    if length > MAX_LENGTH:
        raise ValidationError(
            _(
                "Votre question est trop longue : %(max)s caractères au plus "
                "(elle en compte %(length)s).",
                max=MAX_LENGTH,
                length=length,
            )
        )


class QuestionForm(Form):
    """A question for an episode (new or edited)."""

    text = TextAreaField(
        _l("Votre question"),
        filters=[normalise_text],
        validators=[required_text, plain_text, bounded_length],
    )
    show_name = BooleanField(_l("Afficher mon nom avec ma question si elle est publiée"))


class VoteForm(Form):
    """Support a question, or withdraw the support (the intent travels: clicks are idempotent)."""

    action = HiddenField(
        validators=[AnyOf(["soutenir", "retirer"], message=_l("Action de vote inconnue."))]
    )
    tri = HiddenField()

    @property
    def sort(self) -> str:
        """The order of the list the vote was given from (a known one)."""
        return self.tri.data if self.tri.data in SORTS else DEFAULT_SORT

    @property
    def sort_in_url(self) -> str | None:
        """The order as the address carries it (the default one is left out)."""
        return None if self.sort == DEFAULT_SORT else self.sort
