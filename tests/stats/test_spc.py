"""Control charts: Montgomery's textbook c-chart, Laney's u′, and the Western Electric rules."""

from __future__ import annotations

import json

import numpy as np
import pytest
import statsmodels.api as sm

from crimeplan.stats.spc import c_chart, u_chart, western_electric_rules

# Montgomery, Introduction to Statistical Quality Control (6th ed.), Example 7.3 /
# Table 7.7: nonconformities in 26 successive samples of 100 printed circuit boards.
PCB_NONCONFORMITIES = [
    21, 24, 16, 12, 15, 5, 28, 20, 31, 25, 20, 24, 16,
    19, 10, 17, 13, 22, 18, 39, 30, 24, 16, 19, 17, 15,
]


def test_montgomery_circuit_board_c_chart():
    chart = c_chart(PCB_NONCONFORMITIES)
    assert chart.chart == "c"
    # Published: c-bar = 19.85, UCL = 33.22, LCL = 6.48 (the book rounds c-bar to
    # 19.85 before computing the limits; unrounded they are 33.211 and 6.481).
    assert chart.centre == [pytest.approx(516 / 26)] * 26
    assert round(chart.centre[0], 2) == 19.85
    assert chart.upper[0] == pytest.approx(33.22, abs=0.01)
    assert chart.lower[0] == pytest.approx(6.48, abs=0.01)
    # Published: samples 6 and 20 are beyond the control limits.
    beyond = [(s.index, s.side) for s in chart.signals if s.rule == 1]
    assert beyond == [(5, "below"), (19, "above")]
    # Sample 21 (30) is the second of two consecutive points above 2 sigma (28.76).
    assert [(s.index, s.rule) for s in chart.signals if s.rule != 1] == [(20, 2)]
    assert chart.exceptions == [5, 19, 20]


def test_montgomery_revised_limits_after_removing_the_two_assignable_causes():
    revised = [c for i, c in enumerate(PCB_NONCONFORMITIES) if i not in (5, 19)]
    chart = c_chart(revised)
    # Published revised limits: c-bar = 19.67, UCL = 32.97, LCL = 6.36.
    assert chart.centre[0] == pytest.approx(472 / 24)
    assert chart.centre[0] == pytest.approx(19.67, abs=0.005)
    assert chart.upper[0] == pytest.approx(32.97, abs=0.01)
    assert chart.lower[0] == pytest.approx(6.36, abs=0.01)
    assert not [s for s in chart.signals if s.rule == 1]


def test_dispersion_test_matches_a_poisson_glm():
    chart = c_chart(PCB_NONCONFORMITIES)
    glm = sm.GLM(PCB_NONCONFORMITIES, np.ones(26), family=sm.families.Poisson()).fit()
    assert chart.dispersion_chi2 == pytest.approx(glm.pearson_chi2, rel=1e-9)
    assert chart.dispersion_df == 25
    assert chart.dispersion_p_value < 0.05
    assert "Laney" in chart.note  # too much variation for c-chart limits


def test_u_chart_with_equal_exposures_is_a_scaled_c_chart():
    c = c_chart(PCB_NONCONFORMITIES)
    u = u_chart(PCB_NONCONFORMITIES, [100] * 26, laney=False)
    assert u.chart == "u"
    assert np.allclose(np.array(u.upper) * 100, c.upper)
    assert np.allclose(np.array(u.lower) * 100, c.lower)
    assert np.allclose(np.array(u.values) * 100, PCB_NONCONFORMITIES)
    assert u.exceptions == c.exceptions


def test_u_chart_limits_vary_with_exposure():
    counts = [10, 20, 15, 0]
    days = [28, 31, 30, 31]
    chart = u_chart(counts, days, laney=False)
    rate = 45 / 120
    assert chart.centre == [pytest.approx(rate)] * 4
    for i, n in enumerate(days):
        assert chart.upper[i] == pytest.approx(rate + 3 * np.sqrt(rate / n))
        assert chart.lower[i] == pytest.approx(max(0.0, rate - 3 * np.sqrt(rate / n)))
    assert chart.values == pytest.approx([c / n for c, n in zip(counts, days)])
    assert chart.upper[0] > chart.upper[1]  # shorter month, wider limits


def test_u_chart_dispersion_matches_a_poisson_glm_with_offset():
    rng = np.random.default_rng(7)
    days = rng.integers(28, 32, 24).astype(float)
    counts = rng.poisson(3.5 * days)
    chart = u_chart(counts.tolist(), days.tolist(), laney=False)
    glm = sm.GLM(counts, np.ones(24), family=sm.families.Poisson(), offset=np.log(days)).fit()
    assert chart.dispersion_chi2 == pytest.approx(glm.pearson_chi2, rel=1e-9)


def _negative_binomial_months(seed: int, k: int = 36):
    rng = np.random.default_rng(seed)
    days = rng.integers(28, 32, k).astype(float)
    mean = 3.3 * days  # about 100 a month
    size = 8.0  # variance = mean + mean^2 / 8: heavily overdispersed
    counts = rng.negative_binomial(size, size / (size + mean))
    return counts.tolist(), days.tolist()


def test_overdispersed_counts_switch_on_laney_and_widen_the_limits():
    counts, days = _negative_binomial_months(11)
    auto = u_chart(counts, days)
    plain = u_chart(counts, days, laney=False)
    assert auto.chart == "laney u′"
    assert plain.chart == "u" and plain.sigma_z is None
    assert "too narrow" in plain.note
    assert auto.sigma_z is not None and auto.sigma_z > 2
    assert auto.dispersion_p_value < 0.05
    assert all(a > p for a, p in zip(auto.upper, plain.upper))
    assert len(auto.exceptions) < len(plain.exceptions)
    assert "Laney" in auto.note


def test_laney_sigma_z_matches_an_independent_computation():
    counts, days = _negative_binomial_months(5)
    chart = u_chart(counts, days, laney=True)
    c = np.array(counts, dtype=float)
    n = np.array(days)
    u_bar = c.sum() / n.sum()
    z = (c / n - u_bar) / np.sqrt(u_bar / n)
    sigma_z = np.mean(np.abs(np.diff(z))) / 1.128
    assert chart.sigma_z == pytest.approx(sigma_z, rel=1e-12)
    assert chart.upper == pytest.approx((u_bar + 3 * sigma_z * np.sqrt(u_bar / n)).tolist())
    assert chart.sigma == pytest.approx((sigma_z * np.sqrt(u_bar / n)).tolist())


def test_poisson_counts_keep_the_plain_u_chart():
    rng = np.random.default_rng(3)
    days = rng.integers(28, 32, 36).astype(float)
    counts = rng.poisson(3.3 * days)
    auto = u_chart(counts.tolist(), days.tolist())
    assert auto.chart == "u"
    assert auto.sigma_z is None
    forced = u_chart(counts.tolist(), days.tolist(), laney=True)
    assert forced.chart == "laney u′"
    assert 0.7 < forced.sigma_z < 1.3  # close to 1 for Poisson data


def test_planted_shift_is_found_by_rule_4():
    # Phase I: two years at 100 a month set the limits. Phase II: the rate rises
    # 15% (1.5 sigma), too little for most single months to leave the limits.
    rng = np.random.default_rng(2024)
    before = rng.poisson(100, 24)
    after = rng.poisson(115, 24)
    phase_one = c_chart(before.tolist())
    assert not [s for s in phase_one.signals if s.rule == 4]
    signals = western_electric_rules(after, phase_one.centre[0], phase_one.sigma[0])
    run_above = [s for s in signals if s.rule == 4]
    assert run_above and all(s.side == "above" for s in run_above)
    assert run_above[0].description == "8 points in a row above the centre line"
    # The run really is there: eight consecutive months above the Phase I mean.
    first = run_above[0].index
    assert np.all(after[first - 7 : first + 1] > phase_one.centre[0])
    assert not [s for s in signals if s.side == "below"]
    assert not [s for s in signals if s.rule == 1]  # no single month is extreme


def test_rule_1_each_side():
    signals = western_electric_rules([0, 3.5, 0, -3.2, 0], 0, 1)
    assert [(s.index, s.rule, s.side) for s in signals] == [(1, 1, "above"), (3, 1, "below")]
    assert "outside the control limits" in signals[0].description


def test_rule_2_two_of_three_beyond_two_sigma():
    signals = western_electric_rules([0, 0, 2.5, 0.5, 2.5, 0], 0, 1)
    assert [(s.index, s.rule, s.side) for s in signals] == [(4, 2, "above")]
    # The normal point after two extreme ones is not flagged; the second extreme one is.
    assert [(s.index, s.rule) for s in western_electric_rules([-2.5, -2.5, 0], 0, 1)] == [(1, 2)]
    # Opposite sides do not combine; three apart do not count.
    assert western_electric_rules([2.5, -2.5, 0, 0], 0, 1) == []
    assert western_electric_rules([2.5, 0, 0, 2.5], 0, 1) == []
    # Exactly 2 sigma is not beyond 2 sigma.
    assert western_electric_rules([2.0, 2.0, 2.0], 0, 1) == []


def test_rule_3_four_of_five_beyond_one_sigma():
    signals = western_electric_rules([1.5, 1.5, 0, 1.5, 1.5], 0, 1)
    assert [(s.index, s.rule, s.side) for s in signals] == [(4, 3, "above")]
    assert western_electric_rules([1.5, 1.5, 1.5, 0, 0, 1.5], 0, 1) == []
    below = western_electric_rules([-1.2, -1.2, -1.2, -1.2, 5 - 5], 0, 1)
    assert [(s.index, s.rule, s.side) for s in below] == [(3, 3, "below")]


def test_rule_4_eight_in_a_row():
    nine_above = western_electric_rules([0.5] * 9, 0, 1)
    assert [(s.index, s.rule) for s in nine_above] == [(7, 4), (8, 4)]
    assert nine_above[1].description == "9 points in a row above the centre line"
    # A point on the centre line breaks the run.
    assert western_electric_rules([0.5] * 4 + [0.0] + [0.5] * 4, 0, 1) == []
    assert [s.side for s in western_electric_rules([-0.1] * 8, 0, 1)] == ["below"]


def test_rules_accept_per_point_centre_and_sigma():
    values = [10, 10, 30]
    centre = [10, 10, 10]
    sigma = [1, 1, 10]  # 30 is only 2 sigma above its own centre
    assert western_electric_rules(values, centre, sigma) == []
    assert [s.index for s in western_electric_rules(values, centre, [1, 1, 1])] == [2]
    with pytest.raises(ValueError, match="one number per value"):
        western_electric_rules(values, [1, 2], 1)
    with pytest.raises(ValueError, match="negative"):
        western_electric_rules(values, 0, -1)


def test_a_single_month_does_not_crash():
    chart = c_chart([17])
    assert chart.centre == [17.0]
    assert chart.upper == [pytest.approx(17 + 3 * np.sqrt(17))]
    assert chart.signals == [] and chart.exceptions == []
    assert "only one point" in chart.note
    u = u_chart([4], [31])
    assert u.chart == "u" and u.signals == []
    forced = u_chart([4], [31], laney=True)
    assert forced.chart == "u" and "Laney" in forced.note


def test_all_zero_counts_give_zero_limits():
    chart = u_chart([0, 0, 0, 0], [28, 31, 30, 31])
    assert chart.centre == [0.0] * 4
    assert chart.upper == [0.0] * 4 and chart.lower == [0.0] * 4
    assert chart.signals == []
    assert c_chart([0, 0, 0]).upper == [0.0, 0.0, 0.0]


def test_zero_centre_flags_any_event():
    chart = c_chart([0] * 11 + [1])
    assert chart.centre[0] == pytest.approx(1 / 12)
    assert 11 in chart.exceptions  # 1 is above 1/12 + 3 * sqrt(1/12) = 0.95


def test_short_series_carry_a_note():
    assert "imprecise" in c_chart([5, 7, 6]).note
    assert c_chart(list(range(10, 22))).note is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: c_chart([]), "empty"),
        (lambda: c_chart([3, -1]), r"counts\[1\] must not be negative"),
        (lambda: c_chart([3, 2.5]), r"counts\[1\] must be a whole number"),
        (lambda: c_chart([3, None]), r"counts\[1\] must be a whole number"),
        (lambda: u_chart([3, 4], [30]), "one exposure per count"),
        (lambda: u_chart([3, 4], [30, 0]), r"exposures\[1\] must be a positive"),
    ],
)
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_to_dict_is_json_safe():
    counts, days = _negative_binomial_months(1)
    for chart in (u_chart(counts, days), c_chart(PCB_NONCONFORMITIES), c_chart([3]), u_chart([0, 0], [1, 1])):
        data = json.loads(json.dumps(chart.to_dict(), allow_nan=False))
        assert set(data) >= {"chart", "centre", "lower", "upper", "sigma_z", "values", "signals", "exceptions"}
        assert all(set(s) == {"index", "rule", "side", "description"} for s in data["signals"])
