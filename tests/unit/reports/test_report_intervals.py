"""The confidence intervals against published values and hand computations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offers.reports import (
    Estimate,
    ReportError,
    difference_of_means,
    newcombe_difference,
    wilson_interval,
    z_for,
)

# Newcombe RG (1998a), "Two-sided confidence intervals for the single proportion:
# comparison of seven methods", Stat Med 17:857-872, Table I, method 3 (score, no
# continuity correction), 95 %.
WILSON_PUBLISHED = [
    ((81, 263), (0.2553, 0.3662)),
    ((15, 148), (0.0624, 0.1605)),
    ((0, 20), (0.0000, 0.1611)),
    ((1, 29), (0.0061, 0.1718)),
]

# Newcombe RG (1998b), "Interval estimation for the difference between independent
# proportions: comparison of eleven methods", Stat Med 17:873-890, Table II, examples
# (a) to (h), method 10 (hybrid score, no continuity correction), 95 %.
NEWCOMBE_PUBLISHED = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


def rounded(estimate: Estimate) -> tuple[float, float]:
    return round(estimate.low, 4), round(estimate.high, 4)


def test_z_for_95_percent() -> None:
    assert z_for(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert z_for(0.90) == pytest.approx(1.644854, abs=1e-6)


@pytest.mark.parametrize(("counts", "published"), WILSON_PUBLISHED)
def test_wilson_matches_newcombe_1998a_table_i(
    counts: tuple[int, int], published: tuple[float, float]
) -> None:
    """81/263 is the worked example of Newcombe (1998a): 0.3080, 95 % CI 0.2553 to 0.3662."""
    got = wilson_interval(*counts)
    assert got.value == counts[0] / counts[1]
    assert rounded(got) == published


@pytest.mark.parametrize(("counts", "published"), NEWCOMBE_PUBLISHED)
def test_newcombe_matches_newcombe_1998b_table_ii(
    counts: tuple[int, int, int, int], published: tuple[float, float]
) -> None:
    """Example (a), 56/70 - 48/80: difference 0.2000, 95 % CI 0.0524 to 0.3339 (method 10)."""
    got = newcombe_difference(*counts)
    assert got.value == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
    assert rounded(got) == published


def test_newcombe_is_the_square_and_add_of_the_wilson_limits() -> None:
    """Method 10 spelt out for example (a), from the two Wilson intervals."""
    p1, p2 = wilson_interval(56, 70), wilson_interval(48, 80)
    got = newcombe_difference(56, 70, 48, 80)
    assert got.value == pytest.approx(0.2)
    assert got.low == pytest.approx(
        0.2 - ((p1.value - p1.low) ** 2 + (p2.high - p2.value) ** 2) ** 0.5
    )
    assert got.high == pytest.approx(
        0.2 + ((p1.high - p1.value) ** 2 + (p2.value - p2.low) ** 2) ** 0.5
    )


def test_difference_of_means_by_hand() -> None:
    """Revenues 100, 0, 50, 0 (treated) against 30, 0, 0 (control).

    Means 37.5 and 10, difference 27.5. Sample variances (Σx² - (Σx)²/n) / (n - 1):
    (12500 - 150²/4) / 3 = 6875/3 = 2291.667 and (900 - 30²/3) / 2 = 300. Standard error
    √(2291.667/4 + 300/3) = √672.917 = 25.9406; × 1.959964 = 50.8427, so the 95 % interval
    is 27.5 ∓ 50.8427 = (-23.3427, 78.3427).
    """
    got = difference_of_means(150.0, 12_500.0, 4, 30.0, 900.0, 3)
    assert got.value == pytest.approx(27.5)
    assert (round(got.low, 4), round(got.high, 4)) == (-23.3427, 78.3427)


def test_difference_of_means_of_constant_groups_has_no_width() -> None:
    got = difference_of_means(3 * 10.0, 3 * 100.0, 3, 0.0, 0.0, 2)
    assert (got.value, got.low, got.high) == (10.0, 10.0, 10.0)


def test_a_wider_confidence_gives_a_wider_interval() -> None:
    narrow, wide = (
        newcombe_difference(30, 100, 20, 100, 0.90),
        newcombe_difference(30, 100, 20, 100, 0.99),
    )
    assert wide.low < narrow.low < narrow.value < narrow.high < wide.high


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: z_for(1.0), "confidence"),
        (lambda: z_for(0.0), "confidence"),
        (lambda: z_for(float("nan")), "confidence"),
        (lambda: wilson_interval(0, 0), "trials"),
        (lambda: wilson_interval(5, 3), "successes"),
        (lambda: wilson_interval(-1, 3), "successes"),
        (lambda: newcombe_difference(1, 10, 0, 0), "trials"),
        (lambda: difference_of_means(1.0, 1.0, 1, 0.0, 0.0, 5), "count"),
        (lambda: difference_of_means(1.0, -1.0, 3, 0.0, 0.0, 5), "sums"),
        (lambda: Estimate(value=1.0, low=0.0, high=2.0).scaled(-1), "factor"),
    ],
)
def test_impossible_inputs_are_report_errors(call: object, fragment: str) -> None:
    assert callable(call)
    with pytest.raises(ReportError, match=fragment):
        call()


@given(
    st.integers(1, 2_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_wilson_stays_in_zero_one_around_the_estimate(
    counts: tuple[int, int], confidence: float
) -> None:
    got = wilson_interval(*counts, confidence)
    assert 0.0 <= got.low <= got.value <= got.high <= 1.0


proportions = st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@given(proportions, proportions)
def test_newcombe_stays_in_minus_one_one_around_the_difference(
    first: tuple[int, int], second: tuple[int, int]
) -> None:
    got = newcombe_difference(*first, *second)
    assert -1.0 <= got.low <= got.value <= got.high <= 1.0
    mirrored = newcombe_difference(*second, *first)
    assert mirrored.low == pytest.approx(-got.high)
    assert mirrored.high == pytest.approx(-got.low)
