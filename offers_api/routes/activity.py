"""What the marketers' page shows of the engine at work: the operator's network, the
campaigns a new one starts from, and the live activity on it
(:mod:`offers_api.web.activity`) as a snapshot or as a stream.

The stream is ``text/event-stream`` read with ``fetch`` (the page sends its bearer token,
which ``EventSource`` cannot): an ``activity`` event with the snapshot at once and again
whenever it changed, a ``campaigns`` event with every campaign's id, status and version
at once and whenever one of them changed, both checked every :data:`TICK_S` seconds, and
a ``: keep-alive`` comment after :data:`KEEP_ALIVE_S` seconds without an event, so that
proxies keep the connection open. It ends when the client goes away or the API stops.

Under uvicorn, a graceful shutdown waits for open connections before the API's state
closes, so a stream ends at shutdown only once the server stops waiting
(``--timeout-graceful-shutdown``) or the page disconnects.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import TypeAdapter

from offers.campaigns.presets import presets
from offers_api.deps import Analyst, Marketer, StateDep
from offers_api.schemas import (
    ActivityPublic,
    CampaignPresetPublic,
    CampaignStatePublic,
    NetworkPublic,
    PortPublic,
    RoutePublic,
)
from offers_api.state import ApiState
from offers_api.web.activity import ActivitySource
from simulators.ports import PORTS
from simulators.routes import all_routes

router = APIRouter(prefix="/v1")

TICK_S = 1.0
"""How often the stream looks for a change."""
PRESET_DAYS = 30
"""How long the presets' schedules run from the current hour."""
KEEP_ALIVE_S = 15.0
KEEP_ALIVE = ": keep-alive\n\n"
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""No cache may keep the stream, and no proxy (nginx) may buffer it."""

_CAMPAIGN_LIST = TypeAdapter(list[CampaignStatePublic])


class EventStream(StreamingResponse):
    """A stream of server-sent events."""

    media_type = "text/event-stream"


@lru_cache(maxsize=1)
def operator_network() -> NetworkPublic:
    """The network of :mod:`offers.campaigns.network`: every port and every route."""
    return NetworkPublic(
        ports=[
            PortPublic(
                code=port.code,
                name=port.name,
                lat=port.lat,
                lon=port.lon,
                country=port.country,
                geofence_km=port.geofence_km,
            )
            for port in PORTS
        ],
        routes=[
            RoutePublic(route_id=r.route_id, origin=r.origin, destination=r.destination)
            for r in all_routes()
        ],
    )


@router.get("/network", response_model=NetworkPublic, tags=["network"])
def network(principal: Analyst) -> NetworkPublic:
    """The operator's ports (with their geofences) and routes, both directions."""
    return operator_network()


@router.get("/campaign-presets", response_model=list[CampaignPresetPublic], tags=["campaigns"])
def campaign_presets(principal: Marketer) -> list[CampaignPresetPublic]:
    """The campaigns a new one can start from (:mod:`offers.campaigns.presets`), each
    scheduled from the current hour (UTC) for 30 days."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    found = presets(start, start + timedelta(days=PRESET_DAYS))
    return [CampaignPresetPublic.model_validate(preset) for preset in found]


@router.get("/activity", response_model=ActivityPublic, tags=["activity"])
def activity(state: StateDep, principal: Analyst) -> ActivityPublic:
    """Decisions per port and per campaign, the delivery of each campaign's offers, and
    the latest decisions; counted from the records written since
    ``OFFERS_ACTIVITY_LOOKBACK_HOURS`` (24) before the API started."""
    return state.activity.snapshot()


@router.get(
    "/activity/stream",
    response_class=EventStream,
    tags=["activity"],
    responses={
        200: {
            "description": (
                "event: activity (data: the snapshot of /v1/activity, one line of JSON) at "
                "once and at every change; event: campaigns (data: [{id, status, "
                "version}]) at once and at every change; ': keep-alive' comments."
            )
        }
    },
)
async def activity_stream(request: Request, state: StateDep, principal: Analyst) -> EventStream:
    """The activity as server-sent events, until the client disconnects."""
    events = activity_events(
        state.activity, lambda: campaign_states(state), request.is_disconnected
    )
    return EventStream(events, headers=STREAM_HEADERS)


def campaign_states(state: ApiState) -> list[CampaignStatePublic]:
    return [
        CampaignStatePublic(id=c.id, status=c.status.value, version=c.version)
        for c in state.campaigns.all()
    ]


def sse_event(name: str, data: str) -> str:
    """One server-sent event: ``data`` on as many ``data:`` lines as it has lines (JSON
    has one)."""
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {name}\n{lines}\n"


async def activity_events(
    feed: ActivitySource,
    campaigns: Callable[[], list[CampaignStatePublic]],
    disconnected: Callable[[], Awaitable[bool]],
    *,
    tick_s: float = TICK_S,
    keep_alive_s: float = KEEP_ALIVE_S,
) -> AsyncIterator[str]:
    """The stream's events (see the module's docstring), until ``disconnected`` says so
    or ``feed`` stops."""
    snapshot = feed.snapshot()
    listed = campaigns()
    yield sse_event("activity", snapshot.model_dump_json())
    yield sse_event("campaigns", _CAMPAIGN_LIST.dump_json(listed).decode())
    version, quiet_since = snapshot.version, time.monotonic()
    while not feed.stopped and not await disconnected():
        await asyncio.sleep(tick_s)
        changes: list[str] = []
        if feed.version() != version:
            snapshot = feed.snapshot()
            version = snapshot.version
            changes.append(sse_event("activity", snapshot.model_dump_json()))
        if (now_listed := campaigns()) != listed:
            listed = now_listed
            changes.append(sse_event("campaigns", _CAMPAIGN_LIST.dump_json(listed).decode()))
        if not changes and time.monotonic() - quiet_since >= keep_alive_s:
            changes.append(KEEP_ALIVE)
        for change in changes:
            yield change
        if changes:
            quiet_since = time.monotonic()
