"""Cron expressions for scheduled sweeps: checked, stepped in the schedule's time zone, and said in words.

"Review retained information regularly": a sweep set for "0 2 * * 1" in Europe/London runs
at 02:00 London time every Monday, summer or winter. Expressions are five fields (minute,
hour, day of month, month, day of week), read by cronsim, which steps them on the wall
clock of the zone; cron-descriptor says them in words ("At 02:00, only on Monday").

Daylight saving, as cronsim and Debian's cron do it:
- spring forward (Europe/London, last Sunday of March, 01:00 → 02:00): a time that does not
  exist that day (01:30) runs once, at the first moment after the gap (02:00 BST);
- fall back (last Sunday of October, 02:00 → 01:00): a time that happens twice (01:30) runs
  once, at its first occurrence (01:30 BST). Expressions with a wildcard hour ("*/30 * * * *")
  are about elapsed time and run in both copies of the repeated hour.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from cron_descriptor import ExpressionDescriptor, FormatError, Options
from cronsim import CronSim, CronSimError

FIELDS = ("minute", "hour", "day of month", "month", "day of week")
MAX_LENGTH = 100
_MAX_STEPS = 10_000  # a guard: cronsim never needs more than a few to pass one instant


class InvalidCron(ValueError):
    """The expression is not a five-field cron expression cronsim can step; the message says why."""


class InvalidTimezone(ValueError):
    """Not an IANA time zone name (such as Europe/London)."""


def normalise(expression: str) -> str:
    """The expression as stored and shown: its fields separated by single spaces."""
    return " ".join(expression.split())


def check(expression: str) -> str:
    """The normalised expression, or InvalidCron saying what is wrong with it."""
    text = normalise(expression)
    fields = text.split(" ") if text else []
    if len(fields) != len(FIELDS):
        raise InvalidCron(f"Give five fields ({', '.join(FIELDS)}), such as \"0 2 * * 1\"; "
                          f"this has {len(fields)}.")
    if len(text) > MAX_LENGTH:
        raise InvalidCron(f"Longer than {MAX_LENGTH} characters.")
    try:
        CronSim(text, datetime(2000, 1, 1, tzinfo=timezone.utc))
    except CronSimError as exc:  # "Bad minute", "Bad day-of-month" …: names the field, never echoes it
        raise InvalidCron(f"Not a valid cron expression: {str(exc).lower()}.") from None
    return text


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) - {"localtime"}  # the machine's own zone, not an IANA name


def zone(name: str) -> ZoneInfo:
    """The time zone called `name`, or InvalidTimezone (only IANA names: no file paths, no "localtime")."""
    if name not in _zone_names():
        raise InvalidTimezone("Not a time zone name such as Europe/London.")
    return ZoneInfo(name)


def next_after(expression: str, zone_name: str, after: datetime) -> datetime:
    """The first time the expression names that is strictly after `after`, in UTC.

    Stepped on the wall clock of `zone_name`; an instant in the second copy of a repeated hour
    may step to a wall time whose first copy is already past, so such slots are skipped.
    """
    for steps, slot in enumerate(CronSim(expression, after.astimezone(zone(zone_name)))):
        instant = slot.astimezone(timezone.utc)
        if instant > after:
            return instant
        if steps > _MAX_STEPS:
            break
    raise InvalidCron("The expression names no time to come.")


def describe(expression: str) -> str:
    """The expression in words, on a 24-hour clock: "At 02:00, only on Monday"."""
    options = Options()
    options.use_24hour_time_format = True
    try:
        return str(ExpressionDescriptor(expression, options).get_description())
    except FormatError:  # cronsim accepted it, so this is only a gap in the wording
        return expression
