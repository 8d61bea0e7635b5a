"""The domain's vocabulary: each status or state with every label people read for it.

One enum per notion owns its words (for the public, the author, the facilitator, the
journal); templates iterate the enums and nothing else spells a label. Adding a status is
a change here, plus a migration if the database must accept the new value.

Over 300 lines on purpose: every word the site uses for a state is here, in the one place
a reader (or a translator) looks for them.

The words visitors and attendees read are given as lazy translations (`_l`) and read
through `_Word`: in a request (or any app context), a real `str` in its language, so they
join, compare and serialise like any string; at import, the lazy string itself, so a
constant built from it (a form's choices) is still translated when it is shown. The words
only the facilitator's space shows stay plain French: that space is not translated.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import has_app_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l


class _Word:
    """A member's word that people outside the team read: kept lazy; read in an app context,
    a real `str` in the language of the moment; read outside any (a module's constants,
    built at import), the lazy string. A data descriptor, so `_labelled` sets it through it."""

    def __init__(self, name: str) -> None:
        # named here, not by __set_name__: the enum makes its members before that runs
        self.slot = f"_{name}"
        #: (member, locale) → the word in that language: the catalogues do not change
        #: while the site runs, and a lookup through Flask-Babel costs four times this
        #: (the review page reads some 180 words a request)
        self.read: dict[tuple[Any, Any], str] = {}

    def __get__(self, member: Any, owner: type | None = None) -> Any:
        if member is None:
            return self
        word = member.__dict__[self.slot]
        if not has_app_context():
            return word
        key = (member, get_locale())
        text = self.read.get(key)
        if text is None:
            text = self.read[key] = str(word)
        return text

    def __set__(self, member: Any, value: Any) -> None:
        member.__dict__[self.slot] = value


def _labelled(*names: str) -> Callable[..., Any]:
    """An enum `__new__` taking the stored value, then one label per name, as attributes."""

    def __new__(cls: type[enum.StrEnum], value: str, *labels: Any) -> enum.StrEnum:
        member = str.__new__(cls, str(value))
        member._value_ = str(value)
        for name, label in zip(names, labels, strict=True):
            setattr(member, name, label)
        return member

    return __new__


class EpisodeState(enum.StrEnum):
    """Where an episode stands at a given moment."""

    UPCOMING = "upcoming", _l("À venir")
    LIVE = "live", _l("En cours")
    PAST = "past", _l("Terminé")
    #: set by the facilitator, whatever the time (see Episode.state)
    CANCELLED = "cancelled", _l("Annulé")

    label = _Word("label")
    __new__ = _labelled("label")

    @classmethod
    def at(cls, starts_at: datetime, ends_at: datetime, now: datetime) -> EpisodeState:
        """The state of an episode running from `starts_at` to `ends_at`, at `now`."""
        if now < starts_at:
            return cls.UPCOMING
        if now < ends_at:
            return cls.LIVE
        return cls.PAST


class QuestionStatus(enum.StrEnum):
    """The fate of a question (the value is what the database stores)."""

    #: value, facilitator's label (its capitalised form is the public badge of an answered
    #: question), author's label, plural (the facilitator's filters), review shortcut key,
    #: set by a plain button (else the fate needs a detail: a text, a target, a reason)
    NEW = "nouvelle", _l("nouvelle"), _l("reçue"), "Nouvelles", "n", True
    SELECTED = "retenue", _l("retenue"), _l("retenue pour le direct"), "Retenues", "r", True
    ANSWERED = (
        "repondue",
        _l("répondue en direct"),
        _l("répondue en direct"),
        "Répondues en direct",
        "t",
        True,
    )
    WRITTEN = (
        "ecrit",
        _l("répondue par écrit"),
        _l("répondue par écrit"),
        "Répondues par écrit",
        "",
        False,
    )
    MERGED = (
        "fusionnee",
        _l("fusionnée"),
        _l("regroupée avec une question semblable"),
        "Fusionnées",
        "f",
        False,
    )
    CARRIED_OVER = (
        "reportee",
        _l("reportée"),
        _l("reportée à un autre épisode"),
        "Reportées",
        "",
        False,
    )
    DISMISSED = "ecartee", _l("écartée"), _l("écartée"), "Écartées", "e", False

    label = _Word("label")
    for_author = _Word("for_author")
    plural: str
    shortcut: str
    direct: bool
    __new__ = _labelled("label", "for_author", "plural", "shortcut", "direct")

    @property
    def button(self) -> str:
        """The label on the review button ('Retenue'), and the badge of an answered question
        on the episode page: in the request's language, so worked out each time it is asked
        (not cached: a member serves every language)."""
        return self.label.capitalize()

    @property
    def in_running_order(self) -> bool:
        """Retained and answered questions keep a place in the live running order."""
        return self in (QuestionStatus.SELECTED, QuestionStatus.ANSWERED)

    @property
    def answered(self) -> bool:
        """Answered on air or in writing: listed in the register and in the digest."""
        return self in (QuestionStatus.ANSWERED, QuestionStatus.WRITTEN)

    @property
    def open_to_votes(self) -> bool:
        """Still a question of its own: merged, carried-over or declined ones take no vote."""
        return self not in (
            QuestionStatus.MERGED,
            QuestionStatus.CARRIED_OVER,
            QuestionStatus.DISMISSED,
        )

    @property
    def settled_elsewhere(self) -> bool:
        """Its fate lives in another question (the kept one, the later episode's copy)."""
        return self in (QuestionStatus.MERGED, QuestionStatus.CARRIED_OVER)


class DeclineReason(enum.StrEnum):
    """Why a question is declined (the value is what the database stores)."""

    #: value, label (facilitator and author), plural (the public register)
    OFF_TOPIC = "hors_sujet", _l("hors sujet"), _l("Hors sujet")
    DUPLICATE = "doublon", _l("doublon"), _l("Doublons")
    ALREADY_COVERED = "deja_traitee", _l("déjà traitée"), _l("Déjà traitées")
    CHARTER = "charte", _l("propos contraires à la charte"), _l("Contraires à la charte")
    OTHER = "autre", _l("autre"), _l("Autres motifs")

    label = _Word("label")
    plural = _Word("plural")
    __new__ = _labelled("label", "plural")

    @property
    def needs_detail(self) -> bool:
        """'Autre' says nothing by itself: a few words must come with it."""
        return self is DeclineReason.OTHER


class ReviewAction(enum.StrEnum):
    """What a facilitator does to a question with one button (the button's value); the
    facilitator's words, plain French."""

    #: value, status set (or None), published set (or None), button, what was done
    NEW = QuestionStatus.NEW, QuestionStatus.NEW, None, "", "remise en nouvelle"
    SELECTED = QuestionStatus.SELECTED, QuestionStatus.SELECTED, None, "", "retenue"
    ANSWERED = (
        QuestionStatus.ANSWERED,
        QuestionStatus.ANSWERED,
        None,
        "",
        "marquée répondue en direct",
    )
    PUBLISH = "publier", None, True, "Publier", "publiée"
    UNPUBLISH = "depublier", None, False, "Dépublier", "dépubliée"

    status: QuestionStatus | None
    published: bool | None
    own_button: str
    done: str
    __new__ = _labelled("status", "published", "own_button", "done")

    @property
    def button(self) -> str:
        """The button's label; a status's button reads as the status itself ("Retenue")."""
        return self.own_button or (self.status.button if self.status else "")

    @property
    def journal_code(self) -> str:
        """The audit trail's code for this action."""
        return f"question.{self.value}"

    @classmethod
    def for_status(cls, status: QuestionStatus) -> ReviewAction:
        """The action that sets this status (a lookup: every review row asks, three times)."""
        return _ACTION_FOR_STATUS[status]


_ACTION_FOR_STATUS = {action.status: action for action in ReviewAction if action.status}
#: a review row's status buttons, in order: each status set by a plain button, its action
REVIEW_BUTTONS = tuple(
    (status, _ACTION_FOR_STATUS[status]) for status in QuestionStatus if status.direct
)


class FateAction(enum.StrEnum):
    """A fate given with a detail, from the question's fate panel (the address's last part);
    the facilitator's words, plain French."""

    #: value, status it leads to (None: undo), button, what was done
    ON_AIR = (
        "direct",
        QuestionStatus.ANSWERED,
        "Enregistrer « répondue en direct »",
        ("marquée répondue en direct"),
    )
    IN_WRITING = (
        "ecrit",
        QuestionStatus.WRITTEN,
        "Enregistrer la réponse écrite",
        ("répondue par écrit"),
    )
    MERGE = "fusion", QuestionStatus.MERGED, "Fusionner", "fusionnée"
    UNMERGE = "defusion", None, "Annuler la fusion", "séparée de nouveau (fusion annulée)"
    CARRY_OVER = "report", QuestionStatus.CARRIED_OVER, "Reporter", "reportée"
    DECLINE = "ecartee", QuestionStatus.DISMISSED, "Écarter", "écartée"

    status: QuestionStatus | None
    button: str
    done: str
    __new__ = _labelled("status", "button", "done")

    @property
    def journal_code(self) -> str:
        """The audit trail's code ("question.ecartee" as before reasons existed)."""
        return f"question.{self.value}"


class OrganisationKind(enum.StrEnum):
    """Kinds of organisation offered in the registration form."""

    COLLECTIVITE = (
        "collectivite",
        _l("Collectivité territoriale (commune, département, région)"),
    )
    INTERCOMMUNALITE = (
        "intercommunalite",
        _l("Intercommunalité (métropole, communauté d’agglomération…)"),
    )
    ETAT = "etat", _l("Administration de l’État")
    ETABLISSEMENT_PUBLIC = "etablissement_public", _l("Établissement public")
    ASSOCIATION = "association", _l("Association")
    ENTREPRISE = "entreprise", _l("Entreprise")
    RECHERCHE = "recherche", _l("Recherche ou enseignement")
    CITOYEN = "citoyen", _l("Citoyenne ou citoyen")
    AUTRE = "autre", _l("Autre")

    label = _Word("label")
    __new__ = _labelled("label")

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
    __new__ = _labelled("button", "done", "step")

    @property
    def journal_code(self) -> str:
        """The audit trail's code for this move."""
        return f"order.{self.value}"


class MailTopic(enum.StrEnum):
    """The e-mails a person may stop (the value is the Attendee column that says yes or no)."""

    #: value, what the personal space says, its short name
    REMINDERS = (
        "mail_reminders",
        _l("Les rappels avant chaque épisode, avec le lien pour le rejoindre"),
        _l("rappels"),
    )
    CHANGES = (
        "mail_changes",
        _l("Les avis de changement : nouvel horaire, annulation"),
        _l("avis de changement"),
    )
    FOLLOWUP = (
        "mail_followup",
        _l("Le droit de suite après chaque épisode : replay et réponses"),
        _l("droit de suite"),
    )

    label = _Word("label")
    short = _Word("short")
    __new__ = _labelled("label", "short")


class MailKind(enum.StrEnum):
    """What an e-mail is for (the outbox's kind); the topic that lets a person stop it.

    A kind without a topic is the direct answer to the person's own action (registering,
    asking for a link): it cannot be stopped, and it is not sent otherwise.
    """

    #: value, label (the facilitator's mail report: plain French), topic
    REGISTRATION_CONFIRMATION = "registration_confirmation", "Confirmation d’inscription", None
    PERSONAL_LINK = "personal_link", "Lien personnel", None
    #: a seat freed and given from the waiting list: the answer to the person's own request
    #: (they asked for one), so it cannot be stopped
    SEAT_GIVEN = "seat_given", "Place obtenue (liste d’attente)", None
    REMINDER = "reminder", "Rappel", MailTopic.REMINDERS
    JOIN_LINK = "join_link", "Nouveau lien pour rejoindre", MailTopic.REMINDERS
    EPISODE_RESCHEDULED = "episode_rescheduled", "Nouvel horaire", MailTopic.CHANGES
    EPISODE_CANCELLED = "episode_cancelled", "Annulation", MailTopic.CHANGES
    EPISODE_REINSTATED = "episode_reinstated", "Épisode maintenu", MailTopic.CHANGES
    FOLLOWUP = "followup", "Droit de suite", MailTopic.FOLLOWUP

    label: str
    topic: MailTopic | None
    __new__ = _labelled("label", "topic")

    @classmethod
    def label_of(cls, value: str) -> str:
        """The label of a stored kind, or the kind itself if unknown."""
        try:
            return cls(value).label
        except ValueError:
            return value

    @classmethod
    def of_topics(cls, topics: set[MailTopic]) -> list[MailKind]:
        """The kinds these topics cover."""
        return [kind for kind in cls if kind.topic in topics]


class DeliveryState(enum.StrEnum):
    """Where an e-mail stands, as people read it (from the outbox row's status and errors)."""

    #: value, label
    QUEUED = "queued", _l("en attente")
    SENT = "sent", _l("envoyé")
    RETRY = "retry", _l("à réessayer")
    FAILED = "failed", _l("en échec")

    label = _Word("label")
    __new__ = _labelled("label")

    @classmethod
    def of(cls, status: str, last_error: str) -> DeliveryState:
        """The state of a row: pending with an error is waiting for its next try."""
        if status == "sent":
            return cls.SENT
        if status == "failed":
            return cls.FAILED
        return cls.RETRY if last_error else cls.QUEUED


class ReminderKind(enum.StrEnum):
    """What a row of `reminder_sent` records (its step says which one)."""

    #: step: minutes before the start
    REMINDER = "reminder"
    #: step: the episode's calendar SEQUENCE when the new join link was sent
    JOIN_LINK = "join_link"


class ScreenMove(enum.StrEnum):
    """A step of the live view along the running order (the button's value)."""

    PREVIOUS = "precedente", "Question précédente", -1, "ArrowLeft"
    NEXT = "suivante", "Question suivante", 1, "ArrowRight"

    button: str
    step: int
    #: the key that presses it, on the live view and the running order
    key: str
    __new__ = _labelled("button", "step", "key")


class PublicFate(enum.StrEnum):
    """What became of a published question, as the open-data API names it (its code) and
    the episode page reads it; declined questions are never public."""

    #: value (the API's stable code), label
    OPEN = "open", _l("sans réponse pour l’instant")
    ANSWERED_ON_AIR = "answered_on_air", _l("répondue en direct")
    ANSWERED_IN_WRITING = "answered_in_writing", _l("répondue par écrit")
    MERGED = "merged", _l("regroupée avec une question semblable")
    CARRIED_OVER = "carried_over", _l("reportée à un épisode suivant")

    label = _Word("label")
    __new__ = _labelled("label")

    @classmethod
    def of(cls, status: QuestionStatus) -> PublicFate:
        """The public fate of a (published, not declined) question: retained is not public."""
        return _PUBLIC_FATES.get(status, cls.OPEN)


_PUBLIC_FATES = {
    QuestionStatus.ANSWERED: PublicFate.ANSWERED_ON_AIR,
    QuestionStatus.WRITTEN: PublicFate.ANSWERED_IN_WRITING,
    QuestionStatus.MERGED: PublicFate.MERGED,
    QuestionStatus.CARRIED_OVER: PublicFate.CARRIED_OVER,
}


#: every code of the audit trail, with the label the journal shows (the facilitator's)
JOURNAL_LABELS: dict[str, str] = {
    "account.create": "Compte créé",
    "account.password": "Mot de passe changé (sessions fermées)",
    "account.remove": "Compte supprimé",
    "account.sign_out_everywhere": "Déconnexion de tous les appareils",
    "login": "Connexion",
    "episode.update": "Épisode modifié",
    "episode.followup": "Suivi envoyé",
    "episode.cancel": "Épisode annulé",
    "episode.reinstate": "Épisode maintenu (annulation retirée)",
    "mail.resend": "E-mails renvoyés",
    "question.note": "Note privée",
    "question.themes": "Thèmes de la question",
    "theme.create": "Thème créé",
    "live.screen": "Question mise à l’écran du direct",
    **{action.journal_code: f"Question {action.done}" for action in ReviewAction},
    **{action.journal_code: f"Question {action.done}" for action in FateAction},
    **{move.journal_code: f"Question {move.done} dans l’ordre" for move in OrderMove},
}
