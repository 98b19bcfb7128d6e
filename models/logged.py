"""Training sets from the engine's own logs: what it decided, what came of it, and the
features it knew when it decided.

A row is one eligible candidate of one sent decision: the offer the decision chose, and
each other campaign it weighed (kept for off-policy estimates of another policy). Each
scored candidate of a decision record names what is needed to rebuild it: the campaign's
revision (its offer terms), the channel and the sailing; the record names the moment of
the decision (``decided_at``) and the customer's local hour.

- :func:`fold_log` folds the decision, delivery-status, booking, campaign and erasure
  topics into a :class:`DecisionLog`: the sent decisions that reached the customer, the
  bookings made with their offer, every version of every campaign. The decisions of a
  customer made up to its erasure (``state.erasures``) are left out, whatever order the
  events come in: an erased customer is in no training set.
- :func:`candidate_rows` lists the rows of the decisions whose outcome is known: the
  label window, from the decision to the earlier of its offer's expiry and the
  attribution window's end, has closed before the log ends. The chosen row is labelled
  1 when a booking carrying the decision's id falls in that window (a redeemed offer:
  the funnel's ``converted``), else 0.
- :func:`join_features` joins each row, point in time, with the features Feast's offline
  log held at ``decided_at``: the customer views on ``customer_id`` and the sailing
  state on ``sailing_id``: the features of a Feast feature service (by default
  ``offer_scoring_v2``, what the model's encoder reads), through
  ``FeatureStore.get_historical_features``. A feature row written after the decision is
  never joined to it.
- :func:`logged_training_set` puts the three together and encodes the rows with the
  model's :class:`~models.features.FeatureEncoder`.

Feast 0.67's file offline store cannot join an entity that has no row at all in a view
(dask fails) and drops an entity row older than all of its entity's rows; the join is
therefore made one view at a time, for the entities the view's log holds, and a row the
view has nothing for before ``decided_at`` gets missing values, as the online store
would have given.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from feast import FeatureStore

from features.services import service_features
from features.sources import EVENT_TIMESTAMP, VIEW_SPECS, ViewSpec, offline_dir, read_part
from features.views import feature_view_name
from models.errors import ModelError
from models.features import FeatureEncoder, FeatureMatrix
from models.inputs import ONLINE_FEATURES, CandidateBatch, CustomerColumns
from offers.campaigns import Campaign
from offers.campaigns.changes import campaign_from_change
from offers.campaigns.targeting import Trigger
from offers.contracts import (
    BookingEvent,
    CampaignChange,
    CustomerErased,
    DecisionOutcome,
    DeliveryState,
    DeliveryStatus,
    Event,
    OfferDecision,
)
from offers.contracts.events import BookingAction, Channel
from offers.errors import ContractError
from offers.reports.funnel import DEFAULT_ATTRIBUTION_WINDOW
from streams.decisions.arbitration import net_value

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

SCORING_SERVICE = "offer_scoring_v2"
"""The feature service training sets are joined with: what the model's encoder reads."""
ROW = "row"
"""Column of the candidate's row number in the frames sent to Feast and back."""
_SAILING_COLUMNS = ("route_id", "departure_ts", "fare_eur", "load_factor_pax")


class TrainingSetError(ModelError):
    """No training set can be made from the logs: nothing sent, nothing labelled yet."""


@dataclass(slots=True)
class DecisionLog:
    """Sent decisions that reached their customer, and what is needed to label them."""

    sent: dict[str, OfferDecision] = field(default_factory=dict)
    """Decision id -> the sent decision (its earliest copy)."""
    reached: set[str] = field(default_factory=set)
    """Ids of the sent decisions delivered (Messenger: sent, its last status)."""
    booked: dict[str, datetime] = field(default_factory=dict)
    """Decision id -> the earliest booking made with its offer, not cancelled."""
    campaigns: dict[tuple[str, int], Campaign] = field(default_factory=dict)
    """(campaign id, revision) -> that version of the campaign."""
    end: datetime | None = None
    """The latest event time in the log: what is known stops there."""
    erased: dict[str, datetime] = field(default_factory=dict)
    """Customer id -> its latest erasure: its decisions up to then are left out."""


def fold_log(events: Iterable[Event]) -> DecisionLog:
    """The log of ``events`` of the decision, delivery-status, booking, campaign and
    erasure topics, in any order and any number of copies (other events are ignored).
    An erasure is no event of the log: it does not move the log's end."""
    folded = DecisionLog()
    bookings: dict[str, BookingEvent] = {}
    cancelled: set[str] = set()
    for event in events:
        if isinstance(event, CustomerErased):
            known_at = folded.erased.get(event.customer_id)
            if known_at is None or event.event_time > known_at:
                folded.erased[event.customer_id] = event.event_time
            continue
        if folded.end is None or event.event_time > folded.end:
            folded.end = event.event_time
        if isinstance(event, OfferDecision):
            if event.outcome is DecisionOutcome.SEND:
                known = folded.sent.get(event.decision_id)
                if known is None or event.event_time < known.event_time:
                    folded.sent[event.decision_id] = event
        elif isinstance(event, DeliveryStatus):
            if _reached(event):
                folded.reached.add(event.decision_id)
        elif isinstance(event, BookingEvent):
            _fold_booking(event, bookings, cancelled)
        elif isinstance(event, CampaignChange):
            _fold_campaign(event, folded.campaigns)
    for ref, booking in bookings.items():
        if ref in cancelled or booking.offer_decision_id is None:
            continue
        decision = booking.offer_decision_id
        if decision not in folded.booked or booking.event_time < folded.booked[decision]:
            folded.booked[decision] = booking.event_time
    _leave_out_erased(folded)
    return folded


def _leave_out_erased(folded: DecisionLog) -> None:
    """Drop the decisions of erased customers made up to their erasure, with what was
    known of their outcome."""
    erased = folded.erased
    if not erased:
        return
    gone = [
        decision_id
        for decision_id, decision in folded.sent.items()
        if (at := erased.get(decision.customer_id)) is not None and decision.event_time <= at
    ]
    for decision_id in gone:
        del folded.sent[decision_id]
        folded.reached.discard(decision_id)
        folded.booked.pop(decision_id, None)


def _reached(status: DeliveryStatus) -> bool:
    if status.status is DeliveryState.DELIVERED:
        return True
    return status.channel is Channel.MESSENGER and status.status is DeliveryState.SENT


def _fold_booking(
    event: BookingEvent, bookings: dict[str, BookingEvent], cancelled: set[str]
) -> None:
    ref = event.booking_ref
    if ref is None:
        return
    if event.action is BookingAction.CANCEL:
        cancelled.add(ref)
    elif event.action is BookingAction.BOOK:
        known = bookings.get(ref)
        if known is None or event.event_time < known.event_time:
            bookings[ref] = event


def _fold_campaign(event: CampaignChange, campaigns: dict[tuple[str, int], Campaign]) -> None:
    try:
        campaign = campaign_from_change(event)
    except ContractError as exc:
        log.warning("campaign change %s unreadable, skipped: %s", event.event_id, exc)
        return
    campaigns.setdefault((campaign.id, campaign.version), campaign)


def label_deadline(decision: OfferDecision, attribution_window: timedelta) -> datetime:
    """The end of the window in which a booking with the decision's offer counts: the
    offer's expiry or the attribution window's end, whichever comes first."""
    start = decision.decided_at or decision.event_time
    end = start + attribution_window
    return min(end, decision.expires_at) if decision.expires_at is not None else end


def candidate_rows(
    folded: DecisionLog,
    *,
    attribution_window: timedelta = DEFAULT_ATTRIBUTION_WINDOW,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """One row per eligible candidate of each sent decision that reached its customer,
    was decided in ``[since, until)`` and whose label window closed before the log ends.

    Columns: ``row``, ``decision_id``, ``customer_id``, ``campaign_id``, ``revision``,
    ``channel``, ``sailing_id``, ``trigger``, ``trigger_route_id``, ``decided_at``
    (``event_timestamp`` too, for Feast), ``local_hour``, ``chosen``, ``label`` (the
    chosen row's; -1 on the others), ``logged_propensity`` (the probability the policy
    had of choosing the chosen row), ``exploration``, ``score`` (the deciding model's),
    ``model_version``. Sorted by decision time, then decision id, then score.
    """
    if folded.end is None:
        return pd.DataFrame(columns=_ROW_COLUMNS)
    records: list[dict[str, Any]] = []
    for decision in folded.sent.values():
        decided = decision.decided_at
        if decided is None or decision.local_hour is None:
            continue  # written before records carried what rebuilds their candidates
        if (since is not None and decided < since) or (until is not None and decided >= until):
            continue
        if decision.decision_id not in folded.reached:
            continue
        deadline = label_deadline(decision, attribution_window)
        if deadline > folded.end:
            continue
        booked = folded.booked.get(decision.decision_id)
        label = int(booked is not None and booked <= deadline)
        for candidate in decision.candidates:
            if not candidate.eligible or candidate.revision is None:
                continue
            chosen = candidate.campaign_id == decision.campaign_id
            records.append(
                {
                    "decision_id": decision.decision_id,
                    "customer_id": decision.customer_id,
                    "campaign_id": candidate.campaign_id,
                    "revision": candidate.revision,
                    "channel": (candidate.channel or decision.channel or Channel.SMS).value,
                    "sailing_id": candidate.sailing_id or "",
                    "trigger": decision.trigger,
                    "trigger_route_id": decision.route_id or "",
                    "decided_at": decided,
                    "local_hour": decision.local_hour,
                    "chosen": chosen,
                    "label": label if chosen else -1,
                    "logged_propensity": decision.propensity if chosen else np.nan,
                    "exploration": decision.exploration,
                    "score": candidate.propensity,
                    "model_version": decision.model_version or "",
                }
            )
    if not records:
        return pd.DataFrame(columns=_ROW_COLUMNS)
    frame = pd.DataFrame.from_records(records)
    frame = frame.sort_values(
        ["decided_at", "decision_id", "score"], ascending=[True, True, False], kind="stable"
    ).reset_index(drop=True)
    frame.insert(0, ROW, np.arange(len(frame), dtype=np.int64))
    frame[EVENT_TIMESTAMP] = pd.to_datetime(frame["decided_at"], utc=True)
    return frame


_ROW_COLUMNS = [
    ROW,
    "decision_id",
    "customer_id",
    "campaign_id",
    "revision",
    "channel",
    "sailing_id",
    "trigger",
    "trigger_route_id",
    "decided_at",
    "local_hour",
    "chosen",
    "label",
    "logged_propensity",
    "exploration",
    "score",
    "model_version",
    EVENT_TIMESTAMP,
]


def join_features(
    store: FeatureStore, rows: pd.DataFrame, service_name: str = SCORING_SERVICE
) -> pd.DataFrame:
    """``rows`` with the features of the feature service ``service_name`` as Feast's
    offline log held them at each row's ``event_timestamp`` (missing where the view had no
    row for the entity by then, or only one older than the view's TTL)."""
    service = store.get_feature_service(service_name)
    joined = rows.copy()
    for view, names in service_features(service).items():
        spec = _SPEC_OF_VIEW.get(view)
        if spec is None:
            raise TrainingSetError(f"feature service {service_name} reads {view}, not a view")
        joined = joined.merge(_view_features(store, spec, view, names, rows), on=ROW, how="left")
    return joined


_SPEC_OF_VIEW = {feature_view_name(spec): spec for spec in VIEW_SPECS}


def _view_features(
    store: FeatureStore, spec: ViewSpec, view: str, names: Sequence[str], rows: pd.DataFrame
) -> pd.DataFrame:
    known = _logged_entities(offline_dir(store, spec.push_source_name), spec.join_key)
    keys = [spec.join_key, EVENT_TIMESTAMP]
    wanted = rows[rows[spec.join_key].isin(known)][[ROW, *keys]]
    if wanted.empty:
        return pd.DataFrame({ROW: pd.Series(dtype=np.int64), **{n: pd.Series() for n in names}})
    # Feast keeps one result per (entity, timestamp): ask once per pair, then fan out
    result = store.get_historical_features(
        entity_df=wanted[keys].drop_duplicates(), features=[f"{view}:{name}" for name in names]
    ).to_df()
    result[EVENT_TIMESTAMP] = pd.to_datetime(result[EVENT_TIMESTAMP], utc=True)
    values = result[[*keys, *names]].drop_duplicates(subset=keys, keep="last")
    # a pair Feast dropped (older than every row of its entity) stays missing, as it should
    return wanted.merge(values, on=keys, how="inner")[[ROW, *names]]


def _logged_entities(directory: Path, join_key: str) -> set[str]:
    """The join keys the parquet files of a view's offline log hold a row for."""
    keys: set[str] = set()
    for part in sorted(directory.glob("*.parquet")):
        keys.update(read_part(part, columns=[join_key]).column(0).to_pylist())
    return keys


@dataclass(frozen=True, slots=True)
class LoggedTrainingSet:
    """Encoded candidate rows of logged decisions, in decision-time order."""

    rows: pd.DataFrame
    """:func:`candidate_rows` joined with the features, plus ``net_value_eur``."""
    features: FeatureMatrix
    decisions: Mapping[str, OfferDecision]
    """The decision records of the rows, by decision id."""
    campaigns: Mapping[tuple[str, int], Campaign]
    """Every version of every campaign, by (campaign id, revision)."""

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def chosen(self) -> BoolArray:
        return np.asarray(self.rows["chosen"].to_numpy(), dtype=np.bool_)

    @property
    def labels(self) -> npt.NDArray[np.int8]:
        return np.asarray(self.rows["label"].to_numpy(), dtype=np.int8)

    @property
    def decided_s(self) -> FloatArray:
        """Decision time of each row, seconds since the epoch."""
        moments = pd.to_datetime(self.rows["decided_at"], utc=True)
        return np.asarray(moments.astype("int64").to_numpy() / 1e9, dtype=np.float64)

    def window(self) -> tuple[datetime, datetime]:
        """The first and last decision times."""
        moments = pd.to_datetime(self.rows["decided_at"], utc=True)
        return moments.min().to_pydatetime(), moments.max().to_pydatetime()


def encode_rows(
    joined: pd.DataFrame, campaigns: Mapping[tuple[str, int], Campaign]
) -> tuple[FeatureMatrix, FloatArray]:
    """The model's matrix of the joined rows, and each row's net value (what a
    conversion of its offer is worth, net of the offer's cost)."""
    columns = {name: _column(joined, name) for name in ONLINE_FEATURES}
    customers = CustomerColumns.from_columns(columns)
    batch = CandidateBatch()
    values = np.empty(len(joined), dtype=np.float64)
    sailing = {name: _column(joined, name) for name in _SAILING_COLUMNS}
    for k, row in enumerate(joined.itertuples(index=False)):
        campaign = campaigns.get((row.campaign_id, int(row.revision)))
        if campaign is None:
            raise TrainingSetError(
                f"decision {row.decision_id}: campaign {row.campaign_id} revision "
                f"{row.revision} is not in the campaigns topic"
            )
        fare = _number(sailing["fare_eur"][k])
        route = sailing["route_id"][k] or row.trigger_route_id or None
        decided = pd.Timestamp(row.decided_at)
        batch.add(
            k,
            campaign.offer,
            trigger=Trigger(row.trigger),
            channel=Channel(row.channel),
            request_ts=decided.timestamp(),
            local_hour=int(row.local_hour),
            route_id=route if isinstance(route, str) else None,
            departure_ts=_number(sailing["departure_ts"][k]),
            fare_eur=fare,
            load_factor_pax=_number(sailing["load_factor_pax"][k]),
        )
        values[k] = net_value(campaign, fare)
    return FeatureEncoder().encode(customers, batch.build()), values


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    if name not in frame.columns:
        return [None] * len(frame)
    return [None if _missing(v) else v for v in frame[name].tolist()]


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return bool(np.isnan(value))
    return value is pd.NaT or value is pd.NA


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, str):
        return None
    number = float(value)
    return None if np.isnan(number) else number


def logged_training_set(
    store: FeatureStore,
    events: Iterable[Event],
    *,
    attribution_window: timedelta = DEFAULT_ATTRIBUTION_WINDOW,
    since: datetime | None = None,
    until: datetime | None = None,
    service_name: str = SCORING_SERVICE,
) -> LoggedTrainingSet:
    """The training set of the logged ``events`` (see the module's notes)."""
    folded = fold_log(events)
    rows = candidate_rows(folded, attribution_window=attribution_window, since=since, until=until)
    if rows.empty:
        raise TrainingSetError(
            f"no sent decision with a known outcome in the log ({len(folded.sent)} sent "
            f"decisions, {len(folded.reached)} reached their customer, log ends "
            f"{folded.end.isoformat() if folded.end else 'never'})"
        )
    joined = join_features(store, rows, service_name).sort_values(ROW).reset_index(drop=True)
    features, values = encode_rows(joined, folded.campaigns)
    joined["net_value_eur"] = values
    used = set(joined["decision_id"])
    decisions = {d: folded.sent[d] for d in used}
    return LoggedTrainingSet(joined, features, decisions, folded.campaigns)
