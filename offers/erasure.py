"""The right to erasure: one call removes a customer's personal data from every store.

:meth:`CustomerErasure.erase` first records the erasure on ``state.erasures`` (compacted,
keyed by customer id: :class:`~offers.contracts.CustomerErased`), then erases

- the contact: the number, its index entry by keyed hash, language and name
  (:class:`~offers.contacts.ContactStore`);
- consent: a tombstone for every scope on ``state.consent``, each waited for, so that
  the compacted topic forgets the customer too;
- the offers the customer holds, redeemed or not (:class:`~offers.offer_book.OfferBook`;
  the campaigns' redemption counters keep their sums);
- the features: the hash of the customer's entity in Feast's Redis online store (every
  view keyed by customers) and its rows in the views' offline logs
  (:mod:`features.erasure`);
- the engine's state about the customer in Redis (:mod:`offers.engine_state`): contact
  policy, decision memos, quote watch, route searches, delivery records, request
  windows, API keys.

What the stream processors hold (tables restored from compacted changelogs) they forget
when they read the erasure record (:mod:`streams.erasure`), and training-set builders
leave out what the customer did up to its erasure (:mod:`models.logged`).

Idempotent, and safe to retry after a crash half-way: the record comes first, then every
store is erased, so a repeated call finishes the job. A repeated call that finds nothing
left writes no new record and erases nothing. A customer seen again after its erasure
is a new customer; erasing it again writes a new record, so that the stream processors
forget it again.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, cast

from pydantic import BaseModel, ConfigDict, Field
from redis import Redis

from offers.contacts import ContactStore
from offers.contracts import CustomerErased, decode, encode
from offers.contracts.base import Identifier, UtcDatetime
from offers.engine_state import EngineState
from offers.offer_book import OfferBook
from offers.roles import Role
from offers.settings import Settings
from offers.state.compacted import TopicView, TopicWriter
from offers.state.consent import ConsentStore
from offers.topics import ERASURES

if TYPE_CHECKING:  # imported when first used: Feast is slow to import
    from features.erasure import FeatureErasure


def decode_erasure(raw: bytes) -> CustomerErased:
    """A record of ``state.erasures``."""
    return cast(CustomerErased, decode(raw, expected=CustomerErased))


def erasure_record(customer_id: str, requested_by: Role, now: datetime) -> CustomerErased:
    """The record of the customer's erasure, requested by ``requested_by`` at ``now``."""
    return CustomerErased(
        event_id=f"erase-{uuid.uuid4().hex}",
        event_time=now,
        customer_id=customer_id,
        requested_by=requested_by,
    )


class ErasureLog:
    """The erasure records: written with acks=all, read back from a followed view."""

    def __init__(self, bootstrap: str, writer: TopicWriter) -> None:
        self._writer = writer
        self.view: TopicView[CustomerErased] = TopicView(bootstrap, ERASURES.name, decode_erasure)

    def get(self, customer_id: str) -> CustomerErased | None:
        """The customer's latest erasure, if it was ever erased."""
        return self.view.get(customer_id)

    def record(self, erasure: CustomerErased) -> None:
        """Write the record and wait until the view reads it back."""
        position = self._writer.put(ERASURES.name, erasure.customer_id, encode(erasure))
        self.view.wait_for(position)

    def close(self) -> None:
        self.view.close()


class Erasure(BaseModel):
    """What an erasure call did."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: Identifier
    requested_at: UtcDatetime = Field(description="When the erasure was recorded.")
    requested_by: Role = Field(description="Who asked for it: the customer, or an admin.")
    recorded: bool = Field(
        description="Whether this call wrote the erasure record; false when an earlier "
        "call had, and nothing of the customer was left but what this call erased."
    )
    erased: dict[str, int] = Field(
        description="What was removed, per store: keys, records, consent scopes, offers, "
        "offline feature rows. All zero when the customer had been erased already."
    )


class CustomerErasure:
    """Erases customers from every store of the engine (see the module's notes)."""

    def __init__(
        self,
        settings: Settings,
        *,
        log: ErasureLog,
        contacts: ContactStore,
        consent: ConsentStore,
        offers: OfferBook,
        redis: Redis,
    ) -> None:
        self._settings = settings
        self._log = log
        self._contacts = contacts
        self._consent = consent
        self._offers = offers
        self._redis = redis
        self._engine = EngineState(redis)

    @cached_property
    def features(self) -> FeatureErasure:
        from features.erasure import FeatureErasure

        return FeatureErasure(self._settings, self._redis)

    def erase(self, customer_id: str, requested_by: Role, now: datetime | None = None) -> Erasure:
        """Record the erasure of the customer (unless it is recorded and nothing is left),
        then erase it from every store; what was erased, per store."""
        record, recorded = self._recorded(customer_id, requested_by, now or datetime.now(UTC))
        erased = {
            "contact": self._contacts.erase(customer_id),
            "consent": self._consent.erase(customer_id),
            "offers": self._offers.erase(customer_id),
            "online_features": self.features.erase_online(customer_id),
            "offline_feature_rows": self.features.erase_offline([customer_id]),
        }
        for store, count in self._engine.erase(customer_id).items():
            erased[store] = erased.get(store, 0) + count
        return Erasure(
            customer_id=customer_id,
            requested_at=record.event_time,
            requested_by=record.requested_by,
            recorded=recorded,
            erased=erased,
        )

    def _recorded(
        self, customer_id: str, requested_by: Role, now: datetime
    ) -> tuple[CustomerErased, bool]:
        """The erasure record to answer with, and whether it is written now: a new one,
        unless the customer was erased before and the stores hold nothing of it since."""
        earlier = self._log.get(customer_id)
        if earlier is not None and not self._holds_data(customer_id):
            return earlier, False
        record = erasure_record(customer_id, requested_by, now)
        self._log.record(record)
        return record, True

    def _holds_data(self, customer_id: str) -> bool:
        """Whether the stores that every active customer fills hold anything of it."""
        return (
            self._contacts.phone_of(customer_id) is not None
            or bool(self._consent.of(customer_id))
            or self._offers.holds(customer_id)
            or self.features.holds_online(customer_id)
        )
