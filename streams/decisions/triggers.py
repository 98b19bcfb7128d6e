"""Triggers: the events that make the engine consider its campaigns for a customer.

Each rule is a pure function of events (and, for abandoned quotes, of a small state and
the moment ``now`` given by the caller). A rule returns :class:`TriggerHit` values: the
trigger, the customer, the event that caused it and when it happened; decision ids are
derived downstream from ``source_event_id``, so a replayed event gives the same hits.

- ``geofence_enter``: :func:`from_geofence`, on entering a port's geofence (a trigger
  that exists only because of the customer's location: it is decided only with their
  location consent, :mod:`streams.decisions.location_consent`);
- ``search``: :func:`from_booking`, on a search;
- ``abandoned_quote``: :class:`QuoteWatch`, a quote not booked within a window;
- ``positive_social_mention``: :func:`from_social`, a positive post naming the brand or
  a destination (a port, a route or an island); the hit carries the first route and the
  first port the post names, so that offers for that destination apply;
- ``fare_drop`` and ``capacity_released``: :func:`from_sailing` returns
  :class:`SailingSignal` values, per sailing; :func:`fan_out` turns one into a hit per
  customer concerned (whom the caller looks up).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from offers.campaigns.targeting import Trigger
from offers.contracts.base import aware_utc
from offers.contracts.events import (
    BookingAction,
    BookingEvent,
    GeofenceAction,
    GeofenceTransition,
    SailingStatus,
    SailingUpdate,
    SocialPost,
    TriggerSignal,
)
from streams.features.sentiment import sentiment
from streams.features.topics import places
from streams.features.windows import from_ms, to_ms

ABANDON_WINDOW = timedelta(minutes=30)
"""A quote not booked within this time is abandoned."""
MAX_PENDING_QUOTES = 16
"""How many routes (hence pending quotes) a :class:`QuoteWatch` remembers by default."""
MAX_BOOKINGS_PER_ROUTE = 4
"""How many recent bookings of one route a :class:`QuoteWatch` keeps to settle late quotes."""
POSITIVE_SENTIMENT = 0.3
"""The least sentiment of a positive social mention."""
FARE_DROP_SHARE = 0.05
"""The least fall of a fare, as a share of the previous fare, that is a fare drop."""
SEATS_RELEASE_STEP = 10
"""The least rise of the seats left of a sailing that is a capacity release."""

_ON_SALE = frozenset({SailingStatus.SCHEDULED, SailingStatus.DELAYED})


@dataclass(frozen=True, slots=True)
class TriggerHit:
    """One trigger for one customer.

    ``source_event_id`` is the id of the event that caused it (for a sailing signal, the
    sailing update, the same for every customer); ``at`` is that event's time, in UTC.
    """

    trigger: Trigger
    source_event_id: str
    customer_id: str
    at: datetime
    port: str | None = None
    route_id: str | None = None
    sailing_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", aware_utc(self.at, "at"))


def from_geofence(transition: GeofenceTransition) -> TriggerHit | None:
    """``geofence_enter`` when the customer entered a port's geofence; None when they left."""
    if transition.action is not GeofenceAction.ENTER:
        return None
    return TriggerHit(
        Trigger.GEOFENCE_ENTER,
        transition.event_id,
        transition.customer_id,
        transition.event_time,
        port=transition.port,
    )


def from_booking(event: BookingEvent) -> TriggerHit | None:
    """``search`` for a search; None for other steps (quotes go to :class:`QuoteWatch`)."""
    if event.action is not BookingAction.SEARCH:
        return None
    return TriggerHit(
        Trigger.SEARCH,
        event.event_id,
        event.customer_id,
        event.event_time,
        route_id=event.route_id,
        sailing_id=event.sailing_id,
    )


def from_social(post: SocialPost, *, threshold: float = POSITIVE_SENTIMENT) -> TriggerHit | None:
    """``positive_social_mention`` when the post's sentiment is at least ``threshold``
    and it names the brand (a listed brand mention) or a destination: a port, a route or
    an island (:func:`streams.features.topics.places`).

    The hit carries the first route the post names and the first port (a route's first
    port when it names one): offers of that route, or of sailings from that port, then
    apply. A post naming only the brand or an island carries neither.
    """
    language = post.language.value
    named = places(post.text, post.hashtags, language)
    destination = bool(named.ports or named.routes or named.islands)
    if not (post.brand_mentions or destination) or sentiment(post.text, language) < threshold:
        return None
    return TriggerHit(
        Trigger.POSITIVE_SOCIAL_MENTION,
        post.event_id,
        post.customer_id,
        post.event_time,
        port=named.ports[0] if named.ports else None,
        route_id=named.routes[0] if named.routes else None,
    )


# Abandoned quotes ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quote:
    """The latest quote seen on a route."""

    event_id: str
    time_ms: int
    sailing_id: str | None

    @property
    def key(self) -> tuple[int, str]:
        """Quotes are ordered by event time, then by event id."""
        return self.time_ms, self.event_id


@dataclass(slots=True)
class RouteQuotes:
    """What a :class:`QuoteWatch` knows of one route: its latest quote, whether that quote
    still waits for a booking, and the recent bookings (event times in ms, ascending)."""

    quote: Quote | None = None
    pending: bool = False
    bookings_ms: list[int] = field(default_factory=list)

    @property
    def latest_ms(self) -> int:
        times = [*self.bookings_ms, self.quote.time_ms if self.quote else -(2**63)]
        return max(times)

    def to_list(self) -> list[Any]:
        quote = self.quote
        return [
            quote.event_id if quote else None,
            quote.time_ms if quote else None,
            quote.sailing_id if quote else None,
            self.pending,
            list(self.bookings_ms),
        ]

    @classmethod
    def from_list(cls, data: list[Any]) -> RouteQuotes:
        event_id, time_ms, sailing_id, pending, bookings = data
        quote = None
        if event_id is not None:
            sailing = str(sailing_id) if sailing_id is not None else None
            quote = Quote(str(event_id), int(time_ms), sailing)
        return cls(quote, bool(pending) and quote is not None, sorted(int(t) for t in bookings))


@dataclass(slots=True)
class QuoteWatch:
    """One customer's quotes waiting for a booking; fed with booking events in any order.

    A quote at ``t`` is settled by a ``book`` of the same route at ``t <= b < t + window``;
    otherwise it becomes ``abandoned_quote`` once ``now >= t + window`` (:meth:`due`
    returns it once, then forgets it is pending). Per route only the latest quote counts:
    a later one replaces a pending earlier one, and an earlier one arriving after it, or
    the same quote again, is ignored. A booking arriving before the quote it follows
    settles it too, as the route's recent bookings are kept.

    The state is bounded: at most ``max_pending`` routes are remembered, so at most that
    many quotes are pending; beyond it, the route with the oldest latest event is
    forgotten (its pending quote dropped without a hit). Its JSON form
    (:meth:`to_dict`) holds the customer and the routes, not ``window`` nor
    ``max_pending``, which come from the settings.
    """

    customer_id: str
    window: timedelta = ABANDON_WINDOW
    max_pending: int = MAX_PENDING_QUOTES
    routes: dict[str, RouteQuotes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.window <= timedelta(0):
            raise ValueError(f"window: must be positive, got {self.window}")
        if self.max_pending < 1:
            raise ValueError(f"max_pending: must be at least 1, got {self.max_pending}")

    @property
    def _window_ms(self) -> int:
        return self.window // timedelta(milliseconds=1)

    def observe(self, event: BookingEvent) -> None:
        """Take ``event`` into account (searches and cancellations change nothing)."""
        if event.customer_id != self.customer_id:
            raise ValueError(
                f"customer_id: the watch of {self.customer_id!r} got an event of "
                f"{event.customer_id!r}"
            )
        if event.action is BookingAction.QUOTE:
            self._quote(event)
        elif event.action is BookingAction.BOOK:
            self._book(event.route_id, to_ms(event.event_time))

    def _quote(self, event: BookingEvent) -> None:
        quote = Quote(event.event_id, to_ms(event.event_time), event.sailing_id)
        route = self.routes.setdefault(event.route_id, RouteQuotes())
        if route.quote is not None and quote.key <= route.quote.key:
            return
        end = quote.time_ms + self._window_ms
        route.quote = quote
        route.pending = not any(quote.time_ms <= b < end for b in route.bookings_ms)
        route.bookings_ms = [b for b in route.bookings_ms if b >= quote.time_ms]
        self._bound()

    def _book(self, route_id: str, time_ms: int) -> None:
        route = self.routes.setdefault(route_id, RouteQuotes())
        quote = route.quote
        if quote is not None and time_ms < quote.time_ms:
            return
        if quote is not None and route.pending and time_ms < quote.time_ms + self._window_ms:
            route.pending = False
        if time_ms not in route.bookings_ms:
            route.bookings_ms = sorted([*route.bookings_ms, time_ms])[-MAX_BOOKINGS_PER_ROUTE:]
        self._bound()

    def _bound(self) -> None:
        while len(self.routes) > self.max_pending:
            oldest = min(self.routes, key=lambda r: (self.routes[r].latest_ms, r))
            del self.routes[oldest]

    def due(self, now: datetime) -> list[TriggerHit]:
        """The quotes abandoned at ``now`` and not returned before, oldest first."""
        now_ms = to_ms(aware_utc(now, "now"))
        hits: list[TriggerHit] = []
        for route_id, route in self.routes.items():
            quote = route.quote
            if quote is None or not route.pending or now_ms < quote.time_ms + self._window_ms:
                continue
            route.pending = False
            hits.append(
                TriggerHit(
                    Trigger.ABANDONED_QUOTE,
                    quote.event_id,
                    self.customer_id,
                    from_ms(quote.time_ms),
                    route_id=route_id,
                    sailing_id=quote.sailing_id,
                )
            )
        hits.sort(key=lambda hit: (hit.at, hit.route_id or ""))
        return hits

    def next_due(self) -> datetime | None:
        """When the earliest pending quote becomes abandoned; None if none is pending."""
        ends = [
            route.quote.time_ms + self._window_ms
            for route in self.routes.values()
            if route.pending and route.quote is not None
        ]
        return from_ms(min(ends)) if ends else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "routes": {route_id: route.to_list() for route_id, route in self.routes.items()},
        }

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        window: timedelta = ABANDON_WINDOW,
        max_pending: int = MAX_PENDING_QUOTES,
    ) -> QuoteWatch:
        routes = {str(r): RouteQuotes.from_list(v) for r, v in dict(data["routes"]).items()}
        watch = cls(str(data["customer_id"]), window, max_pending, routes)
        watch._bound()
        return watch


# Sailing signals -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SailingSignal:
    """A ``fare_drop`` or ``capacity_released`` of one sailing, for no customer yet.

    ``source_event_id`` and ``at`` are those of the sailing update; ``port`` is the
    sailing's departure port.
    """

    trigger: Trigger
    sailing_id: str
    route_id: str
    source_event_id: str
    at: datetime
    port: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", aware_utc(self.at, "at"))


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _dropped(old_fare: float, new_fare: float, share: float) -> bool:
    """Whether the fare fell by at least ``share`` of ``old_fare`` (up to rounding)."""
    fall = (old_fare - new_fare) / old_fare
    return fall >= share or math.isclose(fall, share, rel_tol=1e-9)


def from_sailing(
    previous: Mapping[str, Any] | None,
    update: SailingUpdate,
    *,
    fare_drop: float = FARE_DROP_SHARE,
    seats_step: int = SEATS_RELEASE_STEP,
) -> list[SailingSignal]:
    """The signals of ``update`` compared with ``previous``, the sailing's row before it
    (:func:`streams.features.sailing.row`).

    - ``fare_drop``: the fare fell by at least ``fare_drop`` (5 %) of the previous fare;
    - ``capacity_released``: the seats left went from 0 or less to more than 0, or rose
      by at least ``seats_step`` (10).

    None for a sailing not seen before (``previous`` None or a row without a route), for
    an update older than ``previous`` (it does not change the sailing's state), and for a
    sailing that is cancelled, has departed or departs before the update's time.
    """
    if previous is None or not previous.get("route_id"):
        return []
    if previous.get("sailing_id", update.sailing_id) != update.sailing_id:
        raise ValueError(
            f"previous: is the row of {previous.get('sailing_id')!r}, not of {update.sailing_id!r}"
        )
    seen = previous.get("event_timestamp")
    if isinstance(seen, datetime) and seen.tzinfo is not None and update.event_time < seen:
        return []
    if update.status not in _ON_SALE or update.departure_time <= update.event_time:
        return []
    triggers: list[Trigger] = []
    old_fare = _number(previous.get("fare_eur"))
    if old_fare is not None and old_fare > 0 and _dropped(old_fare, update.fare_eur, fare_drop):
        triggers.append(Trigger.FARE_DROP)
    old_seats = _number(previous.get("seats_left"))
    seats = update.capacity_passengers - update.booked_passengers
    if old_seats is not None and seats > 0 and (old_seats <= 0 or seats - old_seats >= seats_step):
        triggers.append(Trigger.CAPACITY_RELEASED)
    return [
        SailingSignal(
            trigger,
            update.sailing_id,
            update.route_id,
            update.event_id,
            update.event_time,
            port=update.origin_port,
        )
        for trigger in triggers
    ]


def fan_out(signal: SailingSignal, customers: Iterable[str]) -> list[TriggerHit]:
    """One hit of ``signal`` per distinct customer, sorted by customer id.

    Every hit keeps the signal's ``source_event_id``: hits differ by customer only.
    """
    return [
        TriggerHit(
            signal.trigger,
            signal.source_event_id,
            customer_id,
            signal.at,
            port=signal.port,
            route_id=signal.route_id,
            sailing_id=signal.sailing_id,
        )
        for customer_id in sorted(set(customers))
    ]


# Signals on offers.triggers ------------------------------------------------------------


def to_signal(hit: TriggerHit) -> TriggerSignal:
    """The hit as a ``trigger_signal`` record; its id is fixed by the source event, the
    trigger and the customer, so a hit found twice is the same record."""
    key = "\x1f".join((hit.source_event_id, hit.trigger.value, hit.customer_id))
    return TriggerSignal(
        event_id=f"sig-{hashlib.blake2b(key.encode(), digest_size=16).hexdigest()}",
        event_time=hit.at,
        customer_id=hit.customer_id,
        trigger=hit.trigger,
        source_event_id=hit.source_event_id,
        port=hit.port,
        route_id=hit.route_id,
        sailing_id=hit.sailing_id,
    )


def from_signal(signal: TriggerSignal) -> TriggerHit:
    """The hit a ``trigger_signal`` record carries."""
    return TriggerHit(
        signal.trigger,
        signal.source_event_id,
        signal.customer_id,
        signal.event_time,
        port=signal.port,
        route_id=signal.route_id,
        sailing_id=signal.sailing_id,
    )
