"""Where a measure is concentrated, and which areas need it most: concentration, ranks with intervals, persistence.

    >>> from crimeplan.measures.concentration import concentration, priorities   # doctest: +SKIP
    >>> c = concentration(engine, "crime_harm", "ward", "rolling:2026-03")          # doctest: +SKIP
    >>> c["top"][1]["share"], c["top"][1]["interval"]                               # doctest: +SKIP
    >>> p = priorities(engine, "crime_harm", "ward", "rolling:2026-03", within="Westminster")   # doctest: +SKIP

Both read one source's figures for every area of a level over one complete
period — the source the scorecard takes as headline, as the hot spots do — and
leave out, with the reason, every area whose figure is unknown (a month with no
figures for it, an LSOA code not in use, another force's area), never counting
it as 0.

*Concentration* orders the areas by their count (or harm) and gives the share
held by the top 1%, 5% and 10% of them and the Gini coefficient
(:mod:`crimeplan.stats.concentration`), each with a 95% interval from simulated
replicates of the counts (:mod:`crimeplan.stats.poisson_draws`) and beside the
same figure under equal rates per resident (chance alone).

*Priorities* ranks the areas by the value per 1,000 residents (or by the total)
with each rank's 95% interval (:mod:`crimeplan.stats.rank_intervals`), so that
an area is called one of the top k only when its whole interval is; says how
many of the top areas were also the top a year before, and a year before that
(persistence); and shows each area's Gi* hot-spot class beside its rank.
"""

from __future__ import annotations

import numpy as np

from crimeplan import ATTRIBUTION
from crimeplan.errors import CrimeplanError
from crimeplan.measures.areas import Area
from crimeplan.measures.engine import Engine, _default_label, _number
from crimeplan.measures.hotspots import _choose_source, _left_out, hotspots
from crimeplan.measures.periods import Latest, Period
from crimeplan.plan.schema import Measure
from crimeplan.present import months_text, rank_standing
from crimeplan.stats.concentration import (
    TOP_FRACTIONS, bias_corrected, concentration_curve, gini_rows, interval, top_count, top_share_rows,
)
from crimeplan.stats.poisson_draws import DRAWS, SEED, simulate
from crimeplan.stats.rank_intervals import rank_intervals

STATISTICS = ("count", "rate", "harm")  # a share is not concentrated in places: it has no total to share out
RANK_BY = ("rate", "total")
TOP_SHARE = 0.05  # 'the top areas': the top 5% of the areas ranked, at least MIN_TOP
MIN_TOP = 3
PERSISTENCE_WINDOWS = 4  # the period and up to three like it before
CURVE_POINTS = 100  # the curve drawn at each per cent of areas
REFERENCES = [
    "Weisburd, D. (2015). The law of crime concentration and the criminology of place. Criminology 53(2): 133-157.",
    "Bernasco, W. & Steenbeek, W. (2017). More places than crimes: implications for evaluating the law of crime "
    "concentration at place. Journal of Quantitative Criminology 33(3): 451-467.",
    "Goldstein, H. & Spiegelhalter, D. J. (1996). League tables and their limitations: statistical issues in "
    "comparisons of institutional performance. Journal of the Royal Statistical Society, Series A 159(3): 385-443.",
    "Fay, M. P. & Feuer, E. J. (1997). Confidence intervals for directly standardized rates: a method based on the "
    "gamma distribution. Statistics in Medicine 16(7): 791-801.",
]


class _Places:
    """One source's figures over one period for the areas of a level (within an area): the known ones, and why
    the others are left out."""

    def __init__(self, engine: Engine, measure: Measure, level: str, period: Period, base: Period,
                 within: Area | None) -> None:
        self.status, self.message = "ok", ""
        self.source, self.cube, _, status, message = _choose_source(engine, measure, level, period, base)
        self.codes: list[str] = []
        self.left_out: list[dict] = []
        if self.source is None:
            self.status, self.message = status, message
            return
        self.label = self.source.label or _default_label(self.source)
        self.period = period
        areas = {a.code: a for a in engine.areas.level(level)}
        if within is not None:
            areas = {c: a for c, a in areas.items() if within.code in {x.code for x in engine.areas.ancestors(a)}}
        self.areas = areas
        self.covered = self.cube.covered()
        self.population = engine.covered_population(self.source, level)
        self.engine, self.measure, self.level = engine, measure, level
        self.files = engine.compiler.provenance(self.source.dataset, self.cube.series, period.start, period.end)
        self.totals, self.second, self.kept, reasons = self.at(period)
        self.codes = [self.cube.areas[i] for i in self.kept]
        self.left_out = [{"key": areas[c].key, "code": c, "name": areas[c].name, "reason": r}
                         for c, r in reasons.items() if c in areas]

    def at(self, period: Period):
        """(totals, Σw²n or None, indices of the areas kept, reasons for the others) for ``period``."""
        with np.errstate(invalid="ignore"):
            totals = np.where(self.covered, self.cube.totals([period])[0], np.nan)
        second = None
        if self.measure.statistic == "harm":
            second = np.where(self.covered, self.cube.totals([period], "second")[0], np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(self.population > 0, totals / self.population * 1000, np.nan)
        reasons: dict[str, str] = {}
        by_code = self.areas
        _left_out(self.engine, self.measure, self.source, self.cube, self.level, period, self.covered, totals, rate,
                  by_code, reasons)
        kept = [i for i, c in enumerate(self.cube.areas) if c in by_code and c not in reasons]
        return totals, second, kept, reasons

    def source_dict(self) -> dict:
        return {"dataset": self.source.dataset, "label": self.label, "files": self.files,
                "notes": list(self.cube.notes)}


def _resolve(engine: Engine, measure: Measure | str, level: str, period, baseline, within):
    measure = engine.plan.measure(measure) if isinstance(measure, str) else measure
    if measure.statistic not in STATISTICS:
        raise CrimeplanError(f"{measure.title} is a share: concentration and rankings are of counts, rates and harm "
                             f"(measures whose statistic is {', '.join(STATISTICS)})")
    if not engine.geography.has(level):
        raise CrimeplanError(f"unknown level {level!r}; levels: {', '.join(engine.geography.ids)}")
    period = period if isinstance(period, (Period, Latest)) else engine.period(period)
    period, against = engine.resolve(period, measure, level), baseline or engine.default_baseline(period)
    base, _ = engine.against(period, against)
    area = None
    if within is not None:
        area = within if isinstance(within, Area) else engine.areas.get(within)
        if level == area.level or area.level not in engine.geography.above(level):
            raise CrimeplanError(f"{engine.geography.plural(level)} do not lie within a {area.level_name}: "
                                 f"choose a level below {area.level_name}")
    return measure, period, base, area


def _head(engine: Engine, measure: Measure, level: str, period: Period, area: Area | None, what: str) -> dict:
    g = engine.geography
    return {
        "measure": measure.id, "title": measure.title, "statistic": measure.statistic, "unit": measure.unit,
        "level": level, "level_name": g.name(level), "level_plural": g.plural(level),
        "within": area.to_dict() if area is not None else None, "period": period.label,
        "period_text": period.describe(), "status": "ok", "message": "", "what": what, "source": None,
        "areas_ranked": 0, "left_out": [], "references": REFERENCES, "draws": DRAWS, "seed": SEED,
        "attribution": ATTRIBUTION,
    }


def _places_or_status(out: dict, engine: Engine, measure: Measure, level: str, period: Period, base: Period,
                      area: Area | None) -> _Places | None:
    """The level's figures with the source in ``out``; None, with the status and message in ``out``, when there are
    none (a level the measure is not measured at, or no source supplying the period)."""
    if level not in measure.levels:
        out["status"] = "not available at this level"
        out["message"] = f"{measure.title} is not measured at {level} level (levels: {', '.join(measure.levels)})"
        return None
    places = _Places(engine, measure, level, period, base, area)
    if places.source is None:
        out["status"], out["message"] = places.status, places.message
        return None
    out["source"] = places.source_dict()
    return places


def concentration(engine: Engine, measure: Measure | str, level: str, period: Period | str | None = None,
                  baseline: str | None = None, within: Area | str | None = None) -> dict:
    """The concentration curve, Gini coefficient and top 1% / 5% / 10% shares of ``measure`` across ``level``."""
    measure, period, base, area = _resolve(engine, measure, level, period, baseline, within)
    out = _head(engine, measure, level, period, area, "concentration")
    out.update(curve=None, gini=None, top=[], total=None)
    places = _places_or_status(out, engine, measure, level, period, base, area)
    if places is None:
        return out
    out["left_out"] = places.left_out
    kept = places.kept
    out["areas_ranked"] = len(kept)
    values = places.totals[kept]
    if len(kept) < 2 or values.sum() <= 0:
        out["status"] = "no areas to compare"
        out["message"] = f"fewer than two {engine.geography.plural(level)} have a figure for {period.describe()}"
        return out
    second = places.second[kept] if places.second is not None else None
    draws = simulate(values, second)
    chance = simulate(*_equal_rates(values, second, places.population[kept]), seed=SEED + 1)
    out["total"] = _number(values.sum())
    curve = concentration_curve(values)
    step = max(1, len(values) // CURVE_POINTS)
    picks = sorted(set(range(0, len(curve.area_share), step)) | {len(curve.area_share) - 1})
    out["curve"] = {"area_share": [curve.area_share[i] for i in picks],
                    "measure_share": [curve.measure_share[i] for i in picks]}
    g, g_draws = float(gini_rows(values[None, :])[0]), gini_rows(draws)
    out["gini"] = {"value": g, "corrected": bias_corrected(g, g_draws), "interval": list(interval(g, g_draws)),
                   "chance": float(np.nanmean(gini_rows(chance)))}
    for fraction in TOP_FRACTIONS:
        k = top_count(len(values), fraction)
        share, share_draws = float(top_share_rows(values[None, :], fraction)[0]), top_share_rows(draws, fraction)
        out["top"].append({
            "fraction": fraction, "areas": k, "share": share, "corrected": bias_corrected(share, share_draws),
            "interval": list(interval(share, share_draws)),
            "chance": float(np.nanmean(top_share_rows(chance, fraction))),
        })
    out["method"] = _concentration_method(measure, places)
    return out


def _equal_rates(values: np.ndarray, second: np.ndarray | None, population: np.ndarray):
    """Expected counts (and Σw²n) if every area had the same rate per resident (per area without residents)."""
    share = population / population.sum() if np.isfinite(population).all() and population.sum() > 0 \
        else np.full(values.size, 1 / values.size)
    expected = values.sum() * share
    if second is None:
        return expected, None
    return expected, second.sum() * share  # the same offence mix everywhere


def priorities(engine: Engine, measure: Measure | str, level: str, period: Period | str | None = None,
               baseline: str | None = None, within: Area | str | None = None, top: int | None = None,
               by: str = "rate") -> dict:
    """The areas of ``level`` (within an area) ranked by ``measure`` with 95% rank intervals, and persistence."""
    if by not in RANK_BY:
        raise CrimeplanError(f"rank by {by!r}? one of {', '.join(RANK_BY)}")
    measure, period, base, area = _resolve(engine, measure, level, period, baseline, within)
    out = _head(engine, measure, level, period, area, "priorities")
    out.update(by=by, top=None, areas=[], top_share=None, persistence=[], stay_on_top=[], hotspots=None)
    places = _places_or_status(out, engine, measure, level, period, base, area)
    if places is None:
        return out
    kept = places.kept
    if by == "rate":  # no residents: no rate to rank
        missing = [i for i in kept if not places.population[i] > 0]
        for i in missing:
            a = places.areas[places.cube.areas[i]]
            places.left_out.append({"key": a.key, "code": a.code, "name": a.name,
                                    "reason": "no resident population figure for it"})
        kept = [i for i in kept if places.population[i] > 0]
    out["left_out"] = places.left_out
    out["areas_ranked"] = len(kept)
    if len(kept) < 2:
        out["status"] = "no areas to compare"
        out["message"] = f"fewer than two {engine.geography.plural(level)} have a figure for {period.describe()}"
        return out
    k = top if top is not None else max(MIN_TOP, top_count(len(kept), TOP_SHARE))
    if not 1 <= k <= len(kept):
        raise CrimeplanError(f"top must lie between 1 and the {len(kept)} areas ranked")
    out["top"] = k
    totals = places.totals[kept]
    scale = 1000 / places.population[kept] if by == "rate" else np.ones(len(kept))
    draws = simulate(totals, places.second[kept] if places.second is not None else None)
    ranks = rank_intervals(totals * scale, draws * scale, top=k)
    hot = _hotspot_classes(engine, measure, level, period, baseline)
    out["hotspots"] = hot["note"] if hot else None
    rows = []
    for j, i in enumerate(kept):
        a = places.areas[places.cube.areas[i]]
        rows.append({
            "rank": ranks.rank[j], "rank_low": ranks.low[j], "rank_high": ranks.high[j], "p_top": ranks.p_top[j],
            "standing": rank_standing(ranks.low[j], ranks.high[j], k),
            "could_be_top": ranks.low[j] <= k,  # its interval reaches the top k: the list worth showing
            "key": a.key, "code": a.code, "name": a.name, "parent": a.parent_name, "parent_code": a.parent_code,
            "value": _number(totals[j] * scale[j]), "total": _number(totals[j]),
            "residents": _number(places.population[i]) if places.population[i] > 0 else None,
            "hotspot": (hot["classes"].get(a.code) if hot else None),
        })
    rows.sort(key=lambda r: (r["rank"], r["name"]))
    out["areas"] = rows
    top_idx = [j for j in range(len(kept)) if ranks.rank[j] <= k]
    share_draws = draws[:, top_idx].sum(axis=1) / draws.sum(axis=1)
    share = float(totals[top_idx].sum() / totals.sum())
    out["top_share"] = {"areas": len(top_idx), "share": share, "corrected": bias_corrected(share, share_draws),
                        "interval": list(interval(share, share_draws))}
    out["persistence"], out["stay_on_top"] = _persistence(places, period, kept, k, by)
    out["method"] = _priorities_method(measure, by, k)
    return out


def _ranked_top(places: _Places, period: Period, k: int, by: str) -> tuple[Period, set[str] | None, str]:
    """(period label, the codes of its top k, status text) of one window; None when the source lacks it."""
    missing = places.cube.missing(period)
    if missing:
        return period, None, f"incomplete data ({months_text(missing)} not supplied)"
    totals, _, kept, _ = places.at(period)
    if by == "rate":
        kept = [i for i in kept if places.population[i] > 0]
    if len(kept) < k:
        return period, None, "too few areas with a figure"
    values = totals[kept] * (1000 / places.population[kept] if by == "rate" else 1)
    order = np.argsort(-values, kind="stable")[:k]
    return period, {places.cube.areas[kept[o]] for o in order}, "ok"


def _persistence(places: _Places, period: Period, kept: list[int], k: int, by: str) -> tuple[list[dict], list[dict]]:
    """How many of each window's top areas were the top in the window a year (a period's length) before."""
    length = period.last - period.first + 1
    windows = []
    for step in range(PERSISTENCE_WINDOWS):
        window = period.shifted(-step * length)
        if window.first < places.cube.first:
            break
        windows.append(_ranked_top(places, window, k, by))
    # Each window against the latest earlier window with complete data (a gap is named, never compared).
    rows = []
    for n, (label, top, status) in enumerate(windows):
        earlier = [(lb, t) for lb, t, _ in windows[n + 1:] if t is not None]
        row = {"period": label.label, "period_text": label.describe(), "compared_with": None,
               "compared_with_text": None, "top": k, "status": status, "in_both": None, "share": None}
        if top is None:
            rows.append(row)
        elif earlier:
            before, before_top = earlier[0]
            rows.append({**row, "compared_with": before.label, "compared_with_text": before.describe(),
                         "in_both": len(top & before_top), "share": len(top & before_top) / k})
    complete = [top for _, top, _ in windows if top is not None]
    stay = set.intersection(*complete) if len(complete) >= 2 else set()
    names = places.areas
    return rows, [{"key": names[c].key, "code": c, "name": names[c].name, "windows": len(complete)}
                  for c in sorted(stay, key=lambda c: names[c].name) if c in names]


def _hotspot_classes(engine: Engine, measure: Measure, level: str, period: Period, baseline) -> dict | None:
    """Each area's Gi* class, where hot spots are computed for the level."""
    if level not in engine.geography.hotspot_levels:
        return None
    found = hotspots(engine, measure, level, period, baseline)
    if found["status"] != "ok":
        return None
    return {"classes": {a["code"]: a["classification"] for a in found["areas"]}, "note": found["note"]}


def _concentration_method(measure: Measure, places: _Places) -> str:
    what = "harm" if measure.statistic == "harm" else "count"
    return (f"Areas ordered by their {what} over the period; the shares are of the total of the areas with a figure. "
            f"Intervals: basic bootstrap (Davison and Hinkley 1997) from {DRAWS:,} simulated replicates of every "
            f"area's {what} "
            + ("(gamma with the harm's mean and variance, Fay and Feuer 1997)" if what == "harm" else "(Poisson)")
            + f", seed {SEED}. Noise spreads counts apart, so an observed share overstates the concentration a "
              "little: the figure given with its interval is corrected for that (the observed one beside it). Chance: "
              "the same figure if every area had the same rate per resident; read a share against it.")


def _priorities_method(measure: Measure, by: str, k: int) -> str:
    value = "per 1,000 residents" if by == "rate" else "in total"
    return (f"Areas ranked by {measure.unit} {value}. Each rank's 95% interval is the 2.5th to 97.5th percentile of "
            f"its ranks in {DRAWS:,} simulated replicates of every area's figure (Goldstein and Spiegelhalter 1996), "
            f"seed {SEED}. An area is in the top {k} only when its whole interval is.")


__all__ = ["RANK_BY", "STATISTICS", "concentration", "priorities"]
