"""A real SMTP server in the test process, and the sink that keeps what it receives."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    """A free TCP port on the loopback (aiosmtpd cannot take port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MailSink:
    """aiosmtpd handler keeping every message received."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        #: the bytes as they travelled
        self.raw: list[bytes] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.raw.append(envelope.content)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait until `count` messages arrived; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} e-mails, got {len(self.messages)}")

    def clear(self) -> None:
        """Forget what arrived."""
        with self.lock:
            self.messages.clear()
            self.envelopes.clear()
            self.raw.clear()


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Controller, MailSink]]:
    """A real SMTP server on 127.0.0.1, for the whole session."""
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, sink
    controller.stop()


@pytest.fixture
def smtp(smtp_server: tuple[Controller, MailSink]) -> MailSink:
    """The SMTP sink, emptied for this test."""
    smtp_server[1].clear()
    return smtp_server[1]


@pytest.fixture(autouse=True)
def no_sender_left_running() -> Iterator[None]:
    """Each test stops the background senders it started: one left running on the shared
    test database, with its own app's clock, takes the next tests' rows as due and sends
    them a second time (a mail without its unsubscribe headers, seen on CI)."""
    yield
    left = [thread for thread in threading.enumerate() if thread.name == "outbox"]
    assert not left, f"{len(left)} background sender(s) still running after the test"
