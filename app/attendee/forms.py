"""Forms of the personal space."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..forms import (
    Form,
    HoneypotForm,
    job_title_field,
    name_field,
    organisation_field,
    organisation_kind_field,
    too_long,
)
from ..validation import email_address, single_line, strip


class LinkRequestForm(HoneypotForm):
    """'Recevoir mon lien': an e-mail address."""

    MIN_SECONDS = "HONEYPOT_MIN_SECONDS_LINK"

    email = StringField(
        _l("Adresse e-mail utilisée à l’inscription"),
        filters=[strip],
        validators=[
            DataRequired(_l("Saisissez votre adresse e-mail.")),
            Length(max=254, message=too_long(254)),
            single_line,
            email_address,
        ],
    )


class DetailsForm(Form):
    """Correct one's name, organisation and job title (the address is the key: to change
    it, register the new one)."""

    first_name = name_field(_l("Prénom"))
    last_name = name_field(_l("Nom"))
    organisation = organisation_field()
    organisation_kind = organisation_kind_field()
    job_title = job_title_field()
