"""Hot and cold spots among areas: local Getis–Ord Gi* with false-discovery-rate control.

Method
------
For area ``i`` with neighbourhood weights ``w_ij`` that include the area itself
(``w_ii = 1``; this is what makes it Gi* rather than Gi), Ord & Getis (1995)
give the standardised statistic

    z_i = (Σ_j w_ij x_j − x̄ W_i) / ( s √((n S1_i − W_i²) / (n − 1)) )

with ``W_i = Σ_j w_ij``, ``S1_i = Σ_j w_ij²``, ``x̄`` the mean and ``s`` the
standard deviation (divisor n) of the values over all ``n`` areas. A large
positive ``z`` means an area and its neighbours are together higher than the
map as a whole (a hot spot), a large negative one lower (a cold spot).

Weights are queen contiguity (areas sharing an edge or a corner), built with
libpysal from the areas' geometries, or taken from a libpysal ``W``; the
statistic is computed by ``esda.G_Local(star=True)``.

Why binary rather than row-standardised weights: ``z_i`` does not change when
a row of weights is multiplied by a constant (numerator and standard deviation
scale together), so row-standardised and binary weights give the same z-scores
and the same permutation p-values. esda's analytical variance, however,
assumes binary weights (``S1_i = W_i``); with ``transform='R'`` it overstates
the variance and shrinks every z-score by roughly ``√(k + 1)`` for an area with
``k`` neighbours. Binary weights make esda's formula the formula above exactly.

Inference: each area gets a two-sided p-value from the normal approximation
(``2 Φ(−|z|)``) and, when ``permutations > 0``, a two-sided pseudo p-value from
conditional randomisation (the value of area ``i`` held fixed, the others
permuted; ``2 (m + 1) / (permutations + 1)`` capped at 1, where ``m`` is the
number of simulated statistics in the smaller tail). The areas are
tested together, so the chosen p-values go through the Benjamini–Hochberg
procedure (``crimeplan.stats.fdr``) before any area is called a hot or cold
spot. The normal p-values are the default because a permutation p-value
cannot be smaller than ``2 / (permutations + 1)``: across hundreds of wards
that floor can stop FDR control from ever declaring a hot spot.

Areas with no neighbours (islands), and areas whose neighbourhood is every
area, have no defined z-score: they are reported as "not significant" with
None statistics and a note, and are left out of the FDR count.

References
----------
Getis, A. & Ord, J. K. (1992). The analysis of spatial association by use of
distance statistics. *Geographical Analysis* 24(3): 189–206.

Ord, J. K. & Getis, A. (1995). Local spatial autocorrelation statistics:
distributional issues and an application. *Geographical Analysis* 27(4):
286–306.

Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate.
*Journal of the Royal Statistical Society, Series B* 57(1): 289–300.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from esda.getisord import G_Local
from libpysal.weights import W, Queen
from scipy.stats import norm

from crimeplan.stats.fdr import _check_q, benjamini_hochberg
from crimeplan.stats.rate_ratio import _float_or_none

Classification = Literal["hot spot", "cold spot", "not significant"]
PValueMethod = Literal["normal", "permutation"]

DEFAULT_SEED = 12345


@dataclass(frozen=True)
class HotspotArea:
    """Gi* result for one area. Statistics are None where undefined; ``note`` says why."""

    index: int
    id: str | int
    value: float
    neighbours: int
    z: float | None
    p_norm: float | None
    p_sim: float | None
    p_value: float | None
    q_value: float | None
    classification: Classification
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HotspotResult:
    """Gi* hot and cold spots for every area, in the order of the values given.

    ``p_value_method`` says which p-values (``p_norm`` or ``p_sim``) went into
    the Benjamini–Hochberg procedure at false discovery rate ``q``.
    """

    areas: list[HotspotArea]
    p_value_method: PValueMethod
    permutations: int
    seed: int | None
    q: float
    n_tested: int
    n_hot: int
    n_cold: int
    note: str | None = None

    @property
    def z_scores(self) -> list[float | None]:
        return [area.z for area in self.areas]

    @property
    def classifications(self) -> list[Classification]:
        return [area.classification for area in self.areas]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe values (no NaN or inf)."""
        return asdict(self)


def getis_ord_gi_star(
    values: Sequence[float],
    areas: Sequence[Any] | W,
    *,
    ids: Sequence[str | int] | None = None,
    permutations: int = 999,
    seed: int | None = DEFAULT_SEED,
    q: float = 0.05,
    p_value: PValueMethod = "normal",
) -> HotspotResult:
    """Local Getis–Ord Gi* for each area, classified after Benjamini–Hochberg FDR control.

    Parameters
    ----------
    values:
        One non-negative value per area (a count or a rate).
    areas:
        The areas' shapely geometries (queen contiguity is built from them; a
        GeoSeries or GeoDataFrame works), or libpysal weights (a ``W`` whose
        ``id_order`` matches ``values``, or a ``Graph``). Only the neighbour
        structure of the weights is used, so they must be binary or
        row-standardised binary.
    ids:
        Labels for the areas (e.g. ward codes); default the ``W``'s ids or 0..n−1.
    permutations:
        Conditional randomisations for ``p_sim``; 0 for none.
    seed:
        Seed for the permutations, so that results are reproducible.
    q:
        False discovery rate for the Benjamini–Hochberg procedure.
    p_value:
        "normal" (default) or "permutation": which p-values decide.

    Raises ValueError for mismatched lengths, negative or non-finite values,
    non-binary weights, or bad options.
    """
    if p_value not in ("normal", "permutation"):
        raise ValueError(f'p_value must be "normal" or "permutation", got {p_value!r}')
    if isinstance(permutations, bool) or not isinstance(permutations, numbers.Integral) or permutations < 0:
        raise ValueError(f"permutations must be a non-negative whole number, got {permutations!r}")
    permutations = int(permutations)
    if p_value == "permutation" and permutations == 0:
        raise ValueError('p_value="permutation" needs permutations > 0')
    _check_q(q)  # before the expensive esda step

    y = np.asarray(list(values), dtype=float)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError("values must be a non-empty sequence of numbers, one per area")
    if not np.all(np.isfinite(y)):
        raise ValueError("values must be finite numbers (no missing values, NaN or infinity)")
    if np.any(y < 0):
        raise ValueError("values must not be negative (Gi* is defined for counts and rates)")

    weights = _binary_weights(areas, len(y))
    n = len(y)
    labels = _labels(ids, weights, n)
    neighbour_counts = np.array([len(weights.neighbors[key]) for key in weights.id_order])

    notes: list[str] = []
    z = np.full(n, np.nan)
    p_sim = np.full(n, np.nan)
    computed = False
    if np.ptp(y) == 0:
        notes.append("all values are equal: there can be no hot or cold spots")
    elif n < 3:
        notes.append("fewer than three areas: Gi* needs more areas to compare with")
    else:
        z, p_sim = _run_esda(y, weights, permutations, seed)
        computed = True

    area_notes: list[str | None] = [None] * n
    for i in range(n):
        if neighbour_counts[i] == 0:
            z[i] = np.nan  # p_sim is blanked below wherever z is undefined
            area_notes[i] = "no neighbours: Gi* undefined"
        elif computed and not np.isfinite(z[i]):
            area_notes[i] = "neighbourhood includes every area: Gi* undefined"

    defined = np.isfinite(z)
    p_norm = np.where(defined, 2 * norm.sf(np.abs(np.where(defined, z, 0.0))), np.nan)
    p_sim = np.where(defined, p_sim, np.nan)
    deciding = p_norm if p_value == "normal" else p_sim
    fdr = benjamini_hochberg([None if not math.isfinite(p) else float(p) for p in deciding], q=q)

    if p_value == "permutation" and fdr.n_tests:
        smallest = 2 / (permutations + 1)
        needed = math.ceil(fdr.n_tests * smallest / q - 1e-12)
        if needed > 1:
            notes.append(
                f"with {permutations} permutations no p-value can be below {smallest:.2g}, so at least "
                f"{needed} areas must reach it before any is called a hot or cold spot; "
                "use more permutations or p_value='normal'"
            )

    results: list[HotspotArea] = []
    for i in range(n):
        classification: Classification = "not significant"
        if fdr.rejected[i]:
            classification = "hot spot" if z[i] > 0 else "cold spot"
        results.append(
            HotspotArea(
                index=i,
                id=labels[i],
                value=float(y[i]),
                neighbours=int(neighbour_counts[i]),
                z=_float_or_none(z[i]),
                p_norm=_float_or_none(p_norm[i]),
                p_sim=_float_or_none(p_sim[i]),
                p_value=_float_or_none(deciding[i]),
                q_value=fdr.adjusted[i],
                classification=classification,
                note=area_notes[i],
            )
        )
    return HotspotResult(
        areas=results,
        p_value_method=p_value,
        permutations=permutations,
        seed=seed,
        q=float(q),
        n_tested=fdr.n_tests,
        n_hot=sum(1 for area in results if area.classification == "hot spot"),
        n_cold=sum(1 for area in results if area.classification == "cold spot"),
        note="; ".join(notes) if notes else None,
    )


def _run_esda(y: np.ndarray, weights: W, permutations: int, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """esda's Gi* z-scores and two-sided permutation p-values (NaN where undefined)."""
    # esda seeds NumPy's global generator; put the caller's state back afterwards.
    global_state = np.random.get_state()
    try:
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            # Undefined z-scores (zero variance) are expected and handled by the caller.
            warnings.simplefilter("ignore", RuntimeWarning)
            # esda warns that its default one-sided p_sim will change; the two-sided
            # p-value is computed here from the simulations, so either default is fine.
            warnings.filterwarnings("ignore", message="The alternative hypothesis", category=DeprecationWarning)
            # Islands and disconnected groups of areas are reported per area by the caller.
            warnings.filterwarnings("ignore", message="The weights matrix is not fully connected", category=UserWarning)
            warnings.filterwarnings("ignore", message=".*islands", category=UserWarning)
            result = G_Local(
                y,
                weights,
                transform="B",
                permutations=permutations,
                star=True,
                keep_simulations=True,
                n_jobs=1,
                seed=seed,
            )
    finally:
        np.random.set_state(global_state)
    z = np.asarray(result.Zs, dtype=float)
    if not permutations:
        return z, np.full(len(y), np.nan)
    simulated = np.asarray(result.rGs, dtype=float).reshape(len(y), permutations)
    observed = np.asarray(result.Gs, dtype=float)[:, None]
    # Pseudo p-value counting the smaller tail, the observed value included (+1).
    at_least = np.count_nonzero(simulated >= observed, axis=1)
    at_most = np.count_nonzero(simulated <= observed, axis=1)
    p_two_sided = np.minimum(1.0, 2 * (np.minimum(at_least, at_most) + 1) / (permutations + 1))
    return z, p_two_sided


def _binary_weights(areas: Sequence[Any] | W, n: int) -> W:
    """Binary contiguity weights without self-neighbours (esda adds the self-weight of Gi*)."""
    if not isinstance(areas, W) and hasattr(areas, "to_W"):
        areas = areas.to_W()  # a libpysal.graph.Graph
    if isinstance(areas, W):
        neighbours: dict[Any, list[Any]] = {}
        for key in areas.id_order:
            others = [(j, wt) for j, wt in zip(areas.neighbors[key], areas.weights[key]) if j != key]
            distinct = {wt for _, wt in others}
            if len(distinct) > 1 and not np.allclose(list(distinct), next(iter(distinct))):
                raise ValueError(
                    f"weights for area {key!r} are not binary (values {sorted(distinct)[:3]}...): "
                    "give contiguity weights; Gi* here uses only which areas are neighbours"
                )
            neighbours[key] = [j for j, _ in others]
        if len(neighbours) != n:
            raise ValueError(f"the weights cover {len(neighbours)} areas but {n} values were given")
        return W(neighbours, id_order=list(areas.id_order), silence_warnings=True)

    geometries = getattr(areas, "geometry", areas)  # a GeoDataFrame's geometry column
    geometries = list(geometries)
    if len(geometries) != n:
        raise ValueError(f"{len(geometries)} geometries were given but {n} values; give one geometry per value")
    for position, geometry in enumerate(geometries):
        if geometry is None or not hasattr(geometry, "__geo_interface__") or geometry.is_empty:
            raise ValueError(f"areas[{position}] is not a polygon geometry: {geometry!r}")
    contiguity = Queen.from_iterable(geometries, silence_warnings=True)
    # libpysal numbers the geometries 0..n-1 in the order given, which is the order of the values.
    neighbours = {i: [j for j in contiguity.neighbors.get(i, []) if j != i] for i in range(n)}
    return W(neighbours, id_order=list(range(n)), silence_warnings=True)


def _labels(ids: Sequence[str | int] | None, weights: W, n: int) -> list[str | int]:
    source = list(weights.id_order) if ids is None else list(ids)
    if len(source) != n:
        raise ValueError(f"{len(source)} ids were given but {n} values")
    labels: list[str | int] = []
    for label in source:
        if isinstance(label, np.generic):
            label = label.item()
        labels.append(label if isinstance(label, (str, int)) and not isinstance(label, bool) else str(label))
    return labels
