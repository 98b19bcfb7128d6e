"""The inputs of the feature encoder: customers' online features and candidates.

:class:`CustomerColumns` holds the online features of customers as the Feast views store
them (names of ``features.fields``), one row per customer, numbers only: built from the
columns :meth:`features.online.OnlineReader.read` returns, or from one dict per customer.
:class:`Candidates` holds the request-time inputs of candidate offers as numpy columns,
each pointing at its customer's row, so that a customer's features are converted once
however many offers are scored for them; :class:`CandidateBatch` collects candidates one
at a time without building an object per candidate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from models.errors import FeatureMismatchError
from models.vocabulary import (
    CHANNEL_CODES,
    LANGUAGE_CODES,
    OFFER_KIND_CODES,
    ROUTE_CODES,
    ROUTES,
    TRIGGER_CODES,
    UNKNOWN,
)
from offers.campaigns.offer import Offer
from offers.campaigns.targeting import Trigger
from offers.contracts.events import Channel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ONLINE_VIEW_FEATURES: dict[str, tuple[str, ...]] = {
    "customer_location_fv": (
        "last_lat",
        "last_lon",
        "last_ping_ts",
        "nearest_port_km",
        "dwell_s",
        "speed_mps",
        "pings_1h",
    ),
    "customer_social_fv": ("sentiment_7d", "posts_7d", "brand_mentions_7d", "language"),
    "customer_booking_fv": (
        "searches_24h",
        "quotes_24h",
        "abandoned_quotes_24h",
        "last_booking_ts",
        "bookings_total",
        "spend_total_eur",
        "cancellations_total",
        "routes_24h",
        "route_counts_24h",
    ),
}
"""The online features the model reads, by feature view: ``OnlineReader(features=...)``."""

ONLINE_FEATURES: tuple[str, ...] = tuple(
    n for names in ONLINE_VIEW_FEATURES.values() for n in names
)
_ROUTE_INPUTS = ("routes_24h", "route_counts_24h")
CUSTOMER_INPUTS: tuple[str, ...] = tuple(n for n in ONLINE_FEATURES if n not in _ROUTE_INPUTS)
"""The online features kept as one number each (``language`` as its code), in the column
order of :attr:`CustomerColumns.values`."""
CUSTOMER_COLUMN: dict[str, int] = {name: j for j, name in enumerate(CUSTOMER_INPUTS)}


@dataclass(frozen=True, slots=True)
class CustomerColumns:
    """Online features of customers: row ``i`` of both matrices is customer ``i``.

    ``values`` has one column per name of :data:`CUSTOMER_INPUTS` (NaN where missing);
    ``route_counts`` one column per route code: the searches + quotes of the 24-hour
    window (``routes_24h`` with ``route_counts_24h``), NaN without a booking row.
    """

    values: FloatArray
    route_counts: FloatArray

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or self.values.shape[1] != len(CUSTOMER_INPUTS):
            raise FeatureMismatchError(
                f"values must have shape (customers, {len(CUSTOMER_INPUTS)}), "
                f"got {self.values.shape}"
            )
        if self.route_counts.shape != (len(self.values), len(ROUTES)):
            raise FeatureMismatchError(
                f"route_counts must have shape ({len(self.values)}, {len(ROUTES)}), "
                f"got {self.route_counts.shape}"
            )

    def __len__(self) -> int:
        return len(self.values)

    @classmethod
    def from_columns(cls, columns: Mapping[str, Sequence[Any]]) -> CustomerColumns:
        """From feature name -> one value per customer (what ``OnlineReader.read``
        returns); every name of :data:`ONLINE_FEATURES` must be there, ``None`` (or NaN)
        marks a missing value."""
        absent = [name for name in ONLINE_FEATURES if name not in columns]
        if absent:
            raise FeatureMismatchError(
                f"the online features lack {', '.join(absent)}; read them with "
                "OnlineReader(features=models.inputs.ONLINE_VIEW_FEATURES)"
            )
        count = len(columns[ONLINE_FEATURES[0]])
        values = np.empty((count, len(CUSTOMER_INPUTS)), dtype=np.float64)
        for name in ONLINE_FEATURES:
            if len(columns[name]) != count:
                raise FeatureMismatchError(
                    f"{name} has {len(columns[name])} values, {ONLINE_FEATURES[0]} {count}"
                )
        for name, j in CUSTOMER_COLUMN.items():
            if name == "language":
                values[:, j] = np.fromiter(
                    (LANGUAGE_CODES.get(v, np.nan) if v else np.nan for v in columns[name]),
                    dtype=np.float64,
                    count=count,
                )
            else:
                values[:, j] = np.asarray(columns[name], dtype=np.float64)  # None: NaN
        routes = _route_counts(columns["routes_24h"], columns["route_counts_24h"], count)
        return cls(values, routes)

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any] | None]) -> CustomerColumns:
        """From one dict of online features per customer (``None``: no features at all);
        a dict holds every name of :data:`ONLINE_FEATURES`."""
        for row in rows:
            if row is not None and any(name not in row for name in ONLINE_FEATURES):
                absent = ", ".join(name for name in ONLINE_FEATURES if name not in row)
                raise FeatureMismatchError(f"a customer's online features lack {absent}")
        return cls.from_columns(
            {name: [None if row is None else row[name] for row in rows] for name in ONLINE_FEATURES}
        )


def _route_counts(
    routes: Sequence[Sequence[str] | None], counts: Sequence[Sequence[int] | None], size: int
) -> FloatArray:
    matrix = np.zeros((size, len(ROUTES)), dtype=np.float64)
    for i, (names, numbers) in enumerate(zip(routes, counts, strict=True)):
        if names is None or numbers is None:
            matrix[i] = np.nan
            continue
        if len(names) != len(numbers):
            raise FeatureMismatchError(
                f"customer row {i}: {len(names)} routes_24h but {len(numbers)} route_counts_24h"
            )
        for name, number in zip(names, numbers, strict=True):
            code = ROUTE_CODES.get(name)
            if code is not None:
                matrix[i, code] += number
    return matrix


@dataclass(frozen=True, slots=True)
class Candidates:
    """Request-time inputs of candidate offers: entry ``k`` of every array is candidate
    ``k``. Codes index the vocabularies of ``models.vocabulary`` (``UNKNOWN``, -1, when
    unknown); NaN marks an unknown number."""

    customer: IntArray
    """Row of the candidate's customer in the :class:`CustomerColumns` it is encoded with."""
    request_ts: FloatArray
    """When the offer is considered, seconds since the epoch."""
    trigger: IntArray
    channel: IntArray
    local_hour: FloatArray
    """Hour of the day (0-23) where the customer is."""
    route: IntArray
    departure_ts: FloatArray
    """Departure of the offered sailing, seconds since the epoch."""
    fare_eur: FloatArray
    load_factor_pax: FloatArray
    offer_kind: IntArray
    offer_percent: FloatArray
    offer_amount_eur: FloatArray
    offer_cost_eur: FloatArray

    def __post_init__(self) -> None:
        size = len(self.customer)
        for field in fields(self):
            column = getattr(self, field.name)
            if column.ndim != 1 or len(column) != size:
                raise FeatureMismatchError(
                    f"candidate column {field.name} has shape {column.shape}, expected ({size},)"
                )

    def __len__(self) -> int:
        return len(self.customer)

    def take(self, index: IntArray | Sequence[int] | slice) -> Candidates:
        """The candidates at ``index``, pointing at the same customer rows."""
        return Candidates(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


class CandidateBatch:
    """Collects candidates one at a time into columns; :meth:`build` makes the arrays."""

    def __init__(self) -> None:
        self._columns: dict[str, list[float]] = {f.name: [] for f in fields(Candidates)}

    def __len__(self) -> int:
        return len(self._columns["customer"])

    def add(
        self,
        customer: int,
        offer: Offer,
        *,
        trigger: Trigger,
        channel: Channel,
        request_ts: float,
        local_hour: int,
        route_id: str | None,
        departure_ts: float | None,
        fare_eur: float | None,
        load_factor_pax: float | None,
    ) -> None:
        """``offer`` for the customer at row ``customer``, on the sailing of ``route_id``
        departing at ``departure_ts``, at its current fare and load (None: unknown)."""
        nan = np.nan
        c = self._columns
        c["customer"].append(customer)
        c["request_ts"].append(request_ts)
        c["trigger"].append(TRIGGER_CODES[trigger])
        c["channel"].append(CHANNEL_CODES[channel])
        c["local_hour"].append(local_hour)
        c["route"].append(ROUTE_CODES.get(route_id, UNKNOWN) if route_id else UNKNOWN)
        c["departure_ts"].append(nan if departure_ts is None else departure_ts)
        c["fare_eur"].append(nan if fare_eur is None else fare_eur)
        c["load_factor_pax"].append(nan if load_factor_pax is None else load_factor_pax)
        c["offer_kind"].append(OFFER_KIND_CODES[offer.kind])
        c["offer_percent"].append(nan if offer.percent is None else offer.percent)
        c["offer_amount_eur"].append(nan if offer.amount_eur is None else offer.amount_eur)
        c["offer_cost_eur"].append(offer.cost_eur)

    def build(self) -> Candidates:
        """The candidates collected so far, as numpy columns."""
        c = self._columns

        def ints(name: str) -> IntArray:
            return np.asarray(c[name], dtype=np.int64)

        def floats(name: str) -> FloatArray:
            return np.asarray(c[name], dtype=np.float64)

        return Candidates(
            customer=ints("customer"),
            request_ts=floats("request_ts"),
            trigger=ints("trigger"),
            channel=ints("channel"),
            local_hour=floats("local_hour"),
            route=ints("route"),
            departure_ts=floats("departure_ts"),
            fare_eur=floats("fare_eur"),
            load_factor_pax=floats("load_factor_pax"),
            offer_kind=ints("offer_kind"),
            offer_percent=floats("offer_percent"),
            offer_amount_eur=floats("offer_amount_eur"),
            offer_cost_eur=floats("offer_cost_eur"),
        )
