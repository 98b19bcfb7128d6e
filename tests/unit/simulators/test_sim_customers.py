from __future__ import annotations

import time

import numpy as np

from simulators.customers import customer_id, customer_index, generate_customers
from simulators.ports import HOME_CITIES, LANGUAGES
from simulators.routes import all_routes


def test_a_million_profiles_are_quick_and_small() -> None:
    started = time.perf_counter()
    customers = generate_customers(1_000_000, 7, all_routes())
    elapsed = time.perf_counter() - started
    assert len(customers) == 1_000_000
    assert customers.nbytes < 64 * 2**20
    assert elapsed < 10.0
    assert customer_id(999_999) == "c1000000"


def test_profiles_are_deterministic_and_plausible() -> None:
    routes = all_routes()
    a = generate_customers(20_000, 1, routes)
    b = generate_customers(20_000, 1, routes)
    c = generate_customers(20_000, 2, routes)
    assert np.array_equal(a.price_sensitivity, b.price_sensitivity)
    assert not np.array_equal(a.price_sensitivity, c.price_sensitivity)
    assert customer_index(customer_id(1234)) == 1234
    assert set(np.unique(a.language)) == set(range(len(LANGUAGES)))
    munich = [i for i, city in enumerate(HOME_CITIES) if city.name == "Munich"][0]
    in_munich = a.home_city == munich
    assert np.mean(a.language[in_munich] == LANGUAGES.index("de")) > 0.7
    assert all(routes[r].outbound for r in np.unique(a.favourite_routes))
    assert np.all((a.price_sensitivity >= 0) & (a.price_sensitivity <= 1))
    assert a.party_size[a.family].min() >= 3 and a.party_size[~a.family].max() <= 2
    assert 0.25 < a.location_sharing.mean() < 0.45
