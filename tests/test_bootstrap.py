"""The bootstrap intervals against values computed independently: by hand, and by enumerating
every one of the n^n equally likely resamples of a few seeds."""

import itertools
import math

import numpy as np
import pytest

from dprl import bootstrap


def test_iqm_drops_a_quarter_at_each_end_as_scipy_trim_mean():
    assert bootstrap.iqm([5, 1, 4, 2, 3]) == pytest.approx(3.0)  # int(5/4) = 1 off each end: mean of 2, 3, 4
    assert bootstrap.iqm([1, 2, 3, 4, 100, 8, 7, 6]) == pytest.approx(5.0)  # 2 off each end: mean of 3, 4, 6, 7
    assert bootstrap.iqm([7.0, 9.0]) == pytest.approx(8.0)  # nothing to drop


def test_probability_of_improvement_counts_ties_as_half():
    # pairs: 1 beats 0; each 2 beats 0 and ties twice; 3 beats all three: (5 + 2 / 2) / 9
    assert bootstrap.probability_of_improvement([1, 2, 3], [2, 2, 0]) == pytest.approx(6 / 9)
    assert bootstrap.probability_of_improvement([5, 6], [1, 2, 3]) == 1.0
    assert bootstrap.probability_of_improvement([1], [1]) == 0.5


def exact_quantiles(values, function, confidence=0.95):
    """The percentile interval of the exact bootstrap distribution, by enumeration."""
    n = len(values)
    estimates = np.sort([function(np.asarray(values, dtype=float)[list(i)]) for i in itertools.product(range(n), repeat=n)])
    alpha = (1 - confidence) / 2
    return np.quantile(estimates, alpha, method="lower"), np.quantile(estimates, 1 - alpha, method="higher"), estimates


@pytest.mark.parametrize("aggregate", ["median", "iqm", "mean"])
def test_interval_matches_the_exact_bootstrap_distribution(aggregate):
    values = [-150.2, -142.8, -171.0, -145.5]
    function = {"median": np.median, "iqm": lambda x: np.sort(x)[1:3].mean(), "mean": np.mean}[aggregate]
    low, high, estimates = exact_quantiles(values, function)
    got = bootstrap.interval(values, aggregate, reps=40_000)
    assert got["point"] == pytest.approx(function(np.asarray(values)))
    assert got["n"] == 4
    # The resampled bounds are values of the exact distribution within a sliver of probability of its quantiles.
    cdf = lambda v: np.searchsorted(estimates, v, side="right") / estimates.size
    assert abs(cdf(got["low"]) - cdf(low)) < 0.01 and abs(cdf(got["high"]) - cdf(high)) < 0.01


def test_improvement_interval_resamples_each_method_independently():
    x, y = [3.0, 1.0, 2.0], [2.5, 0.5]
    pairs = [bootstrap.probability_of_improvement(np.asarray(x)[list(i)], np.asarray(y)[list(j)])
             for i in itertools.product(range(3), repeat=3) for j in itertools.product(range(2), repeat=2)]
    estimates = np.sort(pairs)
    got = bootstrap.improvement(x, y, reps=40_000)
    assert got["point"] == pytest.approx(4 / 6) and (got["n_x"], got["n_y"]) == (3, 2)
    assert got["low"] == np.quantile(estimates, 0.025, method="lower")
    assert got["high"] == np.quantile(estimates, 0.975, method="higher")


def test_a_threshold_not_reached_reads_infinite_not_nan():
    got = bootstrap.interval([100.0, math.inf, 300.0], "median")
    assert got["point"] == 300.0 and got["low"] == 100.0 and got["high"] == math.inf
    assert bootstrap.interval([math.inf, math.inf], "mean")["point"] == math.inf


def test_intervals_are_seeded_and_narrow_with_identical_runs():
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert bootstrap.interval(values) == bootstrap.interval(values)
    assert bootstrap.interval([2.0] * 5) == {"point": 2.0, "low": 2.0, "high": 2.0, "n": 5}


def test_band_covers_the_pointwise_mean():
    curves = np.array([[0.0, 1.0, 2.0], [2.0, 3.0, 4.0], [1.0, 2.0, 3.0]])
    centre, low, high = bootstrap.band(curves)
    np.testing.assert_allclose(centre, [1.0, 2.0, 3.0])
    assert (low <= centre).all() and (centre <= high).all() and (low >= curves.min(0)).all() and (high <= curves.max(0)).all()


@pytest.mark.parametrize("values, words", [([], "non-empty"), ([[1.0]], "non-empty list"), ([1.0, math.nan], "NaN")])
def test_bad_values_are_one_clear_error(values, words):
    with pytest.raises(ValueError, match=words):
        bootstrap.interval(values)
    with pytest.raises(ValueError, match="aggregate must be one of"):
        bootstrap.interval([1.0], "mode")
