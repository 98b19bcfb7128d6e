from __future__ import annotations

from datetime import UTC, datetime

import pytest

from offers.contracts import ConsentScope, ConsentSource
from simulators.consent import CONSENT_SHARES, consent_changes, consent_draw, grants
from simulators.customers import customer_id

AT = datetime(2026, 6, 30, tzinfo=UTC)
CUSTOMERS = [customer_id(i) for i in range(20_000)]


@pytest.mark.parametrize(("scope", "share"), sorted(CONSENT_SHARES.items()))
def test_each_scope_is_granted_by_its_share_of_customers(scope: ConsentScope, share: float) -> None:
    granted = sum(grants(7, customer, scope) for customer in CUSTOMERS)
    assert granted / len(CUSTOMERS) == pytest.approx(share, abs=0.015)


def test_scopes_without_a_share_are_never_granted() -> None:
    assert not any(grants(7, customer, ConsentScope.PUSH) for customer in CUSTOMERS[:1_000])


def test_the_rule_is_stable_and_depends_on_seed_customer_and_scope() -> None:
    assert consent_draw(7, "c0000042", ConsentScope.SMS) == consent_draw(
        7, "c0000042", ConsentScope.SMS
    )
    draws = {
        consent_draw(7, "c0000042", ConsentScope.SMS),
        consent_draw(8, "c0000042", ConsentScope.SMS),
        consent_draw(7, "c0000043", ConsentScope.SMS),
        consent_draw(7, "c0000042", ConsentScope.WHATSAPP),
    }
    assert len(draws) == 4
    assert all(0.0 <= draw < 1.0 for draw in draws)


def test_a_scope_is_granted_independently_of_the_other() -> None:
    both = sum(
        grants(7, c, ConsentScope.SMS) and grants(7, c, ConsentScope.WHATSAPP) for c in CUSTOMERS
    )
    assert both / len(CUSTOMERS) == pytest.approx(0.85 * 0.40, abs=0.015)


def test_changes_grant_what_the_rule_grants_with_stable_ids() -> None:
    changes = consent_changes(CUSTOMERS[:500], 7, at=AT)
    assert changes == consent_changes(CUSTOMERS[:500], 7, at=AT)
    assert all(c.granted and c.source is ConsentSource.APP and c.event_time == AT for c in changes)
    assert {(c.customer_id, c.scope) for c in changes} == {
        (customer, scope)
        for customer in CUSTOMERS[:500]
        for scope in CONSENT_SHARES
        if grants(7, customer, scope)
    }
    assert len({c.event_id for c in changes}) == len(changes)


def test_changes_leave_alone_what_is_held_and_withdraw_what_the_rule_refuses() -> None:
    first = consent_changes(CUSTOMERS[:200], 7, at=AT)
    held = {(c.customer_id, c.scope) for c in first}
    assert consent_changes(CUSTOMERS[:200], 7, at=AT, held=lambda c, s: (c, s) in held) == []

    everything = consent_changes(CUSTOMERS[:200], 7, at=AT, held=lambda c, s: True)
    assert {(c.customer_id, c.scope) for c in everything} == {
        (customer, scope)
        for customer in CUSTOMERS[:200]
        for scope in CONSENT_SHARES
        if (customer, scope) not in held
    }
    assert not any(c.granted for c in everything)
