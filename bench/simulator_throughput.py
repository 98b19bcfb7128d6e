"""How fast the simulator produces into the real broker, beside how fast it generates.

Starts the local stack on free ports in a temporary directory, builds the world (1,000,000
customers by default), then in one run: (a) generates and encodes a whole simulated day
without Kafka (its event count, events/s and the peak memory after it), (b) generates and
produces the first N events of that day into the broker (acks=all), and (c) generates
and encodes the same N events without Kafka, (b) and (c) alternating ``--repeats`` times.
Prints JSON and a table: medians of (b) and (c) and their ratio.

    .venv/bin/python -m bench.simulator_throughput [--customers 1000000] [--events 600000]
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import time

from bench.stack import temporary_stack
from offers.contracts import encode
from offers.settings import Settings
from simulators.sink import KafkaEventProducer
from simulators.world import World, WorldConfig


def _generate_only(world: World, n: int | None) -> tuple[int, float]:
    """Events generated and encoded, and their rate per second."""
    started = time.perf_counter()
    count = 0
    for event in itertools.islice(world.events(), n):
        encode(event)
        count += 1
    return count, count / (time.perf_counter() - started)


def _into_kafka(world: World, n: int, settings: Settings) -> float:
    with KafkaEventProducer(settings) as producer:
        report = producer.produce(world.events(), limit=n)
    return report.events_per_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=600_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    world = World(WorldConfig(seed=7, customers=args.customers, days=1))
    build_s = time.perf_counter() - started
    day_events, day_rate = _generate_only(world, None)
    day_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    with temporary_stack() as (live, _):
        generate, produce = [], []
        for _ in range(args.repeats):
            generate.append(_generate_only(world, args.events)[1])
            produce.append(_into_kafka(world, args.events, live))

    result = {
        "customers": args.customers,
        "events_per_run": args.events,
        "repeats": args.repeats,
        "world_build_s": round(build_s, 2),
        "day_events": day_events,
        "day_generate_events_per_s": round(day_rate),
        "peak_rss_mib_after_day": round(day_rss),
        "generate_events_per_s_median": round(statistics.median(generate)),
        "produce_events_per_s_median": round(statistics.median(produce)),
        "produce_to_generate_ratio": round(
            statistics.median(produce) / statistics.median(generate), 3
        ),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(result, indent=2))
    print()
    print("| measure | value |")
    print("| --- | --- |")
    for key, value in result.items():
        print(f"| {key} | {value:,} |" if isinstance(value, int) else f"| {key} | {value} |")


if __name__ == "__main__":
    main()
