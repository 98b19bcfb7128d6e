"""Send policy without a network: retry backoff, Retry-After, validity periods."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from streams.delivery.policy import (
    DELIVERY_MARGIN,
    MAX_VALIDITY_S,
    NoValidity,
    Validity,
    backoff_delay,
    next_local_hour,
    remaining_validity,
    retry_after_seconds,
    retry_delay,
    validity_period,
)
from streams.delivery.results import FailureKind, SendFailure

MARGIN_S = int(DELIVERY_MARGIN.total_seconds())
TRANSIENT = SendFailure(FailureKind.TRANSIENT, "20503", "Service Unavailable", http_status=503)
PERMANENT = SendFailure(FailureKind.PERMANENT, "21211", "invalid number", http_status=400)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- backoff -----------------------------------------------------------------------------


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0)])
def test_backoff_draws_below_the_exponential(attempt: int, ceiling: float) -> None:
    rng = random.Random(3)
    draws = [backoff_delay(attempt, rng=rng) for _ in range(2_000)]
    assert all(0.0 <= d <= ceiling for d in draws)
    assert max(draws) > 0.95 * ceiling and min(draws) < 0.05 * ceiling  # full jitter


@pytest.mark.parametrize("attempt", [7, 8, 20, 1_000])
def test_backoff_is_capped(attempt: int) -> None:
    rng = random.Random(5)
    draws = [backoff_delay(attempt, rng=rng, base_s=1.0, cap_s=60.0) for _ in range(2_000)]
    assert max(draws) <= 60.0 and max(draws) > 57.0


def test_backoff_is_repeatable_with_a_seed() -> None:
    first = [backoff_delay(n, rng=random.Random(9)) for n in range(1, 8)]
    again = [backoff_delay(n, rng=random.Random(9)) for n in range(1, 8)]
    assert first == again
    assert first != [backoff_delay(n, rng=random.Random(10)) for n in range(1, 8)]


def test_retry_after_is_honoured_when_longer() -> None:
    assert backoff_delay(1, rng=random.Random(1), retry_after_s=90.0) == 90.0  # beyond the cap
    drawn = backoff_delay(6, rng=random.Random(1))
    assert backoff_delay(6, rng=random.Random(1), retry_after_s=drawn / 2) == drawn


@pytest.mark.parametrize(
    ("attempt", "base", "cap"),
    [(0, 1.0, 60.0), (1, 0.0, 60.0), (1, 2.0, 1.0), (1, 1.0, float("inf"))],
)
def test_backoff_refuses_nonsense(attempt: int, base: float, cap: float) -> None:
    with pytest.raises(ValueError):
        backoff_delay(attempt, base_s=base, cap_s=cap)


def test_retry_delay_stops_on_permanent_failures_and_after_the_last_attempt() -> None:
    rng = random.Random(2)
    assert retry_delay(PERMANENT, 1, 5, rng=rng) is None
    assert retry_delay(TRANSIENT, 5, 5, rng=rng) is None
    delay = retry_delay(TRANSIENT, 4, 5, rng=rng)
    assert delay is not None and 0.0 <= delay <= 8.0
    limited = SendFailure(FailureKind.TRANSIENT, "20429", "Too Many Requests", 429, 30.0)
    assert retry_delay(limited, 1, 5, rng=rng) == 30.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("30", 30.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        ("Mon, 01 Jun 2026 12:00:10 GMT", 10.0),
        ("Mon, 01 Jun 2026 11:00:00 GMT", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-1", None),
        ("inf", None),
        ("nan", None),
    ],
)
def test_retry_after_header(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, utc(2026, 6, 1, 12)) == seconds


# --- validity ----------------------------------------------------------------------------


def period(
    now: datetime, zone: str = "Europe/Rome", expires_in: timedelta = timedelta(hours=48)
) -> Validity | NoValidity:
    return validity_period(now, zone, now + expires_in)


def seconds_of(result: Validity | NoValidity) -> int:
    assert isinstance(result, Validity), result
    assert result.until.tzinfo is not None
    return result.seconds


def test_validity_ends_before_the_quiet_hours() -> None:
    now = utc(2026, 6, 15, 10)  # 12:00 in Rome (UTC+2)
    result = period(now)
    assert isinstance(result, Validity)
    assert result.seconds == 9 * 3600 - MARGIN_S  # 21:00 local is 19:00 UTC
    assert result.until == now + timedelta(seconds=result.seconds)
    assert "quiet hours" in result.bound


def test_validity_is_capped_at_the_providers_longest() -> None:
    result = period(utc(2026, 6, 15, 6, 30))  # 08:30 in Rome: 12.5 hours to quiet
    assert isinstance(result, Validity)
    assert (result.seconds, result.bound) == (
        MAX_VALIDITY_S,
        "the provider's longest validity period",
    )


def test_validity_ends_before_the_offer_expires() -> None:
    result = period(utc(2026, 6, 15, 10), expires_in=timedelta(hours=2))
    assert isinstance(result, Validity)
    assert (result.seconds, result.bound) == (2 * 3600 - MARGIN_S, "the offer's expiry")


@pytest.mark.parametrize(
    ("now", "reason"),
    [
        (utc(2026, 6, 15, 20), "quiet hours"),  # 22:00 in Rome
        (utc(2026, 6, 15, 5, 30), "quiet hours"),  # 07:30 in Rome
        (utc(2026, 6, 15, 18, 59, 30), "no time is left before the recipient's quiet hours"),
    ],
)
def test_no_validity_in_or_just_before_quiet_hours(now: datetime, reason: str) -> None:
    result = period(now)
    assert isinstance(result, NoValidity) and reason in result.reason


def test_no_validity_once_the_offer_has_expired_or_is_about_to() -> None:
    now = utc(2026, 6, 15, 10)
    expired = period(now, expires_in=timedelta(0))
    assert isinstance(expired, NoValidity) and "expired" in expired.reason
    closing = period(now, expires_in=DELIVERY_MARGIN + timedelta(milliseconds=900))
    assert isinstance(closing, NoValidity) and "the offer's expiry" in closing.reason
    assert seconds_of(period(now, expires_in=DELIVERY_MARGIN + timedelta(seconds=1))) == 1


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Europe/Rome", 1 * 3600 - MARGIN_S),  # 20:00 local
        ("Europe/London", 2 * 3600 - MARGIN_S),  # 19:00 local
        ("America/New_York", 7 * 3600 - MARGIN_S),  # 14:00 local
        ("Asia/Kolkata", None),  # 23:30 local: quiet
        ("Asia/Tokyo", None),  # 03:00 local: quiet
    ],
)
def test_validity_follows_the_recipients_time_zone(zone: str, expected: int | None) -> None:
    result = period(utc(2026, 6, 15, 18), zone)
    if expected is None:
        assert isinstance(result, NoValidity)
    else:
        assert seconds_of(result) == expected


@pytest.mark.parametrize(
    "now",
    [
        utc(2026, 3, 28, 13),  # 14:00 CET (UTC+1), the day before the clocks go forward
        utc(2026, 3, 29, 12),  # 14:00 CEST (UTC+2), the day they do
        utc(2026, 10, 25, 13),  # 14:00 CET, the day they go back
    ],
)
def test_validity_through_daylight_saving_changes(now: datetime) -> None:
    assert seconds_of(period(now)) == 7 * 3600 - MARGIN_S  # always until 20:59 local


def test_next_local_hour_across_clock_changes() -> None:
    # 02:00 does not exist in Rome on 2026-03-29: the clocks jump at 01:00 UTC
    assert next_local_hour(utc(2026, 3, 28, 23, 30), "Europe/Rome", 2) == utc(2026, 3, 29, 1)
    # 02:00 happens twice on 2026-10-25 (00:00 and 01:00 UTC): the first is taken
    assert next_local_hour(utc(2026, 10, 24, 22, 30), "Europe/Rome", 2) == utc(2026, 10, 25, 0)
    # just after 21:00 today comes 21:00 tomorrow
    assert next_local_hour(utc(2026, 6, 15, 19, 0, 1), "Europe/Rome", 21) == utc(2026, 6, 16, 19)


def test_validity_without_quiet_hours() -> None:
    now = utc(2026, 6, 15, 21)  # 23:00 in Rome
    result = validity_period(
        now, "Europe/Rome", now + timedelta(hours=3), quiet_start_hour=0, quiet_end_hour=0
    )
    assert seconds_of(result) == 3 * 3600 - MARGIN_S


def test_validity_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        validity_period(datetime(2026, 6, 15, 10), "Europe/Rome", utc(2026, 6, 16))  # noqa: DTZ001


def test_remaining_validity_at_each_try() -> None:
    now = utc(2026, 6, 15, 10)
    assert remaining_validity(now + timedelta(seconds=100.7), now) == 100
    assert remaining_validity(now + timedelta(hours=20), now) == MAX_VALIDITY_S
    assert remaining_validity(now + timedelta(milliseconds=999), now) is None
    assert remaining_validity(now - timedelta(seconds=5), now) is None
