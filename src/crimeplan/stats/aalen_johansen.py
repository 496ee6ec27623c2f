"""Cumulative incidence of competing outcomes: the Aalen–Johansen estimator in discrete time.

Aalen OO, Johansen S (1978). "An empirical transition matrix for non-homogeneous Markov
chains based on censored observations." Scandinavian Journal of Statistics 5(3):141–150.
For one state of "no outcome yet" and K absorbing outcomes it is, at each time t_j with
n_j crimes still open, d_kj reaching outcome k and d_j = Σ_k d_kj reaching any:

    S(t_j)   = Π_{i≤j} (1 − d_i / n_i)                     (Kaplan–Meier, any outcome)
    F_k(t_j) = Σ_{i≤j} S(t_{i−1}) · d_ki / n_i             (the cumulative incidence of k)

Crimes still open at the end of their follow-up are censored: they count among the n_j up
to then and not after. Outcomes compete: a crime closed with no suspect is no longer at risk
of a first charge, so F_k is the share reaching k first, never the 1 − KM of k alone (which
overstates it). Variance: Greenwood's form for the cumulative incidence (Collett D, 2015,
Modelling Survival Data in Medical Research, 3rd ed., section 12.2), and 95% limits on the
log(−log) scale, which keeps them in (0, 1); where no crime has reached an outcome yet the
upper limit is the exact binomial one for none of the crimes followed from the start.

Written here rather than taken from lifelines: lifelines' AalenJohansenFitter cannot take
tied times and jitters them at random, and outcomes by month are nearly all ties (every
crime of a cohort is followed in whole months), so its curves would change from run to run.
In discrete time ties need no jitter: the estimator above counts them exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm


@dataclass
class CumulativeIncidence:
    """F_k at each time for each outcome k, with 95% limits, and the crimes at risk."""

    times: np.ndarray  # 0, 1, ... (months since the crime's month)
    at_risk: np.ndarray  # n_j: still open at the start of each time
    events: np.ndarray  # d_kj: outcomes × times
    censored: np.ndarray  # censored at each time (after its events)
    incidence: np.ndarray  # F_k(t_j): outcomes × times
    low: np.ndarray
    high: np.ndarray
    survival: np.ndarray  # S(t_j): still open after each time


def aalen_johansen(events: np.ndarray, censored: np.ndarray, confidence: float = 0.95) -> CumulativeIncidence:
    """The cumulative incidence of each outcome from counts: ``events`` (outcomes × times) reaching each outcome first
    at each time, and ``censored`` (per time) still open when their follow-up ended there."""
    d_k = np.asarray(events, dtype=float)
    c = np.asarray(censored, dtype=float)
    if d_k.ndim != 2 or c.ndim != 1 or d_k.shape[1] != c.size:
        raise ValueError("events must be outcomes × times and censored one count per time")
    if (d_k < 0).any() or (c < 0).any():
        raise ValueError("counts cannot be negative")
    d = d_k.sum(axis=0)
    removed = d + c
    n = removed[::-1].cumsum()[::-1]  # open at the start of each time: all removed then or later
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(n > 0, d / n, 0.0)
        hazard_k = np.where(n > 0, d_k / n, 0.0)
    survival = np.cumprod(1 - hazard)
    before = np.concatenate([[1.0], survival[:-1]])  # S(t_{j-1})
    incidence = np.cumsum(before * hazard_k, axis=1)
    variance = np.zeros_like(incidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.where((n > d) & (n > 0), d / (n * (n - d)), 0.0)
        own = np.where(n > 0, before ** 2 * d_k * (n - d_k) / n ** 3, 0.0)
        cross = np.where(n > 0, before * d_k / n ** 2, 0.0)
    for j in range(incidence.shape[1]):
        gap = incidence[:, j:j + 1] - incidence[:, : j + 1]  # F_k(t) − F_k(t_i), i ≤ j
        variance[:, j] = ((gap ** 2) * greenwood[: j + 1]).sum(axis=1) + own[:, : j + 1].sum(axis=1) \
            - 2 * (gap * cross[:, : j + 1]).sum(axis=1)
    z = norm.ppf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = (incidence > 0) & (incidence < 1)
        log_f = np.log(np.where(inside, incidence, 0.5))
        se = np.sqrt(np.maximum(variance, 0)) / np.abs(np.where(inside, incidence, 0.5) * log_f)
        low = np.where(inside, np.exp(-np.exp(np.log(-log_f) + z * se)), incidence)
        high = np.where(inside, np.exp(-np.exp(np.log(-log_f) - z * se)), incidence)
    # None reached yet: no log scale; the exact binomial upper limit for 0 of the crimes followed from the start.
    if n.size and n[0] > 0:
        high = np.where(incidence == 0, 1 - ((1 - confidence) / 2) ** (1 / n[0]), high)
    return CumulativeIncidence(np.arange(c.size), n, d_k, c, incidence, low, high, survival)
