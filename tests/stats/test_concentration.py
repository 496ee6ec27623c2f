"""Concentration curve, Gini and top shares against hand-worked values and the pairwise-difference definition."""

from __future__ import annotations

import numpy as np
import pytest

from crimeplan.stats.concentration import (
    bias_corrected, concentration_curve, gini, gini_rows, interval, top_count, top_share, top_share_rows,
)


def _gini_by_pairs(x: np.ndarray) -> float:
    """Gini's mean difference over twice the mean: Σ_i Σ_j |x_i − x_j| / (2 n² x̄)."""
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size ** 2 * x.mean()))


def test_hand_worked() -> None:
    assert gini([1, 1, 1, 1]) == 0
    assert gini([0, 0, 0, 10]) == pytest.approx(0.75)  # all in one of n areas: (n − 1) / n
    assert gini([1, 1, 2, 6]) == pytest.approx(0.4)
    assert top_share([1, 1, 2, 6], 0.25) == pytest.approx(0.6)
    assert top_share([1, 1, 2, 6], 0.5) == pytest.approx(0.8)
    curve = concentration_curve([1, 1, 2, 6])
    assert curve.area_share == [0, 0.25, 0.5, 0.75, 1]
    assert curve.measure_share == pytest.approx([0, 0.6, 0.8, 0.9, 1])


def test_against_the_pairwise_definition_and_a_sort() -> None:
    rng = np.random.default_rng(7)
    x = rng.gamma(0.5, 40, size=(5, 683))
    for row, g in zip(x, gini_rows(x)):
        assert g == pytest.approx(_gini_by_pairs(row))
    for fraction in (0.01, 0.05, 0.10):
        k = int(np.ceil(fraction * 683))
        expected = [np.sort(row)[::-1][:k].sum() / row.sum() for row in x]
        assert top_share_rows(x, fraction) == pytest.approx(expected)


def test_top_count_rounds_up_and_keeps_one() -> None:
    assert top_count(680, 0.05) == 34 and top_count(683, 0.05) == 35 and top_count(6, 0.01) == 1
    with pytest.raises(ValueError):
        top_count(10, 0)


def test_basic_interval_reflects_the_bias_of_noise() -> None:
    # Replicates 0.02 above the observed value on average: the interval and centre sit 0.02 below it.
    estimates = 0.32 + np.linspace(-0.01, 0.01, 2001)
    low, high = interval(0.30, estimates)
    assert low == pytest.approx(2 * 0.30 - np.percentile(estimates, 97.5))
    assert high == pytest.approx(2 * 0.30 - np.percentile(estimates, 2.5))
    assert bias_corrected(0.30, estimates) == pytest.approx(0.28)


def test_bad_input() -> None:
    for bad in ([], [1, -1], [1, float("nan")]):
        with pytest.raises(ValueError):
            gini(bad)
