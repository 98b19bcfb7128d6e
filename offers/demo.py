"""``offers demo``: start the local stack and a stream-processor worker, run the simulated
world through them, and show what flowed per topic (checked against the broker's own
offsets) and what the worker made of it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from offers.settings import Settings, get_settings
from offers.stack import LocalStack, read_state
from offers.stack.kafka import end_offsets
from offers.stack.workers import WorkerProcess, wait_caught_up
from offers.stopping import stop_on_sigterm
from offers.topics import ALL_TOPICS, GEOFENCE
from simulators.sink import KafkaEventProducer
from simulators.world import World, WorldConfig


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


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def summary(samples: Samples) -> dict[str, dict[str, int]]:
    """The worker's counters: input records by topic and outcome, rows written by push
    source, geofence transitions by action."""
    wanted = {
        "offers_stream_events_total": ("topic", "outcome"),
        "offers_feature_rows_written_total": ("push_source",),
        "offers_geofence_transitions_total": ("action",),
    }
    found: dict[str, dict[str, int]] = {}
    for (name, labels), value in samples.items():
        if name in wanted:
            by = dict(labels)
            label = "/".join(by[key] for key in wanted[name])
            found.setdefault(name.removesuffix("_total"), {})[label] = int(value)
    return found


def features_table(samples: Samples) -> str:
    counts = summary(samples)
    rows = [f"{'worker':<48}{'count':>8}"]
    for metric in sorted(counts):
        for label, value in sorted(counts[metric].items()):
            rows.append(f"{metric.removeprefix('offers_') + ' ' + label:<48}{value:>8}")
    return "\n".join(rows)


def demo(
    customers: Annotated[int, typer.Option(help="Simulated customers.")] = 2_000,
    days: Annotated[int, typer.Option(help="Simulated days.")] = 1,
    rate: Annotated[float, typer.Option(help="Events per second into Kafka.")] = 2_000.0,
    max_events: Annotated[int | None, typer.Option(help="Stop after this many events.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Also print the counts as JSON.")] = False,
) -> None:
    """Start the stack, run the simulated world into Kafka, print what flowed per topic."""
    stop_on_sigterm()
    settings = get_settings()
    config = WorldConfig(seed=settings.simulator_seed, customers=customers, days=days)
    try:
        with running_stack(settings) as live:
            before = topic_offsets(live.kafka_bootstrap)
            typer.echo("starting a stream-processor worker...")
            with WorkerProcess(live, "worker", live.stack_dir / "streams") as worker:
                worker.wait_ready()
                typer.echo(f"  worker /metrics on port {worker.port}, log {worker.log_path}")
                typer.echo(
                    f"simulating {customers:,} customers for {days} day(s) at {rate:,.0f} ev/s"
                )
                with KafkaEventProducer(live) as producer:
                    report = producer.produce(
                        World(config).events(), rate=rate, limit=max_events, progress=True
                    )
                typer.echo("waiting for the worker to catch up...")
                wait_caught_up(live, [worker])
                processed = worker.metrics()
            after = topic_offsets(live.kafka_bootstrap)
    except KeyboardInterrupt:
        typer.echo("interrupted; the stack was stopped", err=True)
        raise typer.Exit(130) from None
    transitions = summary(processed).get("offers_geofence_transitions", {})
    expected = {**report.counts, GEOFENCE.name: sum(transitions.values())}
    typer.echo(flow_table(expected, before, after))
    typer.echo(features_table(processed))
    typer.echo(
        f"{report.total:,} events in {report.elapsed_s:.1f} s ({report.events_per_s:,.0f} ev/s)"
    )
    if as_json:
        typer.echo(
            json.dumps(
                {"produced": report.as_dict(), "in_kafka": after, "worker": summary(processed)}
            )
        )
    landed = {t: after[t] - before.get(t, 0) for t in after}
    if any(landed[t] != expected.get(t, 0) for t in landed):
        typer.echo("the broker does not hold what the simulator and the worker produced", err=True)
        raise typer.Exit(1)
