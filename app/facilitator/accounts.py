"""Facilitator accounts: argon2 hashes, creation, authentication, the session's user."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin

from .. import validation
from ..clock import utcnow
from ..database import write
from ..extensions import db
from ..models import Facilitator
from ..sessions import end_sessions
from .journal import record

MIN_PASSWORD_LENGTH = 12
#: zxcvbn's score (0-4) a password must reach: 3 is about 10^8 guesses or more
MIN_PASSWORD_SCORE = 3
# argon2id with one of OWASP's recommended settings (9 MiB, 4 passes, 1 lane; all of them
# resist alike): argon2-cffi's default takes 64 MiB per hash, and a web worker (budget:
# 100 MB at its peak) cannot spare that at each login. Hashes made with other settings
# still verify, and are redone at the next login.
_hasher = PasswordHasher(time_cost=4, memory_cost=9 * 1024, parallelism=1)
# Verified against when the e-mail is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-timing")


class AccountError(ValueError):
    """A facilitator account cannot be created as asked (message in French)."""


@dataclass
class FacilitatorUser(UserMixin):
    """The logged-in facilitator as Flask-Login sees it."""

    facilitator_id: int
    email: str
    password_hash: str

    def get_id(self) -> str:
        """Session key: the id plus a fingerprint of the hash, so a new password ends old sessions."""
        return f"{self.facilitator_id}:{_fingerprint(self.password_hash)}"


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def load_user(user_id: str) -> FacilitatorUser | None:
    """The facilitator behind a session key, if it still matches their password."""
    raw_id, _, fingerprint = user_id.partition(":")
    if not raw_id.isdigit():
        return None
    facilitator = db.session.get(Facilitator, int(raw_id))
    if facilitator is None or fingerprint != _fingerprint(facilitator.password_hash):
        return None
    return FacilitatorUser(facilitator.id, facilitator.email, facilitator.password_hash)


def normalise_email(raw: str) -> str:
    """Syntax-checked, lower-cased address (no DNS lookup), or AccountError."""
    try:
        return validation.normalise_email(raw.strip())
    except ValueError as error:
        raise AccountError(f"Adresse e-mail invalide : « {raw} ».") from error


def check_password(password: str, email: str = "") -> None:
    """Refuse a short or easily guessed password: length, and zxcvbn's estimate of the
    guesses it takes (common passwords, repeats, sequences, the e-mail itself); no
    composition rules (NIST SP 800-63B)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Mot de passe trop court : {MIN_PASSWORD_LENGTH} caractères au moins.")
    if len(password) > 1024:
        raise AccountError("Mot de passe trop long : 1 024 caractères au plus.")
    # Imported here: only the command line sets passwords, and zxcvbn's word lists take
    # 12 MB that a web worker would carry for nothing.
    from zxcvbn import zxcvbn

    # zxcvbn costs grow with the length; the first 100 characters say enough.
    estimate = zxcvbn(password[:100], user_inputs=[email, *email.split("@")])
    if estimate["score"] < MIN_PASSWORD_SCORE:
        raise AccountError(
            "Mot de passe trop facile à deviner (mot courant, suite, répétition ou adresse) : "
            "choisissez une phrase de quelques mots."
        )


def create_facilitator(email: str, password: str) -> Facilitator:
    """Create an account with an argon2 hash; AccountError if invalid or taken."""
    address = normalise_email(email)
    check_password(password, address)
    with write():
        if db.session.scalars(sa.select(Facilitator.id).filter_by(email=address)).first():
            raise AccountError(f"Un compte existe déjà pour {address}.")
        facilitator = Facilitator(email=address, password_hash=_hasher.hash(password))
        db.session.add(facilitator)
        db.session.flush()
        record(facilitator.id, "account.create", f"facilitator:{facilitator.id}", address)
    return facilitator


def authenticate(email: str, password: str) -> FacilitatorUser | None:
    """The facilitator if the password matches; the same cost whether the e-mail exists or not.

    A success is recorded (last login, journal, a rehash if argon2's parameters changed)
    in its own transaction.
    """
    address = email.strip().lower()
    facilitator = db.session.scalars(sa.select(Facilitator).filter_by(email=address)).first()
    try:
        _hasher.verify(facilitator.password_hash if facilitator else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if facilitator is None:
        return None
    facilitator_id = facilitator.id
    with write():
        facilitator = db.session.get(Facilitator, facilitator_id)
        if facilitator is None:
            return None
        facilitator.last_login_at = utcnow()
        if _hasher.check_needs_rehash(facilitator.password_hash):
            facilitator.password_hash = _hasher.hash(password)
        record(facilitator.id, "login", f"facilitator:{facilitator.id}")
    return FacilitatorUser(facilitator.id, facilitator.email, facilitator.password_hash)


def _account(address: str) -> Facilitator:
    """The account of this address (inside a write), or AccountError."""
    facilitator = db.session.scalars(sa.select(Facilitator).filter_by(email=address)).first()
    if facilitator is None:
        raise AccountError(f"Aucun compte pour {address}.")
    return facilitator


def reset_password(email: str, password: str) -> int:
    """Set a new password and end every session of the account; return how many ended."""
    address = normalise_email(email)
    check_password(password, address)
    with write():
        facilitator = _account(address)
        facilitator.password_hash = _hasher.hash(password)
        ended = end_sessions(facilitator_id=facilitator.id)
        record(None, "account.password", f"facilitator:{facilitator.id}")
    return ended


def remove_facilitator(email: str) -> int:
    """Delete an account and end its sessions; return how many ended. The journal keeps the
    actions, no longer tied to the person."""
    address = normalise_email(email)
    with write():
        facilitator = _account(address)
        ended = end_sessions(facilitator_id=facilitator.id)
        record(None, "account.remove", f"facilitator:{facilitator.id}")
        db.session.delete(facilitator)
    return ended


def sign_out_everywhere(facilitator_id: int) -> int:
    """End every session of this facilitator (this one included); return how many."""
    with write():
        ended = end_sessions(facilitator_id=facilitator_id)
        record(facilitator_id, "account.sign_out_everywhere", f"facilitator:{facilitator_id}")
    return ended
