"""Population stability of the model's features and score: training data against other
data (a test window, live traffic).

A *reference profile* (:func:`reference_profile`) records how the training data spread
over bins, for every column of the model's matrix and for the model's score:

- a numeric feature, and the score, over quantile bins: the cut points are the deciles of
  its training values (``bins`` quantiles in general), duplicates removed, so that a value
  many rows share (0 for ``dwell_s``) stays whole in one bin;
- a categorical feature over its category codes;

each with the share of rows missing (NaN) as one more bin. Training stores the profile,
plain JSON, in ``ModelMeta.monitoring``.

Other data are compared with it in two steps: their rows are counted per bin
(:func:`profile_counts`: a few numpy operations over all the columns of a batch at once),
and each column's population stability index (:func:`psi`) is computed from the
counts (:func:`stability`). Counts add up, so live traffic is accumulated batch by batch
and read when wanted: :class:`DriftMonitor` keeps the counts of the latest rows a decision
worker scored. :func:`compare` does both steps in one call (the report's training data
against its test window).

A PSI below 0.1 reads as stable, 0.1 to 0.25 as a moderate shift, above 0.25 as a major
shift. With ``n`` compared rows and ``k`` bins, sampling alone gives a PSI of about
``(k - 1) / n``: hence the monitor's minimum number of rows.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from models.features import FEATURES, FeatureKind

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]
BinCounts = npt.NDArray[np.int64]
"""Rows per bin: one row per profiled column, one column per bin (see :func:`profile_counts`)."""

PROFILE_FORMAT = 1
"""Version of the reference profile's JSON shape."""
DEFAULT_BINS = 10
"""Quantile bins of a numeric column: its deciles."""
PSI_EPSILON = 1e-4
"""The least share a bin counts with in :func:`psi`."""
SCORE = "score"
"""The name the model's score goes by, beside the features' names."""
CHUNK_ROWS = 16_384
"""Rows binned at once by :func:`profile_counts`."""


class DescribedFeature(Protocol):
    """What a profile needs of a feature: ``models.features.ModelFeature`` or the
    registry's ``FeatureSchema``."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> FeatureKind: ...

    @property
    def categories(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class Stability:
    """The population stability index of one column (a feature, or ``score``) over
    ``rows`` compared rows."""

    name: str
    psi: float
    rows: int


@dataclass(frozen=True, slots=True, eq=False)
class ColumnProfile:
    """How the reference rows spread over the bins of one column.

    Numeric: the value bins are ``(-inf, edges[0]]``, ``(edges[0], edges[1]]``, ...,
    ``(edges[-1], +inf)``. Categorical: value bin ``k`` holds code ``k``; a code outside
    the vocabulary counts as missing, like a value the encoder does not know. The missing
    bin (NaN) comes after the value bins."""

    name: str
    kind: FeatureKind
    edges: FloatArray
    """The cut points between value bins, increasing (none for a categorical column)."""
    shares: FloatArray
    """Share of the reference rows in each bin, the missing bin last."""

    @property
    def value_bins(self) -> int:
        return len(self.shares) - 1


class ReferenceProfile:
    """A reference profile read for counting: the features' columns in the matrix's order,
    then the score's. ``expected`` holds every column's shares in one array, zero-padded
    to ``width`` bins, the layout of :data:`BinCounts`; the numeric columns' edges are
    kept in one array too, padded with +inf (which no value is above), so that a batch is
    binned with a few operations over all its columns."""

    def __init__(self, columns: Sequence[ColumnProfile], *, rows: int, bins: int) -> None:
        if not columns or columns[-1].name != SCORE:
            raise ValueError(f"a reference profile ends with the {SCORE!r} column")
        self.columns = tuple(columns)
        self.rows = rows
        self.bins = bins
        self.width = max(len(column.shares) for column in self.columns)
        self.expected: FloatArray = np.zeros((len(self.columns), self.width))
        for j, column in enumerate(self.columns):
            self.expected[j, : len(column.shares)] = column.shares
        self.missing_bin: IndexArray = np.array([c.value_bins for c in self.columns], np.intp)
        kinds = np.array([column.kind for column in self.columns])
        self.numeric: IndexArray = np.flatnonzero(kinds == "numeric")
        self.categorical: IndexArray = np.flatnonzero(kinds == "categorical")
        numeric = [column.edges for column in self.columns if column.kind == "numeric"]
        self.edges: FloatArray = np.full((max(map(len, numeric)), len(numeric)), np.inf)
        """The numeric columns' edges: one row per edge rank, one column per column."""
        for k, edges in enumerate(numeric):
            self.edges[: len(edges), k] = edges

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns[:-1])

    def to_json(self) -> dict[str, Any]:
        """The profile as plain JSON (see :func:`reference_profile`)."""
        *features, score = (_column_json(column) for column in self.columns)
        return {
            "format": PROFILE_FORMAT,
            "rows": self.rows,
            "bins": self.bins,
            "features": features,
            "score": score,
        }

    @classmethod
    def from_json(cls, profile: Mapping[str, Any]) -> ReferenceProfile:
        """Read what :meth:`to_json` wrote; ValueError if it is not a reference profile."""
        try:
            if profile["format"] != PROFILE_FORMAT:
                raise ValueError(f"format {profile['format']!r}, expected {PROFILE_FORMAT}")
            entries = [*profile["features"], profile["score"]]
            columns = [_column_from_json(entry) for entry in entries]
            return cls(columns, rows=int(profile["rows"]), bins=int(profile["bins"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a reference profile: {exc!r}") from exc


def _column_json(column: ColumnProfile) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": column.name, "kind": column.kind}
    if column.kind == "numeric":
        entry["edges"] = column.edges.tolist()
    entry["shares"] = column.shares[:-1].tolist()
    entry["missing"] = float(column.shares[-1])
    return entry


def _column_from_json(entry: Mapping[str, Any]) -> ColumnProfile:
    name, kind = str(entry["name"]), entry["kind"]
    if kind not in ("numeric", "categorical"):
        raise ValueError(f"{name}: unknown kind {kind!r}")
    edges = np.asarray(entry.get("edges", []), dtype=np.float64)
    shares = np.asarray([*entry["shares"], entry["missing"]], dtype=np.float64)
    if edges.ndim != 1 or not np.isfinite(edges).all() or (np.diff(edges) <= 0).any():
        raise ValueError(f"{name}: edges must be finite and increasing")
    if kind == "categorical" and len(edges):
        raise ValueError(f"{name}: a categorical column has no edges")
    if kind == "numeric" and len(shares) != len(edges) + 2:
        raise ValueError(f"{name}: {len(edges)} edges need {len(edges) + 1} value shares")
    if not np.isfinite(shares).all() or (shares < 0).any():
        raise ValueError(f"{name}: shares must be finite and non-negative")
    return ColumnProfile(name, kind, edges, shares)


def as_profile(reference: ReferenceProfile | Mapping[str, Any]) -> ReferenceProfile:
    """``reference`` read, if it is still JSON."""
    if isinstance(reference, ReferenceProfile):
        return reference
    return ReferenceProfile.from_json(reference)


def reference_profile(
    matrix: npt.NDArray[np.floating[Any]],
    scores: npt.NDArray[np.floating[Any]],
    features: Sequence[DescribedFeature] = FEATURES,
    bins: int = DEFAULT_BINS,
) -> dict[str, Any]:
    """How the rows of ``matrix`` (one column per feature of ``features``, in order) and
    their ``scores`` spread, as plain JSON for ``ModelMeta.monitoring``::

        {"format": 1, "rows": 16000, "bins": 10,
         "features": [
           {"name": "dwell_s", "kind": "numeric",
            "edges": [0.0, 240.0, ...], "shares": [0.62, 0.04, ...], "missing": 0.0},
           {"name": "channel", "kind": "categorical",
            "shares": [0.25, 0.25, 0.25, 0.25], "missing": 0.0},
           ...],
         "score": {"name": "score", "kind": "numeric", "edges": [...], "shares": [...],
                   "missing": 0.0}}

    ``edges`` are the cut points between a numeric column's value bins: the ``bins``
    quantiles of its finite values that are data values (``inverted_cdf``), duplicates
    removed; the outer bins reach to -inf and +inf, which are implied, so the JSON holds
    finite numbers only. ``shares`` are the shares of rows per value bin (a categorical
    column: per code of its categories) and ``missing`` the share of NaN. The same data
    give the same profile."""
    if matrix.ndim != 2 or matrix.shape[1] != len(features):
        raise ValueError(f"expected a matrix of {len(features)} columns, got {matrix.shape}")
    if scores.shape != (len(matrix),):
        raise ValueError(f"expected {len(matrix)} scores, got shape {scores.shape}")
    if len(matrix) == 0:
        raise ValueError("a reference profile needs rows")
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    bin_edges = [
        _bin_edges(feature.kind, matrix[:, j], bins, len(feature.categories))
        for j, feature in enumerate(features)
    ]
    bin_edges.append(_bin_edges("numeric", scores, bins, 0))
    names = [*(feature.name for feature in features), SCORE]
    kinds = [*(feature.kind for feature in features), "numeric"]
    unknown_shares = [
        ColumnProfile(name, kind, edges, np.zeros(value_bins + 1))
        for name, kind, (edges, value_bins) in zip(names, kinds, bin_edges, strict=True)
    ]
    bins_only = ReferenceProfile(unknown_shares, rows=len(matrix), bins=bins)
    counts = profile_counts(bins_only, matrix, scores)
    columns = [
        ColumnProfile(c.name, c.kind, c.edges, counts[j, : len(c.shares)] / len(matrix))
        for j, c in enumerate(unknown_shares)
    ]
    return ReferenceProfile(columns, rows=len(matrix), bins=bins).to_json()


def _bin_edges(
    kind: FeatureKind, values: npt.NDArray[np.floating[Any]], bins: int, categories: int
) -> tuple[FloatArray, int]:
    """The edges of a column's value bins and how many value bins there are."""
    values64 = values.astype(np.float64)
    if kind == "categorical":
        seen = int(np.nanmax(values64, initial=-1)) + 1  # when no vocabulary is given
        return np.empty(0), categories or seen
    finite = values64[np.isfinite(values64)]
    if len(finite) == 0:
        return np.empty(0), 1
    quantiles = np.arange(1, bins) / bins
    edges = np.unique(np.quantile(finite, quantiles, method="inverted_cdf"))
    return edges, len(edges) + 1


def profile_counts(
    reference: ReferenceProfile | Mapping[str, Any],
    matrix: npt.NDArray[np.floating[Any]],
    scores: npt.NDArray[np.floating[Any]],
) -> BinCounts:
    """The rows of ``matrix`` and their ``scores`` counted in the bins of ``reference``.

    One row per column of the profile (the features in the matrix's order, then the
    score), one column per bin: a column's value bins, then its missing bin, then zeros up
    to the widest column's bins. Counts of several batches add up. Vectorised over the
    whole matrix, in chunks of :data:`CHUNK_ROWS` rows to bound the memory it takes."""
    profile = as_profile(reference)
    features = len(profile.columns) - 1
    if matrix.ndim != 2 or matrix.shape[1] != features:
        raise ValueError(f"expected a matrix of {features} columns, got {matrix.shape}")
    if scores.shape != (len(matrix),):
        raise ValueError(f"expected {len(matrix)} scores, got shape {scores.shape}")
    counts = np.zeros(profile.expected.shape, dtype=np.int64)
    for start in range(0, len(matrix), CHUNK_ROWS):
        chunk = slice(start, start + CHUNK_ROWS)
        counts += _chunk_counts(profile, np.column_stack([matrix[chunk], scores[chunk]]))
    return counts


def _chunk_counts(profile: ReferenceProfile, values: FloatArray) -> BinCounts:
    """:func:`profile_counts` of ``values``: one column per column of the profile."""
    index = np.empty(values.shape, dtype=np.intp)
    # a numeric value's bin is the number of its column's edges it is above (bins closed
    # on the right): compared with every edge rank at once, shape (edges, rows, columns)
    above = values[:, profile.numeric] > profile.edges[:, np.newaxis, :]
    index[:, profile.numeric] = above.sum(axis=0)
    codes = values[:, profile.categorical]
    vocabulary = profile.missing_bin[profile.categorical]
    known = (codes >= 0) & (codes < vocabulary)  # False for NaN
    index[:, profile.categorical] = np.where(known, codes, vocabulary)
    index = np.where(np.isnan(values), profile.missing_bin, index)
    index += np.arange(len(profile.columns)) * profile.width  # each column its own bins
    cells = len(profile.columns) * profile.width
    return np.bincount(index.ravel(), minlength=cells).reshape(-1, profile.width)


def psi(
    expected_shares: npt.ArrayLike, actual_shares: npt.ArrayLike, epsilon: float = PSI_EPSILON
) -> float:
    """The population stability index ``sum((a - e) * ln(a / e))`` of the shares of rows
    per bin ``e`` (the reference) and ``a`` (the compared data), over the same bins.

    A share is floored at ``epsilon`` first: a bin empty on one side would make the index
    infinite, while floored it adds a bounded amount (a bin of 10 % that the reference
    never had adds 0.1 * ln(0.1 / 1e-4), about 0.69, already a major shift). A bin empty
    on both sides adds nothing. The floored shares are not renormalised."""
    expected = np.asarray(expected_shares, dtype=np.float64)
    actual = np.asarray(actual_shares, dtype=np.float64)
    if expected.ndim != 1 or expected.shape != actual.shape:
        raise ValueError(f"shares of other shapes: {expected.shape} and {actual.shape}")
    return float(_psi(expected, actual, epsilon))


def _psi(expected: FloatArray, actual: FloatArray, epsilon: float) -> FloatArray:
    """:func:`psi` along the last axis."""
    e = np.maximum(expected, epsilon)
    a = np.maximum(actual, epsilon)
    result: FloatArray = np.sum((a - e) * np.log(a / e), axis=-1)
    return result


def stability(
    reference: ReferenceProfile | Mapping[str, Any],
    counts: BinCounts,
    epsilon: float = PSI_EPSILON,
) -> list[Stability]:
    """The PSI of every feature, then of ``score``, between ``reference`` and the rows
    counted in ``counts`` (:func:`profile_counts`); empty if no rows were counted."""
    profile = as_profile(reference)
    if counts.shape != profile.expected.shape:
        raise ValueError(f"expected counts of shape {profile.expected.shape}, got {counts.shape}")
    rows = int(counts[0].sum())  # every column counts every row once
    if rows == 0:
        return []
    values = _psi(profile.expected, counts / rows, epsilon)
    return [
        Stability(column.name, float(value), rows)
        for column, value in zip(profile.columns, values, strict=True)
    ]


def compare(
    reference: ReferenceProfile | Mapping[str, Any],
    matrix: npt.NDArray[np.floating[Any]],
    scores: npt.NDArray[np.floating[Any]],
) -> list[Stability]:
    """The PSI of every feature and of ``score`` between ``reference`` and these rows."""
    profile = as_profile(reference)
    return stability(profile, profile_counts(profile, matrix, scores))


@dataclass(frozen=True, slots=True)
class DriftWindow:
    """How much recent traffic a :class:`DriftMonitor` compares with its reference."""

    rows: int = 20_000
    """About how many of the latest rows the window holds."""
    buckets: int = 10
    """Into how many buckets of ``rows / buckets`` rows the window is cut."""
    min_rows: int = 1_000
    """Below this many rows in the window there is no PSI: sampling noise would dominate."""

    def __post_init__(self) -> None:
        if self.buckets < 2 or self.rows < self.buckets:
            raise ValueError(f"need 2 <= buckets <= rows, got {self.buckets} and {self.rows}")
        if not 1 <= self.min_rows <= self.rows - self.rows // self.buckets:
            raise ValueError(
                f"min_rows must be between 1 and {self.rows - self.rows // self.buckets} "
                "(the rows of a full window less its oldest bucket)"
            )


class DriftMonitor:
    """The counts of the latest rows scored, compared with a reference on demand.

    The window is cut into buckets of about ``window.rows / window.buckets`` rows: a batch
    is counted into the newest bucket, and when that bucket is full it is closed and a new
    one started, the oldest closed bucket being dropped. Once ``window.rows`` rows were seen,
    the window holds at least ``(buckets - 1) / buckets`` of ``window.rows`` and at most
    ``window.rows`` (a bucket closes on the batch that fills it, so each may hold part of
    a batch more), whatever the size of the batches, and memory stays at ``buckets``
    arrays of counts. A window of the last N micro-batches would hold few rows at night
    and many at peak, as micro-batches shrink with traffic; exponentially decayed counts
    would never drop old rows entirely.

    :meth:`observe` is called from the thread that scores, :meth:`stability` from another:
    the counts are guarded by a lock."""

    def __init__(
        self,
        reference: ReferenceProfile | Mapping[str, Any],
        window: DriftWindow | None = None,
        *,
        version: str | None = None,
    ) -> None:
        """``version``: the model whose reference this is, for whoever shows the PSI."""
        self.reference = as_profile(reference)
        self.window = window or DriftWindow()
        self.version = version
        self._bucket_rows = math.ceil(self.window.rows / self.window.buckets)
        self._closed: deque[BinCounts] = deque(maxlen=self.window.buckets - 1)
        self._newest = self._empty()
        self._newest_rows = 0
        self._lock = threading.Lock()

    def _empty(self) -> BinCounts:
        return np.zeros(self.reference.expected.shape, dtype=np.int64)

    def observe(
        self, matrix: npt.NDArray[np.floating[Any]], scores: npt.NDArray[np.floating[Any]]
    ) -> None:
        """Count a batch of rows of the model's matrix and their scores."""
        if len(matrix) == 0:
            return
        counts = profile_counts(self.reference, matrix, scores)
        with self._lock:
            self._newest += counts
            self._newest_rows += len(matrix)
            if self._newest_rows >= self._bucket_rows:
                self._closed.append(self._newest)  # drops the oldest when full
                self._newest, self._newest_rows = self._empty(), 0

    def counts(self) -> BinCounts:
        """The counts of the rows in the window."""
        with self._lock:
            return self._newest + sum(self._closed, self._empty())

    @property
    def rows(self) -> int:
        """The rows in the window."""
        return int(self.counts()[0].sum())

    def stability(self) -> list[Stability]:
        """The PSI of every feature and of ``score`` over the window; empty while it holds
        fewer than ``window.min_rows`` rows."""
        counts = self.counts()
        if counts[0].sum() < self.window.min_rows:
            return []
        return stability(self.reference, counts)
