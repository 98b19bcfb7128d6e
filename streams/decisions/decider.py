"""The decisions of one micro-batch of triggers, against Redis: the blocking half of the
decision agent (it runs in a thread, so the agent's event loop keeps consuming).

For a batch, :meth:`Decider.decide`:

1. takes the stored plan of every trigger seen before (:mod:`streams.decisions.memo`);
2. for the others, looks up each customer's location consent in the consent replica,
   as it stands now (:mod:`streams.decisions.location_consent`): a ``geofence_enter``
   trigger of a customer without it is decided without an offer
   (``no_location_consent``), and the other customers without it have their location
   features masked (passed to the model as missing);
3. reads the customers' online features in one round trip, and reads again (after the
   feature sink's next write, or 20 ms, up to ``OFFERS_DECISION_FEATURE_WAIT_MS``) until
   each row shows its trigger's own event; a trigger whose row never does is decided
   without an offer (``stale_features``): no offer is ever sent on missing or stale
   features;
4. plans them all with one model call (:func:`streams.decisions.engine.plan`), with the
   open social alerts of the snapshot and each customer's latest complaint at or before
   the trigger (:mod:`streams.decisions.complaints`, one more read for the batch), and
   stores the
   plans (the first stored plan of a trigger wins);
5. reserves each send in the contact ledger (atomic across workers, idempotent on the
   decision id) and settles the records.

Any Redis error propagates: the agent retries the whole batch, which is safe because
every step is idempotent, and acknowledges nothing until it succeeds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis import Redis

from features.online import EVENT_TIME_PREFIX, OnlineReader
from models.inputs import CustomerColumns
from offers.campaigns import Campaign, CampaignStatus
from offers.contracts import BookingAction, BookingEvent, OfferDecision, SocialPost
from offers.settings import Settings
from streams.decisions.clock import decision_time
from streams.decisions.complaints import ComplaintBook, is_complaint, latest_before
from streams.decisions.context import customer_context, shows
from streams.decisions.engine import (
    NO_MODEL,
    STALE_FEATURES,
    Models,
    Plan,
    Situation,
    plan,
    settle,
    without_offer,
)
from streams.decisions.ledger import ContactLedger
from streams.decisions.location_consent import (
    NO_LOCATION_CONSENT,
    lacks_location_consent,
    location_consents,
    mask_location,
)
from streams.decisions.memo import DecisionMemo, trigger_key
from streams.decisions.model_slot import ModelSlot
from streams.decisions.quotes import QuoteBook
from streams.decisions.searchers import RouteSearchers
from streams.decisions.triggers import TriggerHit

FEATURE_POLL_S = 0.02
"""The longest wait between two reads of features that do not show their trigger yet."""
CONVERTED = "converted"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the workers hold in memory, as of the batch: every campaign, every sailing's
    latest row, the consent replica's lookup (``consent(key)``, None when unknown), and
    the subjects of the open social alerts (``port:LIV``, ``route:LIV-OLB``)."""

    campaigns: Sequence[Campaign]
    sailings: Mapping[str, Mapping[str, Any]]
    consent: Callable[[str], bool | None]
    alerts: frozenset[str] = frozenset()


class Decider:
    def __init__(
        self,
        settings: Settings,
        redis: Redis,
        reader: OnlineReader,
        slot: ModelSlot,
        *,
        quotes: QuoteBook,
        searchers: RouteSearchers,
        wait_for_features: Callable[[float], None] = time.sleep,
    ) -> None:
        """``wait_for_features(s)`` blocks until the online features may have changed, for
        at most ``s`` seconds (the feature sink's :meth:`~streams.sink.FeatureSink.wait_for_write`
        in a worker that also writes them)."""
        self.settings = settings
        self.reader = reader
        self.slot = slot
        self.ledger = ContactLedger(redis)
        self.memo = DecisionMemo(redis)
        self.quotes = quotes
        self.searchers = searchers
        self.complaints = ComplaintBook(
            redis, timedelta(hours=settings.complaint_suppression_hours)
        )
        self._wait_for_features = wait_for_features

    def observe_bookings(self, events: Sequence[BookingEvent]) -> None:
        """What booking events change for later triggers: pending quotes, the route's
        recent searchers, and a conversion's suppression of further offers."""
        if not events:
            return
        self.quotes.observe(events)
        interested = (BookingAction.SEARCH, BookingAction.QUOTE)
        self.searchers.record(
            (e.route_id, e.customer_id, e.event_time) for e in events if e.action in interested
        )
        quiet = timedelta(hours=self.settings.conversion_suppression_hours)
        for event in events:
            if event.action is BookingAction.BOOK and quiet:
                end = event.event_time + quiet
                self.ledger.suppress(event.customer_id, end, CONVERTED, since=event.event_time)

    def observe_posts(self, posts: Sequence[SocialPost]) -> None:
        """Record the complaints among social posts: each suppresses offers to its author
        for ``OFFERS_COMPLAINT_SUPPRESSION_HOURS`` from its event time."""
        self.complaints.record(
            (post.customer_id, post.event_time) for post in posts if is_complaint(post)
        )

    def decide(self, hits: Sequence[TriggerHit], snapshot: Snapshot) -> list[OfferDecision]:
        """One record per distinct trigger of ``hits``, in order of first sighting."""
        unique: dict[str, TriggerHit] = {}
        for hit in hits:
            unique.setdefault(trigger_key(hit), hit)
        keys = list(unique)
        held = self.memo.get_many(keys)
        fresh = {key: unique[key] for key in keys if key not in held}
        if fresh:
            held.update(self.memo.put_many(self._plan(fresh, snapshot)))
        return self._settle([held[key] for key in keys])

    def _settle(self, plans: Sequence[Plan]) -> list[OfferDecision]:
        """Each plan's record, its send reserved in the ledger (all in one round trip)."""
        sends = [planned.send for planned in plans if planned.send is not None]
        reservations = iter(self.ledger.reserve_many(sends))
        return [
            planned.record if planned.send is None else settle(planned, next(reservations))
            for planned in plans
        ]

    def _plan(self, hits: Mapping[str, TriggerHit], snapshot: Snapshot) -> dict[str, Plan]:
        models = self.slot.models
        if models is None:
            return {key: Plan(without_offer(hit, NO_MODEL)) for key, hit in hits.items()}
        located = location_consents((hit.customer_id for hit in hits.values()), snapshot.consent)
        plans = {
            key: Plan(without_offer(hit, NO_LOCATION_CONSENT, models.version))
            for key, hit in hits.items()
            if lacks_location_consent(hit, located)
        }
        pending = {key: hit for key, hit in hits.items() if key not in plans}
        if pending:
            plans.update(self._plan_on_features(pending, located, snapshot, models))
        return {key: plans[key] for key in hits}

    def _plan_on_features(
        self,
        hits: Mapping[str, TriggerHit],
        located: Mapping[str, bool],
        snapshot: Snapshot,
        models: Models,
    ) -> dict[str, Plan]:
        """The plans of ``hits`` from their customers' online features, the location
        features masked for the customers without the location consent (``located``)."""
        customers = list(dict.fromkeys(hit.customer_id for hit in hits.values()))
        row_of = {customer: i for i, customer in enumerate(customers)}
        read, ready = self._read_features(list(hits.values()), customers, row_of)
        columns = mask_location(read, [located[customer] for customer in customers])
        plans: dict[str, Plan] = {}
        situations: list[tuple[str, Situation]] = []
        names = [name for name in columns if not name.startswith(EVENT_TIME_PREFIX)]
        complaints = self.complaints.of(customers)
        for (key, hit), shown in zip(hits.items(), ready, strict=True):
            if not shown:
                plans[key] = Plan(without_offer(hit, STALE_FEATURES, models.version))
                continue
            row = row_of[hit.customer_id]
            features = {name: columns[name][row] for name in names}
            customer = customer_context(
                hit, features, snapshot.consent, self.settings.default_time_zone
            )
            now = decision_time(self.settings.decision_clock, hit.at)
            complained = latest_before(complaints.get(hit.customer_id, ()), now)
            situation = Situation(hit, now, customer, row, complained)
            situations.append((key, situation))
        if situations:
            active = [c.id for c in snapshot.campaigns if c.status is CampaignStatus.ACTIVE]
            made = plan(
                [situation for _, situation in situations],
                snapshot.campaigns,
                sailings=snapshot.sailings,
                sends=self.ledger.sends_many(active),
                customers=CustomerColumns.from_columns(columns),
                models=models,
                settings=self.settings,
                alerts=snapshot.alerts,
            )
            plans.update((key, p) for (key, _), p in zip(situations, made, strict=True))
        return plans

    def _read_features(
        self, hits: list[TriggerHit], customers: list[str], row_of: Mapping[str, int]
    ) -> tuple[dict[str, list[Any]], list[bool]]:
        """The customers' features, read until every hit's row shows its event or the
        wait is over; and whether each hit's row does."""
        deadline = time.monotonic() + self.settings.decision_feature_wait_ms / 1000
        blanks = [""] * len(customers)
        while True:
            columns = self.reader.read(customers, blanks)
            ready = [shows(hit, columns, row_of[hit.customer_id]) for hit in hits]
            left = deadline - time.monotonic()
            if all(ready) or left <= 0:
                return columns, ready
            self._wait_for_features(min(FEATURE_POLL_S, left))
