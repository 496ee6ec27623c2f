"""Rank intervals (Goldstein and Spiegelhalter 1996) against an independent count of simulated ranks."""

from __future__ import annotations

import numpy as np
import pytest

from crimeplan.stats.poisson_draws import simulate
from crimeplan.stats.rank_intervals import rank_intervals


def test_hand_worked() -> None:
    draws = np.array([[30, 20, 10], [19, 21, 10], [31, 18, 25]])
    r = rank_intervals([30.0, 20.0, 10.0], draws, top=1)
    assert (r.rank, r.low, r.high) == ([1, 2, 3], [1, 1, 2], [2, 3, 3])
    assert r.p_top == pytest.approx([2 / 3, 1 / 3, 0])


def test_against_ranks_counted_by_hand() -> None:
    counts = np.array([120.0, 118.0, 60.0, 59.0, 58.0, 5.0, 4.0, 0.0])
    draws = simulate(counts, draws=1000, seed=3)
    r = rank_intervals(counts, draws, top=2)
    # Independently: each area's rank in each replicate is 1 + the number of areas strictly above it.
    ranks = np.array([[1 + int((row > row[i]).sum()) for i in range(row.size)] for row in draws])
    for i in range(counts.size):
        ordered = np.sort(ranks[:, i])
        assert r.low[i] == ordered[int(np.floor(0.025 * 999))]
        assert r.high[i] == ordered[int(np.ceil(0.975 * 999))]
        assert r.p_top[i] == pytest.approx((ranks[:, i] <= 2).mean())
    assert r.rank == [1, 2, 3, 4, 5, 6, 7, 8]
    assert r.high[0] <= 2 and r.low[2] >= 3  # the two large areas are the top two; the rest are not


def test_draws_match_the_poisson_and_the_harms_mean_and_variance() -> None:
    draws = simulate([50.0, 0.0], draws=20000, seed=1)
    assert draws[:, 0].mean() == pytest.approx(50, rel=0.02) and draws[:, 0].var() == pytest.approx(50, rel=0.05)
    assert (draws[:, 1] == 0).all()
    harm = simulate([3650.0], [365.0 * 3650.0], draws=20000, seed=2)  # ten offences of 365 days
    assert harm.mean() == pytest.approx(3650, rel=0.02)
    assert harm.var() == pytest.approx(365 * 3650, rel=0.05)
    with pytest.raises(ValueError):
        simulate([-1.0])
