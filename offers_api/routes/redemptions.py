"""Redemption links: what a customer opens from the link at the end of an offer's message.

``GET /r/{token}`` shows the offer and records a click; ``POST /r/{token}`` redeems it,
as the customer's app does. There is no login: the signed token (see
:mod:`streams.delivery.redemption`) is the credential, valid until the offer expires by
the engine's clock (:data:`~offers_api.deps.EngineNow`). A forged or malformed token is
answered 404 like an offer no longer kept, an expired one 410.

A client that asks for JSON gets JSON; a browser gets a small page, with no external
assets, whose button posts back to the same link.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse

from offers.contracts import CustomerResponse, ResponseAction, encode
from offers.offer_book import RedemptionLimits, StoredOffer
from offers.roles import Role
from offers.topics import RESPONSES
from offers_api.deps import EngineNow, StateDep
from offers_api.rate_limit import RateLimit
from offers_api.routes.customers import publish_redemption
from offers_api.schemas import OfferLinkPublic, RedemptionPublic, problem
from offers_api.security import Principal
from streams.delivery.redemption import (
    REDEMPTION_PATH,
    ExpiredRedemption,
    InvalidRedemption,
    verify_redemption,
)

router = APIRouter(prefix=REDEMPTION_PATH.rstrip("/"), tags=["redemption links"])

JSON = "application/json"
HTML = "text/html"
LINK_LIMIT = RateLimit("redemption-link")
"""Each decision's link takes ``OFFERS_API_RATE_PER_MINUTE`` requests a minute, as a
customer's routes do; counted once the token is verified, so a forged one costs nothing."""
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
"""The page loads nothing, posts only back here, and never passes its URL (the token) on."""
LINK_ERRORS: dict[int | str, dict[str, Any]] = {
    404: problem("The token is not genuine, or the offer is no longer kept."),
    410: problem("The offer has expired."),
}


def linked_offer(token: str, state: StateDep, now: EngineNow) -> StoredOffer:
    """The offer of a genuine token that has not expired at the engine's ``now``, within
    the link's rate limit."""
    try:
        decision_id = verify_redemption(token, state.settings.redemption_secret, now)
    except ExpiredRedemption as error:
        raise HTTPException(status_code=410, detail=str(error)) from None
    except InvalidRedemption as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    LINK_LIMIT.check(state, Principal(decision_id, Role.CUSTOMER))
    offer = state.offers.by_decision(decision_id)
    if offer is None:
        raise HTTPException(
            status_code=404, detail=f"the offer of decision {decision_id} is no longer kept"
        )
    return offer


LinkedOffer = Annotated[StoredOffer, Depends(linked_offer)]


@router.get(
    "/{token}",
    response_model=OfferLinkPublic,
    responses={200: {"content": {HTML: {}}}, **LINK_ERRORS},
)
def open_link(
    offer: LinkedOffer, request: Request, state: StateDep, now: EngineNow
) -> Response | OfferLinkPublic:
    """The offer, as JSON when the client prefers it, else as a page to redeem it from.
    Each opening is a click; every click of a decision has one event id, which readers
    count once."""
    click = CustomerResponse(
        event_id=f"click-{offer.decision_id}"[:64],
        event_time=now,
        customer_id=offer.customer_id,
        action=ResponseAction.CLICK,
        channel=offer.channel,
        decision_id=offer.decision_id,
    )
    state.writer.put(RESPONSES.name, offer.customer_id, encode(click))
    if _quality(request, JSON) > _quality(request, HTML):
        return OfferLinkPublic.of(offer)
    return HTMLResponse(offer_page(offer), headers=PAGE_HEADERS)


@router.post(
    "/{token}",
    response_model=RedemptionPublic,
    responses={
        200: {"content": {HTML: {}}},
        **LINK_ERRORS,
        409: problem("The campaign's redemption budget is spent."),
    },
)
def redeem_link(
    offer: LinkedOffer, request: Request, state: StateDep, now: EngineNow
) -> Response | RedemptionPublic:
    """Redeem the offer, within its campaign's budget. Idempotent: redeeming it again
    answers with the first redemption (``first`` false) and counts nothing twice. A
    browser's form gets a page; any other client JSON."""
    campaign = state.campaigns.get(offer.campaign_id)
    limits = RedemptionLimits.of(campaign.budget if campaign is not None else None)
    redemption = state.offers.redeem_offer(offer, now, limits)
    publish_redemption(state, redemption)
    if _quality(request, HTML) > _quality(request, JSON):
        return HTMLResponse(offer_page(redemption.offer), headers=PAGE_HEADERS)
    return RedemptionPublic(offer=redemption.offer, first=redemption.first)


def _quality(request: Request, media_type: str) -> float:
    """The weight the request's ``Accept`` gives ``media_type``: that of the most specific
    range matching it (``*/*`` when there is no header), 0 when none does."""
    kind = media_type.split("/")[0]
    specificity = {media_type: 2, f"{kind}/*": 1, "*/*": 0}
    best, weight = -1, 0.0
    for item in request.headers.get("accept", "*/*").split(","):
        media_range, *params = (part.strip() for part in item.split(";"))
        rank = specificity.get(media_range.lower(), -1)
        if rank <= best:
            continue
        best, weight = rank, 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
    return weight


def offer_page(offer: StoredOffer) -> str:
    """A self-contained page showing the offer; while it can be redeemed, with a button
    posting back to the link. Every text from the offer is escaped."""
    if offer.redeemed_at is not None:
        status = f"<p class=done>Redeemed on {escape(_moment(offer.redeemed_at))}.</p>"
    else:
        status = (
            f"<p>Valid until {escape(_moment(offer.expires_at))}.</p>"
            '<form method="post"><button type="submit">Redeem</button></form>'
        )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Your Moby offer</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;"
        "padding:0 1rem;color:#123}"
        "button{font-size:1.1rem;padding:.6rem 1.5rem;border:0;border-radius:.4rem;"
        "background:#05a;color:#fff}.done{color:#070;font-weight:bold}"
        "</style></head><body><h1>Your offer</h1>"
        f'<p lang="{escape(offer.language.value)}">{escape(offer.message)}</p>'
        f"{status}</body></html>"
    )


def _moment(at: datetime) -> str:
    return at.strftime("%d %b %Y, %H:%M UTC")
