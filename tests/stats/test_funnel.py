"""Funnel limits against Spiegelhalter's (2005) formula, worked by hand from binomial tables."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from crimeplan.stats.funnel import binomial_limit, funnel


# Each case: n, p0, p, and the binomial distribution function F(r), F(r-1) at the quantile r (from tables);
# the limit is (r - α)/n with α = (F(r) - p) / (F(r) - F(r-1)).
@pytest.mark.parametrize(("n", "p0", "p", "r", "f_r", "f_below"), [
    (20, 0.5, 0.975, 14, 0.979305, 0.942341),
    (20, 0.5, 0.025, 6, 0.057659, 0.020695),
    (100, 0.1, 0.999, 20, 0.999192, 0.998021),
    (100, 0.1, 0.001, 2, 0.001945, 0.000322),
])
def test_the_limit_is_the_interpolated_binomial_quantile(n, p0, p, r, f_r, f_below):
    alpha = (f_r - p) / (f_r - f_below)
    assert binomial_limit(p0, n, p) == pytest.approx((r - alpha) / n, abs=1e-4)


def test_hand_worked_limits_for_twenty_cases_at_one_half():
    # (14 - 0.116465) / 20 and (6 - 0.883535) / 20
    assert binomial_limit(0.5, 20, 0.975) == pytest.approx(0.694177, abs=1e-5)
    assert binomial_limit(0.5, 20, 0.025) == pytest.approx(0.255823, abs=1e-5)


def test_for_many_cases_the_limits_approach_the_normal_ones():
    n, p0 = 1_000_000, 0.3
    se = np.sqrt(p0 * (1 - p0) / n)
    assert binomial_limit(p0, n, 0.975) == pytest.approx(p0 + 1.959964 * se, abs=se * 0.01)
    assert binomial_limit(p0, n, 0.001) == pytest.approx(p0 - 3.090232 * se, abs=se * 0.01)


def test_positions_against_the_limits_and_the_pooled_target():
    # Four institutions of 1,000 cases around a pooled 20%: one far above, one just above 95%, one within, one far below.
    f = funnel([300, 228, 200, 72], [1000, 1000, 1000, 1000])
    assert f.target == pytest.approx(0.2)
    hi95, hi998 = f.limits["95%"][1][0], f.limits["99.8%"][1][0]
    assert 0.2 + 1.9 * 0.01265 < hi95 < 0.2 + 2.0 * 0.01265 and hi998 > hi95  # ~0.2 ± 1.96 × √(0.16/1000)
    assert f.position == ["above 99.8%", "above 95%", "within 95%", "below 99.8%"]


def test_overdispersion_is_small_for_binomial_institutions_and_large_for_varied_ones():
    rng = np.random.default_rng(2005)
    n = rng.integers(500, 5000, size=200)
    plain = funnel(rng.binomial(n, 0.3), n)
    # Winsorising at the 10th and 90th centiles shrinks φ below 1 when there is no overdispersion (about 0.59
    # for normal z-scores): binomial institutions are never flagged.
    assert 0.45 < plain.phi < 0.75 and plain.overdispersion_p > 0.5
    assert plain.position_overdispersed == plain.position or sum(
        a != b for a, b in zip(plain.position, plain.position_overdispersed)) <= 2  # φ < 1: the same limits, nearly
    varied = funnel(rng.binomial(n, rng.uniform(0.15, 0.45, size=n.size)), n)
    assert varied.phi > 5 and varied.overdispersion_p < 1e-6
    # Against limits widened by √φ far fewer lie outside 99.8% than against the binomial ones.
    outside = lambda positions: sum(p.endswith("99.8%") for p in positions)  # noqa: E731
    assert outside(varied.position) > 3 * outside(varied.position_overdispersed)
    z = (varied.share - varied.target) / np.sqrt(varied.target * (1 - varied.target) / n) / np.sqrt(varied.phi)
    assert [p.startswith("above") for p in varied.position_overdispersed] == list(z > 1.959964)


def test_bad_input_is_refused_with_what_was_expected():
    with pytest.raises(ValueError, match="0 <= successes <= trials"):
        funnel([5], [3])
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        funnel([0, 0], [10, 10])


def test_a_lower_limit_is_never_below_zero():
    # 1.2% of 50 cases: the 0.1% quantile is r_p = 0, where the interpolation would give −α/n (−1.9%).
    p0, n, p = 0.012, 50, 0.001
    f0 = binom.cdf(0, n, p0)
    assert f0 >= p and (0 - (f0 - p) / f0) / n < 0  # what the bare formula gives
    assert binomial_limit(p0, n, p) == 0.0
    assert binomial_limit(p0, np.array([50, 5000]), p)[1] > 0  # where r_p > 0 the formula stands
