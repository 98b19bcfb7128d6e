"""Confidence intervals for the campaign reports: plain functions over counts and sums.

- one proportion: Wilson's score interval (Newcombe 1998a, method 3, no continuity
  correction);
- a difference of two independent proportions: Newcombe's hybrid score interval
  (Newcombe 1998b, method 10), built from the two Wilson intervals; unlike the Wald
  interval it stays within [-1, 1] and behaves at 0 % and 100 %;
- a difference of two means: the normal approximation with unpooled sample variances
  (Welch's standard error, with the normal quantile), from each group's count, sum and
  sum of squares.

The normal quantile comes from :class:`statistics.NormalDist`, so no SciPy is needed.
"""

from __future__ import annotations

from math import isfinite, sqrt
from statistics import NormalDist

from pydantic import BaseModel, ConfigDict, Field, model_validator

from offers.errors import OffersError

DEFAULT_CONFIDENCE = 0.95


class ReportError(OffersError, ValueError):
    """A report was asked for with impossible inputs (negative counts, a bad confidence)."""


class Estimate(BaseModel):
    """A point estimate with the bounds of its confidence interval."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float = Field(allow_inf_nan=False)
    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> Estimate:
        if not self.low <= self.value <= self.high:
            raise ValueError(
                f"low <= value <= high does not hold: {self.low}, {self.value}, {self.high}"
            )
        return self

    def scaled(self, factor: float) -> Estimate:
        """The same estimate times a non-negative ``factor`` (a count of customers)."""
        if factor < 0:
            raise ReportError(f"factor: must be >= 0, got {factor}")
        return Estimate(value=self.value * factor, low=self.low * factor, high=self.high * factor)


def z_for(confidence: float) -> float:
    """The two-sided standard normal quantile: 1.959964 for a confidence of 0.95."""
    if not (isfinite(confidence) and 0.0 < confidence < 1.0):
        raise ReportError(f"confidence: must lie strictly between 0 and 1, got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(
    successes: int, trials: int, confidence: float = DEFAULT_CONFIDENCE
) -> Estimate:
    """Wilson's score interval for ``successes / trials`` (needs at least one trial).

    With ``p = x / n`` and ``z`` the normal quantile, the bounds are
    ``(2x + z² ∓ z √(z² + 4x(1 - p))) / (2(n + z²))``; they always lie within [0, 1].
    """
    _check_proportion(successes, trials)
    z = z_for(confidence)
    z2 = z * z
    p = successes / trials
    centre = (2.0 * successes + z2) / (2.0 * (trials + z2))
    half_width = z * sqrt(z2 + 4.0 * successes * (1.0 - p)) / (2.0 * (trials + z2))
    low = max(0.0, min(p, centre - half_width))
    high = min(1.0, max(p, centre + half_width))
    return Estimate(value=p, low=low, high=high)


def newcombe_difference(
    successes_1: int,
    trials_1: int,
    successes_2: int,
    trials_2: int,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Estimate:
    """Newcombe's hybrid score interval for ``p1 - p2`` of two independent groups.

    With Wilson intervals ``(l1, u1)`` and ``(l2, u2)`` and ``D = p1 - p2``, the bounds are
    ``D - √((p1 - l1)² + (u2 - p2)²)`` and ``D + √((u1 - p1)² + (p2 - l2)²)``.
    """
    first = wilson_interval(successes_1, trials_1, confidence)
    second = wilson_interval(successes_2, trials_2, confidence)
    difference = first.value - second.value
    below = sqrt((first.value - first.low) ** 2 + (second.high - second.value) ** 2)
    above = sqrt((first.high - first.value) ** 2 + (second.value - second.low) ** 2)
    low = max(-1.0, min(difference, difference - below))
    high = min(1.0, max(difference, difference + above))
    return Estimate(value=difference, low=low, high=high)


def difference_of_means(
    total_1: float,
    total_sq_1: float,
    count_1: int,
    total_2: float,
    total_sq_2: float,
    count_2: int,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Estimate:
    """The normal-approximation interval for ``mean1 - mean2`` from sums and sums of squares.

    Each group's sample variance is ``(Σx² - (Σx)²/n) / (n - 1)``; the standard error is
    ``√(s1²/n1 + s2²/n2)`` (unpooled) and the bounds are the difference ∓ ``z`` standard
    errors. Each group needs at least two observations.
    """
    z = z_for(confidence)
    mean_1, variance_1 = _mean_and_variance(total_1, total_sq_1, count_1)
    mean_2, variance_2 = _mean_and_variance(total_2, total_sq_2, count_2)
    difference = mean_1 - mean_2
    half_width = z * sqrt(variance_1 / count_1 + variance_2 / count_2)
    return Estimate(value=difference, low=difference - half_width, high=difference + half_width)


def _mean_and_variance(total: float, total_sq: float, count: int) -> tuple[float, float]:
    if count < 2:
        raise ReportError(f"count: a variance needs at least 2 observations, got {count}")
    if not (isfinite(total) and isfinite(total_sq)) or total_sq < 0:
        raise ReportError(
            f"sums: must be finite with a non-negative sum of squares, got {total}, {total_sq}"
        )
    mean = total / count
    # Rounding can take a zero variance slightly below zero.
    variance = max(0.0, (total_sq - total * total / count) / (count - 1))
    return mean, variance


def _check_proportion(successes: int, trials: int) -> None:
    if trials < 1:
        raise ReportError(f"trials: a proportion needs at least 1 trial, got {trials}")
    if not 0 <= successes <= trials:
        raise ReportError(f"successes: must lie between 0 and {trials}, got {successes}")
