"""Forms of the personal space."""

from __future__ import annotations

from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..forms import HoneypotForm, too_long
from ..validation import email_address, single_line, strip


class LinkRequestForm(HoneypotForm):
    """'Recevoir mon lien': an e-mail address."""

    MIN_SECONDS = "HONEYPOT_MIN_SECONDS_LINK"

    email = StringField(
        "Adresse e-mail utilisée à l’inscription",
        filters=[strip],
        validators=[
            DataRequired("Saisissez votre adresse e-mail."),
            Length(max=254, message=too_long(254)),
            single_line,
            email_address,
        ],
    )
