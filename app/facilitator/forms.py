"""Facilitator forms (Flask-WTF: CSRF on every one); French messages next to the field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from flask import request
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    IntegerField,
    PasswordField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from ..forms import Form
from ..models import Episode
from ..timefmt import PARIS
from ..validation import single_line

MAX_SPEAKERS = 10


class LoginForm(Form):
    """E-mail and password."""

    email = EmailField(
        "Adresse e-mail",
        validators=[
            DataRequired("Indiquez votre adresse e-mail."),
            Length(max=254, message="254 caractères au maximum."),
        ],
    )
    password = PasswordField(
        "Mot de passe",
        validators=[
            DataRequired("Indiquez votre mot de passe."),
            Length(max=1024, message="1024 caractères au maximum."),
        ],
    )


def http_url(form: FlaskForm, field: Any) -> None:
    """Accept an empty value or an absolute http(s) address (never javascript: or data:)."""
    value = (field.data or "").strip()
    field.data = value
    if not value:
        return
    if any(char.isspace() or ord(char) < 32 for char in value):
        raise ValidationError("L’adresse ne doit pas contenir d’espace.")
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
    except ValueError:  # e.g. "https://[::1": an unbalanced bracket
        hostname = None
        parts = None
    if parts is None or parts.scheme.lower() not in {"http", "https"} or not hostname:
        raise ValidationError(
            "Indiquez une adresse web complète commençant par https:// (ou http://)."
        )


def parse_speakers(text: str) -> list[dict[str, Any]]:
    """'Nom, rôle (animation)' per line into the Episode.speakers list."""
    speakers = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        host = line.endswith("(animation)")
        if host:
            line = line[: -len("(animation)")].strip()
        name, _, role = line.partition(",")
        speakers.append({"name": name.strip(), "role": role.strip(), "host": host})
    return speakers


def format_speakers(speakers: list[dict[str, Any]]) -> str:
    """The Episode.speakers list as the textarea shows it."""
    lines = []
    for speaker in speakers or []:
        line = speaker.get("name", "")
        if speaker.get("role"):
            line += f", {speaker['role']}"
        if speaker.get("host"):
            line += " (animation)"
        lines.append(line)
    return "\n".join(lines)


#: years an episode may be moved to
MIN_YEAR, MAX_YEAR = 2000, 2100


class EpisodeForm(Form):
    """What a facilitator may change on an episode."""

    title = StringField(
        "Titre",
        validators=[
            DataRequired("Indiquez le titre de l’épisode."),
            Length(max=300, message="300 caractères au maximum."),
            single_line,  # the title goes into e-mail subjects
        ],
    )
    teaser = TextAreaField(
        "Présentation",
        validators=[Length(max=5000, message="5 000 caractères au plus.")],
    )
    date = DateField(
        "Date",
        validators=[InputRequired("Indiquez la date, par exemple 26/11/2026.")],
    )
    time = TimeField(
        "Heure de début (heure de Paris)",
        validators=[InputRequired("Indiquez l’heure de début, par exemple 11:00.")],
    )
    duration_minutes = IntegerField(
        "Durée en minutes",
        validators=[
            InputRequired("Indiquez la durée en minutes, par exemple 60."),
            NumberRange(min=15, max=480, message="Entre 15 et 480 minutes."),
        ],
    )
    speakers = TextAreaField(
        "Intervenants",
        validators=[Length(max=2000, message="2 000 caractères au plus.")],
    )
    join_url = StringField(
        "Lien pour rejoindre le direct",
        validators=[Length(max=500, message="500 caractères au plus."), http_url],
    )
    replay_url = StringField(
        "Lien du replay",
        validators=[Length(max=500, message="500 caractères au plus."), http_url],
    )
    capacity = IntegerField(
        "Nombre de places",
        validators=[
            Optional(),
            NumberRange(min=1, max=100_000, message="Entre 1 et 100 000 places, ou vide."),
        ],
    )

    #: our wording for values the browser could not parse (WTForms' own is generic)
    PARSE_ERRORS: ClassVar[dict[str, str]] = {
        "date": "Date invalide : écrivez-la sous la forme jj/mm/aaaa.",
        "time": "Heure invalide : écrivez-la sous la forme hh:mm, par exemple 11:00.",
        "duration_minutes": "Indiquez un nombre entier de minutes.",
        "capacity": "Indiquez un nombre entier de places, ou laissez vide (sans limite).",
    }

    def validate(self, extra_validators: Any = None) -> bool:
        """Validate, then word unparsable dates, times and numbers our way."""
        valid = super().validate(extra_validators)
        for name, message in self.PARSE_ERRORS.items():
            field = self[name]
            if field.process_errors and field.errors:
                field.errors = [message]
        return valid

    def validate_speakers(self, field: Any) -> None:
        """Each line has a name; a reasonable number of lines."""
        speakers = parse_speakers(field.data or "")
        if len(speakers) > MAX_SPEAKERS:
            raise ValidationError(f"{MAX_SPEAKERS} intervenants au plus.")
        for speaker in speakers:
            if not speaker["name"]:
                raise ValidationError("Chaque ligne commence par le nom de la personne.")
            if len(speaker["name"]) > 120 or len(speaker["role"]) > 200:
                raise ValidationError("Nom ou rôle trop long (120 et 200 caractères au plus).")

    def validate_date(self, field: Any) -> None:
        """A date calendars and e-mails can carry (and a year a person means)."""
        if field.data is not None and not MIN_YEAR <= field.data.year <= MAX_YEAR:
            raise ValidationError(f"Choisissez une date entre {MIN_YEAR} et {MAX_YEAR}.")

    def starts_at(self) -> datetime:
        """The start in UTC, from the date and time typed in Paris time."""
        local = datetime.combine(self.date.data, self.time.data, tzinfo=PARIS)
        return local.astimezone(UTC)

    @classmethod
    def of(cls, episode: Episode) -> EpisodeForm:
        """The form showing the episode as it is (GET), or what was posted (POST)."""
        if request.method == "POST":
            return cls()
        local = episode.starts_at.astimezone(PARIS)
        return cls(
            data={
                "title": episode.title,
                "teaser": episode.teaser,
                "date": local.date(),
                "time": local.time().replace(second=0, microsecond=0),
                "duration_minutes": episode.duration_minutes,
                "speakers": format_speakers(episode.speakers),
                "join_url": episode.join_url,
                "replay_url": episode.replay_url,
                "capacity": episode.capacity,
            }
        )

    def values(self) -> dict[str, Any]:
        """What to save, as the Episode's columns."""
        return {
            "title": self.title.data.strip(),
            "teaser": (self.teaser.data or "").strip(),
            "starts_at": self.starts_at(),
            "duration_minutes": self.duration_minutes.data,
            "speakers": parse_speakers(self.speakers.data or ""),
            "join_url": self.join_url.data or "",
            "replay_url": self.replay_url.data or "",
            "capacity": self.capacity.data,
        }

    def validate_time(self, field: Any) -> None:
        """Refuse a time that does not exist in Paris (the spring clock change)."""
        if self.date.data is None or field.data is None:
            return
        local = datetime.combine(self.date.data, field.data, tzinfo=PARIS)
        if local.astimezone(UTC).astimezone(PARIS).replace(tzinfo=None) != local.replace(
            tzinfo=None
        ):
            raise ValidationError("Cette heure n’existe pas ce jour-là (passage à l’heure d’été).")


class NoteForm(Form):
    """The facilitator's private note on a question."""

    note = TextAreaField(
        "Note privée",
        validators=[Length(max=1000, message="1 000 caractères au plus.")],
    )


class CancelForm(Form):
    """Why the episode is cancelled: registrants and the public page read it."""

    reason = TextAreaField(
        "Raison de l’annulation",
        filters=[lambda value: (value or "").strip()],
        validators=[
            DataRequired(
                "Indiquez la raison : elle est donnée aux inscrits et sur la page publique."
            ),
            Length(max=500, message="500 caractères au plus."),
        ],
    )
