"""What was decided for each trigger, kept so that a trigger seen again is decided the same.

A trigger can reach the decision agent more than once: Kafka redelivers what a crashed
worker had not committed, a rebalance hands a partition over mid-batch, a fan-out signal
is found twice. Deciding it again could choose otherwise (the features have moved on, a
cap has filled), and the new decision would carry another id. So the first plan of each
trigger is stored (``SET NX``) before its send is reserved, and every later sighting
takes the stored plan: the same record, the same reservation (which the ledger answers
again with its first outcome), the same decision id.

Keys: ``offers:decision:trigger:{trigger_key}`` (string, JSON of the plan: the record
before the ledger, and the send request), where ``trigger_key`` is the decision id the
trigger would have without a campaign (:func:`trigger_key`). Kept for
:data:`MEMO_RETENTION`, longer than any redelivery takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from redis import Redis

from offers.contracts import Channel, OfferDecision, decode, encode
from streams.decisions.engine import Plan
from streams.decisions.ledger import SendRequest
from streams.decisions.records import decision_id
from streams.decisions.triggers import TriggerHit

MEMO_KEY = "offers:decision:trigger:{trigger_key}"
MEMO_RETENTION = timedelta(days=2)


def trigger_key(hit: TriggerHit) -> str:
    """The trigger's own id: its event, kind and customer, without a campaign."""
    return decision_id(hit, None)


class DecisionMemo:
    """The first plan of each trigger, in Redis."""

    def __init__(self, redis: Redis, retention: timedelta = MEMO_RETENTION) -> None:
        self._redis = redis
        self._seconds = int(retention.total_seconds())

    def get_many(self, keys: list[str]) -> dict[str, Plan]:
        """The stored plans of ``keys`` (trigger keys), for those that have one."""
        if not keys:
            return {}
        names = [MEMO_KEY.format(trigger_key=key) for key in keys]
        values = cast("list[bytes | None]", self._redis.mget(names))
        return {k: plan_from_json(v) for k, v in zip(keys, values, strict=True) if v is not None}

    def put_many(self, plans: Mapping[str, Plan]) -> dict[str, Plan]:
        """Store each plan unless its trigger has one already; the plan that holds for
        each trigger (the stored one where there was one)."""
        if not plans:
            return {}
        keys = list(plans)
        with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.set(
                    MEMO_KEY.format(trigger_key=key),
                    plan_to_json(plans[key]),
                    nx=True,
                    ex=self._seconds,
                )
            stored = pipe.execute()
        held = dict(plans)
        lost = [key for key, fresh in zip(keys, stored, strict=True) if not fresh]
        held.update(self.get_many(lost))
        return held


def plan_to_json(plan: Plan) -> bytes:
    send = plan.send
    return orjson.dumps(
        {
            "record": encode(plan.record).decode(),
            "send": None if send is None else _request_to_dict(send),
        }
    )


def plan_from_json(raw: bytes) -> Plan:
    data = orjson.loads(raw)
    record = decode(data["record"], expected=OfferDecision)
    assert isinstance(record, OfferDecision)
    send = data["send"]
    return Plan(record, None if send is None else _request_from_dict(send))


def _request_to_dict(request: SendRequest) -> dict[str, Any]:
    return {
        "decision_id": request.decision_id,
        "customer_id": request.customer_id,
        "campaign_id": request.campaign_id,
        "channel": request.channel.value,
        "now": request.now.isoformat(),
        "zone": request.zone,
        "per_day": request.per_day,
        "per_week": request.per_week,
        "channel_per_day": request.channel_per_day,
        "channel_per_week": request.channel_per_week,
        "cooldown_s": request.cooldown.total_seconds(),
        "max_sends": request.max_sends,
        "campaign_end": None if request.campaign_end is None else request.campaign_end.isoformat(),
    }


def _request_from_dict(data: dict[str, Any]) -> SendRequest:
    end = data["campaign_end"]
    return SendRequest(
        decision_id=data["decision_id"],
        customer_id=data["customer_id"],
        campaign_id=data["campaign_id"],
        channel=Channel(data["channel"]),
        now=datetime.fromisoformat(data["now"]),
        zone=data["zone"],
        per_day=data["per_day"],
        per_week=data["per_week"],
        channel_per_day=data["channel_per_day"],
        channel_per_week=data["channel_per_week"],
        cooldown=timedelta(seconds=data["cooldown_s"]),
        max_sends=data["max_sends"],
        campaign_end=None if end is None else datetime.fromisoformat(end),
    )
