"""Online feature reads per customer: the Feast SDK beside the direct Redis reader.

Starts the local stack on free ports in a temporary directory, pushes rows of N customers
(10,000 by default; the three customer views each) and of S sailings, pairs each customer
with one sailing and one candidate offer, then in one run, each mode ``--repeats`` times
in turn (after one untimed warm-up pass each):

(a) ``sdk_per_customer``: Feast SDK ``get_online_features`` with ``offer_scoring_v1``
    (the service object fetched once), one call per customer, on the first ``--single``
    customers (one call costs milliseconds);
(a') ``store_helper_per_customer``: ``features.store.online_features``, which fetches the
    service from the registry on every call, per customer, on the first ``--helper-single``;
(b) ``sdk_batched``: as (a), one call per batch of ``--batch`` candidates;
(c) ``reader_batched``: ``OnlineReader.read`` of the service's view features and
    ``request_time_features`` per batch, one pipelined round trip each;
(c') ``reader_read_only``: ``OnlineReader.read`` alone, per batch;
(d) ``raw_hmget_floor``: a redis-py pipeline of one HMGET per distinct entity of the batch,
    the reader's keys and hash fields built beforehand, replies left undecoded.

Prints JSON and a table: median µs per customer of each mode and its ratio to the floor.

    .venv/bin/python -m bench.feature_reads [--customers 10000] [--sailings 300]
        [--batch 100] [--single 1000] [--helper-single 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from feast import FeatureStore
from redis import Redis

from bench.stack import temporary_stack
from features.fields import FeatureField
from features.online import OnlineReader, request_time_features, service_view_features
from features.sources import (
    CUSTOMER_BOOKING_VIEW,
    CUSTOMER_LOCATION_VIEW,
    CUSTOMER_SOCIAL_VIEW,
    SAILING_STATE_VIEW,
    ViewSpec,
)
from features.store import SCORING_SERVICE, feature_store, online_features, push_rows

PORTS = ("LIV", "OLB", "GOA", "BIA", "CIV", "ARB", "NAP", "PMO", "GGI", "POR")
TAGS = ("cars", "family", "pets", "sardinia", "corsica", "sicily", "cabins", "food")
PUSH_CHUNK = 2_000


@dataclass(frozen=True, slots=True)
class Batch:
    """Candidates read together: (customer, sailing) pairs and the offer request of each."""

    customer_ids: list[str]
    sailing_ids: list[str]
    requests: list[dict[str, Any]]


def _value(field: FeatureField, rng: random.Random) -> Any:
    if field.type == "float":
        return rng.uniform(-90.0, 90.0) if field.name.endswith("lat") else rng.uniform(0, 500)
    if field.type == "int":
        return rng.randrange(0, 2_000_000_000)
    if field.type == "str":
        return rng.choice(PORTS)
    if field.type == "str_list":
        return sorted(rng.sample(TAGS, rng.randrange(0, 4)))
    return [rng.randrange(1, 20) for _ in range(rng.randrange(0, 4))]


def _push(store: FeatureStore, spec: ViewSpec, keys: list[str], rng: random.Random) -> None:
    at = datetime.now(UTC)
    rows = [
        {spec.join_key: key, "event_timestamp": at, **{f.name: _value(f, rng) for f in spec.fields}}
        for key in keys
    ]
    for start in range(0, len(rows), PUSH_CHUNK):
        push_rows(store, spec.push_source_name, rows[start : start + PUSH_CHUNK], to_offline=False)


def _batches(customers: int, sailings: int, size: int, rng: random.Random) -> list[Batch]:
    request_ts = int(time.time())
    batches = []
    for start in range(0, customers, size):
        ids = [f"c-{i}" for i in range(start, min(start + size, customers))]
        batches.append(
            Batch(
                customer_ids=ids,
                sailing_ids=[f"s-{rng.randrange(sailings)}" for _ in ids],
                requests=[
                    {
                        "offer_port_lat": rng.uniform(36.0, 45.0),
                        "offer_port_lon": rng.uniform(8.0, 16.0),
                        "offer_departure_ts": request_ts + rng.randrange(3_600, 30 * 86_400),
                        "offer_discount_eur": rng.uniform(5.0, 50.0),
                        "request_ts": request_ts,
                    }
                    for _ in ids
                ],
            )
        )
    return batches


def _singles(batches: list[Batch], n: int) -> list[Batch]:
    """The first ``n`` candidates, one per batch."""
    singles = [
        Batch([c], [s], [r])
        for batch in batches
        for c, s, r in zip(batch.customer_ids, batch.sailing_ids, batch.requests, strict=True)
    ]
    return singles[:n]


def _sdk_hmgets(batch: Batch) -> int:
    """HMGETs of one SDK read: one per view and distinct entity (three customer views)."""
    return 3 * len(set(batch.customer_ids)) + len(set(batch.sailing_ids))


def _us_per_customer(read: Callable[[Batch], object], batches: list[Batch]) -> float:
    customers = sum(len(batch.customer_ids) for batch in batches)
    started = time.perf_counter()
    for batch in batches:
        read(batch)
    return (time.perf_counter() - started) * 1e6 / customers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--sailings", type=int, default=300)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--single", type=int, default=1_000)
    parser.add_argument("--helper-single", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with temporary_stack() as (live, _):
        store = feature_store(live)
        started = time.perf_counter()
        customer_ids = [f"c-{i}" for i in range(args.customers)]
        for spec in (CUSTOMER_LOCATION_VIEW, CUSTOMER_SOCIAL_VIEW, CUSTOMER_BOOKING_VIEW):
            _push(store, spec, customer_ids, rng)
        _push(store, SAILING_STATE_VIEW, [f"s-{i}" for i in range(args.sailings)], rng)
        push_s = time.perf_counter() - started

        batches = _batches(args.customers, args.sailings, args.batch, rng)
        singles = _singles(batches, args.single)
        client = Redis.from_url(live.redis_url)
        reader = OnlineReader(store, client, service_view_features(store))
        commands = {
            id(batch): reader.hmget_commands(batch.customer_ids, batch.sailing_ids)
            for batch in batches
        }

        service = store.get_feature_service(SCORING_SERVICE)

        def sdk(batch: Batch) -> object:
            rows = [
                {"customer_id": c, "sailing_id": s, **r}
                for c, s, r in zip(
                    batch.customer_ids, batch.sailing_ids, batch.requests, strict=True
                )
            ]
            return store.get_online_features(features=service, entity_rows=rows).to_dict()

        def store_helper(batch: Batch) -> object:
            return online_features(store, batch.customer_ids, batch.sailing_ids, batch.requests)

        def reader_with_on_demand(batch: Batch) -> object:
            features = reader.read(batch.customer_ids, batch.sailing_ids)
            return features | request_time_features(features, batch.requests)

        def reader_only(batch: Batch) -> object:
            return reader.read(batch.customer_ids, batch.sailing_ids)

        def floor(batch: Batch) -> object:
            with client.pipeline(transaction=False) as pipe:
                for key, fields in commands[id(batch)]:
                    # redis-py annotates keys as str; they are Feast's bytes keys
                    pipe.hmget(key, fields)  # type: ignore[arg-type]
                return pipe.execute()

        modes: dict[str, tuple[Callable[[Batch], object], list[Batch]]] = {
            "sdk_per_customer": (sdk, singles),
            "store_helper_per_customer": (store_helper, singles[: args.helper_single]),
            "sdk_batched": (sdk, batches),
            "reader_batched": (reader_with_on_demand, batches),
            "reader_read_only": (reader_only, batches),
            "raw_hmget_floor": (floor, batches),
        }
        runs: dict[str, list[float]] = {name: [] for name in modes}
        for read, work in modes.values():
            _us_per_customer(read, work[: max(1, len(work) // 10)])
        for _ in range(args.repeats):
            for name, (read, work) in modes.items():
                runs[name].append(_us_per_customer(read, work))
        reader.close()

    medians = {name: statistics.median(values) for name, values in runs.items()}
    floor_us = medians["raw_hmget_floor"]
    result = {
        "customers": args.customers,
        "sailings": args.sailings,
        "batch": args.batch,
        "single_calls": len(singles),
        "helper_single_calls": len(singles[: args.helper_single]),
        "repeats": args.repeats,
        "push_s": round(push_s, 1),
        "hmget_per_batch_sdk": round(statistics.mean(_sdk_hmgets(b) for b in batches), 1),
        "hmget_per_batch_reader": round(statistics.mean(len(c) for c in commands.values()), 1),
        "us_per_customer_median": {name: round(us, 1) for name, us in medians.items()},
        "ratio_to_floor": {name: round(us / floor_us, 2) for name, us in medians.items()},
        "reader_speedup_over_sdk_batched": round(
            medians["sdk_batched"] / medians["reader_batched"], 2
        ),
        "us_per_customer_runs": {name: [round(us, 1) for us in rs] for name, rs in runs.items()},
    }
    print(json.dumps(result, indent=2))
    print()
    print("| read | µs per customer (median) | × floor |")
    print("| --- | ---: | ---: |")
    for name, us in medians.items():
        print(f"| {name} | {us:,.1f} | {us / floor_us:,.1f} |")


if __name__ == "__main__":
    main()
