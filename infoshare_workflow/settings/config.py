"""Settings read from the environment (INTERFACES.md §5), shared by the web app and worker.

Why one loader: the app, the worker and the CLI must agree on the database, the keys and
the queue, and each must stop at start-up with one clear line when a required setting is
missing, rather than fail later on a child's record ("share securely", golden rule 6).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet

from infoshare_workflow.settings.policy import Policy, PolicyError, load_policy

log = logging.getLogger(__name__)

EMBEDDED_DATABASE_URL = "sqlite:///infoshare.db"
EMBEDDED_BROKER_URL = "memory://"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"  # inside the package, so the wheel has them


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message is the one line to show."""


@dataclass(frozen=True)
class RateLimits:
    """Per-client limits ("50 per second", "20/minute;100/hour"), None = no limit.

    Golden rule 6 ("shared securely"): whoever can reach the webhook, a task page, a
    disclosure page or the admin API can knock as often as they like; these keep guessing
    and noise cheap and slow. `failures` counts, per client and door, only the answers that
    say "not you" (400, 401, 404, 413, 415): a client that keeps failing is told to wait.
    """

    storage_url: str = "memory://"
    webhook: str | None = "50 per second"
    pages: str | None = "60 per minute"
    api: str | None = "300 per minute"
    failures: str | None = "20 per minute"
    proxy_hops: int = 0

    @classmethod
    def off(cls) -> RateLimits:
        return cls(webhook=None, pages=None, api=None, failures=None)


@dataclass(frozen=True)
class Settings:
    database_url: str
    broker_url: str
    mis_webhook_secret: str
    secret_key: str
    encryption_keys: tuple[str, ...]
    base_url: str = "http://localhost:5000"
    smtp_url: str | None = None
    mail_from: str = "safeguarding@localhost"
    timezone: str = "Europe/London"
    queue: str = "infoshare"
    policy_file: str | None = None
    dispatch_interval: int = 60
    embedded: bool = field(default=False)
    outbox_dir: str = "outbox"
    outbox_lease_seconds: int = 120
    school_name: str | None = None  # None only on the embedded defaults: pages then say "your school"
    school_contact: str | None = None
    school_logo: str | None = None
    school_colour: str | None = None
    base_url_given: bool = False
    worker_metrics_port: int | None = None
    template_dir: str | None = None  # the school's own templates, searched before the built-in ones
    policy: Policy = field(default_factory=Policy)
    rate_limits: RateLimits = field(default_factory=RateLimits)

    @property
    def embedded_broker(self) -> bool:
        return self.broker_url.startswith("memory://")


def _secrets_file(database_url: str) -> Path:
    """The generated secrets live beside the embedded SQLite file, never in the repo."""
    db_path = Path(database_url.removeprefix("sqlite:///"))
    return db_path.with_name(db_path.name + ".secrets.json")


def _embedded_secrets(database_url: str) -> dict[str, str]:
    path = _secrets_file(database_url)
    if path.exists():
        return json.loads(path.read_text())
    generated = {
        "INFOSHARE_MIS_WEBHOOK_SECRET": "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "INFOSHARE_SECRET_KEY": secrets.token_urlsafe(32),
        "INFOSHARE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    path.write_text(json.dumps(generated, indent=2))
    path.chmod(0o600)
    log.warning("embedded mode: generated secrets and kept them in %s", path)
    return generated


def _validate_webhook_secret(value: str) -> None:
    if not value.startswith("whsec_"):
        raise ConfigError("INFOSHARE_MIS_WEBHOOK_SECRET must start with 'whsec_'")
    try:
        raw = base64.b64decode(value.removeprefix("whsec_"), validate=True)
    except ValueError as exc:
        raise ConfigError("INFOSHARE_MIS_WEBHOOK_SECRET is not base64 after 'whsec_'") from exc
    if len(raw) < 24:
        raise ConfigError("INFOSHARE_MIS_WEBHOOK_SECRET must hold at least 24 bytes")


def _validate_encryption_keys(keys: tuple[str, ...]) -> None:
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError as exc:
            raise ConfigError(f"INFOSHARE_ENCRYPTION_KEYS key {position} is not a Fernet key") from exc


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting; raise ConfigError naming the first bad one."""
    env = dict(os.environ if environ is None else environ)
    database_url = database_url_of(env)
    embedded = database_url == EMBEDDED_DATABASE_URL
    if embedded:
        for name, value in _embedded_secrets(database_url).items():
            env.setdefault(name, value)

    def required(name: str) -> str:
        value = env.get(name, "").strip()
        if not value:
            raise ConfigError(f"{name} is required when INFOSHARE_DATABASE_URL is not the embedded default")
        return value

    webhook_secret = required("INFOSHARE_MIS_WEBHOOK_SECRET")
    _validate_webhook_secret(webhook_secret)
    keys = tuple(k.strip() for k in required("INFOSHARE_ENCRYPTION_KEYS").split(",") if k.strip())
    _validate_encryption_keys(keys)
    try:
        interval = int(env.get("INFOSHARE_DISPATCH_INTERVAL", "60"))
    except ValueError as exc:
        raise ConfigError("INFOSHARE_DISPATCH_INTERVAL must be a whole number of seconds") from exc
    if interval < 1:
        raise ConfigError("INFOSHARE_DISPATCH_INTERVAL must be at least 1 second")
    try:
        lease = int(env.get("INFOSHARE_OUTBOX_LEASE", "120"))
    except ValueError as exc:
        raise ConfigError("INFOSHARE_OUTBOX_LEASE must be a whole number of seconds") from exc
    timezone = env.get("INFOSHARE_TIMEZONE") or "Europe/London"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"INFOSHARE_TIMEZONE {timezone!r} is not a known time zone") from exc
    return Settings(
        database_url=database_url,
        broker_url=env.get("INFOSHARE_BROKER_URL") or EMBEDDED_BROKER_URL,
        mis_webhook_secret=webhook_secret,
        secret_key=required("INFOSHARE_SECRET_KEY"),
        encryption_keys=keys,
        base_url=(env.get("INFOSHARE_BASE_URL") or "http://localhost:5000").rstrip("/"),
        base_url_given=bool(env.get("INFOSHARE_BASE_URL")),
        smtp_url=env.get("INFOSHARE_SMTP_URL") or None,
        mail_from=env.get("INFOSHARE_MAIL_FROM") or "safeguarding@localhost",
        timezone=timezone,
        queue=env.get("INFOSHARE_QUEUE") or "infoshare",
        policy_file=env.get("INFOSHARE_POLICY_FILE") or None,
        dispatch_interval=interval,
        embedded=embedded,
        outbox_dir=env.get("INFOSHARE_OUTBOX_DIR") or _default_outbox(database_url),
        outbox_lease_seconds=max(lease, 5),
        school_name=(env.get("INFOSHARE_SCHOOL_NAME") or "").strip() or (None if embedded else required(
            "INFOSHARE_SCHOOL_NAME")),
        policy=_policy(env.get("INFOSHARE_POLICY_FILE") or None),
        rate_limits=_rate_limits(env, env.get("INFOSHARE_BROKER_URL") or EMBEDDED_BROKER_URL),
        worker_metrics_port=_port(env, "INFOSHARE_WORKER_METRICS_PORT"),
        school_contact=(env.get("INFOSHARE_SCHOOL_CONTACT") or "").strip() or None,
        school_logo=_logo(env.get("INFOSHARE_SCHOOL_LOGO") or None),
        school_colour=_colour(env.get("INFOSHARE_SCHOOL_COLOUR") or None),
        template_dir=_template_dir(env.get("INFOSHARE_TEMPLATE_DIR") or None),
    )


LOGO_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".webp": "image/webp"}


def _logo(path: str | None) -> str | None:
    """The school's logo for the page header: an image file the app can read."""
    if path is None:
        return None
    if Path(path).suffix.lower() not in LOGO_TYPES or not Path(path).is_file():
        raise ConfigError(f"INFOSHARE_SCHOOL_LOGO {path!r} is not a readable PNG, SVG, JPEG or WebP file")
    return path


def _template_dir(path: str | None) -> str | None:
    """The school's own templates (notices, emails, pages): a folder that exists, kept absolute
    so the web app, the worker and the CLI read the same one whatever their working folder."""
    if path is None:
        return None
    if not Path(path).is_dir():
        raise ConfigError(f"INFOSHARE_TEMPLATE_DIR {path!r} is not a folder that exists")
    return str(Path(path).resolve())


def _colour(value: str | None) -> str | None:
    """The header's colour, #rrggbb; white text on it must be readable (WCAG 2.2 AA, 4.5:1)."""
    if value is None:
        return None
    text = value.strip().lower()
    if not re.fullmatch(r"#[0-9a-f]{6}", text):
        raise ConfigError(f"INFOSHARE_SCHOOL_COLOUR {value!r} is not a colour such as #1d70b8")
    if _contrast_with_white(text) < 4.5:
        raise ConfigError(f"INFOSHARE_SCHOOL_COLOUR {value!r} is too light for white text on it "
                          "(WCAG AA needs a contrast of 4.5:1): choose a darker shade")
    return text


def _contrast_with_white(colour: str) -> float:
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    return 1.05 / (luminance + 0.05)


def _port(env: Mapping[str, str], name: str) -> int | None:
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"{name} must be a port number (1 to 65535)")
    return int(raw)


def school_names(settings: Settings) -> dict[str, str | None]:
    """For templates: `school_name` (None when unset) for headers, `school` for sentences,
    which says "your school" in plain words rather than a made-up name."""
    return {"school_name": settings.school_name, "school": settings.school_name or "your school"}


def branding(settings: Settings) -> dict[str, str | None]:
    """For page templates: the school's names, contact, and whether a logo and colour are set."""
    return {**school_names(settings), "school_contact": settings.school_contact,
            "school_logo": settings.school_logo, "school_colour": settings.school_colour}


def database_url_of(environ: Mapping[str, str] | None = None) -> str:
    """The database the settings name, read without loading (or generating) anything else."""
    env = os.environ if environ is None else environ
    return env.get("INFOSHARE_DATABASE_URL") or EMBEDDED_DATABASE_URL


def embedded_files(database_url: str) -> list[Path]:
    """What the embedded defaults create beside the SQLite file: the file, its journals, the secrets."""
    db_path = Path(database_url.removeprefix("sqlite:///"))
    return [db_path, *(db_path.with_name(db_path.name + s) for s in ("-wal", "-shm", "-journal")),
            _secrets_file(database_url)]


def served_at(settings: Settings, host: str, port: int) -> Settings:
    """Settings whose emailed links name the address the app is served on, unless
    INFOSHARE_BASE_URL says otherwise (a link to the wrong port is a dead link)."""
    if settings.base_url_given:
        return settings
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::", "::1", "localhost") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return replace(settings, base_url=f"http://{shown}:{port}")


def _rate_limits(env: Mapping[str, str], broker_url: str) -> RateLimits:
    """INFOSHARE_RATE_LIMIT_* ("off" for none); counted in the broker's Redis unless told otherwise."""
    from limits import parse_many

    defaults = RateLimits()
    chosen: dict[str, str | None] = {}
    for door in ("webhook", "pages", "api", "failures"):
        name = f"INFOSHARE_RATE_LIMIT_{door.upper()}"
        value = (env.get(name) or "").strip() or getattr(defaults, door)
        if value.lower() == "off":
            chosen[door] = None
            continue
        try:
            parse_many(value)
        except ValueError as exc:
            raise ConfigError(f"{name}: {value!r} is not a rate such as \"50 per second\" or \"off\"") from exc
        chosen[door] = value
    storage = env.get("INFOSHARE_RATE_LIMIT_STORAGE_URL") or (
        broker_url if broker_url.startswith(("redis://", "rediss://")) else "memory://")
    try:
        hops = int(env.get("INFOSHARE_PROXY_HOPS", "0"))
    except ValueError as exc:
        raise ConfigError("INFOSHARE_PROXY_HOPS must be a whole number of proxies in front of the app") from exc
    return RateLimits(storage_url=storage, proxy_hops=max(hops, 0), **chosen)


def _policy(path: str | None) -> Policy:
    try:
        return load_policy(path)
    except PolicyError as exc:
        lines = [f"INFOSHARE_POLICY_FILE: {line}" if not line.startswith("INFOSHARE_") else line for line in exc.errors]
        raise ConfigError("\n".join(lines)) from exc


def _default_outbox(database_url: str) -> str:
    """Beside the SQLite file on the embedded defaults; ./outbox otherwise."""
    if database_url.startswith("sqlite:///"):
        return str(Path(database_url.removeprefix("sqlite:///")).with_name("outbox"))
    return "outbox"
