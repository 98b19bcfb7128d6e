"""A simulated day through the engine and the loop around it, in a background thread,
while a page watches: the campaign named is the only one the run places (with the
customers' consent); the loop (API, provider sandbox, delivery worker, customers) and a
stream-processor worker run until the page has seen enough."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from offers.campaigns import Campaign
from offers.closed_loop import closed_loop
from offers.contracts import Event
from offers.demo_setup import place_consent, wait_worker_holds
from offers.settings import Settings
from offers.state.campaigns import CampaignStore
from offers.state.compacted import TopicWriter
from simulators.sink import KafkaEventProducer, at_speed
from simulators.world import World, WorldConfig
from tests.integration.loop_runs import Engine

START_TIMEOUT_S = 240.0
"""The loop's services and the worker start within this, on a busy machine too."""


def running_campaign(settings: Settings, campaign_id: str, world: WorldConfig) -> Campaign:
    """The campaign as the store holds it, once the world's customers have consented."""
    writer = TopicWriter(settings.kafka_bootstrap)
    store = CampaignStore(settings.kafka_bootstrap, writer)
    try:
        store.view.wait_until_current()
        campaign = store.require(campaign_id)
        place_consent(settings.kafka_bootstrap, writer, world)
    finally:
        store.close()
        writer.close()
    return campaign


@dataclass
class DayRun:
    """The run in its thread: ``ready`` once events flow, ``produced_all`` once the whole
    day is in Kafka, ``stop`` to end it (early, or once the page has seen enough)."""

    settings: Settings
    campaign_id: str
    world: WorldConfig
    speed: float
    logs: Path
    ready: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    produced_all: threading.Event = field(default_factory=threading.Event)
    produced: int = 0
    error: BaseException | None = None

    def events(self, world: World) -> Iterator[Event]:
        for event in at_speed(world.events(), self.speed):
            if self.stop.is_set():
                return
            self.produced += 1
            yield event

    def run(self) -> None:
        # the services are children of this thread: it lives until the run is stopped
        try:
            campaign = running_campaign(self.settings, self.campaign_id, self.world)
            world = World(self.world)
            with closed_loop(
                self.settings, world.customers, (campaign,), self.logs, seed=self.world.seed
            ) as loop:
                engine = Engine(loop.settings, self.logs)
                try:
                    worker = engine.add()
                    worker.wait_ready(timeout=START_TIMEOUT_S)
                    wait_worker_holds(worker, (campaign,), self.settings.kafka_bootstrap)
                    self.ready.set()
                    with KafkaEventProducer(self.settings) as producer:
                        producer.produce(self.events(world), rate=3_000.0)
                    self.produced_all.set()
                    self.stop.wait()
                finally:
                    engine.stop_all()
        except BaseException as exc:  # handed to the test, which raises it
            self.error = exc
        finally:
            self.ready.set()

    def check(self) -> None:
        """Raise what went wrong in the run's thread, if anything did."""
        if self.error is not None:
            raise AssertionError(f"the simulated day failed: {self.error!r}") from self.error


@contextmanager
def simulated_day(
    settings: Settings, campaign_id: str, world: WorldConfig, speed: float, logs: Path
) -> Iterator[DayRun]:
    """The day flowing through the engine (see the module's docstring) while the block
    runs; stopped at its end."""
    logs.mkdir(parents=True, exist_ok=True)
    day = DayRun(settings, campaign_id, world, speed, logs)
    thread = threading.Thread(target=day.run, name="simulated-day", daemon=True)
    thread.start()
    try:
        yield day
    finally:
        day.stop.set()
        thread.join(timeout=180)
    day.check()
