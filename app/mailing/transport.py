"""From an outbox row to bytes on the wire: the MIME message, the SMTP connection, the folder."""

from __future__ import annotations

import contextlib
import email.policy
import re
import smtplib
from email.charset import QP, Charset
from email.mime.text import MIMEText
from pathlib import Path

from flask import current_app
from flask_mail import Attachment, Connection, Message

from ..clock import utcnow
from ..models import OutboxMessage
from .queue import BadRecipient, new_message_id

SMTP_POLICY = email.policy.SMTP.clone(max_line_length=998)


class QuotedPrintableMessage(Message):
    """Flask-Mail sends UTF-8 bodies as 8bit, so a long link makes a line over the 998
    octets SMTP allows (servers answer 500): encode text parts as quoted-printable."""

    def _message(self):  # type: ignore[no-untyped-def]
        """Flask-Mail's MIME message, with headers folded at 998 octets rather than 78:
        a long URL header has no space to fold at, and the 78-octet policy turns it into an
        encoded word, which mail clients do not read as List-Unsubscribe's `<url>`."""
        message = super()._message()
        message.policy = SMTP_POLICY
        return message

    def _mimetext(self, text: str | None, subtype: str = "plain") -> MIMEText:
        encoding = Charset("utf-8")
        encoding.body_encoding = QP
        return MIMEText(text or "", _subtype=subtype, _charset=encoding)  # type: ignore[arg-type]


def build_message(row: OutboxMessage) -> Message:
    """The Flask-Mail message for an outbox row."""
    message = QuotedPrintableMessage(
        subject=row.subject,
        recipients=[row.recipient],
        body=row.body_text,
        html=row.body_html or None,
        extra_headers=dict(row.headers or {}),
        charset="utf-8",
    )
    # One Message-ID per row, whatever the attempt: a copy sent twice (the server took it
    # but its answer was lost) is one message to the recipient's mail client.
    message.msgId = row.message_id or new_message_id()
    if row.ics:
        message.attachments.append(
            Attachment(
                filename="webinaires-participation.ics",
                content_type=f"text/calendar; charset=utf-8; method={calendar_method(row.ics)}",
                data=row.ics.encode("utf-8"),
                disposition="attachment",
            )
        )
    return message


def calendar_method(ics: str) -> str:
    """The iTIP method of a calendar file (PUBLISH, CANCEL…), for its Content-Type."""
    found = re.search(r"^METHOD:([A-Z-]+)\r?$", ics, re.MULTILINE)
    return found.group(1) if found else "PUBLISH"


class SmtpConnection(Connection):
    """Flask-Mail's connection, with a socket timeout (it has none of its own)."""

    def configure_host(self) -> smtplib.SMTP | smtplib.SMTP_SSL:
        timeout = float(current_app.config.get("MAIL_TIMEOUT", 10))
        host: smtplib.SMTP | smtplib.SMTP_SSL
        if self.mail.use_ssl:
            host = smtplib.SMTP_SSL(self.mail.server, self.mail.port, timeout=timeout)
        else:
            host = smtplib.SMTP(self.mail.server, self.mail.port, timeout=timeout)
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, str(self.mail.password))
        return host


class Transport:
    """One delivery run's way out: an SMTP connection opened on first use, or the folder."""

    def __init__(self) -> None:
        self.use_smtp = bool(current_app.config.get("MAIL_SERVER"))
        self.connection: SmtpConnection | None = None

    def send(self, message: Message) -> None:
        """Send one message (SMTP errors and OSError propagate)."""
        if not self.use_smtp:
            write_to_folder(message)
            return
        if self.connection is None:
            self.connection = SmtpConnection(current_app.extensions["mail"])
            self.connection.__enter__()
        self.connection.send(message)

    def close(self) -> None:
        """Say goodbye to the server, ignoring a connection already lost."""
        connection, self.connection = self.connection, None
        if connection is None or connection.host is None:
            return
        with contextlib.suppress(smtplib.SMTPException, OSError):
            connection.host.quit()


def write_to_folder(message: Message) -> None:
    """No SMTP configured: keep the message readable under instance/mail/."""
    folder = Path(current_app.instance_path) / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"{stamp}.eml"
    path.write_bytes(message.as_bytes())
    current_app.logger.warning("Pas de serveur SMTP configuré : e-mail écrit dans %s", path)


def is_permanent(error: Exception) -> bool:
    """5xx answers and refused recipients do not get better with time."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return isinstance(error, BadRecipient | ValueError)


def is_message_fault(error: Exception) -> bool:
    """The server answered about this message: the next one may still go."""
    return isinstance(
        error,
        smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused | BadRecipient | ValueError,
    )


def describe_failure(error: Exception) -> str:
    """Why a message did not leave, in French for the facilitator, the server's words after."""
    detail = f"{type(error).__name__}: {error}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        reason = "Adresse refusée par le serveur de messagerie"
        answers = "; ".join(
            f"{code} {message.decode(errors='replace') if isinstance(message, bytes) else message}"
            for code, message in error.recipients.values()
        )
        detail = f"{type(error).__name__}: {answers}"
    elif isinstance(error, smtplib.SMTPAuthenticationError):
        reason = "Identifiants SMTP refusés : vérifiez FLASK_MAIL_USERNAME et FLASK_MAIL_PASSWORD"
    elif isinstance(error, smtplib.SMTPSenderRefused):
        reason = "Adresse d’expédition refusée par le serveur de messagerie"
    elif isinstance(error, smtplib.SMTPResponseException):
        permanent = error.smtp_code >= 500
        reason = (
            "Message refusé par le serveur de messagerie"
            if permanent
            else "Serveur de messagerie momentanément indisponible"
        )
    elif isinstance(error, smtplib.SMTPServerDisconnected):
        reason = "Le serveur de messagerie a coupé la connexion"
    elif isinstance(error, TimeoutError):
        reason = "Le serveur de messagerie ne répond pas (délai dépassé)"
    elif isinstance(error, ConnectionRefusedError):
        reason = "Serveur de messagerie injoignable (connexion refusée)"
    elif isinstance(error, OSError):
        reason = "Serveur de messagerie injoignable"
    elif isinstance(error, BadRecipient | ValueError):
        reason = "Adresse ou en-tête inutilisable"
    else:
        reason = "Erreur d’envoi"
    return f"{reason} ({detail})"
