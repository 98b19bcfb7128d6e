"""Erased customers in the stream processor (see :mod:`offers.erasure`).

Every worker follows ``state.erasures`` whole (:func:`follow_erasures`: customer id ->
time of its latest erasure), and the feature agents drop an event of an erased customer
dated up to its erasure (:func:`erased_before`): a replay after a crash or a rebalance
must not rebuild the history that the erasure removed. An event dated after it is a new
customer's.

The ``customer_erasures`` agent reads the topic as a group. The topic is keyed and
partitioned like the input topics, so each record reaches the worker that owns the
customer's partition of the feature tables. The agent deletes the customer's key from
every table keyed by customers (Faust writes a tombstone to the table's changelog, so the
compacted changelog forgets the customer too), writes out the rows buffered before,
then erases the customer's features once more (its online row and offline rows), which
those rows may have written again after the API erased them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import cache, partial
from typing import TYPE_CHECKING

import faust
from redis import Redis
from redis.exceptions import RedisError

from offers.erasure import decode_erasure
from offers.errors import ContractError
from offers.settings import Settings
from offers.state.compacted import key_text
from offers.topics import ERASURES
from streams.replica import follow_topic
from streams.sink import FeatureSink

if TYPE_CHECKING:  # imported when first used: Feast is slow to import
    from features.erasure import FeatureErasure

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 5.0


def follow_erasures(app: faust.App, settings: Settings) -> dict[str, datetime]:
    """Every erased customer's latest erasure time, by customer id, kept up to date by a
    task of the app that follows ``state.erasures``."""
    erased: dict[str, datetime] = {}

    def apply(key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        customer_id = key.decode(errors="replace")
        if value is None:
            erased.pop(customer_id, None)
            return
        try:
            erased[customer_id] = decode_erasure(value).event_time
        except ContractError as exc:
            log.error("%s: skipping an unreadable record: %s", ERASURES.name, exc)

    async def follow() -> None:
        await follow_topic(settings.kafka_bootstrap, ERASURES.name, apply)

    app.task(follow)
    return erased


def erased_before(erasures: Mapping[str, datetime], key: bytes, event_time: datetime) -> bool:
    """Whether the event of the customer ``key`` is dated up to the customer's erasure."""
    if not erasures:
        return False
    erased_at = erasures.get(key.decode(errors="replace"))
    return erased_at is not None and event_time <= erased_at


def forget(tables: Sequence[faust.types.TableT[bytes, bytes]], key: bytes) -> int:
    """Delete ``key`` from every table that holds it (from within an agent: each deletion
    writes a tombstone to the table's changelog); how many held it."""
    held = [table for table in tables if key in table]
    for table in held:
        del table[key]
    return len(held)


def install_erasure_agent(
    app: faust.App,
    settings: Settings,
    tables: Sequence[faust.types.TableT[bytes, bytes]],
    sink: FeatureSink,
    erasures: dict[str, datetime],
) -> None:
    """The ``customer_erasures`` agent over ``tables`` (those keyed by customers). It
    notes each erasure in ``erasures`` (:func:`follow_erasures`' map) before it forgets
    the customer, so that no event the feature agents take meanwhile, however late the
    follower is, brings the customer's state back."""

    @cache
    def features() -> FeatureErasure:
        from features.erasure import FeatureErasure

        return FeatureErasure(settings, Redis.from_url(settings.redis_url))

    def erase_features(customer_id: str) -> None:
        features().erase_online(customer_id)
        features().erase_offline([customer_id])

    async def customer_erasures(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            key, value = event.message.key, event.message.value
            customer_id = key_text(ERASURES.name, key)
            if key is None or customer_id is None or value is None:
                continue
            try:
                erasures[customer_id] = decode_erasure(value).event_time
            except ContractError as exc:
                log.error("%s: skipping an unreadable record: %s", ERASURES.name, exc)
                continue
            forgotten = forget(tables, key)
            await sink.flush()
            await _until_done(partial(erase_features, customer_id))
            log.info("erased a customer (%d tables held it)", forgotten)

    topic = app.topic(ERASURES.name, key_type=bytes, value_type=bytes)
    app.agent(topic, name="customer_erasures")(customer_erasures)


async def _until_done(work: Callable[[], None]) -> None:
    """``work`` in a thread, retried with a capped backoff while Redis is out of reach;
    another failure is logged, and the agent goes on (the API erased them already)."""
    delay = 0.1
    while True:
        try:
            await asyncio.to_thread(work)
            return
        except (RedisError, ConnectionError) as exc:
            log.warning("erasing features: Redis unreachable (%s); retrying", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)
        except Exception:
            log.exception("erasing features failed")
            return
