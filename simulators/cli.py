"""``offers simulate``: run the simulated world into Kafka or files, or inspect it."""

from __future__ import annotations

import itertools
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import numpy as np
import orjson
import typer

from simulators.customers import customer_id, generate_customers
from simulators.routes import all_routes
from simulators.social import Sentiment, route_posts
from simulators.world import DEFAULT_START, World, WorldConfig

app = typer.Typer(
    name="simulate",
    help="Generate the simulated world's events (deterministic for a seed).",
    no_args_is_help=True,
)

Customers = Annotated[int, typer.Option("--customers", "-c", help="Customers (1,000-1,000,000).")]
Days = Annotated[int, typer.Option("--days", "-d", help="Simulated days.")]
Seed = Annotated[
    int | None, typer.Option("--seed", help="Seed of the world (default OFFERS_SIMULATOR_SEED).")
]
Start = Annotated[
    datetime | None,
    typer.Option("--start", help="First simulated hour, UTC (default 2026-07-01T00:00)."),
]
MaxEvents = Annotated[int | None, typer.Option("--max-events", help="Stop after this many.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _config(customers: int, days: int, seed: int | None, start: datetime | None) -> WorldConfig:
    if seed is None:
        from offers.settings import get_settings

        seed = get_settings().simulator_seed
    moment = DEFAULT_START if start is None else start
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return WorldConfig(seed=seed, customers=customers, start=moment, days=days)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _warn_if_future(config: WorldConfig) -> None:
    if config.end > datetime.now(UTC):
        typer.echo(
            f"warning: the period ends {config.end.isoformat()}, in the future; consumers "
            "validating with the wall clock will reject late events",
            err=True,
        )


def _echo_counts(counts: dict[str, int], extra: dict[str, object], as_json: bool) -> None:
    if as_json:
        typer.echo(orjson.dumps({"counts": counts, **extra}, option=orjson.OPT_INDENT_2))
        return
    width = max((len(topic) for topic in counts), default=5)
    typer.echo(f"{'topic':<{width}}  {'events':>12}")
    for topic, count in counts.items():
        typer.echo(f"{topic:<{width}}  {count:>12,}")
    typer.echo(f"{'total':<{width}}  {sum(counts.values()):>12,}")
    for key, value in extra.items():
        typer.echo(f"{key}: {value}")


@app.command()
def produce(
    customers: Customers = 1_000,
    days: Days = 1,
    seed: Seed = None,
    start: Start = None,
    rate: Annotated[
        float | None, typer.Option("--rate", help="Events per second (default: unpaced).")
    ] = None,
    max_events: MaxEvents = None,
    duration: Annotated[
        float | None, typer.Option("--duration", help="Stop after this many seconds.")
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
    as_json: AsJson = False,
) -> None:
    """Send the events of the world to Kafka."""
    from kafka.errors import KafkaError

    from offers.settings import get_settings
    from simulators.sink import DeliveryError, KafkaEventProducer

    config = _config(customers, days, seed, start)
    _warn_if_future(config)
    world = World(config)
    settings = get_settings()
    try:
        with KafkaEventProducer(settings) as producer:
            report = producer.produce(world.events(), rate, max_events, duration, progress)
    except KafkaError as exc:
        typer.echo(f"error: Kafka at {settings.kafka_bootstrap}: {exc}", err=True)
        raise typer.Exit(2) from None
    except DeliveryError as exc:
        _echo_counts(exc.report.counts, exc.report.as_dict(), as_json)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    extra = {k: v for k, v in report.as_dict().items() if k != "counts"}
    _echo_counts(report.counts, extra, as_json)


@app.command()
def burst(
    route: Annotated[str, typer.Option("--route", help="The route the posts name (LIV-OLB).")],
    posts: Annotated[int, typer.Option("--posts", min=1, max=1_000, help="How many.")] = 12,
    every: Annotated[
        float, typer.Option("--every", min=1.0, help="Seconds of event time between two posts.")
    ] = 30.0,
    sentiment: Annotated[
        Sentiment, typer.Option("--sentiment", help="negative: complaints; positive: kind.")
    ] = Sentiment.NEGATIVE,
    customers: Customers = 1_000,
    seed: Seed = None,
    as_json: AsJson = False,
) -> None:
    """Send posts that all name one route, the last one timed now, by customers of the
    simulated population, in Italian, English, German and French in turn: a burst of
    complaints about the route (a sailing late or cancelled), or kind posts after it."""
    from kafka.errors import KafkaError

    from offers.settings import get_settings
    from simulators.sink import KafkaEventProducer

    config = _config(customers, 1, seed, None)
    known = {r.route_id: r for r in all_routes()}
    if route not in known:
        raise typer.BadParameter(f"{route} is not a route of the network", param_hint="--route")
    rng = np.random.default_rng(config.seed)
    who = [customer_id(int(i)) for i in rng.choice(config.customers, size=posts)]
    now = datetime.now(UTC)
    times = [now - timedelta(seconds=every * (posts - 1 - k)) for k in range(posts)]
    events = route_posts(known[route], sentiment, times, who, seed=config.seed)
    settings = get_settings()
    try:
        with KafkaEventProducer(settings) as producer:
            report = producer.produce(events)
    except KafkaError as exc:
        typer.echo(f"error: Kafka at {settings.kafka_bootstrap}: {exc}", err=True)
        raise typer.Exit(2) from None
    extra = {k: v for k, v in report.as_dict().items() if k != "counts"}
    _echo_counts(report.counts, extra, as_json)


@app.command()
def files(
    directory: Annotated[Path, typer.Argument(help="Directory for <topic>.jsonl files.")],
    customers: Customers = 1_000,
    days: Days = 1,
    seed: Seed = None,
    start: Start = None,
    max_events: MaxEvents = None,
    as_json: AsJson = False,
) -> None:
    """Write the events of the world to one JSONL file per topic."""
    from simulators.sink import write_jsonl

    world = World(_config(customers, days, seed, start))
    started = time.perf_counter()
    counts = write_jsonl(itertools.islice(world.events(), max_events), directory)
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    _echo_counts(
        counts,
        {"elapsed_s": round(elapsed, 3), "events_per_s": round(total / max(elapsed, 1e-9), 1)},
        as_json,
    )


@app.command()
def digest(
    customers: Customers = 1_000,
    days: Days = 1,
    seed: Seed = None,
    start: Start = None,
    max_events: MaxEvents = None,
    as_json: AsJson = False,
) -> None:
    """Print the sha256 of the encoded event stream (equal for equal configurations)."""
    from simulators.sink import stream_digest

    config = _config(customers, days, seed, start)
    sha256, count = stream_digest(itertools.islice(World(config).events(), max_events))
    result = {"sha256": sha256, "events": count, "fingerprint": config.fingerprint()}
    if as_json:
        typer.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    else:
        typer.echo(f"{result['sha256']}  {count:,} events  (config {result['fingerprint']})")


@app.command()
def profiles(
    count: Annotated[int, typer.Option("--count", "-n", help="Profiles to generate.")] = 1_000_000,
    seed: Seed = None,
    as_json: AsJson = False,
) -> None:
    """Generate customer profiles and report their memory and the time taken."""
    if seed is None:
        from offers.settings import get_settings

        seed = get_settings().simulator_seed
    started = time.perf_counter()
    try:
        customers = generate_customers(count, seed, all_routes())
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {
        "customers": len(customers),
        "seconds": round(elapsed, 3),
        "array_bytes": customers.nbytes,
        "bytes_per_customer": round(customers.nbytes / len(customers), 1),
        "peak_rss_bytes": peak * (1 if sys.platform == "darwin" else 1024),
    }
    if as_json:
        typer.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2))
        return
    typer.echo(
        f"{len(customers):,} profiles in {elapsed:.2f} s; arrays {customers.nbytes / 2**20:.1f}"
        f" MiB ({result['bytes_per_customer']} B each); peak RSS "
        f"{int(result['peak_rss_bytes']) / 2**20:.0f} MiB"
    )
