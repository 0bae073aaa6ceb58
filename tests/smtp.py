"""A real SMTP server in-process (aiosmtpd), one that refuses as it is told, a silent one and an
address nothing listens on, for fault tests."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


class RefusingInbox(Inbox):
    """A server that answers RCPT or DATA with the reply it is told (`refuse`), a number of times
    or every time, then accepts as `Inbox` does. `refusals` counts the refusals it gave."""

    def __init__(self) -> None:
        super().__init__()
        self.reply: str | None = None
        self.stage = "RCPT"
        self.times: int | None = None
        self.refusals = 0

    def refuse(self, reply: str, at: str = "RCPT", times: int | None = None) -> None:
        """Answer `reply` (e.g. "550 5.1.1 mailbox unavailable") at `at` (RCPT or DATA), `times`
        times (None: every time)."""
        assert at in ("RCPT", "DATA")
        with self.lock:
            self.reply, self.stage, self.times, self.refusals = reply, at, times, 0

    def _refusal(self, stage: str) -> str | None:
        with self.lock:
            if self.reply is None or stage != self.stage or (self.times is not None and self.refusals >= self.times):
                return None
            self.refusals += 1
            return self.reply

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        refusal = self._refusal("RCPT")
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        refusal = self._refusal("DATA")
        if refusal is not None:
            return refusal
        return await super().handle_DATA(server, session, envelope)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(inbox: Inbox | None = None) -> Iterator[tuple[Inbox, str]]:
    """A server handing what it receives to `inbox` (a fresh `Inbox` by default)."""
    inbox = inbox if inbox is not None else Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


@contextmanager
def silent_smtp_server() -> Iterator[str]:
    """Accepts connections and never answers: a sender blocks waiting for the greeting."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"smtp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def unreachable_smtp_url() -> str:
    """An SMTP URL on a port nothing listens on: connecting is refused at once."""
    return f"smtp://127.0.0.1:{free_port()}"
