"""Contact policy: who is held back, when a message may go out, which calendar counts it.

Pure functions over plain values, without I/O:

- :func:`in_global_control` and :func:`held_out` draw a customer into the global control
  group (never sent any offer) or into a campaign's holdout (decided, logged, not sent).
  Each draw is a keyed SHA-256 (HMAC) of the ids, read as a number uniform in [0, 1):
  the same customer lands in the same group in every process and every run, and the two
  draws, keyed apart, are independent of each other.
- :func:`quiet_hours_verdict` says whether a message may be sent now in the recipient's
  local time, or must wait for the end of the quiet window, or would be stale by then.
- :func:`local_day` and :func:`local_week` name the recipient's local day and ISO week,
  the periods frequency caps count in.

Times are timezone-aware ``datetime`` (a naive one raises ``ValueError``); zones are IANA
names (``"Europe/Rome"``) or :class:`zoneinfo.ZoneInfo`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from offers.contracts.base import aware_utc

GLOBAL_CONTROL_KEY = b"offers/global-control/v1"
"""HMAC key of the global control draw; changing it reshuffles the control group."""
HOLDOUT_KEY = b"offers/campaign-holdout/v1"
"""HMAC key of the campaigns' holdout draws; changing it reshuffles every holdout."""

_DRAW_SCALE = 2**64


@dataclass(frozen=True, slots=True)
class SendNow:
    """The recipient is outside quiet hours: send now."""


@dataclass(frozen=True, slots=True)
class Defer:
    """The recipient is in quiet hours: send at ``until`` (UTC), when they end."""

    until: datetime


@dataclass(frozen=True, slots=True)
class Drop:
    """The recipient is in quiet hours and the offer would be stale when they end."""

    reason: str


Verdict = SendNow | Defer | Drop
"""What the quiet hours say about sending a message now."""


def in_global_control(customer_id: str, share: float) -> bool:
    """Whether the customer belongs to the global control group of ``share`` (0 to 1)."""
    _check_share(share)
    return draw(GLOBAL_CONTROL_KEY, customer_id) < share


def held_out(customer_id: str, campaign_id: str, share: float) -> bool:
    """Whether the customer is in the campaign's holdout of ``share`` (0 to 1).

    Drawn per campaign, independently of the global control group and of other campaigns.
    """
    _check_share(share)
    return draw(HOLDOUT_KEY, f"{campaign_id}\x00{customer_id}") < share


def quiet_hours_verdict(
    now_utc: datetime,
    zone: str | ZoneInfo,
    *,
    start_hour: int,
    end_hour: int,
    stale_at: datetime,
) -> Verdict:
    """Whether a message may go out at ``now_utc`` to a recipient living in ``zone``.

    The quiet window runs each day from local ``start_hour``:00 (included) to
    ``end_hour``:00 (excluded); it crosses midnight when ``start_hour > end_hour`` and
    is empty when they are equal. Outside it: :class:`SendNow`. Inside it:
    :class:`Defer` until the next local ``end_hour``:00, or :class:`Drop` when the offer
    is stale by then (``stale_at`` at or before that moment).
    """
    _check_hour("start_hour", start_hour)
    _check_hour("end_hour", end_hour)
    now = aware_utc(now_utc, "now_utc")
    stale = aware_utc(stale_at, "stale_at")
    tz = zone_info(zone)
    local = now.astimezone(tz)
    if not _in_window(local.hour, start_hour, end_hour):
        return SendNow()
    until = _next_wall_hour(now, tz, end_hour)
    if stale <= until:
        return Drop(
            "quiet hours: the offer would be stale by "
            f"{stale.astimezone(tz).isoformat(timespec='minutes')}, before they end at "
            f"{until.astimezone(tz).isoformat(timespec='minutes')}"
        )
    return Defer(until)


def local_day(now_utc: datetime, zone: str | ZoneInfo) -> str:
    """The recipient's local date at ``now_utc``, such as ``"2026-03-29"``."""
    return local_date(now_utc, zone).isoformat()


def local_week(now_utc: datetime, zone: str | ZoneInfo) -> str:
    """The recipient's local ISO week at ``now_utc``, such as ``"2026-W13"``."""
    iso = local_date(now_utc, zone).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def local_date(now_utc: datetime, zone: str | ZoneInfo) -> date:
    """The recipient's local date at ``now_utc``."""
    return aware_utc(now_utc, "now_utc").astimezone(zone_info(zone)).date()


def local_midnight(day: date, zone: str | ZoneInfo) -> datetime:
    """When ``day`` begins in ``zone``, in UTC (where midnight does not exist that day,
    the moment the clocks jump past it)."""
    return datetime.combine(day, time(0), tzinfo=zone_info(zone)).astimezone(UTC)


def draw(key: bytes, message: str) -> float:
    """A number in [0, 1) fixed by ``key`` and ``message`` (a keyed SHA-256), uniform over
    messages; each use has its own key, so draws of different uses are independent."""
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / _DRAW_SCALE


def _in_window(hour: int, start_hour: int, end_hour: int) -> bool:
    if start_hour == end_hour:
        return False
    if start_hour < end_hour:
        return start_hour <= hour < end_hour
    return hour >= start_hour or hour < end_hour


def _next_wall_hour(now: datetime, tz: ZoneInfo, hour: int) -> datetime:
    """The first instant after ``now`` at which the wall clock of ``tz`` shows ``hour``:00.

    An hour the clocks go back over occurs twice (both readings are candidates); an hour
    they skip resolves to the moment they jump past it.
    """
    today = now.astimezone(tz).date()
    return min(moment for moment in _wall_hours(tz, today, hour) if moment > now)


@lru_cache(maxsize=4096)
def _wall_hours(tz: ZoneInfo, today: date, hour: int) -> tuple[datetime, ...]:
    """The instants at which the wall clock of ``tz`` shows ``hour``:00 on ``today`` and
    the two days after (remembered: every decision of a day in a zone asks the same)."""
    candidates: list[datetime] = []
    for offset in (0, 1, 2):
        wall = datetime.combine(today + timedelta(days=offset), time(hour), tzinfo=tz)
        readings = [wall.astimezone(UTC), wall.replace(fold=1).astimezone(UTC)]
        shown = [r for r in readings if r.astimezone(tz).replace(tzinfo=None) == _naive(wall)]
        candidates.extend(shown or readings[:1])
    return tuple(candidates)


def _naive(wall: datetime) -> datetime:
    return wall.replace(tzinfo=None, fold=0)


def _check_share(share: float) -> None:
    if not (math.isfinite(share) and 0.0 <= share <= 1.0):
        raise ValueError(f"share is {share}, not between 0 and 1")


def _check_hour(name: str, hour: int) -> None:
    if not 0 <= hour <= 23:
        raise ValueError(f"{name} is {hour}, not an hour from 0 to 23")


def zone_info(zone: str | ZoneInfo) -> ZoneInfo:
    """The time zone named ``zone`` (an IANA name); ValueError if there is none."""
    if isinstance(zone, ZoneInfo):
        return zone
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"zone {zone!r} is not a known IANA time zone") from None
