"""Sending an input record that could not be processed to the dead-letter topic, with the
reason, and counting it: what every agent of a worker does with a record it cannot use.

Whatever the record holds (no value, a value of any size, a key of any size or bytes),
its dead letter is a valid record that fits in a Kafka message: the letter keeps the
first :data:`~offers.contracts.codec.MAX_DEAD_LETTER_PAYLOAD_BYTES` of the value, and
the key of the letter the first :data:`MAX_KEY_BYTES` of the key, so that sending it
cannot fail for its size and stop the agent.
"""

from __future__ import annotations

from typing import Any

import faust

from offers.contracts import encode, to_dead_letter
from streams.metrics import StreamMetrics

MAX_KEY_BYTES = 1_024
"""The longest record key a dead letter is keyed by (it only places the letter in a
partition; the letter's ``source_key`` keeps the key as text)."""


def dead_letter_record(message: Any, error: Exception, stage: str) -> tuple[bytes | None, bytes]:
    """The key and the value of the dead letter of ``message`` (a Faust consumer message)
    for ``stage``, with ``error`` as its reason, keyed as it was."""
    letter = to_dead_letter(
        message.value,
        error,
        source_topic=message.topic,
        source_partition=message.partition,
        source_offset=message.offset,
        source_key=message.key,
        stage=stage,
    )
    key = message.key[:MAX_KEY_BYTES] if message.key is not None else None
    return key, encode(letter)


async def send_dead_letter(
    topic: faust.types.TopicT,
    message: Any,
    error: Exception,
    stage: str,
    metrics: StreamMetrics,
) -> None:
    """Send ``message`` (a Faust consumer message) to ``topic`` as a dead letter of
    ``stage`` with ``error`` as its reason, keyed as it was."""
    key, value = dead_letter_record(message, error, stage)
    await topic.send(key=key, value=value)
    metrics.events.labels(message.topic, "dead_lettered").inc()
