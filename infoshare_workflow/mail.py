"""Emails: queued in the database with the change that causes them, sent exactly once.

No personal data in any email (DOMAIN.md, INTERFACES.md §2): templates get the step, the
case reference, the due time and the link, nothing about the pupil or the concern. Sending
claims the row with a lease first, so a re-delivered task cannot send a second copy while
the first attempt may still be running, and a killed worker's email is taken over later.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from .config import TEMPLATES, Settings
from .links import DISCLOSURE_SALT, TASK_SALT, LinkSigner, one_time_code
from .models import Email, utcnow
from .outbox import enqueue

SEND_TASK = "infoshare.mail.send"


def queue_email(session: Session, *, template: str, to_address: str, to_label: str, case_id: str | None,
                context: dict[str, Any]) -> Email:
    """Write the email and its outbox row into the caller's transaction."""
    email = Email(id=str(uuid.uuid4()), template=template, to_address=to_address, to_label=to_label,
                  case_id=case_id, context=context, status="queued")
    session.add(email)
    enqueue(session, SEND_TASK, email_id=email.id)
    return email


def claim(session: Session, email_id: str, lease: timedelta) -> Email | None:
    """Take the email for sending, unless it is sent or another attempt holds a live claim."""
    now = utcnow()
    result = session.execute(
        update(Email)
        .where(Email.id == email_id, Email.status != "sent",
               or_(Email.claimed_until.is_(None), Email.claimed_until < now))
        .values(status="sending", claimed_until=now + lease, attempts=Email.attempts + 1)
    )
    return session.get(Email, email_id) if result.rowcount == 1 else None


def is_sent(session: Session, email_id: str) -> bool:
    found = session.get(Email, email_id)
    return found is not None and found.status == "sent"


def mark_sent(session: Session, email_id: str) -> None:
    session.execute(update(Email).where(Email.id == email_id).values(status="sent", sent_at=utcnow(),
                                                                      claimed_until=None))


def release(session: Session, email_id: str) -> None:
    """Give the claim back after a failed attempt, so the retry can take it at once."""
    session.execute(update(Email).where(Email.id == email_id, Email.status == "sending")
                    .values(status="queued", claimed_until=None))


@dataclass(frozen=True)
class Renderer:
    settings: Settings

    def environment(self) -> Environment:
        env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                          autoescape=select_autoescape(["html", "xml"]))
        zone = ZoneInfo(self.settings.timezone)
        env.filters["local"] = lambda value: _local(value, zone)
        return env

    def render(self, email: Email) -> EmailMessage:
        env = self.environment()
        context = {**email.context, "case_id": email.case_id, "school_name": self.settings.school_name,
                   "link": self.link(email), "code": self.code(email)}
        message = EmailMessage()
        message["Subject"] = env.get_template(f"email/{email.template}.subject.txt").render(context).strip()
        message["From"] = self.settings.mail_from
        message["To"] = email.to_address
        message["Date"] = format_datetime(utcnow())
        # Stable across retries, so a receiving server can spot a repeat.
        message["Message-ID"] = f"<{email.id}@{urlsplit(self.settings.base_url).hostname or 'infoshare'}>"
        if email.case_id:
            message["X-Infoshare-Case"] = email.case_id
        message.set_content(env.get_template(f"email/{email.template}.txt").render(context))
        message.add_alternative(env.get_template(f"email/{email.template}.html").render(context), subtype="html")
        return message

    def code(self, email: Email) -> str | None:
        """A disclosure's one-time code, derived at send time: the database keeps only its nonce."""
        nonce, link_id = email.context.get("code_nonce"), email.context.get("code_for")
        return one_time_code(self.settings.secret_key, link_id, nonce) if nonce and link_id else None

    def link(self, email: Email) -> str | None:
        """The signed URL; the database keeps only the opaque link id."""
        link_id = email.context.get("link_id")
        if link_id is None:
            return None
        signer = LinkSigner(self.settings.secret_key)
        if email.template == "disclosure":
            return f"{self.settings.base_url}/disclosures/{signer.sign(link_id, DISCLOSURE_SALT)}"
        return f"{self.settings.base_url}/tasks/{signer.sign(link_id, TASK_SALT)}"


def _local(value: Any, zone: ZoneInfo) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(zone).strftime("%a %d %b %Y, %H:%M %Z")


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
