"""Looking for customers' phone numbers where none may be: in every record of every topic
of a broker (keys, values and headers, decoded loosely), and in log files.

A number is found in any of its three forms: E.164 (``+393400000417``), without the plus
(``393400000417``, as the WhatsApp Cloud API writes it, or after ``%2B`` in a URL), and
its national digits alone (``3400000417``), each standing apart from other digits.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

EXCERPT_CHARS = 60


@dataclass(frozen=True)
class Leak:
    """A customer's number found somewhere."""

    where: str
    """The topic, partition and offset, or the file."""
    number: str
    """The customer's number, E.164."""
    excerpt: str


class PhoneScan:
    """Finds the numbers of ``numbers`` (E.164, all of ``country_code``) in text."""

    def __init__(self, numbers: Iterable[str], country_code: str) -> None:
        prefix = "+" + country_code
        self._by_national = {n.removeprefix(prefix): n for n in numbers}
        if not self._by_national or any(len(k) == len(n) for k, n in self._by_national.items()):
            raise ValueError(f"numbers must be E.164 numbers of +{country_code}")
        lengths = sorted({len(k) for k in self._by_national})
        national = "|".join(rf"\d{{{length}}}" for length in reversed(lengths))
        self._pattern = re.compile(
            rf"(?<![0-9])(?:\+?{re.escape(country_code)})?({national})(?![0-9])"
        )

    def leaks(self, where: str, text: str) -> list[Leak]:
        found = []
        for match in self._pattern.finditer(text):
            number = self._by_national.get(match.group(1))
            if number is not None:
                start = max(match.start() - EXCERPT_CHARS, 0)
                excerpt = text[start : match.end() + EXCERPT_CHARS]
                found.append(Leak(where, number, excerpt))
        return found

    def record_leaks(
        self,
        where: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes | None]] = (),
    ) -> list[Leak]:
        """The numbers in a Kafka record: its key, value, and header names and values."""
        parts = [key, value, *(h for name, raw in headers for h in (name.encode(), raw))]
        return self.leaks(where, "\n".join(loose_text(p) for p in parts if p is not None))

    def file_leaks(self, path: Path) -> list[Leak]:
        return self.leaks(str(path), loose_text(path.read_bytes()))


def loose_text(raw: bytes) -> str:
    """Bytes as text whatever they hold: UTF-8 where it is, a replacement character for
    each byte where it is not, so that the ASCII digits of a number always show."""
    return raw.decode("utf-8", errors="replace")


@dataclass
class TopicScan:
    """What reading every topic found."""

    records: dict[str, int] = field(default_factory=dict)
    """Records read, by topic (every topic of the broker, the internal ones included)."""
    leaks: list[Leak] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    """Partitions not read to their end in time."""


def scan_topics(bootstrap: str, scan: PhoneScan, timeout_s: float = 120.0) -> TopicScan:
    """Every record of every topic the broker lists (``__consumer_offsets`` included),
    read from the beginning to the end offsets found at the start, scanned."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        topics = sorted(admin.list_topics())
    finally:
        admin.close()
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        exclude_internal_topics=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    result = TopicScan()
    try:
        parts = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        result.records = dict.fromkeys(topics, 0)
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        for batch in _batches(consumer, parts, ends, timeout_s):
            for record in batch:
                where = f"{record.topic}[{record.partition}]@{record.offset}"
                result.records[record.topic] += 1
                result.leaks += scan.record_leaks(
                    where, record.key, record.value, record.headers or ()
                )
        result.unread = [
            f"{tp.topic}[{tp.partition}]" for tp in parts if consumer.position(tp) < ends[tp]
        ]
    finally:
        consumer.close()
    return result


def _batches(
    consumer: KafkaConsumer,
    parts: list[TopicPartition],
    ends: dict[TopicPartition, int],
    timeout_s: float,
) -> Iterator[list[Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(consumer.position(tp) >= ends[tp] for tp in parts):
            return
        yield from consumer.poll(timeout_ms=500, max_records=5_000).values()


def log_files(stack_root: Path, *log_dirs: Path) -> list[Path]:
    """Every log of the stack (``*.log`` under its directory, outside the broker's data,
    which is read through the broker) and every file of ``log_dirs`` (the processes'
    output)."""
    broker_data = stack_root / "kafka" / "data"
    stack_logs = [
        path
        for path in stack_root.rglob("*")
        if path.is_file()
        and (path.suffix == ".log" or ".log." in path.name)
        and not path.is_relative_to(broker_data)
    ]
    process_logs = [path for folder in log_dirs for path in folder.rglob("*") if path.is_file()]
    return sorted({*stack_logs, *process_logs})
