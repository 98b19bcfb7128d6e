"""Request and response bodies of the API, split by direction. Request bodies forbid
unknown fields, so a client cannot set a server-owned one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, field_validator

from offers.contracts import Channel, ConsentScope, ConsentSource
from offers.contracts.base import DEFAULT_MAX_FUTURE_SKEW
from offers.offer_book import StoredOffer


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldProblem(BaseModel):
    loc: list[str | int] = Field(description="Where: body, path, query or header, then the field.")
    msg: str = Field(description="What is wrong with it.")
    type: str


class Problem(BaseModel):
    """The body of every error answer: a sentence, or the fields at fault."""

    detail: str | list[FieldProblem]


def problem(description: str) -> dict[str, Any]:
    """An error answer for a route's or the app's ``responses``."""
    return {"model": Problem, "description": description}


COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: problem("The body could not be parsed: it is not UTF-8 text."),
    401: problem("No valid credentials (a bearer token or an API key, not both)."),
    403: problem("The caller's role may not do this, or the data is not its own."),
    413: problem("The body is larger than OFFERS_MAX_REQUEST_BYTES allows."),
    422: problem("A field is invalid: each one is named, with the reason."),
    429: problem("Too many requests; Retry-After says when to try again."),
    503: problem("A store is out of reach; Retry-After says when to try again."),
}
"""Answers any route may give."""


class ConsentUpdate(Request):
    granted: StrictBool = Field(description="True grants, False withdraws.")


class ConsentPublic(BaseModel):
    scope: ConsentScope
    granted: bool
    source: ConsentSource
    at: datetime


class ContactUpdate(Request):
    phone: str = Field(min_length=4, max_length=32, description="Mobile number, E.164 (+39...).")


class ContactPublic(BaseModel):
    phone: str


PING_MAX_AGE = timedelta(hours=24)
"""How long before its arrival a position may have been measured: an older one says where
the customer was, not where it is, and is older than the location topic keeps pings by
default (``OFFERS_LOCATION_RETENTION_HOURS``, 24)."""
PING_MAX_LEAD = DEFAULT_MAX_FUTURE_SKEW
"""How far ahead of the API's clock a position may be stamped (a phone's clock may run a
little fast): as far as any event's time may be."""


class LocationIn(Request):
    lat: float = Field(ge=-90.0, le=90.0, allow_inf_nan=False)
    lon: float = Field(ge=-180.0, le=180.0, allow_inf_nan=False)
    accuracy_m: float = Field(ge=0.0, le=10_000.0, allow_inf_nan=False)
    speed_mps: float | None = Field(None, ge=0.0, le=100.0, allow_inf_nan=False)
    measured_at: AwareDatetime | None = Field(
        None,
        description=(
            "When the phone measured it, at most 24 hours ago and 5 minutes ahead of the "
            "API's clock; default: when the API received it. A number is read as Unix "
            "seconds, or milliseconds when it is above 2e10."
        ),
    )

    @field_validator("measured_at")
    @classmethod
    def _recent(cls, measured_at: datetime | None) -> datetime | None:
        """``measured_at`` becomes the ping's event_time: it must lie within
        :data:`PING_MAX_AGE` before and :data:`PING_MAX_LEAD` after the API's clock."""
        if measured_at is None:
            return None
        now = datetime.now(UTC)
        if measured_at < now - PING_MAX_AGE:
            raise ValueError(
                f"is {measured_at.isoformat()}, more than {_hours(PING_MAX_AGE)} hours before "
                f"the API's clock ({now.isoformat()}); a ping that old is not accepted"
            )
        if measured_at > now + PING_MAX_LEAD:
            raise ValueError(
                f"is {measured_at.isoformat()}, more than {_minutes(PING_MAX_LEAD)} minutes after "
                f"the API's clock ({now.isoformat()}); it becomes the ping's event_time, which "
                "may not lie in the future"
            )
        return measured_at


def _hours(span: timedelta) -> int:
    return int(span.total_seconds() // 3600)


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


class Accepted(BaseModel):
    event_id: str
    topic: str


class RedemptionPublic(BaseModel):
    offer: StoredOffer
    first: bool = Field(description="False when the offer had been redeemed before.")


class OfferLinkPublic(BaseModel):
    """An offer as its redemption link shows it."""

    decision_id: str
    campaign_id: str
    channel: Channel
    message: str = Field(description="The text that was sent.")
    offer: dict[str, Any] = Field(description="The campaign's offer document.")
    discount_eur: float
    route_id: str | None
    sailing_id: str | None
    expires_at: datetime
    redeemed_at: datetime | None = Field(description="When it was redeemed; null if not yet.")

    @classmethod
    def of(cls, offer: StoredOffer) -> OfferLinkPublic:
        return cls.model_validate(offer.model_dump(include=set(cls.model_fields)))


class StatusWebhookReceipt(BaseModel):
    """What a provider's status notification did."""

    statuses: int = Field(description="Statuses recorded and published (a repeated one again).")
    skipped: int = Field(
        description=(
            "Statuses not recorded: without the sender's callback data, of a kind not "
            "tracked, or behind the status already recorded."
        )
    )


class ModelVersionSummary(BaseModel):
    """A registered model version as the list shows it."""

    version: str
    created_at: datetime | None = Field(description="Null if the version is damaged.")
    parent: str | None = Field(description="The champion it was trained to replace.")
    metrics: dict[str, float] = Field(
        description="Held-out auc, oracle_auc, log_loss and calibration_error (ECE), "
        "those the version recorded."
    )
    window_start: str | None = Field(description="First moment of its training data.")
    window_end: str | None = Field(description="Last moment of its training data.")
    champion: bool
    challenger: bool
    damaged: str | None = Field(None, description="Why the version cannot be read; null if it can.")


class ModelListPublic(BaseModel):
    champion: str | None = Field(description="The version the engine decides with.")
    challenger: str | None = Field(description="The version scoring in shadow beside it.")
    versions: list[ModelVersionSummary] = Field(description="Oldest first.")


class ModelFeaturePublic(BaseModel):
    name: str
    kind: str = Field(description="numeric or categorical.")
    categories: list[str]


class ModelVersionPublic(BaseModel):
    """A registered model version: its meta without the monitoring references."""

    version: str
    created_at: datetime
    parent: str | None
    lightgbm_version: str
    features: list[ModelFeaturePublic] = Field(description="In the model's column order.")
    metrics: dict[str, Any]
    data: dict[str, Any] = Field(
        description="What it was trained on: rows, and window_start/window_end if known."
    )
    training: dict[str, Any]
    champion: bool
    challenger: bool
    report_url: str | None = Field(description="Its evaluation report (HTML); null if none.")


class ModelPointersPublic(BaseModel):
    """The champion and challenger after a change, and before it."""

    champion: str | None
    challenger: str | None
    previous_champion: str | None
    previous_challenger: str | None


class PortPublic(BaseModel):
    """A port of the operator's network."""

    code: str = Field(description="The port's code (LIV), as decisions and campaigns name it.")
    name: str
    lat: float = Field(description="Latitude of the ferry terminal (WGS 84).")
    lon: float = Field(description="Longitude of the ferry terminal (WGS 84).")
    country: str = Field(description="ISO 3166-1 alpha-2 code (IT, FR).")
    geofence_km: float = Field(
        description="Radius of the circle around the terminal whose entry triggers offers."
    )


class RoutePublic(BaseModel):
    """One direction of a ferry service."""

    route_id: str = Field(description="Origin and destination codes (LIV-OLB).")
    origin: str = Field(description="The code of the port it leaves from.")
    destination: str = Field(description="The code of the port it arrives at.")


class NetworkPublic(BaseModel):
    """The ports and routes campaigns may name."""

    ports: list[PortPublic]
    routes: list[RoutePublic] = Field(description="Both directions of every service.")


class CampaignPresetPublic(BaseModel):
    """A campaign a marketer can start from."""

    id: str
    label: str = Field(description="Its name and what it reacts to.")
    body: dict[str, Any] = Field(
        description="A body for POST /v1/campaigns, scheduled from the current hour for 30 days."
    )


class PortActivityPublic(BaseModel):
    """Decisions at one port (that of their trigger)."""

    port: str | None = Field(
        description="The port's code: the trigger's (a geofence entered), else the one the "
        "decision's route leaves from; null for decisions with neither."
    )
    decided: int = Field(description="Decisions since the feed's start.")
    sent: int = Field(description="Of them, offers sent.")
    decided_recent: int = Field(description="Decisions written in the last window_s seconds.")
    sent_recent: int = Field(description="Offers sent in the last window_s seconds.")


class CampaignActivityPublic(BaseModel):
    """One campaign's decisions and the delivery of its offers."""

    campaign_id: str
    decided: int = Field(description="Decisions for the campaign since the feed's start.")
    by_outcome: dict[str, int] = Field(
        description="Decisions by outcome: every outcome (send, holdout, suppressed, ...)."
    )
    sent: int = Field(description="Offers sent: the decisions with the outcome send.")
    by_delivery: dict[str, int] = Field(
        description=(
            "Sent offers that reached each delivery state (queued, sent, delivered, failed, "
            "undelivered); an offer counts once in each state it reached."
        )
    )
    last_decision_at: datetime | None = Field(
        description="When its latest decision was written (UTC); null if none is kept."
    )


class RecentDecisionPublic(BaseModel):
    """A decision as the activity shows it: nothing that names or reaches the customer."""

    decision_id: str
    campaign_id: str | None
    port: str | None
    outcome: str = Field(description="send, holdout, control, suppressed or no_offer.")
    reason: str = Field(description="Why the engine decided so.")
    channel: str | None = Field(description="The channel of a sent offer; null otherwise.")
    at: datetime = Field(description="When the decision was written (UTC).")


class ActivityPublic(BaseModel):
    """The engine's activity, folded from the decision and delivery-status topics.

    Counts start with the records written ``OFFERS_ACTIVITY_LOOKBACK_HOURS`` (24) before the
    API started; times are those the records were written at."""

    as_of: datetime = Field(description="When this snapshot was taken (UTC).")
    version: int = Field(description="Grows whenever anything in the snapshot changes.")
    window_s: int = Field(description="The span of the *_recent counts, in seconds.")
    ports: list[PortActivityPublic] = Field(description="By port code; no port last.")
    campaigns: list[CampaignActivityPublic] = Field(description="By campaign id.")
    recent: list[RecentDecisionPublic] = Field(description="The latest decisions, newest first.")
    unreadable: int = Field(description="Records skipped because they could not be decoded.")


class CampaignStatePublic(BaseModel):
    """A campaign's status as the activity stream announces it."""

    id: str
    status: str = Field(description="draft, active, paused or ended.")
    version: int


class ListeningAggregatePublic(BaseModel):
    """The mentions of a subject counted over one window of event time."""

    subject: str = Field(description="brand, port:<CODE> or route:<ROUTE_ID>.")
    window: str = Field(description="The window's length: 15m, 1h or 1d.")
    window_start: datetime = Field(description="Its start (UTC), aligned on the epoch.")
    window_end: datetime = Field(description="Its end (excluded).")
    volume: int = Field(description="Mentions counted (each post once).")
    negative: int = Field(description="Of them, negative ones.")
    share_negative: float = Field(description="negative / volume.")
    mean_sentiment: float = Field(description="Mean sentiment score, from -1 to 1.")
    negative_topics: dict[str, int] = Field(
        description="Negative mentions per topic (delay, price, onboard, route, port, ...)."
    )
    as_of: datetime = Field(description="The latest mention time of the subject counted.")


class ListeningAlertPublic(BaseModel):
    """A spike of negative mentions of a port or a route, open or closed."""

    alert_id: str
    subject: str = Field(description="port:<CODE> or route:<ROUTE_ID>.")
    state: str = Field(description="open or closed.")
    opened_at: datetime = Field(description="Event time of the mention that opened it.")
    closed_at: datetime | None = Field(description="Event time it closed; null while open.")
    close_reason: str | None = Field(
        description="quiet (windows below the threshold) or silence (no mention); null while open."
    )
    window_start: datetime = Field(description="The 15-minute window that opened it.")
    volume: int = Field(description="Mentions in that window when it opened.")
    negative: int = Field(description="Negative mentions in that window when it opened.")
    share_negative: float = Field(description="Their share.")
    baseline: float = Field(description="Share of negative mentions over the day before.")
    threshold: float = Field(
        description="The least share that opens an alert: max(2 x baseline, baseline + 0.25) "
        "with the default settings."
    )
    top_topics: list[str] = Field(description="The most frequent topics of the negative ones.")
