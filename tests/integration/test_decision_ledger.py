"""The contact ledger on the real local Redis: every refusal, idempotent reservations,
releases, suppression, caps and budgets held under concurrent reservations, and the
expiry of every key it writes."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from redis import Redis

from offers.contracts.events import Channel
from streams.decisions.ledger import (
    CAMPAIGN_DAY_KEY,
    CAMPAIGN_WEEK_KEY,
    CHANNEL_DAY_KEY,
    CHANNEL_WEEK_KEY,
    COOLDOWN_KEY,
    DECISION_KEY,
    LEDGER_PREFIX,
    SENDS_KEY,
    ContactLedger,
    Refusal,
    Reservation,
    SendRequest,
)
from streams.decisions.policy import local_date, local_day, local_week

ZONE = "Europe/Rome"
ROME = ZoneInfo(ZONE)
NO_CAP = 1_000

RequestFactory = Callable[..., SendRequest]


@pytest.fixture
def ledger(redis: Redis) -> ContactLedger:
    return ContactLedger(redis)


@pytest.fixture
def now() -> datetime:
    """The wall clock, to the second: keys expire in Redis's real time."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def token() -> str:
    """A part of every id of the test, so that its keys can be found and kept apart."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def make_request(token: str, now: datetime) -> RequestFactory:
    """``make_request(**overrides)``: a send of campaign ``cmp-<token>`` to customer
    ``cust-<token>`` over SMS at ``now``, a new decision each time, with no limit but
    those overridden."""
    made = Counter[str]()

    def build(**overrides: Any) -> SendRequest:
        made["decisions"] += 1
        fields: dict[str, Any] = {
            "decision_id": f"d-{token}-{made['decisions']}",
            "customer_id": f"cust-{token}",
            "campaign_id": f"cmp-{token}",
            "channel": Channel.SMS,
            "now": now,
            "zone": ZONE,
            "per_day": NO_CAP,
            "per_week": NO_CAP,
            "channel_per_day": NO_CAP,
            "channel_per_week": NO_CAP,
        }
        return SendRequest(**(fields | overrides))

    return build


def counts(redis: Redis, request: SendRequest) -> dict[str, int]:
    """The ledger's counters that ``request`` is counted in."""
    day, week = local_day(request.now, request.zone), local_week(request.now, request.zone)
    ids = {"campaign_id": request.campaign_id, "customer_id": request.customer_id}
    keys = {
        "campaign_day": CAMPAIGN_DAY_KEY.format(day=day, **ids),
        "campaign_week": CAMPAIGN_WEEK_KEY.format(week=week, **ids),
        "channel_day": CHANNEL_DAY_KEY.format(
            channel=request.channel.value, customer_id=request.customer_id, day=day
        ),
        "channel_week": CHANNEL_WEEK_KEY.format(
            channel=request.channel.value, customer_id=request.customer_id, week=week
        ),
    }
    values = {name: redis.get(key) for name, key in keys.items()}
    return {name: int(value) if value is not None else 0 for name, value in values.items()}


def same_week_other_day(now: datetime) -> datetime:
    """A day before or after ``now`` in the same local ISO week of Rome."""
    other = now - timedelta(days=1)
    if local_week(other, ZONE) != local_week(now, ZONE):
        other = now + timedelta(days=1)
    assert local_week(other, ZONE) == local_week(now, ZONE)
    return other


def refusals(reservations: list[Reservation]) -> Counter[Refusal | None]:
    return Counter(r.refusal for r in reservations)


# Grants and refusals


def test_a_send_within_every_limit_is_granted_and_counted(
    ledger: ContactLedger, redis: Redis, make_request: RequestFactory
) -> None:
    request = make_request(per_day=1, per_week=3, channel_per_day=2, channel_per_week=5)
    reservation = ledger.reserve(request)
    assert reservation == Reservation(request.decision_id, None, "", first=True)
    assert reservation.granted
    assert counts(redis, request) == dict.fromkeys(
        ("campaign_day", "campaign_week", "channel_day", "channel_week"), 1
    )
    assert ledger.sends(request.campaign_id) == 1


def test_the_campaign_day_cap(ledger: ContactLedger, make_request: RequestFactory) -> None:
    assert ledger.reserve(make_request(per_day=2)).granted
    assert ledger.reserve(make_request(per_day=2)).granted
    refused = ledger.reserve(make_request(per_day=2))
    assert refused.refusal is Refusal.CAPPED_CAMPAIGN_DAY
    assert "2 offers of the campaign" in refused.detail
    assert "per_day 2" in refused.detail


def test_the_campaign_week_cap_counts_other_days_of_the_week(
    ledger: ContactLedger, make_request: RequestFactory, now: datetime
) -> None:
    other_day = same_week_other_day(now)
    assert ledger.reserve(make_request(per_day=2, per_week=3)).granted
    assert ledger.reserve(make_request(per_day=2, per_week=3)).granted
    assert ledger.reserve(make_request(per_day=2, per_week=3, now=other_day)).granted
    refused = ledger.reserve(make_request(per_day=2, per_week=3, now=other_day))
    assert refused.refusal is Refusal.CAPPED_CAMPAIGN_WEEK
    assert f"in {local_week(now, ZONE)}, per_week 3" in refused.detail


def test_campaigns_share_the_channel_day_cap(
    ledger: ContactLedger, redis: Redis, make_request: RequestFactory, token: str
) -> None:
    first = make_request(campaign_id=f"cmp-a-{token}", channel_per_day=2, per_day=1)
    second = make_request(campaign_id=f"cmp-b-{token}", channel_per_day=2, per_day=1)
    third = make_request(campaign_id=f"cmp-c-{token}", channel_per_day=2, per_day=1)
    assert ledger.reserve(first).granted
    assert ledger.reserve(second).granted
    refused = ledger.reserve(third)
    assert refused.refusal is Refusal.CAPPED_CHANNEL_DAY
    assert "over sms" in refused.detail
    assert counts(redis, first)["campaign_day"] == 1
    assert counts(redis, second)["campaign_day"] == 1
    assert counts(redis, third) == {
        "campaign_day": 0,
        "campaign_week": 0,
        "channel_day": 2,
        "channel_week": 2,
    }
    over_whatsapp = make_request(
        campaign_id=f"cmp-c-{token}", channel=Channel.WHATSAPP, channel_per_day=2
    )
    assert ledger.reserve(over_whatsapp).granted


def test_the_channel_week_cap(
    ledger: ContactLedger, make_request: RequestFactory, token: str, now: datetime
) -> None:
    other_day = same_week_other_day(now)
    caps = {"channel_per_day": 2, "channel_per_week": 3}
    assert ledger.reserve(make_request(campaign_id=f"cmp-a-{token}", **caps)).granted
    assert ledger.reserve(make_request(campaign_id=f"cmp-b-{token}", **caps)).granted
    later = make_request(campaign_id=f"cmp-c-{token}", now=other_day, **caps)
    assert ledger.reserve(later).granted
    refused = ledger.reserve(make_request(campaign_id=f"cmp-d-{token}", now=other_day, **caps))
    assert refused.refusal is Refusal.CAPPED_CHANNEL_WEEK


def test_the_cooldown_keeps_every_campaign_away(
    ledger: ContactLedger, make_request: RequestFactory, token: str, now: datetime
) -> None:
    hour = timedelta(hours=1)
    assert ledger.reserve(make_request(campaign_id=f"cmp-a-{token}", cooldown=hour)).granted
    refused = ledger.reserve(make_request(campaign_id=f"cmp-b-{token}", cooldown=hour))
    assert refused.refusal is Refusal.COOLDOWN
    assert (now + hour).isoformat() in refused.detail
    after = make_request(campaign_id=f"cmp-b-{token}", cooldown=hour, now=now + 2 * hour)
    assert ledger.reserve(after).granted


def test_the_budget_holds_across_customers(
    ledger: ContactLedger, make_request: RequestFactory, token: str
) -> None:
    outcomes = [
        ledger.reserve(make_request(customer_id=f"cust-{i}-{token}", max_sends=2)) for i in range(3)
    ]
    assert [o.refusal for o in outcomes] == [None, None, Refusal.BUDGET_EXHAUSTED]
    assert outcomes[2].detail == "2 offers sent, max_sends 2"
    assert ledger.sends(f"cmp-{token}") == 2


def test_a_holdouts_ghost_contact_counts_in_caps_and_cooldown_but_not_in_the_budget(
    ledger: ContactLedger, redis: Redis, make_request: RequestFactory, token: str
) -> None:
    hour = timedelta(hours=1)
    ghost = make_request(per_day=1, cooldown=hour, max_sends=1, ghost=True)
    assert ledger.reserve(ghost).granted
    assert counts(redis, ghost) == dict.fromkeys(
        ("campaign_day", "campaign_week", "channel_day", "channel_week"), 1
    )
    assert ledger.sends(ghost.campaign_id) == 0
    other = make_request(campaign_id=f"cmp-other-{token}", cooldown=hour)
    assert ledger.reserve(other).refusal is Refusal.COOLDOWN
    assert ledger.release(ghost.decision_id)
    assert counts(redis, ghost) == dict.fromkeys(
        ("campaign_day", "campaign_week", "channel_day", "channel_week"), 0
    )
    sent = make_request(customer_id=f"cust-2-{token}", max_sends=1)
    assert ledger.reserve(sent).granted  # the budget was never used by the ghost
    assert ledger.release(ghost.decision_id) is False
    assert ledger.sends(ghost.campaign_id) == 1


def test_a_suppressed_customer_gets_nothing_until_it_ends(
    ledger: ContactLedger, make_request: RequestFactory, token: str, now: datetime
) -> None:
    ledger.suppress(f"cust-{token}", now + timedelta(hours=1), "opt-out")
    refused = ledger.reserve(make_request())
    assert refused.refusal is Refusal.SUPPRESSED
    assert refused.detail.endswith(": opt-out")
    assert ledger.reserve(make_request(customer_id=f"cust-other-{token}")).granted
    assert ledger.reserve(make_request(now=now + timedelta(hours=2))).granted


def test_a_shorter_suppression_does_not_cut_a_longer_one(
    ledger: ContactLedger, make_request: RequestFactory, token: str, now: datetime
) -> None:
    ledger.suppress(f"cust-{token}", now + timedelta(days=30), "converted")
    ledger.suppress(f"cust-{token}", now + timedelta(hours=1), "opt-out")
    refused = ledger.reserve(make_request(now=now + timedelta(hours=2)))
    assert refused.refusal is Refusal.SUPPRESSED
    assert refused.detail.endswith(": converted")


# Idempotence and release


def test_reserving_a_decision_again_answers_the_first_outcome(
    ledger: ContactLedger, redis: Redis, make_request: RequestFactory
) -> None:
    request = make_request(per_day=1)
    first = ledger.reserve(request)
    again = ledger.reserve(request)
    assert first.granted and first.first
    assert again == Reservation(request.decision_id, None, "", first=False)
    assert counts(redis, request)["campaign_day"] == 1
    assert ledger.sends(request.campaign_id) == 1


def test_reservations_in_one_round_trip_see_each_other_in_order(
    ledger: ContactLedger, redis: Redis, make_request: RequestFactory
) -> None:
    first, second, third = (make_request(per_day=2) for _ in range(3))

    reservations = ledger.reserve_many([first, second, first, third])

    assert [r.decision_id for r in reservations] == [
        first.decision_id,
        second.decision_id,
        first.decision_id,
        third.decision_id,
    ]
    assert [r.granted for r in reservations] == [True, True, True, False]
    assert [r.first for r in reservations] == [True, True, False, True]
    assert reservations[3].refusal is Refusal.CAPPED_CAMPAIGN_DAY
    assert counts(redis, first)["campaign_day"] == 2
    assert ledger.reserve_many([]) == []


def test_a_refused_decision_stays_refused(
    ledger: ContactLedger, make_request: RequestFactory
) -> None:
    request = make_request(per_day=0)
    refused = ledger.reserve(request)
    assert refused.refusal is Refusal.CAPPED_CAMPAIGN_DAY
    replayed = ledger.reserve(make_request(decision_id=request.decision_id, per_day=5))
    assert replayed.refusal is Refusal.CAPPED_CAMPAIGN_DAY
    assert replayed.detail == refused.detail
    assert not replayed.first
    assert ledger.sends(request.campaign_id) == 0


def test_a_release_gives_everything_back_once(
    ledger: ContactLedger, redis: Redis, make_request: RequestFactory
) -> None:
    hour = timedelta(hours=1)
    request = make_request(per_day=1, cooldown=hour, max_sends=1)
    assert ledger.reserve(request).granted
    assert ledger.release(request.decision_id)
    assert counts(redis, request) == dict.fromkeys(
        ("campaign_day", "campaign_week", "channel_day", "channel_week"), 0
    )
    assert ledger.sends(request.campaign_id) == 0
    assert redis.exists(COOLDOWN_KEY.format(customer_id=request.customer_id)) == 0
    assert not ledger.release(request.decision_id)
    assert ledger.reserve(make_request(per_day=1, cooldown=hour, max_sends=1)).granted
    assert ledger.sends(request.campaign_id) == 1


def test_a_released_decision_can_be_reserved_again(
    ledger: ContactLedger, redis: Redis, make_request: RequestFactory
) -> None:
    request = make_request(per_day=1)
    assert ledger.reserve(request).granted
    assert ledger.release(request.decision_id)
    again = ledger.reserve(request)
    assert again.granted and again.first
    assert counts(redis, request)["campaign_day"] == 1


def test_releasing_a_refused_or_unknown_decision_does_nothing(
    ledger: ContactLedger, redis: Redis, make_request: RequestFactory, token: str
) -> None:
    granted = make_request(per_day=1)
    refused = make_request(per_day=1)
    assert ledger.reserve(granted).granted
    assert not ledger.reserve(refused).granted
    assert not ledger.release(refused.decision_id)
    assert not ledger.release(f"d-unknown-{token}")
    assert counts(redis, granted)["campaign_day"] == 1
    assert ledger.sends(granted.campaign_id) == 1


# Under concurrency


def test_one_customer_reserved_a_thousand_times_at_once_gets_the_cap(
    ledger: ContactLedger, redis: Redis, make_request: RequestFactory
) -> None:
    requests = [make_request(per_day=3, per_week=10, cooldown=timedelta(0)) for _ in range(1000)]
    with ThreadPoolExecutor(max_workers=32) as pool:
        outcomes = list(pool.map(ledger.reserve, requests))
    assert refusals(outcomes) == {None: 3, Refusal.CAPPED_CAMPAIGN_DAY: 997}
    assert counts(redis, requests[0]) == dict.fromkeys(
        ("campaign_day", "campaign_week", "channel_day", "channel_week"), 3
    )
    assert ledger.sends(requests[0].campaign_id) == 3


def test_a_budget_of_five_holds_across_fifty_customers_at_once(
    ledger: ContactLedger, make_request: RequestFactory, token: str
) -> None:
    requests = [make_request(customer_id=f"cust-{i}-{token}", max_sends=5) for i in range(50)]
    with ThreadPoolExecutor(max_workers=25) as pool:
        outcomes = list(pool.map(ledger.reserve, requests))
    assert refusals(outcomes) == {None: 5, Refusal.BUDGET_EXHAUSTED: 45}
    assert ledger.sends(f"cmp-{token}") == 5


# Expiry


def test_every_key_expires(
    ledger: ContactLedger,
    redis: Redis,
    make_request: RequestFactory,
    token: str,
    now: datetime,
) -> None:
    campaign_end = now + timedelta(days=20)
    granted = make_request(per_day=1, cooldown=timedelta(hours=24), campaign_end=campaign_end)
    refused = make_request(per_day=1)
    assert ledger.reserve(granted).granted
    assert not ledger.reserve(refused).granted
    ledger.suppress(f"cust-{token}", now + timedelta(days=3), "converted")

    keys = sorted(k.decode() for k in redis.scan_iter(match=f"{LEDGER_PREFIX}*{token}*"))
    assert len(keys) == 9  # 2 decisions, 4 counters, cooldown, sends, suppression
    expiries = {key: redis.expiretime(key) for key in keys}
    assert all(at > now.timestamp() for at in expiries.values()), expiries

    day = local_date(now, ZONE)
    monday = day - timedelta(days=day.isoweekday() - 1)

    def midnight(d: date) -> int:
        return int(datetime(d.year, d.month, d.day, tzinfo=ROME).timestamp())

    day_ends = midnight(day + timedelta(days=2))
    week_ends = midnight(monday + timedelta(days=8))
    by_name = {
        CAMPAIGN_DAY_KEY.format(
            campaign_id=granted.campaign_id,
            customer_id=granted.customer_id,
            day=local_day(now, ZONE),
        ): day_ends,
        CAMPAIGN_WEEK_KEY.format(
            campaign_id=granted.campaign_id,
            customer_id=granted.customer_id,
            week=local_week(now, ZONE),
        ): week_ends,
        CHANNEL_DAY_KEY.format(
            channel="sms", customer_id=granted.customer_id, day=local_day(now, ZONE)
        ): day_ends,
        CHANNEL_WEEK_KEY.format(
            channel="sms", customer_id=granted.customer_id, week=local_week(now, ZONE)
        ): week_ends,
        COOLDOWN_KEY.format(customer_id=granted.customer_id): int(
            (now + timedelta(hours=24)).timestamp()
        ),
        SENDS_KEY.format(campaign_id=granted.campaign_id): int(
            (campaign_end + timedelta(days=8)).timestamp()
        ),
    }
    for key, expected in by_name.items():
        assert expiries[key] == expected, key
    for decision in (granted, refused):
        ttl = redis.ttl(DECISION_KEY.format(decision_id=decision.decision_id))
        assert timedelta(days=8) - timedelta(minutes=1) < timedelta(seconds=ttl)
        assert timedelta(seconds=ttl) <= timedelta(days=8)


def test_counters_hold_integers(
    ledger: ContactLedger, redis: Redis, make_request: RequestFactory, token: str
) -> None:
    assert ledger.reserve(make_request()).granted
    assert ledger.reserve(make_request()).granted
    keys = list(redis.scan_iter(match=f"{LEDGER_PREFIX}*{token}*"))
    counters = [key for key in keys if redis.type(key) == b"string"]
    assert len(counters) == 5
    assert {redis.get(key) for key in counters} == {b"2"}
    assert {redis.object("encoding", key) for key in counters} == {b"int"}


def test_limits_counted_in_the_past_are_kept_as_long_as_they_would_have_been_live(
    ledger: ContactLedger,
    redis: Redis,
    make_request: RequestFactory,
    token: str,
    now: datetime,
) -> None:
    """A replay of history decides two days back: the cooldown, the counters and a
    conversion's suppression must not expire the moment they are written."""
    then = now - timedelta(days=2)
    granted = make_request(now=then, per_day=1, cooldown=timedelta(hours=24))
    assert ledger.reserve(granted).granted
    ledger.suppress(f"cust-{token}", then + timedelta(hours=72), "converted", since=then)

    cooldown = redis.pexpiretime(COOLDOWN_KEY.format(customer_id=f"cust-{token}")) / 1000
    assert now.timestamp() + 24 * 3600 - 5 <= cooldown <= now.timestamp() + 24 * 3600 + 5
    suppression = redis.expiretime(f"{LEDGER_PREFIX}suppressed:cust-{token}")
    assert abs(suppression - (now.timestamp() + 72 * 3600)) <= 5
    # still counted: a second send of the same local day is refused by the cooldown
    again = ledger.reserve(make_request(now=then + timedelta(hours=1), per_day=1))
    assert again.refusal in (Refusal.SUPPRESSED, Refusal.COOLDOWN)
