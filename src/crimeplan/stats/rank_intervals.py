"""Ranks with intervals: how sure a league table's places are (Goldstein and Spiegelhalter 1996).

A ranked list of areas reads as exact, but every value carries sampling noise: a
ward with 12 offences can be 15th or 60th by chance. Each area is ranked in each
simulated replicate of the values (:mod:`crimeplan.stats.poisson_draws`); the
2.5th and 97.5th percentiles of its ranks are its 95% rank interval, and the
share of replicates in which it ranks within the top ``k`` its probability of
being there. An area is *in the top k* only when its whole interval is (its
worst plausible rank is at most ``k``), and *possibly in the top k* when only
part of it is (Marshall and Spiegelhalter 1998 read IVF clinics' tables this way).

Rank 1 is the highest value; tied values share the best rank of their tie.

References:
    Goldstein, H. & Spiegelhalter, D. J. (1996). League tables and their limitations: statistical issues in
    comparisons of institutional performance. Journal of the Royal Statistical Society, Series A 159(3): 385-443.
    Marshall, E. C. & Spiegelhalter, D. J. (1998). Reliability of league tables of in vitro fertilisation clinics:
    retrospective analysis of live birth rates. BMJ 316: 1701-1704.

    >>> import numpy as np
    >>> r = rank_intervals([30.0, 20.0, 10.0], np.array([[30, 20, 10], [19, 21, 10], [31, 18, 25]]), top=1)
    >>> r.rank, r.low, r.high, [round(p, 2) for p in r.p_top]
    ([1, 2, 3], [1, 1, 2], [2, 3, 3], [0.67, 0.33, 0.0])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.stats import rankdata

LEVEL = 0.95


@dataclass(frozen=True)
class RankIntervals:
    rank: list[int]  # observed rank (1 = highest)
    low: list[int]  # best plausible rank (2.5th percentile of the simulated ranks)
    high: list[int]  # worst plausible rank (97.5th percentile)
    p_top: list[float]  # share of replicates ranking within the top ``top``
    top: int
    draws: int


def ranks_high_first(x: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, 1 for the highest value, ties sharing their best rank."""
    return rankdata(-np.asarray(x, dtype=float), method="min", axis=-1).astype(int)


def rank_intervals(values: Sequence[float], draws: np.ndarray, top: int, level: float = LEVEL) -> RankIntervals:
    """Each area's observed rank, its ``level`` interval from ``draws`` (replicates × areas), and P(rank ≤ top)."""
    observed = np.asarray(values, dtype=float)
    draws = np.asarray(draws, dtype=float)
    if draws.ndim != 2 or draws.shape[1] != observed.size:
        raise ValueError("draws must be replicates × areas, as many areas as values")
    ranks = ranks_high_first(draws)
    tail = (1 - level) / 2 * 100
    # 'lower'/'higher' keep the interval's ends on ranks that occurred (no interpolated 12.5th place).
    low = np.percentile(ranks, tail, axis=0, method="lower")
    high = np.percentile(ranks, 100 - tail, axis=0, method="higher")
    return RankIntervals(
        rank=[int(r) for r in ranks_high_first(observed)], low=[int(v) for v in low], high=[int(v) for v in high],
        p_top=[float(p) for p in (ranks <= top).mean(axis=0)], top=top, draws=int(draws.shape[0]),
    )


__all__ = ["LEVEL", "RankIntervals", "rank_intervals", "ranks_high_first"]
