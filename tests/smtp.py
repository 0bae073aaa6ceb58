"""A real SMTP server in-process (aiosmtpd), one that refuses as it is told, a silent one, a front
that drops connections and an address nothing listens on, for fault tests."""

from __future__ import annotations

import asyncio
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

    def accept(self) -> None:
        """Stop refusing: accept everything from now on (`refusals` keeps its count)."""
        with self.lock:
            self.reply = None

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


class HoldingInbox(RefusingInbox):
    """A `RefusingInbox` that can hold back its replies to DATA: while `hold()` is on, a sender
    that has sent its message waits for an answer until `release()`, provably in the middle of
    its SMTP conversation and before the server has taken the message. A held message is never
    stored (released, it is answered 451). `held` names the cases (`X-Infoshare-Case`) being held."""

    def __init__(self) -> None:
        super().__init__()
        self.holding = False
        self.held: set[str] = set()

    def hold(self) -> None:
        with self.lock:
            self.holding = True

    def release(self) -> None:
        with self.lock:
            self.holding = False

    def held_cases(self) -> set[str]:
        with self.lock:
            return set(self.held)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            holding = self.holding
        if not holding:
            return await super().handle_DATA(server, session, envelope)
        case = str(email.message_from_bytes(envelope.content, policy=email.policy.default)["X-Infoshare-Case"])
        with self.lock:
            self.held.add(case)
        try:
            while True:
                with self.lock:
                    if not self.holding:
                        break
                await asyncio.sleep(0.05)
        finally:
            with self.lock:
                self.held.discard(case)
        return "451 4.3.0 Try again later"


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


class DroppingFront:
    """A TCP front for an SMTP server that drops connections while told to: each one is accepted
    and closed at once, before the greeting (the sender sees the server hang up, as while a mail
    relay restarts). Otherwise it passes bytes both ways. `dropped` counts the connections dropped."""

    def __init__(self, backend_url: str) -> None:
        host, port = backend_url.removeprefix("smtp://").rsplit(":", 1)
        self.backend = (host, int(port))
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.url = f"smtp://127.0.0.1:{self.listener.getsockname()[1]}"
        self.dropping = False
        self.dropped = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def drop(self, dropping: bool = True) -> None:
        with self.lock:
            self.dropping = dropping

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                conn = self.listener.accept()[0]
            except OSError:
                continue
            with self.lock:
                dropping = self.dropping
                self.dropped += dropping
            if dropping:
                conn.close()
                continue
            conn.settimeout(None)
            try:
                upstream = socket.create_connection(self.backend, timeout=10)
            except OSError:
                conn.close()
                continue
            upstream.settimeout(None)
            for source, sink in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.listener.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy one direction until either side closes, then close both."""
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()


@contextmanager
def dropping_front(backend_url: str) -> Iterator[DroppingFront]:
    """A `DroppingFront` for the server at `backend_url`, passing connections through until told."""
    front = DroppingFront(backend_url)
    front.thread.start()
    try:
        yield front
    finally:
        front.close()


def unreachable_smtp_url() -> str:
    """An SMTP URL on a port nothing listens on: connecting is refused at once."""
    return f"smtp://127.0.0.1:{free_port()}"
