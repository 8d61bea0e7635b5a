"""Form pieces shared by every blueprint: bare confirmations, the honeypot, choice fields,
French messages for the usual validators."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .validation import strip

REQUIRED = "Ce champ est obligatoire."


def too_long(limit: int) -> str:
    """French message for a length limit."""
    return f"{limit} caractères au maximum."


class ConfirmForm(FlaskForm):
    """A bare POST carrying only the CSRF token (follow, erase, resend, withdraw…)."""


class HoneypotForm(FlaskForm):
    """A public form with a field hidden from people: naive bots fill it in."""

    website = StringField("Ne pas remplir ce champ", filters=[strip])

    @property
    def from_a_bot(self) -> bool:
        """The hidden field was filled in: answer as usual, keep nothing."""
        return bool(self.website.data)


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes for one multiple choice."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ChoiceField(SelectField):
    """A drop-down whose out-of-list answer gets a French message of our own."""

    def __init__(
        self, *args: Any, invalid_message: str = "Choisissez dans la liste.", **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.invalid_message = invalid_message

    def pre_validate(self, form: FlaskForm) -> None:
        """Refuse values that are not offered."""
        if self.data not in {choice.value for choice in self.choices}:
            raise ValidationError(self.invalid_message)
