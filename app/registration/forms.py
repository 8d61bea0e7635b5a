"""The registration form (also the model of what is validated for htmx and plain POSTs)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from ..forms import (
    REQUIRED,
    HoneypotForm,
    MultiCheckboxField,
    job_title_field,
    name_field,
    organisation_field,
    organisation_kind_field,
    too_long,
)
from ..localized import localized
from ..models import Episode
from ..timefmt import datetime_fr
from ..validation import email_address, single_line, strip

CLOSED_EPISODE = _l("Cet épisode a déjà commencé ou n’existe pas : décochez-le.")


def episode_label(episode: Episode, full: bool = False) -> str:
    """How an episode reads next to its checkbox; a `full` one offers its waiting list."""
    when = datetime_fr(episode.starts_at)
    if full:
        return _(
            "Épisode %(number)s · %(when)s : %(title)s"
            " — complet : inscription sur la liste d’attente",
            number=episode.number,
            when=when,
            title=localized(episode, "title"),
        )
    return _(
        "Épisode %(number)s · %(when)s : %(title)s",
        number=episode.number,
        when=when,
        title=localized(episode, "title"),
    )


class RegistrationForm(HoneypotForm):
    """First and last name, e-mail, organisation, kind, job title, episodes, privacy notice."""

    first_name = name_field(_l("Prénom"))
    last_name = name_field(_l("Nom"))
    email = StringField(
        _l("Adresse e-mail"),
        filters=[strip],
        validators=[
            DataRequired(REQUIRED),
            Length(max=254, message=too_long(254)),
            single_line,
            email_address,
        ],
    )
    organisation = organisation_field()
    organisation_kind = organisation_kind_field()
    job_title = job_title_field()
    episodes = MultiCheckboxField(
        _l("Épisodes que vous suivrez"),
        coerce=int,
        validators=[DataRequired(_l("Choisissez au moins un épisode."))],
        validate_choice=False,  # an episode that has started gets our own message below
    )
    privacy = BooleanField(
        _l("J’ai pris connaissance de la notice sur mes données personnelles ci-dessus."),
        validators=[DataRequired(_l("Cochez cette case pour vous inscrire."))],
    )

    @classmethod
    def offering(
        cls,
        upcoming: Sequence[Episode],
        ticked: Episode | None = None,
        full: frozenset[int] = frozenset(),
        **kwargs: Any,
    ) -> RegistrationForm:
        """The form offering these episodes: `ticked` alone when given, else all, ticked;
        a `full` one is offered with its waiting list."""
        form = cls(**kwargs)
        form.upcoming = list(upcoming)
        form.episodes.choices = [
            SelectChoice(str(e.id), episode_label(e, full=e.id in full)) for e in upcoming
        ]
        if not form.is_submitted():
            # From an episode page the visitor came for that one: the others are offered,
            # not forced on them.
            form.episodes.data = [ticked.id] if ticked else [e.id for e in upcoming]
        return form

    def validate_episodes(self, field: MultiCheckboxField) -> None:
        """Only episodes that have not started may be chosen."""
        if field.data and not set(field.data) <= {e.id for e in self.upcoming}:
            raise ValidationError(CLOSED_EPISODE)

    @cached_property
    def chosen(self) -> list[Episode]:
        """The episodes ticked, in programme order."""
        return [e for e in self.upcoming if e.id in set(self.episodes.data or ())]

    @property
    def details(self) -> dict[str, str]:
        """The person's details as typed (validated)."""
        return {
            "email": self.email.data,
            "first_name": self.first_name.data,
            "last_name": self.last_name.data,
            "organisation": self.organisation.data,
            "organisation_kind": self.organisation_kind.data,
            "job_title": self.job_title.data or "",
        }

    @cached_property
    def summary(self) -> dict[str, Any]:
        """What the confirmation repeats: only what was just submitted, never what is on file."""
        return {
            "first_name": self.first_name.data,
            "last_name": self.last_name.data,
            "email": self.email.data,
            "episode_ids": [e.id for e in self.chosen],
        }
