"""Where a campaign's report gets its events: the retained records of five topics.

A report reads :data:`~offers.topics.DECISIONS`, :data:`~offers.topics.DELIVERY_STATUS`,
:data:`~offers.topics.RESPONSES`, :data:`~offers.topics.BOOKING` and
:data:`~offers.topics.SOCIAL` from their beginning at request time, up to the end offsets
it takes when it starts reading (a snapshot: it does not wait for newer records), and
folds them with :func:`~offers.reports.campaign.campaign_report`. Nothing is kept between
two reports, so the cost of one grows with the size of those topics: every record they
retain is fetched and decoded, and the booking topic keeps 30 days. Records older than
the topics' retention are gone, so a report covers at most the last 30 days of a
campaign, and its social touchpoints only the posts of the last 7 days (the social
topic's retention): a conversion older than that can have followed a post that is no
longer counted.

- :func:`discount_terms`: what a campaign's offer costs the business per booking;
- :func:`read_report_events`: the snapshot, decoded, unreadable records skipped and
  counted;
- :func:`report_from_topics`: the two put together into one campaign's report.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError, KafkaTimeoutError

from offers.campaigns import Campaign, OfferKind
from offers.contracts import Event, decode
from offers.contracts.events import EVENT_TYPES
from offers.errors import ContractError, OffersError
from offers.reports.campaign import CampaignReport, campaign_report
from offers.reports.funnel import DEFAULT_ATTRIBUTION_WINDOW, DiscountTerms
from offers.topics import BOOKING, DECISIONS, DELIVERY_STATUS, RESPONSES, SOCIAL, TopicSpec

log = logging.getLogger(__name__)

REPORT_TOPICS: tuple[TopicSpec, ...] = (DECISIONS, DELIVERY_STATUS, RESPONSES, BOOKING, SOCIAL)
"""The topics a campaign's report is folded from."""

_POLL_MS = 500


class ReportSourceError(OffersError):
    """The report topics could not be read: no broker, a missing topic, or too slow."""


def discount_terms(campaign: Campaign) -> DiscountTerms:
    """What the campaign's offer costs the business on each booking made with it.

    - ``percent_discount``: ``percent`` of the booking's price (the fare before the
      discount), so the cost follows each fare;
    - ``fixed_discount``: ``amount_eur`` per booking (never more than its price);
    - ``upgrade`` and ``onboard_voucher``: nothing comes off the fare, so the cost is the
      offer's ``cost_eur``, its cost to the business per redemption, as a fixed amount
      per booking (never more than the booking's price); for a voucher that is what the
      voucher costs the business, not its face value ``amount_eur``. A ``cost_eur`` of 0
      gives no cost, and the report then has no ROI.

    For the two discounts ``cost_eur`` is not added: the discount is what a redemption
    costs, and ``cost_eur`` is the flat figure the budget counts it by.
    """
    offer = campaign.offer
    if offer.kind is OfferKind.PERCENT_DISCOUNT and offer.percent is not None:
        return DiscountTerms(percent=float(offer.percent))
    if offer.kind is OfferKind.FIXED_DISCOUNT and offer.amount_eur is not None:
        return DiscountTerms(fixed_eur=offer.amount_eur)
    return DiscountTerms(fixed_eur=offer.cost_eur)


@dataclass(slots=True)
class ReadCount:
    """What a read of the report topics found: events, and records skipped as unreadable."""

    events: int = 0
    unreadable: int = 0


def read_report_events(
    bootstrap: str,
    *,
    timeout_s: float = 30.0,
    count: ReadCount | None = None,
    topics: Sequence[TopicSpec] = REPORT_TOPICS,
) -> Iterator[Event]:
    """Every event the report topics (or other ``topics``) hold, from their beginning to
    their end offsets.

    The end offset of each partition is taken when iteration starts; records written
    after it are not read, so the read ends however busy the topics are. Events come in
    no particular order across partitions (the report's fold does not need one).

    A record that cannot be decoded as an event of its topic (not JSON, another contract,
    no value) is skipped and counted in ``count``; such records are in the dead-letter
    topic already or were written by something else. Their number is logged as a
    warning at the end of the read.

    Raises :class:`ReportSourceError` when the broker cannot be reached, a topic does not
    exist, or the records cannot all be read within ``timeout_s`` seconds of the start
    (time spent by the caller between two events counts). The consumer is closed in
    every case; it joins no group and commits nothing.
    """
    if timeout_s <= 0:
        raise ReportSourceError(f"timeout_s: must be positive, got {timeout_s}")
    count = count if count is not None else ReadCount()
    deadline = time.monotonic() + timeout_s
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            enable_auto_commit=False,
            client_id="offers-report-source",
            bootstrap_timeout_ms=_ms_until(deadline),
        )
    except KafkaError as exc:
        raise ReportSourceError(
            f"cannot reach the Kafka broker at {bootstrap} within {timeout_s:g} s: {exc!r}"
        ) from exc
    try:
        yield from _read_snapshot(consumer, topics, deadline, timeout_s, count)
    except KafkaTimeoutError as exc:
        raise ReportSourceError(
            f"the report topics were not read within {timeout_s:g} s "
            f"({count.events} events read): {exc!r}"
        ) from exc
    except KafkaError as exc:
        raise ReportSourceError(
            f"reading the report topics from {bootstrap} failed after {count.events} events: "
            f"{exc!r}"
        ) from exc
    finally:
        consumer.close(autocommit=False)
    if count.unreadable:
        log.warning(
            "skipped %d unreadable records of %s (%d events read)",
            count.unreadable,
            ", ".join(spec.name for spec in topics),
            count.events,
        )


def report_from_topics(
    bootstrap: str,
    campaign: Campaign,
    *,
    timeout_s: float = 30.0,
    attribution_window: timedelta = DEFAULT_ATTRIBUTION_WINDOW,
) -> CampaignReport:
    """The report of ``campaign`` from the records the report topics retain right now.

    Reads every retained record of the five topics (see the module's docstring: the cost
    grows with their size, and the booking topic keeps 30 days) and folds them with the
    campaign's :func:`discount_terms`. Raises :class:`ReportSourceError` as
    :func:`read_report_events` does.
    """
    return campaign_report(
        campaign.id,
        read_report_events(bootstrap, timeout_s=timeout_s),
        attribution_window=attribution_window,
        discount=discount_terms(campaign),
    )


def _read_snapshot(
    consumer: KafkaConsumer,
    topics: Sequence[TopicSpec],
    deadline: float,
    timeout_s: float,
    count: ReadCount,
) -> Iterator[Event]:
    ends = _end_offsets(consumer, topics, deadline)
    left = {tp: end for tp, end in ends.items() if end > 0}
    if not left:
        return
    expected = {spec.name: _event_classes(spec) for spec in topics}
    consumer.assign(list(left))
    consumer.seek_to_beginning(*left)
    while left:
        for tp in list(left):
            position = consumer.position(tp, timeout_ms=_ms_until(deadline))
            if position is not None and position >= left[tp]:
                del left[tp]
                consumer.pause(tp)
        if not left:
            return
        if time.monotonic() >= deadline:
            raise ReportSourceError(_too_slow(consumer, left, timeout_s, count))
        batches = consumer.poll(timeout_ms=min(_POLL_MS, _ms_until(deadline)))
        for tp, records in batches.items():
            for record in records:
                if record.offset >= ends[tp]:
                    break
                event = _decoded(record, expected[tp.topic])
                if event is None:
                    count.unreadable += 1
                else:
                    count.events += 1
                    yield event


def _end_offsets(
    consumer: KafkaConsumer, topics: Sequence[TopicSpec], deadline: float
) -> dict[TopicPartition, int]:
    parts: list[TopicPartition] = []
    for spec in topics:
        partitions = consumer.partitions_for_topic(spec.name)
        if not partitions:
            raise ReportSourceError(f"topic {spec.name} does not exist; create the topics first")
        parts += [TopicPartition(spec.name, p) for p in sorted(partitions)]
    ends = consumer.end_offsets(parts, timeout_ms=_ms_until(deadline))
    return {tp: int(end) for tp, end in ends.items()}


def _event_classes(spec: TopicSpec) -> tuple[type[Event], ...]:
    return tuple(EVENT_TYPES[name] for name in spec.event_types)


def _decoded(record: ConsumerRecord, expected: tuple[type[Event], ...]) -> Event | None:
    where = f"{record.topic}:{record.partition}:{record.offset}"
    if record.value is None:
        log.debug("%s: skipping a record without a value", where)
        return None
    try:
        event: Event = decode(record.value, expected=expected)
    except ContractError as exc:
        log.debug("%s: skipping an unreadable record: %s", where, exc)
        return None
    return event


def _ms_until(deadline: float) -> int:
    return max(1, int((deadline - time.monotonic()) * 1000))


def _too_slow(
    consumer: KafkaConsumer, left: dict[TopicPartition, int], timeout_s: float, count: ReadCount
) -> str:
    behind = ", ".join(
        f"{tp.topic}[{tp.partition}] at {_offset(consumer.position(tp, timeout_ms=1))} of {end}"
        for tp, end in sorted(left.items())
    )
    return (
        f"the report topics were not read within {timeout_s:g} s "
        f"({count.events} events and {count.unreadable} unreadable records read); "
        f"still behind: {behind}"
    )


def _offset(position: int | None) -> str:
    return "an offset not yet known" if position is None else f"offset {position}"
