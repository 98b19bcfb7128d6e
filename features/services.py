"""Feature services: the versioned sets of features a model reads.

``offer_scoring_v1`` is every numeric feature of the customer views and of the sailing
state, and the on-demand offer features; strings and lists (ports, routes, tags,
language) are left out.

``offer_scoring_v2`` is exactly what the scoring model's encoder reads
(``models.inputs.ONLINE_VIEW_FEATURES``, with the language and the routes of 24 hours)
and the offered sailing's state; the encoder derives the offer's features itself.
Training sets are joined with it (``models.logged``).
"""

from __future__ import annotations

from feast import FeatureService, OnDemandFeatureView

from features.views import FeatureViews

OFFER_SCORING_V1: dict[str, tuple[str, ...]] = {
    "customer_location_fv": (
        "last_lat",
        "last_lon",
        "last_ping_ts",
        "nearest_port_km",
        "geofence_enter_ts",
        "dwell_s",
        "speed_mps",
        "pings_1h",
    ),
    "customer_social_fv": ("sentiment_7d", "posts_7d", "brand_mentions_7d"),
    "customer_booking_fv": (
        "searches_24h",
        "quotes_24h",
        "abandoned_quotes_24h",
        "last_booking_ts",
        "bookings_total",
        "spend_total_eur",
        "cancellations_total",
    ),
    "sailing_state_fv": (
        "departure_ts",
        "load_factor_pax",
        "load_factor_cars",
        "seats_left",
        "car_slots_left",
        "fare_eur",
        "fare_change_eur",
    ),
    "offer_context_odfv": ("distance_to_departure_km", "hours_to_departure", "discount_ratio"),
}
"""Feature view name -> the features ``offer_scoring_v1`` takes from it, in model order."""


def offer_scoring_v1(views: FeatureViews, offer_context: OnDemandFeatureView) -> FeatureService:
    """The feature service of the first scoring model."""
    by_name = {fv.name: fv for fv in (*views.all(), offer_context)}
    projections = [by_name[name][list(features)] for name, features in OFFER_SCORING_V1.items()]
    return FeatureService(
        name="offer_scoring_v1",
        features=projections,
        description="Inputs of the offer scoring model, version 1.",
    )


def scoring_feature_refs() -> list[str]:
    """``view:feature`` references of ``offer_scoring_v1``, in model order."""
    return [f"{view}:{name}" for view, names in OFFER_SCORING_V1.items() for name in names]


OFFER_SCORING_V2: dict[str, tuple[str, ...]] = {
    "customer_location_fv": (
        "last_lat",
        "last_lon",
        "last_ping_ts",
        "nearest_port_km",
        "dwell_s",
        "speed_mps",
        "pings_1h",
    ),
    "customer_social_fv": ("sentiment_7d", "posts_7d", "brand_mentions_7d", "language"),
    "customer_booking_fv": (
        "searches_24h",
        "quotes_24h",
        "abandoned_quotes_24h",
        "last_booking_ts",
        "bookings_total",
        "spend_total_eur",
        "cancellations_total",
        "routes_24h",
        "route_counts_24h",
    ),
    "sailing_state_fv": ("route_id", "departure_ts", "fare_eur", "load_factor_pax"),
}
"""Feature view name -> the features ``offer_scoring_v2`` takes from it."""


def offer_scoring_v2(views: FeatureViews) -> FeatureService:
    """The feature service of the scoring model's encoder (no on-demand features)."""
    by_name = {fv.name: fv for fv in views.all()}
    projections = [by_name[name][list(features)] for name, features in OFFER_SCORING_V2.items()]
    return FeatureService(
        name="offer_scoring_v2",
        features=projections,
        description="Inputs of the offer scoring model's encoder, version 2.",
    )


def service_features(service: FeatureService) -> dict[str, tuple[str, ...]]:
    """Feature view name -> the features a feature service takes from it."""
    return {
        projection.name: tuple(f.name for f in projection.features)
        for projection in service.feature_view_projections
    }
