"""What ``offers demo`` puts in place before the simulated world flows, so that the
worker's decisions mean something: a champion model, three running campaigns, and the
simulated customers' consent.

- :func:`ensure_champion` trains the bootstrap model into the registry and promotes it,
  unless the registry has a champion already;
- :func:`place_campaigns` creates and activates the demo campaigns
  (:func:`offers.campaigns.presets.demo_campaigns`)
  through the campaign store, or reuses the running ones of the same name and content
  whose schedule covers the simulated days, so repeated demos never duplicate them;
- :func:`place_consent` writes the consent of ``simulators.consent`` that the consent
  topic does not hold yet;
- :func:`wait_worker_holds` waits until a worker holds the campaigns and has read the
  consent topic to its end, before any event is produced.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import typer
from kafka import KafkaConsumer, TopicPartition

from models.bootstrap import bootstrap, register
from models.registry import ModelRegistry, default_registry_dir
from offers.campaigns import (
    Actor,
    Campaign,
    CampaignCreate,
    CampaignStatus,
    LifecycleAction,
)
from offers.campaigns.presets import demo_campaigns
from offers.contracts import ConsentChange, decode, encode
from offers.roles import Role
from offers.settings import Settings
from offers.stack.kafka import end_offsets
from offers.stack.workers import WorkerProcess
from offers.state.campaigns import CampaignStore
from offers.state.compacted import Position, StateError, TopicWriter
from offers.state.consent import ConsentStore
from offers.topics import CONSENT
from simulators.consent import consent_changes
from simulators.customers import customer_id
from simulators.world import WorldConfig

MODEL_ROWS = 50_000
"""Simulated rows the demo's model is trained on: enough for a sound first model."""
DEMO_ACTOR = Actor(user_id="demo", role=Role.ADMIN)
SCHEDULE_MARGIN = timedelta(days=1)
"""The campaigns start this long before the simulated days."""
SCHEDULE_RUNWAY = timedelta(days=30)
"""...and end this long after the later of their end and now (so they can be activated)."""

# the model -----------------------------------------------------------------------------


def ensure_champion(settings: Settings, rows: int = MODEL_ROWS) -> Path:
    """The registry the workers score with; the bootstrap model trained into it and
    promoted when it has no champion."""
    registry = ModelRegistry((settings.model_dir or default_registry_dir()).resolve())
    champion = registry.champion()
    if champion is not None:
        auc = registry.meta(champion).metrics.get("auc", float("nan"))
        typer.echo(f"model {champion}: the champion of {registry.directory} (AUC {auc:.3f})")
        return registry.directory
    started = time.monotonic()
    result = bootstrap(rows, settings.simulator_seed)
    version = register(registry, result, promote=True)
    typer.echo(
        f"model {version}: trained on {rows:,} simulated rows in "
        f"{time.monotonic() - started:.0f} s, AUC {result.evaluation.auc:.3f}, "
        f"champion of {registry.directory}"
    )
    return registry.directory


def engine_settings(live: Settings, registry: Path) -> Settings:
    """The worker's settings: decisions at event time (the simulated days lie in the
    past), scored with the champion of ``registry``."""
    return live.model_copy(update={"decision_clock": "event", "model_dir": registry})


# campaigns -----------------------------------------------------------------------------


def campaign_period(config: WorldConfig, now: datetime) -> tuple[datetime, datetime]:
    """The instants the demo's campaigns must run between: from before the simulated
    days to after both their end and ``now``."""
    return config.start - SCHEDULE_MARGIN, max(config.end, now) + SCHEDULE_RUNWAY


def reusable(campaign: Campaign, wanted: CampaignCreate, needed: tuple[datetime, datetime]) -> bool:
    """Whether ``campaign`` is running, as ``wanted`` but for its schedule's span, and
    runs over the whole ``needed`` span (start, end)."""
    span = {"start", "end"}
    return (
        campaign.status is CampaignStatus.ACTIVE
        and campaign.body().model_dump(exclude={"schedule"})
        == wanted.model_dump(exclude={"schedule"})
        and campaign.schedule.model_dump(exclude=span) == wanted.schedule.model_dump(exclude=span)
        and campaign.schedule.start <= needed[0]
        and campaign.schedule.end >= needed[1]
    )


@dataclass(frozen=True, slots=True)
class PlacedCampaigns:
    campaigns: tuple[Campaign, ...]
    """The demo's running campaigns."""
    records: int
    """Changes written to the campaigns topic."""


def place_campaigns(
    store: CampaignStore, config: WorldConfig, now: datetime, *, competing: bool = False
) -> PlacedCampaigns:
    """The demo's campaigns running, each reused or created and activated."""
    store.view.wait_until_current()
    start, end = campaign_period(config, now)
    needed = (config.start, max(config.end, now) + timedelta(days=1))
    placed: list[Campaign] = []
    records = 0
    for wire in demo_campaigns(start, end, competing=competing):
        campaign, written = place_campaign(store, CampaignCreate(**wire), needed)
        placed.append(campaign)
        records += written
    return PlacedCampaigns(tuple(placed), records)


def place_campaign(
    store: CampaignStore, wanted: CampaignCreate, needed: tuple[datetime, datetime]
) -> tuple[Campaign, int]:
    """A running campaign of ``wanted``'s name that can be reused, or a new one, created
    and activated (the running ones of that name that cannot be reused are ended first);
    and the number of changes written."""
    running = [
        c for c in store.all() if c.name == wanted.name and c.status is CampaignStatus.ACTIVE
    ]
    kept = next((c for c in running if reusable(c, wanted, needed)), None)
    written = 0
    for other in running:
        if other is not kept:
            store.move(other.id, LifecycleAction.END, DEMO_ACTOR)
            written += 1
    if kept is not None:
        typer.echo(f"  campaign {kept.name!r}: running already ({kept.id})")
        return kept, written
    created = store.create(wanted, DEMO_ACTOR)
    kept = store.move(created.id, LifecycleAction.ACTIVATE, DEMO_ACTOR)
    typer.echo(f"  campaign {kept.name!r}: created and activated ({kept.id})")
    return kept, written + 2


# consent -------------------------------------------------------------------------------


def place_consent(bootstrap: str, writer: TopicWriter, config: WorldConfig) -> int:
    """Write the consent the simulated customers give that the topic does not hold yet
    (given the day before the simulated days); the number of records written."""
    store = ConsentStore(bootstrap, writer)
    try:
        store.view.wait_until_current()
        customers = (customer_id(i) for i in range(config.customers))
        changes = consent_changes(
            customers, config.seed, at=config.start - SCHEDULE_MARGIN, held=store.granted
        )
        last: dict[int, Position] = {}
        for change in changes:
            position = writer.put(CONSENT.name, change.consent_key, encode(change))
            last[position.partition] = position
        for position in last.values():
            store.view.wait_for(position, timeout_s=30.0)
    finally:
        store.close()
    return len(changes)


def read_range(
    bootstrap: str, topic: str, start: Mapping[int, int], end: Mapping[int, int],
    timeout_s: float = 60.0,
) -> Iterator[bytes]:  # fmt: skip
    """The values of ``topic`` from offset ``start`` (included) to ``end`` (excluded) of
    each partition (a partition without a start is read from 0); tombstones are skipped."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        left = {TopicPartition(topic, p): e for p, e in end.items() if e > start.get(p, 0)}
        consumer.assign(list(left))
        for tp in left:
            consumer.seek(tp, start.get(tp.partition, 0))
        deadline = time.monotonic() + timeout_s
        while left:
            if time.monotonic() > deadline:
                raise StateError(f"{topic}: not read to its end in {timeout_s} s")
            for tp, records in consumer.poll(timeout_ms=500).items():
                yield from (r.value for r in records if r.offset < left[tp] and r.value)
                if consumer.position(tp) >= left[tp]:
                    del left[tp]
    finally:
        consumer.close()


def partition_ends(bootstrap: str, topic: str) -> dict[int, int]:
    """The end offset of each partition of ``topic``."""
    return {partition: end for (_, partition), end in end_offsets(bootstrap, [topic]).items()}


def last_consent(bootstrap: str) -> list[ConsentChange]:
    """The last record of each partition of the consent topic (tombstones aside)."""
    ends = partition_ends(bootstrap, CONSENT.name)
    starts = {partition: max(end - 1, 0) for partition, end in ends.items()}
    return [
        cast(ConsentChange, decode(raw, expected=ConsentChange))
        for raw in read_range(bootstrap, CONSENT.name, starts, ends)
    ]


# the worker ----------------------------------------------------------------------------


def worker_holds(
    worker: WorkerProcess, campaigns: tuple[Campaign, ...], consent: list[ConsentChange]
) -> bool:
    """Whether the worker holds these versions of the campaigns (or later ones) and
    shows each of these consent records."""
    if worker.process.poll() is not None:
        raise StateError(f"{worker.name} exited: {worker.log_tail()}")
    try:
        held = {c["id"]: c for c in worker.page("/campaigns")}
        for campaign in campaigns:
            seen = held.get(campaign.id)
            if seen is None or seen["version"] < campaign.version or seen["status"] != "active":
                return False
        for change in consent:
            shown = worker.page(f"/consent/{change.customer_id}")
            if shown.get(change.scope.value) != change.granted:
                return False
    except OSError:  # a busy worker slow to answer (a timeout) has not shown it yet
        return False
    return True


def wait_worker_holds(
    worker: WorkerProcess, campaigns: tuple[Campaign, ...], bootstrap: str, timeout: float = 120.0
) -> None:
    """Wait until the worker holds the campaigns and has read the consent topic."""
    consent = last_consent(bootstrap)
    deadline = time.monotonic() + timeout
    while not worker_holds(worker, campaigns, consent):
        if time.monotonic() > deadline:
            raise StateError(
                f"the worker does not hold the campaigns and consent after {timeout} s"
            )
        time.sleep(0.2)
