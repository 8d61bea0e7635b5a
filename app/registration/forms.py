"""The registration form (also the model of what is validated for htmx and plain POSTs)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..models import ORGANISATION_KIND_LABELS
from ..validation import email_address, no_markup, person_name, single_line, strip

REQUIRED = "Ce champ est obligatoire."


def too_long(limit: int) -> str:
    """French message for a length limit."""
    return f"{limit} caractères au maximum."


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes for one multiple choice."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ChoiceField(SelectField):
    """A drop-down whose out-of-list answer gets a French message of our own."""

    def __init__(self, *args, invalid_message: str = "Choisissez dans la liste.", **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.invalid_message = invalid_message

    def pre_validate(self, form: FlaskForm) -> None:
        """Refuse values that are not offered."""
        if self.data not in {choice.value for choice in self.choices}:
            raise ValidationError(self.invalid_message)


class RegistrationForm(FlaskForm):
    """First and last name, e-mail, organisation, kind, job title, episodes, privacy notice."""

    first_name = StringField(
        "Prénom",
        filters=[strip],
        validators=[
            DataRequired(REQUIRED),
            Length(max=100, message=too_long(100)),
            single_line,
            person_name,
        ],
    )
    last_name = StringField(
        "Nom",
        filters=[strip],
        validators=[
            DataRequired(REQUIRED),
            Length(max=100, message=too_long(100)),
            single_line,
            person_name,
        ],
    )
    email = StringField(
        "Adresse e-mail",
        filters=[strip],
        validators=[
            DataRequired(REQUIRED),
            Length(max=254, message=too_long(254)),
            single_line,
            email_address,
        ],
    )
    organisation = StringField(
        "Organisation",
        filters=[strip],
        validators=[
            DataRequired(REQUIRED),
            Length(max=200, message=too_long(200)),
            single_line,
            no_markup,
        ],
    )
    organisation_kind = ChoiceField(
        "Type d’organisation",
        invalid_message="Choisissez un type d’organisation dans la liste.",
        choices=[
            SelectChoice("", "Choisissez…"),
            *(SelectChoice(str(value), label) for value, label in ORGANISATION_KIND_LABELS.items()),
        ],
        validators=[DataRequired("Choisissez un type d’organisation.")],
    )
    job_title = StringField(
        "Fonction",
        filters=[strip],
        validators=[Optional(), Length(max=200, message=too_long(200)), single_line, no_markup],
    )
    episodes = MultiCheckboxField(
        "Épisodes que vous suivrez",
        coerce=int,
        validators=[DataRequired("Choisissez au moins un épisode.")],
        validate_choice=False,  # checked against the upcoming episodes in the view
    )
    privacy = BooleanField(
        "J’ai pris connaissance de la notice sur mes données personnelles ci-dessus.",
        validators=[DataRequired("Cochez cette case pour vous inscrire.")],
    )
    #: honeypot: hidden from people, filled in by naive bots
    website = StringField("Ne pas remplir ce champ", filters=[strip])
