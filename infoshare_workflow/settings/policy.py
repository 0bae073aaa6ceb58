"""Deployment policy: step durations, reminders, escalations, working hours, link lifetimes,
retention periods and notice settings (DOMAIN.md defaults, INTERFACES.md §6 overrides).

Why a file, validated at start-up: timeliness is the failure this product exists to prevent
("share in a timely fashion"), so a mistyped policy must stop the service with a clear line
per error, never silently fall back.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

UNITS = {"second": "seconds", "minute": "minutes", "hour": "hours", "day": "days", "working hour": "working hours",
         "working day": "working days", "year": "years"}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s+([a-z ]+?)\s*$")


class PolicyError(ValueError):
    """Every problem found, one line each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Duration:
    amount: float
    unit: str  # one of UNITS' values

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _DURATION.match(text) if isinstance(text, str) else None
        unit = match.group(2) if match else ""
        unit = UNITS.get(unit, unit)
        if match is None or unit not in UNITS.values():
            raise ValueError(f"{text!r} is not a duration like \"3 working days\"")
        return cls(float(match.group(1)), unit)

    def scaled(self, factor: float) -> Duration:
        return Duration(self.amount * factor, self.unit)

    def __str__(self) -> str:
        amount = int(self.amount) if self.amount == int(self.amount) else self.amount
        return f"{amount} {self.unit}"


def d(text: str) -> Duration:
    return Duration.parse(text)


@dataclass(frozen=True)
class UrgencyPolicy:
    consent: Duration
    consultation: Duration
    share: Duration
    reminders: tuple[float, ...] = (0.5, 1.0)
    reminder_every: Duration | None = None
    escalate_after: Duration = field(default_factory=lambda: d("0 seconds"))

    def duration(self, kind: str) -> Duration:
        # The DSL's answer to a manager's question runs on the consultation clock; deciding
        # again whether to tell the family runs on the share clock.
        if kind == "information":
            return self.consultation
        return self.share if kind == "reconsideration" else getattr(self, kind)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class CalendarPolicy:
    working_days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    day_starts: time = time(8, 0)
    day_ends: time = time(18, 0)


@dataclass(frozen=True)
class Policy:
    steps: dict[str, UrgencyPolicy] = field(default_factory=lambda: {
        "immediate": UrgencyPolicy(d("1 hour"), d("1 hour"), d("2 hours"), reminders=(),
                                   reminder_every=d("15 minutes"), escalate_after=d("0 seconds")),
        "high": UrgencyPolicy(d("1 working day"), d("4 working hours"), d("1 working day"),
                              escalate_after=d("2 hours")),
        "standard": UrgencyPolicy(d("3 working days"), d("2 working days"), d("2 working days"),
                                  escalate_after=d("1 working day")),
    })
    calendar: CalendarPolicy = field(default_factory=CalendarPolicy)
    task_link_lifetime: Duration = field(default_factory=lambda: d("7 days"))
    disclosure_link_lifetime: Duration = field(default_factory=lambda: d("14 days"))
    retention: dict[str, Duration] = field(default_factory=lambda: {
        "child_protection": d("25 years"), "early_help": d("6 years"), "low_level": d("1 year")})
    second_approval: bool = True  # a manager approves each disposal (the four-eyes rule)
    disposal_wait: Duration = field(default_factory=lambda: d("7 days"))  # approved disposals wait, cancellable
    review_within: Duration = field(default_factory=lambda: d("10 working days"))  # a review list's due time
    privacy_period: Duration = field(default_factory=lambda: d("1 year"))
    pupil_notice_min_age: int = 13


DEFAULT = Policy()


def policy_of(session: Session) -> Policy:
    """The policy the session's runtime was built with (set on the sessionmaker)."""
    return session.info.get("policy", DEFAULT)  # type: ignore[no-any-return]


def _clock(value: Any, where: str, errors: list[str]) -> time | None:
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError):
        errors.append(f"{where}: {value!r} is not a time like \"08:00\"")
        return None


def _duration(value: Any, where: str, errors: list[str]) -> Duration | None:
    try:
        return Duration.parse(value)
    except ValueError as exc:
        errors.append(f"{where}: {exc}")
        return None


def _unknown(table: dict[str, Any], allowed: set[str], where: str, errors: list[str]) -> None:
    for key in sorted(set(table) - allowed):
        errors.append(f"{where}{'.' if where else ''}{key}: unknown key")


def parse_policy(data: dict[str, Any]) -> Policy:
    """Build a Policy from parsed TOML; PolicyError lists every problem, one line each."""
    errors: list[str] = []
    policy = DEFAULT
    _unknown(data, {"steps", "calendar", "links", "retention", "notices"}, "", errors)
    steps = dict(policy.steps)
    step_keys = {"consent", "consultation", "share", "reminders", "reminder_every", "escalate_after"}
    for urgency, table in (data.get("steps") or {}).items():
        where = f"steps.{urgency}"
        if urgency not in steps:
            errors.append(f"{where}: unknown urgency (immediate, high or standard)")
            continue
        if not isinstance(table, dict):
            errors.append(f"{where}: must be a table")
            continue
        _unknown(table, step_keys, where, errors)
        changes: dict[str, Any] = {}
        for key in ("consent", "consultation", "share", "reminder_every", "escalate_after"):
            if key in table:
                changes[key] = _duration(table[key], f"{where}.{key}", errors)
        if "reminders" in table:
            points = table["reminders"]
            if not isinstance(points, list) or not all(isinstance(p, (int, float)) and 0 < p <= 1 for p in points):
                errors.append(f"{where}.reminders: must be a list of fractions between 0 and 1, e.g. [0.5, 1.0]")
            else:
                changes["reminders"] = tuple(sorted(float(p) for p in points))
                changes.setdefault("reminder_every", None)
        if "reminder_every" in table and "reminders" not in table:
            changes["reminders"] = ()
        steps[urgency] = replace(steps[urgency], **changes)  # a None from a bad value is reported below
    calendar = policy.calendar
    cal = data.get("calendar") or {}
    _unknown(cal, {"working_days", "day_starts", "day_ends"}, "calendar", errors)
    if "working_days" in cal:
        days = cal["working_days"]
        if not isinstance(days, list) or not days or any(day not in DAYS for day in days):
            errors.append(f"calendar.working_days: must list days from {', '.join(DAYS)}")
        else:
            calendar = replace(calendar, working_days=tuple(days))
    for key in ("day_starts", "day_ends"):
        if key in cal and (value := _clock(cal[key], f"calendar.{key}", errors)) is not None:
            calendar = replace(calendar, **{key: value})
    if calendar.day_starts >= calendar.day_ends:
        errors.append("calendar: day_starts must be before day_ends")
    links = data.get("links") or {}
    _unknown(links, {"task_link_lifetime", "disclosure_link_lifetime"}, "links", errors)
    link_changes = {k: _duration(links[k], f"links.{k}", errors) for k in links
                    if k in ("task_link_lifetime", "disclosure_link_lifetime")}
    retention = dict(policy.retention)
    ret = data.get("retention") or {}
    _unknown(ret, set(retention) | {"second_approval", "disposal_wait", "review_within"}, "retention", errors)
    for key in set(ret) & set(retention):
        if (value := _duration(ret[key], f"retention.{key}", errors)) is not None:
            retention[key] = value
    review_changes: dict[str, Any] = {}
    if "second_approval" in ret:
        if isinstance(ret["second_approval"], bool):
            review_changes["second_approval"] = ret["second_approval"]
        else:
            errors.append("retention.second_approval: must be true or false")
    for key in ("disposal_wait", "review_within"):
        if key in ret and (value := _duration(ret[key], f"retention.{key}", errors)) is not None:
            review_changes[key] = value
    notices = data.get("notices") or {}
    _unknown(notices, {"privacy_period", "pupil_notice_min_age"}, "notices", errors)
    privacy = _duration(notices["privacy_period"], "notices.privacy_period", errors) if "privacy_period" in notices else None
    min_age = notices.get("pupil_notice_min_age", policy.pupil_notice_min_age)
    if not isinstance(min_age, int) or isinstance(min_age, bool) or min_age < 0:
        errors.append("notices.pupil_notice_min_age: must be a whole number, 0 or more")
    if errors:
        raise PolicyError(errors)
    return replace(policy, steps=steps, calendar=calendar, retention=retention, **review_changes,
                   privacy_period=privacy or policy.privacy_period, pupil_notice_min_age=min_age,
                   **{k: v for k, v in link_changes.items() if v is not None})


def load_policy(path: str | None) -> Policy:
    if path is None:
        return DEFAULT
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise PolicyError([f"INFOSHARE_POLICY_FILE {path}: no such file"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError([f"INFOSHARE_POLICY_FILE {path}: not valid TOML ({exc})"]) from exc
    return parse_policy(data)
