"""The API's shapes: marshmallow schemas that both write every answer (a field not declared
here never leaves, whatever a service hands over) and describe it in the OpenAPI document."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..vocabulary import DeclineReason, EpisodeState, PublicFate


def _text(description: str, **options: object) -> fields.String:
    return fields.String(required=True, metadata={"description": description}, **options)


def _count(description: str) -> fields.Integer:
    return fields.Integer(
        required=True, validate=validate.Range(min=0), metadata={"description": description}
    )


def _time(description: str) -> fields.DateTime:
    return fields.DateTime(
        format="iso", required=True, metadata={"description": description + " (ISO 8601, UTC)"}
    )


class ErrorSchema(Schema):
    """Every refusal of the API: its status and a French message."""

    status = fields.Integer(required=True, metadata={"description": "le code HTTP"})
    error = _text("le nom de l’erreur, en français")
    message = _text("ce qui s’est passé et que faire, en français")


class SpeakerSchema(Schema):
    """A person on the episode's stage."""

    name = _text("nom")
    role = _text("rôle ou fonction (vide si inconnu)")
    host = fields.Boolean(required=True, metadata={"description": "anime le cycle"})


class RegisterSchema(Schema):
    """The public register: what became of the questions an episode received."""

    received = _count("questions reçues")
    published = _count("questions publiées sur la page de l’épisode")
    answered_on_air = _count("répondues en direct")
    answered_in_writing = _count("répondues par écrit")
    merged = _count("regroupées avec une question semblable")
    carried_over = _count("reportées à un épisode suivant")
    declined = _count("écartées")
    declined_by_reason = fields.Dict(
        keys=fields.String(validate=validate.OneOf([reason.value for reason in DeclineReason])),
        values=fields.Integer(validate=validate.Range(min=0)),
        required=True,
        metadata={"description": "écartées, par motif : " + ", ".join(DeclineReason)},
    )
    waiting = _count("sans réponse pour l’instant")


class EpisodeSchema(Schema):
    """One episode of the cycle."""

    id = fields.Integer(required=True, metadata={"description": "identifiant stable"})
    number = fields.Integer(required=True, metadata={"description": "numéro dans le cycle"})
    slug = _text("identifiant lisible, stable (l’adresse de sa page)")
    title = _text("titre")
    teaser = _text("présentation")
    cases = fields.List(fields.String(), required=True, metadata={"description": "cas abordés"})
    starts_at = _time("début")
    ends_at = _time("fin")
    duration_minutes = fields.Integer(required=True, metadata={"description": "durée"})
    state = _text(
        "où en est l’épisode : " + ", ".join(f"{s.value} ({s.label})" for s in EpisodeState),
        validate=validate.OneOf([state.value for state in EpisodeState]),
    )
    cancel_reason = fields.String(
        required=True, allow_none=True, metadata={"description": "motif, si annulé"}
    )
    speakers = fields.List(fields.Nested(SpeakerSchema), required=True)
    replay_url = fields.String(
        required=True, allow_none=True, metadata={"description": "le replay, une fois publié"}
    )
    page_url = _text("la page de l’épisode")
    questions_url = _text("ses questions publiées, dans cette API")
    register = fields.Nested(
        RegisterSchema,
        required=True,
        allow_none=True,
        metadata={"description": "le registre public, à partir du début de l’épisode (null avant)"},
    )


class EpisodeListSchema(Schema):
    """The episodes of the cycle, in order."""

    episodes = fields.List(fields.Nested(EpisodeSchema), required=True)


class LicenceSchema(Schema):
    """The terms of reuse."""

    name = _text("nom")
    url = _text("texte de la licence")


class CycleSchema(Schema):
    """The cycle and its episodes."""

    id = fields.Integer(required=True, metadata={"description": "identifiant stable"})
    slug = _text("identifiant lisible, stable")
    title = _text("titre")
    introduction = _text("présentation")
    organiser = _text("organisateur")
    page_url = _text("la page du programme")
    licence = fields.Nested(LicenceSchema, required=True)
    episodes = fields.List(fields.Nested(EpisodeSchema), required=True)


class CarriedToSchema(Schema):
    """Where a carried-over question continues."""

    episode_id = fields.Integer(required=True)
    episode_slug = fields.String(required=True)
    episode_number = fields.Integer(required=True)
    question_id = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "la question dans cet épisode, si elle y est publiée"},
    )


class FateSchema(Schema):
    """What became of a published question."""

    code = _text(
        "le sort de la question : " + ", ".join(f"{f.value} ({f.label})" for f in PublicFate),
        validate=validate.OneOf([fate.value for fate in PublicFate]),
    )
    label = _text("le même, en français")
    replay_seconds = fields.Integer(
        required=True,
        allow_none=True,
        metadata={
            "description": "répondue en direct : à quel moment du replay, en secondes depuis le début"
        },
    )
    replay_url = fields.String(
        required=True, allow_none=True, metadata={"description": "le replay à ce moment"}
    )
    written_answer = fields.String(
        required=True, allow_none=True, metadata={"description": "répondue par écrit : la réponse"}
    )
    merged_into_id = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "regroupée : la question gardée à sa place (si publiée)"},
    )
    carried_to = fields.Nested(CarriedToSchema, required=True, allow_none=True)


class QuestionSchema(Schema):
    """A published question (declined ones are never listed)."""

    id = fields.Integer(required=True, metadata={"description": "identifiant stable"})
    text = _text("la question")
    author = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "le nom, seulement si la personne a choisi de l’afficher"},
    )
    votes = _count("soutiens reçus")
    created_at = _time("envoyée le")
    fate = fields.Nested(FateSchema, required=True)


class QuestionListSchema(Schema):
    """The published questions of an episode, most supported first."""

    episode_id = fields.Integer(required=True)
    episode_slug = fields.String(required=True)
    total = _count("questions publiées en tout")
    questions = fields.List(
        fields.Nested(QuestionSchema),
        required=True,
        metadata={"description": "les plus soutenues d’abord (au plus 1 000)"},
    )
