"""Interval estimates over seeds, with the definitions of rliable (Agarwal et al., "Deep RL at the
Edge of the Statistical Precipice", NeurIPS 2021): the interquartile mean (the mean of the middle
half of the runs, scipy's `trim_mean(x, 0.25)`), the probability of improvement P(X > Y) + ½ P(X = Y)
over pairs of runs, and percentile confidence intervals from a stratified bootstrap: runs are
resampled with replacement within each task (here one task per environment, so within each
method's runs), and for two methods independently.

rliable itself is not used: its statistics dependency (arch) does not import with the pandas
installed beside this numpy, and the few lines below are easier to check (tests/test_bootstrap.py
compares them with exact enumeration of every resample). Scores are "higher is better"; negate
lower-is-better ones (a miss in %) before calling.
"""

from __future__ import annotations

import math

import numpy as np

REPS = 10_000  # resamples: the 2.5 % and 97.5 % quantiles move by well under 1 % of the spread between seeds
CONFIDENCE = 0.95
SEED = 0  # every interval is reproducible: the report is re-rendered and compared byte for byte


def iqm(x) -> float:
    """The interquartile mean: drop int(n/4) runs at each end, average the rest (scipy's trim_mean)."""
    x = np.sort(np.asarray(x, dtype=float), axis=-1)
    n = x.shape[-1]
    cut = int(0.25 * n)
    return x[..., cut:n - cut].mean(axis=-1)


def median(x) -> float:
    return np.median(np.asarray(x, dtype=float), axis=-1)


def mean(x) -> float:
    return np.mean(np.asarray(x, dtype=float), axis=-1)


AGGREGATES = {"median": median, "iqm": iqm, "mean": mean}


def probability_of_improvement(x, y) -> float:
    """P(X > Y) + ½ P(X = Y) for a run X of one method and a run Y of another (the Mann–Whitney U
    statistic over n·m, rliable's `probability_of_improvement` for one task)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    greater = (x[..., :, None] > y[..., None, :]).mean(axis=(-2, -1))
    equal = (x[..., :, None] == y[..., None, :]).mean(axis=(-2, -1))
    return greater + 0.5 * equal


def _check(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty list of per-seed values; got shape {array.shape}")
    if np.isnan(array).any():
        raise ValueError(f"{name} holds NaN; per-seed values must be numbers (+inf for a threshold never reached)")
    return array


def _resample(values: np.ndarray, rng: np.random.Generator, reps: int) -> np.ndarray:
    return values[rng.integers(0, values.size, size=(reps, values.size))]


def _interval(estimates: np.ndarray, confidence: float) -> tuple[float, float]:
    # "lower"/"higher" rather than interpolation: a bound stays a value some resample gave, so an
    # interval of steps with +inf (not reached) in it reads inf, never NaN.
    alpha = (1 - confidence) / 2
    return float(np.quantile(estimates, alpha, method="lower")), float(np.quantile(estimates, 1 - alpha, method="higher"))


def interval(values, aggregate: str = "iqm", *, reps: int = REPS, confidence: float = CONFIDENCE, seed: int = SEED) -> dict:
    """{"point", "low", "high", "n"}: `aggregate` (median, iqm, mean) of the per-seed `values` and
    its percentile bootstrap interval over seeds. +inf (a threshold not reached) is allowed."""
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {', '.join(AGGREGATES)}; got {aggregate!r}")
    values = _check(values, "values")
    function = AGGREGATES[aggregate]
    with np.errstate(invalid="ignore"):  # inf - inf in a mean: its estimate is NaN, read as "not reached" below
        estimates = function(_resample(values, np.random.default_rng(seed), reps))
        point = float(function(values))
    estimates = np.where(np.isnan(estimates), np.inf, estimates)
    low, high = _interval(estimates, confidence)
    return {"point": point if not math.isnan(point) else math.inf, "low": low, "high": high, "n": int(values.size)}


def improvement(x, y, *, reps: int = REPS, confidence: float = CONFIDENCE, seed: int = SEED) -> dict:
    """{"point", "low", "high", "n_x", "n_y"}: the probability that a run of X beats a run of Y
    (higher scores better), and its bootstrap interval, X's and Y's runs resampled independently."""
    x, y = _check(x, "x"), _check(y, "y")
    rng = np.random.default_rng(seed)
    estimates = probability_of_improvement(_resample(x, rng, reps), _resample(y, rng, reps))
    low, high = _interval(estimates, confidence)
    return {"point": float(probability_of_improvement(x, y)), "low": low, "high": high, "n_x": int(x.size), "n_y": int(y.size)}


def band(curves, *, reps: int = 2_000, confidence: float = CONFIDENCE, seed: int = SEED, aggregate: str = "mean"):
    """Pointwise (estimate, low, high) over seeds of `curves` (seeds × points): the plots' bands."""
    curves = np.asarray(curves, dtype=float)
    if curves.ndim != 2 or curves.shape[0] == 0:
        raise ValueError(f"curves must be a seeds × points array; got shape {curves.shape}")
    function = AGGREGATES[aggregate]
    rows = np.random.default_rng(seed).integers(0, curves.shape[0], size=(reps, curves.shape[0]))
    estimates = function(np.swapaxes(curves[rows], 1, 2))  # reps × points
    alpha = (1 - confidence) / 2
    return function(curves.T), np.quantile(estimates, alpha, axis=0), np.quantile(estimates, 1 - alpha, axis=0)
