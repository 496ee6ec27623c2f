"""Statistical process control charts for monthly counts: c-chart, u-chart, Laney u′-chart.

Methods
-------
*c-chart* (counts from equal opportunities, e.g. months of equal length):
centre ``c̄ = mean(c)``, limits ``c̄ ± 3√c̄``, the lower limit floored at 0.

*u-chart* (counts per unit of exposure ``n_i``: days, population...):
``u_i = c_i / n_i``; centre ``ū = Σc / Σn``; limits ``ū ± 3√(ū / n_i)`` for each
point, the lower limit floored at 0.

*Laney u′-chart*: crime counts are often overdispersed (month-to-month
variation beyond Poisson), which makes u-chart limits too narrow and flags
ordinary months. Laney's correction standardises each point,
``z_i = (u_i − ū) / √(ū / n_i)``, estimates the between-point spread of the
z-scores from their average moving range, ``σ_z = mean|z_i − z_{i−1}| / 1.128``
(1.128 is the bias constant d₂ for ranges of two), and widens the limits to
``ū ± 3 σ_z √(ū / n_i)``.

With ``laney=True`` the estimated ``σ_z`` is used as it is, even below 1
(which narrows the limits), as in Laney (2002).

Rule for choosing Laney automatically (``laney=None``): use it when
``σ_z > 1`` *and* the Pearson dispersion test is significant at 5%, i.e.
``X² = Σ (c_i − n_i ū)² / (n_i ū)`` exceeds the upper 5% point of χ² with
``k − 1`` degrees of freedom. Requiring both avoids switching on a noisy
``σ_z`` estimate alone when the counts are in fact Poisson.

*Western Electric rules* (points flagged as special-cause variation), with
``z = (value − centre) / sigma``:

1. one point beyond 3σ;
2. two of three consecutive points beyond 2σ on the same side;
3. four of five consecutive points beyond 1σ on the same side;
4. eight consecutive points on the same side of the centre line.

A signal is reported at the point that completes a pattern, and for rules 2
and 3 only when that point is itself part of it (so a normal point after two
extreme ones is not flagged). Windows at the start of the series are
shortened (the first two points beyond 2σ complete rule 2). Every further
point of a run of eight or more is flagged by rule 4.

References
----------
Montgomery, D. C. (2009). *Introduction to Statistical Quality Control*, 6th
ed. Wiley. Chapter 7, §7.3 (control charts for nonconformities: c and u charts).

Laney, D. B. (2002). Improved control charts for attributes. *Quality
Engineering* 14(4): 531–537.

Western Electric Company (1956). *Statistical Quality Control Handbook*.
Indianapolis: Western Electric Co. (zone rules for unnatural patterns).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from scipy.stats import chi2

ChartKind = Literal["c", "u", "laney u′"]
Side = Literal["above", "below"]

# Bias-correction constant d2 for the range of two observations (moving range).
D2_MOVING_RANGE_OF_TWO = 1.128
# Significance level of the dispersion test that switches Laney on automatically.
DISPERSION_TEST_LEVEL = 0.05
# Montgomery recommends 20–25 subgroups for trial limits; a year of months is the
# least that crimeplan treats as more than provisional.
FEW_POINTS = 12


@dataclass(frozen=True)
class Signal:
    """One point flagged by one Western Electric rule."""

    index: int
    rule: int
    side: Side
    description: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ControlChart:
    """A control chart: per-point centre line, limits and one-sigma width, plus signals.

    ``values`` are what is plotted: counts for a c-chart, rates (count per unit
    of exposure) for u-charts. ``exceptions`` are the indices flagged by any rule.
    ``dispersion_*`` is the Pearson test of Poisson variation (None when it
    cannot be computed); ``sigma_z`` is Laney's factor, set only on a Laney chart.
    """

    chart: ChartKind
    values: list[float]
    counts: list[int]
    exposures: list[float] | None
    centre: list[float]
    lower: list[float]
    upper: list[float]
    sigma: list[float]
    sigma_z: float | None
    dispersion_chi2: float | None
    dispersion_df: int | None
    dispersion_p_value: float | None
    signals: list[Signal]
    exceptions: list[int]
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe values (no NaN or inf)."""
        return asdict(self)


def c_chart(counts: Sequence[int]) -> ControlChart:
    """c-chart for counts from equal areas of opportunity (e.g. monthly counts).

    Raises ValueError for an empty series or a count that is negative or not whole.
    """
    count_array = _as_counts(counts, "counts")
    k = len(count_array)
    mean = float(count_array.mean())
    sigma = math.sqrt(mean)
    notes: list[str] = []

    values = count_array.astype(float)
    dispersion = _pearson_dispersion(count_array, np.ones(k), mean)
    sigma_z = _laney_sigma_z(values, mean, np.full(k, sigma))
    if _overdispersed(sigma_z, dispersion):
        notes.append(
            f"the counts vary more than a Poisson process would ({_dispersion_evidence(sigma_z, dispersion)}), "
            "so these limits are too narrow; use a Laney u′-chart"
        )
    return _build_chart(
        chart="c",
        values=values,
        counts=count_array,
        exposures=None,
        centre=np.full(k, mean),
        sigma=np.full(k, sigma),
        sigma_z=None,
        dispersion=dispersion,
        notes=notes,
    )


def u_chart(
    counts: Sequence[int],
    exposures: Sequence[float],
    laney: bool | None = None,
) -> ControlChart:
    """u-chart of rates ``count / exposure``, with Laney's u′ adjustment for overdispersion.

    ``laney=True`` always applies Laney's adjustment, ``False`` never, ``None``
    (default) when the counts are overdispersed: ``σ_z > 1`` and the Pearson
    dispersion test is significant at 5% (see the module docstring).

    Raises ValueError for an empty series, mismatched lengths, bad counts or
    exposures that are not positive finite numbers.
    """
    count_array = _as_counts(counts, "counts")
    exposure_array = _as_exposures(exposures, len(count_array))
    k = len(count_array)
    pooled_rate = float(count_array.sum() / exposure_array.sum())
    rates = count_array / exposure_array
    sigma_u = np.sqrt(pooled_rate / exposure_array)
    notes: list[str] = []

    dispersion = _pearson_dispersion(count_array, exposure_array, pooled_rate)
    sigma_z = _laney_sigma_z(rates, pooled_rate, sigma_u)

    if laney is None:
        use_laney = _overdispersed(sigma_z, dispersion)
        if use_laney:
            notes.append(
                f"counts are overdispersed ({_dispersion_evidence(sigma_z, dispersion)}): "
                "Laney's adjustment applied"
            )
    elif laney:
        use_laney = sigma_z is not None
        if not use_laney:
            notes.append("Laney's adjustment needs at least two points and a non-zero rate; plain u-chart shown")
    else:
        use_laney = False
        if _overdispersed(sigma_z, dispersion):
            notes.append(
                f"counts are overdispersed ({_dispersion_evidence(sigma_z, dispersion)}), "
                "so these limits are too narrow; Laney's adjustment would widen them"
            )

    if use_laney:
        assert sigma_z is not None
        sigma = sigma_u * sigma_z
    else:
        sigma = sigma_u
    return _build_chart(
        chart="laney u′" if use_laney else "u",
        values=rates,
        counts=count_array,
        exposures=exposure_array,
        centre=np.full(k, pooled_rate),
        sigma=sigma,
        sigma_z=sigma_z if use_laney else None,
        dispersion=dispersion,
        notes=notes,
    )


def western_electric_rules(
    values: Sequence[float],
    centre: float | Sequence[float],
    sigma: float | Sequence[float],
) -> list[Signal]:
    """Points breaking the four Western Electric rules, ordered by index then rule.

    ``centre`` and ``sigma`` (one standard deviation of a point) may be scalars
    or one value per point. A point with ``sigma == 0`` is beyond every limit
    unless it equals the centre.
    """
    value_array = np.asarray(values, dtype=float)
    if value_array.ndim != 1:
        raise ValueError("values must be a one-dimensional sequence of numbers")
    k = len(value_array)
    centre_array = _per_point(centre, k, "centre")
    sigma_array = _per_point(sigma, k, "sigma")
    if not np.all(np.isfinite(value_array)):
        raise ValueError("values must be finite numbers (no NaN or infinity)")
    if np.any(sigma_array < 0):
        raise ValueError("sigma must not be negative")

    deviation = value_array - centre_array
    # Zero sigma: any departure from the centre is infinitely many sigmas away.
    z = np.zeros(k)
    has_width = sigma_array > 0
    z[has_width] = deviation[has_width] / sigma_array[has_width]
    z[~has_width & (deviation > 0)] = np.inf
    z[~has_width & (deviation < 0)] = -np.inf

    signals: list[Signal] = []
    for side, sign in (("above", 1.0), ("below", -1.0)):
        directed = z * sign  # positive means "on this side"
        run = 0
        for i in range(k):
            if directed[i] > 3:
                signals.append(Signal(i, 1, side, f"More than 3 sigma {side} the centre line (outside the control limits)"))
            if directed[i] > 2 and np.count_nonzero(directed[max(0, i - 2) : i + 1] > 2) >= 2:
                signals.append(Signal(i, 2, side, f"2 of the last 3 points more than 2 sigma {side} the centre line"))
            if directed[i] > 1 and np.count_nonzero(directed[max(0, i - 4) : i + 1] > 1) >= 4:
                signals.append(Signal(i, 3, side, f"4 of the last 5 points more than 1 sigma {side} the centre line"))
            run = run + 1 if directed[i] > 0 else 0
            if run >= 8:
                signals.append(Signal(i, 4, side, f"{run} points in a row {side} the centre line"))
    signals.sort(key=lambda s: (s.index, s.rule))
    return signals


def _build_chart(
    *,
    chart: ChartKind,
    values: np.ndarray,
    counts: np.ndarray,
    exposures: np.ndarray | None,
    centre: np.ndarray,
    sigma: np.ndarray,
    sigma_z: float | None,
    dispersion: tuple[float, int, float] | None,
    notes: list[str],
) -> ControlChart:
    k = len(values)
    upper = centre + 3 * sigma
    lower = np.maximum(centre - 3 * sigma, 0.0)  # counts and rates cannot be negative
    if k < 2:
        signals: list[Signal] = []
        notes.insert(0, "only one point: limits are shown but no rule can be tested")
    else:
        signals = western_electric_rules(values, centre, sigma)
        if k < FEW_POINTS:
            notes.insert(0, f"limits estimated from only {k} points are imprecise; treat signals as provisional")
    chi2_stat, df, p_value = dispersion if dispersion is not None else (None, None, None)
    return ControlChart(
        chart=chart,
        values=[float(v) for v in values],
        counts=[int(c) for c in counts],
        exposures=None if exposures is None else [float(e) for e in exposures],
        centre=[float(c) for c in centre],
        lower=[float(v) for v in lower],
        upper=[float(v) for v in upper],
        sigma=[float(s) for s in sigma],
        sigma_z=sigma_z,
        dispersion_chi2=chi2_stat,
        dispersion_df=df,
        dispersion_p_value=p_value,
        signals=signals,
        exceptions=sorted({s.index for s in signals}),
        note="; ".join(notes) if notes else None,
    )


def _laney_sigma_z(values: np.ndarray, centre: float, sigma: np.ndarray) -> float | None:
    """Laney's σz: average moving range of the z-scores over d2; None with < 2 points or zero sigma."""
    if len(values) < 2 or not np.all(sigma > 0):
        return None
    z_scores = (values - centre) / sigma
    return float(np.mean(np.abs(np.diff(z_scores))) / D2_MOVING_RANGE_OF_TWO)


def _overdispersed(sigma_z: float | None, dispersion: tuple[float, int, float] | None) -> bool:
    """The module's rule for Laney: σz > 1 and a significant Pearson dispersion test."""
    return (
        sigma_z is not None
        and sigma_z > 1
        and dispersion is not None
        and dispersion[2] < DISPERSION_TEST_LEVEL
    )


def _dispersion_evidence(sigma_z: float, dispersion: tuple[float, int, float]) -> str:
    """The "σz = …, dispersion test p = …" part of the notes on overdispersed counts."""
    return f"σz = {sigma_z:.2f}, dispersion test p = {dispersion[2]:.2g}"


def _pearson_dispersion(
    counts: np.ndarray, exposures: np.ndarray, rate: float
) -> tuple[float, int, float] | None:
    """Pearson χ² of counts against their Poisson expectation, its df and upper-tail p-value."""
    k = len(counts)
    if k < 2 or rate <= 0:
        return None
    expected = exposures * rate
    statistic = float(np.sum((counts - expected) ** 2 / expected))
    return statistic, k - 1, float(chi2.sf(statistic, k - 1))


def _as_counts(counts: Sequence[int], name: str) -> np.ndarray:
    items = list(counts)
    if not items:
        raise ValueError(f"{name} is empty: a control chart needs at least one count")
    for position, item in enumerate(items):
        if (
            isinstance(item, bool)
            or not isinstance(item, numbers.Real)
            or not math.isfinite(item)
            or not float(item).is_integer()
        ):
            raise ValueError(f"{name}[{position}] must be a whole number of events, got {item!r}")
        if item < 0:
            raise ValueError(f"{name}[{position}] must not be negative, got {item!r}")
    return np.asarray([int(item) for item in items], dtype=np.int64)


def _as_exposures(exposures: Sequence[float], k: int) -> np.ndarray:
    items = list(exposures)
    if len(items) != k:
        raise ValueError(f"exposures has {len(items)} values but counts has {k}; give one exposure per count")
    for position, item in enumerate(items):
        if isinstance(item, bool) or not isinstance(item, numbers.Real) or not math.isfinite(item) or item <= 0:
            raise ValueError(f"exposures[{position}] must be a positive finite number, got {item!r}")
    return np.asarray(items, dtype=float)


def _per_point(value: float | Sequence[float], k: int, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        array = np.full(k, float(array))
    elif array.shape != (k,):
        raise ValueError(f"{name} must be a number or one number per value ({k}), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite numbers")
    return array
