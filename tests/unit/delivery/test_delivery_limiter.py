"""The per-provider send rate limiter: token buckets on a clock the tests move."""

from __future__ import annotations

import asyncio
import time

import pytest

from offers.settings import Settings
from streams.delivery.policy import SendRateLimiter
from streams.delivery.providers import Provider


class Clock:
    """A monotonic clock in seconds that only moves when told to."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def drain(limiter: SendRateLimiter, provider: Provider) -> int:
    """Sends admitted now, until the bucket refuses one."""
    admitted = 0
    while limiter.try_acquire(provider):
        admitted += 1
        assert admitted < 10_000
    return admitted


def test_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = SendRateLimiter({Provider.TWILIO: 5.0}, clock=clock)
    assert drain(limiter, Provider.TWILIO) == 5  # one second's worth at once
    clock.now += 0.19
    assert not limiter.try_acquire(Provider.TWILIO)
    clock.now += 0.01
    assert drain(limiter, Provider.TWILIO) == 1  # one token every 200 ms
    clock.now += 10.0
    assert drain(limiter, Provider.TWILIO) == 5  # the bucket holds no more than the burst


def test_n_sends_in_a_window() -> None:
    clock = Clock()
    limiter = SendRateLimiter({Provider.WHATSAPP: 80.0}, clock=clock)
    admitted = 0
    for _ in range(1_000):  # 10 s in steps of 10 ms, as fast as admitted
        admitted += drain(limiter, Provider.WHATSAPP)
        clock.now += 0.01
    assert admitted == 80 + 80 * 10 - 1  # the burst, then the rate (the last tick not reached)


def test_a_rate_below_one_per_second() -> None:
    clock = Clock()
    limiter = SendRateLimiter({Provider.MESSENGER: 0.5}, clock=clock)
    assert drain(limiter, Provider.MESSENGER) == 1
    clock.now += 1.99
    assert not limiter.try_acquire(Provider.MESSENGER)
    clock.now += 0.01
    assert limiter.try_acquire(Provider.MESSENGER)


def test_providers_have_their_own_buckets() -> None:
    clock = Clock()
    limiter = SendRateLimiter({Provider.TWILIO: 1.0, Provider.WHATSAPP: 2.0}, clock=clock)
    assert drain(limiter, Provider.TWILIO) == 1
    assert drain(limiter, Provider.WHATSAPP) == 2
    with pytest.raises(KeyError, match="no send rate is set for provider messenger"):
        limiter.try_acquire(Provider.MESSENGER)


def test_rates_come_from_the_settings() -> None:
    settings = Settings(twilio_send_rate=3, whatsapp_send_rate=1, messenger_send_rate=2)
    limiter = SendRateLimiter.from_settings(settings)
    assert [drain(limiter, p) for p in Provider] == [3, 1, 2]


@pytest.mark.parametrize("rate", [0.0, -1.0, float("nan")])
def test_a_rate_must_be_positive(rate: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        SendRateLimiter({Provider.TWILIO: rate})


def test_acquire_waits_for_a_token_in_real_time() -> None:
    limiter = SendRateLimiter({Provider.TWILIO: 40.0})

    async def go() -> tuple[float, bool]:
        started = time.monotonic()
        for _ in range(50):  # 40 at once, then 10 at 25 ms each
            assert await limiter.acquire(Provider.TWILIO, timeout_s=2.0)
        elapsed = time.monotonic() - started
        slow = SendRateLimiter({Provider.WHATSAPP: 0.1})
        assert await slow.acquire(Provider.WHATSAPP)
        return elapsed, await slow.acquire(Provider.WHATSAPP, timeout_s=0.05)

    elapsed, late = asyncio.run(go())
    assert 0.2 <= elapsed < 1.5
    assert late is False
