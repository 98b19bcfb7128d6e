"""Redis memory per customer of the online feature state, at 100,000 and 1,000,000
customers.

Starts the local stack on free ports in a temporary directory and pushes ``--templates``
customers' rows of the three customer feature views through Feast (``push_rows``, online
only), with values of each field's type as ``bench.feature_reads`` makes them. Pushing a
million customers through Feast would take most of an hour here, so the population is
then grown by copying: customer ``c-<i>`` gets, under its own key (Feast's key layout,
built by ``features.online.OnlineReader``), the hash of template ``i mod templates``,
pipelined. Each hash holds what Feast wrote: every feature of the three views and their
``_ts`` fields. At each size in ``--sizes`` it reads Redis's ``used_memory`` (against the
empty store's), ``MEMORY USAGE`` of ``--sample`` keys and the hashes' encoding.

Prints JSON and a table: bytes per customer at each size.

    .venv/bin/python -m bench.online_state [--sizes 100000,1000000] [--templates 2000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from typing import Any, cast

from feast.value_type import ValueType
from redis import Redis

from bench.feature_reads import _push
from bench.stack import temporary_stack
from features.online import CUSTOMER_ID, OnlineReader
from features.sources import CUSTOMER_BOOKING_VIEW, CUSTOMER_LOCATION_VIEW, CUSTOMER_SOCIAL_VIEW
from features.store import feature_store

CUSTOMER_VIEWS = (CUSTOMER_LOCATION_VIEW, CUSTOMER_SOCIAL_VIEW, CUSTOMER_BOOKING_VIEW)
CHUNK = 5_000


def _used(client: Redis) -> int:
    info = cast("dict[str, Any]", client.info("memory"))
    return int(info["used_memory"])


def _purge(client: Redis) -> None:
    """Let the allocator give freed memory back, so ``used_memory`` counts what is held."""
    client.execute_command("MEMORY", "PURGE")  # type: ignore[no-untyped-call]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000", help="customers, comma-separated")
    parser.add_argument("--templates", type=int, default=2_000)
    parser.add_argument("--sample", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    rng = random.Random(args.seed)

    with temporary_stack() as (live, _):
        store = feature_store(live)
        client = Redis.from_url(live.redis_url)
        reader = OnlineReader(store, client)
        _purge(client)
        empty = _used(client)
        templates = [f"c-{i}" for i in range(args.templates)]
        started = time.perf_counter()
        for spec in CUSTOMER_VIEWS:
            _push(store, spec, templates, rng)
        push_s = time.perf_counter() - started
        template_keys = reader.entity_keys(CUSTOMER_ID, ValueType.STRING, templates)
        hashes = [cast("dict[bytes, bytes]", client.hgetall(key)) for key in template_keys]  # type: ignore[arg-type]
        fields = statistics.mean(len(h) for h in hashes)
        value_bytes = statistics.mean(sum(len(v) for v in h.values()) for h in hashes)

        measured: dict[str, dict[str, Any]] = {}
        have = args.templates
        started = time.perf_counter()
        for size in sizes:
            for start in range(have, size, CHUNK):
                ids = [f"c-{i}" for i in range(start, min(start + CHUNK, size))]
                keys = reader.entity_keys(CUSTOMER_ID, ValueType.STRING, ids)
                with client.pipeline(transaction=False) as pipe:
                    for i, key in zip(range(start, start + len(ids)), keys, strict=True):
                        pipe.hset(key, mapping=hashes[i % args.templates])  # type: ignore[arg-type]
                    pipe.execute()
            have = max(have, size)
            _purge(client)
            used = _used(client) - empty
            sample = rng.sample(range(size), min(args.sample, size))
            keys = reader.entity_keys(CUSTOMER_ID, ValueType.STRING, [f"c-{i}" for i in sample])
            usage = [int(cast(int, client.memory_usage(key, samples=0)) or 0) for key in keys]
            encodings = {client.object("encoding", key) for key in keys[:50]}
            measured[str(size)] = {
                "keys": int(cast(int, client.dbsize())),
                "used_memory_bytes": used,
                "bytes_per_customer": round(used / size, 1),
                "memory_usage_per_key_median": statistics.median(usage),
                "encodings": sorted(
                    str(e, "ascii") if isinstance(e, bytes) else str(e) for e in encodings
                ),
            }
        copy_s = time.perf_counter() - started
        client.close()

    result = {
        "templates": args.templates,
        "views": [spec.push_source_name for spec in CUSTOMER_VIEWS],
        "fields_per_customer": round(fields, 1),
        "value_bytes_per_customer": round(value_bytes, 1),
        "push_s": round(push_s, 1),
        "copy_s": round(copy_s, 1),
        "by_size": measured,
        "bytes_per_customer": measured[str(sizes[-1])]["bytes_per_customer"],
    }
    print(json.dumps(result, indent=2))
    print()
    print(
        "| customers | Redis used memory | bytes per customer "
        "| MEMORY USAGE per key (median) | encoding |"
    )
    print("| ---: | ---: | ---: | ---: | --- |")
    for shown, m in measured.items():
        print(
            f"| {int(shown):,} | {m['used_memory_bytes'] / 2**20:,.1f} MiB "
            f"| {m['bytes_per_customer']:,.0f} | {m['memory_usage_per_key_median']:,.0f} "
            f"| {', '.join(m['encodings'])} |"
        )


if __name__ == "__main__":
    main()
