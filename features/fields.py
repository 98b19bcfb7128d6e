"""The names and value types of every online feature, in one place.

The stream processor computes rows with exactly these keys; the Feast repository declares
feature views with exactly these fields. Plain Python: importing it needs no Feast.

Timestamps are seconds since the Unix epoch (UTC); distances in km; money in EUR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ValueType = Literal["float", "int", "str", "str_list", "int_list"]


@dataclass(frozen=True, slots=True)
class FeatureField:
    name: str
    type: ValueType
    description: str


CUSTOMER_LOCATION: tuple[FeatureField, ...] = (
    FeatureField("last_lat", "float", "latitude of the last ping"),
    FeatureField("last_lon", "float", "longitude of the last ping"),
    FeatureField("last_ping_ts", "int", "event time of the last ping"),
    FeatureField("nearest_port", "str", "id of the nearest port"),
    FeatureField("nearest_port_km", "float", "geodesic distance to the nearest port"),
    FeatureField("geofence_port", "str", "port whose geofence holds the customer, '' if none"),
    FeatureField("geofence_enter_ts", "int", "when the customer entered it, 0 if outside"),
    FeatureField("dwell_s", "int", "seconds inside the current geofence"),
    FeatureField("speed_mps", "float", "speed between the last two pings"),
    FeatureField("pings_1h", "int", "pings in the hour before the last one (event time)"),
)

CUSTOMER_SOCIAL: tuple[FeatureField, ...] = (
    FeatureField("sentiment_7d", "float", "mean sentiment of posts in 7 days, -1..1"),
    FeatureField("posts_7d", "int", "posts in 7 days"),
    FeatureField("brand_mentions_7d", "int", "brand mentions in 7 days"),
    FeatureField("interest_tags", "str_list", "interest tags seen in 7 days, sorted"),
    FeatureField("language", "str", "language of the latest post"),
)

CUSTOMER_BOOKING: tuple[FeatureField, ...] = (
    FeatureField("searches_24h", "int", "searches in 24 hours"),
    FeatureField("quotes_24h", "int", "quotes in 24 hours"),
    FeatureField("routes_24h", "str_list", "routes searched or quoted in 24 hours, sorted"),
    FeatureField("route_counts_24h", "int_list", "searches+quotes per route of routes_24h"),
    FeatureField("abandoned_quotes_24h", "int", "quotes in 24 h not followed by a booking"),
    FeatureField("last_booking_ts", "int", "event time of the last booking, 0 if none"),
    FeatureField("bookings_total", "int", "bookings to date"),
    FeatureField("spend_total_eur", "float", "spend to date, net of cancellations"),
    FeatureField("cancellations_total", "int", "cancellations to date"),
)

SAILING_STATE: tuple[FeatureField, ...] = (
    FeatureField("route_id", "str", "route of the sailing"),
    FeatureField("origin_port", "str", "departure port id"),
    FeatureField("departure_ts", "int", "departure time"),
    FeatureField("load_factor_pax", "float", "booked / capacity, passengers"),
    FeatureField("load_factor_cars", "float", "booked / capacity, cars"),
    FeatureField("seats_left", "int", "passenger places left"),
    FeatureField("car_slots_left", "int", "car places left"),
    FeatureField("fare_eur", "float", "current lowest adult fare"),
    FeatureField("fare_change_eur", "float", "change of the fare at the last update"),
)

REQUEST_TIME: tuple[FeatureField, ...] = (
    FeatureField("distance_to_departure_km", "float", "last position to the departure port"),
    FeatureField("hours_to_departure", "float", "from the request time to the departure"),
    FeatureField("discount_ratio", "float", "offer discount / current fare"),
)

# Request data of one candidate offer, sent with an online read: the inputs of REQUEST_TIME.
OFFER_REQUEST: tuple[FeatureField, ...] = (
    FeatureField("offer_port_lat", "float", "latitude of the offer's departure port"),
    FeatureField("offer_port_lon", "float", "longitude of the offer's departure port"),
    FeatureField("offer_departure_ts", "int", "departure time of the offered sailing"),
    FeatureField("offer_discount_eur", "float", "discount of the offer"),
    FeatureField("request_ts", "int", "when the offer is considered"),
)
