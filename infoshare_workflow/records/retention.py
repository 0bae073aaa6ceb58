"""Retention categories and review dates ("do not keep longer than necessary").

DOMAIN.md "Retention": child protection records are reviewed from the pupil's date of
birth, the others from the case's closure.
"""

from __future__ import annotations

from datetime import date, timedelta

from infoshare_workflow.settings.policy import DEFAULT, Duration


def category_for(threshold: str | None, shared: bool = False) -> str:
    if shared or threshold in ("child_in_need", "child_protection"):
        return "child_protection"
    if threshold == "early_help":
        return "early_help"
    return "low_level"


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a non-leap year
        return day.replace(year=day.year + years, day=28)


def _after(day: date, period: Duration) -> date:
    if period.unit == "years":
        return _add_years(day, int(period.amount))
    return day + timedelta(days=period.amount if period.unit in ("days", "working days") else 0)


def review_on(category: str, date_of_birth: date, closed_on: date | None,
              periods: dict[str, Duration] | None = None) -> date | None:
    """The first review date, or None while an open case waits for its closure date."""
    period = (periods or DEFAULT.retention)[category]
    if category == "child_protection":
        return _after(date_of_birth, period)
    if closed_on is None:
        return None
    return _after(closed_on, period)
