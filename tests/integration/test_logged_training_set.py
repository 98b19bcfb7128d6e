"""Training sets from logged decisions, joined point in time with Feast's offline log on
the real local Redis: a feature written after a decision never appears in its row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from feast import FeatureStore

from features.sources import (
    CUSTOMER_BOOKING_VIEW,
    CUSTOMER_LOCATION_VIEW,
    SAILING_STATE_VIEW,
)
from features.store import apply_feature_repo, feature_store, push_rows
from models.features import FEATURE_NAMES
from models.logged import LoggedTrainingSet, TrainingSetError, logged_training_set
from offers.campaigns import Campaign
from offers.contracts import (
    BookingEvent,
    CampaignChange,
    DecisionOutcome,
    DeliveryStatus,
    Event,
    OfferDecision,
    ScoredCandidate,
)
from offers.settings import Settings
from tests.integration.test_feast_store import feature_row
from tests.unit.campaigns.factories import nested
from tests.unit.decisions.decision_factories import active_campaign

BEFORE = datetime(2026, 6, 2, 8, 0, tzinfo=UTC)
DECIDED = BEFORE + timedelta(hours=2)
AFTER = DECIDED + timedelta(minutes=5)
SAILING = "LIV-OLB-20260603-0800"
DEPARTURE = datetime(2026, 6, 3, 8, 0, tzinfo=UTC)
column = FEATURE_NAMES.index


@pytest.fixture(scope="module")
def store(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FeatureStore]:
    data_dir: Path = tmp_path_factory.mktemp("feast-logged")
    settings = stack_settings.model_copy(update={"feast_data_dir": data_dir})
    apply_feature_repo(settings)
    store = feature_store(settings)
    # what the engine knew at the decision (BEFORE), then what was written after it
    for at, searches, lat, fare in ((BEFORE, 1, 41.0, 50.0), (AFTER, 9, 44.0, 99.0)):
        for customer in ("c-bought", "c-ignored"):
            push_rows(
                store,
                "customer_booking_push",
                [feature_row(CUSTOMER_BOOKING_VIEW, customer, at, searches_24h=searches)],
            )
            push_rows(
                store,
                "customer_location_push",
                [feature_row(CUSTOMER_LOCATION_VIEW, customer, at, last_lat=lat, last_lon=10.3)],
            )
        push_rows(
            store,
            "sailing_state_push",
            [
                feature_row(
                    SAILING_STATE_VIEW,
                    SAILING,
                    at,
                    route_id="LIV-OLB",
                    origin_port="LIV",
                    departure_ts=int(DEPARTURE.timestamp()),
                    fare_eur=fare,
                    load_factor_pax=0.5,
                )
            ],
        )
    yield store


def published(campaign: Campaign) -> CampaignChange:
    return CampaignChange.model_validate(
        {
            "event_id": f"chg-{campaign.id}-{campaign.version}",
            "event_time": BEFORE - timedelta(days=1),
            "campaign_id": campaign.id,
            "action": "activated",
            "actor": "marketer-1",
            "actor_role": "marketer",
            "revision": campaign.version,
            "campaign": campaign.model_dump(mode="json"),
        }
    )


def decision(customer: str, chosen: Campaign, *others: Campaign, **fields: Any) -> OfferDecision:
    def scored(campaign: Campaign, propensity: float) -> ScoredCandidate:
        return ScoredCandidate(
            campaign_id=campaign.id,
            propensity=propensity,
            priority=propensity * 10,
            revision=campaign.version,
            channel="sms",
            sailing_id=SAILING,
        )

    return OfferDecision.model_validate(
        {
            "event_id": f"dec-{customer}",
            "event_time": DECIDED,
            "decision_id": f"dec-{customer}",
            "customer_id": customer,
            "trigger_event_id": f"ev-{customer}",
            "trigger": "abandoned_quote",
            "outcome": DecisionOutcome.SEND,
            "reason": "send_now",
            "campaign_id": chosen.id,
            "channel": "sms",
            "candidates": [scored(chosen, 0.3), *(scored(c, 0.1) for c in others)],
            "model_version": "v1",
            "propensity": 0.95,
            "expires_at": DECIDED + timedelta(hours=24),
            "decided_at": DECIDED,
            "local_hour": 12,
            "route_id": "LIV-OLB",
            **fields,
        }
    )


def delivered(offer: OfferDecision) -> DeliveryStatus:
    return DeliveryStatus.model_validate(
        {
            "event_id": f"st-{offer.decision_id}",
            "event_time": DECIDED + timedelta(seconds=5),
            "decision_id": offer.decision_id,
            "customer_id": offer.customer_id,
            "channel": "sms",
            "status": "delivered",
        }
    )


def booked(offer: OfferDecision, at: datetime) -> BookingEvent:
    return BookingEvent.model_validate(
        {
            "event_id": f"bk-{offer.decision_id}",
            "event_time": at,
            "customer_id": offer.customer_id,
            "action": "book",
            "route_id": "LIV-OLB",
            "sailing_id": SAILING,
            "price_eur": 80.0,
            "booking_ref": f"ref-{offer.decision_id}",
            "offer_decision_id": offer.decision_id,
        }
    )


OLBIA = active_campaign(campaign_id="cmp-olbia", offer=nested("offer", percent=15))
UPGRADE = active_campaign(
    campaign_id="cmp-cabin",
    offer=nested("offer", kind="upgrade", percent=None, upgrade="cabin", cost_eur=12.0),
)


def logged_events() -> list[Event]:
    bought = decision("c-bought", OLBIA, UPGRADE)
    ignored = decision("c-ignored", UPGRADE)
    undelivered = decision("c-silent", OLBIA)
    later = DECIDED + timedelta(days=3)
    unknown_yet = decision(
        "c-recent",
        OLBIA,
        event_time=later,
        decided_at=later,
        expires_at=later + timedelta(hours=24),
    )
    late_search = booked(ignored, DECIDED + timedelta(days=2)).model_copy(
        update={"event_id": "bk-late", "booking_ref": "ref-late", "offer_decision_id": None}
    )
    return [
        published(OLBIA),
        published(UPGRADE),
        bought,
        ignored,
        undelivered,
        unknown_yet,
        delivered(bought),
        delivered(ignored),
        delivered(unknown_yet),
        booked(bought, DECIDED + timedelta(hours=3)),
        late_search,
    ]


@pytest.fixture(scope="module")
def training(store: FeatureStore) -> LoggedTrainingSet:
    return logged_training_set(store, logged_events())


def test_a_feature_written_after_a_decision_never_appears_in_its_row(
    training: LoggedTrainingSet,
) -> None:
    x = training.features
    assert len(training) == 3  # c-bought's two candidates, c-ignored's one
    np.testing.assert_array_equal(x[:, column("searches_24h")], [1, 1, 1])
    np.testing.assert_array_equal(x[:, column("last_lat")], [41.0, 41.0, 41.0])
    np.testing.assert_array_equal(x[:, column("fare_eur")], [50.0, 50.0, 50.0])
    expected_hours = (DEPARTURE - DECIDED).total_seconds() / 3600
    np.testing.assert_allclose(x[:, column("hours_to_departure")], expected_hours)


def test_rows_are_the_candidates_of_sent_decisions_whose_outcome_is_known(
    training: LoggedTrainingSet,
) -> None:
    rows = training.rows
    assert list(zip(rows["customer_id"], rows["campaign_id"], rows["chosen"], strict=True)) == [
        ("c-bought", "cmp-olbia", True),
        ("c-bought", "cmp-cabin", False),
        ("c-ignored", "cmp-cabin", True),
    ]
    assert list(training.labels) == [1, -1, 0]
    assert list(rows["logged_propensity"].fillna(-1)) == [0.95, -1, 0.95]
    # 15 % of the 50 EUR fare off the campaign's worth; the upgrade costs its cost_eur
    assert rows["net_value_eur"].tolist() == [
        pytest.approx(OLBIA.priority_eur - 7.5),
        pytest.approx(UPGRADE.priority_eur - 12.0),
        pytest.approx(UPGRADE.priority_eur - 12.0),
    ]


def test_an_entity_unknown_to_a_view_gets_missing_values(store: FeatureStore) -> None:
    stranger = decision("c-stranger", OLBIA)
    events = [published(OLBIA), stranger, delivered(stranger), booked(stranger, AFTER)]
    events.append(
        booked(stranger, DECIDED + timedelta(days=2)).model_copy(
            update={"event_id": "bk-end", "booking_ref": "ref-end", "offer_decision_id": None}
        )
    )
    training = logged_training_set(store, events)
    x = training.features
    assert np.isnan(x[0, column("searches_24h")]) and np.isnan(x[0, column("last_lat")])
    assert x[0, column("fare_eur")] == 50.0
    assert list(training.labels) == [1]


def test_nothing_to_learn_from_is_a_clear_error(store: FeatureStore) -> None:
    with pytest.raises(TrainingSetError, match="no sent decision with a known outcome"):
        logged_training_set(store, [published(OLBIA), decision("c-alone", OLBIA)])
