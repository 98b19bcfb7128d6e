"""The stream processor's location retention, without a broker: when a sweep cuts, which
table entries have expired, and which customers' latest location consent is a
withdrawal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stream_factories import LATENESS, make_ping

from offers.contracts import ConsentChange, ConsentScope, ConsentSource, encode
from streams.features.location import State, apply, last_ping_ms
from streams.features.windows import from_ms
from streams.location_retention import (
    LocationWithdrawals,
    expired_keys,
    retention_cutoff,
    sweep_interval,
)
from streams.processing import Entry
from streams.views import CUSTOMER_LOCATION

DAY = timedelta(hours=24)


def entry_after(*seconds: float) -> bytes:
    state = State()
    for t in seconds:
        state = apply(state, make_ping(t), allowed_lateness=LATENESS).state
    return Entry(state, offset=len(seconds)).encode()


def test_a_sweep_cuts_one_interval_inside_the_retention() -> None:
    now = datetime(2026, 7, 14, 12, 0, tzinfo=UTC)
    assert sweep_interval(DAY) == timedelta(hours=2)
    assert sweep_interval(timedelta(hours=1)) == timedelta(minutes=5)
    # what the next sweep would find older than the retention goes now
    cutoff = retention_cutoff(now, DAY)
    assert cutoff == now - timedelta(hours=22)
    assert now + sweep_interval(DAY) - cutoff == DAY


def test_entries_whose_last_ping_is_before_the_cutoff_have_expired() -> None:
    old, fresh = entry_after(0, 60), entry_after(0, 7_200)
    state = Entry.decode(CUSTOMER_LOCATION, fresh).state
    assert last_ping_ms(state.to_dict()) == state.last[0]
    assert last_ping_ms(State().to_dict()) is None
    cutoff = Entry.decode(CUSTOMER_LOCATION, old).state.last[0] + 1
    entries = [
        (b"old", old),
        (b"fresh", fresh),
        (b"empty", Entry(State(), offset=0).encode()),
    ]
    assert expired_keys(entries, from_ms(cutoff)) == [b"old", b"empty"]
    assert expired_keys(entries, from_ms(cutoff - 1)) == [b"empty"]
    # an entry that cannot be read is left, and the others are still swept
    assert expired_keys([(b"bad", b"{not json"), *entries], from_ms(cutoff - 1)) == [b"empty"]


def change(customer: str, scope: ConsentScope, granted: bool) -> tuple[bytes, bytes]:
    record = ConsentChange(
        event_id=f"consent-{customer}-{scope.value}-{granted}",
        event_time=datetime(2026, 7, 14, tzinfo=UTC),
        customer_id=customer,
        scope=scope,
        granted=granted,
        source=ConsentSource.APP,
    )
    return record.consent_key.encode(), encode(record)


def test_only_a_customers_latest_location_withdrawal_is_pending() -> None:
    withdrawals = LocationWithdrawals()
    for record in (
        change("a", ConsentScope.LOCATION, True),
        change("a", ConsentScope.LOCATION, False),  # withdrawn
        change("b", ConsentScope.LOCATION, False),
        change("b", ConsentScope.LOCATION, True),  # and granted again
        change("c", ConsentScope.SMS, False),  # another scope
        change("d", ConsentScope.LOCATION, False),
    ):
        withdrawals.apply(*record)
    withdrawals.apply(b"e|location", None)  # an erasure's tombstone: the erasure's work
    withdrawals.apply(b"f|location", b"not a consent change")
    withdrawals.apply(None, b"")
    assert withdrawals.take() == ["a", "d"]
    assert withdrawals.take() == []
