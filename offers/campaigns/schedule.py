"""When a campaign may send: between two instants, on some days, in some hours.

Days and hours are those of the recipient's local time. A daily window runs from
``start_hour`` (included) to ``end_hour`` (excluded); when ``start_hour`` is later than
``end_hour`` it crosses midnight, and the night belongs to the day it starts on: with
days ``[fri]`` and hours 22 to 2, Friday 23:00 and Saturday 01:00 are in the schedule,
Friday 01:00 is not. Hours are read on the local wall clock, so on the night clocks go
forward a window of 2 to 3 o'clock does not occur, and on the night they go back it
occurs twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    field_validator,
    model_validator,
)

from offers.campaigns.errors import field_problem
from offers.campaigns.primitives import canonical
from offers.contracts.base import UtcDatetime, aware_utc


class Weekday(IntEnum):
    """ISO days of the week: Monday is 1, Sunday 7."""

    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7


_DAY_NAMES: dict[str, Weekday] = {
    **{day.name.lower(): day for day in Weekday},
    **{day.name.lower()[:3]: day for day in Weekday},
}


class DailyHours(BaseModel):
    """A window of local hours, each day: ``start_hour`` up to ``end_hour``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_hour: Annotated[int, Strict(), Field(ge=0, le=23)] = Field(
        description="First local hour of the window, 0 to 23."
    )
    end_hour: Annotated[int, Strict(), Field(ge=1, le=24)] = Field(
        description=(
            "Local hour the window ends at (excluded), 1 to 24; earlier than start_hour "
            "for a window that crosses midnight."
        )
    )

    @model_validator(mode="after")
    def _not_empty(self) -> DailyHours:
        if self.start_hour == self.end_hour:
            raise field_problem(
                "end_hour", "equals start_hour: the window is empty (omit hours for all day)"
            )
        return self

    @property
    def crosses_midnight(self) -> bool:
        return self.start_hour > self.end_hour


class Schedule(BaseModel):
    """The instants a campaign may send at, in the recipient's local days and hours."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: UtcDatetime = Field(description="First instant (timezone-aware; stored in UTC).")
    end: UtcDatetime = Field(description="Instant the campaign stops (excluded), after start.")
    days: Annotated[tuple[Weekday, ...], AfterValidator(canonical(Weekday))] = Field(
        tuple(Weekday),
        min_length=1,
        description="Local days it sends on: 1 (Monday) to 7, or names (mon, monday); all by "
        "default.",
    )
    hours: DailyHours | None = Field(
        None, description="Local hours it sends in, each day; all day when absent."
    )

    @field_validator("days", mode="before")
    @classmethod
    def _day_names(cls, days: Any) -> Any:
        if not isinstance(days, list | tuple):
            return days
        numbers: list[Any] = []
        for i, day in enumerate(days):
            if isinstance(day, bool) or not isinstance(day, int | str | Weekday):
                raise field_problem(
                    str(i), f"must be a day number, 1 (Monday) to 7, or a name (got {day!r})"
                )
            if isinstance(day, str):
                number = _DAY_NAMES.get(day.strip().lower())
                if number is None:
                    raise field_problem(
                        str(i),
                        f"unknown day {day!r}; use 1 to 7 (Monday is 1) or a name such as "
                        "'mon' or 'monday'",
                    )
                day = number
            numbers.append(day)
        return numbers

    @model_validator(mode="after")
    def _ends_after_start(self) -> Schedule:
        if self.end <= self.start:
            raise field_problem(
                "end", f"is {self.end.isoformat()}, not after start ({self.start.isoformat()})"
            )
        return self


def in_schedule(
    schedule: Schedule, moment_utc: datetime, recipient_timezone: str | ZoneInfo
) -> bool:
    """Whether the campaign may send at ``moment_utc`` to a recipient in that time zone.

    ``moment_utc`` must be timezone-aware; ``recipient_timezone`` is an IANA name such as
    ``"Europe/Rome"`` (an unknown name raises ``zoneinfo.ZoneInfoNotFoundError``).
    """
    aware_utc(moment_utc, "moment_utc")
    if not schedule.start <= moment_utc < schedule.end:
        return False
    zone = (
        recipient_timezone
        if isinstance(recipient_timezone, ZoneInfo)
        else ZoneInfo(recipient_timezone)
    )
    local = moment_utc.astimezone(zone)
    day = Weekday(local.isoweekday())
    hours = schedule.hours
    if hours is None:
        return day in schedule.days
    if not hours.crosses_midnight:
        return day in schedule.days and hours.start_hour <= local.hour < hours.end_hour
    if local.hour >= hours.start_hour:
        return day in schedule.days
    if local.hour < hours.end_hour:
        return Weekday(7 if day == 1 else day - 1) in schedule.days
    return False
