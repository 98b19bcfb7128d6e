"""The simulated world sends a customer's pings only if they granted the location consent:
the customers whose app shares their location are those the consent rule grants it."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from offers.contracts import ConsentScope, Event, LocationPing
from simulators.consent import CONSENT_SHARES, consent_changes, granting, grants
from simulators.customers import customer_id, generate_customers
from simulators.routes import all_routes
from simulators.world import World

LOCATION = ConsentScope.LOCATION


def test_the_bulk_draw_is_the_rule_customer_by_customer() -> None:
    ids = [customer_id(i) for i in range(3_000)] + ["someone", "x|y", "ünïcode"]
    for seed in (7, 11):
        for scope in ConsentScope:
            expected = [grants(seed, customer, scope) for customer in ids]
            assert granting(seed, ids, scope).tolist() == expected
    assert granting(7, [], LOCATION).shape == (0,)


def test_location_sharing_is_exactly_the_location_consent() -> None:
    customers = generate_customers(5_000, 7, all_routes())
    expected = [grants(7, customer_id(i), LOCATION) for i in range(5_000)]
    assert customers.location_sharing.tolist() == expected
    assert 0.30 < customers.location_sharing.mean() < 0.40
    assert CONSENT_SHARES[LOCATION] == 0.35


def test_the_consent_placed_for_the_world_grants_location_to_the_sharing_customers() -> None:
    customers = generate_customers(2_000, 7, all_routes())
    ids = [customer_id(i) for i in range(2_000)]
    changes = consent_changes(ids, 7, at=datetime(2026, 6, 30, tzinfo=UTC))
    located = {c.customer_id for c in changes if c.scope is LOCATION and c.granted}
    assert located == {ids[i] for i in np.flatnonzero(customers.location_sharing)}


def test_every_ping_is_of_a_customer_with_location_consent(
    small_world: World, small_events: list[Event]
) -> None:
    seed = small_world.config.seed
    pinging = {e.customer_id for e in small_events if isinstance(e, LocationPing)}
    assert len(pinging) > 100
    assert all(grants(seed, customer, LOCATION) for customer in pinging)
    # and the customers without it are many, and silent
    silent = [
        customer_id(i)
        for i in range(small_world.config.customers)
        if not grants(seed, customer_id(i), LOCATION)
    ]
    assert len(silent) > 500 and not pinging & set(silent)
