"""Injected faults: rate limiting (429), transient server errors (500/503), bursts of
429 and added latency, drawn from a seeded generator so that runs repeat exactly."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    """The HTTP status a request is failed with: 429, 500 or 503."""

    status: int

    @property
    def rate_limited(self) -> bool:
        return self.status == 429


RATE_LIMITED = Fault(429)
INTERNAL_ERROR = Fault(500)
UNAVAILABLE = Fault(503)


class FaultInjector:
    """Decides, request by request, whether a send fails before it is looked at.

    Each decision draws from the injector's own generator, seeded from the sandbox seed
    and the injector's name: the n-th send request to a provider meets the same fault in
    every run, whatever the traffic to the other provider. A burst answers the next
    ``count`` requests with 429 without drawing.
    """

    def __init__(self, name: str, seed: int, rate_limit_rate: float, server_error_rate: float):
        self._name = name
        self._rate_limit_rate = rate_limit_rate
        self._server_error_rate = server_error_rate
        self._lock = threading.Lock()
        self._random = random.Random(f"{seed}:faults:{name}")
        self._burst = 0

    def reseed(self, seed: int, rate_limit_rate: float, server_error_rate: float) -> None:
        with self._lock:
            self._random = random.Random(f"{seed}:faults:{self._name}")
            self._rate_limit_rate = rate_limit_rate
            self._server_error_rate = server_error_rate
            self._burst = 0

    def burst(self, count: int) -> None:
        """Answers the next ``count`` requests with 429 (on top of any burst under way)."""
        if count < 0:
            raise ValueError("a burst cannot be negative")
        with self._lock:
            self._burst += count

    @property
    def burst_left(self) -> int:
        with self._lock:
            return self._burst

    def draw(self) -> Fault | None:
        """The fault for the next request, or ``None`` when it goes through."""
        with self._lock:
            if self._burst > 0:
                self._burst -= 1
                return RATE_LIMITED
            if self._rate_limit_rate == 0.0 and self._server_error_rate == 0.0:
                return None
            roll = self._random.random()
            if roll < self._rate_limit_rate:
                return RATE_LIMITED
            if roll < self._rate_limit_rate + self._server_error_rate:
                return INTERNAL_ERROR if self._random.random() < 0.5 else UNAVAILABLE
            return None
