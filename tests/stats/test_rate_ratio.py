"""Exact conditional rate ratio: checked against statsmodels, scipy and the definition of the interval.

The p-value is the central (doubled one-sided) exact p-value, which is the test
the Clopper–Pearson interval inverts (Fay 2010). statsmodels' "exact-cond" and
scipy's binomtest use the minimum-likelihood convention instead: the same
p-value when the exposures are equal, a different one when they are not.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import binom, binomtest
from statsmodels.stats.rates import test_poisson_2indep as poisson_2indep_test

from crimeplan.stats.rate_ratio import RateRatioArrays, rate_ratio_interval, rate_ratio_intervals


def central_p(k: int, n: int, p: float) -> float:
    """Reference central p-value straight from scipy's binomial tails."""
    return min(1.0, 2 * min(binom.cdf(k, n, p), binom.sf(k - 1, n, p)))

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


@pytest.mark.parametrize(("current", "baseline", "current_exposure", "baseline_exposure"), CASES)
def test_p_value_is_the_doubled_smaller_tail(current, baseline, current_exposure, baseline_exposure):
    result = rate_ratio_interval(current, baseline, current_exposure, baseline_exposure)
    pi0 = current_exposure / (current_exposure + baseline_exposure)
    reference = central_p(current, current + baseline, pi0)
    assert result.p_value == pytest.approx(reference, rel=1e-12, abs=1e-300)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # statsmodels' own ratio when baseline is 0
@pytest.mark.parametrize(("current", "baseline", "current_exposure", "baseline_exposure"), CASES)
def test_p_value_is_twice_statsmodels_smaller_one_sided_exact_p(current, baseline, current_exposure, baseline_exposure):
    one_sided = [
        poisson_2indep_test(
            current, current_exposure, baseline, baseline_exposure, method="exact-cond", alternative=side
        ).pvalue
        for side in ("smaller", "larger")
    ]
    result = rate_ratio_interval(current, baseline, current_exposure, baseline_exposure)
    assert result.p_value == pytest.approx(min(1.0, 2 * min(one_sided)), rel=1e-9, abs=1e-300)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
@pytest.mark.parametrize(("current", "baseline", "current_exposure", "baseline_exposure"), CASES)
def test_equal_exposures_give_the_same_p_value_as_the_minimum_likelihood_test(
    current, baseline, current_exposure, baseline_exposure
):
    # With pi0 = 1/2 the binomial is symmetric and the two conventions coincide,
    # so statsmodels' two-sided exact-cond p-value is a direct reference here.
    result = rate_ratio_interval(current, baseline)
    reference = poisson_2indep_test(current, 1.0, baseline, 1.0, method="exact-cond").pvalue
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
        2 * binomtest(9, 13, 31 / 61, alternative="greater").pvalue, rel=1e-9
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


def test_case_where_the_minimum_likelihood_p_value_contradicted_the_interval():
    # 7 against 3 with exposures 7 and 12: the minimum-likelihood p-value is 0.045
    # while the Clopper-Pearson interval includes 1. The central p-value is the
    # one the interval inverts, so the two now agree.
    assert binomtest(7, 10, 7 / 19).pvalue < 0.05  # the old convention
    result = rate_ratio_interval(7, 3, 7, 12)
    assert result.p_value == pytest.approx(2 * binom.sf(6, 10, 7 / 19), rel=1e-12)
    assert result.p_value == pytest.approx(0.0696, abs=1e-4)
    assert result.low < 1 < result.high
    assert result.significant is False
    assert result.verdict == "no significant change"
    assert result.note is None


def test_verdict_rule_over_a_grid():
    for current in range(0, 40, 3):
        for baseline in range(0, 40, 4):
            result = rate_ratio_interval(current, baseline, 28, 31)
            expected = "no significant change"
            if result.high is not None and result.high < 1:
                expected = "significant fall"
            elif result.low > 1:
                expected = "significant rise"
            assert result.verdict == expected
            assert result.significant == (expected != "no significant change")


def _random_comparisons(rng, size):
    total = rng.integers(0, 400, size)
    current = rng.binomial(total, rng.uniform(0, 1, size))
    exposures = np.array([1.0, 7.0, 12.0, 28.0, 30.0, 31.0, 365.0, 366.0, 8_500.0, 9_000.0])
    return current, total - current, rng.choice(exposures, size), rng.choice(exposures, size)


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99, 0.999])
def test_interval_excludes_one_exactly_when_p_is_below_alpha(confidence):
    # Fay (2010): Clopper-Pearson is the inversion of the central test. Checked on
    # 20,000 random comparisons per level, including zero counts, zero totals and
    # counts where all events fall in one period.
    rng = np.random.default_rng(int(confidence * 1000))
    current, baseline, current_exposure, baseline_exposure = _random_comparisons(rng, 20_000)
    boundaries = (
        [0, 0, 5, 0, 1, 0, 30, 0, 400, 0],
        [0, 5, 0, 1, 0, 30, 0, 400, 0, 0],
    )
    current = np.concatenate([current, boundaries[0]])
    baseline = np.concatenate([baseline, boundaries[1]])
    current_exposure = np.concatenate([current_exposure, np.full(10, 28.0)])
    baseline_exposure = np.concatenate([baseline_exposure, np.full(10, 31.0)])
    result = rate_ratio_intervals(current, baseline, current_exposure, baseline_exposure, confidence)
    excludes_one = (result.high < 1) | (result.low > 1)
    alpha = 1 - confidence
    assert np.array_equal(excludes_one, result.p_value < alpha)
    assert np.array_equal(result.significant, excludes_one)
    assert 0 < result.significant.sum() < len(current)  # both outcomes are exercised


def test_equivalence_holds_right_up_to_a_tie():
    # Set alpha to an attainable p-value: just above it the change is significant,
    # just below it is not, and at the tie itself the interval touches 1.
    rng = np.random.default_rng(99)
    current, baseline, current_exposure, baseline_exposure = _random_comparisons(rng, 1_500)
    checked = 0
    for c, b, ec, eb in zip(current, baseline, current_exposure, baseline_exposure):
        p = rate_ratio_interval(c, b, ec, eb).p_value
        if not 1e-5 < p < 0.999:  # confidence = 1 - alpha keeps alpha to ~1e-11 relative here
            continue
        checked += 1
        above = rate_ratio_interval(c, b, ec, eb, confidence=1 - p * (1 + 1e-8))
        below = rate_ratio_interval(c, b, ec, eb, confidence=1 - p * (1 - 1e-8))
        assert above.significant and not below.significant
        tie = rate_ratio_interval(c, b, ec, eb, confidence=1 - p)
        limit = tie.high if above.verdict == "significant fall" else tie.low
        assert limit == pytest.approx(1.0, rel=1e-9)
    assert checked > 150


def test_higher_confidence_gives_a_wider_interval():
    narrow = rate_ratio_interval(134, 153, confidence=0.90)
    wide = rate_ratio_interval(134, 153, confidence=0.99)
    assert wide.low < narrow.low < narrow.high < wide.high
    assert "99% CI" in wide.plain


def test_central_p_value_matches_scipy_over_random_binomials():
    rng = np.random.default_rng(20240601)
    for _ in range(2000):
        n = int(rng.integers(1, 400))
        k = int(rng.integers(0, n + 1))
        # Exposures giving pi0 = 1/2, 28/59 and an arbitrary value.
        exposure = float(rng.choice([1.0, 28.0, rng.uniform(0.01, 100)]))
        other = {1.0: 1.0, 28.0: 31.0}.get(exposure, float(rng.uniform(0.01, 100)))
        result = rate_ratio_interval(k, n - k, exposure, other)
        pi0 = exposure / (exposure + other)
        assert result.p_value == pytest.approx(central_p(k, n, pi0), rel=1e-12, abs=1e-300)
        greater = binomtest(k, n, pi0, alternative="greater").pvalue
        less = binomtest(k, n, pi0, alternative="less").pvalue
        assert result.p_value == pytest.approx(min(1.0, 2 * min(greater, less)), rel=1e-9, abs=1e-300)


def test_large_counts_match_scipy():
    # A year of London's crime: totals near two million.
    result = rate_ratio_interval(900_000, 910_000, current_exposure=365, baseline_exposure=366)
    pi0 = 365 / 731
    assert result.p_value == pytest.approx(2 * binom.cdf(900_000, 1_810_000, pi0), rel=1e-9)
    assert result.p_value < 0.05
    assert result.verdict == "significant fall"


def test_extreme_imbalance_keeps_the_limits_accurate():
    # Nearly every event in one period: pi is close to 1 and the odds pi/(1-pi) are
    # taken from complementary beta quantiles, not by subtracting from 1.
    result = rate_ratio_interval(2_000_000, 3)
    total = 2_000_003
    pi = lambda rr: rr / (rr + 1)  # noqa: E731
    assert binom.cdf(2_000_000, total, pi(result.high)) == pytest.approx(0.025, rel=1e-6)
    assert binom.sf(1_999_999, total, pi(result.low)) == pytest.approx(0.025, rel=1e-6)
    assert result.verdict == "significant rise"


@pytest.mark.parametrize("n", [10**6, 10**8, 10**9])
def test_all_events_in_one_period_match_the_closed_form_to_machine_precision(n):
    # For n of n the Clopper-Pearson lower limit is (alpha/2)^(1/n), so its odds are
    # pi / -expm1(log(alpha/2) / n); 1 - pi by subtraction would lose ~1e-9 here.
    pi_low = 0.025 ** (1 / n)
    odds = pi_low / -math.expm1(math.log(0.025) / n)
    assert rate_ratio_interval(n, 0).low == pytest.approx(odds, rel=1e-14)
    assert rate_ratio_interval(0, n).high == pytest.approx(1 / odds, rel=1e-14)


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


# --- The vectorised entry point ----------------------------------------------------------

ARRAY_FIELDS = ("ratio", "low", "high", "p_value", "change_pct", "change_low_pct", "change_high_pct")


def test_vector_equals_scalar_on_random_inputs():
    rng = np.random.default_rng(7)
    current, baseline, current_exposure, baseline_exposure = _random_comparisons(rng, 1_000)
    current[:20], baseline[:20] = 0, rng.integers(0, 5, 20)  # zeros of both kinds
    baseline[20:40] = 0
    for confidence in (0.9, 0.95):
        arrays = rate_ratio_intervals(current, baseline, current_exposure, baseline_exposure, confidence)
        for i in range(len(current)):
            one = rate_ratio_interval(
                int(current[i]), int(baseline[i]), float(current_exposure[i]), float(baseline_exposure[i]), confidence
            )
            for name in ARRAY_FIELDS:
                value = getattr(one, name)
                if value is None:
                    assert math.isnan(getattr(arrays, name)[i]), (name, i)
                else:
                    assert getattr(arrays, name)[i] == value, (name, i)  # same code, so identical
            assert arrays.significant[i] == one.significant
            assert arrays.verdict[i] == one.verdict


def test_vector_undefined_values_are_nan_where_the_scalar_gives_none():
    result = rate_ratio_intervals([0, 6, 0, 134], [0, 0, 6, 153])
    assert np.isnan(result.ratio[:2]).all() and np.isnan(result.high[:2]).all()
    assert np.isnan(result.change_pct[:2]).all() and np.isnan(result.change_high_pct[:2]).all()
    assert result.low[0] == 0.0 and result.p_value[0] == 1.0
    assert result.ratio[2] == 0.0 and result.change_pct[2] == -100.0
    assert np.isfinite(result.low).all() and np.isfinite(result.p_value).all()
    assert result.verdict.tolist() == [
        "no significant change", "significant rise", "significant fall", "no significant change"
    ]
    assert result.significant.dtype == bool


def test_vector_missing_counts_give_no_data_and_a_nan_p_value():
    # A cube of wards with a missing month gives NaN totals; those comparisons are
    # not tests (benjamini_hochberg leaves NaN p-values out) and say "no data".
    result = rate_ratio_intervals([134, np.nan, 6, 0], [153, 20, np.nan, 0])
    for name in ARRAY_FIELDS:
        assert np.isnan(getattr(result, name)[1:3]).all(), name
    assert result.significant.tolist() == [False, False, False, False]
    assert result.verdict.tolist() == ["no significant change", "no data", "no data", "no significant change"]
    assert result.p_value[0] == rate_ratio_interval(134, 153).p_value and result.p_value[3] == 1.0
    assert np.isnan(result.current[1]) and result.current[2] == 6
    assert json.loads(json.dumps(result.to_dict(), allow_nan=False))["p_value"][1] is None
    with pytest.raises(ValueError, match="current must be a whole number"):
        rate_ratio_interval(math.nan, 5)  # one comparison cannot be missing


def test_vector_broadcasts_wards_against_months():
    # Three wards by two months against one baseline per ward, per day.
    current = np.array([[10, 12], [150, 90], [0, 3]])
    baseline = np.array([[20], [100], [4]])
    result = rate_ratio_intervals(current, baseline, current_exposure=np.array([31.0, 30.0]), baseline_exposure=365.0)
    assert isinstance(result, RateRatioArrays)
    assert result.shape == (3, 2)
    assert result.baseline.shape == (3, 2) and result.current_exposure.shape == (3, 2)
    assert result.ratio[1, 1] == pytest.approx((90 / 30) / (100 / 365))
    one = rate_ratio_interval(150, 100, 31, 365)
    assert result.low[1, 0] == one.low and result.verdict[1, 0] == one.verdict


def test_vector_accepts_plain_numbers_and_lists():
    result = rate_ratio_intervals(134, 153)
    assert result.shape == ()
    assert float(result.p_value) == rate_ratio_interval(134, 153).p_value
    assert rate_ratio_intervals([134.0, 1217.0], [153, 1661]).verdict.tolist() == [
        "no significant change", "significant fall"
    ]


def test_vector_result_is_read_only():
    result = rate_ratio_intervals([1, 2, 3], [3, 2, 1])
    with pytest.raises(ValueError):
        result.low[0] = 5.0
    with pytest.raises(AttributeError):
        result.low = np.zeros(3)  # type: ignore[misc]


def test_vector_to_dict_is_json_safe():
    result = rate_ratio_intervals([[0, 6], [0, 134]], [[0, 0], [6, 153]])
    data = result.to_dict()
    text = json.dumps(data, allow_nan=False)
    back = json.loads(text)
    assert back["ratio"][0] == [None, None]
    assert back["high"][1][0] == pytest.approx(result.high[1, 0])
    assert back["verdict"][0][1] == "significant rise"
    assert back["current"] == [[0, 6], [0, 134]]
    assert back["confidence"] == 0.95


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"current": [1, -1], "baseline": [5, 5]}, r"current\[1\] \(-1.0\) must not be negative"),
        ({"current": [1, 2], "baseline": [5, 2.5]}, r"baseline\[1\] \(2.5\) must be a whole number"),
        ({"current": [1, np.inf], "baseline": [5, 5]}, r"current\[1\] \(inf\) must be a whole number"),
        ({"current": [1, None], "baseline": [5, 5]}, "current must be whole numbers.*dtype object.*use NaN"),
        ({"current": [1], "baseline": [5], "current_exposure": np.nan}, r"current_exposure \(nan\) must be a positive"),
        ({"current": ["1"], "baseline": [5]}, "current must be whole numbers.*dtype <U1"),
        ({"current": [True], "baseline": [5]}, "current must be whole numbers.*dtype bool"),
        ({"current": [1], "baseline": [5], "current_exposure": [[1.0, 0.0]]}, r"current_exposure\[0, 1\]"),
        ({"current": [1], "baseline": [5], "baseline_exposure": np.inf}, "baseline_exposure .*positive finite"),
        ({"current": [1, 2], "baseline": [1, 2, 3]}, r"cannot be broadcast.*current \(2,\), baseline \(3,\)"),
        ({"current": [1], "baseline": [5], "confidence": 95}, "confidence must be strictly between 0 and 1"),
    ],
)
def test_vector_bad_input_raises_a_clear_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        rate_ratio_intervals(**kwargs)


def test_a_hundred_thousand_comparisons_run_in_one_call():
    # Every ward x measure x period at once. Speed belongs in `make bench`; this
    # only checks that the vectorised path copes with the size and stays sane.
    rng = np.random.default_rng(2024)
    size = 100_000
    daily_rate = rng.gamma(1.0, 2.0, size)
    baseline = rng.poisson(daily_rate * 31)
    current = rng.poisson(daily_rate * 28)  # no true change in the daily rate
    result = rate_ratio_intervals(current, baseline, 28, 31)
    assert result.shape == (size,)
    assert np.isfinite(result.p_value).all() and ((result.p_value >= 0) & (result.p_value <= 1)).all()
    defined = result.ratio[np.isfinite(result.ratio)]
    assert (defined >= 0).all()
    # No true change anywhere: an exact test is conservative, so at most 5% are
    # flagged (and FDR control is still needed before anyone is told).
    assert result.significant.mean() <= 0.05
    assert set(np.unique(result.verdict)) <= {"significant fall", "significant rise", "no significant change"}
