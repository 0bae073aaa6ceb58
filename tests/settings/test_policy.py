"""The policy file (INTERFACES.md §6): defaults from DOMAIN.md, overrides validated at start-up."""

from __future__ import annotations

import pytest

from infoshare_workflow.settings.config import ConfigError, load_settings
from infoshare_workflow.settings.policy import DEFAULT, Duration, PolicyError, load_policy, parse_policy

from .test_config import PROD

FULL = """
[steps.standard]
consent = "3 working days"
consultation = "2 working days"
share = "2 working days"
reminders = [0.25, 0.5, 1.0]
escalate_after = "1 working day"

[steps.immediate]
reminder_every = "10 minutes"
escalate_after = "0 seconds"

[calendar]
working_days = ["mon", "tue", "wed", "thu"]
day_starts = "08:30"
day_ends = "16:00"

[links]
task_link_lifetime = "5 days"
disclosure_link_lifetime = "10 days"

[retention]
child_protection = "25 years"
early_help = "7 years"
low_level = "1 year"

[notices]
privacy_period = "1 year"
pupil_notice_min_age = 0
"""


def test_the_defaults_are_the_timeliness_table_of_domain_md():
    assert DEFAULT.steps["standard"].consent == Duration(3, "working days")
    assert DEFAULT.steps["high"].consultation == Duration(4, "working hours")
    assert DEFAULT.steps["immediate"].share == Duration(2, "hours")
    assert DEFAULT.steps["immediate"].reminder_every == Duration(15, "minutes")
    assert DEFAULT.steps["high"].escalate_after == Duration(2, "hours")
    assert DEFAULT.steps["standard"].reminders == (0.5, 1.0)


def test_every_key_of_the_file_is_read(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text(FULL)
    policy = load_policy(str(path))
    assert policy.steps["standard"].reminders == (0.25, 0.5, 1.0)
    assert policy.steps["immediate"].reminder_every == Duration(10, "minutes")
    assert policy.calendar.working_days == ("mon", "tue", "wed", "thu")
    assert str(policy.calendar.day_ends) == "16:00:00"
    assert policy.task_link_lifetime == Duration(5, "days")
    assert policy.retention["early_help"] == Duration(7, "years")
    assert policy.pupil_notice_min_age == 0
    assert policy.steps["high"] == DEFAULT.steps["high"]  # what is left out keeps the default


@pytest.mark.parametrize("text", ["1 second", "2 minutes", "3 hours", "4 days", "5 working hours",
                                  "6 working days", "7 years", "0.5 working day"])
def test_durations_accept_every_unit_singular_or_plural(text):
    assert Duration.parse(text).amount > 0


def test_every_error_is_reported_on_its_own_line():
    with pytest.raises(PolicyError) as caught:
        parse_policy({"steps": {"standard": {"consent": "soon", "colour": "red"}, "urgentest": {}},
                      "calendar": {"day_starts": "25:00"}, "retention": {"forever": "1 year"}, "extra": {}})
    assert caught.value.errors == [
        "extra: unknown key",
        "steps.standard.colour: unknown key",
        "steps.standard.consent: 'soon' is not a duration like \"3 working days\"",
        "steps.urgentest: unknown urgency (immediate, high or standard)",
        "calendar.day_starts: '25:00' is not a time like \"08:00\"",
        "retention.forever: unknown key",
    ]


def test_a_bad_policy_file_stops_start_up_naming_the_setting(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text('[links]\ntask_link_lifetime = "a while"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings({**PROD, "INFOSHARE_POLICY_FILE": str(path)})
    assert str(caught.value) == ("INFOSHARE_POLICY_FILE: links.task_link_lifetime: 'a while' is not a duration "
                                 "like \"3 working days\"")


def test_a_missing_policy_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_settings({**PROD, "INFOSHARE_POLICY_FILE": str(tmp_path / "nope.toml")})


def test_the_school_day_must_start_before_it_ends():
    with pytest.raises(PolicyError, match="day_starts must be before day_ends"):
        parse_policy({"calendar": {"day_starts": "18:00", "day_ends": "08:00"}})
