"""Simulated time: integer milliseconds since the Unix epoch, and hourly activity profiles.

Times inside the simulator are plain ``int`` milliseconds (cheap to sort and compare);
they become timezone-aware UTC datetimes only when an event is built.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Relative activity per local hour (0-23), normalised below.
_SEARCH_PROFILE = (
    1,
    0.5,
    0.3,
    0.2,
    0.2,
    0.4,
    1,
    2,
    3,
    4,
    4.5,
    4.5,
    5,
    5,
    4.5,
    4.5,
    4.5,
    5,
    5.5,
    6.5,
    7.5,
    7.5,
    5.5,
    3,
)
_SOCIAL_PROFILE = (
    1.5,
    0.8,
    0.4,
    0.3,
    0.3,
    0.5,
    1.2,
    2.5,
    3.5,
    4,
    4,
    4.5,
    5,
    5,
    4.5,
    4.5,
    4.5,
    5,
    5.5,
    6,
    6.5,
    6.5,
    5,
    3,
)
_AMBIENT_PROFILE = (
    0.5,
    0.3,
    0.2,
    0.2,
    0.3,
    0.8,
    2.5,
    4.5,
    5.5,
    5,
    5,
    5,
    5.5,
    5.5,
    5,
    5,
    5,
    5.5,
    6,
    5.5,
    4.5,
    3.5,
    2,
    1,
)


def ms_of(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def utc_of(ms: int) -> datetime:
    """The UTC datetime of ``ms`` milliseconds since the epoch."""
    return _EPOCH + timedelta(milliseconds=ms)


def _normalised(profile: tuple[float, ...]) -> npt.NDArray[np.float64]:
    weights = np.asarray(profile, dtype=np.float64)
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def search_share(local_hour: int) -> float:
    """Share of a day's booking searches that happen in ``local_hour``."""
    return float(_normalised(_SEARCH_PROFILE)[local_hour])


def social_share(local_hour: int) -> float:
    """Share of a day's social posts that happen in ``local_hour``."""
    return float(_normalised(_SOCIAL_PROFILE)[local_hour])


def ambient_share(local_hour: int) -> float:
    """Share of a day's background location pings that happen in ``local_hour``."""
    return float(_normalised(_AMBIENT_PROFILE)[local_hour])
