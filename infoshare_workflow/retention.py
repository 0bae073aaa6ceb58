"""Retention categories and review dates ("do not keep longer than necessary").

DOMAIN.md "Retention": child protection records are reviewed from the pupil's date of
birth, the others from the case's closure.
"""

from __future__ import annotations

from datetime import date


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


def review_on(category: str, date_of_birth: date, closed_on: date | None) -> date | None:
    """The first review date, or None while an open case waits for its closure date."""
    if category == "child_protection":
        return _add_years(date_of_birth, 25)
    if closed_on is None:
        return None
    return _add_years(closed_on, 6 if category == "early_help" else 1)
