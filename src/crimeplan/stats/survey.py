"""Sampling error of survey proportions: Wilson score interval and Newcombe's difference interval.

Methods
-------
*Wilson score interval* for a proportion ``p`` from ``n`` respondents, with
``z`` the standard normal quantile for the confidence level:

    centre = (p + z²/2n) / (1 + z²/n)
    half   = z / (1 + z²/n) · √( p(1 − p)/n + z²/4n² )

Unlike the textbook ``p ± z√(p(1−p)/n)`` it stays inside [0, 1] and keeps its
coverage near 0% and 100% and for small ``n``.

*Newcombe's hybrid score interval* (his method 10) for the difference of two
independent proportions ``d = p₁ − p₂``, built from the Wilson limits
``(l₁, u₁)`` and ``(l₂, u₂)``:

    low  = d − √((p₁ − l₁)² + (u₂ − p₂)²)
    high = d + √((u₁ − p₁)² + (p₂ − l₂)²)

A change is significant when this interval excludes 0. Its p-value is the one
that matches the interval (test–interval duality): one minus the highest
confidence level at which the interval still includes 0, found by root-finding
on the confidence level. So the p-value is below α exactly when the (1 − α)
interval excludes 0, and areas can be put through false-discovery-rate control
with verdicts that never contradict the intervals shown.

Survey publishers such as MOPAC's Public Attitude Survey give weighted
proportions; ``n`` should be the number of respondents behind the figure (an
effective sample size, if the publisher gives one, accounts for weighting).
When the publisher gives no sample size no interval is computed: it would be
invented.

Shares built from counts (for example "outcomes with no suspect identified" out
of all outcomes) go through :func:`proportion_change_counts`, which checks the
counts and hands the proportions and denominators to the same code.

References
----------
Wilson, E. B. (1927). Probable inference, the law of succession, and
statistical inference. *Journal of the American Statistical Association* 22:
209–212.

Newcombe, R. G. (1998a). Two-sided confidence intervals for the single
proportion: comparison of seven methods. *Statistics in Medicine* 17(8):
857–872.

Newcombe, R. G. (1998b). Interval estimation for the difference between
independent proportions: comparison of eleven methods. *Statistics in
Medicine* 17(8): 873–890 (method 10).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from scipy.stats import norm

from crimeplan.stats.rate_ratio import (
    NO_SIGNIFICANT_CHANGE,
    SIGNIFICANT_FALL,
    SIGNIFICANT_RISE,
    _blank_missing,
    _check_confidence,
    _verdicts,
)

ChangeVerdict = Literal["significant rise", "significant fall", "no significant change", "sample size unknown"]

SAMPLE_SIZE_UNKNOWN = "sample size unknown"


@dataclass(frozen=True)
class SurveyInterval:
    """A survey proportion (0–1) with its Wilson interval; limits are None when n is unknown."""

    proportion: float
    n: int | float | None
    confidence: float
    low: float | None
    high: float | None
    plain: str
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe values (no NaN or inf)."""
        return asdict(self)


@dataclass(frozen=True)
class ProportionChange:
    """Change between two survey proportions, in percentage points, with Newcombe's interval.

    ``significant`` is None and the limits are None when a sample size is unknown.
    """

    current: SurveyInterval
    baseline: SurveyInterval
    confidence: float
    difference_pp: float
    low_pp: float | None
    high_pp: float | None
    significant: bool | None
    verdict: ChangeVerdict
    plain: str
    note: str | None = None
    p_value: float | None = None  # matches the interval: p < 1 - confidence iff it excludes 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe values, the two proportions as nested dictionaries."""
        return asdict(self)


def wilson_interval(proportion: float, n: float | None, confidence: float = 0.95) -> SurveyInterval:
    """Wilson score interval for ``proportion`` (between 0 and 1) from ``n`` respondents.

    ``n=None`` (the publisher gives no sample size) returns no limits and says so.
    Raises ValueError for a proportion outside [0, 1] (a percentage must be
    divided by 100 first), a sample size that is not positive, or a confidence
    level outside (0, 1).
    """
    p = _as_proportion(proportion, "proportion")
    _check_confidence(confidence)
    if n is None:
        return SurveyInterval(
            proportion=p,
            n=None,
            confidence=confidence,
            low=None,
            high=None,
            plain=(
                f"{_pct(p)}: no interval can be given because the publisher "
                "does not give the sample size."
            ),
            note=SAMPLE_SIZE_UNKNOWN,
        )
    size = _as_sample_size(n, "n")
    low, high = _wilson_limits(p, size, confidence)
    level = f"{confidence * 100:g}%"
    respondents = f"{size:,.0f}" if float(size).is_integer() else f"{size:,.1f}"
    noun = "respondent" if size == 1 else "respondents"
    return SurveyInterval(
        proportion=p,
        n=size,
        confidence=confidence,
        low=low,
        high=high,
        plain=f"{_pct(p)} ({level} CI {_pct(low)} to {_pct(high)}, from {respondents} {noun}).",
    )


def proportion_change(
    current_p: float,
    current_n: float | None,
    baseline_p: float,
    baseline_n: float | None,
    confidence: float = 0.95,
) -> ProportionChange:
    """Difference ``current_p − baseline_p`` in percentage points with Newcombe's hybrid score interval.

    When either sample size is None, the difference is given but no interval,
    ``significant`` is None and the verdict is "sample size unknown".
    """
    current = wilson_interval(current_p, current_n, confidence)
    baseline = wilson_interval(baseline_p, baseline_n, confidence)
    difference = current.proportion - baseline.proportion
    difference_pp = difference * 100.0
    level = f"{confidence * 100:g}%"

    if current.low is None or baseline.low is None:
        missing = [
            name
            for name, interval in (("current", current), ("baseline", baseline))
            if interval.low is None
        ]
        return ProportionChange(
            current=current,
            baseline=baseline,
            confidence=confidence,
            difference_pp=difference_pp,
            low_pp=None,
            high_pp=None,
            significant=None,
            verdict=SAMPLE_SIZE_UNKNOWN,
            plain=(
                f"{_headline_pp(difference_pp)}: whether this is more than sampling error cannot be "
                "said because the publisher does not give the sample size."
            ),
            note=f"sample size unknown for the {' and '.join(missing)} figure",
        )

    assert current.high is not None and baseline.high is not None
    low, high = (float(x) for x in _newcombe_limits(current.proportion, current.n, baseline.proportion, baseline.n, confidence))
    significant = low > 0 or high < 0
    p_value = _matching_p_value(current.proportion, current.n, baseline.proportion, baseline.n)
    if significant:
        verdict: ChangeVerdict = SIGNIFICANT_RISE if low > 0 else SIGNIFICANT_FALL
        conclusion = "a change larger than sampling error alone would explain."
    else:
        verdict = NO_SIGNIFICANT_CHANGE
        conclusion = "within the range expected from sampling error."
    return ProportionChange(
        current=current,
        baseline=baseline,
        confidence=confidence,
        difference_pp=difference_pp,
        low_pp=low * 100.0,
        high_pp=high * 100.0,
        significant=significant,
        verdict=verdict,
        plain=(
            f"{_headline_pp(difference_pp)} ({level} CI {_signed_pp(low * 100)} to "
            f"{_signed_pp(high * 100)} points): {conclusion}"
        ),
        p_value=p_value,
    )


def proportion_change_counts(
    current_successes: int,
    current_n: int,
    baseline_successes: int,
    baseline_n: int,
    confidence: float = 0.95,
) -> ProportionChange:
    """:func:`proportion_change` for shares whose numerator and denominator counts are known.

    ``current_successes`` of ``current_n`` against ``baseline_successes`` of
    ``baseline_n``. Raises ValueError unless each count is a whole number, each
    denominator is positive and no numerator exceeds its denominator.
    """
    current_n = _as_whole(current_n, "current_n", minimum=1)
    baseline_n = _as_whole(baseline_n, "baseline_n", minimum=1)
    current_successes = _as_whole(current_successes, "current_successes", minimum=0)
    baseline_successes = _as_whole(baseline_successes, "baseline_successes", minimum=0)
    for name, successes, n in (
        ("current", current_successes, current_n),
        ("baseline", baseline_successes, baseline_n),
    ):
        if successes > n:
            raise ValueError(f"{name}_successes ({successes}) must not exceed {name}_n ({n})")
    return proportion_change(
        current_successes / current_n, current_n, baseline_successes / baseline_n, baseline_n, confidence
    )


def _newcombe_limits(p1, n1, p2, n2, confidence: float):
    """Newcombe's hybrid score interval (method 10) for p1 - p2, as proportions; scalars or arrays."""
    return _newcombe_limits_z(p1, n1, p2, n2, float(norm.ppf(0.5 + confidence / 2)))


def _newcombe_limits_z(p1, n1, p2, n2, z):
    l1, u1 = _wilson_limits_z(p1, n1, z)
    l2, u2 = _wilson_limits_z(p2, n2, z)
    d = np.subtract(p1, p2)
    return d - np.hypot(np.subtract(p1, l1), np.subtract(u2, p2)), d + np.hypot(np.subtract(u1, p1), np.subtract(p2, l2))


def _matching_p_value(p1, n1, p2, n2):
    """1 − the highest confidence level whose Newcombe interval still includes 0; scalars or arrays.

    The interval widens as z grows, so the limit nearest 0 crosses it once:
    bisection on z (36 halvings of a bracket around the Wald z, to under 1e-9)
    finds the crossing for every comparison at once, and p = 2·(1 − Φ(z)). Put
    the larger proportion first (a) and the question is always whether the lower
    limit, built from a's lower and b's upper Wilson limit, is above 0.
    """
    p1, n1, p2, n2 = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (p1, n1, p2, n2)))
    d = p1 - p2
    p = np.ones(d.shape)
    open_ = (d != 0) & np.isfinite(d) & (n1 > 0) & (n2 > 0)  # d = 0: p = 1
    rise = d[open_] >= 0
    a, na = np.where(rise, p1[open_], p2[open_]), np.where(rise, n1[open_], n2[open_])
    b, nb = np.where(rise, p2[open_], p1[open_]), np.where(rise, n2[open_], n1[open_])
    gap = a - b
    var_a, var_b = a * (1 - a) / na, b * (1 - b) / nb
    with np.errstate(divide="ignore", invalid="ignore"):
        wald = gap / np.sqrt(var_a + var_b)
    wald = np.where(np.isfinite(wald), wald, 40.0)
    lo, hi = np.zeros(a.shape), np.minimum(np.maximum(2 * wald, 4.0) + 4.0, 40.0)
    for _ in range(36):
        z = (lo + hi) / 2
        z2 = z * z
        # Wilson limits inline (a's lower, b's upper), only what the question needs.
        da, db = 1 + z2 / na, 1 + z2 / nb
        low_a = np.maximum(0.0, ((a + z2 / (2 * na)) - z * np.sqrt(var_a + z2 / (4 * na * na))) / da)
        high_b = np.minimum(1.0, ((b + z2 / (2 * nb)) + z * np.sqrt(var_b + z2 / (4 * nb * nb))) / db)
        above = gap - np.hypot(a - low_a, high_b - b) > 0
        lo, hi = np.where(above, z, lo), np.where(above, hi, z)
    p[open_] = np.minimum(2 * norm.sf((lo + hi) / 2), 1.0)
    p[~np.isfinite(d)] = np.nan
    return float(p) if p.ndim == 0 else p


@dataclass(frozen=True)
class ProportionChangeArrays:
    """:func:`proportion_changes` for many comparisons: arrays, NaN where a denominator is 0."""

    difference_pp: np.ndarray
    low_pp: np.ndarray
    high_pp: np.ndarray
    p_value: np.ndarray
    significant: np.ndarray
    verdict: np.ndarray


def proportion_changes(current_successes, current_n, baseline_successes, baseline_n,
                       confidence: float = 0.95) -> ProportionChangeArrays:
    """Newcombe intervals and matching p-values for many shares with known counts at once.

    The same computation as :func:`proportion_change_counts`, vectorised; a
    comparison with a zero denominator gets NaN and the verdict "no data".
    """
    _check_confidence(confidence)
    k1, n1, k2, n2 = (np.asarray(x, dtype=float) for x in (current_successes, current_n, baseline_successes, baseline_n))
    valid = (n1 > 0) & (n2 > 0)
    # Placeholders where there is no share; those results are blanked below.
    safe_n1, safe_n2 = np.where(valid, n1, 1.0), np.where(valid, n2, 1.0)
    p1, p2 = np.where(valid, k1 / safe_n1, 0.5), np.where(valid, k2 / safe_n2, 0.5)
    low, high = _newcombe_limits(p1, safe_n1, p2, safe_n2, confidence)
    p_value = np.asarray(_matching_p_value(p1, safe_n1, p2, safe_n2), dtype=float)
    low_pp, high_pp = np.asarray(low * 100), np.asarray(high * 100)
    # The interval has low <= high, so at most one of these holds.
    fall, rise = high_pp < 0, low_pp > 0
    core = {
        "difference_pp": np.asarray((p1 - p2) * 100),
        "low_pp": low_pp,
        "high_pp": high_pp,
        "p_value": p_value,
        "significant": fall | rise,
        "verdict": _verdicts(fall, rise),
    }
    return ProportionChangeArrays(**_blank_missing(core, ~valid))


def _wilson_limits(p: float, n: float, confidence: float) -> tuple[float, float]:
    low, high = _wilson_limits_z(p, n, float(norm.ppf(0.5 + confidence / 2)))
    return float(low), float(high)


def _wilson_limits_z(p, n, z):
    """Wilson limits for proportion(s) p from n, at the normal quantile z; scalars or arrays."""
    p, n = np.asarray(p, dtype=float), np.asarray(n, dtype=float)
    z2_over_n = z * z / n
    denominator = 1.0 + z2_over_n
    centre = (p + z2_over_n / 2) / denominator
    half = z / denominator * np.sqrt(p * (1 - p) / n + z2_over_n / (4 * n))
    # At p = 0 or 1 one limit is exactly the boundary; avoid rounding just past it.
    low = np.where(p == 0, 0.0, np.maximum(0.0, centre - half))
    high = np.where(p == 1, 1.0, np.minimum(1.0, centre + half))
    return low, high


def _pct(p: float) -> str:
    return f"{p * 100:.0f}%"


def _headline_pp(difference_pp: float) -> str:
    if round(difference_pp) == 0:
        return f"Unchanged ({difference_pp:+.1f} points)".replace("-", "\u2212")
    direction = "Up" if difference_pp > 0 else "Down"
    size = abs(difference_pp)
    unit = "point" if round(size) == 1 else "points"
    return f"{direction} {size:.0f} percentage {unit}"


def _signed_pp(value: float) -> str:
    text = f"{abs(value):.1f}"
    if text == "0.0":
        return text
    # A true minus sign (U+2212) reads better than a hyphen in published text.
    return ("+" if value > 0 else "\u2212") + text


def _as_proportion(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number between 0 and 1, got {value!r}")
    if not 0 <= value <= 1:
        raise ValueError(
            f"{name} must be between 0 and 1, got {value!r} (divide a percentage by 100 first)"
        )
    return float(value)


def _as_sample_size(value: Any, name: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} (the number of respondents) must be a positive number or None, got {value!r}")
    # Keep whole counts as int; an effective sample size may be fractional.
    return int(value) if float(value).is_integer() else float(value)


def _as_whole(value: Any, name: str, minimum: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or not float(value).is_integer()
    ):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        expected = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)
