"""What every event shares: identity, event time, schema version, strict validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

if TYPE_CHECKING:
    from offers.settings import Settings

SCHEMA_VERSION = 1
DEFAULT_MAX_FUTURE_SKEW = timedelta(minutes=5)
MAX_TEXT_CHARS = 2_000

EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)
"""Every timestamp of an event lies in [EARLIEST_TIME, LATEST_TIME): the engine and its
data are far younger than 2000, and a departure, expiry or send time past 2100 can only
be a corrupt value. The bound keeps window and TTL arithmetic (milliseconds since the
epoch, ``+ timedelta``) far from the limits of ``datetime``. ``event_time`` is bounded
more tightly from above by the validation clock (now plus the allowed skew)."""

INT_LIMIT = 2**63
"""Every integer of an event, nested ones included, lies in [-INT_LIMIT, INT_LIMIT): the
signed 64-bit range that orjson writes and that Kafka's and Java's readers share."""

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
    validation context allows (five minutes by default). Every field of every event,
    down to the values nested in its lists, objects and sub-records, holds timestamps
    within :data:`EARLIEST_TIME` .. :data:`LATEST_TIME` and integers within the signed
    64-bit range (:func:`out_of_range`), so a decoded event can always be encoded again.
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

    @model_validator(mode="after")
    def _within_range(self) -> Self:
        # one pass over the fields once they are valid: far cheaper than a validator per
        # field, as strings and floats, most of an event, are passed over at once
        for name, value in self.__dict__.items():
            if isinstance(value, str) or value is None or isinstance(value, float):
                continue
            problem = out_of_range(value)
            if problem is not None:
                raise ValueError(f"{name}: {problem}")
        return self

    def partition_key(self) -> str:
        """The record key: the value of the field its topic is partitioned by."""
        from offers.topics import topic_for

        return str(getattr(self, topic_for(self.TYPE).key))


def out_of_range(value: Any) -> str | None:
    """Why ``value`` (a field's validated value) lies outside what an event may hold: a
    timestamp outside :data:`EARLIEST_TIME` .. :data:`LATEST_TIME`, or an integer outside
    the signed 64-bit range, at any depth; None when it lies within. The walk uses a
    stack of its own, so no nesting can exhaust Python's recursion limit."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str | float | bool | None):
            continue
        if isinstance(item, datetime):
            if not EARLIEST_TIME <= item < LATEST_TIME:
                return (
                    f"is {item.isoformat()}, outside the years an event may name "
                    f"({EARLIEST_TIME.year} to {LATEST_TIME.year - 1}, UTC)"
                )
        elif isinstance(item, int):
            if not -INT_LIMIT <= item < INT_LIMIT:
                digits = len(str(abs(item)))
                return f"holds an integer of {digits} digits, beyond the signed 64-bit range"
        elif isinstance(item, BaseModel):
            pending.extend(item.__dict__.values())
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return None


def _clock_from(context: Any) -> ValidationClock:
    if isinstance(context, ValidationClock):
        return context
    clock = context.get("clock") if isinstance(context, dict) else None
    return clock if isinstance(clock, ValidationClock) else ValidationClock()
