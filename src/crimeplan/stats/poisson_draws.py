"""Simulated replicates of areas' counts or harm: the sampling noise a ranking or a concentration figure carries.

A count ``n`` is drawn as Poisson(``n``): the observed count stands for the area's
underlying rate, and the draws show how far chance alone moves it (a parametric
bootstrap; Goldstein and Spiegelhalter 1996 simulate league tables this way).

Harm is a weighted sum of Poisson counts, ``H = Σ w_c n_c`` with variance
``V = Σ w_c² n_c``. It is drawn from the gamma distribution with the same mean and
variance — shape ``H²/V``, scale ``V/H`` — the approximation Fay and Feuer (1997)
use for weighted sums of Poisson counts (directly standardised rates). With every
weight 1 (``V = H``) the gamma is close to the Poisson; counts are drawn exactly.

References:
    Goldstein, H. & Spiegelhalter, D. J. (1996). League tables and their limitations: statistical issues in
    comparisons of institutional performance. Journal of the Royal Statistical Society, Series A 159(3): 385-443.
    Fay, M. P. & Feuer, E. J. (1997). Confidence intervals for directly standardized rates: a method based on the
    gamma distribution. Statistics in Medicine 16(7): 791-801.

    >>> draws = simulate([10.0, 0.0, 250.0], draws=4, seed=1)
    >>> draws.shape, float(draws[:, 1].max())
    ((4, 3), 0.0)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

DRAWS = 2000  # enough for a rank interval's ends to be stable to about one place
SEED = 20220401  # fixed: the same data gives the same intervals (the plan's first month)


def simulate(values: Sequence[float], second: Sequence[float] | None = None, draws: int = DRAWS,
             seed: int = SEED) -> np.ndarray:
    """``draws`` replicates (rows) of every area's count or harm (columns).

    ``second``: each area's ``Σ w² n`` (the harm's variance) for harm; None for counts.
    Values must be finite and not negative (leave unknown areas out before calling).
    """
    mean = np.asarray(values, dtype=float)
    if mean.ndim != 1 or not np.isfinite(mean).all() or (mean < 0).any():
        raise ValueError("values must be a finite, non-negative 1-d sequence")
    rng = np.random.default_rng(seed)
    if second is None:
        return rng.poisson(mean, size=(draws, mean.size)).astype(float)
    var = np.asarray(second, dtype=float)
    if var.shape != mean.shape or not np.isfinite(var).all() or (var < 0).any():
        raise ValueError("second must be finite, non-negative and as long as values")
    out = np.zeros((draws, mean.size))
    positive = (mean > 0) & (var > 0)
    shape = mean[positive] ** 2 / var[positive]
    scale = var[positive] / mean[positive]
    out[:, positive] = rng.gamma(shape, scale, size=(draws, int(positive.sum())))
    out[:, (mean > 0) & (var == 0)] = mean[(mean > 0) & (var == 0)]  # no variance: the value itself
    return out


__all__ = ["DRAWS", "SEED", "simulate"]
