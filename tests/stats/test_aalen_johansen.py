"""The Aalen–Johansen cumulative incidence against a small example worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from crimeplan.stats.aalen_johansen import aalen_johansen

# Ten crimes followed for up to two months. Month 0: 2 charged, 1 closed with no suspect. Month 1: 1 charged,
# 2 still open whose follow-up ends (censored). Month 2: 2 closed with no suspect, 2 censored.
EVENTS = np.array([[2, 1, 0],   # charged first
                   [1, 0, 2]])  # no suspect identified first
CENSORED = np.array([0, 2, 2])


def test_the_hand_worked_example():
    ci = aalen_johansen(EVENTS, CENSORED)
    # At risk: 10; 10 - 3 = 7; 7 - 1 - 2 = 4.
    assert ci.at_risk.tolist() == [10, 7, 4]
    # S: 7/10 = 0.7; 0.7 × 6/7 = 0.6; 0.6 × 2/4 = 0.3.
    assert ci.survival == pytest.approx([0.7, 0.6, 0.3])
    # Charged: 1 × 2/10 = 0.2; + 0.7 × 1/7 = 0.3; + 0.6 × 0/4 = 0.3.
    assert ci.incidence[0] == pytest.approx([0.2, 0.3, 0.3])
    # No suspect: 1 × 1/10 = 0.1; + 0; + 0.6 × 2/4 = 0.4.
    assert ci.incidence[1] == pytest.approx([0.1, 0.1, 0.4])
    # Every crime is open or has reached one outcome: F_charged + F_no_suspect + S = 1 at every month.
    assert ci.incidence.sum(axis=0) + ci.survival == pytest.approx([1, 1, 1])


def test_treating_the_competing_outcome_as_censoring_would_overstate_the_charges():
    ci = aalen_johansen(EVENTS, CENSORED)
    # 1 - Kaplan-Meier of a charge alone (no-suspect closures censored): 1 - (8/10)(6/7)(4/4) = 0.314...
    naive = 1 - (8 / 10) * (6 / 7) * (4 / 4)
    assert ci.incidence[0][-1] < naive


def test_before_any_censoring_the_variance_is_the_binomial_one():
    ci = aalen_johansen(EVENTS, CENSORED)
    # Month 0, no censoring yet: F = 0.2 of 10, variance 0.2 × 0.8 / 10 = 0.016; the log(-log) limits hold F.
    se = np.sqrt(0.016)
    f, low, high = ci.incidence[0][0], ci.low[0][0], ci.high[0][0]
    assert low < f < high and 0 < low and high < 1
    z = 1.959963984540054
    expected_low = np.exp(-np.exp(np.log(-np.log(f)) + z * se / (f * abs(np.log(f)))))
    assert low == pytest.approx(expected_low)


def test_without_censoring_the_variance_is_binomial_at_every_month():
    # 20 crimes, none censored until the end: F_k(t) is a plain share of 20, its variance F(1 - F)/20 at every t.
    events = np.array([[2, 3, 1, 0], [4, 0, 2, 1]])
    censored = np.array([0, 0, 0, 7])
    ci = aalen_johansen(events, censored)
    z = 1.959963984540054
    for k in range(2):
        shares = np.cumsum(events[k]) / 20
        assert ci.incidence[k] == pytest.approx(shares)
        for f, low in zip(shares, ci.low[k]):
            se = np.sqrt(f * (1 - f) / 20)
            assert low == pytest.approx(np.exp(-np.exp(np.log(-np.log(f)) + z * se / (f * abs(np.log(f))))))


def test_no_outcome_yet_has_the_exact_upper_limit():
    ci = aalen_johansen(np.array([[0, 3]]), np.array([0, 7]))
    assert ci.incidence[0][0] == 0 and ci.high[0][0] == pytest.approx(1 - 0.025 ** (1 / 10))


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match="outcomes × times"):
        aalen_johansen(np.array([1, 2]), np.array([0, 0]))
    with pytest.raises(ValueError, match="negative"):
        aalen_johansen(np.array([[1, -1]]), np.array([0, 0]))
