"""Location pings: trips towards a departure port, and everyday pings around home.

A trip starts 30-60 km inland of the port (less on small islands), comes closer at road
speed with a ping every few minutes, enters the port's geofence some time before the
departure and pings a few more times while queueing at the terminal. The distance to the
port decreases strictly from one ping to the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from simulators.customers import Customers
from simulators.geo import jitter_km, offset_point
from simulators.ports import Port
from simulators.timeline import MINUTE_MS, SECOND_MS

TimedFields = tuple[int, dict[str, Any]]
"""An event to be: its time (ms since the epoch) and its fields."""

MAX_TRIP_LEAD_MS = 150 * MINUTE_MS
"""A trip's first ping is at most this long before the departure."""
_TERMINAL_SHARES = (0.45, 0.3, 0.15)
_SOURCES = ("gps", "network", "wifi")
_SOURCE_SHARES = (0.9, 0.07, 0.03)
_ACCURACY = np.array([[8.0, 3.0, 60.0], [300.0, 50.0, 2_000.0], [40.0, 15.0, 120.0]])
"""Typical, lowest and highest accuracy (m) of each source."""


@dataclass(frozen=True, slots=True)
class TripPlan:
    """Who goes to which port for which departure."""

    customer_id: str
    port: Port
    departure_ms: int
    short_crossing: bool


def _fix(rng: np.random.Generator, count: int) -> tuple[list[str], npt.NDArray[np.float64]]:
    """Source and accuracy (m) of ``count`` position fixes."""
    kinds = rng.choice(len(_SOURCES), size=count, p=_SOURCE_SHARES)
    typical, low, high = _ACCURACY[kinds].T
    accuracy = np.clip(typical * rng.lognormal(0.0, 0.5, count), low, high)
    return [_SOURCES[k] for k in kinds], accuracy


def _approach_profile(
    rng: np.random.Generator, plan: TripPlan, interval_ms: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Ping times, distances to the port (km) and speeds (m/s) of one trip."""
    port = plan.port
    lead = rng.uniform(20, 45) if plan.short_crossing else rng.uniform(45, 100)
    arrive = plan.departure_ms - int(lead * MINUTE_MS)
    far = min(port.approach_max_km, 60.0)
    start_km = rng.uniform(max(far / 2, min(30.0, far)), far)
    end_km = 0.6 * port.geofence_km
    speed = rng.uniform(14.0, 22.0)
    duration_ms = int((start_km - end_km) * 1_000 / speed * SECOND_MS)
    steps = rng.uniform(0.8, 1.2, 64) * interval_ms
    offsets = np.concatenate([[0.0], np.cumsum(steps)])
    offsets = offsets[offsets < duration_ms].astype(np.int64)
    x = offsets / duration_ms
    road = end_km + (start_km - end_km) * (1.0 - x) ** 1.2
    road_speed = speed * 1.2 * (1.0 - x) ** 0.2
    waits = np.arange(len(_TERMINAL_SHARES) + 1, dtype=np.int64) * interval_ms
    times = np.concatenate([arrive - duration_ms + offsets, arrive + waits])
    distances = np.concatenate([road, [end_km], np.array(_TERMINAL_SHARES) * port.geofence_km])
    speeds = np.concatenate([road_speed, rng.uniform(0.0, 2.0, len(waits))])
    keep = times < plan.departure_ms
    return times[keep], distances[keep], speeds[keep]


def trip_pings(rng: np.random.Generator, plan: TripPlan, interval_ms: int) -> list[TimedFields]:
    """The location pings of one trip to ``plan.port``, in time order."""
    times, distances, speeds = _approach_profile(rng, plan, interval_ms)
    port = plan.port
    bearing0 = port.approach_bearing_deg + rng.uniform(-1, 1) * port.approach_spread_deg
    bearings = bearing0 + np.linspace(0.0, rng.uniform(-8.0, 8.0), len(times))
    lats, lons = offset_point(port.lat, port.lon, distances, bearings)
    sources, accuracy = _fix(rng, len(times))
    return _pings([plan.customer_id] * len(times), times, lats, lons, accuracy, speeds, sources)


def _pings(
    ids: list[str],
    times: npt.NDArray[np.int64],
    lats: npt.NDArray[np.float64],
    lons: npt.NDArray[np.float64],
    accuracy: npt.NDArray[np.float64],
    speeds: npt.NDArray[np.float64],
    sources: list[str],
) -> list[TimedFields]:
    columns = zip(
        ids,
        times.tolist(),
        np.round(lats, 5).tolist(),
        np.round(lons, 5).tolist(),
        np.round(accuracy, 1).tolist(),
        np.round(speeds, 2).tolist(),
        sources,
        strict=True,
    )
    return [
        (
            time_ms,
            {
                "customer_id": cid,
                "lat": lat,
                "lon": lon,
                "accuracy_m": acc,
                "speed_mps": speed,
                "source": source,
            },
        )
        for cid, time_ms, lat, lon, acc, speed, source in columns
    ]


def ambient_pings(
    rng: np.random.Generator,
    customers: Customers,
    indices: npt.NDArray[np.int64],
    times_ms: npt.NDArray[np.int64],
    ids: list[str],
) -> list[TimedFields]:
    """One everyday ping per customer in ``indices``, near home, at ``times_ms``."""
    count = len(indices)
    lats, lons = jitter_km(
        rng,
        customers.home_lat[indices].astype(np.float64),
        customers.home_lon[indices].astype(np.float64),
        4.0,
        count,
    )
    moving = rng.random(count) < 0.3
    speeds = np.where(moving, rng.uniform(1.0, 25.0, count), rng.uniform(0.0, 0.5, count))
    sources, accuracy = _fix(rng, count)
    return _pings(ids, times_ms.astype(np.int64), lats, lons, accuracy, speeds, sources)
