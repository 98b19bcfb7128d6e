"""Decision records: one ``OfferDecision`` per trigger, with an id that a replay repeats.

The decision id is a hash of the trigger's source event, its kind (one sailing update
can be both a fare drop and a capacity release), the customer and the campaign chosen
(none when no offer is made): a trigger replayed after a crash gets the same id, so the
send stays idempotent on it. The record's event id is the decision id and its event time
the trigger's, so a replay writes a byte-identical record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from offers.contracts import Channel, DecisionOutcome, OfferDecision, ScoredCandidate
from streams.decisions.arbitration import Candidate
from streams.decisions.triggers import TriggerHit

MAX_CANDIDATES = 100
"""Candidates kept in one record (the contract's limit), highest priority first."""


def decision_id(hit: TriggerHit, campaign_id: str | None) -> str:
    """``dec-`` and 40 hex digits, fixed by the trigger, its customer and the campaign."""
    parts = (hit.source_event_id, hit.trigger.value, hit.customer_id, campaign_id or "")
    key = "\x1f".join(parts)
    return f"dec-{hashlib.sha256(key.encode()).hexdigest()[:40]}"


def scored(
    ranked: Iterable[Candidate], refused: Iterable[tuple[str, str]] = ()
) -> tuple[ScoredCandidate, ...]:
    """The candidates scored (in their order), then the campaigns refused before scoring
    with their reason (``(campaign_id, reason)``), at most :data:`MAX_CANDIDATES`."""
    kept = [
        ScoredCandidate(campaign_id=c.campaign_id, propensity=c.propensity, priority=c.priority)
        for c in ranked
    ]
    kept += [
        ScoredCandidate(
            campaign_id=campaign_id, propensity=0.0, priority=0.0, eligible=False, reason=why
        )
        for campaign_id, why in refused
    ]
    return tuple(kept[:MAX_CANDIDATES])


def decision_record(
    hit: TriggerHit,
    outcome: DecisionOutcome,
    reason: str,
    *,
    campaign_id: str | None = None,
    channel: Channel | None = None,
    candidates: tuple[ScoredCandidate, ...] = (),
    model_version: str | None = None,
    exploration: bool = False,
    propensity: float | None = None,
    expires_at: datetime | None = None,
    send_at: datetime | None = None,
    challenger_version: str | None = None,
    decided_at: datetime | None = None,
    local_hour: int | None = None,
) -> OfferDecision:
    """The record of what was decided for ``hit``: an offer of ``campaign_id`` (sent,
    held out or suppressed) or none (``campaign_id`` None), and why."""
    identifier = decision_id(hit, campaign_id)
    return OfferDecision(
        event_id=identifier,
        event_time=hit.at,
        decision_id=identifier,
        customer_id=hit.customer_id,
        trigger_event_id=hit.source_event_id,
        trigger=hit.trigger.value,
        outcome=outcome,
        reason=reason,
        campaign_id=campaign_id,
        channel=channel,
        candidates=candidates,
        model_version=model_version,
        exploration=exploration,
        propensity=propensity,
        expires_at=expires_at,
        send_at=send_at,
        challenger_version=challenger_version,
        port=hit.port,
        route_id=hit.route_id,
        sailing_id=hit.sailing_id,
        decided_at=decided_at,
        local_hour=local_hour,
    )
