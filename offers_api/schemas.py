"""Request and response bodies of the API, split by direction. Request bodies forbid
unknown fields, so a client cannot set a server-owned one."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from offers.contracts import ConsentScope, ConsentSource
from offers.offer_book import StoredOffer


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConsentUpdate(Request):
    granted: bool = Field(description="True grants, False withdraws.")


class ConsentPublic(BaseModel):
    scope: ConsentScope
    granted: bool
    source: ConsentSource
    at: datetime


class ContactUpdate(Request):
    phone: str = Field(min_length=4, max_length=32, description="Mobile number, E.164 (+39...).")


class ContactPublic(BaseModel):
    phone: str


class LocationIn(Request):
    lat: float = Field(ge=-90.0, le=90.0, allow_inf_nan=False)
    lon: float = Field(ge=-180.0, le=180.0, allow_inf_nan=False)
    accuracy_m: float = Field(ge=0.0, le=10_000.0, allow_inf_nan=False)
    speed_mps: float | None = Field(None, ge=0.0, le=100.0, allow_inf_nan=False)
    measured_at: AwareDatetime | None = Field(
        None, description="When the phone measured it; default: when the API received it."
    )


class Accepted(BaseModel):
    event_id: str
    topic: str


class RedemptionPublic(BaseModel):
    offer: StoredOffer
    first: bool = Field(description="False when the offer had been redeemed before.")
