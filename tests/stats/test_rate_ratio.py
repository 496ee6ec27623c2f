"""Exact conditional rate ratio: checked against statsmodels, scipy and the definition of the interval."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import binom, binomtest
from statsmodels.stats.rates import test_poisson_2indep as poisson_2indep_test

from crimeplan.stats.rate_ratio import _binomial_two_sided_p, rate_ratio_interval

CASES = [
    # current, baseline, current exposure, baseline exposure
    (134, 153, 1.0, 1.0),
    (1217, 1661, 1.0, 1.0),
    (12, 15, 28.0, 31.0),  # February against January, in days
    (700, 1100, 7.0, 12.0),  # seven months year-to-date against a full year
    (40, 55, 7.0, 12.0),
    (3, 11, 1.0, 1.0),
    (9, 4, 1.0, 1.0),
    (0, 5, 1.0, 1.0),
    (5, 0, 1.0, 1.0),
    (1, 0, 30.0, 31.0),
    (250, 180, 9_000.0, 8_500.0),  # per population
]


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # statsmodels' own ratio when baseline is 0
@pytest.mark.parametrize(("current", "baseline", "current_exposure", "baseline_exposure"), CASES)
def test_p_value_matches_statsmodels_exact_conditional_test(current, baseline, current_exposure, baseline_exposure):
    result = rate_ratio_interval(current, baseline, current_exposure, baseline_exposure)
    reference = poisson_2indep_test(
        current, current_exposure, baseline, baseline_exposure, method="exact-cond"
    ).pvalue
    assert result.p_value == pytest.approx(reference, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(("current", "baseline", "current_exposure", "baseline_exposure"), CASES)
def test_interval_is_the_clopper_pearson_interval_transformed(current, baseline, current_exposure, baseline_exposure):
    result = rate_ratio_interval(current, baseline, current_exposure, baseline_exposure)
    ci = binomtest(current, current + baseline).proportion_ci(confidence_level=0.95, method="exact")
    to_ratio = lambda pi: pi / (1 - pi) * baseline_exposure / current_exposure  # noqa: E731
    assert result.low == pytest.approx(to_ratio(ci.low), rel=1e-9, abs=1e-15)
    if ci.high == 1.0:
        assert result.high is None
    else:
        assert result.high == pytest.approx(to_ratio(ci.high), rel=1e-9)


@pytest.mark.parametrize(("current", "baseline", "current_exposure", "baseline_exposure"), CASES)
def test_interval_limits_solve_the_exact_tail_equations(current, baseline, current_exposure, baseline_exposure):
    # At the upper limit the chance of a count this low is alpha/2, at the lower limit
    # the chance of a count this high is alpha/2 (Clopper & Pearson's definition).
    result = rate_ratio_interval(current, baseline, current_exposure, baseline_exposure)
    total = current + baseline
    pi = lambda rr: current_exposure * rr / (current_exposure * rr + baseline_exposure)  # noqa: E731
    if result.high is not None:
        assert binom.cdf(current, total, pi(result.high)) == pytest.approx(0.025, rel=1e-6)
    if current > 0:
        assert binom.sf(current - 1, total, pi(result.low)) == pytest.approx(0.025, rel=1e-6)
    else:
        assert result.low == 0.0


def test_domain_example_134_against_153_is_within_noise():
    result = rate_ratio_interval(134, 153)
    assert result.ratio == pytest.approx(134 / 153)
    assert result.change_pct == pytest.approx(-12.418, abs=1e-3)
    assert result.low == pytest.approx(0.6893, abs=1e-4)
    assert result.high == pytest.approx(1.1117, abs=1e-4)
    assert result.p_value == pytest.approx(0.28799, abs=1e-5)
    assert result.significant is False
    assert result.verdict == "no significant change"
    assert result.plain == "Down 12% (95% CI \u221231% to +11%): within the range expected from chance."


def test_domain_example_1217_against_1661_is_a_significant_fall():
    result = rate_ratio_interval(1217, 1661)
    assert result.ratio == pytest.approx(0.73269, abs=1e-5)
    assert result.low == pytest.approx(0.6799, abs=1e-4)
    assert result.high == pytest.approx(0.7894, abs=1e-4)
    assert result.p_value < 1e-15
    assert result.significant is True
    assert result.verdict == "significant fall"
    assert result.change_high_pct < 0
    assert result.plain.startswith("Down 27% (95% CI \u221232% to \u221221%)")
    assert "larger than chance" in result.plain


def test_unequal_exposure_compares_rates_not_counts():
    # 280 crimes in 28 days and 310 in 31 days are the same daily rate.
    same_rate = rate_ratio_interval(280, 310, current_exposure=28, baseline_exposure=31)
    assert same_rate.ratio == pytest.approx(1.0)
    assert same_rate.p_value == 1.0
    assert same_rate.verdict == "no significant change"
    assert same_rate.plain.startswith("Rate unchanged")
    # Ignoring exposure, the same counts look like a fall.
    counts_only = rate_ratio_interval(280, 310)
    assert counts_only.ratio == pytest.approx(280 / 310)
    assert counts_only.ratio < same_rate.ratio


def test_year_to_date_against_full_year():
    # 700 in seven months against 1,100 in twelve: the monthly rate is up 9%, but
    # on these numbers that is within noise; ten times the counts, it is not.
    small = rate_ratio_interval(700, 1100, current_exposure=7, baseline_exposure=12)
    assert small.ratio == pytest.approx((700 / 7) / (1100 / 12))
    assert small.change_pct == pytest.approx(9.0909, abs=1e-4)
    assert small.verdict == "no significant change"
    assert small.plain == "Rate up 9% (95% CI \u22120.9% to +20%): within the range expected from chance."
    large = rate_ratio_interval(7000, 11000, current_exposure=7, baseline_exposure=12)
    assert large.ratio == pytest.approx(small.ratio)
    assert large.verdict == "significant rise"
    assert large.low > 1
    assert large.plain.startswith("Rate up 9% (95% CI +6% to +12%)")


def test_single_month_small_counts():
    # A ward's month: 9 against 4 looks like "more than double" but is noise.
    result = rate_ratio_interval(9, 4, current_exposure=31, baseline_exposure=30)
    assert result.ratio == pytest.approx((9 / 31) / (4 / 30))
    assert result.significant is False
    assert result.low < 1 < result.high
    assert result.p_value == pytest.approx(
        binomtest(9, 13, 31 / 61).pvalue, rel=1e-9
    )


def test_both_zero_is_undefined_not_an_error():
    result = rate_ratio_interval(0, 0)
    assert result.ratio is None
    assert result.low == 0.0
    assert result.high is None
    assert result.p_value == 1.0
    assert result.significant is False
    assert result.verdict == "no significant change"
    assert result.change_pct is None and result.change_high_pct is None
    assert result.note and "undefined" in result.note


def test_baseline_zero_can_be_a_significant_rise():
    result = rate_ratio_interval(6, 0)
    assert result.ratio is None
    assert result.high is None
    # Clopper-Pearson lower limit for 6 of 6 is 0.025 ** (1/6).
    pi_low = 0.025 ** (1 / 6)
    assert result.low == pytest.approx(pi_low / (1 - pi_low))
    assert result.p_value == pytest.approx(2 * 0.5**6)
    assert result.verdict == "significant rise"
    assert result.plain.startswith("Up from 0 to 6")
    assert "unbounded" in result.note


def test_baseline_zero_with_few_events_is_not_significant():
    result = rate_ratio_interval(3, 0)
    assert result.p_value == pytest.approx(0.25)
    assert result.verdict == "no significant change"
    assert result.low < 1


def test_current_zero_is_a_fall_of_100_percent():
    result = rate_ratio_interval(0, 6)
    assert result.ratio == 0.0
    assert result.low == 0.0
    assert result.change_pct == -100.0
    assert result.change_low_pct == -100.0
    assert result.verdict == "significant fall"
    assert result.plain.startswith("Down 100%")


def test_p_value_and_interval_disagreeing_is_not_called_significant():
    # 7 against 3 with exposures 7 and 12: minimum-likelihood p = 0.045 but the
    # Clopper-Pearson interval still includes 1, so no significance is claimed.
    result = rate_ratio_interval(7, 3, 7, 12)
    assert result.p_value < 0.05
    assert result.low < 1
    assert result.significant is False
    assert result.verdict == "no significant change"
    assert "disagree" in result.note


def test_significance_agrees_with_interval_and_p_value_over_a_grid():
    for current in range(0, 40, 3):
        for baseline in range(0, 40, 4):
            result = rate_ratio_interval(current, baseline, 28, 31)
            excludes_one = result.low > 1 or (result.high is not None and result.high < 1)
            assert result.significant == (excludes_one and result.p_value < 0.05)
            expected = "no significant change"
            if result.significant:
                expected = "significant rise" if result.low > 1 else "significant fall"
            assert result.verdict == expected


def test_higher_confidence_gives_a_wider_interval():
    narrow = rate_ratio_interval(134, 153, confidence=0.90)
    wide = rate_ratio_interval(134, 153, confidence=0.99)
    assert wide.low < narrow.low < narrow.high < wide.high
    assert "99% CI" in wide.plain


def test_two_sided_p_value_matches_scipy_binomtest():
    rng = np.random.default_rng(20240601)
    for _ in range(2000):
        n = int(rng.integers(1, 400))
        k = int(rng.integers(0, n + 1))
        p = float(rng.choice([0.5, 28 / 59, rng.uniform(0.001, 0.999)]))
        assert _binomial_two_sided_p(k, n, p) == pytest.approx(binomtest(k, n, p).pvalue, rel=1e-9, abs=1e-300)


def test_large_counts_match_scipy():
    # A year of London's crime: totals near two million.
    result = rate_ratio_interval(900_000, 910_000, current_exposure=365, baseline_exposure=366)
    assert result.p_value == pytest.approx(binomtest(900_000, 1_810_000, 365 / 731).pvalue, rel=1e-6)
    assert result.verdict == "significant fall"


def test_counts_given_as_whole_floats_or_numpy_integers_are_accepted():
    a = rate_ratio_interval(134.0, np.int64(153))
    b = rate_ratio_interval(134, 153)
    assert a == b


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"current": -1, "baseline": 5}, "current must not be negative"),
        ({"current": 5, "baseline": -3}, "baseline must not be negative"),
        ({"current": 1.5, "baseline": 5}, "current must be a whole number"),
        ({"current": 5, "baseline": "7"}, "baseline must be a whole number"),
        ({"current": math.nan, "baseline": 5}, "current must be a whole number"),
        ({"current": True, "baseline": 5}, "boolean"),
        ({"current": 5, "baseline": 5, "current_exposure": 0}, "current_exposure must be a positive"),
        ({"current": 5, "baseline": 5, "baseline_exposure": -2}, "baseline_exposure must be a positive"),
        ({"current": 5, "baseline": 5, "baseline_exposure": math.inf}, "baseline_exposure must be a positive"),
        ({"current": 5, "baseline": 5, "confidence": 95}, "confidence must be strictly between 0 and 1"),
        ({"current": 5, "baseline": 5, "confidence": 1.0}, "confidence must be strictly between 0 and 1"),
    ],
)
def test_bad_input_raises_a_clear_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        rate_ratio_interval(**kwargs)


@pytest.mark.parametrize(("current", "baseline"), [(0, 0), (6, 0), (0, 6), (134, 153), (1, 1)])
def test_to_dict_is_json_safe(current, baseline):
    result = rate_ratio_interval(current, baseline)
    data = result.to_dict()
    text = json.dumps(data, allow_nan=False)  # raises on NaN or infinity
    assert json.loads(text)["verdict"] == result.verdict
    assert set(data) >= {
        "current", "baseline", "current_exposure", "baseline_exposure", "ratio", "low", "high",
        "p_value", "change_pct", "change_low_pct", "change_high_pct", "significant", "verdict", "plain",
    }


def test_result_is_frozen():
    result = rate_ratio_interval(1, 2)
    with pytest.raises(AttributeError):
        result.ratio = 3.0  # type: ignore[misc]
