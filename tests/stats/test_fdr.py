"""Benjamini–Hochberg: the paper's own example and statsmodels' fdr_bh."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from crimeplan.stats.fdr import benjamini_hochberg

# Benjamini & Hochberg (1995), section 4: fifteen p-values from a study of
# myocardial infarction treatment.
PAPER_P_VALUES = [
    0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
    0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000,
]


def test_paper_example_rejects_the_four_smallest():
    result = benjamini_hochberg(PAPER_P_VALUES, q=0.05)
    assert result.rejected == [True] * 4 + [False] * 11
    assert result.n_rejected == 4
    assert result.n_tests == 15
    # p(4) = 0.0095 <= 4 * 0.05 / 15 = 0.0133, p(5) = 0.0201 > 0.0167, and no
    # later p(i) is below i * 0.05 / 15.
    assert result.adjusted[3] == pytest.approx(0.0095 * 15 / 4)
    assert result.adjusted[4] == pytest.approx(0.0201 * 15 / 5)


def test_paper_example_matches_statsmodels():
    result = benjamini_hochberg(PAPER_P_VALUES)
    rejected, adjusted, _, _ = multipletests(PAPER_P_VALUES, alpha=0.05, method="fdr_bh")
    assert result.rejected == rejected.tolist()
    assert result.adjusted == pytest.approx(adjusted.tolist(), rel=1e-12)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("q", [0.01, 0.05, 0.1, 0.2])
def test_random_p_values_match_statsmodels(seed, q):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 700))
    # A mixture of nulls and real effects so that some, not all, are rejected.
    p = np.concatenate([rng.uniform(size=m), rng.beta(0.1, 8, size=m // 4)])
    rng.shuffle(p)
    result = benjamini_hochberg(p.tolist(), q=q)
    rejected, adjusted, _, _ = multipletests(p, alpha=q, method="fdr_bh")
    assert result.rejected == rejected.tolist()
    assert result.adjusted == pytest.approx(adjusted.tolist(), rel=1e-12)


def test_tied_p_values_match_statsmodels():
    p = [0.01, 0.01, 0.01, 0.04, 0.04, 0.04, 0.04, 0.5, 0.5, 1.0, 0.0, 0.0]
    for q in (0.01, 0.05, 0.1):
        result = benjamini_hochberg(p, q=q)
        rejected, adjusted, _, _ = multipletests(p, alpha=q, method="fdr_bh")
        assert result.rejected == rejected.tolist()
        assert result.adjusted == pytest.approx(adjusted.tolist())
    # Tied values are treated alike.
    result = benjamini_hochberg(p, q=0.05)
    assert len({result.adjusted[i] for i in (3, 4, 5, 6)}) == 1


def test_step_up_rejects_at_the_boundary():
    # p(i) = i q / m exactly for every i: all five are rejected.
    result = benjamini_hochberg([0.05, 0.04, 0.03, 0.02, 0.01], q=0.05)
    assert result.rejected == [True] * 5
    # Step-up: the smallest p-value (0.02) fails its own threshold (0.05 / 3 = 0.0167)
    # but is rejected because the next one (0.021) passes its threshold (0.0333).
    result = benjamini_hochberg([0.021, 0.02, 0.5], q=0.05)
    assert result.rejected == [True, True, False]


def test_adjusted_values_are_monotone_capped_and_not_below_p():
    rng = np.random.default_rng(99)
    p = rng.uniform(size=200) ** 3
    result = benjamini_hochberg(p.tolist())
    adjusted = np.array(result.adjusted)
    order = np.argsort(p)
    assert np.all(np.diff(adjusted[order]) >= 0)
    assert np.all(adjusted <= 1.0) and np.all(adjusted >= p)
    assert result.rejected == (adjusted <= 0.05).tolist()


def test_missing_p_values_are_not_tests():
    with_missing = [0.001, None, 0.02, math.nan, 0.04, np.nan, 0.9]
    result = benjamini_hochberg(with_missing)
    present = benjamini_hochberg([0.001, 0.02, 0.04, 0.9])
    assert result.n_tests == 4
    assert result.adjusted[1] is None and result.adjusted[3] is None and result.adjusted[5] is None
    assert result.rejected[1] is False and result.rejected[3] is False
    assert [a for a in result.adjusted if a is not None] == present.adjusted
    assert [r for r, p in zip(result.rejected, with_missing) if p is not None and p == p] == present.rejected


def test_empty_and_all_missing():
    empty = benjamini_hochberg([])
    assert (empty.adjusted, empty.rejected, empty.n_tests, empty.n_rejected) == ([], [], 0, 0)
    missing = benjamini_hochberg([None, None])
    assert missing.adjusted == [None, None] and missing.rejected == [False, False]


def test_order_of_input_is_kept():
    p = [0.5, 0.001, 0.3, 0.002]
    result = benjamini_hochberg(p)
    assert result.rejected == [False, True, False, True]
    assert result.adjusted[1] == pytest.approx(0.004)
    assert result.adjusted[3] == pytest.approx(0.004)


def test_single_test_is_unadjusted():
    assert benjamini_hochberg([0.03]).adjusted == [0.03]
    assert benjamini_hochberg([0.03]).rejected == [True]


@pytest.mark.parametrize(
    ("p_values", "q", "message"),
    [
        ([0.1, 1.2], 0.05, r"p_values\[1\] must be a probability"),
        ([-0.01], 0.05, r"p_values\[0\] must be a probability"),
        (["0.1"], 0.05, r"p_values\[0\] must be a probability"),
        ([0.1], 0.0, "q .* must be strictly between 0 and 1"),
        ([0.1], 1.0, "q .* must be strictly between 0 and 1"),
    ],
)
def test_bad_input_raises_a_clear_value_error(p_values, q, message):
    with pytest.raises(ValueError, match=message):
        benjamini_hochberg(p_values, q=q)


def test_to_dict_is_json_safe():
    data = benjamini_hochberg([0.01, None, math.nan, 0.5]).to_dict()
    assert json.loads(json.dumps(data, allow_nan=False))["adjusted"][1:3] == [None, None]


def test_row_wise_adjustment_matches_one_family_at_a_time() -> None:
    import numpy as np

    from crimeplan.stats.fdr import benjamini_hochberg, benjamini_hochberg_adjusted

    rng = np.random.default_rng(3)
    rows = rng.random((40, 25)) ** 3
    rows[rng.random((40, 25)) < 0.2] = np.nan  # untested areas
    rows[0] = np.nan  # a family with nothing tested
    q = benjamini_hochberg_adjusted(rows)
    for row, q_row in zip(rows, q):
        expected = benjamini_hochberg([None if np.isnan(x) else float(x) for x in row]).adjusted
        assert [None if np.isnan(x) else round(float(x), 12) for x in q_row] == [
            None if e is None else round(e, 12) for e in expected
        ]
