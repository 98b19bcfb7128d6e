"""What every event shares: identity, event time, schema version, strict validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

if TYPE_CHECKING:
    from offers.settings import Settings

SCHEMA_VERSION = 1
DEFAULT_MAX_FUTURE_SKEW = timedelta(minutes=5)
MAX_TEXT_CHARS = 2_000

IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"
"""Ids of customers, campaigns, events, users: letters, digits and ``_.:-``, up to 64."""
Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)
]
"""Ids of customers, events, sailings, campaigns: short, printable, no spaces."""

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range when converted to UTC") from None


def aware_utc(moment: datetime, name: str) -> datetime:
    """``moment`` in UTC; ValueError naming ``name`` if it has no time zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"{name} must be timezone-aware, not {moment.isoformat()} (without a time zone)"
        )
    return moment.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware datetime, normalised to UTC. Naive datetimes are rejected."""


class ValidationClock:
    """The validation context: what "now" is and how far ahead an event may be stamped."""

    __slots__ = ("now", "max_future_skew")

    def __init__(
        self, now: datetime | None = None, max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW
    ) -> None:
        self.now = now
        self.max_future_skew = max_future_skew

    @classmethod
    def from_settings(cls, settings: Settings) -> ValidationClock:
        """The wall clock, with the skew allowed by OFFERS_MAX_FUTURE_SKEW_SECONDS."""
        return cls(max_future_skew=timedelta(seconds=settings.max_future_skew_seconds))

    def current(self) -> datetime:
        return self.now if self.now is not None else datetime.now(UTC)


class Event(BaseModel):
    """Base of every event on the wire.

    ``type`` names the event, ``schema_version`` its version; unknown fields are
    rejected, and ``event_time`` may not lie further in the future than the clock in the
    validation context allows (five minutes by default).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=False)

    TYPE: ClassVar[str]

    schema_version: int = Field(SCHEMA_VERSION, ge=SCHEMA_VERSION, le=SCHEMA_VERSION)
    event_id: Identifier
    event_time: UtcDatetime

    @field_validator("event_time")
    @classmethod
    def _not_in_future(cls, value: datetime, info: ValidationInfo) -> datetime:
        clock = _clock_from(info.context)
        limit = clock.current() + clock.max_future_skew
        if value > limit:
            raise ValueError(
                f"is {value.isoformat()}, later than now plus the allowed skew "
                f"({limit.isoformat()})"
            )
        return value

    def partition_key(self) -> str:
        """The record key: the value of the field its topic is partitioned by."""
        from offers.topics import topic_for

        return str(getattr(self, topic_for(self.TYPE).key))


def _clock_from(context: Any) -> ValidationClock:
    if isinstance(context, ValidationClock):
        return context
    clock = context.get("clock") if isinstance(context, dict) else None
    return clock if isinstance(clock, ValidationClock) else ValidationClock()
