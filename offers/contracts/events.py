"""The event schemas of the engine (version 1).

Customer-facing events carry pseudonymous customer ids only: no phone number, name or
address ever travels on a topic.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from offers.contracts.base import MAX_TEXT_CHARS, Event, Identifier, ShortText, UtcDatetime
from offers.roles import Role

Latitude = Annotated[float, Field(ge=-90.0, le=90.0, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0, allow_inf_nan=False)]
Euros = Annotated[float, Field(ge=0.0, le=1_000_000.0, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)]


class Language(StrEnum):
    IT = "it"
    EN = "en"
    DE = "de"
    FR = "fr"


class Channel(StrEnum):
    """Channels an offer can be sent over."""

    SMS = "sms"
    MESSENGER = "messenger"
    WHATSAPP = "whatsapp"
    PUSH = "push"


class Trigger(StrEnum):
    """The signals that make the engine consider a campaign for a customer."""

    GEOFENCE_ENTER = "geofence_enter"
    ABANDONED_QUOTE = "abandoned_quote"
    SEARCH = "search"
    POSITIVE_SOCIAL_MENTION = "positive_social_mention"
    FARE_DROP = "fare_drop"
    CAPACITY_RELEASED = "capacity_released"


class ConsentScope(StrEnum):
    """What a customer can consent to: each channel, and the use of their location."""

    SMS = "sms"
    MESSENGER = "messenger"
    WHATSAPP = "whatsapp"
    PUSH = "push"
    LOCATION = "location"


class LocationSource(StrEnum):
    GPS = "gps"
    NETWORK = "network"
    WIFI = "wifi"


class LocationPing(Event):
    """A customer's position, reported by the mobile app."""

    TYPE: ClassVar[str] = "location_ping"
    type: Literal["location_ping"] = "location_ping"
    customer_id: Identifier
    lat: Latitude
    lon: Longitude
    accuracy_m: float = Field(ge=0.0, le=10_000.0, allow_inf_nan=False)
    speed_mps: float | None = Field(None, ge=0.0, le=100.0, allow_inf_nan=False)
    source: LocationSource = LocationSource.GPS


class SocialPlatform(StrEnum):
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    X = "x"
    TIKTOK = "tiktok"
    MESSENGER = "messenger"
    WHATSAPP = "whatsapp"


class SocialPost(Event):
    """A public post or a message by a known customer on a social or messaging channel."""

    TYPE: ClassVar[str] = "social_post"
    type: Literal["social_post"] = "social_post"
    customer_id: Identifier
    platform: SocialPlatform
    language: Language
    text: Text
    brand_mentions: tuple[ShortText, ...] = Field((), max_length=20)
    hashtags: tuple[ShortText, ...] = Field((), max_length=30)


class BookingAction(StrEnum):
    SEARCH = "search"
    QUOTE = "quote"
    BOOK = "book"
    CANCEL = "cancel"


class SalesChannel(StrEnum):
    WEB = "web"
    APP = "app"
    CALL_CENTER = "call_center"
    AGENCY = "agency"


class BookingEvent(Event):
    """One step of the booking funnel: search, quote, book or cancel."""

    TYPE: ClassVar[str] = "booking"
    type: Literal["booking"] = "booking"
    customer_id: Identifier
    action: BookingAction
    route_id: Identifier
    sailing_id: Identifier | None = None
    departure_date: UtcDatetime | None = None
    passengers: int = Field(1, ge=1, le=20)
    cars: int = Field(0, ge=0, le=5)
    price_eur: Euros | None = None
    booking_ref: Identifier | None = None
    sales_channel: SalesChannel = SalesChannel.WEB
    offer_decision_id: Identifier | None = None
    """The decision of the offer that was redeemed with this booking, if any."""

    @model_validator(mode="after")
    def _fields_needed_by_action(self) -> BookingEvent:
        if self.action is not BookingAction.SEARCH and self.sailing_id is None:
            raise ValueError(f"sailing_id: is required for a {self.action.value}")
        if self.action in (BookingAction.QUOTE, BookingAction.BOOK) and self.price_eur is None:
            raise ValueError(f"price_eur: is required for a {self.action.value}")
        if self.action in (BookingAction.BOOK, BookingAction.CANCEL) and self.booking_ref is None:
            raise ValueError(f"booking_ref: is required for a {self.action.value}")
        return self


class SailingStatus(StrEnum):
    SCHEDULED = "scheduled"
    DELAYED = "delayed"
    CANCELLED = "cancelled"
    DEPARTED = "departed"


class SailingUpdate(Event):
    """The state of one sailing: schedule, capacity, load and current fare."""

    TYPE: ClassVar[str] = "sailing_update"
    type: Literal["sailing_update"] = "sailing_update"
    sailing_id: Identifier
    route_id: Identifier
    origin_port: Identifier
    destination_port: Identifier
    departure_time: UtcDatetime
    arrival_time: UtcDatetime
    capacity_passengers: int = Field(ge=0, le=10_000)
    capacity_cars: int = Field(ge=0, le=5_000)
    booked_passengers: int = Field(ge=0, le=10_000)
    booked_cars: int = Field(ge=0, le=5_000)
    fare_eur: Euros
    """The current lowest adult fare of the sailing."""
    status: SailingStatus = SailingStatus.SCHEDULED

    @model_validator(mode="after")
    def _consistent(self) -> SailingUpdate:
        if self.arrival_time <= self.departure_time:
            raise ValueError("arrival_time: must be after departure_time")
        if self.booked_passengers > self.capacity_passengers:
            raise ValueError("booked_passengers: exceeds capacity_passengers")
        if self.booked_cars > self.capacity_cars:
            raise ValueError("booked_cars: exceeds capacity_cars")
        if self.origin_port == self.destination_port:
            raise ValueError("destination_port: must differ from origin_port")
        return self


def consent_key(customer_id: str, scope: ConsentScope) -> str:
    """The record key of a customer's consent for one scope on the consent topic."""
    return f"{customer_id}|{scope.value}"


class ConsentSource(StrEnum):
    APP = "app"
    API = "api"
    SMS_REPLY = "sms_reply"
    ADMIN = "admin"
    ERASURE = "erasure"
    PROVIDER = "provider"
    """The channel's provider refused a message because the customer opted out there."""


class ConsentChange(Event):
    """A customer grants or withdraws consent for one channel or for location use.

    The consent topic is compacted on ``consent_key`` (customer and scope), so it holds
    the latest decision for every pair.
    """

    TYPE: ClassVar[str] = "consent_change"
    type: Literal["consent_change"] = "consent_change"
    customer_id: Identifier
    scope: ConsentScope
    granted: bool
    source: ConsentSource

    @property
    def consent_key(self) -> str:
        return consent_key(self.customer_id, self.scope)


class CampaignAction(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    ACTIVATED = "activated"
    PAUSED = "paused"
    RESUMED = "resumed"
    ENDED = "ended"


class CampaignChange(Event):
    """One version of a campaign: its whole state after a change, who made the change and
    what it changed.

    The campaigns topic keeps every version: its records are keyed by ``event_id``, unique
    per write, so compaction removes none of them and the topic is the campaigns' audit
    trail as well as their source of truth. A reader accepts a campaign's versions in
    order (``revision`` 1, 2, ...); of two writes of the same revision, the first in the
    topic wins and the other is ignored by every reader.
    """

    TYPE: ClassVar[str] = "campaign_change"
    type: Literal["campaign_change"] = "campaign_change"
    campaign_id: Identifier
    action: CampaignAction
    actor: Identifier
    """Id of the user or service that made the change."""
    actor_role: Role
    revision: int = Field(ge=1)
    changes: dict[str, tuple[Any, Any]] = Field(default_factory=dict)
    """For an update, each changed field (dotted path) with its old and new JSON values."""
    campaign: dict[str, Any]
    """The campaign document after the change (its schema belongs to offers.campaigns)."""


class DecisionOutcome(StrEnum):
    SEND = "send"
    HOLDOUT = "holdout"
    CONTROL = "control"
    SUPPRESSED = "suppressed"
    NO_OFFER = "no_offer"


class ScoredCandidate(BaseModel):
    """One campaign considered for a decision, with its model score and priority."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    campaign_id: Identifier
    propensity: Probability
    priority: float = Field(allow_inf_nan=False)
    eligible: bool = True
    reason: ShortText | None = None
    challenger_propensity: Probability | None = None
    """The shadow challenger model's score of the same candidate, when one runs."""
    revision: int | None = Field(None, ge=1)
    """The campaign's version that was scored (its offer terms), for an eligible candidate."""
    channel: Channel | None = None
    """The channel the candidate would have been sent over."""
    sailing_id: Identifier | None = None
    """The sailing the candidate offer was about: the trigger's own, else the soonest
    bookable sailing the offer applies to."""


class OfferDecision(Event):
    """What the engine decided for one trigger: an offer to send, or why none.

    ``decision_id`` is deterministic (from the trigger event and the campaign), so a
    replay produces the same id and every send can be idempotent on it.
    """

    TYPE: ClassVar[str] = "offer_decision"
    type: Literal["offer_decision"] = "offer_decision"
    decision_id: Identifier
    customer_id: Identifier
    trigger_event_id: Identifier
    trigger: ShortText
    outcome: DecisionOutcome
    reason: ShortText
    campaign_id: Identifier | None = None
    channel: Channel | None = None
    candidates: tuple[ScoredCandidate, ...] = Field((), max_length=100)
    model_version: ShortText | None = None
    exploration: bool = False
    propensity: Probability | None = None
    expires_at: UtcDatetime | None = None
    send_at: UtcDatetime | None = None
    """Not before this moment (the end of the recipient's quiet hours); None: at once."""
    challenger_version: ShortText | None = None
    """The shadow challenger model that scored the candidates beside the champion."""
    port: Identifier | None = None
    """The port of the trigger (a geofence entered), when it has one."""
    route_id: Identifier | None = None
    """The route of the trigger (searched, quoted, a fare drop), when it has one."""
    sailing_id: Identifier | None = None
    """The sailing of the trigger (quoted, a fare drop, seats released), when it has one."""
    decided_at: UtcDatetime | None = None
    """The moment the engine decided at (its clock: the event time when replaying): the
    features a training set joins to the decision are those known at this moment."""
    local_hour: int | None = Field(None, ge=0, le=23)
    """The hour of the day where the customer was, at ``decided_at``."""

    @model_validator(mode="after")
    def _offer_needs_campaign(self) -> OfferDecision:
        offered = (DecisionOutcome.SEND, DecisionOutcome.HOLDOUT)
        if self.outcome in offered and self.campaign_id is None:
            raise ValueError(f"campaign_id: is required when the outcome is {self.outcome.value}")
        if self.outcome is DecisionOutcome.SEND and self.channel is None:
            raise ValueError("channel: is required when the outcome is send")
        return self


class DeliveryState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNDELIVERED = "undelivered"


class DeliveryStatus(Event):
    """The state of one message sent for a decision, as the provider reports it."""

    TYPE: ClassVar[str] = "delivery_status"
    type: Literal["delivery_status"] = "delivery_status"
    decision_id: Identifier
    customer_id: Identifier
    channel: Channel
    status: DeliveryState
    provider_message_id: ShortText | None = None
    error_code: ShortText | None = None


class ResponseAction(StrEnum):
    CLICK = "click"
    REDEEM = "redeem"
    REPLY = "reply"


class CustomerResponse(Event):
    """A customer's response to an offer: a click, a redemption or a reply."""

    TYPE: ClassVar[str] = "customer_response"
    type: Literal["customer_response"] = "customer_response"
    customer_id: Identifier
    action: ResponseAction
    channel: Channel
    decision_id: Identifier | None = None
    text: Text | None = None

    @model_validator(mode="after")
    def _fields_needed_by_action(self) -> CustomerResponse:
        if self.action is ResponseAction.REPLY and self.text is None:
            raise ValueError("text: is required for a reply")
        if self.action is not ResponseAction.REPLY and self.decision_id is None:
            raise ValueError(f"decision_id: is required for a {self.action.value}")
        return self


class GeofenceAction(StrEnum):
    ENTER = "enter"
    EXIT = "exit"


class GeofenceTransition(Event):
    """A customer entered or left a port's geofence, derived from their location pings.

    ``event_time`` is the time of the ping that caused it; ``event_id`` is derived from
    that ping's id, so a transition computed again after a restart has the same id.
    """

    TYPE: ClassVar[str] = "geofence_transition"
    type: Literal["geofence_transition"] = "geofence_transition"
    customer_id: Identifier
    port: Identifier
    action: GeofenceAction
    ping_event_id: Identifier


class TriggerSignal(Event):
    """A trigger for one customer that no event of the customer's own carries: a fare drop
    or a capacity release on a sailing (fanned out to the customers it concerns), or an
    abandoned quote (found when its window ends).

    ``source_event_id`` is the event that caused it (the sailing update, the quote);
    ``event_id`` is derived from it, the trigger and the customer, so a signal found again
    has the same id.
    """

    TYPE: ClassVar[str] = "trigger_signal"
    type: Literal["trigger_signal"] = "trigger_signal"
    customer_id: Identifier
    trigger: Trigger
    source_event_id: Identifier
    port: Identifier | None = None
    route_id: Identifier | None = None
    sailing_id: Identifier | None = None


class CustomerErased(Event):
    """A customer's personal data was erased at ``event_time`` (their right to erasure),
    at the request of the customer or of an admin (``requested_by``).

    The erasure topic is compacted on ``customer_id``: it keeps the latest erasure of
    every customer, and holds nothing else about them. Stream processors follow it to
    forget the customer's state, and training-set builders to leave out what the
    customer did up to then.
    """

    TYPE: ClassVar[str] = "customer_erased"
    type: Literal["customer_erased"] = "customer_erased"
    customer_id: Identifier
    requested_by: Role


SUBJECT_PATTERN = r"^(brand|port:[A-Z]{3}|route:[A-Z]{3}-[A-Z]{3})$"
"""What social listening counts mentions of: the brand, a port, a route."""
Subject = Annotated[str, StringConstraints(pattern=SUBJECT_PATTERN)]
SentimentScore = Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)]


class SentimentLabel(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    NEUTRAL = "neutral"


class ListeningWindow(StrEnum):
    """The tumbling windows social mentions are counted over."""

    MINUTES_15 = "15m"
    HOUR = "1h"
    DAY = "1d"


class SocialMention(Event):
    """One subject a social post talks about, without the post's author or text.

    ``event_time`` is the post's; ``post_event_id`` the post's id (a post delivered twice
    has the same one); ``event_id`` is derived from the post's id and the subject.
    """

    TYPE: ClassVar[str] = "social_mention"
    type: Literal["social_mention"] = "social_mention"
    subject: Subject
    post_event_id: Identifier
    score: SentimentScore
    label: SentimentLabel
    topics: tuple[ShortText, ...] = Field((), max_length=20)
    language: Language


class SocialAggregate(Event):
    """The mentions of a subject counted over one tumbling window of event time."""

    TYPE: ClassVar[str] = "social_aggregate"
    type: Literal["social_aggregate"] = "social_aggregate"
    subject: Subject
    window: ListeningWindow
    window_start: UtcDatetime
    window_end: UtcDatetime
    volume: int = Field(ge=0)
    negative: int = Field(ge=0)
    share_negative: Probability
    mean_sentiment: SentimentScore
    negative_topics: dict[str, int] = Field(default_factory=dict)
    """How many negative mentions had each topic."""

    @property
    def aggregate_key(self) -> str:
        """``<subject>|<window>|<start ISO>``: the key of the compacted topic."""
        return f"{self.subject}|{self.window.value}|{self.window_start.isoformat()}"


class AlertState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class SocialAlert(Event):
    """A spike of negative mentions of a port or a route; the topic keeps the latest
    record of every subject, so at most one alert per subject is open."""

    TYPE: ClassVar[str] = "social_alert"
    type: Literal["social_alert"] = "social_alert"
    alert_id: Identifier
    subject: Subject
    state: AlertState
    opened_at: UtcDatetime
    closed_at: UtcDatetime | None = None
    close_reason: ShortText | None = None
    window_start: UtcDatetime
    """The 15-minute window that opened it."""
    volume: int = Field(ge=0)
    negative: int = Field(ge=0)
    share_negative: Probability
    baseline: Probability
    threshold: Probability
    top_topics: tuple[ShortText, ...] = Field((), max_length=10)


EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls
    for cls in (
        LocationPing,
        SocialPost,
        BookingEvent,
        SailingUpdate,
        ConsentChange,
        CampaignChange,
        OfferDecision,
        DeliveryStatus,
        CustomerResponse,
        GeofenceTransition,
        TriggerSignal,
        CustomerErased,
    )
}

LISTENING_EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls for cls in (SocialMention, SocialAggregate, SocialAlert)
}
"""The events social listening derives from posts, for its own topics;
:func:`offers.contracts.decode` reads them as it reads every other event."""
