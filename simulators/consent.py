"""Which simulated customers consent to be contacted, per channel.

The simulated world emits no consent changes: a customer's consent for a scope is drawn
from a stable hash of the seed, the customer id and the scope, so the same customers
consent in every run, on every machine, and a larger world keeps the consents of a
smaller one. By default 85 % of customers grant SMS, 40 % WhatsApp and 35 % the use of
their location (:data:`CONSENT_SHARES`); the other scopes are never granted. The
customers who grant location are exactly those whose app shares it, the only ones the
world sends pings of (``Customers.location_sharing``, from :func:`granting`): an app
sends a customer's position only with their consent.

:func:`consent_changes` turns the rule into the ``ConsentChange`` records that bring the
consent already held (``held``) to it: a grant where the rule says yes and none is held,
a withdrawal where the rule says no and a grant is held, nothing otherwise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from offers.contracts import ConsentChange, ConsentScope, ConsentSource

CONSENT_SHARES: Mapping[ConsentScope, float] = MappingProxyType(
    {ConsentScope.SMS: 0.85, ConsentScope.WHATSAPP: 0.40, ConsentScope.LOCATION: 0.35}
)
"""Share of customers who grant each scope; a scope not listed is never granted."""

Held = Callable[[str, ConsentScope], bool]
"""Whether a grant is held for the customer and scope."""


def consent_draw(seed: int, customer_id: str, scope: ConsentScope) -> float:
    """A number in [0, 1) fixed by the seed, the customer and the scope."""
    key = f"{seed}\x1f{customer_id}\x1f{scope.value}".encode()
    digest = hashlib.blake2b(key, digest_size=8, person=b"consent").digest()
    return int.from_bytes(digest, "big") / 2**64


def granting(
    seed: int,
    customer_ids: Sequence[str],
    scope: ConsentScope,
    shares: Mapping[ConsentScope, float] = CONSENT_SHARES,
) -> npt.NDArray[np.bool_]:
    """:func:`grants` of every customer of ``customer_ids``, as one boolean per customer
    (the same draws, made in bulk: a million customers take a second or two)."""
    share = shares.get(scope, 0.0)
    # the hash of the seed's prefix, copied for each customer: the same digest as
    # consent_draw's, in half the time
    seeded = hashlib.blake2b(f"{seed}\x1f".encode(), digest_size=8, person=b"consent")
    suffix = f"\x1f{scope.value}".encode()
    digests = []
    for customer in customer_ids:
        draw = seeded.copy()
        draw.update(customer.encode() + suffix)
        digests.append(draw.digest())
    draws = np.frombuffer(b"".join(digests), dtype=">u8").astype(np.float64) / 2**64
    return np.asarray(draws < share, dtype=np.bool_)


def grants(
    seed: int,
    customer_id: str,
    scope: ConsentScope,
    shares: Mapping[ConsentScope, float] = CONSENT_SHARES,
) -> bool:
    """Whether the customer grants consent for ``scope`` in the world of ``seed``."""
    return consent_draw(seed, customer_id, scope) < shares.get(scope, 0.0)


def consent_changes(
    customer_ids: Iterable[str],
    seed: int,
    *,
    at: datetime,
    held: Held = lambda customer_id, scope: False,
    shares: Mapping[ConsentScope, float] = CONSENT_SHARES,
) -> list[ConsentChange]:
    """The changes, made at ``at`` in the app, that bring what is ``held`` to the rule
    for every customer and every scope of ``shares``, customer by customer."""
    changes: list[ConsentChange] = []
    for customer_id in customer_ids:
        for scope in shares:
            wanted = grants(seed, customer_id, scope, shares)
            if wanted == held(customer_id, scope):
                continue
            changes.append(_change(seed, customer_id, scope, wanted, at))
    return changes


def _change(
    seed: int, customer_id: str, scope: ConsentScope, granted: bool, at: datetime
) -> ConsentChange:
    verb = "grant" if granted else "withdraw"
    key = f"{seed}\x1f{customer_id}\x1f{scope.value}\x1f{verb}".encode()
    return ConsentChange(
        event_id=f"consent-{hashlib.blake2b(key, digest_size=10).hexdigest()}",
        event_time=at,
        customer_id=customer_id,
        scope=scope,
        granted=granted,
        source=ConsentSource.APP,
    )
