"""What a customer's app calls: its current offers and their redemption, consent, contact
number and location pings; and the erasure of all its personal data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException
from starlette.concurrency import run_in_threadpool

from offers.contracts import (
    ConsentScope,
    ConsentSource,
    CustomerResponse,
    LocationPing,
    LocationSource,
    ResponseAction,
    encode,
)
from offers.erasure import Erasure
from offers.offer_book import OfferNotFound, Redemption, RedemptionLimits, StoredOffer
from offers.roles import Role
from offers.topics import LOCATION, RESPONSES
from offers_api.deps import CustomerOrAdmin, PathId, StateDep
from offers_api.rate_limit import RateLimit
from offers_api.schemas import (
    Accepted,
    ConsentPublic,
    ConsentUpdate,
    ContactPublic,
    ContactUpdate,
    LocationIn,
    RedemptionPublic,
    problem,
)

router = APIRouter(prefix="/v1/customers/{customer_id}", tags=["customers"])

CustomerId = PathId
DecisionId = PathId
Limited = Depends(RateLimit("customer"))


@router.get("/offers", response_model=list[StoredOffer], dependencies=[Limited])
async def current_offers(
    customer_id: CustomerId, state: StateDep, principal: CustomerOrAdmin
) -> list[StoredOffer]:
    """The customer's offers that are neither expired nor redeemed, soonest expiry first."""
    # A coroutine, so that the answer is validated and serialised on the event loop; the
    # offer book blocks on Redis, so it is read in a worker thread.
    return await run_in_threadpool(state.offers.current, customer_id, datetime.now(UTC))


@router.post(
    "/offers/{decision_id}/redeem",
    response_model=RedemptionPublic,
    dependencies=[Limited],
    responses={
        404: problem("The customer holds no such offer."),
        409: problem("The campaign's redemption budget is spent."),
        410: problem("The offer has expired."),
    },
)
def redeem_offer(
    customer_id: CustomerId, decision_id: DecisionId, state: StateDep, principal: CustomerOrAdmin
) -> RedemptionPublic:
    """Redeem one of the customer's offers. Idempotent: redeeming it again answers with the
    first redemption (``first`` false) and counts nothing twice."""
    offer = state.offers.get(customer_id, decision_id)
    if offer is None:
        raise OfferNotFound(customer_id, decision_id)
    campaign = state.campaigns.get(offer.campaign_id)
    limits = RedemptionLimits.of(campaign.budget if campaign is not None else None)
    redemption = state.offers.redeem_offer(offer, datetime.now(UTC), limits)
    publish_redemption(state, redemption)
    return RedemptionPublic(offer=redemption.offer, first=redemption.first)


def publish_redemption(state: StateDep, redemption: Redemption) -> None:
    """The redemption as a response event; its id is the decision's, so publishing it again
    after a retry is harmless (reports count each decision once)."""
    offer = redemption.offer
    assert offer.redeemed_at is not None
    response = CustomerResponse(
        event_id=f"redeem-{offer.decision_id}"[:64],
        event_time=offer.redeemed_at,
        customer_id=offer.customer_id,
        action=ResponseAction.REDEEM,
        channel=offer.channel,
        decision_id=offer.decision_id,
    )
    state.writer.put(RESPONSES.name, offer.customer_id, encode(response))


@router.get("/consent", response_model=list[ConsentPublic], dependencies=[Limited])
def read_consent(
    customer_id: CustomerId, state: StateDep, principal: CustomerOrAdmin
) -> list[ConsentPublic]:
    """The customer's consent per scope, in the order of the scopes' list; a scope not
    listed has never been granted."""
    held = state.consent.of(customer_id)
    return [
        ConsentPublic(scope=c.scope, granted=c.granted, source=c.source, at=c.event_time)
        for scope in ConsentScope
        if (c := held.get(scope)) is not None
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


@router.delete(
    "",
    response_model=Erasure,
    dependencies=[Limited],
    responses={
        200: {
            "description": "The customer's personal data is erased; the answer says what "
            "was removed from each store."
        },
    },
)
def erase_customer(customer_id: CustomerId, state: StateDep, principal: CustomerOrAdmin) -> Erasure:
    """Erase the customer's personal data (the right to erasure): its contact number and
    details, consent, offers, online and offline features and the engine's records about
    it. The erasure is recorded first on ``state.erasures``; the stream processors forget
    the customer's state when they read the record (within seconds), and no later training
    set includes what it did until now.

    Idempotent: calling again finishes an erasure that was interrupted, and once nothing
    is left it erases nothing (every count zero, ``recorded`` false)."""
    return state.erasure.erase(customer_id, principal.role)
