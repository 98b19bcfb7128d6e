"""The customer-booking view: the funnel over 24 hours and the booking history.

Windows hold the events with ``T - 24 h < t <= T``, ``T`` the latest booking-event time
of the customer (any action); events older than the watermark are ignored entirely
(they count in no window and no total).

- ``searches_24h`` / ``quotes_24h``: searches / quotes in the window.
- ``routes_24h``: routes searched or quoted in the window, sorted; ``route_counts_24h``
  the searches + quotes of each, aligned with it.
- ``abandoned_quotes_24h``: quotes in the window for which the customer has no booking
  (action ``book``) on the same route at the same time or later. Such a booking would
  itself be in the window, so the window's bookings are enough to decide.
- ``last_booking_ts``: greatest event time of a booking, 0 if none.
- ``bookings_total`` / ``cancellations_total``: bookings / cancellations ever.
- ``spend_total_eur``: prices of all bookings, minus, for each cancelled booking
  reference (once per reference), the price of its first booking in event time (ties:
  the first to arrive); a
  cancellation of a reference never booked subtracts nothing (if its booking arrives
  later, within the lateness, it is then netted out).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from offers.contracts.events import BookingAction, BookingEvent
from streams.features.rows import Row, Update
from streams.features.windows import (
    Items,
    Watermark,
    evict,
    from_ms,
    lateness_ms,
    merge,
    observe,
    to_ms,
    to_s,
)

FUNNEL_WINDOW_MS = 86_400_000
_CODES = {BookingAction.SEARCH: "s", BookingAction.QUOTE: "q", BookingAction.BOOK: "b"}


@dataclass(frozen=True, slots=True)
class State:
    watermark: Watermark = Watermark()
    funnel: Items[tuple[str, str]] = ()
    """Searches (s), quotes (q) and bookings (b) of 24 hours: (time_ms, (code, route))."""
    last_booking_ms: int | None = None
    bookings: int = 0
    cancellations: int = 0
    spend_eur: float = 0.0
    booked: dict[str, tuple[int, float]] = field(default_factory=dict)
    """Time and price of the first booking (in event time) with each reference."""
    cancelled: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        return {
            "wm": self.watermark.to_list(),
            "funnel": [[t, code, route] for t, (code, route) in self.funnel],
            "last": self.last_booking_ms,
            "totals": [self.bookings, self.cancellations, self.spend_eur],
            "booked": {ref: list(first) for ref, first in self.booked.items()},
            "cancelled": sorted(self.cancelled),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> State:
        bookings, cancellations, spend = data["totals"]
        return cls(
            watermark=Watermark.from_list(data["wm"]),
            funnel=tuple((int(t), (str(c), str(r))) for t, c, r in data["funnel"]),
            last_booking_ms=None if data["last"] is None else int(data["last"]),
            bookings=int(bookings),
            cancellations=int(cancellations),
            spend_eur=float(spend),
            booked={str(k): (int(t), float(p)) for k, (t, p) in data["booked"].items()},
            cancelled=frozenset(str(ref) for ref in data["cancelled"]),
        )


def apply(state: State, event: BookingEvent, *, allowed_lateness: timedelta) -> Update[State]:
    """The state and row after ``event``."""
    time_ms = to_ms(event.event_time)
    watermark, latest, late = observe(state.watermark, time_ms, lateness_ms(allowed_lateness))
    if late:
        new = replace(state, watermark=watermark)
        return Update(new, row(new, event.customer_id), True)
    code = _CODES.get(event.action)
    if code is None:
        funnel = evict(state.funnel, as_of=latest, length=FUNNEL_WINDOW_MS)
    else:
        item = (code, event.route_id)
        funnel = merge(state.funnel, time_ms, item, as_of=latest, length=FUNNEL_WINDOW_MS)
    new = replace(state, watermark=watermark, funnel=funnel)
    if event.action is BookingAction.BOOK:
        new = _book(new, time_ms, event.booking_ref or "", event.price_eur or 0.0)
    elif event.action is BookingAction.CANCEL:
        new = _cancel(new, event.booking_ref or "")
    return Update(new, row(new, event.customer_id), False)


def _book(state: State, time_ms: int, ref: str, price: float) -> State:
    spend = state.spend_eur + price
    booked = state.booked
    first = booked.get(ref)
    if first is None or time_ms < first[0]:
        booked = {**booked, ref: (time_ms, price)}
        if ref in state.cancelled:
            spend -= price - (first[1] if first else 0.0)
    last = time_ms if state.last_booking_ms is None else max(state.last_booking_ms, time_ms)
    return replace(
        state, last_booking_ms=last, bookings=state.bookings + 1, spend_eur=spend, booked=booked
    )


def _cancel(state: State, ref: str) -> State:
    new = replace(state, cancellations=state.cancellations + 1)
    if ref in state.cancelled:
        return new
    spend = state.spend_eur - state.booked.get(ref, (0, 0.0))[1]
    return replace(new, cancelled=state.cancelled | {ref}, spend_eur=spend)


def row(state: State, customer_id: str) -> Row:
    """The feature row of the customer-booking view, as of the latest booking event."""
    routes: dict[str, int] = {}
    searches = quotes = abandoned = 0
    for time_ms, (code, route) in state.funnel:
        if code == "b":
            continue
        routes[route] = routes.get(route, 0) + 1
        if code == "s":
            searches += 1
            continue
        quotes += 1
        if not any(c == "b" and r == route and t >= time_ms for t, (c, r) in state.funnel):
            abandoned += 1
    ordered = sorted(routes)
    last = state.last_booking_ms
    return {
        "customer_id": customer_id,
        "event_timestamp": from_ms(state.watermark.latest_ms or 0),
        "searches_24h": searches,
        "quotes_24h": quotes,
        "routes_24h": ordered,
        "route_counts_24h": [routes[route] for route in ordered],
        "abandoned_quotes_24h": abandoned,
        "last_booking_ts": 0 if last is None else to_s(last),
        "bookings_total": state.bookings,
        "cancellations_total": state.cancellations,
        "spend_total_eur": state.spend_eur,
    }
