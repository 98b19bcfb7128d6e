"""Sending an input record that could not be processed to the dead-letter topic, with the
reason, and counting it: what every agent of a worker does with a record it cannot use."""

from __future__ import annotations

from typing import Any

import faust

from offers.contracts import encode, to_dead_letter
from streams.metrics import StreamMetrics


async def send_dead_letter(
    topic: faust.types.TopicT,
    message: Any,
    error: Exception,
    stage: str,
    metrics: StreamMetrics,
) -> None:
    """Send ``message`` (a Faust consumer message) to ``topic`` as a dead letter of
    ``stage`` with ``error`` as its reason, keyed as it was."""
    letter = to_dead_letter(
        message.value,
        error,
        source_topic=message.topic,
        source_partition=message.partition,
        source_offset=message.offset,
        source_key=message.key,
        stage=stage,
    )
    await topic.send(key=message.key, value=encode(letter))
    metrics.events.labels(message.topic, "dead_lettered").inc()
