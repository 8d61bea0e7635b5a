"""The domain's vocabulary: each status or state with every label people read for it.

One enum per notion owns its words (for the public, the author, the facilitator, the
journal); templates iterate the enums and nothing else spells a label. Adding a status is
a change here, plus a migration if the database must accept the new value.
"""

from __future__ import annotations

import enum
from datetime import datetime


class EpisodeState(enum.StrEnum):
    """Where an episode stands at a given moment."""

    UPCOMING = "upcoming", "À venir"
    LIVE = "live", "En cours"
    PAST = "past", "Terminé"

    label: str

    def __new__(cls, value: str, label: str) -> EpisodeState:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def at(cls, starts_at: datetime, ends_at: datetime, now: datetime) -> EpisodeState:
        """The state of an episode running from `starts_at` to `ends_at`, at `now`."""
        if now < starts_at:
            return cls.UPCOMING
        if now < ends_at:
            return cls.LIVE
        return cls.PAST


class QuestionStatus(enum.StrEnum):
    """Review status of a question (the value is what the database stores)."""

    #: value, facilitator's label, author's label, plural (filters), review shortcut key
    NEW = "nouvelle", "nouvelle", "reçue", "Nouvelles", "n"
    SELECTED = "retenue", "retenue", "retenue", "Retenues", "r"
    ANSWERED = "repondue", "répondue", "répondue", "Répondues", "t"
    DISMISSED = "ecartee", "écartée", "écartée", "Écartées", "e"

    label: str
    for_author: str
    plural: str
    shortcut: str

    def __new__(
        cls, value: str, label: str, for_author: str, plural: str, shortcut: str
    ) -> QuestionStatus:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        member.for_author = for_author
        member.plural = plural
        member.shortcut = shortcut
        return member

    @property
    def button(self) -> str:
        """The label on the review button ('Retenue')."""
        return self.label.capitalize()

    @property
    def in_running_order(self) -> bool:
        """Retained and answered questions keep a place in the live running order."""
        return self in (QuestionStatus.SELECTED, QuestionStatus.ANSWERED)


class ReviewAction(enum.StrEnum):
    """What a facilitator can do to a question from the review page (the button's value)."""

    #: value, status set (or None), published set (or None), button, what was done
    NEW = QuestionStatus.NEW, QuestionStatus.NEW, None, "", "remise en nouvelle"
    SELECTED = QuestionStatus.SELECTED, QuestionStatus.SELECTED, None, "", "retenue"
    ANSWERED = QuestionStatus.ANSWERED, QuestionStatus.ANSWERED, None, "", "marquée répondue"
    DISMISSED = QuestionStatus.DISMISSED, QuestionStatus.DISMISSED, None, "", "écartée"
    PUBLISH = "publier", None, True, "Publier", "publiée"
    UNPUBLISH = "depublier", None, False, "Dépublier", "dépubliée"

    status: QuestionStatus | None
    published: bool | None
    button: str
    done: str

    def __new__(
        cls,
        value: str,
        status: QuestionStatus | None,
        published: bool | None,
        button: str,
        done: str,
    ) -> ReviewAction:
        member = str.__new__(cls, str(value))
        member._value_ = str(value)
        member.status = status
        member.published = published
        # A status's button reads as the status itself ("Retenue").
        member.button = button or (status.button if status else "")
        member.done = done
        return member

    @property
    def journal_code(self) -> str:
        """The audit trail's code for this action."""
        return f"question.{self.value}"

    @classmethod
    def for_status(cls, status: QuestionStatus) -> ReviewAction:
        """The action that sets this status."""
        return next(action for action in cls if action.status == status)


class OrganisationKind(enum.StrEnum):
    """Kinds of organisation offered in the registration form."""

    COLLECTIVITE = "collectivite", "Collectivité territoriale (commune, département, région)"
    INTERCOMMUNALITE = (
        "intercommunalite",
        "Intercommunalité (métropole, communauté d’agglomération…)",
    )
    ETAT = "etat", "Administration de l’État"
    ETABLISSEMENT_PUBLIC = "etablissement_public", "Établissement public"
    ASSOCIATION = "association", "Association"
    ENTREPRISE = "entreprise", "Entreprise"
    RECHERCHE = "recherche", "Recherche ou enseignement"
    CITOYEN = "citoyen", "Citoyenne ou citoyen"
    AUTRE = "autre", "Autre"

    label: str

    def __new__(cls, value: str, label: str) -> OrganisationKind:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def label_of(cls, value: str) -> str:
        """The label of a stored value, or the value itself if unknown."""
        try:
            return cls(value).label
        except ValueError:
            return value


class OrderMove(enum.StrEnum):
    """A move in the live running order (the button's value)."""

    UP = "monter", "Monter", "montée", -1
    DOWN = "descendre", "Descendre", "descendue", 1

    button: str
    done: str
    step: int

    def __new__(cls, value: str, button: str, done: str, step: int) -> OrderMove:
        member = str.__new__(cls, value)
        member._value_ = value
        member.button = button
        member.done = done
        member.step = step
        return member

    @property
    def journal_code(self) -> str:
        """The audit trail's code for this move."""
        return f"order.{self.value}"


#: every code of the audit trail, with the label the journal shows
JOURNAL_LABELS: dict[str, str] = {
    "account.create": "Compte créé",
    "login": "Connexion",
    "episode.update": "Épisode modifié",
    "episode.followup": "Suivi envoyé",
    "question.note": "Note privée",
    **{action.journal_code: f"Question {action.done}" for action in ReviewAction},
    **{move.journal_code: f"Question {move.done} dans l’ordre" for move in OrderMove},
}
