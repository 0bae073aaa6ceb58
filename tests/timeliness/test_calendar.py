"""Working time on a school calendar (Europe/London), with an explicit clock: weekends,
closures, the end of the school day, and both daylight-saving changes."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from infoshare_workflow.settings.policy import CalendarPolicy, Duration
from infoshare_workflow.timeliness.calendar import SchoolCalendar

LONDON = ZoneInfo("Europe/London")


def at(text: str) -> datetime:
    """A London wall-clock time as an aware instant."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON).astimezone(timezone.utc)


def local(value: datetime) -> str:
    return value.astimezone(LONDON).strftime("%a %Y-%m-%d %H:%M %Z")


calendar = SchoolCalendar(LONDON)


def add(start: str, duration: str, cal: SchoolCalendar = calendar) -> str:
    return local(cal.add(at(start), Duration.parse(duration)))


def test_working_hours_inside_one_day():
    assert add("2026-11-24T09:00", "4 working hours") == "Tue 2026-11-24 13:00 GMT"


def test_working_hours_run_over_the_end_of_the_school_day_into_the_next():
    assert add("2026-11-24T16:00", "4 working hours") == "Wed 2026-11-25 10:00 GMT"


def test_a_step_ending_exactly_at_the_close_of_day_is_due_at_the_close():
    assert add("2026-11-24T14:00", "4 working hours") == "Tue 2026-11-24 18:00 GMT"


def test_time_raised_after_hours_starts_counting_next_morning():
    assert add("2026-11-24T20:30", "1 working hour") == "Wed 2026-11-25 09:00 GMT"


def test_a_friday_afternoon_working_day_ends_on_monday_afternoon():
    assert add("2026-11-27T16:00", "1 working day") == "Mon 2026-11-30 16:00 GMT"


def test_a_weekend_concern_is_due_at_the_end_of_monday():
    assert add("2026-11-28T10:00", "1 working day") == "Mon 2026-11-30 18:00 GMT"


def test_three_working_days_skip_the_weekend():
    assert add("2026-11-26T09:00", "3 working days") == "Tue 2026-12-01 09:00 GMT"


def test_closures_are_not_working_days():
    closed = SchoolCalendar(LONDON, closures=frozenset({date(2026, 11, 30), date(2026, 12, 1)}))
    assert add("2026-11-27T16:00", "1 working day", closed) == "Wed 2026-12-02 16:00 GMT"


def test_a_custom_week_and_hours_are_respected():
    four_days = SchoolCalendar(LONDON, CalendarPolicy(working_days=("mon", "tue", "wed", "thu"),
                                                      day_starts=datetime(1, 1, 1, 9).time(),
                                                      day_ends=datetime(1, 1, 1, 15).time()))
    assert add("2026-11-26T14:00", "2 working hours", four_days) == "Mon 2026-11-30 10:00 GMT"


def test_elapsed_hours_ignore_the_calendar():
    assert add("2026-11-28T23:30", "1 hour") == "Sun 2026-11-29 00:30 GMT"


def test_working_time_across_the_spring_change_keeps_the_school_day():
    # Clocks go forward on Sunday 29 March 2026; Friday 16:00 GMT + 1 working day = Monday 16:00 BST.
    assert add("2026-03-27T16:00", "1 working day") == "Mon 2026-03-30 16:00 BST"


def test_working_time_across_the_autumn_change_keeps_the_school_day():
    # Clocks go back on Sunday 25 October 2026.
    assert add("2026-10-23T17:00", "3 working hours") == "Mon 2026-10-26 10:00 GMT"


def test_elapsed_hours_across_the_spring_change_are_real_hours():
    # 00:30 GMT + 2 real hours = 03:30 BST (there is no 01:30 on the local clock that night).
    assert add("2026-03-29T00:30", "2 hours") == "Sun 2026-03-29 03:30 BST"


def test_calendar_days_keep_the_wall_clock_across_the_autumn_change():
    assert add("2026-10-24T09:00", "1 day") == "Sun 2026-10-25 09:00 GMT"


def test_a_calendar_with_no_working_time_is_refused_not_looped():
    closed_forever = SchoolCalendar(LONDON, CalendarPolicy(working_days=("sat",)),
                                    closures=frozenset(date.fromordinal(date(2026, 11, 1).toordinal() + i)
                                                       for i in range(4000)))
    with pytest.raises(ValueError, match="no working time"):
        closed_forever.add(at("2026-11-24T09:00"), Duration.parse("1 working hour"))
