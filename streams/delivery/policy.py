"""Send policy: when to try a message again, how long it may wait, how fast to send.

Pure functions over plain values, and one rate limiter; none of them does I/O.

- :func:`backoff_delay` and :func:`retry_delay`: capped exponential backoff with full
  jitter (a uniform draw between 0 and the capped exponential), so that many senders
  throttled together do not come back together; a provider's ``Retry-After`` is
  honoured when it asks for longer. The generator is passed in, so tests seed it.
  (tenacity's ``wait_random_exponential`` computes the same, but draws from the
  module-level ``random`` generator, which a test cannot seed for one call only.)
- :func:`validity_period`: how long a message may wait in the provider's queue (Twilio's
  ``ValidityPeriod``, 1 to 36,000 seconds) so that it never reaches the recipient in
  their quiet hours nor after the offer expires; :func:`remaining_validity` the same
  bound at each try.
- :class:`SendRateLimiter`: a token bucket per provider (pyrate-limiter's
  ``TokenBucket``), so a worker never sends faster than a provider accepts.

Times are timezone-aware ``datetime`` (a naive one raises ``ValueError``); zones are IANA
names or :class:`zoneinfo.ZoneInfo`.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from email.utils import parsedate_to_datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from pyrate_limiter import AbstractClock, Limiter, Rate, SingleBucketFactory, StateBucket
from pyrate_limiter import TokenBucket as TokenBucketAlgorithm

from offers.contracts.base import aware_utc
from offers.settings import Settings
from streams.decisions.policy import SendNow, quiet_hours_verdict, zone_info
from streams.delivery.providers import Provider, send_rates
from streams.delivery.results import SendFailure

MAX_VALIDITY_S = 36_000
"""The longest ``ValidityPeriod`` Twilio accepts, in seconds (10 hours)."""
DELIVERY_MARGIN = timedelta(minutes=1)
"""Time a message may take from leaving the provider's queue to reaching the handset;
kept free before the quiet hours and the offer's expiry."""
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 60.0

_RANDOM = random.Random()


def backoff_delay(
    attempt: int,
    *,
    rng: random.Random | None = None,
    base_s: float = BACKOFF_BASE_S,
    cap_s: float = BACKOFF_CAP_S,
    retry_after_s: float | None = None,
) -> float:
    """Seconds to wait after failed try number ``attempt`` (1 for the first) before the
    next: a uniform draw in ``[0, min(cap_s, base_s * 2**(attempt - 1))]``, or the
    provider's ``retry_after_s`` when that is longer (it is not capped: the provider
    will refuse earlier tries)."""
    if attempt < 1:
        raise ValueError(f"attempt is {attempt}, not 1 or more")
    if not (0.0 < base_s <= cap_s and math.isfinite(cap_s)):
        raise ValueError(f"need 0 < base_s <= cap_s, finite; got {base_s} and {cap_s}")
    ceiling = min(cap_s, base_s * 2.0 ** min(attempt - 1, 64))
    delay = (rng or _RANDOM).uniform(0.0, ceiling)
    if retry_after_s is not None and retry_after_s > delay:
        return retry_after_s
    return delay


def retry_delay(
    failure: SendFailure,
    attempt: int,
    max_attempts: int,
    *,
    rng: random.Random | None = None,
    base_s: float = BACKOFF_BASE_S,
    cap_s: float = BACKOFF_CAP_S,
) -> float | None:
    """Seconds to wait before trying again after ``failure`` on try ``attempt``, or
    ``None`` when the message must not be tried again: the failure is permanent, or
    ``max_attempts`` tries have been made."""
    if not failure.transient or attempt >= max_attempts:
        return None
    return backoff_delay(
        attempt, rng=rng, base_s=base_s, cap_s=cap_s, retry_after_s=failure.retry_after_s
    )


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header in seconds from ``now``: delay-seconds (``"30"``) or an
    HTTP date; ``None`` when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return max(0.0, (moment - aware_utc(now, "now")).total_seconds())
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


@dataclass(frozen=True, slots=True)
class Validity:
    """A message may wait ``seconds`` in the provider's queue, until ``until`` (UTC);
    ``bound`` says what ends it."""

    seconds: int
    until: datetime
    bound: str


@dataclass(frozen=True, slots=True)
class NoValidity:
    """No time is left to send the message in: it must not be sent."""

    reason: str


def validity_period(
    now: datetime,
    zone: str | ZoneInfo,
    offer_expires_at: datetime,
    *,
    quiet_start_hour: int = 21,
    quiet_end_hour: int = 8,
    margin: timedelta = DELIVERY_MARGIN,
    longest_s: int = MAX_VALIDITY_S,
) -> Validity | NoValidity:
    """How long a message sent at ``now`` may wait in the provider's queue.

    The period ends at the earliest of: ``longest_s`` from now (the provider's limit),
    ``margin`` before the recipient's next quiet hours begin (local ``quiet_start_hour``
    in ``zone``, through changes of the clocks), and ``margin`` before the offer
    expires. :class:`NoValidity` when less than a second is left, when the offer has
    expired, or when the recipient is in quiet hours now (the message should have waited
    for their end: the decision's ``send_at``).
    """
    moment = aware_utc(now, "now")
    expires = aware_utc(offer_expires_at, "offer_expires_at")
    tz = zone_info(zone)
    if expires <= moment:
        return NoValidity(f"the offer expired at {expires.isoformat()}")
    verdict = quiet_hours_verdict(
        moment, tz, start_hour=quiet_start_hour, end_hour=quiet_end_hour, stale_at=expires
    )
    if not isinstance(verdict, SendNow):
        return NoValidity(f"it is the recipient's quiet hours ({_local(moment, tz)} local)")
    ends = [
        (moment + timedelta(seconds=longest_s), "the provider's longest validity period"),
        (expires - margin, "the offer's expiry"),
    ]
    if quiet_start_hour != quiet_end_hour:
        quiet = next_local_hour(moment, tz, quiet_start_hour)
        ends.append((quiet - margin, f"the recipient's quiet hours from {_local(quiet, tz)}"))
    until, bound = min(ends, key=lambda end: end[0])
    seconds = math.floor((until - moment).total_seconds())
    if seconds < 1:
        return NoValidity(f"no time is left before {bound}")
    return Validity(seconds, moment + timedelta(seconds=seconds), bound)


def remaining_validity(
    valid_until: datetime, now: datetime, longest_s: int = MAX_VALIDITY_S
) -> int | None:
    """Whole seconds, at most ``longest_s``, from ``now`` to ``valid_until``; ``None``
    when less than one is left (the message must not be sent)."""
    left = math.floor(
        (aware_utc(valid_until, "valid_until") - aware_utc(now, "now")).total_seconds()
    )
    return min(left, longest_s) if left >= 1 else None


def next_local_hour(now: datetime, zone: str | ZoneInfo, hour: int) -> datetime:
    """The first instant after ``now`` (UTC) at which clocks in ``zone`` reach
    ``hour``:00. An hour the clocks skip resolves to the moment they jump past it, an
    hour they repeat to its first occurrence."""
    tz = zone_info(zone)
    moment = aware_utc(now, "now")
    today = moment.astimezone(tz).date()
    candidates = (
        datetime.combine(today + timedelta(days=days), wall_time(hour), tzinfo=tz).astimezone(UTC)
        for days in (0, 1, 2)
    )
    return min(candidate for candidate in candidates if candidate > moment)


def _local(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).isoformat(timespec="minutes")


class _Clock(AbstractClock):
    """pyrate-limiter's clock (milliseconds) over a clock in seconds."""

    def __init__(self, seconds: Callable[[], float]) -> None:
        self._seconds = seconds

    def now(self) -> int:
        return int(self._seconds() * 1000)


class SendRateLimiter:
    """A token bucket per provider: ``rate`` messages per second on average, in bursts
    of at most one second's worth (one message at least).

    The buckets live in this process: each worker keeps to the rates on its own, so the
    rates configured are per worker. ``clock`` (seconds, monotonic) lets tests move time
    for :meth:`try_acquire`; :meth:`acquire` waits in real time and needs the real clock.
    """

    def __init__(
        self, rates: Mapping[Provider, float], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limiters: dict[Provider, Limiter] = {}
        for provider, rate in rates.items():
            bucket = StateBucket(
                [_token_rate(rate)], algorithm=TokenBucketAlgorithm(), clock=_Clock(clock)
            )
            factory = SingleBucketFactory(bucket, schedule_leak=False)
            self._limiters[provider] = Limiter(factory, buffer_ms=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> SendRateLimiter:
        return cls(send_rates(settings))

    def try_acquire(self, provider: Provider) -> bool:
        """Takes a token if one is there now; never waits."""
        return self._limiter(provider).try_acquire(provider.value, blocking=False) is True

    async def acquire(self, provider: Provider, timeout_s: float | None = None) -> bool:
        """Waits for a token, at most ``timeout_s`` (``None``: as long as it takes);
        ``False`` when none came in time."""
        timeout = -1 if timeout_s is None else max(0.0, timeout_s)
        limiter = self._limiter(provider)
        return await limiter.try_acquire_async(provider.value, blocking=True, timeout=timeout)

    def _limiter(self, provider: Provider) -> Limiter:
        try:
            return self._limiters[provider]
        except KeyError:
            raise KeyError(f"no send rate is set for provider {provider.value}") from None


def _token_rate(per_second: float) -> Rate:
    """``per_second`` as a pyrate-limiter rate: a whole number of messages per whole
    number of milliseconds, and a burst of one second's worth, rounded up."""
    if not (math.isfinite(per_second) and per_second > 0):
        raise ValueError(f"a send rate must be positive, not {per_second}")
    ratio = Fraction(per_second).limit_denominator(1000) or Fraction(1, round(1 / per_second))
    burst = max(1, math.ceil(per_second))
    return Rate(ratio.numerator, ratio.denominator * 1000, burst=burst)
