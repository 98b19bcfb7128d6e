"""The dead-letter record: an input that could not be processed, and why."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from offers.contracts.base import Event


class RejectedField(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(max_length=200)
    reason: str = Field(max_length=2_000)


class DeadLetter(Event):
    """An input record that failed validation or processing, kept whole with the reason.

    ``payload`` is the original value as text (``payload_encoding`` says ``utf-8``), or
    base64 when it was not valid UTF-8, so nothing of the input is lost. A value over
    the size limit of the codec keeps only its first bytes (``payload_bytes`` is the
    size of the whole); the record itself stays at ``source_topic``,
    ``source_partition``, ``source_offset`` for as long as that topic keeps it.
    """

    TYPE: ClassVar[str] = "dead_letter"
    type: Literal["dead_letter"] = "dead_letter"
    source_topic: str = Field(min_length=1, max_length=249)
    source_partition: int | None = Field(None, ge=0)
    source_offset: int | None = Field(None, ge=0)
    source_key: str = Field("", max_length=1_000)
    payload: str
    payload_encoding: Literal["utf-8", "base64"] = "utf-8"
    payload_bytes: int | None = Field(None, ge=0)
    """The size of the original value in bytes (more than the payload holds when the
    value was over the limit)."""
    stage: str = Field("decode", max_length=100)
    """Where it failed: ``decode`` at the topic edge, or the name of a processing step."""
    reason: str = Field(max_length=4_000)
    errors: tuple[RejectedField, ...] = ()
