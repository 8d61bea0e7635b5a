"""Forms of the personal space."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..validation import email_address, single_line, strip


class LinkRequestForm(FlaskForm):
    """'Recevoir mon lien': an e-mail address."""

    email = StringField(
        "Adresse e-mail utilisée à l’inscription",
        filters=[strip],
        validators=[
            DataRequired("Saisissez votre adresse e-mail."),
            Length(max=254, message="254 caractères au maximum."),
            single_line,
            email_address,
        ],
    )
    website = StringField("Ne pas remplir ce champ", filters=[strip])


class ConfirmForm(FlaskForm):
    """A bare POST carrying only the CSRF token (follow, erase, resend…)."""
