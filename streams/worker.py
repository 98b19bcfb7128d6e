"""The Faust app of the stream processor: one agent per feature view.

Each agent reads its topic, validates every record at the edge (a bad one goes to the
dead-letter topic with the reason, and the agent goes on), applies the record to its
key's state in a Faust table (restored from the table's changelog when a partition moves
to another worker), buffers the key's new row for Feast, and sends geofence transitions
to their topic. Every worker also holds every sailing's latest row, read-only, followed
from the sailing table's changelog (``streams.replica``; ``/sailings`` shows it), every
customer's consent (``/consent/{id}``) and every campaign's latest version
(``/campaigns``), followed from the state topics the API writes; and it forgets the
customers the API erased (``streams.erasure``). Location rows go when the customer
withdraws the location consent, and once older than the retention
(``streams.location_retention``). Social posts are also counted per brand, port and
route, with alerts on spikes of negative ones (``streams.listening``).

``faust -A streams.app worker`` runs a worker (``streams/app.py`` builds the app from
the environment); :func:`create_app` builds one for given settings.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

import faust
from faust.types.transports import TransportT
from faust.web import Request, Response, View
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent

from offers.contracts import Event, ValidationClock, encode
from offers.errors import ContractError
from offers.settings import Settings
from offers.stack.kafka import create_topics
from offers.topics import DEAD_LETTER, ERASURES, GEOFENCE, LISTENING_TOPICS, TopicSpec
from streams.consumer import FlowControl, transport_for
from streams.dead_letters import send_dead_letter
from streams.decisions.agent import DecisionAgents
from streams.erasure import erased_before, follow_erasures, install_erasure_agent
from streams.features.rows import Row
from streams.followers import (
    follow_campaigns,
    follow_consent,
    follow_social_alerts,
    state_pages,
)
from streams.listening.agents import ListeningAgents
from streams.location_retention import install_location_retention
from streams.metrics import StreamMetrics
from streams.processing import Entry, read_record, step
from streams.replica import TopicReplica
from streams.sink import FeastWriter, FeatureSink, Writer
from streams.views import CUSTOMER_LOCATION, FEATURE_VIEWS, SAILING_STATE, FeatureView

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4"
log = logging.getLogger(__name__)


class StreamApp(faust.App):
    """The Faust app, which creates its tables' changelog topics (and waits until each
    partition has a leader) before it joins its consumer group. Left to Faust, a new
    changelog can be missing from the metadata when partitions are assigned, and every
    write to that table then fails until the worker restarts. Its Kafka consumer resumes
    correctly after a rebalance (``streams.consumer``)."""

    def __init__(
        self,
        settings: Settings,
        *args: Any,
        also_create: tuple[TopicSpec, ...] = (),
        **kwargs: Any,
    ) -> None:
        """``also_create``: topics it reads that another app writes, created with its
        own changelogs so that it never waits for them to appear."""
        super().__init__(*args, **kwargs)
        self.offers_settings = settings
        self.also_create = also_create

    def _new_transport(self) -> TransportT:
        return transport_for(list(self.conf.broker_consumer), self)

    @cached_property
    def flow_control(self) -> FlowControlEvent:
        return FlowControl(loop=self.loop)

    def changelog_topics(self) -> tuple[TopicSpec, ...]:
        return (
            tuple(
                TopicSpec(
                    table.changelog_topic.get_topic_name(),
                    key="state key",
                    event_types=(),
                    compacted=True,
                    holds_location=table.name == CUSTOMER_LOCATION.name,
                )
                for table in self.tables.values()
            )
            + self.also_create
        )

    async def on_first_start(self) -> None:
        await super().on_first_start()
        settings = self.offers_settings
        await asyncio.to_thread(
            create_topics, settings.kafka_bootstrap, settings, self.changelog_topics()
        )


def app_options(settings: Settings) -> dict[str, Any]:
    """The Faust app's configuration from ``settings``: broker, raw serializers, in-memory
    tables (their changelogs are the state), partitions, timeouts and web page; the app's
    data directory is created."""
    datadir = settings.stack_dir / "streams" / settings.stream_app_id
    datadir.mkdir(parents=True, exist_ok=True)
    return {
        "broker": [f"kafka://{host.strip()}" for host in settings.kafka_bootstrap.split(",")],
        "store": "memory://",
        "datadir": str(datadir),
        "autodiscover": False,
        "key_serializer": "raw",
        "value_serializer": "raw",
        "topic_partitions": settings.topic_partitions,
        "topic_replication_factor": settings.topic_replication,
        "broker_session_timeout": settings.worker_session_timeout_seconds,
        "broker_heartbeat_interval": settings.worker_session_timeout_seconds / 5,
        "consumer_auto_offset_reset": "earliest",
        "web_port": settings.worker_web_port,
        "web_bind": settings.worker_web_host,
        "web_host": settings.worker_web_host,
    }


def create_app(settings: Settings, writer: Writer | None = None) -> StreamApp:
    """The stream processor for ``settings``; ``writer`` replaces the Feast writer."""
    app = StreamApp(
        settings,
        settings.stream_app_id,
        also_create=(ERASURES, *LISTENING_TOPICS),
        **app_options(settings),
    )
    metrics = StreamMetrics()
    sink = FeatureSink(
        writer or FeastWriter(settings),
        max_events=settings.feature_batch_rows,
        interval_s=settings.feature_flush_ms / 1000,
        offline_interval_s=settings.feature_offline_flush_ms / 1000,
        metrics=metrics,
    )
    erasures = follow_erasures(app, settings)
    processor = FeatureProcessor(app, settings, sink, metrics, erasures)
    for view in FEATURE_VIEWS:
        processor.add_agent(view)
    customer_tables = [processor.tables[view.name] for view in FEATURE_VIEWS if not view.shared]
    install_erasure_agent(app, settings, customer_tables, sink, erasures)
    install_location_retention(app, settings, processor.tables[CUSTOMER_LOCATION.name], sink)
    ListeningAgents(app, settings, metrics).install()

    @app.page("/metrics")
    async def metrics_page(web: View, request: Request) -> Response:
        for name, table in processor.tables.items():
            metrics.table_keys.labels(name).set(len(table))
        for name, replica in processor.replicas.items():
            metrics.table_keys.labels(f"{name}_replica").set(len(replica))
        # aiohttp takes the charset apart from the type; Prometheus' text is UTF-8
        return web.bytes(metrics.exposition(), content_type=METRICS_CONTENT_TYPE)

    consent = follow_consent(app, settings)
    campaigns_read = asyncio.Event()
    campaigns = follow_campaigns(app, settings, campaigns_read)
    sailings = processor.replicas[SAILING_STATE.name]
    state_pages(app, consent, campaigns, sailings)
    if settings.worker_decisions:
        alerts = follow_social_alerts(app, settings)
        DecisionAgents(
            app,
            settings,
            campaigns=campaigns,
            consent=consent,
            sailings=sailings,
            metrics=metrics,
            alerts=alerts,
            feature_sink=sink,
            ready=(consent.current, campaigns_read, alerts.current),
        ).install()
    return app


class FeatureProcessor:
    """What the feature agents share: the sink, the output topics, the clock, metrics."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        sink: FeatureSink,
        metrics: StreamMetrics,
        erasures: Mapping[str, datetime] | None = None,
    ) -> None:
        """``erasures``: the erased customers' latest erasure times, by id (their events
        dated up to then are dropped: :mod:`streams.erasure`)."""
        self.app = app
        self.erasures: Mapping[str, datetime] = erasures if erasures is not None else {}
        self.settings = settings
        self.sink = sink
        self.metrics = metrics
        self.clock = ValidationClock.from_settings(settings)
        self.lateness = timedelta(seconds=settings.allowed_lateness_seconds)
        self.dead_letters = app.topic(DEAD_LETTER.name, key_type=bytes, value_type=bytes)
        self.geofence = app.topic(GEOFENCE.name, key_type=bytes, value_type=bytes)
        self.tables: dict[str, faust.types.TableT[bytes, bytes]] = {}
        self.replicas: dict[str, TopicReplica[Row]] = {}
        """Views every worker holds whole, read-only (the sailings)."""

    def add_agent(self, view: FeatureView) -> None:
        table = self.app.Table(
            view.name,
            key_type=bytes,
            value_type=bytes,
            partitions=self.settings.topic_partitions,
            help=f"State of the {view.name} feature view, by {view.key_field}.",
        )
        self.tables[view.name] = table
        if view.shared:
            replica = TopicReplica(
                self.settings.kafka_bootstrap,
                table.changelog_topic.get_topic_name(),
                lambda key, value: view.row(Entry.decode(view, value).state, key),
            )
            self.replicas[view.name] = replica
            self.app.task(replica.follow)
        topic = self.app.topic(view.topic.name, key_type=bytes, value_type=bytes)

        async def features(stream: faust.StreamT[bytes]) -> None:
            # acknowledged by the sink once the event's row is written (StreamT lacks noack)
            events = cast(faust.Stream[bytes], stream).noack()
            async for event in events.events():
                await self.process(view, table, events, event)

        self.app.agent(topic, name=f"{view.name}_features")(features)

    async def process(
        self,
        view: FeatureView,
        table: faust.types.TableT[bytes, bytes],
        stream: faust.StreamT[bytes],
        event: faust.EventT[bytes],
    ) -> None:
        message = event.message

        async def ack() -> None:
            await stream.ack(event)

        try:
            decoded, key = self._decode(view, message.key, message.value)
        except ContractError as exc:
            await self._dead_letter(message, exc, "decode")
            await ack()
            return
        if not view.shared and erased_before(self.erasures, key, decoded.event_time):
            self.metrics.events.labels(view.topic.name, "erased").inc()
            await ack()
            return
        try:
            result = step(view, table.get(key), decoded, message.offset, self.lateness)
        except Exception as exc:
            log.exception("%s: record %s:%s failed", view.name, message.partition, message.offset)
            await self._dead_letter(message, exc, view.name)
            await ack()
            return
        if result.entry is not None:
            table[key] = result.entry.encode()
        for transition in result.transitions:
            await self.geofence.send(key=key, value=encode(transition))
            self.metrics.transitions.labels(transition.action.value).inc()
        outcome = "replayed" if result.replayed else "late" if result.late else "applied"
        self.metrics.events.labels(view.topic.name, outcome).inc()
        await self.sink.add(view.spec.push_source_name, result.row, ack)

    def _decode(
        self, view: FeatureView, key: bytes | None, value: bytes | None
    ) -> tuple[Event, bytes]:
        """The event, and its key, which must be the record's key."""
        return read_record(view, key, value, self.clock)

    async def _dead_letter(self, message: Any, error: Exception, stage: str) -> None:
        await send_dead_letter(self.dead_letters, message, error, stage, self.metrics)
