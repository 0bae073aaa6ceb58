"""Cron expressions: checked, said in words, and stepped on the schedule's own wall clock,
once a day across both daylight-saving changes (as cronsim and Debian's cron do)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from infoshare_workflow.schedules import cron

UTC = timezone.utc
LONDON = "Europe/London"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_an_expression_is_stored_with_single_spaces():
    assert cron.check("  0   2 * *\t1 ") == "0 2 * * 1"


@pytest.mark.parametrize("expression, says", [
    ("", "five fields"), ("0 2 * *", "five fields"), ("0 0 2 * * 1", "five fields"), ("@weekly", "five fields"),
    ("61 * * * *", "bad minute"), ("0 24 * * *", "bad hour"), ("0 0 30 2 *", "bad day-of-month"),
    ("0 0 * 13 *", "bad month"), ("0 0 * * funday", "bad day-of-week"), ("a b c d e", "bad minute"),
])
def test_a_bad_expression_is_refused_saying_what_is_wrong(expression, says):
    with pytest.raises(cron.InvalidCron, match=says):
        cron.check(expression)


@pytest.mark.parametrize("name", ["Mars/Olympus", "../../etc/passwd", "", "localtime", "europe/london"])
def test_only_iana_time_zone_names_are_accepted(name):
    with pytest.raises(cron.InvalidTimezone):
        cron.zone(name)


@pytest.mark.parametrize("expression, words", [
    ("0 2 * * 1", "At 02:00, only on Monday"),
    ("30 1 * * *", "At 01:30"),
    ("*/15 * * * *", "Every 15 minutes"),
    ("0 9 * * MON-FRI", "At 09:00, Monday through Friday"),
])
def test_an_expression_is_said_in_words_on_a_24_hour_clock(expression, words):
    assert cron.describe(expression) == words


def test_the_next_run_is_strictly_after_the_instant_given():
    assert cron.next_after("0 2 * * 1", LONDON, utc(2026, 12, 7, 2, 0)) == utc(2026, 12, 14, 2, 0)
    assert cron.next_after("0 2 * * 1", LONDON, utc(2026, 12, 7, 1, 59, 59)) == utc(2026, 12, 7, 2, 0)


def test_the_wall_clock_of_the_zone_is_kept_summer_and_winter():
    assert cron.next_after("0 2 * * 1", LONDON, utc(2026, 7, 1)) == utc(2026, 7, 6, 1, 0)  # 02:00 BST
    assert cron.next_after("0 2 * * 1", LONDON, utc(2026, 12, 1)) == utc(2026, 12, 7, 2, 0)  # 02:00 GMT
    assert cron.next_after("0 2 * * 1", "America/New_York", utc(2026, 12, 1)) == utc(2026, 12, 7, 7, 0)


def runs_between(expression: str, start: datetime, end: datetime) -> list[datetime]:
    found, moment = [], start
    while (moment := cron.next_after(expression, LONDON, moment)) < end:
        found.append(moment)
    return found


def test_on_the_spring_forward_day_a_time_in_the_gap_runs_once_just_after_it():
    # 29 March 2026: London's clocks go from 01:00 GMT to 02:00 BST; 01:30 does not exist.
    runs = runs_between("30 1 * * *", utc(2026, 3, 28), utc(2026, 3, 31))
    assert runs == [utc(2026, 3, 28, 1, 30),  # 01:30 GMT
                    utc(2026, 3, 29, 1, 0),  # 02:00 BST: the first moment after the gap
                    utc(2026, 3, 30, 0, 30)]  # 01:30 BST


def test_on_the_fall_back_day_a_time_that_happens_twice_runs_once_at_its_first():
    # 25 October 2026: London's clocks go from 02:00 BST back to 01:00 GMT; 01:30 happens twice.
    runs = runs_between("30 1 * * *", utc(2026, 10, 24), utc(2026, 10, 27))
    assert runs == [utc(2026, 10, 24, 0, 30),  # 01:30 BST
                    utc(2026, 10, 25, 0, 30),  # 01:30 BST, the first; not again at 01:30 GMT (01:30 UTC)
                    utc(2026, 10, 26, 1, 30)]  # 01:30 GMT


def test_stepping_from_inside_the_repeated_hour_never_goes_back_to_its_first_copy():
    # 01:10 GMT on the fall-back day: 01:30 BST has passed, and 01:30 GMT is its repeat.
    assert cron.next_after("30 1 * * *", LONDON, utc(2026, 10, 25, 1, 10)) == utc(2026, 10, 26, 1, 30)


def test_an_every_so_many_minutes_expression_keeps_running_through_the_repeated_hour():
    runs = runs_between("0 * * * *", utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 2, 30))
    assert runs == [utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 1, 0), utc(2026, 10, 25, 2, 0)]  # each real hour
