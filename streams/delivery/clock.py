"""When a message is sent, on the engine's clock.

In production (``OFFERS_DECISION_CLOCK=wall``) a message goes at once, or at its
decision's ``send_at`` (the end of the recipient's quiet hours), on the wall clock. When
recorded or simulated history is replayed (``event``), the decisions' times are event
times, days behind the wall clock: a message is due once the event-time watermark (the
latest event time the decision workers have reached) passes its ``send_at``, and it is
taken as sent at the moment its decision intended, ``max(event_time, send_at)``. Times
the providers see (the validity period) and the expiry of Redis keys stay on the wall
clock: :meth:`SendClock.to_wall` moves a moment of the engine's clock onto it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from offers.contracts import OfferDecision
from streams.decisions.clock import ClockMode, Watermark, wall_clock


@dataclass(frozen=True, slots=True)
class SendMoment:
    """When a decision's message is sent: on the engine's clock, and on the wall clock."""

    engine: datetime
    wall: datetime

    def to_wall(self, moment: datetime) -> datetime:
        """``moment`` of the engine's clock on the wall clock (the same distance away)."""
        return self.wall + (moment - self.engine)


class SendClock:
    def __init__(self, mode: ClockMode, watermark: Watermark | None = None) -> None:
        if mode == "event" and watermark is None:
            raise ValueError("the event clock needs the watermark")
        self.mode = mode
        self._watermark = watermark

    def now(self) -> datetime | None:
        """The engine's current time: the wall clock, or the watermark (None before the
        decision workers have set it)."""
        if self.mode == "wall":
            return wall_clock()
        assert self._watermark is not None
        return self._watermark.current()

    def due(self, decision: OfferDecision) -> bool:
        """Whether the decision's message may go now (its ``send_at`` has come)."""
        if decision.send_at is None:
            return True
        now = self.now()
        return now is not None and now >= decision.send_at

    def moment(self, decision: OfferDecision) -> SendMoment:
        """The moment a due decision's message is sent."""
        wall = wall_clock()
        if self.mode == "wall":
            return SendMoment(wall, wall)
        intended = max(decision.event_time, decision.send_at or decision.event_time)
        return SendMoment(intended, wall)
