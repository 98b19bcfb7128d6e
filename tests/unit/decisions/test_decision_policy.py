"""Contact policy: stable control and holdout draws, quiet hours in local time across
daylight saving changes, local days and ISO weeks, and the settings behind them."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from offers.contracts.events import Channel
from offers.settings import Settings
from streams.decisions.ledger import SendRequest
from streams.decisions.policy import (
    Defer,
    Drop,
    SendNow,
    Verdict,
    held_out,
    in_global_control,
    local_day,
    local_week,
    quiet_hours_verdict,
)
from tests.unit.campaigns.factories import valid_campaign

ROME = ZoneInfo("Europe/Rome")
POPULATION = [f"cust-{i:06d}" for i in range(100_000)]
FIRST_HUNDRED = POPULATION[:100]
NEVER_STALE = datetime(2030, 1, 1, tzinfo=UTC)


def at(iso: str) -> datetime:
    """An instant from ISO 8601 with its offset, as UTC."""
    moment = datetime.fromisoformat(iso)
    assert moment.tzinfo is not None, iso
    return moment.astimezone(UTC)


def night(now: datetime, *, stale_at: datetime = NEVER_STALE, zone: str = "Europe/Rome") -> Verdict:
    """The verdict of the default quiet hours, 21:00 to 08:00."""
    return quiet_hours_verdict(now, zone, start_hour=21, end_hour=8, stale_at=stale_at)


# Global control group and holdouts


def test_the_global_control_group_has_the_share_asked_for() -> None:
    for share in (0.05, 0.2):
        members = sum(in_global_control(c, share) for c in POPULATION)
        assert abs(members / len(POPULATION) - share) < 0.005


def test_the_global_control_group_is_the_same_in_every_run() -> None:
    members = [c for c in FIRST_HUNDRED if in_global_control(c, 0.05)]
    assert members == [
        "cust-000006",
        "cust-000023",
        "cust-000026",
        "cust-000031",
        "cust-000058",
        "cust-000065",
        "cust-000084",
        "cust-000085",
        "cust-000093",
    ]


def test_a_larger_share_keeps_the_members_of_a_smaller_one() -> None:
    small = {c for c in POPULATION[:5_000] if in_global_control(c, 0.05)}
    large = {c for c in POPULATION[:5_000] if in_global_control(c, 0.1)}
    assert small < large


def test_holdouts_are_drawn_per_campaign_and_stable() -> None:
    olbia = [c for c in FIRST_HUNDRED if held_out(c, "cmp-summer-olbia", 0.1)]
    assert olbia == ["cust-000001", "cust-000005", "cust-000021", "cust-000031", "cust-000050"]
    bastia = [c for c in FIRST_HUNDRED if held_out(c, "cmp-winter-bastia", 0.1)]
    assert bastia[:4] == ["cust-000000", "cust-000014", "cust-000021", "cust-000032"]
    share = sum(held_out(c, "cmp-summer-olbia", 0.1) for c in POPULATION) / len(POPULATION)
    assert abs(share - 0.1) < 0.005


def test_the_holdout_is_independent_of_the_global_control_group() -> None:
    control = {c for c in POPULATION if in_global_control(c, 0.2)}
    held = {c for c in POPULATION if held_out(c, "cmp-summer-olbia", 0.3)}
    assert abs(len(control & held) / len(control) - 0.3) < 0.01
    outside = len(POPULATION) - len(control)
    assert abs(len(held - control) / outside - 0.3) < 0.01


def test_holdouts_of_two_campaigns_are_independent() -> None:
    olbia = {c for c in POPULATION if held_out(c, "cmp-summer-olbia", 0.3)}
    bastia = {c for c in POPULATION if held_out(c, "cmp-winter-bastia", 0.3)}
    assert abs(len(olbia & bastia) / len(POPULATION) - 0.09) < 0.005


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_shares_of_none_and_all(share: float) -> None:
    assert {in_global_control(c, share) for c in FIRST_HUNDRED} == {share == 1.0}
    assert {held_out(c, "cmp-a", share) for c in FIRST_HUNDRED} == {share == 1.0}


@pytest.mark.parametrize("share", [-0.01, 1.01, float("nan")])
def test_a_share_outside_zero_to_one_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="not between 0 and 1"):
        in_global_control("cust-1", share)
    with pytest.raises(ValueError, match="not between 0 and 1"):
        held_out("cust-1", "cmp-a", share)


# Quiet hours


@pytest.mark.parametrize(
    ("local_now", "send_at"),
    [
        # An ordinary summer day (UTC+2)
        ("2026-06-15T20:59+02:00", None),
        ("2026-06-15T21:00+02:00", "2026-06-16T08:00+02:00"),
        ("2026-06-15T23:30+02:00", "2026-06-16T08:00+02:00"),
        ("2026-06-16T00:30+02:00", "2026-06-16T08:00+02:00"),
        ("2026-06-16T07:59+02:00", "2026-06-16T08:00+02:00"),
        ("2026-06-16T08:00+02:00", None),
        # Clocks go forward on 2026-03-29 at 02:00 CET: the night is an hour shorter
        ("2026-03-28T20:59+01:00", None),
        ("2026-03-28T21:00+01:00", "2026-03-29T08:00+02:00"),
        ("2026-03-29T01:59+01:00", "2026-03-29T08:00+02:00"),
        ("2026-03-29T03:00+02:00", "2026-03-29T08:00+02:00"),
        ("2026-03-29T07:59+02:00", "2026-03-29T08:00+02:00"),
        ("2026-03-29T08:00+02:00", None),
        # Clocks go back on 2026-10-25 at 03:00 CEST: the night is an hour longer
        ("2026-10-24T20:59+02:00", None),
        ("2026-10-24T21:00+02:00", "2026-10-25T08:00+01:00"),
        ("2026-10-25T02:30+02:00", "2026-10-25T08:00+01:00"),
        ("2026-10-25T02:30+01:00", "2026-10-25T08:00+01:00"),
        ("2026-10-25T07:59+01:00", "2026-10-25T08:00+01:00"),
        ("2026-10-25T08:00+01:00", None),
    ],
)
def test_quiet_hours_in_rome(local_now: str, send_at: str | None) -> None:
    verdict = night(at(local_now))
    if send_at is None:
        assert verdict == SendNow()
        return
    assert verdict == Defer(at(send_at))
    assert isinstance(verdict, Defer)
    assert verdict.until.tzinfo is UTC
    local = verdict.until.astimezone(ROME)
    assert (local.hour, local.minute) == (8, 0)
    assert local.utcoffset() == datetime.fromisoformat(send_at).utcoffset()


def test_the_defer_target_takes_the_offset_of_the_morning_after_a_change() -> None:
    spring = night(at("2026-03-28T22:00+01:00"))
    autumn = night(at("2026-10-24T22:00+02:00"))
    assert spring == Defer(datetime(2026, 3, 29, 6, 0, tzinfo=UTC))
    assert autumn == Defer(datetime(2026, 10, 25, 7, 0, tzinfo=UTC))


def test_quiet_hours_follow_the_recipients_zone() -> None:
    now = at("2026-06-15T19:30+00:00")
    assert night(now, zone="Europe/Lisbon") == SendNow()
    assert night(now, zone="Europe/Paris") == Defer(at("2026-06-16T08:00+02:00"))
    assert night(now, zone="Asia/Kolkata") == Defer(at("2026-06-16T08:00+05:30"))
    fall_back = at("2026-11-01T01:30-04:00")
    assert night(fall_back, zone="America/New_York") == Defer(at("2026-11-01T08:00-05:00"))


def test_a_window_ending_in_an_hour_the_clocks_skip_ends_when_they_jump() -> None:
    verdict = quiet_hours_verdict(
        at("2026-03-29T01:30+01:00"),
        ROME,
        start_hour=21,
        end_hour=2,
        stale_at=NEVER_STALE,
    )
    assert verdict == Defer(at("2026-03-29T03:00+02:00"))


@pytest.mark.parametrize(
    ("local_now", "send_at"),
    [
        ("2026-06-15T12:59+02:00", None),
        ("2026-06-15T13:00+02:00", "2026-06-15T15:00+02:00"),
        ("2026-06-15T14:59+02:00", "2026-06-15T15:00+02:00"),
        ("2026-06-15T15:00+02:00", None),
        ("2026-06-15T22:00+02:00", None),
        ("2026-06-16T03:00+02:00", None),
    ],
)
def test_a_window_that_does_not_cross_midnight(local_now: str, send_at: str | None) -> None:
    verdict = quiet_hours_verdict(
        at(local_now), "Europe/Rome", start_hour=13, end_hour=15, stale_at=NEVER_STALE
    )
    assert verdict == (SendNow() if send_at is None else Defer(at(send_at)))


@pytest.mark.parametrize("local_now", ["2026-06-15T08:00+02:00", "2026-06-15T03:00+02:00"])
def test_equal_start_and_end_mean_no_quiet_hours(local_now: str) -> None:
    verdict = quiet_hours_verdict(
        at(local_now), "Europe/Rome", start_hour=8, end_hour=8, stale_at=NEVER_STALE
    )
    assert verdict == SendNow()


def test_an_offer_stale_before_quiet_hours_end_is_dropped() -> None:
    now = at("2026-06-15T22:00+02:00")
    window_end = at("2026-06-16T08:00+02:00")
    dropped = night(now, stale_at=at("2026-06-16T07:00+02:00"))
    assert isinstance(dropped, Drop)
    assert dropped.reason.startswith(
        "quiet hours: the offer would be stale by 2026-06-16T07:00+02:00"
    )
    assert isinstance(night(now, stale_at=window_end), Drop)
    assert night(now, stale_at=window_end + timedelta(seconds=1)) == Defer(window_end)


def test_staleness_does_not_matter_outside_quiet_hours() -> None:
    now = at("2026-06-15T12:00+02:00")
    assert night(now, stale_at=now + timedelta(minutes=1)) == SendNow()


@pytest.mark.parametrize(
    ("now", "stale_at"),
    [
        (datetime(2026, 6, 15, 20), NEVER_STALE),  # noqa: DTZ001 - a naive time on purpose
        (at("2026-06-15T20:00+00:00"), datetime(2026, 6, 16)),  # noqa: DTZ001 - on purpose
    ],
)
def test_naive_times_are_refused(now: datetime, stale_at: datetime) -> None:
    with pytest.raises(ValueError, match="without a time zone"):
        night(now, stale_at=stale_at)


def test_bad_hours_and_zones_are_refused() -> None:
    now = at("2026-06-15T20:00+00:00")
    with pytest.raises(ValueError, match="start_hour is 24"):
        quiet_hours_verdict(now, ROME, start_hour=24, end_hour=8, stale_at=NEVER_STALE)
    with pytest.raises(ValueError, match="end_hour is -1"):
        quiet_hours_verdict(now, ROME, start_hour=21, end_hour=-1, stale_at=NEVER_STALE)
    with pytest.raises(ValueError, match="not a known IANA time zone"):
        night(now, zone="Europe/Atlantis")


# Local days and ISO weeks


@pytest.mark.parametrize(
    ("utc", "day", "week"),
    [
        # Summer (UTC+2): 22:00 UTC is already the next day in Rome
        ("2026-06-30T21:59+00:00", "2026-06-30", "2026-W27"),
        ("2026-06-30T22:00+00:00", "2026-07-01", "2026-W27"),
        ("2026-06-30T23:30+00:00", "2026-07-01", "2026-W27"),
        # Winter (UTC+1)
        ("2026-01-15T22:59+00:00", "2026-01-15", "2026-W03"),
        ("2026-01-15T23:30+00:00", "2026-01-16", "2026-W03"),
        # A Sunday night in UTC is a Monday in Rome: a new ISO week
        ("2026-03-29T21:59+00:00", "2026-03-29", "2026-W13"),
        ("2026-03-29T22:00+00:00", "2026-03-30", "2026-W14"),
        # 2026 has 53 ISO weeks: 1-3 January 2027 still belong to 2026-W53
        ("2026-12-31T23:30+00:00", "2027-01-01", "2026-W53"),
        ("2027-01-03T22:59+00:00", "2027-01-03", "2026-W53"),
        ("2027-01-03T23:00+00:00", "2027-01-04", "2027-W01"),
        # ... and 29 December 2025 already belongs to 2026-W01
        ("2025-12-28T22:59+00:00", "2025-12-28", "2025-W52"),
        ("2025-12-28T23:30+00:00", "2025-12-29", "2026-W01"),
    ],
)
def test_local_day_and_week_in_rome(utc: str, day: str, week: str) -> None:
    now = at(utc)
    assert local_day(now, "Europe/Rome") == day
    assert local_week(now, ROME) == week
    iso = date.fromisoformat(day).isocalendar()
    assert week == f"{iso.year}-W{iso.week:02d}"


def test_local_day_follows_the_recipients_zone() -> None:
    now = at("2026-06-30T23:30+00:00")
    assert local_day(now, "Europe/Lisbon") == "2026-07-01"
    assert local_day(now, "America/New_York") == "2026-06-30"


def test_local_day_and_week_refuse_naive_times() -> None:
    naive = datetime(2026, 6, 30, 23, 30)  # noqa: DTZ001 - a naive time on purpose
    with pytest.raises(ValueError, match="without a time zone"):
        local_day(naive, ROME)
    with pytest.raises(ValueError, match="without a time zone"):
        local_week(naive, ROME)


# Settings of the contact policy


@pytest.fixture
def policy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No ``OFFERS_*`` variable from the outer environment leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("OFFERS_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_policy_settings_defaults(policy_env: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert settings.global_control_share == 0.05
    assert (settings.quiet_hours_start, settings.quiet_hours_end) == (21, 8)
    assert settings.offer_cooldown_hours == 24
    assert settings.exploration_share == 0.05
    assert (settings.channel_cap_per_day, settings.channel_cap_per_week) == (2, 5)


def test_policy_settings_from_the_environment(policy_env: pytest.MonkeyPatch) -> None:
    policy_env.setenv("OFFERS_GLOBAL_CONTROL_SHARE", "0.1")
    policy_env.setenv("OFFERS_QUIET_HOURS_START", "13")
    policy_env.setenv("OFFERS_QUIET_HOURS_END", "15")
    policy_env.setenv("OFFERS_OFFER_COOLDOWN_HOURS", "0")
    policy_env.setenv("OFFERS_CHANNEL_CAP_PER_WEEK", "7")
    settings = Settings()
    assert settings.global_control_share == 0.1
    assert (settings.quiet_hours_start, settings.quiet_hours_end) == (13, 15)
    assert settings.offer_cooldown_hours == 0
    assert settings.channel_cap_per_week == 7


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("OFFERS_GLOBAL_CONTROL_SHARE", "0.6", "global_control_share"),
        ("OFFERS_GLOBAL_CONTROL_SHARE", "-0.1", "global_control_share"),
        ("OFFERS_QUIET_HOURS_START", "24", "quiet_hours_start"),
        ("OFFERS_QUIET_HOURS_END", "-1", "quiet_hours_end"),
        ("OFFERS_OFFER_COOLDOWN_HOURS", "721", "offer_cooldown_hours"),
        ("OFFERS_EXPLORATION_SHARE", "0.51", "exploration_share"),
        ("OFFERS_CHANNEL_CAP_PER_DAY", "0", "channel_cap_per_day"),
        ("OFFERS_CHANNEL_CAP_PER_WEEK", "0", "channel_cap_per_week"),
    ],
)
def test_policy_settings_out_of_range_are_refused(
    variable: str, value: str, field: str, policy_env: pytest.MonkeyPatch
) -> None:
    policy_env.setenv(variable, value)
    with pytest.raises(ValidationError) as info:
        Settings()
    assert [err["loc"] for err in info.value.errors()] == [(field,)]


def test_send_request_defaults_are_the_settings_defaults(policy_env: pytest.MonkeyPatch) -> None:
    request = SendRequest(
        decision_id="d-1",
        customer_id="cust-1",
        campaign_id="cmp-a",
        channel=Channel.SMS,
        now=at("2026-06-15T12:00+02:00"),
        zone="Europe/Rome",
        per_day=1,
        per_week=3,
    )
    settings = Settings()
    assert request.channel_per_day == settings.channel_cap_per_day
    assert request.channel_per_week == settings.channel_cap_per_week


def test_a_send_request_for_a_campaign_takes_its_limits() -> None:
    campaign = valid_campaign()
    settings = Settings(offer_cooldown_hours=12, channel_cap_per_day=3, channel_cap_per_week=9)
    request = SendRequest.for_campaign(
        campaign,
        settings,
        decision_id="d-1",
        customer_id="cust-1",
        channel=Channel.WHATSAPP,
        now=at("2025-06-15T12:00+02:00"),
        zone="Europe/Rome",
    )
    assert (request.per_day, request.per_week) == (1, 2)
    assert request.max_sends == 50_000
    assert (request.channel_per_day, request.channel_per_week) == (3, 9)
    assert request.cooldown == timedelta(hours=12)
    assert request.campaign_end == campaign.schedule.end


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"customer_id": "cust 1"}, "customer_id 'cust 1' is not an id"),
        ({"campaign_id": "a/b"}, "campaign_id 'a/b' is not an id"),
        ({"now": datetime(2026, 6, 15, 12)}, "without a time zone"),  # noqa: DTZ001
        ({"zone": "Mars/Olympus"}, "not a known IANA time zone"),
        ({"per_day": -1}, "per_day is -1"),
        ({"max_sends": -5}, "max_sends is -5"),
        ({"cooldown": timedelta(hours=-1)}, "negative"),
    ],
)
def test_a_send_request_refuses_bad_values(change: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "decision_id": "d-1",
        "customer_id": "cust-1",
        "campaign_id": "cmp-a",
        "channel": Channel.SMS,
        "now": at("2026-06-15T12:00+02:00"),
        "zone": "Europe/Rome",
        "per_day": 1,
        "per_week": 3,
    }
    with pytest.raises(ValueError, match=message):
        SendRequest(**(fields | change))
