"""Location and social signals of simulated customers at the moment of a trigger.

The location view of a customer who shares their location, and the social view of a
customer who posted in the 7 days before the moment, as the engine would read them, with
the customer's true position (which the ground truth uses whether the engine sees it or
not). The approximations are those listed in ``models.histories``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.histories import (
    GEOFENCE_ENTER,
    POSITIVE_SOCIAL_MENTION,
    RATES,
    Columns,
    FloatArray,
    IntArray,
    Lead,
    Moments,
)
from simulators.customers import Customers
from simulators.geo import haversine_km, jitter_km, offset_point
from simulators.ports import LANGUAGES, PORTS, port_index
from simulators.routes import Route
from simulators.social import Sentiment, draw_sentiments
from simulators.timeline import HOUR_MS

_SENTIMENT_SCORE = {Sentiment.POSITIVE: 1.0, Sentiment.NEGATIVE: -1.0, Sentiment.NEUTRAL: 0.0}
_MOBYLINES_TAG_SHARE = 0.3
_SHORT_CROSSING_MIN = 90
_PORT_LAT = np.array([port.lat for port in PORTS])
_PORT_LON = np.array([port.lon for port in PORTS])


def social_columns(rng: np.random.Generator, people: Customers, moments: Moments) -> Columns:
    """The social view of each moment: posts of the 7 days before it (none: no row)."""
    c = moments.customer
    forced = (moments.trigger == POSITIVE_SOCIAL_MENTION).astype(np.int64)
    drawn = rng.poisson(7.0 * RATES.social_scale * people.social_activity[c].astype(np.float64))
    posts = drawn + forced
    owner = np.repeat(np.arange(len(moments)), drawn)
    sentiments = draw_sentiments(rng, people.brand_affinity[c[owner]])
    scores = np.array([_SENTIMENT_SCORE[s] for s in sentiments], dtype=np.float64)
    total = np.bincount(owner, weights=scores, minlength=len(moments)) + forced
    mentions = posts + rng.binomial(posts, _MOBYLINES_TAG_SHARE)
    present = posts > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        sentiment = total / posts
    return {
        "sentiment_7d": np.where(present, sentiment, np.nan),
        "posts_7d": np.where(present, posts, np.nan),
        "brand_mentions_7d": np.where(present, mentions, np.nan),
        "language": [
            LANGUAGES[int(k)] if here else None
            for k, here in zip(people.language[c], present, strict=True)
        ],
    }


@dataclass(frozen=True, slots=True)
class Positions:
    """Where the customer of each moment is, whether the engine sees it or not."""

    lat: FloatArray
    lon: FloatArray


def location_columns(
    rng: np.random.Generator, people: Customers, routes: tuple[Route, ...], moments: Moments
) -> tuple[Columns, Positions, Lead]:
    """The location view of each moment (customers who share their location), the true
    positions, and the route and departure a GEOFENCE_ENTER customer travels for."""
    c, size = moments.customer, len(moments)
    lat, lon = jitter_km(
        rng, people.home_lat[c].astype(np.float64), people.home_lon[c].astype(np.float64), 4.0, size
    )
    trip = moments.trigger == GEOFENCE_ENTER
    lead = _trips(rng, people, routes, moments, np.flatnonzero(trip), (lat, lon))
    age_h = np.where(trip, 0.0, rng.exponential(24.0 / RATES.ambient_pings_per_day, size))
    moving = rng.random(size) < 0.3
    ambient_speed = np.where(moving, rng.uniform(1.0, 25.0, size), rng.uniform(0.0, 0.5, size))
    speed = np.where(trip, rng.uniform(3.0, 15.0, size), ambient_speed)
    ambient_pings = 1 + rng.poisson(RATES.ambient_pings_per_day / 24.0, size)
    pings = np.where(trip, rng.integers(8, 21, size), ambient_pings)
    nearest = haversine_km(lat[:, None], lon[:, None], _PORT_LAT[None, :], _PORT_LON[None, :])
    sharing = people.location_sharing[c]

    def seen(values: FloatArray | IntArray) -> FloatArray:
        return np.where(sharing, values.astype(np.float64), np.nan)

    columns: Columns = {
        "last_lat": seen(lat),
        "last_lon": seen(lon),
        "last_ping_ts": seen(np.floor((moments.request_ms - age_h * HOUR_MS) / 1000.0)),
        "nearest_port_km": seen(nearest.min(axis=1)),
        "dwell_s": seen(np.zeros(size)),
        "speed_mps": seen(speed),
        "pings_1h": seen(pings),
    }
    return columns, Positions(lat, lon), lead


def _trips(
    rng: np.random.Generator,
    people: Customers,
    routes: tuple[Route, ...],
    moments: Moments,
    tripping: IntArray,
    position: tuple[FloatArray, FloatArray],
) -> Lead:
    """Put the travellers (in ``position``, in place) at the edge of the geofence of the
    departure port of a favourite route, and say which departure they travel for."""
    lead = Lead(np.full(len(moments), -1, np.int64), np.full(len(moments), np.nan))
    count = len(tripping)
    pick = (rng.random(count) < 0.5).astype(np.int64)
    favourite = people.favourite_routes[moments.customer[tripping], pick].astype(np.int64)
    route = favourite + (rng.random(count) < 0.25)
    short = np.array([r.duration_min <= _SHORT_CROSSING_MIN for r in routes])[route]
    minutes = np.where(short, rng.uniform(20.0, 45.0, count), rng.uniform(45.0, 100.0, count))
    lead.route[tripping] = route
    lead.hours[tripping] = minutes / 60.0
    origins = np.array([port_index(r.origin) for r in routes])[route]
    lat, lon = position
    for p in np.unique(origins):
        port = PORTS[int(p)]
        at = tripping[origins == p]
        spread = rng.uniform(-1.0, 1.0, len(at)) * port.approach_spread_deg
        distance = np.full(len(at), 0.6 * port.geofence_km)
        lat[at], lon[at] = offset_point(
            port.lat, port.lon, distance, port.approach_bearing_deg + spread
        )
    return lead
