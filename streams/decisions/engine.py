"""The decision for each trigger of a micro-batch, up to the contact ledger.

:func:`plan` is the functional core of the decision agent, without I/O: for every
:class:`Situation` (a trigger, the moment it is decided at, what is known of the customer)
it checks each campaign's eligibility, scores every eligible (trigger, campaign) pair of
the whole batch with one model call, arbitrates, and applies the contact policy that needs
no shared state (global control, holdout, quiet hours). It returns one :class:`Plan` per
situation: the decision record, and for an offer to send, the :class:`SendRequest` the
ledger must grant (:func:`settle` turns a refusal into a suppressed decision).

Reasons (``OfferDecision.reason``), by outcome:

- ``no_offer``: ``no_active_campaign``; the furthest eligibility check any campaign
  failed (an :class:`Ineligible` value: the campaign that came closest explains it;
  ``social_alert`` is a suppression, below);
  ``no_positive_value`` when no eligible offer is worth anything; ``stale_features``,
  ``no_location_consent`` (a port entry of a customer without location consent) and
  ``no_model`` are given by the agent before planning;
- ``control``: ``global_control``; ``holdout``: ``holdout`` (both name the campaign the
  customer would have got);
- ``suppressed``: ``social_alert`` when no campaign is eligible and the one that came
  closest is paused by an open social alert on the decision's route or port (it names
  that campaign); ``recent_complaint`` (the customer complained within
  ``OFFERS_COMPLAINT_SUPPRESSION_HOURS``: :mod:`streams.decisions.complaints`; checked
  after the global control group, before quiet hours and the holdout);
  ``quiet_hours`` (stale by the end of quiet hours), then from the ledger a
  :class:`~streams.decisions.ledger.Refusal` value (a holdout is checked against the
  ledger as a send is, and counted there as a ghost contact);
- ``send``: ``send_now``, or ``deferred_quiet_hours`` with ``send_at`` at their end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from models.inputs import CandidateBatch, Candidates, CustomerColumns
from offers.campaigns import Campaign, CampaignStatus
from offers.contracts import Channel, DecisionOutcome, OfferDecision, ScoredCandidate
from offers.settings import Settings
from streams.decisions.arbitration import Candidate, Choice, arbitrate, net_value
from streams.decisions.complaints import recently_complained
from streams.decisions.eligibility import (
    CustomerContext,
    Ineligible,
    check,
    eligible_channels,
    target_sailing,
)
from streams.decisions.ledger import Refusal, Reservation, SendRequest
from streams.decisions.policy import Defer, Drop, held_out, in_global_control, quiet_hours_verdict
from streams.decisions.records import decision_record, scored
from streams.decisions.triggers import TriggerHit

FloatArray = npt.NDArray[np.float64]
ScoreFn = Callable[[CustomerColumns, Candidates], FloatArray]
"""Conversion probability of each candidate (``Scorer.score_candidates``)."""

NO_ACTIVE_CAMPAIGN = "no_active_campaign"
NO_POSITIVE_VALUE = "no_positive_value"
STALE_FEATURES = "stale_features"
NO_MODEL = "no_model"
GLOBAL_CONTROL = "global_control"
HOLDOUT = "holdout"
QUIET_HOURS = "quiet_hours"
RECENT_COMPLAINT = "recent_complaint"
SEND_NOW = "send_now"
DEFERRED = "deferred_quiet_hours"


@dataclass(frozen=True, slots=True)
class Situation:
    """One trigger to decide: ``now`` is the moment it is decided at; ``row`` the
    customer's row in the batch's :class:`CustomerColumns`; ``complained_at`` the time
    of the customer's latest complaint at or before ``now``, if any."""

    hit: TriggerHit
    now: datetime
    customer: CustomerContext
    row: int
    complained_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Models:
    """The champion that decides, and a challenger scoring in shadow beside it."""

    version: str
    score: ScoreFn
    challenger_version: str | None = None
    challenger: ScoreFn | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """The decision of one trigger before the ledger; ``send`` is the reservation an
    offer to send needs (None for every other outcome)."""

    record: OfferDecision
    send: SendRequest | None = None


@dataclass(frozen=True, slots=True)
class _Option:
    """An eligible campaign for one situation, over its channel, on its target sailing."""

    campaign: Campaign
    channel: Channel
    sailing_id: str | None
    fare_eur: float | None
    departure_ts: float | None


@dataclass(slots=True)
class _Considered:
    situation: Situation
    options: list[_Option]
    refused: list[tuple[str, str]]
    first: int
    """Index of the first option in the batch's candidates."""


def plan(
    situations: Sequence[Situation],
    campaigns: Sequence[Campaign],
    *,
    sailings: Mapping[str, Mapping[str, Any]],
    sends: Mapping[str, int],
    customers: CustomerColumns,
    models: Models,
    settings: Settings,
    alerts: frozenset[str] = frozenset(),
) -> list[Plan]:
    """One plan per situation, in order. ``campaigns`` are every campaign known (only the
    active ones are considered); ``sends`` is each campaign's sends so far; ``alerts``
    the subjects of the open social alerts."""
    active = [c for c in campaigns if c.status is CampaignStatus.ACTIVE]
    batch = CandidateBatch()
    considered = []
    for situation in situations:
        options, refused = _options(situation, active, sailings, sends, alerts)
        considered.append(_Considered(situation, options, refused, len(batch)))
        for option in options:
            _add(batch, situation, option, sailings)
    candidates = batch.build()
    scores = models.score(customers, candidates) if len(candidates) else np.empty(0)
    shadow = None
    if models.challenger is not None and len(candidates):
        shadow = models.challenger(customers, candidates)
    return [_decide(c, scores, shadow, models, settings) for c in considered]


def settle(plan: Plan, reservation: Reservation | None) -> OfferDecision:
    """The final record: a refused reservation suppresses the send, with its reason."""
    if plan.send is None:
        return plan.record
    if reservation is None or reservation.decision_id != plan.send.decision_id:
        raise ValueError(f"plan {plan.record.decision_id}: needs the reservation of its send")
    refusal: Refusal | None = reservation.refusal
    if refusal is None:
        return plan.record
    return plan.record.model_copy(
        update={"outcome": DecisionOutcome.SUPPRESSED, "reason": refusal.value, "send_at": None}
    )


def without_offer(hit: TriggerHit, reason: str, model_version: str | None = None) -> OfferDecision:
    """The record of a trigger decided before any campaign was considered."""
    return decision_record(hit, DecisionOutcome.NO_OFFER, reason, model_version=model_version)


def _options(
    situation: Situation,
    campaigns: Sequence[Campaign],
    sailings: Mapping[str, Mapping[str, Any]],
    sends: Mapping[str, int],
    alerts: frozenset[str],
) -> tuple[list[_Option], list[tuple[str, str]]]:
    hit, customer, now = situation.hit, situation.customer, situation.now
    options: list[_Option] = []
    refused: list[tuple[str, str]] = []
    for campaign in campaigns:
        sent = sends.get(campaign.id, 0)
        why = check(campaign, hit, customer, now=now, sailings=sailings, sends=sent, alerts=alerts)
        if why is not None:
            refused.append((campaign.id, why.value))
            continue
        sailing_id = target_sailing(campaign.offer, hit, sailings, now)
        row = sailings.get(sailing_id, {}) if sailing_id is not None else {}
        channel = eligible_channels(campaign, customer)[0]
        options.append(
            _Option(
                campaign,
                channel,
                sailing_id,
                _number(row.get("fare_eur")),
                _number(row.get("departure_ts")),
            )
        )
    return options, refused


def _add(
    batch: CandidateBatch,
    situation: Situation,
    option: _Option,
    sailings: Mapping[str, Mapping[str, Any]],
) -> None:
    row = sailings.get(option.sailing_id, {}) if option.sailing_id is not None else {}
    route = row.get("route_id") or situation.hit.route_id
    batch.add(
        situation.row,
        option.campaign.offer,
        trigger=situation.hit.trigger,
        channel=option.channel,
        request_ts=situation.now.timestamp(),
        local_hour=situation.now.astimezone(situation.customer.tz).hour,
        route_id=route if isinstance(route, str) else None,
        departure_ts=option.departure_ts,
        fare_eur=option.fare_eur,
        load_factor_pax=_number(row.get("load_factor_pax")),
    )


def _decide(
    considered: _Considered,
    scores: FloatArray,
    shadow: FloatArray | None,
    models: Models,
    settings: Settings,
) -> Plan:
    situation, options = considered.situation, considered.options
    hit = situation.hit
    span = slice(considered.first, considered.first + len(options))
    propensities = [float(p) for p in scores[span]]
    candidates = [
        Candidate(o.campaign.id, p, net_value(o.campaign, o.fare_eur))
        for o, p in zip(options, propensities, strict=True)
    ]
    choice = arbitrate(
        candidates,
        exploration_share=settings.exploration_share,
        draw_key=f"{hit.source_event_id}\x00{hit.trigger.value}\x00{hit.customer_id}",
    )
    ranked = choice.ranked if choice is not None else tuple(candidates)
    challenger = [float(p) for p in shadow[span]] if shadow is not None else None
    listed = _with_options(scored(ranked, considered.refused), options, challenger)
    common: dict[str, Any] = {
        "candidates": listed,
        "model_version": models.version,
        "challenger_version": models.challenger_version if shadow is not None else None,
        "decided_at": situation.now,
        "local_hour": situation.now.astimezone(situation.customer.tz).hour,
    }
    if choice is None:
        if options:
            return Plan(decision_record(hit, DecisionOutcome.NO_OFFER, NO_POSITIVE_VALUE, **common))
        closest, reason = _closest(considered.refused)
        if reason == Ineligible.SOCIAL_ALERT:
            suppressed = DecisionOutcome.SUPPRESSED
            return Plan(decision_record(hit, suppressed, reason, campaign_id=closest, **common))
        return Plan(decision_record(hit, DecisionOutcome.NO_OFFER, reason, **common))
    option = next(o for o in options if o.campaign.id == choice.chosen.campaign_id)
    return _contact_policy(situation, option, choice, common, settings)


def _contact_policy(
    situation: Situation,
    option: _Option,
    choice: Choice,
    common: dict[str, Any],
    settings: Settings,
) -> Plan:
    hit, now, campaign = situation.hit, situation.now, option.campaign
    expires = _expiry(campaign, option, now)

    def record(outcome: DecisionOutcome, reason: str, **extra: Any) -> OfferDecision:
        return decision_record(
            hit,
            outcome,
            reason,
            campaign_id=campaign.id,
            channel=option.channel,
            exploration=choice.exploration,
            propensity=choice.propensity,
            expires_at=expires,
            **common,
            **extra,
        )

    if in_global_control(hit.customer_id, settings.global_control_share):
        return Plan(record(DecisionOutcome.CONTROL, GLOBAL_CONTROL))
    quiet = timedelta(hours=settings.complaint_suppression_hours)
    if recently_complained(situation.complained_at, now, quiet):
        return Plan(record(DecisionOutcome.SUPPRESSED, RECENT_COMPLAINT))
    verdict = quiet_hours_verdict(
        now,
        situation.customer.zone,
        start_hour=settings.quiet_hours_start,
        end_hour=settings.quiet_hours_end,
        stale_at=expires,
    )
    if isinstance(verdict, Drop):
        return Plan(record(DecisionOutcome.SUPPRESSED, QUIET_HOURS))
    send_at = verdict.until if isinstance(verdict, Defer) else None
    # the holdout goes through the same quiet hours and contact ledger as a send (a ghost
    # contact), so both groups are drawn from the same customers under the same pressure
    held = held_out(hit.customer_id, campaign.id, campaign.holdout_share)
    if held:
        decided = record(DecisionOutcome.HOLDOUT, HOLDOUT, send_at=send_at)
    else:
        decided = record(DecisionOutcome.SEND, DEFERRED if send_at else SEND_NOW, send_at=send_at)
    request = SendRequest.for_campaign(
        campaign,
        settings,
        decision_id=decided.decision_id,
        customer_id=hit.customer_id,
        channel=option.channel,
        now=send_at or now,
        zone=situation.customer.zone,
        ghost=held,
    )
    return Plan(decided, request)


def _expiry(campaign: Campaign, option: _Option, now: datetime) -> datetime:
    """When the offer lapses: its campaign's expiry, or the departure of its sailing if
    that comes first (and is still ahead)."""
    expires = now + timedelta(hours=campaign.offer_expiry_hours)
    if option.departure_ts is not None and option.departure_ts > now.timestamp():
        return min(expires, datetime.fromtimestamp(option.departure_ts, UTC))
    return expires


def _closest(refused: Sequence[tuple[str, str]]) -> tuple[str | None, str]:
    """The campaign that came closest to being eligible (the first of those that came
    as close), and its reason."""
    if not refused:
        return None, NO_ACTIVE_CAMPAIGN
    order = {reason.value: i for i, reason in enumerate(Ineligible)}
    return max(refused, key=lambda refusal: order.get(refusal[1], -1))


def _with_options(
    listed: tuple[ScoredCandidate, ...],
    options: Sequence[_Option],
    challenger: Sequence[float] | None,
) -> tuple[ScoredCandidate, ...]:
    """The scored candidates with what a training set needs to rebuild each one (the
    campaign's revision, the channel, the sailing) and the challenger's score."""
    by_campaign = {o.campaign.id: (k, o) for k, o in enumerate(options)}
    detailed = []
    for c in listed:
        found = by_campaign.get(c.campaign_id)
        if found is None:
            detailed.append(c)
            continue
        k, option = found
        update: dict[str, Any] = {
            "revision": option.campaign.version,
            "channel": option.channel,
            "sailing_id": option.sailing_id,
        }
        if challenger is not None:
            update["challenger_propensity"] = challenger[k]
        detailed.append(c.model_copy(update=update))
    return tuple(detailed)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
