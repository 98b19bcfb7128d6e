"""Customers' consent per channel and for location use, kept in ``state.consent``.

No record means no consent: nothing is sent to a customer before they grant it. A
withdrawal is a record with ``granted=False`` (kept, so the decision and its source are
known); erasing a customer writes tombstones for every scope.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import cast

from offers.contracts import ConsentChange, ConsentScope, ConsentSource, decode, encode
from offers.contracts.events import consent_key
from offers.state.compacted import Position, TopicView, TopicWriter
from offers.topics import CONSENT


def decode_consent(raw: bytes) -> ConsentChange:
    """A record of ``state.consent``."""
    return cast(ConsentChange, decode(raw, expected=ConsentChange))


class ConsentStore:
    """Writes consent changes and answers, per customer, from the followed topic."""

    def __init__(self, bootstrap: str, writer: TopicWriter) -> None:
        self._writer = writer
        self._by_customer: dict[str, dict[ConsentScope, ConsentChange]] = {}
        self._lock = threading.Lock()
        self.view: TopicView[ConsentChange] = TopicView(
            bootstrap, CONSENT.name, decode_consent, on_change=self._index
        )

    def _index(self, key: str, change: ConsentChange | None) -> None:
        customer, _, scope = key.partition("|")
        with self._lock:
            scopes = self._by_customer.setdefault(customer, {})
            if change is None:
                scopes.pop(ConsentScope(scope), None)
                if not scopes:  # an erased customer leaves nothing behind
                    del self._by_customer[customer]
            else:
                scopes[change.scope] = change

    def record(self, change: ConsentChange) -> Position:
        """Write the change and wait until this store reads it back."""
        position = self._writer.put(CONSENT.name, change.consent_key, encode(change))
        self.view.wait_for(position)
        return position

    def set(
        self, customer_id: str, scope: ConsentScope, granted: bool, source: ConsentSource
    ) -> ConsentChange:
        """Record the customer's decision for ``scope``, made now, and return it."""
        change = ConsentChange(
            event_id=f"consent-{uuid.uuid4().hex}",
            event_time=datetime.now(UTC),
            customer_id=customer_id,
            scope=scope,
            granted=granted,
            source=source,
        )
        self.record(change)
        return change

    def erase(self, customer_id: str) -> int:
        """Tombstones for every scope of the customer (also those this store holds no
        record of: one may be on its way), waited for; how many scopes held a record."""
        held = len(self.of(customer_id))
        # the scopes' keys may lie in different partitions: wait for each tombstone
        positions = [
            self._writer.put(CONSENT.name, consent_key(customer_id, scope), None)
            for scope in ConsentScope
        ]
        for position in positions:
            self.view.wait_for(position)
        return held

    def of(self, customer_id: str) -> dict[ConsentScope, ConsentChange]:
        with self._lock:
            return dict(self._by_customer.get(customer_id, {}))

    def granted(self, customer_id: str, scope: ConsentScope) -> bool:
        change = self.of(customer_id).get(scope)
        return change is not None and change.granted

    def close(self) -> None:
        self.view.close()
