"""A real Apache Kafka broker (KRaft, combined broker and controller) as a child process.

The broker's jars come from Maven Central through Maven, into a cache reused across runs.
"""

from __future__ import annotations

import base64
import logging
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from offers.errors import StackError
from offers.settings import Settings
from offers.stack.process import port_is_open, start_process
from offers.topics import ALL_TOPICS, TopicSpec

log = logging.getLogger(__name__)

_COMPLETE_MARKER = ".complete"


def broker_jars(settings: Settings) -> Path:
    """The folder of the broker's jars, fetched with Maven on first use."""
    libs = settings.cache_dir / f"kafka-{settings.kafka_version}" / "libs"
    if (libs / _COMPLETE_MARKER).exists():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("Maven ('mvn') is needed to fetch the Kafka broker; install it first")
    staging = libs.with_name("libs.partial")
    shutil.rmtree(staging, ignore_errors=True)
    pom = resources.files("offers.stack").joinpath("kafka-pom.xml")
    with resources.as_file(pom) as pom_path:
        argv = [
            mvn, "-q", "-B", "-f", str(pom_path),
            f"-Dkafka.version={settings.kafka_version}",
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ]  # fmt: skip
        log.info("fetching Apache Kafka %s with Maven", settings.kafka_version)
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
        raise StackError(
            f"Maven could not fetch Kafka {settings.kafka_version}:\n"
            f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    (libs / _COMPLETE_MARKER).write_text(settings.kafka_version)
    return libs


@dataclass(frozen=True, slots=True)
class BrokerLayout:
    """Where one local broker keeps its configuration, data and log."""

    root: Path
    port: int
    controller_port: int

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def config_path(self) -> Path:
        return self.root / "server.properties"

    @property
    def log_path(self) -> Path:
        return self.root / "kafka.log"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


def write_broker_config(layout: BrokerLayout, settings: Settings) -> None:
    partitions = settings.topic_partitions
    lines = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{layout.controller_port}",
        "listeners": (
            f"PLAINTEXT://127.0.0.1:{layout.port},CONTROLLER://127.0.0.1:{layout.controller_port}"
        ),
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{layout.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(layout.data_dir),
        "num.partitions": str(partitions),
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": str(partitions),
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": str(partitions),
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "log.retention.check.interval.ms": "60000",
    }
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.config_path.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))


def _java_argv(libs: Path, settings: Settings, layout: BrokerLayout, *main: str) -> list[str]:
    java = shutil.which("java")
    if java is None:
        raise StackError("a Java runtime ('java', 17 or later) is needed to run the Kafka broker")
    log_config = resources.files("offers.stack").joinpath("log4j2.properties")
    return [
        java,
        f"-Xmx{settings.kafka_heap}",
        "-Xms128m",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log_config}",
        f"-Dkafka.logs.dir={layout.root}",
        "-cp",
        f"{libs}/*",
        *main,
    ]


def format_storage(libs: Path, settings: Settings, layout: BrokerLayout) -> None:
    """Format the KRaft log directory once; an already formatted one is kept."""
    if (layout.data_dir / "meta.properties").exists():
        return
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    argv = _java_argv(
        libs, settings, layout, "kafka.tools.StorageTool", "format",
        f"--cluster-id={cluster_id}", "--config", str(layout.config_path),
    )  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StackError(f"formatting the KRaft log directory failed:\n{done.stdout}{done.stderr}")


def start_broker(
    libs: Path, settings: Settings, layout: BrokerLayout, *, detach: bool = False
) -> subprocess.Popen[bytes]:
    argv = _java_argv(libs, settings, layout, "kafka.Kafka", str(layout.config_path))
    return start_process(argv, layout.log_path, detach=detach)


def broker_answers(bootstrap: str) -> bool:
    """True when the broker serves metadata requests."""
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    if not port_is_open(int(port), host or "127.0.0.1"):
        return False
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=2000, client_id="offers-stack-probe"
        )
    except KafkaError:
        return False
    try:
        admin.list_topics()
        return True
    except KafkaError:
        return False
    finally:
        admin.close()


def create_topics(
    bootstrap: str, settings: Settings, topics: tuple[TopicSpec, ...] = ALL_TOPICS
) -> list[str]:
    """Create the engine's topics with their partitions and configuration; idempotent.

    Returns the names of the topics that were created by this call.
    """
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="offers-stack-admin")
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(
                name=spec.name,
                num_partitions=spec.partitions(settings),
                replication_factor=settings.topic_replication,
                topic_configs=spec.config(settings),
            )
            for spec in topics
            if spec.name not in existing
        ]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
        _wait_for_leaders(admin, [spec.name for spec in topics])
    finally:
        admin.close()
    return [t.name for t in missing]


def _wait_for_leaders(admin: KafkaAdminClient, names: list[str], timeout: float = 30.0) -> None:
    """Wait until every partition of ``names`` exists and has a leader."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            described = admin.describe_topics(names)
            ready = len(described) == len(names) and all(
                topic.get("error_code", 0) == 0
                and topic["partitions"]
                and all(part["leader_id"] >= 0 for part in topic["partitions"])
                for topic in described
            )
        except KafkaError:
            ready = False
        if ready:
            return
        if time.monotonic() > deadline:
            raise StackError(f"topics have no leader {timeout:.0f} s after creation: {names}")
        time.sleep(0.1)


def end_offsets(bootstrap: str, topics: Iterable[str]) -> dict[tuple[str, int], int]:
    """The end offset of every partition of ``topics`` (a missing topic has none)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        parts = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends = consumer.end_offsets(parts)
        return {(tp.topic, tp.partition): int(end) for tp, end in ends.items()}
    finally:
        consumer.close()
