"""The values of the model's categorical features, in code order.

Value ``k`` of a vocabulary is encoded as ``k``. The vocabularies follow the enums and the
network they come from; new values are appended there, never inserted, so that the codes
of a trained model stay valid. The registry records each model's vocabularies, and a
model whose vocabularies differ from these is refused when loaded.
"""

from __future__ import annotations

import numpy as np

from offers.campaigns.offer import OfferKind
from offers.campaigns.targeting import Trigger
from offers.contracts.events import Channel, Language
from simulators.ports import port_named
from simulators.routes import all_routes

UNKNOWN = -1
"""Code of a categorical input whose value is missing or in no vocabulary."""

TRIGGERS: tuple[str, ...] = tuple(trigger.value for trigger in Trigger)
CHANNELS: tuple[str, ...] = tuple(channel.value for channel in Channel)
LANGUAGES: tuple[str, ...] = tuple(language.value for language in Language)
OFFER_KINDS: tuple[str, ...] = tuple(kind.value for kind in OfferKind)
ROUTES: tuple[str, ...] = tuple(route.route_id for route in all_routes())
"""Route ids in the order of ``simulators.routes.all_routes``: each outbound route at an
even code, its return at the next odd code (``code ^ 1`` is the other direction)."""

TRIGGER_CODES: dict[Trigger, int] = {Trigger(value): k for k, value in enumerate(TRIGGERS)}
CHANNEL_CODES: dict[Channel, int] = {Channel(value): k for k, value in enumerate(CHANNELS)}
OFFER_KIND_CODES: dict[OfferKind, int] = {OfferKind(v): k for k, v in enumerate(OFFER_KINDS)}
LANGUAGE_CODES: dict[str, int] = {value: k for k, value in enumerate(LANGUAGES)}
ROUTE_CODES: dict[str, int] = {value: k for k, value in enumerate(ROUTES)}

ROUTE_ORIGIN_LAT = np.array([port_named(r.origin).lat for r in all_routes()], dtype=np.float64)
"""Latitude of the departure port of each route, by route code."""
ROUTE_ORIGIN_LON = np.array([port_named(r.origin).lon for r in all_routes()], dtype=np.float64)
