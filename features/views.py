"""The feature views: one per stream-computed row type, fields taken from ``fields``.

Names follow the repository template: ``customer_location_fv``, ``customer_social_fv``,
``customer_booking_fv``, ``sailing_state_fv``. The TTL bounds how old a row may be and
still be joined to an entity row in a training set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from feast import Entity, FeatureView

from features.entities import customer, sailing
from features.feast_types import feast_field
from features.sources import (
    CUSTOMER_BOOKING_VIEW,
    CUSTOMER_LOCATION_VIEW,
    CUSTOMER_SOCIAL_VIEW,
    SAILING_STATE_VIEW,
    ViewSpec,
    push_source,
)

VIEW_TTLS: dict[str, timedelta] = {
    # a position older than half a day says little about where the customer is
    CUSTOMER_LOCATION_VIEW.name: timedelta(hours=12),
    # the features are 7-day windows
    CUSTOMER_SOCIAL_VIEW.name: timedelta(days=7),
    # lifetime totals change only on bookings, which can be months apart
    CUSTOMER_BOOKING_VIEW.name: timedelta(days=180),
    # sailings are sold weeks ahead and may see no update for a while
    SAILING_STATE_VIEW.name: timedelta(days=60),
}


def feature_view_name(spec: ViewSpec) -> str:
    return f"{spec.name}_fv"


def build_view(spec: ViewSpec, entity: Entity, data_dir: Path) -> FeatureView:
    """A feature view fed by the spec's push source, with exactly the spec's fields."""
    return FeatureView(
        name=feature_view_name(spec),
        entities=[entity],
        ttl=VIEW_TTLS[spec.name],
        schema=[feast_field(f) for f in spec.fields],
        source=push_source(spec, data_dir),
        online=True,
        description=f"{spec.name} features computed by the stream processor.",
    )


@dataclass(frozen=True, slots=True)
class FeatureViews:
    customer_location_fv: FeatureView
    customer_social_fv: FeatureView
    customer_booking_fv: FeatureView
    sailing_state_fv: FeatureView

    def all(self) -> tuple[FeatureView, ...]:
        return (
            self.customer_location_fv,
            self.customer_social_fv,
            self.customer_booking_fv,
            self.sailing_state_fv,
        )


def feature_views(data_dir: Path) -> FeatureViews:
    """All feature views, their offline files under ``data_dir``."""
    return FeatureViews(
        customer_location_fv=build_view(CUSTOMER_LOCATION_VIEW, customer, data_dir),
        customer_social_fv=build_view(CUSTOMER_SOCIAL_VIEW, customer, data_dir),
        customer_booking_fv=build_view(CUSTOMER_BOOKING_VIEW, customer, data_dir),
        sailing_state_fv=build_view(SAILING_STATE_VIEW, sailing, data_dir),
    )
