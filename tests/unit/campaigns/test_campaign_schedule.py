"""Schedules: validation, and in_schedule in the recipient's local time across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from offers.campaigns import DailyHours, Schedule, Weekday, in_schedule
from tests.unit.campaigns.factories import assert_rejected

ROME = "Europe/Rome"


def schedule(
    days: Any = None,
    hours: tuple[int, int] | None = None,
    start: str = "2025-01-01T00:00:00+00:00",
    end: str = "2026-01-01T00:00:00+00:00",
) -> Schedule:
    data: dict[str, Any] = {"start": start, "end": end}
    if days is not None:
        data["days"] = days
    if hours is not None:
        data["hours"] = {"start_hour": hours[0], "end_hour": hours[1]}
    return Schedule.model_validate(data)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def minutes_in_schedule(plan: Schedule, day_utc: str, zone: str = ROME) -> int:
    """Minutes of the UTC day (plus/minus 3 hours) that are in the schedule."""
    first = utc(day_utc) - timedelta(hours=3)
    return sum(in_schedule(plan, first + timedelta(minutes=m), zone) for m in range(30 * 60))


# --- validation ----------------------------------------------------------------------------


def test_defaults_are_every_day_all_day() -> None:
    plan = schedule()
    assert plan.days == tuple(Weekday)
    assert plan.hours is None


def test_days_may_be_numbers_or_names_and_are_a_set() -> None:
    plan = schedule(days=["fri", "Monday", 3, "MON", 5])
    assert plan.days == (Weekday.MONDAY, Weekday.WEDNESDAY, Weekday.FRIDAY)
    assert plan.model_dump(mode="json")["days"] == [1, 3, 5]


def test_times_are_stored_in_utc() -> None:
    plan = schedule(start="2025-06-01T02:00:00+02:00")
    assert plan.start == datetime(2025, 6, 1, tzinfo=UTC)
    assert plan.start.tzinfo is UTC


def test_a_window_may_cross_midnight() -> None:
    assert DailyHours(start_hour=22, end_hour=2).crosses_midnight
    assert not DailyHours(start_hour=0, end_hour=24).crosses_midnight


BASE = {"start": "2025-06-01T00:00:00+00:00", "end": "2025-07-01T00:00:00+00:00"}

BAD_SCHEDULES = [
    pytest.param({"end": BASE["start"]}, "end", "not after start", id="end-equals-start"),
    pytest.param(
        {"end": "2025-05-01T00:00:00+00:00"},
        "end",
        "is 2025-05-01T00:00:00+00:00, not after start (2025-06-01T00:00:00+00:00)",
        id="end-before-start",
    ),
    pytest.param({"start": "2025-06-01T00:00:00"}, "start", "timezone info", id="naive-start"),
    pytest.param({"end": "next week"}, "end", "valid datetime", id="bad-end"),
    pytest.param({"start": ...}, "start", "Field required", id="no-start"),
    pytest.param({"days": []}, "days", "at least 1 item", id="no-days"),
    pytest.param({"days": [0]}, "days.0", "Input should be 1, 2, 3, 4, 5, 6 or 7", id="day-0"),
    pytest.param({"days": [1, 8]}, "days.1", "Input should be 1, 2, 3, 4, 5, 6 or 7", id="day-8"),
    pytest.param(
        {"days": ["mon", "funday"]},
        "days.1",
        "unknown day 'funday'; use 1 to 7 (Monday is 1) or a name such as 'mon' or 'monday'",
        id="day-name",
    ),
    pytest.param({"days": [True]}, "days.0", "must be a day number, 1 (Monday) to 7", id="bool"),
    pytest.param({"days": [1.0]}, "days.0", "must be a day number", id="day-float"),
    pytest.param({"days": ["1"]}, "days.0", "unknown day '1'", id="day-text-number"),
    pytest.param(
        {"hours": {"start_hour": 9, "end_hour": 9}},
        "hours.end_hour",
        "equals start_hour: the window is empty (omit hours for all day)",
        id="empty-window",
    ),
    pytest.param(
        {"hours": {"start_hour": 24, "end_hour": 2}},
        "hours.start_hour",
        "less than or equal to 23",
        id="start-24",
    ),
    pytest.param(
        {"hours": {"start_hour": 9, "end_hour": 0}},
        "hours.end_hour",
        "greater than or equal to 1",
        id="end-0",
    ),
    pytest.param(
        {"hours": {"start_hour": "9", "end_hour": 17}},
        "hours.start_hour",
        "valid integer",
        id="hour-text",
    ),
    pytest.param(
        {"hours": {"start_hour": 9}}, "hours.end_hour", "Field required", id="no-end-hour"
    ),
    pytest.param({"timezone": ROME}, "timezone", "Extra inputs", id="extra"),
]


@pytest.mark.parametrize(("overrides", "field", "fragment"), BAD_SCHEDULES)
def test_bad_schedules_are_rejected(overrides: dict[str, Any], field: str, fragment: str) -> None:
    data = {**BASE, **overrides}
    data = {name: value for name, value in data.items() if value is not ...}
    assert_rejected(Schedule, data, field, fragment)


# --- in_schedule ---------------------------------------------------------------------------


def test_only_between_start_and_end() -> None:
    plan = schedule(start="2025-06-01T00:00:00+00:00", end="2025-06-02T00:00:00+00:00")
    assert not in_schedule(plan, utc("2025-05-31T23:59:59"), ROME)
    assert in_schedule(plan, utc("2025-06-01T00:00:00"), ROME)
    assert in_schedule(plan, utc("2025-06-01T23:59:59"), ROME)
    assert not in_schedule(plan, utc("2025-06-02T00:00:00"), ROME)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # winter: Rome is UTC+1
        ("2025-01-15T07:59:00", False),
        ("2025-01-15T08:00:00", True),
        ("2025-01-15T15:59:00", True),
        ("2025-01-15T16:00:00", False),
        # summer: Rome is UTC+2
        ("2025-07-16T06:59:00", False),
        ("2025-07-16T07:00:00", True),
        ("2025-07-16T14:59:00", True),
        ("2025-07-16T15:00:00", False),
    ],
)
def test_hours_are_local_in_winter_and_summer(moment: str, expected: bool) -> None:
    assert in_schedule(schedule(hours=(9, 17)), utc(moment), ROME) is expected


def test_spring_forward_skips_the_missing_hour() -> None:
    plan = schedule(hours=(2, 3))
    # 2025-03-30: at 02:00 CET clocks in Rome jump to 03:00 CEST (01:00 UTC)
    assert not in_schedule(plan, utc("2025-03-30T00:59:59"), ROME)  # 01:59:59 CET
    assert not in_schedule(plan, utc("2025-03-30T01:00:00"), ROME)  # 03:00 CEST
    assert minutes_in_schedule(plan, "2025-03-30T00:00:00") == 60  # 02:00 on 2025-03-31 only
    assert in_schedule(plan, utc("2025-03-31T00:00:00"), ROME)  # 02:00 CEST the next night


def test_fall_back_repeats_the_hour() -> None:
    plan = schedule(days=[7], hours=(2, 3))
    # 2025-10-26 (a Sunday): at 03:00 CEST clocks in Rome go back to 02:00 CET (01:00 UTC)
    assert in_schedule(plan, utc("2025-10-26T00:00:00"), ROME)  # 02:00 CEST
    assert in_schedule(plan, utc("2025-10-26T01:00:00"), ROME)  # 02:00 CET, again
    assert not in_schedule(plan, utc("2025-10-26T02:00:00"), ROME)  # 03:00 CET
    assert minutes_in_schedule(plan, "2025-10-26T00:00:00") == 120


@pytest.mark.parametrize("day", ["2025-03-30T00:00:00", "2025-10-26T00:00:00"])
def test_a_day_window_keeps_its_local_hours_on_dst_days(day: str) -> None:
    plan = schedule(days=[7], hours=(8, 20))
    assert minutes_in_schedule(plan, day) == 12 * 60
    local_start = datetime.fromisoformat(day).replace(hour=8, tzinfo=ZoneInfo(ROME))
    assert in_schedule(plan, local_start, ROME)
    assert not in_schedule(plan, local_start - timedelta(seconds=1), ROME)


FRIDAY_NIGHTS = schedule(days=["fri"], hours=(22, 2))


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("2025-06-06T21:59", False),  # Friday, before the window
        ("2025-06-06T22:00", True),  # Friday night
        ("2025-06-06T23:59", True),
        ("2025-06-07T00:00", True),  # Saturday morning: still Friday's night
        ("2025-06-07T01:59", True),
        ("2025-06-07T02:00", False),
        ("2025-06-06T01:00", False),  # Friday morning belongs to Thursday's night
        ("2025-06-07T22:30", False),  # Saturday night
        ("2025-06-05T23:00", False),  # Thursday night
    ],
)
def test_a_window_crossing_midnight_belongs_to_the_day_it_starts(
    local: str, expected: bool
) -> None:
    moment = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(ROME))
    assert in_schedule(FRIDAY_NIGHTS, moment.astimezone(UTC), ROME) is expected


def test_days_of_week_are_the_recipients() -> None:
    mondays = schedule(days=["mon"])
    sunday_night = utc("2025-06-08T22:30:00")  # a Sunday in UTC
    assert in_schedule(mondays, sunday_night, ROME)  # Monday 00:30 in Rome
    assert not in_schedule(mondays, sunday_night, "Europe/London")  # Sunday 23:30 in London
    assert in_schedule(mondays, sunday_night, ZoneInfo("Europe/Berlin"))


def test_every_day_all_day_is_always_in_schedule() -> None:
    plan = schedule()
    assert minutes_in_schedule(plan, "2025-03-30T00:00:00") == 30 * 60


def test_moment_must_be_aware_and_zone_known() -> None:
    with pytest.raises(ValueError, match="moment_utc must be timezone-aware"):
        in_schedule(schedule(), datetime(2025, 6, 1, 12), ROME)  # noqa: DTZ001
    with pytest.raises(ZoneInfoNotFoundError):
        in_schedule(schedule(), utc("2025-06-01T12:00:00"), "Mars/Olympus")
