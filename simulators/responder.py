"""The simulated customers' answers to the engine's offers.

The engine sends offers through the provider sandbox; :class:`Responder` watches what the
sandbox delivered and makes the customers respond as the ground-truth model says
(:mod:`simulators.reaction`): some reply STOP, some click, and those the offer wins over
click, redeem and book. It reads the engine's decisions and campaigns (the simulator is
the oracle: it may), which its caller keeps filled as they appear.

What a customer does goes where the real customer's actions would:

* a click: ``GET {link}`` with ``Accept: application/json`` (the API answers the offer as
  JSON and records the click);
* a redemption: ``POST {link}``; a refusal (404, 409, 410) or a failure is recorded and
  the booking goes ahead without the offer;
* a booking: a ``book`` :class:`~offers.contracts.BookingEvent` on ``events.booking``,
  keyed by the customer, stamped with the simulated moment of booking, with the decision
  id when the redemption succeeded;
* a STOP: ``POST {sandbox}/sandbox/reply`` from the customer's number.

A message counts as received once it is ``delivered`` (Messenger: ``sent``, the last
status the sandbox gives it). Messages without a redemption link (the application's
confirmations) are skipped; a message whose decision or campaign is not known yet is
tried again at the next poll. Each decision is answered once.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import httpx

from offers.campaigns import Campaign
from offers.contracts import (
    BookingEvent,
    DecisionOutcome,
    OfferDecision,
    ValidationClock,
    encode,
)
from offers.topics import BOOKING
from simulators.customers import Customers, customer_index
from simulators.reaction import (
    OfferLink,
    Reaction,
    ReactionRates,
    Sailing,
    find_offer_link,
    react,
    received_at,
)
from simulators.routes import Route, all_routes
from simulators.sailings import CAR_FARE_SHARE
from simulators.sandbox.store import MessageRecord
from simulators.sink import RecordProducer

log = logging.getLogger(__name__)

ACCEPT_JSON = {"Accept": "application/json"}
REDEEMED_STATUSES = frozenset({200, 201})
SIMULATED_CUSTOMER = re.compile(r"c\d{7}")
"""The ids :func:`simulators.customers.customer_id` gives."""


@dataclass(frozen=True, slots=True)
class Response:
    """What the customer of one decision did."""

    decision_id: str
    customer_id: str
    campaign_id: str
    channel: str
    message_id: str
    received_at: datetime
    """Simulated moment the offer reached the customer."""
    u: float
    """The true uplift the outcome was drawn against (the chance of ``caused``)."""
    caused: bool
    """The offer made the customer book (a booking they would not have made)."""
    clicked: bool
    click_error: str | None
    """Why the API did not take the click, when it did not."""
    redeemed: bool
    redemption_error: str | None
    booking_ref: str | None
    booked_at: datetime | None
    stopped: bool


class MessageSource(Protocol):
    """Where delivered messages are read: :class:`simulators.sandbox.Sandbox` in-process."""

    def messages(self) -> list[MessageRecord]: ...


def is_received(record: MessageRecord) -> bool:
    """Whether the message reached the customer's phone or inbox."""
    if record.channel == "messenger":
        return record.reached("sent") is not None
    return record.reached("delivered") is not None


def booking_ids(decision_id: str) -> tuple[str, str]:
    """The booking reference and event id of a booking caused by ``decision_id``'s offer:
    unique per decision and the same in every run."""
    digest = hashlib.sha256(decision_id.encode("utf-8")).hexdigest()[:24]
    return f"bk-offer-{digest}", f"ev-offer-{digest}"


def booking_price(customers: Customers, index: int, sailing: Sailing) -> float:
    """What customer ``index`` pays for ``sailing``: the fare of each passenger of the
    party, and a share of it for the car, if they travel with one."""
    passengers = int(customers.party_size[index])
    cars = int(customers.has_car[index])
    return round(sailing.fare_eur * passengers + sailing.fare_eur * CAR_FARE_SHARE * cars, 2)


class Responder:
    """Answers delivered offers on behalf of the simulated customers.

    ``customers`` are the world's (``World.customers``); ``decisions`` and ``campaigns``
    are mappings the caller keeps filled (by decision id, by campaign id); ``http``
    carries the clicks, redemptions and STOP replies; ``producer`` takes the bookings.
    ``sandbox_url`` is where STOP replies go; by default the source's ``base_url``.
    """

    def __init__(
        self,
        *,
        customers: Customers,
        source: MessageSource,
        decisions: Mapping[str, OfferDecision],
        campaigns: Mapping[str, Campaign],
        http: httpx.Client,
        producer: RecordProducer,
        rates: ReactionRates | None = None,
        sandbox_url: str | None = None,
        routes: tuple[Route, ...] | None = None,
    ) -> None:
        self._customers = customers
        self._source = source
        self._decisions = decisions
        self._campaigns = campaigns
        self._http = http
        self._producer = producer
        self._rates = rates or ReactionRates()
        self._sandbox_url = sandbox_url
        self._routes = routes or all_routes()
        self._lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._handled: set[str] = set()
        self._responses: dict[str, Response] = {}
        self._stopping = threading.Event()
        if self._rates.stop_rate > 0 and self._reply_url() is None:
            raise ValueError("STOP replies need sandbox_url (or a source with a base_url)")

    def responses(self) -> list[Response]:
        """Every response so far, in the order they were made."""
        with self._lock:
            return list(self._responses.values())

    def response(self, decision_id: str) -> Response | None:
        with self._lock:
            return self._responses.get(decision_id)

    def run(self, poll_s: float = 0.5) -> None:
        """Polls every ``poll_s`` seconds until :meth:`stop` is called (from another
        thread)."""
        self._stopping.clear()
        while not self._stopping.is_set():
            self.poll_once()
            self._stopping.wait(poll_s)

    def stop(self) -> None:
        self._stopping.set()

    def poll_once(self) -> list[Response]:
        """Answers the received messages not handled yet; returns the new responses."""
        made: list[Response] = []
        with self._poll_lock:
            for record in self._source.messages():
                if record.id in self._handled or not is_received(record):
                    continue
                response = self._answer(record)
                if response is not None:
                    made.append(response)
            if any(response.caused for response in made):
                self._producer.flush()
        return made

    def _answer(self, record: MessageRecord) -> Response | None:
        """Responds to one received message, or leaves it for the next poll."""
        link = find_offer_link(record.body)
        if link is None:
            self._handled.add(record.id)
            return None
        decision = self._decisions.get(link.decision_id)
        if decision is None:
            return None
        campaign = self._campaigns.get(decision.campaign_id or "")
        if campaign is None:
            return None
        self._handled.add(record.id)
        index = self._index_of(decision.customer_id)
        answered = self.response(decision.decision_id) is not None
        if index is None or answered or decision.outcome is not DecisionOutcome.SEND:
            return None
        reaction = react(decision, campaign, self._customers, index, self._routes, self._rates)
        response = self._carry_out(record, link, decision, reaction, index)
        with self._lock:
            self._responses[decision.decision_id] = response
        return response

    def _index_of(self, customer: str) -> int | None:
        if not SIMULATED_CUSTOMER.fullmatch(customer):
            log.warning("decision for %s, who is not a simulated customer", customer)
            return None
        index = customer_index(customer)
        return index if 0 <= index < len(self._customers) else None

    def _carry_out(
        self,
        record: MessageRecord,
        link: OfferLink,
        decision: OfferDecision,
        reaction: Reaction,
        index: int,
    ) -> Response:
        if reaction.stopped:
            self._reply_stop(record.to)
        click_error = self._click(link) if reaction.clicked else None
        redeemed, error, booking_ref, booked_at = False, None, None, None
        if reaction.caused:
            redeemed, error = self._redeem(link)
            booking_ref = self._book(decision, reaction, index, redeemed)
            booked_at = reaction.booked_at
        return Response(
            decision_id=decision.decision_id,
            customer_id=decision.customer_id,
            campaign_id=decision.campaign_id or "",
            channel=record.channel,
            message_id=record.id,
            received_at=received_at(decision),
            u=reaction.uplift,
            caused=reaction.caused,
            clicked=reaction.clicked,
            click_error=click_error,
            redeemed=redeemed,
            redemption_error=error,
            booking_ref=booking_ref,
            booked_at=booked_at,
            stopped=reaction.stopped,
        )

    def _reply_url(self) -> str | None:
        return self._sandbox_url or getattr(self._source, "base_url", None)

    def _reply_stop(self, number: str) -> None:
        url = f"{(self._reply_url() or '').rstrip('/')}/sandbox/reply"
        try:
            answer = self._http.post(url, json={"from": number, "body": "STOP"})
        except httpx.HTTPError as error:
            log.warning("STOP from %s not posted: %s", number, error)
            return
        if answer.status_code >= 300:
            log.warning("STOP from %s refused: HTTP %s", number, answer.status_code)

    def _click(self, link: OfferLink) -> str | None:
        """Opens the link; why the API refused it, if it did."""
        try:
            answer = self._http.get(link.url, headers=ACCEPT_JSON)
        except httpx.HTTPError as error:
            log.warning("click on %s failed: %s", link.decision_id, error)
            return f"{type(error).__name__}: {error}"
        if answer.status_code >= 400:
            log.info("click on %s answered HTTP %s", link.decision_id, answer.status_code)
            return f"HTTP {answer.status_code}: {answer.text[:200]}"
        return None

    def _redeem(self, link: OfferLink) -> tuple[bool, str | None]:
        """Whether the redemption succeeded, and why not."""
        try:
            answer = self._http.post(link.url, headers=ACCEPT_JSON)
        except httpx.HTTPError as error:
            return False, f"{type(error).__name__}: {error}"
        if answer.status_code in REDEEMED_STATUSES:
            return True, None
        return False, f"HTTP {answer.status_code}: {answer.text[:200]}".rstrip(": ")

    def _book(self, decision: OfferDecision, reaction: Reaction, index: int, redeemed: bool) -> str:
        """Produces the booking the offer caused; returns its reference."""
        booking_ref, event_id = booking_ids(decision.decision_id)
        sailing = reaction.sailing
        passengers = int(self._customers.party_size[index])
        cars = int(self._customers.has_car[index])
        price = booking_price(self._customers, index, sailing)
        departure_day = sailing.departure.replace(hour=0, minute=0, second=0, microsecond=0)
        fields = {
            "event_id": event_id,
            "event_time": reaction.booked_at,
            "customer_id": decision.customer_id,
            "action": "book",
            "route_id": sailing.route_id,
            "sailing_id": sailing.sailing_id,
            "departure_date": departure_day,
            "passengers": passengers,
            "cars": cars,
            "price_eur": price,
            "booking_ref": booking_ref,
            "sales_channel": "app",
            "offer_decision_id": decision.decision_id if redeemed else None,
        }
        clock = ValidationClock(now=reaction.booked_at)
        event = BookingEvent.model_validate(fields, context={"clock": clock})
        self._producer.send(BOOKING.name, decision.customer_id, encode(event))
        return booking_ref
