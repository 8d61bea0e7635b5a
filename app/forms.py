"""Form pieces shared by every blueprint: bare confirmations, the honeypot, choice fields,
French messages for the usual validators."""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

from babel.support import Translations
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.i18n import messages_path
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .clock import utcnow
from .validation import no_markup, person_name, single_line, strip
from .vocabulary import OrganisationKind

REQUIRED = _l("Ce champ est obligatoire.")
NOT_IN_LIST = _l("Choisissez dans la liste.")


def too_long(limit: int) -> str:
    """The message for a length limit (lazy: validators are built at import time)."""
    return _l("%(limit)s caractères au maximum.", limit=limit)


@cache
def _wtforms_catalogue(locale: str) -> Translations:
    """WTForms' own messages in one language, read from disk once per process."""
    return Translations.load(messages_path(), [locale], domain="wtforms")


class _WTFormsMessages:
    """WTForms' own messages in the page's language. Flask-WTF reads their catalogue from
    disk again on every request that builds a form (a millisecond each time)."""

    def gettext(self, string: str) -> str:
        return _wtforms_catalogue(str(get_locale())).ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_catalogue(str(get_locale())).ungettext(singular, plural, n)


_WTFORMS_MESSAGES = _WTFormsMessages()


class Form(FlaskForm):
    """Every form of the site: Flask-WTF's, with WTForms' messages read once."""

    class Meta:
        def get_translations(self, form: FlaskForm) -> _WTFormsMessages:
            return _WTFORMS_MESSAGES


class ConfirmForm(Form):
    """A bare POST carrying only the CSRF token (follow, erase, resend, withdraw…)."""


#: itsdangerous salt of the honeypot's time stamp (one purpose, one salt)
STAMP_SALT = "honeypot-started-at"


class HoneypotForm(Form):
    """A public form that tells naive bots apart, without CAPTCHA (CNIL: a CAPTCHA from a
    third party needs consent): a field hidden from people that bots fill in, and the time
    the form was served, signed, since people take a few seconds to fill it in."""

    #: seconds a person needs at least (a form may lower it: one field is quick to fill)
    MIN_SECONDS: ClassVar[str] = "HONEYPOT_MIN_SECONDS"

    website = StringField(_l("Ne pas remplir ce champ"), filters=[strip])
    started = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_submitted():
            self.started.data = self._signer().dumps(utcnow().timestamp())

    @staticmethod
    def _signer() -> URLSafeSerializer:
        return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=STAMP_SALT)

    @property
    def from_a_bot(self) -> bool:
        """Filled in the hidden field, or sent back without our stamp or too fast: the
        answer is the usual one, and nothing is kept."""
        if self.website.data:
            return True
        try:
            served = float(self._signer().loads(self.started.data or ""))
        except (BadSignature, TypeError, ValueError):
            return True
        minimum = float(current_app.config[self.MIN_SECONDS])
        return utcnow().timestamp() - served < minimum


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes for one multiple choice."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ChoiceField(SelectField):
    """A drop-down whose out-of-list answer gets a French message of our own."""

    def __init__(self, *args: Any, invalid_message: str = NOT_IN_LIST, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.invalid_message = invalid_message

    def pre_validate(self, form: FlaskForm) -> None:
        """Refuse values that are not offered."""
        if self.data not in {choice.value for choice in self.choices}:
            raise ValidationError(self.invalid_message)


# ---------------------------------------------------------------- a person's details
def name_field(label: str) -> StringField:
    """A first or last name: required, one line, letters of any script."""
    return StringField(
        label,
        filters=[strip],
        validators=[
            DataRequired(REQUIRED),
            Length(max=100, message=too_long(100)),
            single_line,
            person_name,
        ],
    )


def organisation_field() -> StringField:
    """The person's organisation: required, one line, no markup."""
    return StringField(
        _l("Organisation"),
        filters=[strip],
        validators=[
            DataRequired(REQUIRED),
            Length(max=200, message=too_long(200)),
            single_line,
            no_markup,
        ],
    )


def organisation_kind_field() -> ChoiceField:
    """The kind of organisation, from the vocabulary's list."""
    return ChoiceField(
        _l("Type d’organisation"),
        invalid_message=_l("Choisissez un type d’organisation dans la liste."),
        choices=[
            SelectChoice("", _l("Choisissez…")),
            *(SelectChoice(kind.value, kind.label) for kind in OrganisationKind),
        ],
        validators=[DataRequired(_l("Choisissez un type d’organisation."))],
    )


def job_title_field() -> StringField:
    """The job title: optional, one line, no markup."""
    return StringField(
        _l("Fonction"),
        filters=[strip],
        validators=[Optional(), Length(max=200, message=too_long(200)), single_line, no_markup],
    )
