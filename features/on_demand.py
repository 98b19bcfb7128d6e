"""The on-demand feature view ``offer_context_odfv``: features of a candidate offer,
computed at read time from the request (see ``fields.OFFER_REQUEST``) and from the
customer's location and the sailing's state.

Distances use a vectorised haversine on the mean Earth radius; for the network's port
pairs it agrees with geopy's WGS-84 geodesic within 0.5 % (tested), at a fraction of
its cost per row.
"""

from __future__ import annotations

import inspect
from types import FunctionType
from typing import cast

import pandas as pd
from feast import Field, OnDemandFeatureView

from features.feast_types import feast_type
from features.fields import REQUEST_TIME
from features.sources import offer_request_source
from features.views import FeatureViews


def offer_context(inputs: pd.DataFrame) -> pd.DataFrame:
    """The REQUEST_TIME features of each row: distance from the customer's last position
    to the departure port, hours from the request to the departure, discount / fare.

    ``inputs`` is Feast's frame, or any mapping of column names to sequences (the
    engine's online reads pass lists). The arithmetic is on numpy arrays: on pandas
    Series it cost over a millisecond per batch in index alignment alone.

    Self-contained (imports and constants inside): Feast rebuilds the function from its
    source text when it reads the registry, without this module's globals.
    """
    import numpy as np
    import pandas as pd

    mean_earth_radius_km = 6371.0088

    def numbers(column: str) -> np.ndarray:
        # missing values (None from the online store) become NaN
        values = inputs[column]
        if isinstance(values, pd.Series):
            values = values.to_numpy()
        return np.asarray(pd.to_numeric(values, errors="coerce"), dtype="float64")

    lat1, lat2 = np.radians(numbers("last_lat")), np.radians(numbers("offer_port_lat"))
    dlon = np.radians(numbers("offer_port_lon") - numbers("last_lon"))
    half = np.sin((lat2 - lat1) / 2.0) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2.0) ** 2
    fare = numbers("fare_eur")
    return pd.DataFrame(
        {
            "distance_to_departure_km": 2.0
            * mean_earth_radius_km
            * np.arcsin(np.sqrt(np.clip(half, 0.0, 1.0))),
            "hours_to_departure": (numbers("offer_departure_ts") - numbers("request_ts")) / 3600.0,
            "discount_ratio": numbers("offer_discount_eur") / np.where(fare > 0.0, fare, np.nan),
        },
        index=getattr(inputs, "index", None),
    )


def offer_context_odfv(views: FeatureViews) -> OnDemandFeatureView:
    """``offer_context_odfv``: :func:`offer_context` over the request, location and sailing.

    Built with the class rather than Feast's decorator, which rewrites the function's
    ``__module__`` to ``__main__`` (so a second build fails to find its source).
    """
    return OnDemandFeatureView(
        name="offer_context_odfv",
        sources=[offer_request_source, views.customer_location_fv, views.sailing_state_fv],
        # no descriptions: Feast compares the declared schema with the one it infers from
        # a sample run of the function, and inferred fields carry none
        schema=[Field(name=f.name, dtype=feast_type(f.type)) for f in REQUEST_TIME],
        mode="pandas",
        udf=cast(FunctionType, offer_context),
        udf_string=inspect.getsource(offer_context),
        description="Features of a candidate offer, computed at read time.",
    )
