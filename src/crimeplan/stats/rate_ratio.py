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
  ``pi0 = E_c / (E_c + E_b)`` with the *central* convention (Fay 2010): twice
  the smaller one-sided p-value, capped at 1,

      p = min(1, 2 · min(P(X ≤ x), P(X ≥ x))),   X ~ Binomial(n, pi0).

Why the central convention: the Clopper–Pearson interval is exactly the set of
``pi0`` that the central test does not reject. For ``0 < x < n``,
``P(X ≤ x; pi)`` falls strictly as ``pi`` rises and ``P(X ≥ x; pi)`` rises
strictly; the upper limit solves ``P(X ≤ x; pi_U) = α/2`` and the lower limit
``P(X ≥ x; pi_L) = α/2``. So ``pi_U < pi0`` exactly when
``P(X ≤ x; pi0) < α/2`` and ``pi_L > pi0`` exactly when ``P(X ≥ x; pi0) < α/2``:
**the interval excludes a rate ratio of 1 if and only if p < α = 1 − confidence**
(at ``x = 0`` or ``x = n`` the open side is ``pi_L = 0`` or ``pi_U = 1`` and the
matching tail is 1, so the equivalence still holds). The verdict shown beside
the interval and the p-value can therefore never contradict either of them:
a significant fall when the upper limit is below 1, a significant rise when the
lower limit is above 1.

The "minimum likelihood" convention used by ``scipy.stats.binomtest``, R's
``binom.test`` and statsmodels' ``test_poisson_2indep(method="exact-cond")``
gives the same p-value when the exposures are equal (``pi0 = 1/2``, a symmetric
distribution) but can differ, and disagree with the Clopper–Pearson interval,
when they are not.

For thousands of comparisons at once (every ward × measure × period) use
:func:`rate_ratio_intervals`, which takes numpy arrays; :func:`rate_ratio_interval`
handles one comparison through the same code and adds a plain-English sentence.

References
----------
Breslow, N. E. & Day, N. E. (1987). *Statistical Methods in Cancer Research,
Volume II: The Design and Analysis of Cohort Studies*. IARC Scientific
Publications No. 82. Lyon: IARC. Chapter 2 (comparison of two rates; exact
conditional inference via the binomial distribution).

Clopper, C. J. & Pearson, E. S. (1934). The use of confidence or fiducial limits
illustrated in the case of the binomial. *Biometrika* 26(4): 404–413.

Fay, M. P. (2010). Two-sided exact tests and matching confidence intervals for
discrete data. *The R Journal* 2(1): 53–58 (the central and minimum-likelihood
conventions, and which intervals match which test).

Ulm, K. (1990). A simple method to calculate the confidence interval of a
standardized mortality ratio. *American Journal of Epidemiology* 131(2):
373–375.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

import numpy as np
from scipy.stats import beta, binom

Verdict = Literal["significant fall", "significant rise", "no significant change"]

SIGNIFICANT_FALL: Verdict = "significant fall"
SIGNIFICANT_RISE: Verdict = "significant rise"
NO_SIGNIFICANT_CHANGE: Verdict = "no significant change"
# Only in the array results: a comparison whose input was missing (NaN).
NO_DATA = "no data"


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


@dataclass(frozen=True)
class RateRatioArrays:
    """Many rate-ratio comparisons at once, as read-only numpy arrays of one common shape.

    The inputs are given back broadcast to that shape (counts as floats, NaN
    where missing). Float results are NaN exactly where :class:`RateRatio`
    would give None: ``ratio`` and ``change_pct`` when the baseline is 0,
    ``high`` and ``change_high_pct`` when the baseline is 0 (the upper limit is
    unbounded). ``low`` and ``p_value`` are defined for every comparison with
    data (``low`` is 0 when the current count is 0). ``significant`` is bool
    and ``verdict`` a string array of ``"significant fall"``,
    ``"significant rise"`` or ``"no significant change"``.

    Where a count is missing (NaN) every float result is NaN, ``significant``
    is False and ``verdict`` is ``"no data"``, so a NaN p-value is left out by
    :func:`crimeplan.stats.fdr.benjamini_hochberg`.
    """

    current: np.ndarray
    baseline: np.ndarray
    current_exposure: np.ndarray
    baseline_exposure: np.ndarray
    confidence: float
    ratio: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p_value: np.ndarray
    change_pct: np.ndarray
    change_low_pct: np.ndarray
    change_high_pct: np.ndarray
    significant: np.ndarray
    verdict: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return self.ratio.shape

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe nested lists (NaN becomes None)."""
        return _arrays_to_dict(self)


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
        Confidence level of the interval, strictly between 0 and 1. The change
        is significant exactly when the interval excludes 1, which is exactly
        when ``p_value < 1 - confidence``.

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

    core = _rate_ratio_core(
        np.asarray(float(current)),
        np.asarray(float(baseline)),
        np.asarray(current_exposure),
        np.asarray(baseline_exposure),
        1.0 - confidence,
    )
    ratio = _float_or_none(core["ratio"])
    low = float(core["low"])
    high = _float_or_none(core["high"])
    p_value = float(core["p_value"])
    change_pct = _float_or_none(core["change_pct"])
    change_low_pct = float(core["change_low_pct"])
    change_high_pct = _float_or_none(core["change_high_pct"])
    verdict: Verdict = str(core["verdict"])  # type: ignore[assignment]

    if current + baseline == 0:
        plain = "No events in either period, so no change can be measured."
        note: str | None = "no events in either period: the ratio is undefined and its interval is [0, infinity)"
    else:
        plain = _plain_sentence(
            current=f"{current:,}",
            change_pct=change_pct,
            change_low_pct=change_low_pct,
            change_high_pct=change_high_pct,
            confidence=confidence,
            verdict=verdict,
            subject="Rate" if not math.isclose(current_exposure, baseline_exposure) else None,
        )
        note = "no events in the baseline: the ratio and the upper limit are unbounded" if baseline == 0 else None

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
        significant=bool(core["significant"]),
        verdict=verdict,
        plain=plain,
        note=note,
    )


def rate_ratio_intervals(
    current: Any,
    baseline: Any,
    current_exposure: Any = 1.0,
    baseline_exposure: Any = 1.0,
    confidence: float = 0.95,
) -> RateRatioArrays:
    """Exact conditional rate ratios for many comparisons at once.

    Every argument but ``confidence`` may be a number or an array; they are
    broadcast together (numpy rules), so a matrix of wards × months can be
    compared with a single baseline exposure. Values are the same as
    :func:`rate_ratio_interval` gives one at a time (same code), with NaN for
    its None. A NaN count marks a missing comparison: its results are NaN and
    its verdict ``"no data"``.

    Raises
    ------
    ValueError
        If an array is not numeric, a count is negative, infinite or not whole,
        an exposure is not positive and finite, the shapes do not broadcast, or
        the confidence level is out of range.
    """
    _check_confidence(confidence)
    current_a = _as_count_array(current, "current")
    baseline_a = _as_count_array(baseline, "baseline")
    current_exposure_a = _as_exposure_array(current_exposure, "current_exposure")
    baseline_exposure_a = _as_exposure_array(baseline_exposure, "baseline_exposure")
    current_a, baseline_a, current_exposure_a, baseline_exposure_a = _broadcast(
        current=current_a,
        baseline=baseline_a,
        current_exposure=current_exposure_a,
        baseline_exposure=baseline_exposure_a,
    )
    missing = np.isnan(current_a) | np.isnan(baseline_a)
    core = _rate_ratio_core(
        np.where(missing, 0.0, current_a),
        np.where(missing, 0.0, baseline_a),
        current_exposure_a,
        baseline_exposure_a,
        1.0 - confidence,
    )
    core = _blank_missing(core, missing)
    return RateRatioArrays(
        current=_read_only(current_a),
        baseline=_read_only(baseline_a),
        current_exposure=_read_only(current_exposure_a),
        baseline_exposure=_read_only(baseline_exposure_a),
        confidence=float(confidence),
        **{name: _read_only(value) for name, value in core.items()},
    )


def _rate_ratio_core(
    current: np.ndarray,
    baseline: np.ndarray,
    current_exposure: np.ndarray,
    baseline_exposure: np.ndarray,
    alpha: float,
) -> dict[str, np.ndarray]:
    """The method, once, on float arrays of validated counts and exposures of one shape."""
    total = current + baseline
    # Converts the binomial odds pi/(1-pi) into a rate ratio.
    exposure_ratio = baseline_exposure / current_exposure
    has_current = current > 0
    has_baseline = baseline > 0
    tail = alpha / 2

    # Clopper–Pearson limits for pi as beta quantiles. Each limit's complement
    # 1 - pi is taken from the mirrored beta distribution rather than by
    # subtraction, so the odds stay accurate when pi is close to 1. Placeholder
    # shape parameters (1) where a limit is fixed keep scipy away from invalid
    # arguments; those entries are overwritten.
    a_low = np.where(has_current, current, 1.0)
    pi_low = beta.ppf(tail, a_low, baseline + 1.0)
    pi_low_complement = beta.isf(tail, baseline + 1.0, a_low)
    low = np.where(has_current, pi_low / pi_low_complement * exposure_ratio, 0.0)

    safe_baseline = np.where(has_baseline, baseline, 1.0)
    pi_high = beta.isf(tail, current + 1.0, safe_baseline)
    pi_high_complement = beta.ppf(tail, safe_baseline, current + 1.0)
    high = np.where(has_baseline, pi_high / pi_high_complement * exposure_ratio, np.nan)

    # The same placeholder keeps the ratio from dividing by zero; those entries are NaN.
    ratio = np.where(has_baseline, current / safe_baseline * exposure_ratio, np.nan)

    # Central two-sided p-value: twice the smaller tail. With no events at all
    # both tails are 1, so p = 1.
    null_pi = current_exposure / (current_exposure + baseline_exposure)
    lower_tail = binom.cdf(current, total, null_pi)
    upper_tail = binom.sf(current - 1.0, total, null_pi)
    p_value = np.minimum(1.0, 2.0 * np.minimum(lower_tail, upper_tail))

    fall = high < 1.0  # NaN (unbounded) compares False
    rise = low > 1.0
    return {
        "ratio": ratio,
        "low": low,
        "high": high,
        "p_value": p_value,
        "change_pct": (ratio - 1.0) * 100.0,
        "change_low_pct": (low - 1.0) * 100.0,
        "change_high_pct": (high - 1.0) * 100.0,
        "significant": fall | rise,
        "verdict": _verdicts(fall, rise),
    }


def _verdicts(fall: np.ndarray, rise: np.ndarray) -> np.ndarray:
    return np.where(fall, SIGNIFICANT_FALL, np.where(rise, SIGNIFICANT_RISE, NO_SIGNIFICANT_CHANGE))


def _blank_missing(core: dict[str, np.ndarray], missing: np.ndarray) -> dict[str, np.ndarray]:
    """Results for comparisons with missing input: NaN, not significant, verdict "no data"."""
    if not missing.any():
        return core
    blanked = {}
    for name, value in core.items():
        if value.dtype.kind == "f":
            blanked[name] = np.where(missing, np.nan, value)
        elif value.dtype.kind == "b":
            blanked[name] = value & ~missing
        else:
            blanked[name] = np.where(missing, NO_DATA, value)
    return blanked


def _plain_sentence(
    *,
    current: str,
    change_pct: float | None,
    change_low_pct: float,
    change_high_pct: float | None,
    confidence: float,
    verdict: str,
    subject: str | None,
    approximate: bool = False,
) -> str:
    """One sentence for a reader: the change, its interval, and whether chance explains it.

    ``subject`` prefixes the headline ("Rate up 9%", "Harm down 12%"); None
    gives "Up 9%". ``current`` is the formatted current figure, used when the
    baseline is zero ("Up from 0 to 6").
    """
    level = f"{'approximate ' if approximate else ''}{confidence * 100:g}%"
    if verdict == SIGNIFICANT_FALL:
        conclusion = "a fall larger than chance alone would explain."
    elif verdict == SIGNIFICANT_RISE:
        conclusion = "a rise larger than chance alone would explain."
    else:
        conclusion = "within the range expected from chance."

    if change_pct is None:  # baseline of zero, current above zero
        headline = _with_subject(subject, f"Up from 0 to {current}")
        return f"{headline} ({level} CI: at least {_signed_pct(change_low_pct)}): {conclusion}"
    if round(change_pct, 1) == 0:
        headline = "No change" if subject is None else f"{subject} unchanged"
    else:
        headline = _with_subject(subject, ("Up " if change_pct > 0 else "Down ") + _magnitude_pct(change_pct))
    upper = "no upper limit" if change_high_pct is None else _signed_pct(change_high_pct)
    return f"{headline} ({level} CI {_signed_pct(change_low_pct)} to {upper}): {conclusion}"


def _with_subject(subject: str | None, headline: str) -> str:
    return headline if subject is None else f"{subject} {headline[0].lower()}{headline[1:]}"


def _magnitude_pct(value: float) -> str:
    # Whole percentages read best; keep one decimal for changes under 1%.
    size = abs(value)
    return f"{size:.0f}%" if size >= 1 else f"{size:.1f}%"


def _signed_pct(value: float) -> str:
    from crimeplan.present import signed

    return signed(value, "%", decimals=None)  # whole per cent, one decimal under 1%


def _float_or_none(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.array(array)  # an owned, contiguous copy
    array.flags.writeable = False
    return array


def _arrays_to_dict(result: Any) -> dict[str, Any]:
    """A dataclass of arrays as JSON-safe nested lists; NaN and infinities become None."""
    data: dict[str, Any] = {}
    for field in fields(result):
        value = getattr(result, field.name)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            value = np.where(np.isfinite(value), value, None).tolist()
        elif isinstance(value, np.ndarray):
            value = value.tolist()
        data[field.name] = value
    return data


def _broadcast(**arrays: np.ndarray) -> list[np.ndarray]:
    try:
        return list(np.broadcast_arrays(*arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{name} {array.shape}" for name, array in arrays.items())
        raise ValueError(f"the arrays cannot be broadcast to one shape: {shapes}") from None


def _first_bad(mask: np.ndarray, values: np.ndarray, name: str) -> str:
    """``name[i, j] (value)`` for the first True entry of ``mask``; just ``name`` for a scalar."""
    index = np.unravel_index(int(np.argmax(mask)), mask.shape)
    value = values[index].item()
    if mask.ndim == 0:
        return f"{name} ({value!r})"
    return f"{name}[{', '.join(str(int(i)) for i in index)}] ({value!r})"


def _numeric_array(value: Any, name: str, expected: str, nan_is_missing: bool = False) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        hint = " (use NaN for a missing value)" if nan_is_missing else ""
        raise ValueError(
            f"{name} must be {expected} (a numeric array), got an array of dtype {array.dtype}; "
            f"booleans, strings and None are not accepted{hint}"
        )
    return array.astype(float)


def _as_count_array(value: Any, name: str) -> np.ndarray:
    """Counts as floats; NaN (missing) is kept, anything else must be a whole number >= 0."""
    array = _numeric_array(value, name, "whole numbers of events", nan_is_missing=True)
    not_whole = np.isinf(array) | (np.isfinite(array) & (array != np.floor(array)))
    if not_whole.any():
        raise ValueError(f"{_first_bad(not_whole, array, name)} must be a whole number of events")
    negative = array < 0
    if negative.any():
        raise ValueError(f"{_first_bad(negative, array, name)} must not be negative")
    return array


def _as_exposure_array(value: Any, name: str) -> np.ndarray:
    array = _numeric_array(value, name, "positive numbers (days, months, population...)")
    bad = ~np.isfinite(array) | (array <= 0)
    if bad.any():
        raise ValueError(f"{_first_bad(bad, array, name)} must be a positive finite number")
    return array


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
