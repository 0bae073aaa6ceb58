"""Working time on the school's clock: working days and hours in INFOSHARE_TIMEZONE, minus
closures, correct across daylight-saving changes ("share in a timely fashion").

Elapsed units (seconds, minutes, hours) are real time; days and years are calendar steps
on the local clock; working hours count only time inside the school day; a working day is
the length of one school day in working hours, so "1 working day" from Friday 16:00 is
Monday 16:00, and from Saturday it is the end of Monday.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from infoshare_workflow.settings.policy import DAYS, CalendarPolicy, Duration, policy_of
from infoshare_workflow.storage.db import insert
from infoshare_workflow.storage.models import ClosureDate

_MAX_DAYS = 3660  # a decade of closures would be a configuration error, not a due date


@dataclass(frozen=True)
class SchoolCalendar:
    zone: ZoneInfo
    policy: CalendarPolicy = field(default_factory=CalendarPolicy)
    closures: frozenset[date] = frozenset()

    @property
    def day_length(self) -> timedelta:
        start, end = self.policy.day_starts, self.policy.day_ends
        return datetime.combine(date.min, end) - datetime.combine(date.min, start)

    def is_working_day(self, day: date) -> bool:
        return DAYS[day.weekday()] in self.policy.working_days and day not in self.closures

    def _window(self, day: date) -> tuple[datetime, datetime]:
        """The school day's opening hours on `day`, as UTC instants (DST-aware)."""
        start = datetime.combine(day, self.policy.day_starts, tzinfo=self.zone)
        end = datetime.combine(day, self.policy.day_ends, tzinfo=self.zone)
        return start.astimezone(timezone.utc), end.astimezone(timezone.utc)

    def add(self, start: datetime, duration: Duration) -> datetime:
        unit, amount = duration.unit, duration.amount
        if unit in ("seconds", "minutes", "hours"):
            return start + timedelta(**{unit: amount})
        if unit in ("days", "years"):
            local = start.astimezone(self.zone)
            if unit == "days":
                whole = int(amount)
                moved = datetime.combine(local.date() + timedelta(days=whole), local.time(), tzinfo=self.zone)
                return (moved + timedelta(days=amount - whole)).astimezone(timezone.utc)
            return _add_years(local, int(amount)).astimezone(timezone.utc)
        hours = amount if unit == "working hours" else amount * self.day_length.total_seconds() / 3600
        return self.add_working(start, timedelta(hours=hours))

    def add_working(self, start: datetime, remaining: timedelta) -> datetime:
        """Walk forward through school-day windows until `remaining` working time is used."""
        start = start.astimezone(timezone.utc)
        day = start.astimezone(self.zone).date()
        for _ in range(_MAX_DAYS):
            if self.is_working_day(day):
                opens, closes = self._window(day)
                begin = max(start, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError("no working time in the next ten years: check the calendar policy and closures")


def _add_years(local: datetime, years: int) -> datetime:
    try:
        return local.replace(year=local.year + years)
    except ValueError:  # 29 February
        return local.replace(year=local.year + years, day=28)


CACHE_KEY = "school_calendar"


def calendar_for(session: Session) -> SchoolCalendar:
    """The calendar with every closure the MIS or the admin has recorded (read once a session)."""
    cached = session.info.get(CACHE_KEY)
    if cached is None:
        closures = frozenset(session.scalars(select(ClosureDate.day)))
        cached = SchoolCalendar(ZoneInfo(session.info.get("timezone", "Europe/London")),
                                policy_of(session).calendar, closures)
        session.info[CACHE_KEY] = cached
    return cached  # type: ignore[no-any-return]


def record_closures(session: Session, days: list[date], source: str) -> int:
    """Add closure days; days already known are left as they are. Returns how many were new."""
    stmt = insert(session, ClosureDate.__table__).values([{"day": d, "source": source} for d in sorted(set(days))])
    result = session.execute(stmt.on_conflict_do_nothing(index_elements=["day"]).returning(ClosureDate.day))
    session.info.pop(CACHE_KEY, None)  # due dates from here on see the new closures
    return len(result.all())
