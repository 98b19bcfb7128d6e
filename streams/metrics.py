"""The stream processor's metrics, in Prometheus' text format on a worker's /metrics page.

Each app has its own registry. The Prometheus client keeps values in memory unless
``PROMETHEUS_MULTIPROC_DIR`` is set when it is first imported; importing Feast sets it, so
this module is imported before Feast in a worker (``streams.worker`` does), and workers
are started without it (``offers.stack.workers``).
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

OUTCOMES = ("applied", "late", "replayed", "dead_lettered")
"""What became of an input record: ``late`` is older than the key's watermark (counted,
not merged); ``replayed`` was already in the restored state (redelivered after a crash)."""


class StreamMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "offers_stream_events",
            "Input records by topic and outcome.",
            ["topic", "outcome"],
            registry=self.registry,
        )
        self.rows_written = Counter(
            "offers_feature_rows_written",
            "Feature rows written to Feast (online and offline), by push source.",
            ["push_source"],
            registry=self.registry,
        )
        self.flush_seconds = Histogram(
            "offers_feature_flush_seconds",
            "Time to write one micro-batch of feature rows to Feast, by store (the online "
            "store, the offline log).",
            ["store"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.flush_failures = Counter(
            "offers_feature_flush_failures",
            "Failed attempts to write a micro-batch (it is retried until written).",
            registry=self.registry,
        )
        self.transitions = Counter(
            "offers_geofence_transitions",
            "Geofence transitions sent, by action.",
            ["action"],
            registry=self.registry,
        )
        self.decisions = Counter(
            "offers_decisions",
            "Decision records sent, by outcome and reason.",
            ["outcome", "reason"],
            registry=self.registry,
        )
        self.trigger_signals = Counter(
            "offers_trigger_signals",
            "Trigger signals sent to offers.triggers (fan-outs, abandoned quotes), by trigger.",
            ["trigger"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "offers_deliveries",
            "Decisions to send handled by delivery, by channel, state (sent, failed, "
            "skipped) and code (why not sent; empty when sent).",
            ["channel", "state", "code"],
            registry=self.registry,
        )
        self.scheduled = Gauge(
            "offers_deliveries_scheduled",
            "Messages waiting for their send_at (the end of the recipient's quiet hours).",
            registry=self.registry,
        )
        self.degraded = Gauge(
            "offers_decisions_degraded",
            "1 while decisions wait for Redis to come back, else 0.",
            registry=self.registry,
        )

        self.mentions = Counter(
            "offers_listening_mentions",
            "Social mentions counted in their windows (neither late nor redelivered), by subject "
            "kind (brand, port, route) and label.",
            ["kind", "label"],
            registry=self.registry,
        )
        self.late_mentions = Counter(
            "offers_listening_late_mentions",
            "Social mentions older than their subject's watermark (counted, not merged).",
            registry=self.registry,
        )
        self.duplicate_mentions = Counter(
            "offers_listening_duplicate_mentions",
            "Social mentions of a post already counted in its window (not counted again).",
            registry=self.registry,
        )
        self.alerts = Counter(
            "offers_listening_alerts",
            "Alerts on spikes of negative mentions opened or closed, by change (open, closed).",
            ["change"],
            registry=self.registry,
        )
        self.open_alerts = Gauge(
            "offers_listening_open_alerts",
            "Alerts open on the ports and routes this worker counts.",
            registry=self.registry,
        )

        self.table_keys = Gauge(
            "offers_table_keys",
            "Keys held by this worker in each state table, and in each replica (all keys).",
            ["table"],
            registry=self.registry,
        )

        self.feature_psi = Gauge(
            "offers_model_feature_psi",
            "Population stability index of each feature of the champion (and of its score, "
            "feature 'score') between its training data and the latest rows it scored.",
            ["model_version", "feature"],
            registry=self.registry,
        )
        self.drift_rows = Gauge(
            "offers_model_drift_rows",
            "Rows scored by the champion that its feature PSI is measured on (the window).",
            ["model_version"],
            registry=self.registry,
        )
        self._drift_version: str | None = None

    def record_drift(self, version: str | None, psi: Mapping[str, float], rows: int) -> None:
        """Show the PSI of each feature (and ``score``) of the champion ``version`` over
        ``rows`` rows; a new version (or None: no monitored champion) removes the old
        version's series first."""
        if version != self._drift_version:
            self.feature_psi.clear()
            self.drift_rows.clear()
            self._drift_version = version
        if version is None:
            return
        for feature, value in psi.items():
            self.feature_psi.labels(version, feature).set(value)
        self.drift_rows.labels(version).set(rows)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
