"""How concentrated a measure is across places: the concentration curve, the Gini coefficient, the top shares.

Crime and harm are concentrated: a few per cent of places hold a large share
(Weisburd 2015, the law of crime concentration at place). With areas ordered from
the highest value down, the concentration curve gives the share of the total held
by the top x% of areas; the Gini coefficient is twice the area between that
curve and the diagonal (0: every area equal; near 1: all in one area):

    G = Σ_i (2i − n − 1) x_(i) / (n Σ x),   x_(1) ≤ … ≤ x_(n)

(Gini's mean difference over twice the mean.)

Where crimes are few beside places, chance alone concentrates them: 100 crimes
among 1,000 places fill at most 10% of them, so G ≥ 0.9 whatever the rates
(Bernasco and Steenbeek 2017). The figures are therefore given with an interval
from simulated replicates of the counts (:mod:`crimeplan.stats.poisson_draws`),
and beside what equal rates would give (the *chance* reference: every area's
count drawn around the same rate per resident, or per area).

References:
    Weisburd, D. (2015). The law of crime concentration and the criminology of place. Criminology 53(2): 133-157.
    Bernasco, W. & Steenbeek, W. (2017). More places than crimes: implications for evaluating the law of crime
    concentration at place. Journal of Quantitative Criminology 33(3): 451-467.
    Gini, C. (1912). Variabilità e mutabilità. Bologna: Tipografia di Paolo Cuppini.
    Davison, A. C. & Hinkley, D. V. (1997). Bootstrap Methods and their Application. Cambridge University Press.

    >>> curve = concentration_curve([1, 1, 2, 6])
    >>> [round(s, 3) for s in curve.measure_share]
    [0.0, 0.6, 0.8, 0.9, 1.0]
    >>> round(gini([1, 1, 2, 6]), 3), top_share([1, 1, 2, 6], 0.25)
    (0.4, 0.6)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

TOP_FRACTIONS = (0.01, 0.05, 0.10)


@dataclass(frozen=True)
class Curve:
    """Cumulative shares from the highest area down, both starting at 0 and ending at 1."""

    area_share: list[float]
    measure_share: list[float]


def _values(values: Sequence[float]) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.size == 0 or not np.isfinite(x).all() or (x < 0).any():
        raise ValueError("values must be a non-empty, finite, non-negative 1-d sequence")
    return x


def concentration_curve(values: Sequence[float]) -> Curve:
    x = np.sort(_values(values))[::-1]
    total = x.sum()
    cumulative = np.concatenate([[0.0], np.cumsum(x) / total]) if total > 0 else np.zeros(x.size + 1)
    return Curve([float(a) for a in np.arange(x.size + 1) / x.size], [float(c) for c in cumulative])


def gini(values: Sequence[float]) -> float:
    return float(gini_rows(_values(values)[None, :])[0])


def gini_rows(x: np.ndarray) -> np.ndarray:
    """The Gini coefficient of each row of ``x`` (replicates × areas); NaN for a row summing to 0."""
    x = np.sort(np.asarray(x, dtype=float), axis=1)
    n = x.shape[1]
    coefficients = 2 * np.arange(1, n + 1) - n - 1
    total = x.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, (x @ coefficients) / (n * total), np.nan)


def top_count(n_areas: int, fraction: float) -> int:
    """How many areas are 'the top ``fraction``': at least one, rounded up (the top 5% of 680 wards: 34)."""
    if not 0 < fraction <= 1:
        raise ValueError("fraction must lie in (0, 1]")
    return max(1, math.ceil(fraction * n_areas - 1e-9))


def top_share(values: Sequence[float], fraction: float) -> float:
    return float(top_share_rows(_values(values)[None, :], fraction)[0])


def top_share_rows(x: np.ndarray, fraction: float) -> np.ndarray:
    """Each row's share of its total held by its top ``fraction`` of areas (re-ranked within the row)."""
    x = np.asarray(x, dtype=float)
    k = top_count(x.shape[1], fraction)
    top = -np.partition(-x, k - 1, axis=1)[:, :k]
    total = x.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, top.sum(axis=1) / total, np.nan)


def bias_corrected(observed: float, estimates: np.ndarray) -> float | None:
    """The estimate less the bias noise adds (``2θ − mean of the replicates``; Davison and Hinkley 1997, §2.2.3):
    the centre of the basic interval, which the observed share can lie outside."""
    finite = estimates[np.isfinite(estimates)]
    if finite.size == 0 or not math.isfinite(observed):
        return None
    return float(min(max(2 * observed - finite.mean(), 0.0), 1.0))


def interval(observed: float, estimates: np.ndarray, level: float = 0.95) -> tuple[float | None, float | None]:
    """The basic (reverse-percentile) bootstrap interval of a share or Gini from its simulated replicates.

    Replicates drawn around the observed counts are *more* concentrated than the
    observed ones (noise spreads counts apart), so their plain percentiles can miss
    the estimate altogether; the basic interval ``(2θ − q_high, 2θ − q_low)`` reflects
    that bias back (Davison and Hinkley 1997, *Bootstrap Methods and their
    Application*, §5.2). Kept within [0, 1]; None where no replicate is defined.
    """
    finite = estimates[np.isfinite(estimates)]
    if finite.size == 0 or not math.isfinite(observed):
        return None, None
    tail = (1 - level) / 2 * 100
    q_low, q_high = np.percentile(finite, [tail, 100 - tail])
    return float(min(max(2 * observed - q_high, 0.0), 1.0)), float(min(max(2 * observed - q_low, 0.0), 1.0))


__all__ = ["TOP_FRACTIONS", "Curve", "bias_corrected", "concentration_curve", "gini", "gini_rows", "interval", "top_count",
           "top_share", "top_share_rows"]
