"""Harm-weighted rate ratio: statsmodels' log-scale Wald method, the exact interval, and simulated coverage."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from statsmodels.stats.rates import confint_poisson_2indep
from statsmodels.stats.rates import test_poisson_2indep as poisson_2indep_test

from crimeplan.stats.rate_ratio import rate_ratio_interval
from crimeplan.stats.weighted_poisson import (
    FEW_OFFENCES,
    WeightedRateRatioArrays,
    weighted_rate_ratio_interval,
    weighted_rate_ratio_intervals,
)

# CCHI-like weights (days): rape, violence with injury, residential burglary, shoplifting.
WEIGHTS = np.array([2555.0, 365.0, 273.5, 1.0])


def test_harm_and_variance_are_the_weighted_sums():
    result = weighted_rate_ratio_interval([2, 30, 400], [2555, 365, 1], [1, 25, 380], [2555, 365, 1])
    assert result.current_harm == 2 * 2555 + 30 * 365 + 400
    assert result.current_var == 2 * 2555**2 + 30 * 365**2 + 400
    assert result.baseline_harm == 2555 + 25 * 365 + 380
    assert result.baseline_var == 2555**2 + 25 * 365**2 + 380
    assert result.current_offences == 432 and result.baseline_offences == 406
    assert result.current_effective_count == pytest.approx(result.current_harm**2 / result.current_var)
    assert result.ratio == pytest.approx(result.current_harm / result.baseline_harm)
    se = math.sqrt(result.current_var / result.current_harm**2 + result.baseline_var / result.baseline_harm**2)
    assert result.low == pytest.approx(result.ratio * math.exp(-1.959963984540054 * se), rel=1e-12)
    assert result.high == pytest.approx(result.ratio * math.exp(1.959963984540054 * se), rel=1e-12)


def test_variance_estimate_matches_the_simulated_variance_of_harm():
    # Dobson et al. (1991): var(Σ w X) = Σ w² λ, estimated without bias by Σ w² X.
    rng = np.random.default_rng(5)
    rates = np.array([3.0, 40.0, 25.0, 500.0])
    counts = rng.poisson(rates, size=(50_000, 4))
    harm = counts @ WEIGHTS
    estimated = counts @ (WEIGHTS**2)
    assert np.var(harm) == pytest.approx(rates @ WEIGHTS**2, rel=0.03)
    assert estimated.mean() == pytest.approx(np.var(harm), rel=0.03)


@pytest.mark.parametrize(
    ("current", "baseline", "current_exposure", "baseline_exposure"),
    [(134, 153, 1.0, 1.0), (1661, 1217, 1.0, 1.0), (12, 15, 28.0, 31.0), (700, 1100, 7.0, 12.0), (3, 11, 1.0, 1.0)],
)
def test_unit_weights_are_the_log_scale_wald_method_in_statsmodels(current, baseline, current_exposure, baseline_exposure):
    result = weighted_rate_ratio_interval([current], [1], [baseline], [1], current_exposure, baseline_exposure)
    low, high = confint_poisson_2indep(
        current, current_exposure, baseline, baseline_exposure, method="wald-log", compare="ratio"
    )
    assert result.low == pytest.approx(low, rel=1e-12)
    assert result.high == pytest.approx(high, rel=1e-12)
    p_value = poisson_2indep_test(current, current_exposure, baseline, baseline_exposure, method="wald-log").pvalue
    assert result.p_value == pytest.approx(p_value, rel=1e-9)


@pytest.mark.parametrize(("current", "baseline"), [(1661, 1217), (1217, 1661), (5000, 4800), (2500, 3100)])
def test_unit_weights_agree_closely_with_the_exact_interval_for_large_counts(current, baseline):
    weighted = weighted_rate_ratio_interval([current], [1], [baseline], [1], 28, 31)
    exact = rate_ratio_interval(current, baseline, 28, 31)
    assert weighted.ratio == pytest.approx(exact.ratio, rel=1e-12)
    assert weighted.low == pytest.approx(exact.low, rel=2e-3)
    assert weighted.high == pytest.approx(exact.high, rel=2e-3)
    assert weighted.verdict == exact.verdict
    if exact.p_value > 1e-6:
        assert weighted.p_value == pytest.approx(exact.p_value, rel=0.1)


def test_one_weight_for_everything_is_the_same_as_counting():
    counts = ([3, 40, 500], [5, 35, 480])
    ones = weighted_rate_ratio_interval(counts[0], [1, 1, 1], counts[1], [1, 1, 1])
    scaled = weighted_rate_ratio_interval(counts[0], [365, 365, 365], counts[1], [365, 365, 365])
    assert scaled.ratio == pytest.approx(ones.ratio, rel=1e-12)
    assert scaled.low == pytest.approx(ones.low, rel=1e-12)
    assert scaled.high == pytest.approx(ones.high, rel=1e-12)
    assert scaled.p_value == pytest.approx(ones.p_value, rel=1e-9)
    assert scaled.current_effective_count == pytest.approx(543)


def test_heavy_weights_widen_the_interval():
    # Same counts, but harm carried by a few serious offences is far less certain.
    counts_c, counts_b = [4, 60, 900], [2, 55, 880]
    unweighted = weighted_rate_ratio_interval(counts_c, [1, 1, 1], counts_b, [1, 1, 1])
    harm = weighted_rate_ratio_interval(counts_c, [2555, 365, 1], counts_b, [2555, 365, 1])
    assert math.log(harm.high / harm.low) > 3 * math.log(unweighted.high / unweighted.low)
    assert harm.current_effective_count < 40 < 900 < unweighted.current_effective_count


def _simulated_coverage(rng, current_rates, baseline_rates, pairs, weights=WEIGHTS, exposures=(1.0, 1.0)):
    current = rng.poisson(current_rates, size=(pairs, len(weights)))
    baseline = rng.poisson(baseline_rates, size=(pairs, len(weights)))
    result = weighted_rate_ratio_intervals(
        current @ weights, current @ weights**2, baseline @ weights, baseline @ weights**2, *exposures
    )
    true_ratio = (current_rates @ weights / exposures[0]) / (baseline_rates @ weights / exposures[1])
    covered = (result.low <= true_ratio) & (true_ratio <= result.high)
    return covered.mean(), result


def test_coverage_with_realistic_borough_month_counts_is_close_to_95_percent():
    # A borough month: ~20 rapes, ~250 violence with injury, ~150 burglaries and
    # ~400 shoplifting offences, harm falling in some categories and not others.
    rng = np.random.default_rng(20250101)
    baseline_rates = np.array([20.0, 250.0, 150.0, 400.0])
    current_rates = baseline_rates * np.array([0.8, 1.0, 0.9, 1.3])
    coverage, result = _simulated_coverage(rng, current_rates, baseline_rates, pairs=2_000)
    assert 0.93 <= coverage <= 0.97
    assert not result.few_offences.any()


def test_coverage_with_unequal_exposures_and_no_change():
    # A 28-day month against a 31-day month at the same daily harm rate.
    rng = np.random.default_rng(31)
    daily = np.array([0.7, 8.0, 5.0, 13.0])
    coverage, result = _simulated_coverage(rng, daily * 28, daily * 31, pairs=2_000, exposures=(28.0, 31.0))
    assert 0.93 <= coverage <= 0.97
    # With no true change about 5% are (wrongly) called significant, at most a little more.
    assert result.significant.mean() <= 0.07


def test_coverage_is_poor_when_a_few_serious_offences_carry_the_harm_and_the_note_says_so():
    # A ward month: a rape is rare, but when it happens it is most of the harm.
    rng = np.random.default_rng(8)
    rates = np.array([0.3, 3.0, 2.0, 20.0])
    coverage, result = _simulated_coverage(rng, rates, rates, pairs=4_000)
    defined = ~np.isnan(result.low)
    assert coverage < 0.92  # the known weakness the note warns about
    assert result.few_offences[defined].mean() > 0.95
    one = weighted_rate_ratio_interval([1, 3, 2, 20], WEIGHTS, [0, 4, 1, 18], WEIGHTS)
    assert one.few_offences
    assert "few offences carry most of the harm in the current period" in one.note
    assert "rough" in one.note and "approximate" in one.note


def test_note_always_says_approximate():
    result = weighted_rate_ratio_interval([20, 250, 150, 400], WEIGHTS, [22, 240, 160, 390], WEIGHTS)
    assert result.current_effective_count > FEW_OFFENCES and result.few_offences is False
    assert result.note.startswith("approximate")
    assert result.plain.startswith("Harm ")
    assert "(approximate 95% CI " in result.plain


def test_plain_sentences_and_verdicts():
    fall = weighted_rate_ratio_interval([10, 150, 90, 300], WEIGHTS, [30, 250, 150, 400], WEIGHTS)
    assert fall.verdict == "significant fall" and fall.significant and fall.high < 1
    assert fall.plain.startswith("Harm down ")
    assert fall.plain.endswith("a fall larger than chance alone would explain.")
    noise = weighted_rate_ratio_interval([2, 30, 20, 50], WEIGHTS, [1, 25, 22, 45], WEIGHTS)
    assert noise.verdict == "no significant change" and noise.low < 1 < noise.high
    assert noise.p_value >= 0.05
    rate = weighted_rate_ratio_interval([20, 250, 150, 400], WEIGHTS, [20, 250, 150, 400], WEIGHTS, 28, 31)
    assert rate.plain.startswith("Harm rate up 11%")


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_interval_excludes_one_exactly_when_p_is_below_alpha(confidence):
    rng = np.random.default_rng(11)
    rates = rng.uniform(0.5, 3, size=(5_000, 1)) * np.array([2.0, 30.0, 20.0, 100.0])
    current = rng.poisson(rates * rng.uniform(0.7, 1.3, size=(5_000, 1)))
    baseline = rng.poisson(rates)
    result = weighted_rate_ratio_intervals(
        current @ WEIGHTS, current @ WEIGHTS**2, baseline @ WEIGHTS, baseline @ WEIGHTS**2, confidence=confidence
    )
    excludes_one = (result.low > 1) | (result.high < 1)
    assert np.array_equal(excludes_one, result.p_value < 1 - confidence)
    assert np.array_equal(result.significant, excludes_one)
    assert 0 < result.significant.sum() < 5_000


def test_vector_equals_scalar_on_random_inputs():
    rng = np.random.default_rng(3)
    for _ in range(300):
        k = int(rng.integers(1, 6))
        weights_c = rng.choice([0.0, 1.0, 273.5, 365.0, 2555.0, 5475.0], k)
        weights_b = rng.choice([0.0, 1.0, 273.5, 365.0, 2555.0, 5475.0], k)
        counts_c = rng.poisson(rng.uniform(0, 30, k))
        counts_b = rng.poisson(rng.uniform(0, 30, k))
        exposures = (float(rng.choice([1.0, 28.0, 31.0])), float(rng.choice([1.0, 30.0, 365.0])))
        one = weighted_rate_ratio_interval(counts_c, weights_c, counts_b, weights_b, *exposures, confidence=0.9)
        many = weighted_rate_ratio_intervals(
            [one.current_harm], [one.current_var], [one.baseline_harm], [one.baseline_var], *exposures, confidence=0.9
        )
        for name in (
            "ratio", "low", "high", "p_value", "change_pct", "change_low_pct", "change_high_pct",
            "current_effective_count", "baseline_effective_count",
        ):
            value = getattr(one, name)
            if value is None:
                assert math.isnan(getattr(many, name)[0]), name
            else:
                assert getattr(many, name)[0] == value, name
        assert many.significant[0] == one.significant
        assert many.few_offences[0] == one.few_offences
        assert many.verdict[0] == one.verdict


def test_vector_missing_sums_give_no_data():
    result = weighted_rate_ratio_intervals(
        [9000.0, np.nan, 9000.0, 0.0], [4e6, np.nan, np.nan, 0.0], [10000.0, 10000.0, 10000.0, 10000.0], 5e6
    )
    assert np.isnan(result.p_value[1:3]).all() and np.isnan(result.ratio[1:3]).all()
    assert np.isnan(result.current_effective_count[1:3]).all()
    assert result.verdict.tolist() == ["no significant change", "no data", "no data", "no significant change"]
    assert not result.significant.any() and not result.few_offences[1:3].any()
    assert result.ratio[3] == 0.0 and np.isnan(result.p_value[3])


def test_vector_broadcasts_and_is_read_only():
    result = weighted_rate_ratio_intervals(
        [[9000.0], [20000.0]], [[4e6], [9e6]], [10000.0, 12000.0, 0.0], [5e6, 6e6, 0.0], 28.0, 31.0
    )
    assert isinstance(result, WeightedRateRatioArrays)
    assert result.shape == (2, 3)
    assert np.isnan(result.ratio[:, 2]).all() and np.isnan(result.low[:, 2]).all()
    assert result.ratio[1, 0] == pytest.approx((20000 / 28) / (10000 / 31))
    with pytest.raises(ValueError):
        result.ratio[0, 0] = 1.0


def test_a_hundred_thousand_harm_comparisons_run_in_one_call():
    rng = np.random.default_rng(1)
    size = 100_000
    current = rng.poisson(rng.uniform(0, 3, size=(size, 1)) * np.array([0.2, 3.0, 2.0, 15.0]))
    baseline = rng.poisson(rng.uniform(0, 3, size=(size, 1)) * np.array([0.2, 3.0, 2.0, 15.0]))
    result = weighted_rate_ratio_intervals(
        current @ WEIGHTS, current @ WEIGHTS**2, baseline @ WEIGHTS, baseline @ WEIGHTS**2
    )
    assert result.shape == (size,)
    both = (current @ WEIGHTS > 0) & (baseline @ WEIGHTS > 0)
    assert np.array_equal(np.isfinite(result.p_value), both)
    assert ((result.low[both] < result.ratio[both]) & (result.ratio[both] < result.high[both])).all()


# --- Zero harm and bad input ---------------------------------------------------------------


def test_no_harm_in_either_period():
    result = weighted_rate_ratio_interval([0, 0], [2555, 1], [0, 0], [2555, 1])
    assert result.ratio is None and result.low is None and result.high is None and result.p_value is None
    assert result.current_effective_count is None and result.baseline_effective_count is None
    assert result.significant is False and result.verdict == "no significant change"
    assert result.plain == "No harm-weighted offences in either period, so no change in harm can be measured."
    assert "undefined" in result.note


def test_no_harm_in_the_baseline():
    result = weighted_rate_ratio_interval([1, 0], [2555, 1], [0, 0], [2555, 1])
    assert result.ratio is None and result.low is None and result.high is None and result.p_value is None
    assert result.change_pct is None
    assert result.current_effective_count == 1.0
    assert result.plain.startswith("Harm up from none to 2,555: no interval")
    assert "unbounded" in result.note and "exact rate ratio" in result.note


def test_no_harm_in_the_current_period():
    result = weighted_rate_ratio_interval([0, 0, 0], [2555, 365, 1], [1, 2, 3], [2555, 365, 1])
    assert result.ratio == 0.0 and result.change_pct == -100.0
    assert result.low is None and result.high is None and result.p_value is None
    assert result.change_low_pct is None and result.change_high_pct is None
    assert result.significant is False and result.verdict == "no significant change"
    assert result.plain.startswith("Harm down 100% (from 3,288 to none): no interval")


def test_zero_weights_contribute_nothing():
    with_zero = weighted_rate_ratio_interval([5, 40, 7], [365, 1, 0], [4, 38, 9], [365, 1, 0])
    without = weighted_rate_ratio_interval([5, 40], [365, 1], [4, 38], [365, 1])
    assert with_zero.low == without.low and with_zero.high == without.high
    assert with_zero.current_offences == 52  # offences are still counted
    only_zero = weighted_rate_ratio_interval([5], [0], [4], [0])
    assert only_zero.ratio is None and only_zero.current_harm == 0.0


def test_fractional_harm_is_printed_with_one_decimal():
    result = weighted_rate_ratio_interval([1], [273.5], [0], [273.5])
    assert "from none to 273.5" in result.plain


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (([1, 2], [1], [1], [1]), {}, "current_counts has 2 categories but current_weights has 1"),
        (([], [], [1], [1]), {}, "current_counts is empty"),
        (([1], [1], [-1], [1]), {}, r"baseline_counts\[0\] must not be negative"),
        (([1.5], [1], [1], [1]), {}, r"current_counts\[0\] must be a whole number"),
        (([True], [1], [1], [1]), {}, r"current_counts\[0\] must be a whole number"),
        (([1], [1], [1], [-365]), {}, r"baseline_weights\[0\] must be a non-negative finite number"),
        (([1], [math.nan], [1], [1]), {}, r"current_weights\[0\] must be a non-negative finite number"),
        (([1], [1], [1], [1]), {"current_exposure": 0}, "current_exposure must be a positive"),
        (([1], [1], [1], [1]), {"confidence": 1.5}, "confidence must be strictly between 0 and 1"),
    ],
)
def test_bad_input_raises_a_clear_value_error(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        weighted_rate_ratio_interval(*args, **kwargs)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([10.0, -1.0], [100.0, 1.0], 5.0, 25.0), r"current_harm\[1\] \(-1.0\) must be a non-negative"),
        (([10.0], [np.inf], 5.0, 25.0), r"current_var\[0\] \(inf\) must be a non-negative"),
        (([10.0], [0.0], 5.0, 25.0), r"current_harm\[0\] \(10.0\) and current_var disagree"),
        ((10.0, 100.0, 0.0, 25.0), r"baseline_harm \(0.0\) and baseline_var disagree"),
        ((["10"], [100.0], 5.0, 25.0), "current_harm must be non-negative numbers.*dtype <U2"),
        (([10.0, 1.0], [100.0, 1.0, 1.0], 5.0, 25.0), "cannot be broadcast"),
    ],
)
def test_vector_bad_input_raises_a_clear_value_error(args, message):
    with pytest.raises(ValueError, match=message):
        weighted_rate_ratio_intervals(*args)


def test_to_dict_is_json_safe():
    for result in (
        weighted_rate_ratio_interval([0], [1], [0], [1]),
        weighted_rate_ratio_interval([1], [2555], [0], [1]),
        weighted_rate_ratio_interval([0], [2555], [3], [1]),
        weighted_rate_ratio_interval([3, 40], [2555, 365], [2, 45], [2555, 365]),
    ):
        data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
        assert data["verdict"] == result.verdict and data["note"]
    arrays = weighted_rate_ratio_intervals([0.0, 10.0, 5.0], [0.0, 100.0, 25.0], [0.0, 0.0, 5.0], [0.0, 0.0, 25.0])
    data = json.loads(json.dumps(arrays.to_dict(), allow_nan=False))
    assert data["ratio"] == [None, None, 1.0]
    assert data["few_offences"] == [False, True, True]


def test_result_is_frozen():
    result = weighted_rate_ratio_interval([1], [1], [2], [1])
    with pytest.raises(AttributeError):
        result.ratio = 3.0  # type: ignore[misc]
