"""Where a rendered email goes: the school's SMTP server, or a folder of .eml files.

The folder is the embedded default (`infoshare demo`, tests without SMTP): nothing leaves
the machine until an SMTP URL is set.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from infoshare_workflow.settings.config import Settings
from infoshare_workflow.storage.models import utcnow


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class SmtpTransport:
    url: str
    timeout: float = 30.0

    def send(self, message: EmailMessage) -> None:
        parts = urlsplit(self.url)
        host, secure = parts.hostname or "localhost", parts.scheme == "smtps"
        port = parts.port or (465 if secure else 25)
        client: smtplib.SMTP = (smtplib.SMTP_SSL(host, port, timeout=self.timeout, context=ssl.create_default_context())
                                if secure else smtplib.SMTP(host, port, timeout=self.timeout))
        with client:
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(message)


@dataclass(frozen=True)
class FolderTransport:
    """With no SMTP server set, each email becomes an .eml file in the outbox folder."""

    folder: str

    def send(self, message: EmailMessage) -> None:
        path = Path(self.folder)
        path.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        name = str(message["Message-ID"]).strip("<>").split("@")[0]
        (path / f"{stamp}-{name}.eml").write_bytes(bytes(message))


def transport_for(settings: Settings) -> Transport:
    return SmtpTransport(settings.smtp_url) if settings.smtp_url else FolderTransport(settings.outbox_dir)
