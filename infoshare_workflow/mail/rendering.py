"""Turning an email row into a message: templates, the signed link, the one-time code.

The link and the code are derived at send time from ids the row keeps, so the database
never holds a usable token (golden rule 6, "shared securely"). Templates are autoescaped
(.html). The school's own folder (INFOSHARE_TEMPLATE_DIR) is searched before the built-in
templates, so a school can reword any email or notice by giving the same path. Notices to
families come in the addressee's language when that translation exists (golden rule 2,
"be open and honest": a notice the family cannot read tells them nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from typing import Any, Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)

from infoshare_workflow.access.links import DISCLOSURE_SALT, TASK_SALT, LinkSigner, one_time_code
from infoshare_workflow.settings.config import TEMPLATES, Settings, school_names
from infoshare_workflow.settings.policy import Policy
from infoshare_workflow.storage.models import Email, utcnow

NOTICE_TEMPLATES = frozenset({"privacy_notice", "sharing_notice"})  # mail.notices.TEMPLATES queues these
NOTICE_PARTS = ("subject.txt", "txt", "html")
FALLBACK_LANGUAGE = "en"
_LANGUAGE_TAG = re.compile(r"[a-z]{2,8}")


def template_loader(settings: Settings) -> BaseLoader:
    """The built-in templates, behind the school's own folder when INFOSHARE_TEMPLATE_DIR is set:
    the first folder holding a path wins. Emails and pages (service.app) both load through it."""
    return _loader(settings.template_dir)


def _loader(template_dir: str | None) -> BaseLoader:
    builtin = FileSystemLoader(str(TEMPLATES))
    return builtin if template_dir is None else ChoiceLoader([FileSystemLoader(template_dir), builtin])


def notice_language(env: Environment, name: str, language: str | None) -> str:
    """The folder a notice is rendered from, `notices/<language>/`: the addressee's language when
    every part of that translation exists (built in or in the school's folder), else English."""
    tag = (language or "").lower()
    if _LANGUAGE_TAG.fullmatch(tag) and all(_exists(env, f"notices/{tag}/{name}.{part}") for part in NOTICE_PARTS):
        return tag
    return FALLBACK_LANGUAGE


def retention_periods(policy: Policy) -> dict[str, dict[str, Any]]:
    """The policy's retention periods for a privacy notice: each category's `amount` and `unit`
    (for templates to put in their own language's words) and `text`, e.g. "25 years"."""
    return {category: {"amount": int(d.amount) if d.amount == int(d.amount) else d.amount, "unit": d.unit,
                       "text": str(d)} for category, d in policy.retention.items()}


def _exists(env: Environment, name: str) -> bool:
    try:
        env.loader.get_source(env, name)  # type: ignore[union-attr]
    except TemplateNotFound:
        return False
    return True


@dataclass(frozen=True)
class Renderer:
    settings: Settings

    def environment(self) -> Environment:
        return _environment(self.settings.template_dir, self.settings.timezone)

    def render(self, email: Email, extra: Mapping[str, Any] | None = None) -> EmailMessage:
        """The message for `email`. `extra` (e.g. a notice's content, read at send time) joins the
        email's own context; what the renderer derives (case, school, link, code) comes last."""
        env = self.environment()
        context = {**email.context, **(extra or {}), "case_id": email.case_id, **school_names(self.settings),
                   "school_contact": self.settings.school_contact, "link": self.link(email), "code": self.code(email)}
        base, language = f"email/{email.template}", None
        if email.template in NOTICE_TEMPLATES:
            language = notice_language(env, email.template, context.get("language"))
            base = f"notices/{language}/{email.template}"
            context.update(language=language, retention=retention_periods(self.settings.policy))
        message = EmailMessage()
        message["Subject"] = env.get_template(f"{base}.subject.txt").render(context).strip()
        message["From"] = self.settings.mail_from
        message["To"] = email.to_address
        message["Date"] = format_datetime(utcnow())
        # Stable across retries, so a receiving server can spot a repeat.
        message["Message-ID"] = f"<{email.id}@{urlsplit(self.settings.base_url).hostname or 'infoshare'}>"
        if email.case_id:
            message["X-Infoshare-Case"] = email.case_id
        message.set_content(env.get_template(f"{base}.txt").render(context))
        message.add_alternative(env.get_template(f"{base}.html").render(context), subtype="html")
        if language is not None:  # after the parts: setting content clears Content-* headers
            message["Content-Language"] = language
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


@lru_cache(maxsize=8)
def _environment(template_dir: str | None, timezone: str) -> Environment:
    """One environment per template folder and clock, kept: compiling the templates is most of an
    email's cost (about 26 of 28 ms), and Jinja's own cache then keeps each compiled template,
    still checking the file's time, so a school's edited template is picked up."""
    env = Environment(loader=_loader(template_dir), undefined=StrictUndefined, autoescape=select_autoescape(["html", "xml"]))
    zone = ZoneInfo(timezone)
    env.filters["local"] = lambda value: _local(value, zone)
    env.filters["school_time"] = lambda value: _in_zone(value, zone)
    return env


def _local(value: Any, zone: ZoneInfo) -> str:
    return _in_zone(value, zone).strftime("%a %d %b %Y, %H:%M %Z")


def _in_zone(value: Any, zone: ZoneInfo) -> datetime:
    """A moment (or its ISO 8601 text) on the school's clock, for templates that spell dates
    in their own language (`{{ (x | school_time).day }}`)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(zone)
