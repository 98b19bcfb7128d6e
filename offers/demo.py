"""``offers demo``: start the local stack and a stream-processor worker, run the simulated
world through them, and show what flowed per topic (checked against the broker's own
offsets), what the worker made of it, and the decisions it took.

Before the world flows, :mod:`offers.demo_setup` puts a champion model, the demo's
campaigns and the simulated customers' consent in place; the worker decides at event
time, as the simulated days lie in the past. Once it has caught up and its decisions
have stopped growing, the decision records written during the run are read back from
``offers.decisions``, counted once per decision id (a replayed trigger repeats its
record), and shown per outcome and reason and per campaign.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, cast

import typer

from offers.contracts import DecisionOutcome, OfferDecision, decode
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
from offers.errors import StackError
from offers.settings import Settings, get_settings
from offers.stack import LocalStack, read_state
from offers.stack.kafka import end_offsets
from offers.stack.workers import WorkerProcess, group_lag, wait_caught_up
from offers.state.campaigns import CampaignStore
from offers.state.compacted import TopicWriter
from offers.stopping import ignore_interrupts, stop_on_sigterm
from offers.topics import ALL_TOPICS, CAMPAIGNS, CONSENT, DEAD_LETTER, DECISIONS, GEOFENCE, TRIGGERS
from simulators.sink import KafkaEventProducer, ProduceReport
from simulators.world import MIN_CUSTOMERS, World, WorldConfig

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

COUNTERS: dict[str, tuple[str, ...]] = {
    "offers_stream_events_total": ("topic", "outcome"),
    "offers_feature_rows_written_total": ("push_source",),
    "offers_geofence_transitions_total": ("action",),
    "offers_trigger_signals_total": ("trigger",),
    "offers_decisions_total": ("outcome", "reason"),
}
"""The worker's counters the demo reads, with the labels that tell their values apart."""
DECISIONS_COUNTER = "offers_decisions_total"
SIGNALS_COUNTER = "offers_trigger_signals_total"
OUTCOMES: tuple[str, ...] = tuple(outcome.value for outcome in DecisionOutcome)
NO_CAMPAIGN = "(no campaign)"


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


def flow_table(produced: dict[str, int], before: dict[str, int], after: dict[str, int]) -> str:
    rows = [f"{'topic':<26}{'produced':>10}{'in Kafka':>10}  check"]
    for topic in sorted(after):
        made, landed = produced.get(topic, 0), after[topic] - before.get(topic, 0)
        rows.append(f"{topic:<26}{made:>10}{landed:>10}  {'ok' if made == landed else 'MISMATCH'}")
    return "\n".join(rows)


def summary(samples: Samples) -> dict[str, dict[str, int]]:
    """The worker's counters: input records by topic and outcome, rows written by push
    source, geofence transitions by action, trigger signals by trigger, decisions by
    outcome and reason."""
    found: dict[str, dict[str, int]] = {}
    for (name, labels), value in samples.items():
        if name in COUNTERS:
            by = dict(labels)
            label = "/".join(by[key] for key in COUNTERS[name])
            found.setdefault(name.removesuffix("_total"), {})[label] = int(value)
    return found


def counter_total(samples: Samples, name: str, **labels: str) -> int:
    """The sum of the counter ``name`` over the samples with these label values."""
    wanted = set(labels.items())
    return int(
        sum(value for (n, got), value in samples.items() if n == name and wanted <= set(got))
    )


def features_table(samples: Samples) -> str:
    """The worker's counters but its decisions (shown from Kafka, per decision)."""
    counts = summary(samples)
    counts.pop(DECISIONS_COUNTER.removesuffix("_total"), None)
    rows = [f"{'worker':<48}{'count':>8}"]
    for metric in sorted(counts):
        for label, value in sorted(counts[metric].items()):
            rows.append(f"{metric.removeprefix('offers_') + ' ' + label:<48}{value:>8}")
    return "\n".join(rows)


def expected_flow(
    produced: Mapping[str, int], samples: Samples, written: Mapping[str, int]
) -> dict[str, int]:
    """What each topic should have received: the simulator's events, the worker's own
    records (by its counters) and the state records the demo ``written``."""
    expected = dict(produced)
    for topic, count in written.items():
        expected[topic] = expected.get(topic, 0) + count
    worker = {
        GEOFENCE.name: counter_total(samples, "offers_geofence_transitions_total"),
        TRIGGERS.name: counter_total(samples, SIGNALS_COUNTER),
        DECISIONS.name: counter_total(samples, DECISIONS_COUNTER),
        DEAD_LETTER.name: counter_total(
            samples, "offers_stream_events_total", outcome="dead_lettered"
        ),
    }
    for topic, count in worker.items():
        expected[topic] = expected.get(topic, 0) + count
    return expected


# decisions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecisionCounts:
    """Decisions read, and the distinct ones counted by (outcome, reason) and by
    (campaign id, outcome); the campaign id is empty when the decision names none."""

    records: int
    by_reason: dict[tuple[str, str], int]
    by_campaign: dict[tuple[str, str], int]

    @property
    def distinct(self) -> int:
        return sum(self.by_reason.values())


def count_decisions(decisions: Iterable[OfferDecision]) -> DecisionCounts:
    """The decisions counted once per decision id (the first record of each)."""
    seen: set[str] = set()
    records = 0
    by_reason: Counter[tuple[str, str]] = Counter()
    by_campaign: Counter[tuple[str, str]] = Counter()
    for decision in decisions:
        records += 1
        if decision.decision_id in seen:
            continue
        seen.add(decision.decision_id)
        by_reason[decision.outcome.value, decision.reason] += 1
        by_campaign[decision.campaign_id or "", decision.outcome.value] += 1
    return DecisionCounts(records, dict(by_reason), dict(by_campaign))


def reasons_table(counts: DecisionCounts) -> str:
    """Distinct decisions per outcome (in the contract's order) and reason (most first)."""
    rows = [f"{'outcome':<12}{'reason':<30}{'decisions':>10}"]
    ordered = sorted(
        counts.by_reason.items(), key=lambda item: (OUTCOMES.index(item[0][0]), -item[1], item[0])
    )
    for (outcome, reason), count in ordered:
        rows.append(f"{outcome:<12}{reason:<30}{count:>10}")
    rows.append(f"{'total':<42}{counts.distinct:>10}")
    return "\n".join(rows)


def campaign_label(campaign_id: str, names: Mapping[str, str]) -> str:
    return names.get(campaign_id, campaign_id) if campaign_id else NO_CAMPAIGN


def campaigns_table(counts: DecisionCounts, names: Mapping[str, str]) -> str:
    """Distinct decisions per campaign (by name when known) and outcome; the decisions
    without a campaign last."""
    campaigns = sorted(
        {campaign for campaign, _ in counts.by_campaign},
        key=lambda c: (not c, campaign_label(c, names)),
    )
    rows = [f"{'campaign':<28}" + "".join(f"{outcome:>11}" for outcome in OUTCOMES)]
    for campaign in campaigns:
        cells = "".join(f"{counts.by_campaign.get((campaign, o), 0):>11}" for o in OUTCOMES)
        rows.append(f"{campaign_label(campaign, names)[:27]:<28}{cells}")
    return "\n".join(rows)


def decisions_json(counts: DecisionCounts, names: Mapping[str, str]) -> dict[str, Any]:
    by_reason: dict[str, dict[str, int]] = {}
    for (outcome, reason), count in sorted(counts.by_reason.items()):
        by_reason.setdefault(outcome, {})[reason] = count
    by_campaign: dict[str, dict[str, Any]] = {}
    for (campaign, outcome), count in sorted(counts.by_campaign.items()):
        entry = by_campaign.setdefault(
            campaign or "none", {"name": campaign_label(campaign, names), "outcomes": {}}
        )
        entry["outcomes"][outcome] = count
    return {
        "records": counts.records,
        "distinct": counts.distinct,
        "by_reason": by_reason,
        "by_campaign": by_campaign,
    }


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


@dataclass(frozen=True, slots=True)
class DemoRun:
    """What a demo did: the events produced, the worker's counters, the topics' offsets
    before and after, the state records it wrote, its campaigns and the decisions."""

    report: ProduceReport
    samples: Samples
    before: dict[str, int]
    after: dict[str, int]
    written: dict[str, int]
    campaigns: dict[str, str]
    decisions: DecisionCounts


def prepare_state(settings: Settings, config: WorldConfig) -> tuple[PlacedCampaigns, int]:
    """The demo's campaigns running and the customers' consent written."""
    typer.echo("placing the demo's campaigns and the simulated customers' consent...")
    writer = TopicWriter(settings.kafka_bootstrap)
    store = CampaignStore(settings.kafka_bootstrap, writer)
    try:
        placed = place_campaigns(store, config, datetime.now(UTC))
        consent = place_consent(settings.kafka_bootstrap, writer, config)
    finally:
        store.close()
        writer.close()
    typer.echo(f"  consent: {consent:,} change(s) written for {config.customers:,} customers")
    return placed, consent


def run_worker(
    settings: Settings,
    config: WorldConfig,
    placed: PlacedCampaigns,
    rate: float,
    max_events: int | None,
) -> tuple[ProduceReport, Samples]:
    """Run the world through a worker that holds the campaigns and consent; the
    producer's report and the worker's counters once its decisions have settled."""
    typer.echo("starting a stream-processor worker (decisions at event time)...")
    with WorkerProcess(settings, "worker", settings.stack_dir / "streams") as worker:
        worker.wait_ready()
        typer.echo(f"  worker /metrics on port {worker.port}, log {worker.log_path}")
        wait_worker_holds(worker, placed.campaigns, settings.kafka_bootstrap)
        typer.echo(
            f"simulating {config.customers:,} customers for {config.days} day(s) "
            f"at {rate:,.0f} ev/s"
        )
        with KafkaEventProducer(settings) as producer:
            report = producer.produce(
                World(config).events(), rate=rate, limit=max_events, progress=True
            )
        typer.echo("waiting for the worker to catch up...")
        wait_caught_up(settings, [worker])
        typer.echo("waiting for the last decisions (abandoned quotes, fare drops)...")
        samples = wait_decisions_settled(settings, worker)
    return report, samples


def run_demo(
    settings: Settings, config: WorldConfig, rate: float, max_events: int | None
) -> DemoRun:
    registry = ensure_champion(settings)
    with running_stack(settings) as live:
        engine = engine_settings(live, registry)
        bootstrap = engine.kafka_bootstrap
        before = topic_offsets(bootstrap)
        decisions_from = partition_ends(bootstrap, DECISIONS.name)
        placed, consent = prepare_state(engine, config)
        report, samples = run_worker(engine, config, placed, rate, max_events)
        after = topic_offsets(bootstrap)
        decisions = count_decisions(read_decisions(bootstrap, decisions_from))
    return DemoRun(
        report=report,
        samples=samples,
        before=before,
        after=after,
        written={CONSENT.name: consent, CAMPAIGNS.name: placed.records},
        campaigns={c.id: c.name for c in placed.campaigns},
        decisions=decisions,
    )


def show(run: DemoRun, expected: dict[str, int], elapsed_s: float, as_json: bool) -> None:
    report, counts = run.report, run.decisions
    typer.echo(flow_table(expected, run.before, run.after))
    typer.echo(features_table(run.samples))
    typer.echo(f"decisions: {counts.distinct:,} ({counts.records:,} records read)")
    typer.echo(reasons_table(counts))
    typer.echo(campaigns_table(counts, run.campaigns))
    typer.echo(
        f"{report.total:,} events in {report.elapsed_s:.1f} s ({report.events_per_s:,.0f} ev/s); "
        f"demo done in {elapsed_s:.0f} s"
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
                }
            )
        )


def demo(
    customers: Annotated[int, typer.Option(min=MIN_CUSTOMERS, help="Simulated customers.")] = 2_000,
    days: Annotated[int, typer.Option(help="Simulated days.")] = 1,
    rate: Annotated[float, typer.Option(help="Events per second into Kafka.")] = 2_000.0,
    max_events: Annotated[int | None, typer.Option(help="Stop after this many events.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Also print the counts as JSON.")] = False,
) -> None:
    """Start the stack, run the simulated world into Kafka, print what flowed per topic
    and the decisions taken."""
    stop_on_sigterm()
    started = time.monotonic()
    settings = get_settings()
    config = WorldConfig(seed=settings.simulator_seed, customers=customers, days=days)
    try:
        run = run_demo(settings, config, rate, max_events)
    except KeyboardInterrupt:
        ignore_interrupts()
        typer.echo("interrupted; the stack was stopped", err=True)
        raise typer.Exit(130) from None
    expected = expected_flow(run.report.counts, run.samples, run.written)
    show(run, expected, time.monotonic() - started, as_json)
    landed = {t: run.after[t] - run.before.get(t, 0) for t in run.after}
    if any(landed[t] != expected.get(t, 0) for t in landed):
        typer.echo("the broker does not hold what the demo and the worker produced", err=True)
        raise typer.Exit(1)
