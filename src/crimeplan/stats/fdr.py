"""Benjamini–Hochberg control of the false discovery rate across many tests.

Method
------
With ``m`` p-values sorted as ``p_(1) ≤ … ≤ p_(m)``, the step-up procedure
rejects the hypotheses with the ``k`` smallest p-values, where ``k`` is the
largest ``i`` such that ``p_(i) ≤ i q / m``. This keeps the expected proportion
of false discoveries among the rejections at most ``q`` for independent (and
positively dependent) tests.

The adjusted p-values ("q-values") are ``min over j ≥ i of (m p_(j) / j)``,
capped at 1; a hypothesis is rejected exactly when its adjusted value is
``≤ q`` (up to floating-point rounding, which is why decisions are taken by
the step-up rule itself), so one list of adjusted values serves every ``q``.

Missing p-values (``None`` or NaN, e.g. an area with no data) are not tests:
they are left out of ``m``, never rejected, and their adjusted value is
``None``.

Reference
---------
Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate: a
practical and powerful approach to multiple testing. *Journal of the Royal
Statistical Society, Series B* 57(1): 289–300.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FdrResult:
    """Benjamini–Hochberg adjusted p-values and decisions, in the order the p-values were given."""

    q: float
    adjusted: list[float | None]
    rejected: list[bool]
    n_tests: int
    n_rejected: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe values (missing p-values give None, never NaN)."""
        return asdict(self)


def benjamini_hochberg(p_values: Sequence[float | None], q: float = 0.05) -> FdrResult:
    """Benjamini–Hochberg step-up procedure at false discovery rate ``q``.

    Raises ValueError if ``q`` is not strictly between 0 and 1 or a p-value is
    outside [0, 1].
    """
    _check_q(q)
    given = list(p_values)
    present: list[int] = []
    values: list[float] = []
    for position, p in enumerate(given):
        if p is None or (isinstance(p, numbers.Real) and math.isnan(p)):
            continue
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ValueError(f"p_values[{position}] must be a probability between 0 and 1, got {p!r}")
        present.append(position)
        values.append(float(p))
    total = len(given)

    adjusted: list[float | None] = [None] * total
    rejected = [False] * total
    m = len(values)
    if m:
        p = np.asarray(values)
        order = np.argsort(p, kind="stable")
        ranks = np.arange(1, m + 1)
        q_values = benjamini_hochberg_adjusted(p[None, :])[0]
        # Decide by the paper's step-up rule itself rather than by q-value <= q, so
        # that rounding in m * p / i cannot flip a decision at the boundary.
        passing = np.nonzero(p[order] <= ranks * q / m)[0]
        n_reject = int(passing[-1]) + 1 if passing.size else 0
        is_rejected = np.zeros(m, dtype=bool)
        is_rejected[order[:n_reject]] = True
        for position, q_value, reject in zip(present, q_values, is_rejected):
            adjusted[position] = float(q_value)
            rejected[position] = bool(reject)
    return FdrResult(
        q=float(q),
        adjusted=adjusted,
        rejected=rejected,
        n_tests=m,
        n_rejected=sum(rejected),
    )


def _check_q(q: float) -> None:
    """Raise ValueError unless ``q`` (a false discovery rate) is a number strictly between 0 and 1."""
    if isinstance(q, bool) or not isinstance(q, numbers.Real) or not 0 < q < 1:
        raise ValueError(f"q (the false discovery rate) must be strictly between 0 and 1, got {q!r}")


def benjamini_hochberg_adjusted(p_values: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values (q-values) for each row of a 2-D array, rows independent; NaN = not tested.

    The vectorised form used when one comparison is made across many areas for
    many periods at once: row i holds the areas' p-values for period i.
    """
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 2:
        raise ValueError("expected a 2-D array: one row of p-values per family of tests")
    tested = ~np.isnan(p)
    m = tested.sum(axis=1, keepdims=True)
    order = np.argsort(np.where(tested, p, np.inf), axis=1, kind="stable")
    p_sorted = np.take_along_axis(p, order, axis=1)
    ranks = np.arange(1, p.shape[1] + 1)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(ranks <= m, p_sorted * m / ranks, np.inf)
    # Running minimum from the largest p-value down makes the q-values monotone.
    q_sorted = np.minimum(np.minimum.accumulate(scaled[:, ::-1], axis=1)[:, ::-1], 1.0)
    q = np.empty_like(p)
    np.put_along_axis(q, order, q_sorted, axis=1)
    return np.where(tested, q, np.nan)
