"""``offers demo``: start the local stack and the whole engine around it, run a few
simulated days through it, and show what flowed and what the campaigns caused.

Before the world flows, :mod:`offers.demo_setup` puts a champion model, the demo's
campaigns and the simulated customers' consent in place. Then the loop runs: the world's
events go into Kafka, a stream-processor worker turns them into features and decisions
(at event time, as the simulated days lie in the past), a delivery worker sends the
offers to the provider sandbox, and the simulated customers answer through the API and
the booking stream (:mod:`offers.closed_loop`); their bookings flow back into the
worker. Once everything has settled, the demo shows what flowed per topic (checked
against the broker's own offsets), the worker's counters, the decisions per outcome,
reason and campaign, each campaign's funnel, and its incremental conversions and ROI
against its holdout beside the simulator's true incremental conversions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, cast

import typer

from offers.closed_loop import CampaignResult, Loop, closed_loop, loop_report
from offers.contracts import OfferDecision, decode
from offers.demo_setup import (
    PlacedCampaigns,
    engine_settings,
    ensure_champion,
    partition_ends,
    place_campaigns,
    place_consent,
    read_range,
    wait_worker_holds,
)
from offers.demo_tables import (
    DECISIONS_COUNTER,
    SIGNALS_COUNTER,
    DecisionCounts,
    Samples,
    campaigns_table,
    count_decisions,
    counter_total,
    decisions_json,
    expected_flow,
    features_table,
    flow_table,
    funnel_table,
    lift_table,
    loop_json,
    reasons_table,
    summary,
)
from offers.errors import StackError
from offers.roles import Role
from offers.settings import Settings, get_settings
from offers.stack import LocalStack, read_state
from offers.stack.kafka import end_offsets
from offers.stack.workers import WorkerProcess, group_lag, wait_caught_up
from offers.state.campaigns import CampaignStore
from offers.state.compacted import TopicWriter
from offers.stopping import ignore_interrupts, stop_on_sigterm
from offers.topics import (
    ALL_TOPICS,
    BOOKING,
    CAMPAIGNS,
    CONSENT,
    DEAD_LETTER,
    DECISIONS,
    DELIVERY_STATUS,
    GEOFENCE,
    RESPONSES,
    TRIGGERS,
)
from offers_api.security import issue_token
from simulators.sink import KafkaEventProducer, ProduceReport, at_speed
from simulators.world import MIN_CUSTOMERS, World, WorldConfig


@contextmanager
def running_stack(settings: Settings) -> Iterator[Settings]:
    """Use the stack 'offers stack up' started, or start one that stops when we return."""
    state = read_state(settings.stack_dir.resolve())
    if state is not None and state.alive():
        typer.echo(f"using the running stack: Kafka {state.kafka_bootstrap}")
        yield state.pointed_at(settings)
        return
    typer.echo("starting the local stack (Kafka broker and Redis)...")
    with LocalStack(settings) as stack:
        live = stack.configured()
        typer.echo(f"  Kafka {live.kafka_bootstrap}, Redis {live.redis_url}")
        typer.echo(f"  logs in {stack.root}/kafka/kafka.log and {stack.root}/redis/redis.log")
        yield live
    typer.echo("stack stopped")


def topic_offsets(bootstrap: str) -> dict[str, int]:
    """The sum of the end offsets of every partition, per topic of the engine."""
    totals = dict.fromkeys((spec.name for spec in ALL_TOPICS), 0)
    for (topic, _), end in end_offsets(bootstrap, totals).items():
        totals[topic] += end
    return totals


def read_decisions(bootstrap: str, start: Mapping[int, int]) -> Iterator[OfferDecision]:
    """The decision records written since the offsets ``start``, per partition."""
    end = partition_ends(bootstrap, DECISIONS.name)
    for raw in read_range(bootstrap, DECISIONS.name, start, end):
        yield cast(OfferDecision, decode(raw, expected=OfferDecision))


def wait_decisions_settled(
    settings: Settings, worker: WorkerProcess, quiet_s: float = 5.0, timeout: float = 300.0
) -> Samples:
    """The worker's counters, once its group has committed every geofence transition and
    trigger signal and its decisions and signals have not grown for ``quiet_s``."""
    deadline = time.monotonic() + timeout
    made, since = -1, time.monotonic()
    while True:
        if worker.process.poll() is not None:
            raise StackError(f"{worker.name} exited: {worker.log_tail()}")
        samples = worker.metrics()
        now = counter_total(samples, DECISIONS_COUNTER) + counter_total(samples, SIGNALS_COUNTER)
        if now != made or group_lag(settings, (GEOFENCE.name, TRIGGERS.name)) != 0:
            made, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return samples
        if time.monotonic() > deadline:
            typer.echo(f"the decisions still grow after {timeout:.0f} s; counting now", err=True)
            return samples
        time.sleep(0.5)


# the run -------------------------------------------------------------------------------

LOOP_TOPICS = (CONSENT.name, DELIVERY_STATUS.name, RESPONSES.name, DEAD_LETTER.name)
"""Topics the loop's services also write (STOP replies, provider statuses, clicks and
redemptions, messages not sent): shown, not checked against a count."""


@dataclass(frozen=True, slots=True)
class DemoRun:
    """What a demo did: the events produced (the world's and the customers' bookings),
    the worker's counters, the topics' offsets before and after, the state records it
    wrote, its campaigns, the decisions and each campaign's results."""

    report: ProduceReport
    bookings: int
    samples: Samples
    before: dict[str, int]
    after: dict[str, int]
    written: dict[str, int]
    campaigns: dict[str, str]
    decisions: DecisionCounts
    results: list[CampaignResult]


def prepare_state(
    settings: Settings, config: WorldConfig, *, competing: bool = False
) -> tuple[PlacedCampaigns, int]:
    """The demo's campaigns running and the customers' consent written."""
    typer.echo("placing the demo's campaigns and the simulated customers' consent...")
    writer = TopicWriter(settings.kafka_bootstrap)
    store = CampaignStore(settings.kafka_bootstrap, writer)
    try:
        placed = place_campaigns(store, config, datetime.now(UTC), competing=competing)
        consent = place_consent(settings.kafka_bootstrap, writer, config)
    finally:
        store.close()
        writer.close()
    typer.echo(f"  consent: {consent:,} change(s) written for {config.customers:,} customers")
    return placed, consent


@dataclass(frozen=True, slots=True)
class Pace:
    """How fast the world flows: ``speed`` simulated seconds per wall second, at most
    ``rate`` events per second, and at most ``max_events`` events (None: all)."""

    speed: float
    rate: float
    max_events: int | None = None


@dataclass(frozen=True, slots=True)
class LoopRun:
    report: ProduceReport
    bookings: int
    samples: Samples
    results: list[CampaignResult]


def run_loop(
    settings: Settings,
    config: WorldConfig,
    placed: PlacedCampaigns,
    pace: Pace,
    *,
    keep_open: bool = False,
) -> LoopRun:
    """Run the world through the engine and the loop around it until all has settled;
    with ``keep_open``, keep the API (and its web page) up until Ctrl-C."""
    world = World(config)
    logs = settings.stack_dir / "streams"
    typer.echo("starting the API, the provider sandbox and a delivery worker...")
    with closed_loop(
        settings, world.customers, placed.campaigns, logs, seed=settings.simulator_seed
    ) as loop:
        typer.echo(f"  API {loop.api.base_url} (log {loop.api.log_path})")
        show_web_page(loop.settings, loop.api.base_url)
        typer.echo(f"  sandbox {loop.sandbox.base_url}; delivery log {loop.deliveries[0].log_path}")
        typer.echo("starting a stream-processor worker (decisions at event time)...")
        with WorkerProcess(loop.settings, "worker", logs) as worker:
            worker.wait_ready()
            typer.echo(f"  worker /metrics on port {worker.port}, log {worker.log_path}")
            wait_worker_holds(worker, placed.campaigns, settings.kafka_bootstrap)
            typer.echo(
                f"simulating {config.customers:,} customers for {config.days} day(s), "
                f"{pace.speed:,.0f} simulated seconds per second, at most {pace.rate:,.0f} ev/s"
            )
            with KafkaEventProducer(settings) as producer:
                events = at_speed(world.events(), pace.speed)
                report = producer.produce(
                    events, rate=pace.rate, limit=pace.max_events, progress=True
                )
            typer.echo("waiting for the engine and the customers to settle...")
            samples = settle(loop.settings, worker, loop)
        responses = loop.responder.responses()
        typer.echo("reading the campaigns' results from the topics...")
        results = loop_report(loop.settings, placed.campaigns, responses)
        if keep_open:
            hold_open(loop.api.base_url)
    bookings = sum(1 for r in responses if r.booking_ref is not None)
    return LoopRun(report, bookings, samples, results)


PAGE_TOKEN_LIFETIME = timedelta(hours=8)


def show_web_page(settings: Settings, base_url: str) -> None:
    """Where the marketers' web page is, and a marketer's token to sign in with (the
    local stack's own secret: a token of this stack only)."""
    token = issue_token(settings, "demo-marketer", Role.MARKETER, PAGE_TOKEN_LIFETIME)
    typer.echo(f"  web page {base_url}/ui/ (sign in with this marketer token, valid 8 h):")
    typer.echo(f"    {token}")


def hold_open(base_url: str) -> None:
    """Wait for Ctrl-C, the API up meanwhile."""
    typer.echo(f"the web page stays up at {base_url}/ui/: press Ctrl-C to stop")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        ignore_interrupts()
        typer.echo("stopping")


def settle(settings: Settings, worker: WorkerProcess, loop: Loop) -> Samples:
    """The worker's counters once the worker and the loop have both stopped moving: the
    customers' bookings make new decisions, whose offers make new bookings."""
    while True:
        wait_caught_up(settings, [worker])
        samples = wait_decisions_settled(settings, worker)
        loop.settle()
        if group_lag(settings) == 0 and _made(worker.metrics()) == _made(samples):
            return samples


def _made(samples: Samples) -> tuple[int, ...]:
    """What the worker has read and made so far."""
    names = ("offers_stream_events_total", DECISIONS_COUNTER, SIGNALS_COUNTER)
    return tuple(counter_total(samples, name) for name in names)


def run_demo(
    settings: Settings,
    config: WorldConfig,
    pace: Pace,
    *,
    competing: bool = False,
    keep_open: bool = False,
) -> DemoRun:
    registry = ensure_champion(settings)
    with running_stack(settings) as live:
        engine = engine_settings(live, registry)
        bootstrap = engine.kafka_bootstrap
        before = topic_offsets(bootstrap)
        decisions_from = partition_ends(bootstrap, DECISIONS.name)
        placed, consent = prepare_state(engine, config, competing=competing)
        run = run_loop(engine, config, placed, pace, keep_open=keep_open)
        after = topic_offsets(bootstrap)
        decisions = count_decisions(read_decisions(bootstrap, decisions_from))
    return DemoRun(
        report=run.report,
        bookings=run.bookings,
        samples=run.samples,
        before=before,
        after=after,
        written={CONSENT.name: consent, CAMPAIGNS.name: placed.records},
        campaigns={c.id: c.name for c in placed.campaigns},
        decisions=decisions,
        results=run.results,
    )


def checked_flow(run: DemoRun) -> dict[str, int]:
    """What each topic should have received, for the topics whose writers are counted."""
    produced = dict(run.report.counts)
    produced[BOOKING.name] = produced.get(BOOKING.name, 0) + run.bookings
    expected = expected_flow(produced, run.samples, run.written)
    return {topic: count for topic, count in expected.items() if topic not in LOOP_TOPICS}


def show(run: DemoRun, expected: dict[str, int], elapsed_s: float, as_json: bool) -> None:
    report, counts = run.report, run.decisions
    typer.echo(flow_table(expected, run.before, run.after))
    typer.echo(features_table(run.samples))
    typer.echo(f"decisions: {counts.distinct:,} ({counts.records:,} records read)")
    typer.echo(reasons_table(counts))
    typer.echo(campaigns_table(counts, run.campaigns))
    typer.echo("funnel per campaign (distinct decisions):")
    typer.echo(funnel_table(run.results))
    typer.echo("incremental conversions against the holdout (95 % intervals) and the truth:")
    typer.echo(lift_table(run.results))
    typer.echo(
        f"{report.total:,} events in {report.elapsed_s:.1f} s ({report.events_per_s:,.0f} ev/s), "
        f"{run.bookings:,} bookings from offers; demo done in {elapsed_s:.0f} s"
    )
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "produced": report.as_dict(),
                    "expected": expected,
                    "in_kafka": run.after,
                    "worker": summary(run.samples),
                    "decisions": decisions_json(counts, run.campaigns),
                    "campaigns": loop_json(run.results),
                }
            )
        )


def demo(
    customers: Annotated[int, typer.Option(min=MIN_CUSTOMERS, help="Simulated customers.")] = 2_000,
    days: Annotated[int, typer.Option(help="Simulated days.")] = 3,
    speed: Annotated[
        float,
        typer.Option(min=1.0, help="Simulated seconds per second (1440: a day a minute)."),
    ] = 1_440.0,
    rate: Annotated[float, typer.Option(help="At most this many events per second.")] = 2_000.0,
    max_events: Annotated[int | None, typer.Option(help="Stop after this many events.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Also print the counts as JSON.")] = False,
    competing: Annotated[
        bool,
        typer.Option(
            "--competing-offers",
            help="Add a second campaign on quotes and searches (a cabin upgrade), so that "
            "those decisions choose between two offers.",
        ),
    ] = False,
    keep_open: Annotated[
        bool,
        typer.Option(
            "--keep-open",
            help="Once the world has run, keep the stack and the web page up until Ctrl-C "
            "(the results are printed after).",
        ),
    ] = False,
) -> None:
    """Start the stack and the engine, run the simulated world through them, print what
    flowed per topic, the decisions taken and each campaign's results. The marketers'
    web page is up while it runs: its address and a token to sign in with are printed."""
    stop_on_sigterm()
    started = time.monotonic()
    settings = get_settings()
    config = WorldConfig(seed=settings.simulator_seed, customers=customers, days=days)
    try:
        run = run_demo(
            settings,
            config,
            Pace(speed, rate, max_events),
            competing=competing,
            keep_open=keep_open,
        )
    except KeyboardInterrupt:
        ignore_interrupts()
        typer.echo("interrupted; the stack was stopped", err=True)
        raise typer.Exit(130) from None
    expected = checked_flow(run)
    show(run, expected, time.monotonic() - started, as_json)
    landed = {t: run.after[t] - run.before.get(t, 0) for t in run.after}
    if any(landed[t] != count for t, count in expected.items()):
        typer.echo("the broker does not hold what the demo and the worker produced", err=True)
        raise typer.Exit(1)
