"""Restart the API, then the broker and Redis as well: every campaign, audit entry, consent
decision (the one made by an SMS STOP included) and contact number is still there, and a
campaign changes on from the version it had.

This module starts its own stack in its own directory, since it stops and starts it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from offers.roles import Role
from offers.settings import Settings
from offers.stack import LocalStack
from offers_api.signatures import sign_twilio
from offers_api.state import ApiState
from tests.integration.api_client import api, bearer
from tests.integration.stacks import stack_settings_in
from tests.unit.campaigns.factories import nested, runnable_wire

SMS = "/v1/webhooks/twilio/sms"
MARKETER = ("u-marta", Role.MARKETER)
ADMIN = ("u-root", Role.ADMIN)
PHONES = {"c-bruno": "+393331234567"}
"""The customers who gave a number, and the number."""
CAMPAIGN_PLANS: dict[str, tuple[dict[str, Any], list[tuple[str, tuple[str, Role]]]]] = {
    "paused": ({"name": "Elba weekend"}, [("activate", MARKETER), ("pause", ADMIN)]),
    "ended": (
        {"name": "Last call Olbia", "offer": nested("offer", percent=20)},
        [("activate", ADMIN), ("end", MARKETER)],
    ),
    "active": ({"description": "Autumn crossings"}, [("activate", ADMIN)]),
}
"""Each campaign by the status it ends in: created as a draft by the marketer, updated by
her, then moved by whom it says."""
CONSENT_STEPS: list[tuple[str, str, bool, Role]] = [
    ("c-ada", "sms", True, Role.CUSTOMER),
    ("c-ada", "push", True, Role.CUSTOMER),
    ("c-ada", "location", True, Role.CUSTOMER),
    ("c-ada", "push", False, Role.CUSTOMER),
    ("c-bruno", "sms", True, Role.CUSTOMER),
    ("c-bruno", "location", True, Role.CUSTOMER),
    ("c-bruno", "location", False, Role.CUSTOMER),
    ("c-carla", "push", True, Role.CUSTOMER),
    ("c-carla", "location", True, Role.CUSTOMER),
    ("c-carla", "location", False, Role.ADMIN),
]
"""(customer, scope, granted, who decided): the customer in the app, or an admin."""
CUSTOMERS = sorted({customer for customer, *_ in CONSENT_STEPS})


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    """A stack of its own (the test stops and starts it), always stopped at the end."""
    own = LocalStack(stack_settings_in(tmp_path), tmp_path)
    own.up()
    try:
        yield own
    finally:
        own.down()


def as_user(settings: Settings, user: tuple[str, Role]) -> dict[str, str]:
    return bearer(settings, *user)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def api_state(client: TestClient) -> ApiState:
    state: ApiState = client.app.state.api  # type: ignore[attr-defined]  # Starlette's app is untyped here
    return state


def make_history(client: TestClient, settings: Settings) -> dict[str, str]:
    """Three campaigns changed by two people, consent decided in the app, by an admin and
    by SMS; returns the campaigns' ids by the status they end in."""
    marketer = as_user(settings, MARKETER)
    ids: dict[str, str] = {}
    for final, (update, moves) in CAMPAIGN_PLANS.items():
        cid = ok(client.post("/v1/campaigns", json=runnable_wire(), headers=marketer), 201)["id"]
        ok(client.patch(f"/v1/campaigns/{cid}", json=update, headers=marketer))
        for action, user in moves:
            ok(client.post(f"/v1/campaigns/{cid}/{action}", headers=as_user(settings, user)))
        ids[final] = cid

    for customer, scope, granted, role in CONSENT_STEPS:
        headers = bearer(settings, customer if role is Role.CUSTOMER else ADMIN[0], role)
        path = f"/v1/customers/{customer}/consent/{scope}"
        ok(client.put(path, json={"granted": granted}, headers=headers))
    for customer, phone in PHONES.items():
        headers = bearer(settings, customer, Role.CUSTOMER)
        ok(client.put(f"/v1/customers/{customer}/contact", json={"phone": phone}, headers=headers))
        form = {"From": phone, "Body": "STOP"}
        signature = sign_twilio(
            settings.twilio_auth_token.get_secret_value(), settings.public_base_url + SMS, form
        )
        stop = client.post(SMS, data=form, headers={"X-Twilio-Signature": signature})
        assert stop.status_code == 200 and "<Message>" in stop.text, stop.text
    return ids


def snapshot(client: TestClient, settings: Settings) -> dict[str, Any]:
    """Everything the API tells about campaigns and customers, and the stored numbers.

    Consent is keyed by scope: the API lists a customer's scopes in no promised order."""
    marketer = as_user(settings, MARKETER)
    listed = ok(client.get("/v1/campaigns", headers=marketer))
    each, trails = {}, {}
    for campaign in listed:
        cid = campaign["id"]
        read = client.get(f"/v1/campaigns/{cid}", headers=marketer)
        each[cid] = (ok(read), read.headers["ETag"])
        trails[cid] = ok(client.get(f"/v1/campaigns/{cid}/audit", headers=marketer))
    consent = {
        customer: {
            entry["scope"]: entry
            for entry in ok(
                client.get(
                    f"/v1/customers/{customer}/consent",
                    headers=bearer(settings, customer, Role.CUSTOMER),
                )
            )
        }
        for customer in CUSTOMERS
    }
    contacts = api_state(client).contacts
    numbers = {customer: contacts.phone_of(customer) for customer in PHONES}
    senders = {phone: contacts.customer_for_phone(phone) for phone in PHONES.values()}
    return {
        "list": listed,
        "each": each,
        "audit": trails,
        "consent": consent,
        "numbers": numbers,
        "senders": senders,
    }


def check_history(before: dict[str, Any], ids: dict[str, str]) -> None:
    """The snapshot holds the history that :func:`make_history` made, not an empty one."""
    assert [c["id"] for c in before["list"]] == [ids["paused"], ids["ended"], ids["active"]]
    assert {cid: (body["status"], tag) for cid, (body, tag) in before["each"].items()} == {
        ids["paused"]: ("paused", '"4"'),
        ids["ended"]: ("ended", '"4"'),
        ids["active"]: ("active", '"3"'),
    }
    trail = [(e["version"], e["action"], e["actor"]["user_id"], e["actor"]["role"])
             for e in before["audit"][ids["ended"]]]  # fmt: skip
    assert trail == [
        (1, "created", "u-marta", "marketer"),
        (2, "updated", "u-marta", "marketer"),
        (3, "activated", "u-root", "admin"),
        (4, "ended", "u-marta", "marketer"),
    ]
    assert before["audit"][ids["ended"]][1]["changes"] == {
        "name": ["Summer to Olbia", "Last call Olbia"],
        "offer.percent": [15, 20],
    }
    decided = {
        customer: {scope: (e["granted"], e["source"]) for scope, e in scopes.items()}
        for customer, scopes in before["consent"].items()
    }
    assert decided == {
        "c-ada": {"sms": (True, "app"), "push": (False, "app"), "location": (True, "app")},
        "c-bruno": {"sms": (False, "sms_reply"), "location": (False, "app")},
        "c-carla": {"push": (True, "app"), "location": (False, "admin")},
    }
    assert before["numbers"] == PHONES
    assert before["senders"] == {phone: customer for customer, phone in PHONES.items()}


def test_campaigns_audit_and_consent_survive_restarts_of_the_api_and_the_stack(
    stack: LocalStack,
) -> None:
    settings = stack.configured()
    with api(settings) as client:
        ids = make_history(client, settings)
        before = snapshot(client, settings)
    check_history(before, ids)

    with api(settings) as client:
        assert snapshot(client, settings) == before, "lost when the API restarted"

    first = stack.state
    assert first is not None
    stack.down()
    again = stack.up()
    assert {again.kafka_pid, again.redis_pid}.isdisjoint({first.kafka_pid, first.redis_pid})
    settings = stack.configured()
    with api(settings) as client:
        assert snapshot(client, settings) == before, "lost when the stack restarted"

        marketer = as_user(settings, MARKETER)
        paused = ids["paused"]
        resumed = ok(client.post(f"/v1/campaigns/{paused}/resume", headers=marketer))
        assert (resumed["status"], resumed["version"]) == ("active", 5)
        read = client.get(f"/v1/campaigns/{paused}", headers=marketer)
        assert (ok(read)["status"], read.headers["ETag"]) == ("active", '"5"')
        trail = ok(client.get(f"/v1/campaigns/{paused}/audit", headers=marketer))
        assert trail[:-1] == before["audit"][paused]
        assert (trail[-1]["version"], trail[-1]["action"]) == (5, "resumed")
        late = client.patch(f"/v1/campaigns/{ids['ended']}", json={"name": "x"}, headers=marketer)
        assert late.status_code == 409, late.text
