"""The values a message template is rendered with, from the decision and what the engine
holds at send time: the customer's contact (language, first name), the campaign's offer,
the trigger's port, route or sailing, and the sailing's latest row.

Every personalisation field (:data:`offers.campaigns.templates.PERSONALISATION_FIELDS`)
gets a value, so any template renders: when the trigger names no sailing the route's
ports stand in for it; without a first name, a word for "traveller" in the message's
language; without a fare, the offer itself. Times are shown in the port's time zone (the
customer's, for the ports of this network).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from offers.campaigns import Campaign, network
from offers.campaigns.offer import Offer, OfferKind
from offers.contacts import Contact
from offers.contracts import Language, OfferDecision

BRAND = "Moby"
TRAVELLER: Mapping[Language, str] = {
    Language.IT: "viaggiatore",
    Language.EN: "traveller",
    Language.DE: "Reisende",
    Language.FR: "voyageur",
}
UPGRADES: Mapping[Language, Mapping[str, str]] = {
    Language.IT: {
        "reserved_seat": "poltrona riservata",
        "cabin": "cabina",
        "premium_cabin": "cabina premium",
        "priority_boarding": "imbarco prioritario",
    },
    Language.EN: {
        "reserved_seat": "reserved seat",
        "cabin": "cabin",
        "premium_cabin": "premium cabin",
        "priority_boarding": "priority boarding",
    },
    Language.DE: {
        "reserved_seat": "reservierter Sitz",
        "cabin": "Kabine",
        "premium_cabin": "Premium-Kabine",
        "priority_boarding": "Priority Boarding",
    },
    Language.FR: {
        "reserved_seat": "fauteuil réservé",
        "cabin": "cabine",
        "premium_cabin": "cabine premium",
        "priority_boarding": "embarquement prioritaire",
    },
}
ONBOARD: Mapping[Language, str] = {
    Language.IT: "{amount} a bordo",
    Language.EN: "{amount} on board",
    Language.DE: "{amount} an Bord",
    Language.FR: "{amount} à bord",
}
TIME_FORMAT = "%d/%m %H:%M"


def personalisation(
    decision: OfferDecision,
    campaign: Campaign,
    contact: Contact,
    language: Language,
    *,
    sailing: Mapping[str, Any] | None,
    zone: str,
) -> dict[str, str]:
    """The template values of ``decision``'s message to ``contact`` in ``language``.
    ``sailing`` is the latest row of the trigger's sailing, if known."""
    tz = ZoneInfo(zone)
    route_id = decision.route_id or (sailing or {}).get("route_id") or _first_route(campaign.offer)
    expires = decision.expires_at
    return {
        "name": contact.name or TRAVELLER[language],
        "port": _port_name(decision.port or _origin(route_id)),
        "sailing": _sailing_text(route_id, sailing, tz),
        "fare": _fare_text(sailing) or offer_text(campaign.offer, language),
        "discount": offer_text(campaign.offer, language),
        "expiry": expires.astimezone(tz).strftime(TIME_FORMAT) if expires is not None else "",
    }


def offer_text(offer: Offer, language: Language) -> str:
    """What the offer gives, in a few words: ``15%``, ``10 €``, ``cabina``."""
    if offer.kind is OfferKind.PERCENT_DISCOUNT and offer.percent is not None:
        return f"{offer.percent}%"
    if offer.kind is OfferKind.FIXED_DISCOUNT and offer.amount_eur is not None:
        return _euros(offer.amount_eur)
    if offer.kind is OfferKind.UPGRADE and offer.upgrade is not None:
        return UPGRADES[language][offer.upgrade.value]
    if offer.kind is OfferKind.ONBOARD_VOUCHER and offer.amount_eur is not None:
        return ONBOARD[language].format(amount=_euros(offer.amount_eur))
    return BRAND


def _euros(amount: float) -> str:
    return f"{amount:.0f} €" if float(amount).is_integer() else f"{amount:.2f} €"


def _first_route(offer: Offer) -> str | None:
    return offer.route_ids[0] if offer.route_ids else None


def _origin(route_id: str | None) -> str | None:
    return route_id.split("-", 1)[0] if route_id else None


def _port_name(code: str | None) -> str:
    port = network.port(code) if code else None
    return port.name if port is not None else BRAND


def _sailing_text(route_id: str | None, sailing: Mapping[str, Any] | None, tz: ZoneInfo) -> str:
    if not route_id or "-" not in route_id:
        return BRAND
    origin, destination = route_id.split("-", 1)
    text = f"{_port_name(origin)} → {_port_name(destination)}"
    departure = (sailing or {}).get("departure_ts")
    if isinstance(departure, int | float) and departure > 0:
        moment = datetime.fromtimestamp(departure, UTC).astimezone(tz)
        text += f" {moment.strftime(TIME_FORMAT)}"
    return text


def _fare_text(sailing: Mapping[str, Any] | None) -> str | None:
    fare = (sailing or {}).get("fare_eur")
    return _euros(float(fare)) if isinstance(fare, int | float) and fare > 0 else None
