"""Exact conditional interval and test for the ratio of two Poisson rates.

Method
------
Crime counts in two periods (or two places) are modelled as independent
Poisson counts ``current ~ Poisson(E_c * lambda_c)`` and
``baseline ~ Poisson(E_b * lambda_b)``, where ``E`` is the exposure (days in
the period, months in a year-to-date, a population) and ``lambda`` the rate.
The quantity of interest is the rate ratio ``RR = lambda_c / lambda_b``.

Conditional on the total ``n = current + baseline``, the current count is
binomial, ``current | n ~ Binomial(n, pi)`` with
``pi = E_c * RR / (E_c * RR + E_b)``, so that ``RR = pi / (1 - pi) * E_b / E_c``.
This removes the nuisance parameter (the common rate) and gives an exact
method:

* the interval for ``RR`` is the Clopper–Pearson interval for ``pi``
  transformed by the monotone map above;
* the two-sided p-value for ``H0: RR = 1`` is the exact binomial test of
  ``pi0 = E_c / (E_c + E_b)``, summing the probabilities of all outcomes no
  more likely than the one observed (the "minimum likelihood" convention also
  used by ``scipy.stats.binomtest``).

References
----------
Breslow, N. E. & Day, N. E. (1987). *Statistical Methods in Cancer Research,
Volume II: The Design and Analysis of Cohort Studies*. IARC Scientific
Publications No. 82. Lyon: IARC. Chapter 2 (comparison of two rates; exact
conditional inference via the binomial distribution).

Clopper, C. J. & Pearson, E. S. (1934). The use of confidence or fiducial limits
illustrated in the case of the binomial. *Biometrika* 26(4): 404–413.

Ulm, K. (1990). A simple method to calculate the confidence interval of a
standardized mortality ratio. *American Journal of Epidemiology* 131(2):
373–375.

Notes
-----
The Clopper–Pearson interval is the inversion of the "central" (doubled
one-sided) test, while the p-value uses the minimum-likelihood convention, so
in rare borderline cases the two can disagree about significance at the same
level. A change is called significant only when both agree (the interval
excludes 1 *and* p < 1 − confidence), so the verdict never contradicts a
figure shown beside it.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any, Literal

from scipy.stats import beta, binom

Verdict = Literal["significant fall", "significant rise", "no significant change"]

# Relative tolerance when deciding whether an outcome is "no more likely" than
# the observed one; without it, floating-point noise in equal probabilities
# (e.g. symmetric outcomes when pi0 = 0.5) would drop them from the p-value.
_LIKELIHOOD_TOLERANCE = 1e-7


@dataclass(frozen=True)
class RateRatio:
    """The comparison of a current count with a baseline count.

    ``ratio``, ``high`` and the percentage changes are ``None`` when undefined or
    unbounded (for example a baseline of zero); ``note`` says why.
    """

    current: int
    baseline: int
    current_exposure: float
    baseline_exposure: float
    confidence: float
    ratio: float | None
    low: float
    high: float | None
    p_value: float
    change_pct: float | None
    change_low_pct: float
    change_high_pct: float | None
    significant: bool
    verdict: Verdict
    plain: str
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe values: floats, ints, strings, booleans and None (never NaN or inf)."""
        return asdict(self)


def rate_ratio_interval(
    current: int,
    baseline: int,
    current_exposure: float = 1.0,
    baseline_exposure: float = 1.0,
    confidence: float = 0.95,
) -> RateRatio:
    """Rate ratio of ``current`` to ``baseline`` with its exact conditional interval and p-value.

    Parameters
    ----------
    current, baseline:
        Event counts (non-negative integers).
    current_exposure, baseline_exposure:
        What each count is per: days, months, population... Must be > 0. Equal
        exposures compare the counts themselves.
    confidence:
        Confidence level of the interval, strictly between 0 and 1.

    Raises
    ------
    ValueError
        If a count is negative or not a whole number, an exposure is not a
        positive finite number, or the confidence level is out of range.
    """
    current = _as_count(current, "current")
    baseline = _as_count(baseline, "baseline")
    current_exposure = _as_exposure(current_exposure, "current_exposure")
    baseline_exposure = _as_exposure(baseline_exposure, "baseline_exposure")
    _check_confidence(confidence)
    alpha = 1.0 - confidence
    total = current + baseline
    # Converts the binomial odds pi/(1-pi) into a rate ratio.
    exposure_ratio = baseline_exposure / current_exposure

    if total == 0:
        return RateRatio(
            current=current,
            baseline=baseline,
            current_exposure=current_exposure,
            baseline_exposure=baseline_exposure,
            confidence=confidence,
            ratio=None,
            low=0.0,
            high=None,
            p_value=1.0,
            change_pct=None,
            change_low_pct=-100.0,
            change_high_pct=None,
            significant=False,
            verdict="no significant change",
            plain="No events in either period, so no change can be measured.",
            note="no events in either period: the ratio is undefined and its interval is [0, infinity)",
        )

    pi_low, pi_high = _clopper_pearson(current, total, alpha)
    low = _odds(pi_low) * exposure_ratio
    high = None if pi_high >= 1.0 else _odds(pi_high) * exposure_ratio
    ratio = None if baseline == 0 else (current / current_exposure) / (baseline / baseline_exposure)

    null_pi = current_exposure / (current_exposure + baseline_exposure)
    p_value = _binomial_two_sided_p(current, total, null_pi)

    excludes_one = low > 1.0 or (high is not None and high < 1.0)
    significant = bool(excludes_one and p_value < alpha)
    if significant:
        verdict: Verdict = "significant rise" if low > 1.0 else "significant fall"
    else:
        verdict = "no significant change"

    change_pct = None if ratio is None else (ratio - 1.0) * 100.0
    change_low_pct = (low - 1.0) * 100.0
    change_high_pct = None if high is None else (high - 1.0) * 100.0
    note = None
    if baseline == 0:
        note = "no events in the baseline: the ratio and the upper limit are unbounded"
    elif excludes_one != (p_value < alpha):
        note = (
            f"the exact p-value ({p_value:.3g}) and the exact interval disagree at the "
            f"{confidence * 100:g}% level; the change is not called significant"
        )

    plain = _plain_sentence(
        current=current,
        change_pct=change_pct,
        change_low_pct=change_low_pct,
        change_high_pct=change_high_pct,
        confidence=confidence,
        verdict=verdict,
        rate_wording=not math.isclose(current_exposure, baseline_exposure),
    )
    return RateRatio(
        current=current,
        baseline=baseline,
        current_exposure=current_exposure,
        baseline_exposure=baseline_exposure,
        confidence=confidence,
        ratio=ratio,
        low=low,
        high=high,
        p_value=p_value,
        change_pct=change_pct,
        change_low_pct=change_low_pct,
        change_high_pct=change_high_pct,
        significant=significant,
        verdict=verdict,
        plain=plain,
        note=note,
    )


def _clopper_pearson(successes: int, trials: int, alpha: float) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval for a binomial proportion, via beta quantiles."""
    low = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, successes, trials - successes + 1))
    high = 1.0 if successes == trials else float(beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    return low, high


def _odds(p: float) -> float:
    return p / (1.0 - p)


def _binomial_two_sided_p(k: int, n: int, p: float) -> float:
    """Two-sided exact binomial p-value: total probability of outcomes no more likely than ``k``.

    The pmf is unimodal, so on the far side of the mode the outcomes at least as
    unlikely as ``k`` form a tail; its edge is found by bisection, which keeps the
    cost logarithmic in ``n`` (totals of a million crimes are ordinary).
    """
    expected = n * p
    if k == expected:
        return 1.0
    threshold = binom.logpmf(k, n, p) + math.log1p(_LIKELIHOOD_TOLERANCE)
    mode = min(max(math.floor((n + 1) * p), 0), n)
    if k < expected:
        # Upper tail: smallest j > k, j >= mode, with pmf(j) <= pmf(k); pmf is non-increasing there.
        lo, hi = max(mode, k + 1), n + 1  # hi = n + 1 means "no such j"
        while lo < hi:
            mid = (lo + hi) // 2
            if binom.logpmf(mid, n, p) <= threshold:
                hi = mid
            else:
                lo = mid + 1
        far_tail = float(binom.sf(lo - 1, n, p)) if lo <= n else 0.0
        near_tail = float(binom.cdf(k, n, p))
    else:
        # Lower tail: largest j < k, j <= mode, with pmf(j) <= pmf(k); pmf is non-decreasing there.
        lo, hi = -1, min(mode, k - 1)  # lo = -1 means "no such j"
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if binom.logpmf(mid, n, p) <= threshold:
                lo = mid
            else:
                hi = mid - 1
        far_tail = float(binom.cdf(lo, n, p)) if lo >= 0 else 0.0
        near_tail = float(binom.sf(k - 1, n, p))
    return min(1.0, near_tail + far_tail)


def _plain_sentence(
    *,
    current: int,
    change_pct: float | None,
    change_low_pct: float,
    change_high_pct: float | None,
    confidence: float,
    verdict: Verdict,
    rate_wording: bool,
) -> str:
    level = f"{confidence * 100:g}%"
    if verdict == "significant fall":
        conclusion = "a fall larger than chance alone would explain."
    elif verdict == "significant rise":
        conclusion = "a rise larger than chance alone would explain."
    else:
        conclusion = "within the range expected from chance."

    if change_pct is None:  # baseline of zero, current above zero
        return (
            f"Up from 0 to {current:,} ({level} CI: at least {_signed_pct(change_low_pct)}): {conclusion}"
        )
    if round(change_pct, 1) == 0:
        headline = "Rate unchanged" if rate_wording else "No change"
    else:
        headline = ("Up " if change_pct > 0 else "Down ") + _magnitude_pct(change_pct)
        if rate_wording:
            headline = "Rate " + headline[0].lower() + headline[1:]
    upper = "no upper limit" if change_high_pct is None else _signed_pct(change_high_pct)
    return f"{headline} ({level} CI {_signed_pct(change_low_pct)} to {upper}): {conclusion}"


def _magnitude_pct(value: float) -> str:
    # Whole percentages read best; keep one decimal for changes under 1%.
    size = abs(value)
    return f"{size:.0f}%" if size >= 1 else f"{size:.1f}%"


def _signed_pct(value: float) -> str:
    text = _magnitude_pct(value)
    if text.strip("0.%") == "":
        return text
    # A true minus sign (U+2212) reads better than a hyphen in published text.
    return ("+" if value > 0 else "\u2212") + text


def _as_count(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number of events, got the boolean {value!r}")
    if isinstance(value, numbers.Integral):
        count = int(value)
    elif isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        count = int(value)  # e.g. 134.0 from a SUM over a float column
    else:
        raise ValueError(f"{name} must be a whole number of events, got {value!r}")
    if count < 0:
        raise ValueError(f"{name} must not be negative, got {count}")
    return count


def _as_exposure(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a positive number (days, months, population...), got {value!r}")
    exposure = float(value)
    if not math.isfinite(exposure) or exposure <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return exposure


def _check_confidence(confidence: float) -> None:
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1 (e.g. 0.95), got {confidence!r}")
