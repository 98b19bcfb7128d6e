"""The campaigns a marketer starts from: the demo's campaigns, one per kind of trigger,
as the bodies a marketer would send (``POST /v1/campaigns``), with their messages in
Italian, English, German and French.

The demo places them (:mod:`offers.demo_setup`), and the web page offers them as the
presets of a new campaign (``GET /v1/campaign-presets``: :func:`presets`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from offers.campaigns import network

WELCOME_PORTS = ("LIV", "PIO", "OLB")
LANGUAGES = ("it", "en", "de", "fr")
CHANNELS = ("sms", "whatsapp")

Texts = Mapping[str, str]
"""A message per language; the same text goes over every channel of the campaign."""

PORT_WELCOME: Texts = {
    "it": "Benvenuto a {port}, {name}! {discount} di sconto su {sailing}, fino a {expiry}.",
    "en": "Welcome to {port}, {name}! {discount} off {sailing}, until {expiry}.",
    "de": "Willkommen in {port}, {name}! {discount} Rabatt auf {sailing}, bis {expiry}.",
    "fr": "Bienvenue à {port}, {name} ! {discount} de réduction sur {sailing}, jusqu'au {expiry}.",
}
QUOTE_COMEBACK: Texts = {
    "it": "{name}, il tuo preventivo per {sailing} ti aspetta: {discount} di sconto "
    "se prenoti entro {expiry}.",
    "en": "{name}, your quote for {sailing} is waiting: {discount} off if you book by {expiry}.",
    "de": "{name}, Ihr Angebot für {sailing} wartet: {discount} Rabatt bei Buchung bis {expiry}.",
    "fr": "{name}, votre devis pour {sailing} vous attend : {discount} de remise "
    "si vous réservez avant le {expiry}.",
}
QUOTE_UPGRADE: Texts = {
    "it": "{name}, prenota {sailing} entro {expiry}: per te {discount}.",
    "en": "{name}, book {sailing} by {expiry} and get {discount}.",
    "de": "{name}, buchen Sie {sailing} bis {expiry} und erhalten Sie {discount}.",
    "fr": "{name}, réservez {sailing} avant le {expiry} et profitez de {discount}.",
}
FARE_DROP: Texts = {
    "it": "Buone notizie {name}: {sailing} ora da {fare}, più {discount} da spendere a bordo. "
    "Fino a {expiry}.",
    "en": "Good news {name}: {sailing} now from {fare}, plus {discount} to spend on board. "
    "Until {expiry}.",
    "de": "Gute Nachricht, {name}: {sailing} jetzt ab {fare}, dazu {discount} Bordguthaben. "
    "Bis {expiry}.",
    "fr": "Bonne nouvelle {name} : {sailing} dès {fare}, avec {discount} à dépenser à bord. "
    "Jusqu'au {expiry}.",
}


def templates(texts: Texts, channels: tuple[str, ...] = CHANNELS) -> list[dict[str, str]]:
    return [
        {"channel": channel, "language": language, "text": texts[language]}
        for channel in channels
        for language in LANGUAGES
    ]


def schedule(start: datetime, end: datetime, **extra: Any) -> dict[str, Any]:
    return {"start": start.isoformat(), "end": end.isoformat(), **extra}


def demo_campaigns(
    start: datetime, end: datetime, *, competing: bool = False
) -> list[dict[str, Any]]:
    """The demo's campaigns as a marketer would send them, running from ``start`` to
    ``end``: one per kind of trigger; with ``competing``, a second one on quotes and
    searches, so that those decisions choose between two offers."""
    campaigns = [port_welcome(start, end), quote_comeback(start, end), fare_drop_alert(start, end)]
    if competing:
        campaigns.append(quote_upgrade(start, end))
    return campaigns


def port_welcome(start: datetime, end: datetime) -> dict[str, Any]:
    routes = sorted(r for r in network.route_ids() if r.split("-")[0] in WELCOME_PORTS)
    return {
        "name": "Port welcome",
        "description": "10 % off the next crossing for customers arriving at "
        "Livorno, Piombino or Olbia",
        "offer": {"kind": "percent_discount", "percent": 10, "route_ids": routes, "cost_eur": 6.0},
        "templates": templates(PORT_WELCOME),
        "targeting": {
            "triggers": ["geofence_enter"],
            "geofences": [{"kind": "port", "port": port} for port in WELCOME_PORTS],
            "max_position_age_s": 900,
        },
        "schedule": schedule(start, end, hours={"start_hour": 7, "end_hour": 22}),
        "channels": list(CHANNELS),
        "budget": {"max_sends": 20_000, "max_discount_spend_eur": 60_000.0},
        "frequency_cap": {"per_day": 1, "per_week": 2},
        "priority_eur": 14.0,
        "holdout_share": 0.1,
        "offer_expiry_hours": 12,
    }


def quote_comeback(start: datetime, end: datetime) -> dict[str, Any]:
    return {
        "name": "Come back to your quote",
        "description": "15 EUR off any route for customers who searched or left a quote",
        "offer": {
            "kind": "fixed_discount",
            "amount_eur": 15.0,
            "all_routes": True,
            "cost_eur": 15.0,
        },
        "templates": templates(QUOTE_COMEBACK),
        "targeting": {"triggers": ["abandoned_quote", "search"]},
        "schedule": schedule(start, end),
        "channels": list(CHANNELS),
        "budget": {"max_sends": 20_000, "max_redemptions": 2_000},
        "frequency_cap": {"per_day": 1, "per_week": 3},
        "priority_eur": 18.0,
        "holdout_share": 0.1,
        "offer_expiry_hours": 48,
    }


def quote_upgrade(start: datetime, end: datetime) -> dict[str, Any]:
    return {
        "name": "Cabin upgrade on your quote",
        "description": "A free cabin upgrade for customers who searched or left a quote",
        "offer": {"kind": "upgrade", "upgrade": "cabin", "all_routes": True, "cost_eur": 20.0},
        "templates": templates(QUOTE_UPGRADE),
        "targeting": {"triggers": ["abandoned_quote", "search"]},
        "schedule": schedule(start, end),
        "channels": list(CHANNELS),
        "budget": {"max_sends": 20_000, "max_redemptions": 2_000},
        "frequency_cap": {"per_day": 1, "per_week": 3},
        "priority_eur": 30.0,
        "holdout_share": 0.1,
        "offer_expiry_hours": 48,
    }


def fare_drop_alert(start: datetime, end: datetime) -> dict[str, Any]:
    return {
        "name": "Fare drop alert",
        "description": "A 10 EUR onboard voucher when a searched route gets cheaper or "
        "seats are released",
        "offer": {
            "kind": "onboard_voucher",
            "amount_eur": 10.0,
            "all_routes": True,
            "cost_eur": 4.0,
        },
        "templates": templates(FARE_DROP, ("whatsapp", "sms")),
        "targeting": {"triggers": ["fare_drop", "capacity_released"]},
        "schedule": schedule(start, end, hours={"start_hour": 8, "end_hour": 21}),
        "channels": ["whatsapp", "sms"],
        "budget": {"max_sends": 10_000, "max_discount_spend_eur": 20_000.0},
        "frequency_cap": {"per_day": 1, "per_week": 2},
        "priority_eur": 10.0,
        "holdout_share": 0.1,
        "offer_expiry_hours": 24,
    }


Builder = Callable[[datetime, datetime], dict[str, Any]]

PRESETS: tuple[tuple[str, str, Builder], ...] = (
    ("quote_comeback", "Come back to your quote (searches and abandoned quotes)", quote_comeback),
    ("port_welcome", "Port welcome (arrivals in a port's geofence)", port_welcome),
    ("fare_drop_alert", "Fare drop alert (cheaper fares, released seats)", fare_drop_alert),
)
"""The presets of a new campaign: id, what it is for, and its body for a schedule."""


def presets(start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Each preset as ``{"id", "label", "body"}``, its body scheduled from ``start`` to
    ``end``."""
    return [
        {"id": preset_id, "label": label, "body": build(start, end)}
        for preset_id, label, build in PRESETS
    ]
