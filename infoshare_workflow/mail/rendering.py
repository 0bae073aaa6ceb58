"""Turning an email row into a message: templates, the signed link, the one-time code.

The link and the code are derived at send time from ids the row keeps, so the database
never holds a usable token (golden rule 6, "shared securely"). Templates are autoescaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from infoshare_workflow.access.links import DISCLOSURE_SALT, TASK_SALT, LinkSigner, one_time_code
from infoshare_workflow.settings.config import TEMPLATES, Settings, school_names
from infoshare_workflow.storage.models import Email, utcnow


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
        context = {**email.context, "case_id": email.case_id, **school_names(self.settings),
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
