"""Whether a rate ratio has changed: the ratio of two independent rate ratios, with its interval.

Method
------
Two rate ratios from independent Poisson counts, ``RR₁ = (a/Eₐ)/(b/E_b)`` now and
``RR₀ = (c/E_c)/(d/E_d)`` before, are compared on the log scale (Altman and Bland
2003, "Interaction revisited"): the difference of the logs is

    log(RR₁ / RR₀) = log RR₁ − log RR₀,   SE = √(1/a + 1/b + 1/c + 1/d),

the standard error of each log rate ratio being √(1/a + 1/b) (the exposures are
constants and drop out). The interval is ``exp(log ± z·SE)`` and the two-sided
p value ``2·(1 − Φ(|log| / SE))``, so the interval excludes 1 exactly when
p < 1 − confidence. Where the exposures are the same in both periods (searches of
two groups set against the same Census residents) they cancel and the ratio of
ratios is that of the four counts, ``(a·d)/(b·c)``.

A count of 0 leaves the log undefined: no comparison is made (``None``).

This is a Wald interval: for counts of a few dozen or more, as here, it is close to
exact; with smaller counts it is approximate.

References
----------
Altman, D. G. & Bland, J. M. (2003). Interaction revisited: the difference
between two estimates. BMJ 326: 219.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import norm

RISE = "significant rise"
FALL = "significant fall"
NO_CHANGE = "no significant change"


@dataclass(frozen=True)
class RatioOfRatios:
    ratio: float  # RR₁ / RR₀
    low: float
    high: float
    p_value: float
    verdict: str

    def to_dict(self) -> dict:
        return asdict(self)


def ratio_of_ratios_arrays(a, b, c, d, exposure_ratio=1.0, confidence: float = 0.95) -> dict[str, np.ndarray]:
    """:func:`ratio_of_ratios` for arrays (broadcast together): 'ratio', 'low', 'high', 'p_value', NaN where a
    count is 0 or missing."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence {confidence!r}: expected a number between 0 and 1")
    a, b, c, d, e = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (a, b, c, d, exposure_ratio)))
    if np.any(np.stack([a, b, c, d]) < 0):
        raise ValueError("counts must not be negative")
    ok = (a > 0) & (b > 0) & (c > 0) & (d > 0) & (e > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log = np.where(ok, np.log(np.where(ok, a * d * e, 1.0)) - np.log(np.where(ok, b * c, 1.0)), np.nan)
        se = np.where(ok, np.sqrt(1 / np.where(ok, a, 1) + 1 / np.where(ok, b, 1) + 1 / np.where(ok, c, 1)
                                  + 1 / np.where(ok, d, 1)), np.nan)
    z = norm.ppf(1 - (1 - confidence) / 2)
    return {"ratio": np.exp(log), "low": np.exp(log - z * se), "high": np.exp(log + z * se),
            "p_value": np.minimum(1.0, 2 * norm.sf(np.abs(log) / se))}


def ratio_of_ratios(a: float, b: float, c: float, d: float, exposure_ratio: float = 1.0,
                    confidence: float = 0.95) -> RatioOfRatios | None:
    """``(a/b)/(c/d)`` times ``exposure_ratio`` (``(E_b·E_c)/(Eₐ·E_d)``; 1 when the exposures cancel).

    ``a``, ``b``: the two counts of the ratio now (group, reference); ``c``, ``d``: before.
    None when any count is 0 (the log ratio is undefined).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence {confidence!r}: expected a number between 0 and 1")
    counts = (a, b, c, d)
    if any(x is None or x < 0 or not math.isfinite(x) for x in counts):
        raise ValueError(f"counts {counts!r}: expected four non-negative numbers")
    if min(counts) == 0:
        return None
    r = {k: float(v) for k, v in ratio_of_ratios_arrays(a, b, c, d, exposure_ratio, confidence).items()}
    verdict = RISE if r["low"] > 1 else FALL if r["high"] < 1 else NO_CHANGE
    return RatioOfRatios(r["ratio"], r["low"], r["high"], r["p_value"], verdict)
