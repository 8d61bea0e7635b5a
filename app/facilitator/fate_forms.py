"""The forms of a question's fate panel (Flask-WTF: CSRF on each); French messages next to
the field. Each form turns what was typed into a `Decision` for `fates.decide`."""

from __future__ import annotations

from typing import Any, ClassVar

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from ..clock import utcnow
from ..forms import ChoiceField, Form, MultiCheckboxField
from ..models import Episode, Question
from ..programme.services import load_programme_view
from ..timefmt import parse_replay_time, replay_time
from ..validation import no_markup, single_line, strip
from ..vocabulary import DeclineReason, FateAction
from .fates import Decision, later_episodes
from .themes import ThemeName


def panel_ids(form: FlaskForm, question_id: int) -> FlaskForm:
    """Name the form's fields after the question in the page (ids only: the names stay
    plain), so that panels open on two rows never share an id."""
    for field in form:
        field.id = f"q{question_id}-{field.name}"
    return form


#: the largest id a question can have (PostgreSQL's integer)
MAX_ID = 2_147_483_647
MAX_ANSWER = 2000
MAX_DETAIL = 300


def _revision(value: Any) -> int | None:
    """The revision the form was shown at; anything else counts as unknown."""
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


class FateForm(Form):
    """What every fate form carries: the question's revision when it was shown."""

    action: ClassVar[FateAction]
    #: the field a refusal is said next to ("" : above the form)
    main: ClassVar[str] = ""
    revision = HiddenField(filters=[_revision])
    #: a rule's refusal when the form has no field to say it next to
    refusal = ""

    def refused(self, message: str) -> FateForm:
        """Say a rule's refusal next to the field it is about."""
        if self.main:
            self[self.main].errors = [message]
        else:
            self.refusal = message
        return self

    def decision(self) -> Decision:
        """The fate as the facilitator gave it."""
        return Decision(self.action, seen_revision=self.revision.data, **self.details())

    def details(self) -> dict[str, Any]:
        """The detail of this fate (none by default)."""
        return {}


class OnAirForm(FateForm):
    """Answered on air, at a moment of the replay (optional)."""

    action = FateAction.ON_AIR
    main = "replay_time"
    replay_time = StringField(
        "Moment de la réponse dans le replay (mm:ss ou h:mm:ss)",
        filters=[strip],
        validators=[Length(max=12, message="Écrivez le moment sous la forme mm:ss ou h:mm:ss.")],
    )

    def validate_replay_time(self, field: Any) -> None:
        """mm:ss or h:mm:ss, within a day."""
        if field.data:
            try:
                parse_replay_time(field.data)
            except ValueError as error:
                raise ValidationError(str(error)) from error

    def details(self) -> dict[str, Any]:
        """The moment in seconds, if given."""
        text = self.replay_time.data
        return {"replay_seconds": parse_replay_time(text) if text else None}


class WrittenAnswerForm(FateForm):
    """Answered in writing: the answer, shown under the question."""

    action = FateAction.IN_WRITING
    main = "answer"
    answer = TextAreaField(
        "Réponse écrite (publique, sous la question)",
        filters=[strip],
        validators=[
            DataRequired("Écrivez la réponse."),
            Length(max=MAX_ANSWER, message="2 000 caractères au plus."),
        ],
    )

    def details(self) -> dict[str, Any]:
        """The answer."""
        return {"written_answer": self.answer.data}


class MergeForm(FateForm):
    """Merged into another question of the episode, kept in its place."""

    action = FateAction.MERGE
    main = "keep"
    keep = IntegerField(
        "Numéro de la question à garder",
        validators=[
            InputRequired("Indiquez le numéro de la question à garder (n° affiché sur chacune)."),
            NumberRange(min=1, max=MAX_ID, message="Ce numéro de question n’existe pas."),
        ],
    )

    def validate(self, extra_validators: Any = None) -> bool:
        """Validate; a number that is not one gets our wording."""
        valid = super().validate(extra_validators)
        if self.keep.process_errors and self.keep.errors:
            self.keep.errors = ["Indiquez un numéro de question, par exemple 12."]
        return valid

    def details(self) -> dict[str, Any]:
        """The question kept."""
        return {"keep_id": self.keep.data}


class UnmergeForm(FateForm):
    """Undo a merge (until the episode starts)."""

    action = FateAction.UNMERGE


class CarryOverForm(FateForm):
    """Carried over to a later episode of the cycle."""

    action = FateAction.CARRY_OVER
    main = "episode"
    episode = ChoiceField(
        "Épisode où la reporter",
        invalid_message="Choisissez un épisode à venir dans la liste.",
        validators=[DataRequired("Choisissez l’épisode où la reporter.")],
    )

    def offer(self, episodes: list[Episode]) -> CarryOverForm:
        """The later episodes that still take questions."""
        self.episode.choices = [SelectChoice("", "Choisissez…")] + [
            SelectChoice(str(e.id), f"Épisode {e.number} : {e.title}") for e in episodes
        ]
        return self

    def details(self) -> dict[str, Any]:
        """The episode chosen."""
        return {"target_episode_id": int(self.episode.data)}


class DeclineForm(FateForm):
    """Declined with a reason from the list (and a few words, required for 'autre')."""

    action = FateAction.DECLINE
    main = "detail"
    reason = ChoiceField(
        "Motif",
        invalid_message="Choisissez un motif dans la liste.",
        choices=[SelectChoice(reason.value, reason.label) for reason in DeclineReason],
        validators=[DataRequired("Choisissez un motif.")],
    )
    detail = StringField(
        "Précision pour la personne qui l’a posée",
        filters=[strip],
        validators=[
            Length(max=MAX_DETAIL, message=f"{MAX_DETAIL} caractères au plus."),
            single_line,
        ],
    )

    def validate_detail(self, field: Any) -> None:
        """'Autre' says nothing by itself."""
        if self.reason.data == DeclineReason.OTHER and not field.data:
            raise ValidationError("Avec le motif « autre », dites en quelques mots pourquoi.")

    def details(self) -> dict[str, Any]:
        """The reason and its words."""
        return {"reason": DeclineReason(self.reason.data), "detail": self.detail.data or ""}


FORMS: dict[FateAction, type[FateForm]] = {
    form.action: form
    for form in (OnAirForm, WrittenAnswerForm, MergeForm, UnmergeForm, CarryOverForm, DeclineForm)
}


def fate_form(
    action: FateAction, episode: Episode, question_id: int, formdata: Any = ...
) -> FateForm:
    """The form of this fate (what was posted, or empty with `formdata=None`), its fields'
    ids named after the question."""
    kwargs = {} if formdata is ... else {"formdata": formdata}
    form = FORMS[action](**kwargs)
    panel_ids(form, question_id)
    if isinstance(form, CarryOverForm):
        view = load_programme_view()
        form.offer(later_episodes(episode, view.episodes if view else [], utcnow()))
    return form


def blank_forms(episode: Episode, question: Question) -> dict[FateAction, FateForm]:
    """Every fate's form as the panel first shows it, with the question's current answer
    and replay moment to correct."""
    forms = {action: fate_form(action, episode, question.id, formdata=None) for action in FORMS}
    on_air = forms[FateAction.ON_AIR]
    assert isinstance(on_air, OnAirForm)
    if question.replay_seconds is not None:
        on_air.replay_time.data = replay_time(question.replay_seconds)
    written = forms[FateAction.IN_WRITING]
    assert isinstance(written, WrittenAnswerForm)
    written.answer.data = question.written_answer
    return forms


class ThemesForm(Form):
    """The question's themes: those of the cycle ticked, and a new one named in place."""

    themes = MultiCheckboxField("Thèmes", coerce=int, validate_choice=False)
    new_theme = StringField(
        "Nouveau thème (créé pour tout le cycle)",
        filters=[strip],
        validators=[Length(max=60, message="60 caractères au plus."), single_line, no_markup],
    )
    revision = HiddenField(filters=[_revision])

    def offer(self, themes: list[ThemeName], chosen: list[ThemeName] | None = None) -> ThemesForm:
        """The cycle's themes to tick; on a first showing, the question's own ticked."""
        self.themes.choices = [SelectChoice(theme.id, theme.name) for theme in themes]
        if chosen is not None and not self.is_submitted():
            self.themes.data = [theme.id for theme in chosen]
        return self

    def validate(self, extra_validators: Any = None) -> bool:
        """Validate; ids that are not numbers get our wording."""
        valid = super().validate(extra_validators)
        if self.themes.process_errors and self.themes.errors:
            self.themes.errors = ["Choisissez parmi les thèmes de la liste."]
        return valid

    def validate_themes(self, field: Any) -> None:
        """Ids of real size (a forged one simply matches no theme of the cycle)."""
        if any(not 0 < value <= MAX_ID for value in field.data or []):
            raise ValidationError("Choisissez parmi les thèmes de la liste.")
