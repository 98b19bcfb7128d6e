"""Location-derived features take part in a decision only with the customer's location
consent, as the worker's consent replica holds it at the moment of the decision.

Every field of the customer-location view is derived from the customer's pings: the last
position, the nearest port and the distance to it, the geofence and the time spent in it,
the speed, the ping rate, the time of the last ping, and the row's event time. So are the
model's features computed from them (hours since the last ping, distance to the offered
departure port) and what the decision takes from them (the customer's time zone from the
nearest port, the position that polygon geofences test, segment rules on these features).

Without the consent (``consent(customer|location)`` is not True: never given, withdrawn
or erased), :func:`mask_location` blanks the customer's location features before
anything reads them: they reach the model as missing (None, NaN once encoded: LightGBM's
missing value), and everything derived from them is missing too. A ``geofence_enter``
trigger exists only because of the customer's location: :func:`needs_location_consent`
says so, and without the consent it is decided without an offer, for the reason
``no_location_consent`` (:data:`NO_LOCATION_CONSENT`), before any campaign is considered.

The replica follows ``state.consent`` within a second, so a withdrawal stops the use of
location in scoring at once, whatever the online store still holds: this check at
decision time is the guarantee (the stream processor also deletes the customer's location
rows on a withdrawal, and every location row once it is older than the retention:
:mod:`streams.location_retention`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from features.fields import CUSTOMER_LOCATION
from features.online import EVENT_TIME_PREFIX
from offers.campaigns.targeting import Trigger
from offers.contracts.events import ConsentScope, consent_key
from streams.decisions.context import LOCATION_VIEW
from streams.decisions.triggers import TriggerHit

LOCATION_FEATURES: frozenset[str] = frozenset(
    {*(field.name for field in CUSTOMER_LOCATION), EVENT_TIME_PREFIX + LOCATION_VIEW}
)
"""Every column of an online read that comes from the customer's pings: all the fields of
the location view, and its row's event time."""
NO_LOCATION_CONSENT = "no_location_consent"
"""The reason of a ``geofence_enter`` trigger decided without the location consent."""

ConsentLookup = Callable[[str], bool | None]
"""The consent replica's lookup: ``consent(key)``, None when it holds no record."""


def location_consented(consent: ConsentLookup, customer_id: str) -> bool:
    """Whether the replica holds the customer's location consent as granted."""
    return consent(consent_key(customer_id, ConsentScope.LOCATION)) is True


def location_consents(customer_ids: Iterable[str], consent: ConsentLookup) -> dict[str, bool]:
    """Each distinct customer's location consent, looked up once, as the replica holds it."""
    return {
        customer: location_consented(consent, customer) for customer in dict.fromkeys(customer_ids)
    }


def needs_location_consent(hit: TriggerHit) -> bool:
    """Whether the trigger exists only because of the customer's location."""
    return hit.trigger is Trigger.GEOFENCE_ENTER


def lacks_location_consent(hit: TriggerHit, located: Mapping[str, bool]) -> bool:
    """Whether ``hit`` needs the location consent and its customer's is not held
    (``located``: :func:`location_consents` of the hits' customers)."""
    return needs_location_consent(hit) and not located[hit.customer_id]


def mask_location(
    columns: Mapping[str, Sequence[Any]], located: Sequence[bool]
) -> dict[str, Sequence[Any]]:
    """``columns`` (name -> one value per customer row) with the location features of
    every row ``i`` whose ``located[i]`` is False set to None: new lists for those
    columns, the others as they are (``columns`` is not changed)."""
    for name, values in columns.items():
        if len(values) != len(located):
            raise ValueError(f"{name}: {len(values)} rows, but {len(located)} consents")
    masked = dict(columns)
    if all(located):
        return masked
    for name in LOCATION_FEATURES.intersection(columns):
        masked[name] = [v if ok else None for v, ok in zip(columns[name], located, strict=True)]
    return masked
