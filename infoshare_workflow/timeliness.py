"""Due dates for steps ("share in a timely fashion", the Timely principle).

A fixed default clock per urgency (DOMAIN.md "Timeliness"), in elapsed time; the school
calendar of working days and hours replaces this in the timeliness work.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .vocabulary import URGENCIES

_DURATIONS: dict[str, dict[str, timedelta]] = {
    "immediate": {"consent": timedelta(hours=1), "consultation": timedelta(hours=1), "share": timedelta(hours=2),
                  "information": timedelta(hours=1)},
    "high": {"consent": timedelta(days=1), "consultation": timedelta(hours=4), "share": timedelta(days=1),
             "information": timedelta(hours=4)},
    "standard": {"consent": timedelta(days=3), "consultation": timedelta(days=2), "share": timedelta(days=2),
                 "information": timedelta(days=1)},
}


TASK_LINK_LIFETIME = timedelta(days=7)
DISCLOSURE_LINK_LIFETIME = timedelta(days=14)


def due_at(kind: str, urgency: str, start: datetime) -> datetime:
    return start + _DURATIONS[urgency][kind]


def is_raise(old: str, new: str) -> bool:
    """True when `new` is more urgent than `old` (immediate > high > standard)."""
    return URGENCIES.index(new) < URGENCIES.index(old)
