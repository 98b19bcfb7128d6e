"""The feature views the stream processor keeps: for each, the topic that feeds it, the
event it reads, its key, its pure update and row functions, and its Feast push source."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from features.sources import (
    CUSTOMER_BOOKING_VIEW,
    CUSTOMER_LOCATION_VIEW,
    CUSTOMER_SOCIAL_VIEW,
    SAILING_STATE_VIEW,
    ViewSpec,
)
from offers.contracts import BookingEvent, Event, LocationPing, SailingUpdate, SocialPost
from offers.topics import BOOKING, LOCATION, SAILING, SOCIAL, TopicSpec
from streams.features import booking, location, sailing, social
from streams.features.rows import Row, Update


@dataclass(frozen=True, slots=True)
class FeatureView:
    """One view, computed per key from one topic. ``shared`` views are held in a table
    that every worker reads in full (a Faust global table), not only its partitions."""

    spec: ViewSpec
    topic: TopicSpec
    event_type: type[Event]
    new_state: Callable[[], Any]
    state_from_dict: Callable[[dict[str, Any]], Any]
    apply: Callable[..., Update[Any]]
    row: Callable[[Any, str], Row]
    shared: bool = False

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def key_field(self) -> str:
        return self.topic.key

    def key_of(self, event: Event) -> str:
        key: str = getattr(event, self.key_field)
        return key

    def update(self, state: Any, event: Event, allowed_lateness: timedelta) -> Update[Any]:
        return self.apply(state, event, allowed_lateness=allowed_lateness)


CUSTOMER_LOCATION = FeatureView(
    CUSTOMER_LOCATION_VIEW,
    LOCATION,
    LocationPing,
    location.State,
    location.State.from_dict,
    location.apply,
    location.row,
)
CUSTOMER_SOCIAL = FeatureView(
    CUSTOMER_SOCIAL_VIEW,
    SOCIAL,
    SocialPost,
    social.State,
    social.State.from_dict,
    social.apply,
    social.row,
)
CUSTOMER_BOOKING = FeatureView(
    CUSTOMER_BOOKING_VIEW,
    BOOKING,
    BookingEvent,
    booking.State,
    booking.State.from_dict,
    booking.apply,
    booking.row,
)
SAILING_STATE = FeatureView(
    SAILING_STATE_VIEW,
    SAILING,
    SailingUpdate,
    sailing.State,
    sailing.State.from_dict,
    sailing.apply,
    sailing.row,
    shared=True,
)

FEATURE_VIEWS: tuple[FeatureView, ...] = (
    CUSTOMER_LOCATION,
    CUSTOMER_SOCIAL,
    CUSTOMER_BOOKING,
    SAILING_STATE,
)
