from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from geopy.distance import geodesic

from offers.contracts import Event, LocationPing
from simulators.geo import haversine_km
from simulators.ports import PORTS, Port
from simulators.timeline import MINUTE_MS, ms_of
from simulators.trips import MAX_TRIP_LEAD_MS, TripPlan, trip_pings

DEPARTURE = ms_of(datetime(2026, 7, 10, 9, 0, tzinfo=UTC))


def _distances_km(port: Port, pings: list[tuple[int, dict[str, Any]]]) -> list[float]:
    return [geodesic((f["lat"], f["lon"]), (port.lat, port.lon)).km for _, f in pings]


@pytest.mark.parametrize("port", PORTS, ids=[p.code for p in PORTS])
def test_trip_pings_close_in_on_the_port(port: Port) -> None:
    for seed in range(5):
        rng = np.random.Generator(np.random.PCG64(seed))
        plan = TripPlan("c0000001", port, DEPARTURE, short_crossing=seed % 2 == 0)
        pings = trip_pings(rng, plan, 180_000)
        distances = _distances_km(port, pings)
        times = [t for t, _ in pings]
        assert len(pings) >= 5
        assert all(a > b for a, b in zip(distances, distances[1:], strict=False))
        assert distances[0] >= min(port.approach_max_km, 60.0) / 2 - 0.5
        assert distances[-1] < port.geofence_km
        assert sum(d < port.geofence_km for d in distances) >= 3
        assert times == sorted(times)
        assert DEPARTURE - MAX_TRIP_LEAD_MS <= times[0] and times[-1] < DEPARTURE
        gaps = np.diff(times)
        assert gaps.min() > 0 and gaps.max() <= 1.2 * 3 * MINUTE_MS


def test_the_stream_has_trips_that_end_in_a_port_geofence(busy_events: list[Event]) -> None:
    pings = [e for e in busy_events if isinstance(e, LocationPing)]
    lats = np.array([p.lat for p in pings])
    lons = np.array([p.lon for p in pings])
    inside = set()
    for port in PORTS:
        near = np.flatnonzero(haversine_km(lats, lons, port.lat, port.lon) < 2 * port.geofence_km)
        for k in near:
            p = pings[int(k)]
            if geodesic((p.lat, p.lon), (port.lat, port.lon)).km < port.geofence_km:
                inside.add((p.customer_id, port.code))
    assert len(inside) >= 20
    assert all(p.accuracy_m > 0 and p.speed_mps is not None for p in pings)
