from __future__ import annotations

from collections import Counter
from datetime import date

import numpy as np

from offers.contracts import Event, SailingStatus, SailingUpdate
from simulators.routes import all_routes
from simulators.sailings import SailingLoads, build_schedule, fare_eur, fare_of
from simulators.timeline import DAY_MS


def test_fares_rise_with_load_and_drop_late_on_empty_sailings() -> None:
    loads = np.linspace(0.0, 1.0, 101)
    early = fare_eur(50.0, loads, 10.0)
    assert np.all(np.diff(early) >= 0) and early[-1] > 2 * early[0]
    late = fare_eur(50.0, loads, 1.0)
    assert late[10] < early[10] and late[90] == early[90]
    for load in loads:
        for days in (0.5, 2.9, 3.0, 20.0):
            assert abs(fare_of(50.0, float(load), days) - float(fare_eur(50.0, load, days))) < 0.011


def test_the_schedule_has_more_sailings_in_summer() -> None:
    routes = all_routes()
    winter = build_schedule(routes, date(2026, 1, 12), date(2026, 1, 18), 1)
    summer = build_schedule(routes, date(2026, 8, 10), date(2026, 8, 16), 1)
    assert len(summer) > 1.5 * len(winter)
    assert np.all(np.diff(summer.departure_ms) >= 0)
    assert np.all(summer.arrival_ms > summer.departure_ms)
    assert len(set(summer.sailing_ids)) == len(summer)
    assert summer.seasonal_fare.mean() > 1.5 * winter.seasonal_fare.mean()


def test_a_cancellation_gives_the_seats_back() -> None:
    schedule = build_schedule(all_routes(), date(2026, 7, 1), date(2026, 7, 2), 1)
    loads = SailingLoads(schedule)
    now = int(schedule.departure_ms[0]) - 5 * DAY_MS
    loads.sync_background(np.array([0]), now, np.zeros(1))
    before_load, before_fare = loads.booked(0), loads.fare(0, now)
    loads.add_customer_booking(0, 400, 40)
    assert loads.fare(0, now) > before_fare
    loads.add_customer_booking(0, -400, -40)
    assert loads.booked(0) == before_load and loads.fare(0, now) == before_fare
    assert not loads.has_room(0, int(schedule.capacity_passengers[0]) + 1, 0)


def test_sailing_updates_stay_within_capacity_and_price_load(small_events: list[Event]) -> None:
    updates = [e for e in small_events if isinstance(e, SailingUpdate)]
    assert all(u.booked_passengers <= u.capacity_passengers for u in updates)
    assert all(u.booked_cars <= u.capacity_cars for u in updates)
    load = np.array([u.booked_passengers / u.capacity_passengers for u in updates])
    per_route: dict[str, list[int]] = {}
    for k, u in enumerate(updates):
        per_route.setdefault(u.route_id, []).append(k)
    for indices in per_route.values():
        fares = np.array([updates[k].fare_eur for k in indices])
        if len(indices) > 20 and np.ptp(load[indices]) > 0.2:
            assert np.corrcoef(load[indices], fares)[0, 1] > 0.3
    statuses = Counter(u.status for u in updates)
    assert statuses[SailingStatus.DEPARTED] > 50 and statuses[SailingStatus.SCHEDULED] > 1_000
