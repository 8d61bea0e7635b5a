"""The registration form (also the model of what is validated for htmx and plain POSTs)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional
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
    organisation_kind = SelectField(
        "Type d’organisation",
        choices=[("", "Choisissez…"), *ORGANISATION_KIND_LABELS.items()],
        validators=[DataRequired("Choisissez un type d’organisation.")],
        validate_choice=True,
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
