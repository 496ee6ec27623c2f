"""Survey intervals: Newcombe's published examples and statsmodels' Wilson / Newcombe intervals."""

from __future__ import annotations

import json

import numpy as np
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from crimeplan.stats.survey import proportion_change, proportion_change_counts, wilson_interval


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        # Newcombe (1998a), Table II, method 3 (Wilson score without continuity correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_1998a(successes, n, low, high):
    result = wilson_interval(successes / n, n)
    assert round(result.low, 4) == low
    assert round(result.high, 4) == high


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "low", "high"),
    [
        # Newcombe (1998b), Table II, method 10 (hybrid score, no continuity correction).
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
        (0, 10, 0, 10, -0.2775, 0.2775),
        (10, 10, 0, 20, 0.6791, 1.0000),
        (10, 10, 0, 10, 0.6075, 1.0000),
    ],
)
def test_difference_matches_newcombe_1998b(x1, n1, x2, n2, low, high):
    result = proportion_change(x1 / n1, n1, x2 / n2, n2)
    assert round(result.low_pp / 100, 4) == low
    assert round(result.high_pp / 100, 4) == high
    assert result.difference_pp == pytest.approx((x1 / n1 - x2 / n2) * 100)


def test_wilson_matches_statsmodels_over_a_grid():
    for n in (1, 2, 5, 17, 100, 463, 600, 5000):
        for x in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            for confidence in (0.8, 0.95, 0.99):
                result = wilson_interval(x / n, n, confidence)
                low, high = proportion_confint(x, n, alpha=1 - confidence, method="wilson")
                assert result.low == pytest.approx(low, abs=1e-12)
                assert result.high == pytest.approx(high, abs=1e-12)


def test_difference_matches_statsmodels_newcombe_over_a_grid():
    rng = np.random.default_rng(17)
    for _ in range(200):
        n1, n2 = (int(v) for v in rng.integers(1, 800, 2))
        x1, x2 = int(rng.integers(0, n1 + 1)), int(rng.integers(0, n2 + 1))
        confidence = float(rng.choice([0.9, 0.95, 0.99]))
        result = proportion_change(x1 / n1, n1, x2 / n2, n2, confidence)
        low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", alpha=1 - confidence)
        assert result.low_pp / 100 == pytest.approx(low, abs=1e-10)
        assert result.high_pp / 100 == pytest.approx(high, abs=1e-10)
        assert result.significant == (low > 0 or high < 0)


def test_public_attitude_survey_margin_is_about_four_to_five_points():
    # domain.md: 400–600 respondents per borough per year, about ±4–5 points.
    for n, margin in ((400, 4.9), (600, 4.0)):
        result = wilson_interval(0.5, n)
        assert (result.high - result.low) / 2 * 100 == pytest.approx(margin, abs=0.05)
    result = wilson_interval(0.72, 500)
    assert result.plain == "72% (95% CI 68% to 76%, from 500 respondents)."


def test_boundaries_p_zero_p_one_and_a_single_respondent():
    zero = wilson_interval(0.0, 1)
    one = wilson_interval(1.0, 1)
    assert zero.low == 0.0 and one.high == 1.0
    assert zero.high == pytest.approx(1 - one.low)  # symmetric
    z2 = 1.959963984540054**2
    assert zero.high == pytest.approx(z2 / (1 + z2))  # Wilson upper limit for 0 of 1
    assert "from 1 respondent)" in zero.plain
    for p in (0.0, 1.0, 0.5):
        for n in (1, 3, 1000):
            r = wilson_interval(p, n)
            assert 0.0 <= r.low <= p <= r.high <= 1.0


def test_unknown_sample_size_gives_no_interval():
    result = wilson_interval(0.72, None)
    assert result.low is None and result.high is None
    assert result.note == "sample size unknown"
    assert result.plain == (
        "72%: no interval can be given because the publisher does not give the sample size."
    )


def test_change_with_an_unknown_sample_size_is_not_judged():
    result = proportion_change(0.72, None, 0.66, 480)
    assert result.verdict == "sample size unknown"
    assert result.significant is None
    assert result.low_pp is None and result.high_pp is None
    assert result.difference_pp == pytest.approx(6.0)
    assert "does not give the sample size" in result.plain
    assert "current" in result.note
    assert proportion_change(0.72, 500, 0.66, None).note.endswith("baseline figure")


def test_verdicts_and_plain_sentences():
    rise = proportion_change(0.72, 500, 0.60, 500)
    assert rise.significant is True and rise.verdict == "significant rise"
    assert rise.plain.startswith("Up 12 percentage points (95% CI +")
    fall = proportion_change(0.60, 500, 0.72, 500)
    assert fall.verdict == "significant fall"
    assert fall.high_pp < 0
    noise = proportion_change(0.70, 500, 0.69, 480)
    assert noise.significant is False and noise.verdict == "no significant change"
    assert noise.plain.startswith("Up 1 percentage point (95% CI \u22124.8 to +6.8 points)")
    assert "sampling error" in noise.plain
    # A 5-point change in one borough's survey is within noise; the same change on
    # a London-wide sample is not.
    assert proportion_change(0.70, 500, 0.65, 500).verdict == "no significant change"
    assert proportion_change(0.70, 10_000, 0.65, 10_000).verdict == "significant rise"


def test_fractional_effective_sample_size_is_accepted():
    result = wilson_interval(0.5, 412.6)
    assert result.n == 412.6
    assert "412.6 respondents" in result.plain


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: wilson_interval(72, 500), "between 0 and 1.*divide a percentage by 100"),
        (lambda: wilson_interval(-0.1, 500), "between 0 and 1"),
        (lambda: wilson_interval(0.5, 0), "number of respondents"),
        (lambda: wilson_interval(0.5, -20), "number of respondents"),
        (lambda: wilson_interval(0.5, 100, confidence=95), "confidence"),
        (lambda: proportion_change(0.5, 100, 1.5, 100), "between 0 and 1"),
    ],
)
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_to_dict_is_json_safe():
    for result in (
        wilson_interval(0.5, None),
        wilson_interval(0.0, 1),
        proportion_change(0.72, None, 0.66, None),
        proportion_change(0.72, 500, 0.66, 480),
    ):
        json.dumps(result.to_dict(), allow_nan=False)
    data = proportion_change(0.72, 500, 0.66, 480).to_dict()
    assert data["current"]["n"] == 500 and data["verdict"] == "significant rise"


# --- Shares from counts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "low", "high"),
    [
        # Newcombe (1998b), Table II, method 10, given as counts.
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (10, 10, 0, 20, 0.6791, 1.0000),
    ],
)
def test_counts_match_newcombe_1998b(x1, n1, x2, n2, low, high):
    result = proportion_change_counts(x1, n1, x2, n2)
    assert round(result.low_pp / 100, 4) == low
    assert round(result.high_pp / 100, 4) == high


def test_counts_are_the_same_as_proportion_change_and_match_statsmodels():
    rng = np.random.default_rng(23)
    for _ in range(100):
        n1, n2 = (int(v) for v in rng.integers(1, 5_000, 2))
        x1, x2 = int(rng.integers(0, n1 + 1)), int(rng.integers(0, n2 + 1))
        result = proportion_change_counts(x1, n1, x2, n2, confidence=0.9)
        assert result == proportion_change(x1 / n1, n1, x2 / n2, n2, confidence=0.9)
        low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", alpha=0.1)
        assert result.low_pp / 100 == pytest.approx(low, abs=1e-10)
        assert result.high_pp / 100 == pytest.approx(high, abs=1e-10)


def test_no_suspect_identified_share():
    # 1,240 of 2,000 outcomes with no suspect identified against 1,150 of 2,000.
    result = proportion_change_counts(1240, 2000, 1150.0, np.int64(2000))
    assert result.difference_pp == pytest.approx(4.5)
    assert result.current.n == 2000 and result.current.proportion == 0.62
    assert result.verdict == "significant rise"
    json.dumps(result.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((5, 4, 1, 4), r"current_successes \(5\) must not exceed current_n \(4\)"),
        ((1, 4, 1, 0), "baseline_n must be positive"),
        ((-1, 4, 1, 4), "current_successes must be non-negative"),
        ((1.5, 4, 1, 4), "current_successes must be a whole number"),
        ((1, 4, 1, None), "baseline_n must be a whole number"),
        ((True, 4, 1, 4), "current_successes must be a whole number"),
    ],
)
def test_counts_bad_input_raises_a_clear_value_error(args, message):
    with pytest.raises(ValueError, match=message):
        proportion_change_counts(*args)


def test_proportion_change_p_value_matches_its_interval() -> None:
    """p < alpha exactly when the (1 - alpha) Newcombe interval excludes 0, on many random cases."""
    import numpy as np

    from crimeplan.stats.survey import proportion_change_counts

    rng = np.random.default_rng(7)
    disagreements = 0
    for _ in range(400):
        n1, n2 = int(rng.integers(5, 3000)), int(rng.integers(5, 3000))
        k1, k2 = int(rng.integers(0, n1 + 1)), int(rng.integers(0, n2 + 1))
        for confidence in (0.9, 0.95, 0.99):
            change = proportion_change_counts(k1, n1, k2, n2, confidence)
            if (change.p_value < 1 - confidence) != change.significant:
                disagreements += 1
    assert disagreements == 0


def test_proportion_change_p_value_edges() -> None:
    from crimeplan.stats.survey import proportion_change, proportion_change_counts

    assert proportion_change_counts(50, 100, 50, 100).p_value == 1.0
    assert proportion_change_counts(900, 1000, 100, 1000).p_value < 1e-12
    assert proportion_change(0.5, None, 0.4, 100).p_value is None
    middling = proportion_change_counts(55, 100, 45, 100)
    assert 0.05 < middling.p_value < 0.25  # a 10-point change on 100 each is not significant


def test_vectorised_proportion_changes_match_the_scalar() -> None:
    import numpy as np

    from crimeplan.stats.survey import proportion_change_counts, proportion_changes

    rng = np.random.default_rng(11)
    n1, n2 = rng.integers(1, 2000, 300), rng.integers(1, 2000, 300)
    k1, k2 = rng.integers(0, n1 + 1), rng.integers(0, n2 + 1)
    arrays = proportion_changes(k1, n1, k2, n2)
    for i in range(300):
        one = proportion_change_counts(int(k1[i]), int(n1[i]), int(k2[i]), int(n2[i]))
        assert arrays.low_pp[i] == pytest.approx(one.low_pp, abs=1e-9)
        assert arrays.high_pp[i] == pytest.approx(one.high_pp, abs=1e-9)
        assert arrays.p_value[i] == pytest.approx(one.p_value, rel=1e-9, abs=1e-15)
        assert arrays.verdict[i] == one.verdict
    empty = proportion_changes([1], [0], [1], [2])
    assert np.isnan(empty.p_value[0]) and empty.verdict[0] == "no data"
