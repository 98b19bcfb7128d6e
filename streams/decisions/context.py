"""What the decision agent knows of a customer when a trigger arrives, from the online
features and the consent replica; and whether those features already show the trigger.

Read your writes: a trigger's own event is processed by a feature agent, which writes the
customer's row in one of the feature views; the decision reads that row. A row holds its
event time (the latest event it reflects), so :func:`shows` tells whether the row already
includes the trigger's event. Sailing signals depend on no customer view.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from features.online import EVENT_TIME_PREFIX
from models.inputs import ONLINE_VIEW_FEATURES
from offers.campaigns import network
from offers.contracts import Channel, ConsentScope, Language, Trigger
from offers.contracts.events import consent_key
from streams.decisions.eligibility import CustomerContext
from streams.decisions.triggers import TriggerHit
from streams.features.windows import to_ms

LOCATION_VIEW = "customer_location_fv"
BOOKING_VIEW = "customer_booking_fv"
SOCIAL_VIEW = "customer_social_fv"

DECISION_FEATURES: dict[str, tuple[str, ...]] = {
    **ONLINE_VIEW_FEATURES,
    LOCATION_VIEW: (*ONLINE_VIEW_FEATURES[LOCATION_VIEW], "nearest_port"),
}
"""What the decision agent reads: the model's features and the customer's nearest port
(whose time zone is the customer's)."""

VIEW_OF_TRIGGER: dict[Trigger, str | None] = {
    Trigger.GEOFENCE_ENTER: LOCATION_VIEW,
    Trigger.SEARCH: BOOKING_VIEW,
    Trigger.ABANDONED_QUOTE: None,
    Trigger.POSITIVE_SOCIAL_MENTION: SOCIAL_VIEW,
    Trigger.FARE_DROP: None,
    Trigger.CAPACITY_RELEASED: None,
}
"""The feature view a trigger's own event is written to; None when no customer view
waits for it (an abandoned quote is found long after its quote was written)."""

_LANGUAGES = {language.value: language for language in Language}


def shows(hit: TriggerHit, event_times: Mapping[str, Sequence[float | None]], row: int) -> bool:
    """Whether row ``row`` of the read features already reflects the hit's event.

    Rows keep event times to the millisecond: a row at or after the hit's millisecond does.
    """
    view = VIEW_OF_TRIGGER[hit.trigger]
    if view is None:
        return True
    seen = event_times[EVENT_TIME_PREFIX + view][row]
    return seen is not None and round(seen * 1000) >= to_ms(hit.at)


def customer_context(
    hit: TriggerHit,
    features: Mapping[str, Any],
    consent: Callable[[str], bool | None],
    default_zone: str,
) -> CustomerContext:
    """The customer of ``hit`` as eligibility sees them.

    The time zone is the one of the customer's nearest port, else of the port of the hit,
    else ``default_zone``; the language is the one of their latest post; the channels
    are those whose consent the replica holds as granted (``consent(key)``). Without the
    location consent, ``features`` come with their location features masked
    (:mod:`streams.decisions.location_consent`): no position, no nearest port.
    """
    port = _port_zone(features.get("nearest_port")) or _port_zone(hit.port)
    lat, lon = features.get("last_lat"), features.get("last_lon")
    position = (float(lat), float(lon)) if lat is not None and lon is not None else None
    language = features.get("language")
    consented = frozenset(
        channel
        for channel in Channel
        if consent(consent_key(hit.customer_id, ConsentScope(channel.value))) is True
    )
    return CustomerContext(
        customer_id=hit.customer_id,
        zone=port or default_zone,
        language=_LANGUAGES.get(language) if isinstance(language, str) else None,
        features=features,
        position=position,
        consented=consented,
    )


def _port_zone(code: object) -> str | None:
    if not isinstance(code, str) or not code:
        return None
    port = network.port(code)
    return port.timezone if port is not None else None
