"""Hot and cold spots of a measure across a level: local Getis–Ord Gi* over every area's value.

    >>> from crimeplan.measures.hotspots import hotspots          # doctest: +SKIP
    >>> found = hotspots(engine, "burglary", "ward", "2021")      # doctest: +SKIP
    >>> found["hot_spots"], found["cold_spots"], found["areas_tested"]   # doctest: +SKIP

Each area's value is the measure for one period, made comparable between areas
of different size: counts and harm per 1,000 residents, rates as they are,
shares as percentages. The areas are those the source covers and that have
what the value needs (residents, a denominator, a boundary); the others are
left out — listed with the reason, never counted as zero — before contiguity
is built, so that an area the data does not cover cannot make its neighbours
look cold. The statistic and its inference are :mod:`crimeplan.stats.hotspots`
(binary queen contiguity, normal p-values, Benjamini–Hochberg FDR at 5%).

A hot spot answers "where are high values clustered?", not "where did it get
worse?": that is the change the scorecard and the maps' change colouring test.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from crimeplan import ATTRIBUTION
from crimeplan.errors import CrimeplanError
from crimeplan.measures.areas import Area
from crimeplan.measures.cubes import Cube, _force_key
from crimeplan.measures.engine import ALPHA, Engine, _default_label, _number
from crimeplan.measures.levels import headline_figures
from crimeplan.measures.periods import Latest, Period
from crimeplan.plan.schema import Measure, SurveySource, UnavailableSource

REFERENCES = [
    "Getis, A. & Ord, J. K. (1992). The analysis of spatial association by use of distance statistics. "
    "Geographical Analysis 24(3): 189-206.",
    "Ord, J. K. & Getis, A. (1995). Local spatial autocorrelation statistics: distributional issues and an "
    "application. Geographical Analysis 27(4): 286-306.",
    "Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate: a practical and powerful approach "
    "to multiple testing. Journal of the Royal Statistical Society, Series B 57(1): 289-300.",
]
FEW = 10  # offences per area below which a rate is mostly noise (a Poisson count's relative SE is over 30%)
NOTE = ("A hot spot is an area that, together with its neighbours, has higher values than the level as a whole: "
        "a cluster of high values, not a significant change over time (the scorecard and the map's change "
        "colouring test change). Gi* takes each value as exact; at ward or LSOA level, where many areas have few "
        "offences, a rate moves a lot with a handful of offences or a small population, so a hot spot there is "
        "imprecise: a place to look, not proof.")


def hotspots(engine: Engine, measure: Measure | str, level: str, period: Period | str | None = None,
             baseline: str | None = None) -> dict:
    """Getis–Ord Gi* hot and cold spots of ``measure`` among every area of ``level`` for ``period``.

    The source is the one the scorecard takes as headline for ``period`` compared
    with ``baseline`` (the plan's by default) — so the hot spots and the change map
    read the same file — or, when that comparison has none, the first source that
    supplies every month of ``period``. The baseline plays no other part.

    Raises CrimeplanError for a level Gi* is not computed at; a measure with no
    figures there or then gets a status and message, as in ``level_table``.
    """
    measure = engine.plan.measure(measure) if isinstance(measure, str) else measure
    geography = engine.geography
    if level not in geography.hotspot_levels:
        raise CrimeplanError(f"hot spots are computed for {', '.join(geography.hotspot_levels)}, not {level!r}: "
                             "Gi* compares each area with its neighbours and needs many areas")
    period = period if isinstance(period, (Period, Latest)) else engine.period(period)
    period, against = engine.resolve(period, measure, level), baseline or engine.default_baseline(period)
    base, comparison = engine.against(period, against)
    out = {
        "measure": measure.id, "title": measure.title, "statistic": measure.statistic, "unit": measure.unit,
        "level": level, "level_name": geography.name(level), "level_plural": _plural(engine, level), "period": period.label,
        "period_text": period.describe(),
        "baseline": base.label, "status": "not available at this level", "message": "",
        "value": None, "method": _method(), "areas_in_analysis": 0, "areas_tested": 0, "hot_spots": 0,
        "cold_spots": 0, "areas": [], "left_out": [], "source": None, "note": NOTE, "notes": [],
        "attribution": ATTRIBUTION,
    }
    if level not in measure.levels:
        out["message"] = f"{measure.title} is not measured at {level} level (levels: {', '.join(measure.levels)})"
        return out
    if measure.statistic == "ratio":  # a ratio of two groups' rates has no count to cluster
        out.update(status="not computed", message=f"{measure.title} is a ratio between two groups' rates: hot spots "
                                                  "are computed for counts, rates, harm and shares")
        return out
    source, cube, headline, status, message = _choose_source(engine, measure, level, period, base)
    if source is None:
        out["status"], out["message"] = status, message
        return out
    label = source.label or _default_label(source)
    covered = cube.covered()
    numerator, denominator, value = _values(engine, measure, source, cube, level, period, covered)
    by_code = {a.code: a for a in engine.areas.level(level)}
    reasons: dict[str, str] = {}
    notes = list(cube.notes)
    vintage = None
    if geography.table_level(level)[0] == "lsoa":
        weight = denominator if measure.statistic == "proportion" else numerator
        vintage, vintage_notes = _lsoa_vintage(engine, cube, weight, reasons, _numerator_unit(measure), label)
        notes += vintage_notes
    _left_out(engine, measure, source, cube, level, period, covered, numerator, value, by_code, reasons)
    geometries = _geometries(engine, level, vintage)
    for code in cube.areas:
        if code not in reasons and code not in geometries:
            reasons[code] = "no boundary is loaded for it"
    kept = [i for i, code in enumerate(cube.areas) if code not in reasons and code in by_code]
    out["source"] = {"dataset": source.dataset, "label": label,
                     "chosen_as": (f"the headline source for {period.describe()} compared with {comparison}" if headline
                                   else f"the first source supplying every month of {period.describe()} "
                                        f"(none supplies both it and {comparison})"),
                     "files": engine.compiler.provenance(source.dataset, cube.series, period.start, period.end),
                     "notes": list(cube.notes)}
    out["value"] = _value_definition(engine, measure, source, level, period, label)
    out["left_out"] = [{"key": by_code[c].key, "code": c, "name": by_code[c].name, "parent": by_code[c].parent_name,
                        "parent_code": by_code[c].parent_code, "reason": r}
                       for c, r in reasons.items() if c in by_code]
    out["notes"] = notes
    if not kept:
        out["status"], out["message"] = "no areas to test", f"no {engine.geography.level(level).word} has a value for {period.describe()}"
        return out

    from crimeplan.stats.hotspots import getis_ord_gi_star  # esda is slow to import: only when asked

    result = getis_ord_gi_star([float(value[i]) for i in kept], [geometries[cube.areas[i]] for i in kept],
                               ids=[cube.areas[i] for i in kept], permutations=0, q=ALPHA, p_value="normal")
    if result.note:
        notes.append(result.note)
    rows = []
    for i, gi in zip(kept, result.areas):
        area: Area = by_code[cube.areas[i]]
        rows.append({
            "key": area.key, "code": area.code, "name": area.name, "parent": area.parent_name,
            "parent_code": area.parent_code, "value": _number(value[i]), "numerator": _number(numerator[i]),
            "denominator": _number(denominator[i]) if denominator is not None else None,
            "neighbours": gi.neighbours, "z": gi.z, "p": gi.p_value, "q": gi.q_value,
            "classification": gi.classification, "note": gi.note,
        })
    if measure.statistic in ("count", "rate", "harm"):
        counts = np.array([numerator[i] for i in kept])
        median = float(np.median(counts))
        notes.append(f"the median {engine.geography.level(level).word} had {median:,.0f} {_numerator_unit(measure)} in "
                     f"{period.describe()} (a quarter of them {np.percentile(counts, 25):,.0f} or fewer)")
        if measure.statistic != "harm" and median < FEW:
            notes.append(f"with fewer than {FEW} offences in most {_plural(engine, level)}, one offence more or less moves a "
                         "rate a long way: Gi* does not allow for that, so these hot spots are especially fragile")
    out.update(status="ok", areas=rows, areas_in_analysis=len(rows), areas_tested=result.n_tested,
               hot_spots=result.n_hot, cold_spots=result.n_cold)
    out["method"] = _method(result.n_tested)
    return out


# --- the source and its values ------------------------------------------------------------------


def _choose_source(engine: Engine, measure: Measure, level: str, period: Period, base: Period):
    """(source, cube, is_headline, status, message); source None when no source supplies the period."""
    head = headline_figures(engine, measure, level, period, base)
    ordered = ([head.source] if head else []) + [s for s in measure.sources if head is None or s is not head.source]
    spans = []
    for source in ordered:
        if isinstance(source, UnavailableSource) or not engine.compiler.reaches(source, level):
            continue
        cube = engine.cube(source, level, measure.statistic)
        span = cube.span()
        if span is None:
            continue
        if cube.granularity == "quarter":
            supplied = not np.isnan(cube.values_at_end([period])[0]).all()
        else:
            supplied = not cube.missing(period)
        if supplied:
            return source, cube, head is not None and source is head.source, "ok", ""
        spans.append(f"{source.dataset} covers {span[0]:%Y-%m} to {span[1]:%Y-%m}")
    if not spans:
        return None, None, False, "no data loaded", f"no data loaded for {measure.title} at {level} level"
    return (None, None, False, "no data for this period",
            f"no source supplies every month of {period.describe()}: {'; '.join(spans)}")


def _values(engine: Engine, measure: Measure, source, cube: Cube, level: str, period: Period, covered: np.ndarray):
    """(numerator, denominator, value) per area of the cube, NaN where undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure.statistic == "proportion":
            if isinstance(source, SurveySource):
                share = cube.values_at_end([period])[0] * 100
                return share, None, share
            # An unknown month (NaN) leaves the period's total unknown: never read as 0.
            successes = np.where(covered, cube.totals([period])[0], np.nan)
            n = np.where(covered, cube.totals([period], "second")[0], np.nan)
            return successes, n, np.where(n > 0, successes / n * 100, np.nan)
        totals = np.where(covered, cube.totals([period])[0], np.nan)
        residents = engine.covered_population(source, level)
        return totals, residents, np.where(residents > 0, totals / residents * 1000, np.nan)


def _left_out(engine: Engine, measure: Measure, source, cube: Cube, level: str, period: Period, covered: np.ndarray,
              numerator: np.ndarray, value: np.ndarray, by_code: dict[str, Area], reasons: dict[str, str]) -> None:
    """Add the areas without a value to test to ``reasons``, each with the first reason that applies."""
    outside = _outside_force(engine, source, level)
    for i, code in enumerate(cube.areas):
        if code not in by_code or code in reasons:
            continue
        if code in outside:
            reasons[code] = outside[code]
        elif not covered[i]:
            reasons[code] = f"{source.dataset} publishes no figures for it"
        elif measure.statistic == "proportion" and isinstance(source, SurveySource) and np.isnan(value[i]):
            reasons[code] = f"no survey estimate for {period.describe()}"
        elif np.isnan(numerator[i]):
            reasons[code] = (f"its count is unknown for part of {period.describe()} (a month with no figures for it, "
                             "or an LSOA code not in use then)")
        elif measure.statistic == "proportion" and np.isnan(value[i]):
            reasons[code] = "no outcomes recorded in the period: the share is undefined"
        elif np.isnan(value[i]):
            reasons[code] = "no resident population figure for it"


def _outside_force(engine: Engine, source, level: str) -> dict[str, str]:
    """Areas policed by another force than the one whose figures ``source`` holds.

    A data.police.uk source names its force (none: every force); the other sources are
    the Met's and MOPAC's publications.
    """
    geography = engine.geography
    force = getattr(source, "force", geography.main_force)
    if force is None or _force_key(force) != geography.main_force or not geography.other_forces:
        return {}
    others = {(o["level"], o["code"]): o["name"] for o in geography.other_forces}
    out = {}
    for a in engine.areas.level(level):
        for ancestor in [a, *engine.areas.ancestors(a)]:
            name = others.get((ancestor.level, ancestor.code))
            if name:
                out[a.code] = f"policed by {name}: {geography.main_force_name}'s figures do not cover it"
                break
    return out


def _lsoa_vintage(engine: Engine, cube: Cube, weight: np.ndarray, reasons: dict[str, str], unit: str,
                  label: str) -> tuple[str, list[str]]:
    """The LSOA boundaries (2011 or 2021) the source's records use in the period; the other set is left out.

    data.police.uk moved from 2011 to 2021 LSOA codes over 2022–23; the two sets overlap
    on the map, so Gi* uses one. Records on the other set's own codes are counted in a note.
    """
    vintages: dict[str, set[str]] = {}
    for code, vintage in engine.con.execute("SELECT DISTINCT code, vintage FROM area_current WHERE level = 'lsoa'").fetchall():
        vintages.setdefault(code, set()).add(vintage)
    on = {"2011": 0.0, "2021": 0.0}
    for code, w in zip(cube.areas, weight):
        only = vintages.get(code, set())
        if len(only) == 1 and not math.isnan(w):
            on[next(iter(only))] += w
    chosen = "2021" if on["2021"] > on["2011"] else "2011"
    other = "2011" if chosen == "2021" else "2021"
    for code in cube.areas:
        if vintages.get(code) == {other} and code not in reasons:
            reasons[code] = f"an LSOA of the {other} boundaries only; the source uses {chosen} LSOA codes in this period"
    notes = [f"LSOAs on {chosen} boundaries (the codes the source uses in this period)"]
    if on[other] > 0:
        notes.append(f"{on[other]:,.0f} {unit} recorded on {other}-only LSOA codes in the period are left out: "
                     f"{label} changed LSOA codes during it")
    return chosen, notes


def _geometries(engine: Engine, level: str, vintage: str | None) -> dict[str, object]:
    """Each area's boundary as published (not the maps' simplified one: contiguity needs shared edges intact)."""
    name, vintages = engine.geography.table_level(level)
    rows = engine.con.execute(
        "SELECT code, geometry_wkb FROM area_geometry_current WHERE level = ? AND list_contains(?, vintage) ORDER BY code",
        [name, [vintage] if vintage else list(vintages)],
    ).fetchall()
    out = {}
    for code, geometry in zip([r[0] for r in rows], shapely.from_wkb([r[1] for r in rows])):
        out.setdefault(code, geometry)
    return out


# --- words ----------------------------------------------------------------------------------------


def _numerator_unit(measure: Measure) -> str:
    if measure.statistic == "harm":
        return "days of harm (CCHI)"
    return measure.unit.replace(" per 1,000 residents", "")


def _value_definition(engine: Engine, measure: Measure, source, level: str, period: Period, label: str) -> dict:
    area = engine.geography.level(level).word
    residents = f"the {area}'s residents ({engine.geography.level(level).residents_text})"
    if measure.statistic == "proportion":
        if isinstance(source, SurveySource):
            unit = measure.unit
            words = (f"{measure.title}: the survey estimate (%) for the quarter ending {period.end:%B %Y}, as published "
                     f"in {label}; the sample sizes are not published, so every estimate is taken as exact")
        else:
            unit = measure.unit
            words = (f"{measure.title}: the share (%) in {period.describe()}, from {label}; areas with no outcomes "
                     "recorded have no share and are left out")
    elif measure.statistic == "harm":
        unit = "days of imprisonment (CCHI) per 1,000 residents"
        words = (f"{measure.title} in {period.describe()}, from {label}, divided by {residents}, times 1,000")
    else:
        unit = f"{_numerator_unit(measure)} per 1,000 residents"
        words = (f"{measure.title} ({_numerator_unit(measure)}) in {period.describe()}, from {label}, divided by "
                 f"{residents}, times 1,000")
    return {"unit": unit, "definition": words}


def _method(tested: int | None = None) -> dict:
    across = f"the {tested} areas tested" if tested is not None else "the areas tested"
    return {
        "statistic": "local Getis–Ord Gi* (z-score)",
        "weights": "binary queen contiguity: areas sharing an edge or a corner are neighbours, and each area "
                   "counts itself (the * of Gi*); built after the areas without a value are left out",
        "p_value": "two-sided, from the normal approximation",
        "multiple_testing": f"Benjamini–Hochberg false discovery rate of {ALPHA:.0%} across {across}",
        "classification": "hot spot: significant with z > 0; cold spot: significant with z < 0; "
                          "otherwise not significant",
        "references": list(REFERENCES),
    }


def _plural(engine: Engine, level: str) -> str:
    lv = engine.geography.level(level)
    return lv.plural_long or lv.plural


__all__ = ["hotspots"]
