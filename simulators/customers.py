"""Customers and their latent traits, stored as numpy arrays (one entry per customer).

Traits are drawn vectorised from the seed, so a million profiles take a few tens of
megabytes and well under a second. Customer ``i`` (0-based) has the id ``c0000001`` for
``i = 0``; see :func:`customer_id`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from offers.contracts import ConsentScope
from simulators.consent import granting
from simulators.geo import haversine_km
from simulators.ports import HOME_CITIES, LANGUAGES, port_named
from simulators.routes import Route

CUSTOMER_STREAM = 3
MIN_CUSTOMERS = 1
MAX_CUSTOMERS = 9_999_999
CHANNELS: tuple[str, ...] = ("push", "whatsapp", "sms", "messenger")
_CHANNEL_SHARES = (0.35, 0.30, 0.20, 0.15)
_ROUTE_DISTANCE_SCALE_KM = 350.0
_CORSICA_PORTS = ("BAS", "BON")


@dataclass(frozen=True, slots=True)
class Customers:
    """Struct of arrays: entry ``i`` of every array describes customer ``i``."""

    home_city: npt.NDArray[np.uint8]
    """Index into :data:`simulators.ports.HOME_CITIES`."""
    home_lat: npt.NDArray[np.float32]
    home_lon: npt.NDArray[np.float32]
    language: npt.NDArray[np.uint8]
    """Index into :data:`simulators.ports.LANGUAGES` (it, en, de, fr)."""
    family: npt.NDArray[np.bool_]
    party_size: npt.NDArray[np.uint8]
    """Passengers travelling together (1-2 without children, 3-5 for families)."""
    has_car: npt.NDArray[np.bool_]
    price_sensitivity: npt.NDArray[np.float32]
    """0 (indifferent to price) to 1 (buys only on price)."""
    travel_propensity: npt.NDArray[np.float32]
    """Relative appetite for travel; 1.0 on average."""
    social_activity: npt.NDArray[np.float32]
    """Expected public posts per day."""
    brand_affinity: npt.NDArray[np.float32]
    """-1 (detractor) to 1 (fan): drives the sentiment of posts."""
    favourite_routes: npt.NDArray[np.uint8]
    """Shape (n, 2): indices of two outbound routes (may be the same route twice)."""
    location_sharing: npt.NDArray[np.bool_]
    """Whether the customer's app shares their location: exactly the customers who grant
    the location consent (:func:`simulators.consent.granting`)."""
    preferred_channel: npt.NDArray[np.uint8]
    """Index into :data:`CHANNELS`."""

    def __len__(self) -> int:
        return len(self.home_city)

    @property
    def nbytes(self) -> int:
        """Memory held by the trait arrays."""
        return sum(int(getattr(self, f.name).nbytes) for f in fields(self))


def customer_id(index: int) -> str:
    """The id of customer ``index`` (0-based): ``c0000001`` for index 0."""
    return f"c{index + 1:07d}"


def customer_index(customer: str) -> int:
    """The 0-based index of a customer id made by :func:`customer_id`."""
    return int(customer[1:]) - 1


def generate_customers(count: int, seed: int, routes: tuple[Route, ...]) -> Customers:
    """``count`` customer profiles drawn from ``seed`` (vectorised, deterministic)."""
    if not MIN_CUSTOMERS <= count <= MAX_CUSTOMERS:
        raise ValueError(f"count must be 1..{MAX_CUSTOMERS}, got {count}")
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, CUSTOMER_STREAM])))
    weights = np.array([c.weight for c in HOME_CITIES], dtype=np.float64)
    home = rng.choice(len(HOME_CITIES), size=count, p=weights / weights.sum()).astype(np.uint8)
    lat = np.array([c.lat for c in HOME_CITIES])[home] + rng.normal(0.0, 0.06, count)
    lon = np.array([c.lon for c in HOME_CITIES])[home] + rng.normal(0.0, 0.08, count)
    language = _pick_rows(rng, np.array([c.languages for c in HOME_CITIES])[home])
    family = rng.random(count) < 0.4
    party = np.where(family, rng.integers(3, 6, count), rng.integers(1, 3, count))
    has_car = rng.random(count) < np.where(family, 0.7, 0.4)
    sensitivity = np.clip(rng.beta(2.0, 2.5, count) + 0.1 * family, 0.0, 1.0)
    propensity = rng.lognormal(-0.18, 0.6, count)
    social = np.minimum(rng.lognormal(-3.9, 1.0, count), 2.0)
    affinity = np.clip(rng.normal(0.25, 0.45, count), -1.0, 1.0)
    route_probs = favourite_route_probabilities(routes)[home]
    favourites = np.stack([_pick_rows(rng, route_probs), _pick_rows(rng, route_probs)], axis=1)
    outbound = np.flatnonzero([route.outbound for route in routes])
    channel = rng.choice(len(CHANNELS), size=count, p=_CHANNEL_SHARES)
    return Customers(
        home_city=home,
        home_lat=lat.astype(np.float32),
        home_lon=lon.astype(np.float32),
        language=language.astype(np.uint8),
        family=family,
        party_size=party.astype(np.uint8),
        has_car=has_car,
        price_sensitivity=sensitivity.astype(np.float32),
        travel_propensity=propensity.astype(np.float32),
        social_activity=social.astype(np.float32),
        brand_affinity=affinity.astype(np.float32),
        favourite_routes=outbound[favourites].astype(np.uint8),
        location_sharing=granting(
            seed, [customer_id(i) for i in range(count)], ConsentScope.LOCATION
        ),
        preferred_channel=channel.astype(np.uint8),
    )


def favourite_route_probabilities(routes: tuple[Route, ...]) -> npt.NDArray[np.float64]:
    """Shape (cities, outbound routes): how likely a home city favours each route.

    Nearer departure ports and bigger services weigh more; French speakers lean to
    Corsica.
    """
    outbound = [route for route in routes if route.outbound]
    table = np.empty((len(HOME_CITIES), len(outbound)), dtype=np.float64)
    for c, city in enumerate(HOME_CITIES):
        for r, route in enumerate(outbound):
            port = port_named(route.origin)
            distance = float(haversine_km(city.lat, city.lon, port.lat, port.lon))
            size = route.sailings_per_day[2] ** 0.5 * route.capacity_passengers / 1000.0
            corsica = 1.0 + 2.0 * city.languages[3] * (route.destination in _CORSICA_PORTS)
            table[c, r] = size * corsica * np.exp(-distance / _ROUTE_DISTANCE_SCALE_KM)
    return np.asarray(table / table.sum(axis=1, keepdims=True), dtype=np.float64)


def _pick_rows(
    rng: np.random.Generator, probabilities: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """One column index per row, drawn with that row's probabilities."""
    cumulative = np.cumsum(probabilities, axis=1)
    draws = rng.random(len(probabilities))[:, None] * cumulative[:, -1:]
    picks = (draws >= cumulative).sum(axis=1)
    return np.asarray(np.minimum(picks, probabilities.shape[1] - 1), dtype=np.int64)


def language_code(customers: Customers, index: int) -> str:
    return LANGUAGES[int(customers.language[index])]
