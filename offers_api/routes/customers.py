"""What a customer's app calls: consent, contact number and location pings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path

from offers.contracts import (
    ConsentScope,
    ConsentSource,
    LocationPing,
    LocationSource,
    encode,
)
from offers.roles import Role
from offers.topics import LOCATION
from offers_api.deps import CustomerOrAdmin, StateDep
from offers_api.rate_limit import RateLimit
from offers_api.schemas import (
    Accepted,
    ConsentPublic,
    ConsentUpdate,
    ContactPublic,
    ContactUpdate,
    LocationIn,
)

router = APIRouter(prefix="/v1/customers/{customer_id}", tags=["customers"])

CustomerId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")
]
Limited = Depends(RateLimit("customer"))


@router.get("/consent", response_model=list[ConsentPublic], dependencies=[Limited])
def read_consent(
    customer_id: CustomerId, state: StateDep, principal: CustomerOrAdmin
) -> list[ConsentPublic]:
    """The customer's consent per scope; a scope not listed has never been granted."""
    return [
        ConsentPublic(scope=c.scope, granted=c.granted, source=c.source, at=c.event_time)
        for c in state.consent.of(customer_id).values()
    ]


@router.put("/consent/{scope}", response_model=ConsentPublic, dependencies=[Limited])
def update_consent(
    customer_id: CustomerId,
    scope: ConsentScope,
    body: ConsentUpdate,
    state: StateDep,
    principal: CustomerOrAdmin,
) -> ConsentPublic:
    """Grant or withdraw consent for one channel or for location use; it reaches the stream
    processors within a second."""
    source = ConsentSource.APP if principal.role is Role.CUSTOMER else ConsentSource.ADMIN
    change = state.consent.set(customer_id, scope, body.granted, source)
    return ConsentPublic(
        scope=change.scope, granted=change.granted, source=change.source, at=change.event_time
    )


@router.put("/contact", response_model=ContactPublic, dependencies=[Limited])
def update_contact(
    customer_id: CustomerId, body: ContactUpdate, state: StateDep, principal: CustomerOrAdmin
) -> ContactPublic:
    """The customer's mobile number, for SMS offers (sent only with SMS consent)."""
    return ContactPublic(phone=state.contacts.put(customer_id, body.phone))


@router.post(
    "/locations",
    response_model=Accepted,
    status_code=202,
    dependencies=[Depends(RateLimit("ingestion"))],
)
def post_location(
    customer_id: CustomerId, body: LocationIn, state: StateDep, principal: CustomerOrAdmin
) -> Accepted:
    """A position from the app; accepted only with consent for location use."""
    if not state.consent.granted(customer_id, ConsentScope.LOCATION):
        raise HTTPException(
            status_code=403, detail="the customer has not granted consent for location use"
        )
    now = datetime.now(UTC)
    ping = LocationPing(
        event_id=f"loc-{uuid.uuid4().hex}",
        event_time=body.measured_at or now,
        customer_id=customer_id,
        lat=body.lat,
        lon=body.lon,
        accuracy_m=body.accuracy_m,
        speed_mps=body.speed_mps,
        source=LocationSource.GPS,
    )
    state.writer.put(LOCATION.name, customer_id, encode(ping))
    return Accepted(event_id=ping.event_id, topic=LOCATION.name)
