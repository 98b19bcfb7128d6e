"""The sandbox itself: configuration, records, seeded draws and background deliveries,
shared by the HTTP routes and offered to tests as a Python API."""

from __future__ import annotations

import random
import threading
import time

from simulators.sandbox.callbacks import Background, WebhookPoster
from simulators.sandbox.config import SandboxConfig
from simulators.sandbox.faults import FaultInjector
from simulators.sandbox.ids import SeededIds
from simulators.sandbox.store import InboundRecord, MessageRecord, MessageStore

PROVIDERS = ("twilio", "graph")
"""Fault injectors: one for Twilio's API, one for Meta's Graph API."""


class Sandbox:
    """State of one sandbox. ``base_url`` is set while it is served by
    :func:`~simulators.sandbox.runner.running_sandbox`."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self._config = config or SandboxConfig()
        self._lock = threading.Lock()
        self.store = MessageStore()
        self.ids = SeededIds(self._config.seed)
        self.faults = {
            name: FaultInjector(
                name,
                self._config.seed,
                self._config.rate_limit_rate,
                self._config.server_error_rate,
            )
            for name in PROVIDERS
        }
        self._outcomes = random.Random(f"{self._config.seed}:outcomes")
        self._slowness = random.Random(f"{self._config.seed}:slowness")
        self._queue_free_at: dict[str, float] = {}
        self.background = Background()
        self.webhooks = WebhookPoster(self.store, lambda: self.config)
        self.base_url: str | None = None

    @property
    def config(self) -> SandboxConfig:
        with self._lock:
            return self._config

    # Inspection and control, for tests and the demo

    def messages(
        self, *, to: str | None = None, channel: str | None = None, provider: str | None = None
    ) -> list[MessageRecord]:
        """Accepted messages (copies), oldest first, optionally filtered."""
        return self.store.find(to=to, channel=channel, provider=provider)

    def message(self, message_id: str) -> MessageRecord:
        """One accepted message (a copy); ``KeyError`` if there is none with that ID."""
        record = self.store.get(message_id)
        if record is None:
            raise KeyError(message_id)
        return record

    def inbound(self) -> list[InboundRecord]:
        """Replies posted with ``POST /sandbox/reply``, oldest first."""
        return self.store.inbound()

    @property
    def stop_list(self) -> frozenset[str]:
        """Numbers that opted out: Twilio rejects sends to them with 21610."""
        return self.store.stop_list()

    def opt_out(self, number: str) -> None:
        self.store.opt_out(number)

    def opt_in(self, number: str) -> None:
        self.store.opt_in(number)

    def burst(self, count: int, provider: str | None = None) -> None:
        """Answers the next ``count`` send requests with 429, for one provider (``twilio``
        or ``graph``) or each of them."""
        if provider is not None and provider not in self.faults:
            raise ValueError(f"unknown provider {provider!r}; known: {', '.join(PROVIDERS)}")
        for name, injector in self.faults.items():
            if provider is None or provider == name:
                injector.burst(count)

    def reset(self, config: SandboxConfig | None = None) -> None:
        """Forgets every message, reply and opt-out, reseeds every draw, and optionally
        takes a new configuration. Deliveries under way stop at their next step."""
        with self._lock:
            if config is not None:
                self._config = config
            current = self._config
            self._outcomes = random.Random(f"{current.seed}:outcomes")
            self._slowness = random.Random(f"{current.seed}:slowness")
            self._queue_free_at.clear()
        self.store.reset()
        self.ids.reseed(current.seed)
        for injector in self.faults.values():
            injector.reseed(current.seed, current.rate_limit_rate, current.server_error_rate)

    def wait_for(self, message_id: str, status: str, *, timeout_s: float = 5.0) -> MessageRecord:
        """Blocks until the message has reached ``status`` (call it from another thread
        than the server's); ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout_s
        while True:
            record = self.store.get(message_id)
            if record is not None and record.reached(status) is not None:
                return record
            if time.monotonic() >= deadline:
                seen = record.status if record is not None else "no such message"
                raise TimeoutError(f"{message_id} did not reach {status!r} ({seen})")
            time.sleep(0.01)

    def wait_idle(self, *, timeout_s: float = 5.0) -> None:
        """Blocks until no delivery is under way (every status reached, every webhook
        tried); ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout_s
        while self.background.pending:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{self.background.pending} deliveries still under way")
            time.sleep(0.01)

    # Draws for the routes

    def answer_delay(self) -> float:
        """Seconds the answer to an accepted send waits: ``slow_s`` for a share
        ``slow_rate`` of them, none for the others."""
        with self._lock:
            config = self._config
            slow = config.slow_rate > 0 and self._slowness.random() < config.slow_rate
        return config.slow_s if slow else 0.0

    def draw_undelivered(self) -> bool:
        """Whether the next sent message will not be delivered."""
        with self._lock:
            return self._outcomes.random() < self._config.failure_rate

    def draw_read(self) -> bool:
        """Whether the next delivered WhatsApp message will be read."""
        with self._lock:
            return self._outcomes.random() < self._config.read_rate

    def queue_wait(self, sender: str) -> float:
        """Seconds a new message from ``sender`` waits behind the ones already queued for
        it, when senders have a throughput (``sender_mps``); 0 otherwise."""
        with self._lock:
            mps = self._config.sender_mps
            if mps is None:
                return 0.0
            moment = time.monotonic()
            start = max(moment, self._queue_free_at.get(sender, moment))
            self._queue_free_at[sender] = start + 1.0 / mps
            return start - moment
