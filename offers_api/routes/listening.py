"""Social listening: the counts of mentions of the brand, a port or a route per window,
and the alerts on spikes of negative ones (:mod:`offers_api.listening`)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from offers.campaigns import network
from offers.contracts import ListeningWindow, SocialAggregate, SocialAlert
from offers.contracts.events import AlertState
from offers.errors import ContractError, FieldError
from offers_api.deps import Analyst, StateDep
from offers_api.schemas import ListeningAggregatePublic, ListeningAlertPublic

router = APIRouter(prefix="/v1/listening", tags=["listening"])

_SUBJECT = re.compile(r"^(brand|port:(?P<port>[A-Z]{3})|route:(?P<route>[A-Z]{3}-[A-Z]{3}))$")


def checked_subject(subject: str) -> str:
    """``subject`` if it names the brand, a port or a route of the network; else a
    ContractError (422) saying what is wrong."""
    match = _SUBJECT.match(subject)
    if match is None:
        raise ContractError(
            [
                FieldError(
                    "subject",
                    f"must be brand, port:<CODE> or route:<ORIGIN>-<DESTINATION> "
                    f"(e.g. port:LIV, route:LIV-OLB), got {subject[:80]!r}",
                )
            ]
        )
    port, route = match.group("port"), match.group("route")
    if port is not None and network.port(port) is None:
        raise ContractError([FieldError("subject", f"{port} is not a port of the network")])
    if route is not None and route not in network.route_ids():
        raise ContractError([FieldError("subject", f"{route} is not a route of the network")])
    return subject


@router.get("/aggregates", response_model=list[ListeningAggregatePublic])
def aggregates(
    state: StateDep,
    principal: Analyst,
    subject: Annotated[
        str,
        Query(max_length=64, description="brand, port:<CODE> or route:<ROUTE_ID>."),
    ],
    window: Annotated[ListeningWindow, Query(description="15m, 1h or 1d.")],
    since: Annotated[
        AwareDatetime | None,
        Query(description="Only the windows ending after this time (with its time zone)."),
    ] = None,
) -> list[ListeningAggregatePublic]:
    """The subject's windows of that length, oldest first: the latest
    ``OFFERS_LISTENING_API_WINDOWS`` (192) that the workers counted."""
    found = state.listening.aggregates(checked_subject(subject), window, since)
    return [aggregate_public(a) for a in found]


@router.get("/alerts", response_model=list[ListeningAlertPublic])
def alerts(
    state: StateDep,
    principal: Analyst,
    alert_state: Annotated[
        AlertState | None, Query(alias="state", description="open or closed; both if absent.")
    ] = None,
) -> list[ListeningAlertPublic]:
    """The latest alert of each port and route that had one, the latest opened first."""
    return [alert_public(a) for a in state.listening.alerts(alert_state)]


def aggregate_public(aggregate: SocialAggregate) -> ListeningAggregatePublic:
    return ListeningAggregatePublic(
        subject=aggregate.subject,
        window=aggregate.window.value,
        window_start=aggregate.window_start,
        window_end=aggregate.window_end,
        volume=aggregate.volume,
        negative=aggregate.negative,
        share_negative=aggregate.share_negative,
        mean_sentiment=aggregate.mean_sentiment,
        negative_topics=aggregate.negative_topics,
        as_of=aggregate.event_time,
    )


def alert_public(alert: SocialAlert) -> ListeningAlertPublic:
    return ListeningAlertPublic(
        alert_id=alert.alert_id,
        subject=alert.subject,
        state=alert.state.value,
        opened_at=alert.opened_at,
        closed_at=alert.closed_at,
        close_reason=alert.close_reason,
        window_start=alert.window_start,
        volume=alert.volume,
        negative=alert.negative,
        share_negative=alert.share_negative,
        baseline=alert.baseline,
        threshold=alert.threshold,
        top_topics=list(alert.top_topics),
    )
