"""Social touchpoints before a campaign's conversions.

A **touchpoint** is a customer's interaction on a social or messaging channel:

- ``mention``: a social post of the customer that names the brand, a port or a route (the
  subjects social listening counts, :func:`streams.listening.mentions.subjects`);
- ``reply``: a reply of the customer to an offer on a social channel;
- ``click``: a click of the customer on an offer sent over a social channel.

The social channels are :data:`SOCIAL_CHANNELS` (Messenger and WhatsApp); an SMS or a
push notification is not one. Responses of any campaign count: the touchpoint is the
customer's, whatever offer it answered.

A conversion **follows** a touchpoint when the touchpoint's time is within the
attribution window before the booking: ``booking time - window <= touchpoint time <=
booking time``. :func:`split` counts, for a set of conversions, how many followed at least
one touchpoint, and how many followed one of each kind (a conversion can count under
several kinds, so the kinds need not add up to ``after_social``).

Copies of an event (replays, retries) change nothing: a touchpoint only has to exist.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from offers.contracts.base import Event
from offers.contracts.events import Channel, CustomerResponse, ResponseAction, SocialPost
from streams.listening.mentions import subjects

SOCIAL_CHANNELS: tuple[Channel, ...] = (Channel.MESSENGER, Channel.WHATSAPP)
"""The channels whose replies and clicks are social touchpoints."""


class Touchpoint(StrEnum):
    MENTION = "mention"
    REPLY = "reply"
    CLICK = "click"


_RESPONSE_TOUCHPOINTS = {
    ResponseAction.REPLY: Touchpoint.REPLY,
    ResponseAction.CLICK: Touchpoint.CLICK,
}


class SocialSplit(BaseModel):
    """Some conversions, and how many of them followed a social touchpoint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    conversions: int = Field(ge=0)
    after_social: int = Field(ge=0, description="Conversions that followed any touchpoint.")
    by_touchpoint: dict[Touchpoint, int] = Field(
        description="Conversions that followed a touchpoint of each kind; one conversion "
        "can count under several kinds."
    )


class SocialAttribution(BaseModel):
    """The campaign's conversions beside the social touchpoints that preceded them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: timedelta = Field(description="How long before a booking a touchpoint counts.")
    channels: tuple[Channel, ...] = Field(
        description="The channels whose replies and clicks count as touchpoints."
    )
    treated: SocialSplit = Field(
        description="The treated group's converted customers (as the incrementality counts "
        "them), each at the first booking that counts for them."
    )
    control: SocialSplit = Field(description="The same for the control (holdout) group.")
    offer_driven: SocialSplit = Field(
        description="Conversions made with one of the campaign's offers: one per sent "
        "decision with a booking carrying its id, at the first such booking."
    )


@dataclass(slots=True)
class TouchpointLog:
    """Every customer's touchpoints by kind, to ask which preceded a booking."""

    _times: dict[tuple[str, Touchpoint], list[datetime]] = field(default_factory=dict)
    _sorted: bool = True

    def add(self, event: Event) -> None:
        """Keep ``event`` if it is a touchpoint; ignore it otherwise."""
        kind = touchpoint_of(event)
        if kind is None:
            return
        customer_id: str = event.customer_id  # type: ignore[attr-defined]
        self._times.setdefault((customer_id, kind), []).append(event.event_time)
        self._sorted = False

    def kinds_before(
        self, customer_id: str, booked_at: datetime, window: timedelta
    ) -> set[Touchpoint]:
        """The kinds of the customer's touchpoints within ``window`` before ``booked_at``."""
        if not self._sorted:
            for times in self._times.values():
                times.sort()
            self._sorted = True
        found: set[Touchpoint] = set()
        for kind in Touchpoint:
            moments = self._times.get((customer_id, kind), [])
            if bisect_right(moments, booked_at) > bisect_left(moments, booked_at - window):
                found.add(kind)
        return found

    def split(self, conversions: Iterable[tuple[str, datetime]], window: timedelta) -> SocialSplit:
        """How many of ``conversions`` (customer, booking time) followed a touchpoint."""
        total = after = 0
        by_kind = dict.fromkeys(Touchpoint, 0)
        for customer_id, booked_at in conversions:
            total += 1
            kinds = self.kinds_before(customer_id, booked_at, window)
            after += bool(kinds)
            for kind in kinds:
                by_kind[kind] += 1
        return SocialSplit(conversions=total, after_social=after, by_touchpoint=by_kind)


def touchpoint_of(event: Event) -> Touchpoint | None:
    """The kind of touchpoint ``event`` is, or None when it is none."""
    if isinstance(event, SocialPost):
        return Touchpoint.MENTION if subjects(event) else None
    if isinstance(event, CustomerResponse) and event.channel in SOCIAL_CHANNELS:
        return _RESPONSE_TOUCHPOINTS.get(event.action)
    return None
