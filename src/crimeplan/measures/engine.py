"""The measures engine: a plan's measures computed over the warehouse, honestly compared.

    >>> from crimeplan.measures import Engine
    >>> engine = Engine.open("crimeplan.duckdb")                     # doctest: +SKIP
    >>> card = engine.scorecard("Hackney", period="2021", baseline="2019")   # doctest: +SKIP
    >>> card.results()[0].to_dict()["verdict"]                        # doctest: +SKIP
    'no significant change'

Each measure source is compiled to one SQL query per level (``cubes.py``) and
evaluated for every area of that level at once; one area's figures are read
from the level's results. Comparisons at levels with many areas (BCUs,
boroughs, wards, LSOAs) are judged after Benjamini–Hochberg false-discovery-rate
control across the areas of the level, so that 679 wards tested at once do not
produce a crop of chance "significant" changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from crimeplan.errors import CrimeplanError
from crimeplan.measures.areas import Area, Areas
from crimeplan.measures.cubes import Compiler, Cube, reaches
from crimeplan.measures.periods import Period, comparison_period, month_of, parse_period
from crimeplan.measures.results import STATUS_OK, MeasureResult, Scorecard, SourceFigure
from crimeplan.plan import load_plan
from crimeplan.plan.schema import (
    Measure,
    OutcomeSource,
    Plan,
    StopSearchSource,
    SurveySource,
    UnavailableSource,
)
from crimeplan.stats import (
    benjamini_hochberg,
    proportion_change,
    proportion_change_counts,
    rate_ratio_intervals,
    weighted_rate_ratio_intervals,
)
from crimeplan.stats.spc import u_chart

ALPHA = 0.05
SPC_MONTHS = 36  # control limits from the last three years of a monthly series


@dataclass
class LevelFigures:
    """One source's figures for every area of a level (arrays aligned with ``areas``)."""

    source: object
    label: str
    status: str
    message: str
    areas: list[str]
    current: np.ndarray | None = None
    baseline: np.ndarray | None = None
    current_denominator: np.ndarray | None = None
    baseline_denominator: np.ndarray | None = None
    change: np.ndarray | None = None
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    p_value: np.ndarray | None = None
    q_value: np.ndarray | None = None
    significant: np.ndarray | None = None
    verdicts: list[str | None] = field(default_factory=list)
    plains: list[str] = field(default_factory=list)
    change_unit: str = "%"
    files: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def figure(self, index: int | None) -> SourceFigure:
        f = SourceFigure(self.source.dataset, self.label, self.status, self.message, files=self.files,
                         missing=self.missing, notes=list(self.notes), change_unit=self.change_unit)
        if self.status != STATUS_OK or index is None:
            return f
        pick = lambda arr: None if arr is None else _number(arr[index])  # noqa: E731
        f.current, f.baseline = pick(self.current), pick(self.baseline)
        f.current_denominator, f.baseline_denominator = pick(self.current_denominator), pick(self.baseline_denominator)
        f.change, f.low, f.high = pick(self.change), pick(self.low), pick(self.high)
        f.p_value, f.q_value = pick(self.p_value), pick(self.q_value)
        f.areas_tested = int(np.count_nonzero(~np.isnan(self.p_value))) if self.p_value is not None else 1
        f.significant = None if self.significant is None or f.verdict == "sample size unknown" else bool(self.significant[index])
        f.verdict = self.verdicts[index] if self.verdicts else None
        if f.verdict == "sample size unknown":
            f.significant = None
        f.plain = self.plains[index] if self.plains else ""
        return f


class Engine:
    """A plan over a warehouse. Cheap to query repeatedly: cubes are cached per source and level."""

    def __init__(self, con, plan: Plan | None = None) -> None:
        self.con = con
        self.plan = plan or load_plan()
        self.compiler = Compiler(con)
        self.areas = Areas(con)
        self._cubes: dict[tuple, Cube] = {}
        self._levels: dict[tuple, list[LevelFigures]] = {}
        self._populations: dict[str, np.ndarray] = {}

    @classmethod
    def open(cls, db=None, plan: Plan | None = None) -> "Engine":
        from crimeplan.warehouse import Warehouse

        return cls(Warehouse.open(db, read_only=True).con, plan)

    # --- inputs ---------------------------------------------------------------------------------

    def period(self, text: str | None) -> Period:
        return parse_period(text or self.plan.default_period)

    def against(self, period: Period, text: str | None) -> tuple[Period, str]:
        baselines = {b.id: b.period for b in self.plan.baselines}
        return comparison_period(period, text or self.plan.default_baseline, baselines)

    def cube(self, source, level: str, statistic: str) -> Cube:
        key = (id(source), level, statistic)
        if key not in self._cubes:
            self._cubes[key] = self.compiler.cube(source, level, statistic)
        return self._cubes[key]

    # --- evaluation -----------------------------------------------------------------------------

    def evaluate(self, measure: Measure, level: str, period: Period, baseline: Period) -> list[LevelFigures]:
        """Every source of ``measure`` at ``level``: figures for every area, in source order."""
        key = (measure.id, level, period, baseline)
        if key not in self._levels:
            self._levels[key] = [self._evaluate_source(measure, s, level, period, baseline) for s in measure.sources]
        return self._levels[key]

    def _evaluate_source(self, measure: Measure, source, level: str, period: Period, baseline: Period) -> LevelFigures:
        label = source.label or _default_label(source)
        areas = self.compiler.areas(level)
        if isinstance(source, UnavailableSource):
            return LevelFigures(source, label, "not loaded", f"no data loaded: {source.dataset} ({source.publisher}) would supply it", areas)
        if not reaches(source, level):
            return LevelFigures(source, label, "not available at this level",
                                f"{source.dataset} is not published at or below {level} level", areas)
        cube = self.cube(source, level, measure.statistic)
        span = cube.span()
        if span is None:
            return LevelFigures(source, label, "not loaded", f"no data loaded: load {source.dataset}", areas)
        if cube.granularity == "quarter":
            missing = [m for p in (period, baseline) for m in ([p.end] if np.isnan(cube.at_end(p)).all() else [])]
        else:
            missing = sorted(set(cube.missing(period)) | set(cube.missing(baseline)))
        figures = LevelFigures(source, label, STATUS_OK, "", areas, notes=list(cube.notes))
        first = min(period.start, baseline.start)
        last = max(period.end, baseline.end)
        figures.files = self.compiler.provenance(source.dataset, cube.series, first, last)
        if missing:
            figures.status = "missing months"
            figures.missing = [m.strftime("%Y-%m") for m in missing]
            figures.message = (
                f"{source.dataset} does not supply {_months_text(missing)}; it covers "
                f"{span[0]:%Y-%m} to {span[1]:%Y-%m}" + (" (whole years only)" if cube.granularity == "year" else "")
            )
            return figures
        if measure.statistic == "proportion":
            self._compare_proportions(figures, cube, source, period, baseline)
        elif measure.statistic == "harm":
            self._compare_harm(figures, cube, period, baseline)
        else:
            self._compare_counts(figures, cube, measure, level, period, baseline)
        self._control_false_discoveries(figures, level)
        return figures

    def _compare_counts(self, f: LevelFigures, cube: Cube, measure: Measure, level: str, period: Period, baseline: Period) -> None:
        cur, base = cube.total(period), cube.total(baseline)
        # Exposure is months: a year to date is compared with a whole baseline year per month.
        rr = rate_ratio_intervals(cur, base, period.n_months, baseline.n_months)
        f.current, f.baseline = cur, base
        if measure.statistic == "rate":
            population = self.population(level)
            with np.errstate(divide="ignore", invalid="ignore"):
                f.current, f.baseline = cur / population * 1000, base / population * 1000
            f.notes.append("rate per 1,000 residents (Census 2021 usual residents; best-fit sums for wards)")
        f.change, f.low, f.high = rr.change_pct, rr.change_low_pct, rr.change_high_pct
        f.p_value = rr.p_value
        if period.kind == "fytd" and period.n_months < 6:
            f.notes.append(f"a year to date of {period.n_months} month(s) is a fragile comparison: seasonal patterns dominate early in the year")

    def _compare_harm(self, f: LevelFigures, cube: Cube, period: Period, baseline: Period) -> None:
        h_cur, v_cur = cube.total(period), cube.total(period, "second")
        h_base, v_base = cube.total(baseline), cube.total(baseline, "second")
        rr = weighted_rate_ratio_intervals(h_cur, v_cur, h_base, v_base, period.n_months, baseline.n_months)
        f.current, f.baseline = h_cur, h_base
        f.change, f.low, f.high, f.p_value = rr.change_pct, rr.change_low_pct, rr.change_high_pct, rr.p_value
        f.notes.append("interval by the delta method for weighted Poisson sums (approximate)")

    def _compare_proportions(self, f: LevelFigures, cube: Cube, source, period: Period, baseline: Period) -> None:
        f.change_unit = "pp"
        n = len(f.areas)
        if isinstance(source, SurveySource):
            p_cur, p_base = cube.at_end(period), cube.at_end(baseline)
            n_cur = cube.second[:, period.last - cube.first]
            n_base = cube.second[:, baseline.last - cube.first]
            f.notes.append(
                f"survey estimates for the quarter ending {period.end:%B %Y} and {baseline.end:%B %Y} "
                "(the dashboard's rolling estimates)"
            )
        else:
            num_c, den_c = cube.total(period), cube.total(period, "second")
            num_b, den_b = cube.total(baseline), cube.total(baseline, "second")
            with np.errstate(divide="ignore", invalid="ignore"):
                p_cur, p_base = num_c / den_c, num_b / den_b
            n_cur, n_base = den_c, den_b
        f.current, f.baseline = p_cur * 100, p_base * 100
        f.current_denominator, f.baseline_denominator = n_cur, n_base
        f.change = (p_cur - p_base) * 100
        f.low, f.high, f.p_value = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        f.verdicts, f.plains = [None] * n, [""] * n
        f.significant = np.zeros(n, bool)
        for i in range(n):
            if math.isnan(p_cur[i]) or math.isnan(p_base[i]):
                continue
            if isinstance(source, SurveySource):
                nc = None if math.isnan(n_cur[i]) else float(n_cur[i])
                nb = None if math.isnan(n_base[i]) else float(n_base[i])
                change = proportion_change(float(p_cur[i]), nc, float(p_base[i]), nb)
            else:
                change = proportion_change_counts(int(num_c[i]), int(den_c[i]), int(num_b[i]), int(den_b[i]))
            f.low[i] = np.nan if change.low_pp is None else change.low_pp
            f.high[i] = np.nan if change.high_pp is None else change.high_pp
            f.p_value[i] = np.nan if change.p_value is None else change.p_value
            f.verdicts[i] = change.verdict
            f.plains[i] = change.plain

    def _control_false_discoveries(self, f: LevelFigures, level: str) -> None:
        """Verdicts: at London the test itself; below it, after BH across the level's areas."""
        p = f.p_value
        tested = ~np.isnan(p)
        q = np.full(p.shape, np.nan)
        if level != "london" and tested.sum() > 1:
            fdr = benjamini_hochberg([float(x) if ok else None for x, ok in zip(p, tested)], q=ALPHA)
            q = np.array([np.nan if v is None else v for v in fdr.adjusted], dtype=float)
            decide = q
        else:
            decide = p
        f.q_value = q
        n = len(f.areas)
        f.significant = np.where(np.isnan(decide), False, decide < ALPHA)
        if not f.verdicts:
            f.verdicts, f.plains = [None] * n, [""] * n
        for i in range(n):
            if f.verdicts[i] == "sample size unknown":
                continue
            if np.isnan(p[i]):
                f.verdicts[i] = None
                f.plains[i] = "no comparison possible: nothing recorded in either period" if (
                    f.current is not None and _number(f.current[i]) == 0) else "no comparison possible"
                continue
            rising = f.current[i] > f.baseline[i]
            if f.significant[i]:
                f.verdicts[i] = "significant rise" if rising else "significant fall"
            else:
                f.verdicts[i] = "no significant change"
            f.plains[i] = _plain(f, i, level, int(tested.sum()))

    # --- one area -------------------------------------------------------------------------------

    def result(self, measure: Measure | str, area: Area | str | None, period: Period | str | None = None,
               against: str | None = None, priority: str | None = None, objective: str | None = None) -> MeasureResult:
        measure = self.plan.measure(measure) if isinstance(measure, str) else measure
        area = area if isinstance(area, Area) else self.areas.get(area)
        period = period if isinstance(period, Period) else self.period(period)
        base, comparison = self.against(period, against)
        if area.level not in measure.levels:
            return MeasureResult(measure, priority, objective, area, period, base, comparison,
                                 "not available at this level",
                                 f"{measure.title} is not measured at {area.level} level (levels: {', '.join(measure.levels)})",
                                 None)
        figures = self.evaluate(measure, area.level, period, base)
        index = {code: i for i, code in enumerate(self.compiler.areas(area.level))}.get(area.code)
        computed = [lf.figure(index) for lf in figures if lf.status == STATUS_OK]
        would = [
            {"dataset": lf.source.dataset, "label": lf.label, "publisher": getattr(lf.source, "publisher", None),
             "landing_page": getattr(lf.source, "landing_page", None), "message": lf.message}
            for lf in figures if lf.status == "not loaded"
        ]
        gaps = [lf for lf in figures if lf.status == "missing months"]
        if computed:
            return MeasureResult(measure, priority, objective, area, period, base, comparison, STATUS_OK, "",
                                 computed[0], computed[1:], would)
        if gaps:
            return MeasureResult(measure, priority, objective, area, period, base, comparison, "no data for this period",
                                 "; ".join(lf.message for lf in gaps), None, [lf.figure(None) for lf in gaps], would)
        if would:
            names = ", ".join(sorted({w["dataset"] for w in would}))
            return MeasureResult(measure, priority, objective, area, period, base, comparison, "no data loaded",
                                 f"no data loaded: {names} would supply it", None, [], would)
        return MeasureResult(measure, priority, objective, area, period, base, comparison, "not available at this level",
                             "; ".join(lf.message for lf in figures), None)

    def scorecard(self, area: Area | str | None = None, period: str | Period | None = None,
                  baseline: str | None = None) -> Scorecard:
        area = area if isinstance(area, Area) else self.areas.get(area)
        period = period if isinstance(period, Period) else self.period(period)
        base, comparison = self.against(period, baseline)
        priorities = []
        for p in self.plan.priorities:
            results = []
            for o in p.objectives:
                for mid in o.measures:
                    results.append(self.result(mid, area, period, baseline, priority=p.id, objective=o.title))
            priorities.append({"id": p.id, "title": p.title, "results": results})
        return Scorecard(self.plan.id, self.plan.title, area, period, base, comparison, priorities)

    # --- populations ----------------------------------------------------------------------------

    def population(self, level: str) -> np.ndarray:
        """Usual residents (Census 2021) of every area of the level, NaN where unknown."""
        if level not in self._populations:
            from crimeplan.measures.cubes import LEVELS

            name, vintages = LEVELS[level]
            rows = dict(self.con.execute(
                """WITH base AS (
                       SELECT 'borough' AS unit_level, '' AS unit_vintage, code, persons FROM population_current
                       WHERE level = 'borough' AND reference = 'census2021' AND sex = 'all' AND age_band = 'all'
                       UNION ALL
                       SELECT 'lsoa', '2011', code, persons FROM population_current
                       WHERE level = 'lsoa' AND vintage = '2011' AND reference = 'mid2020' AND sex = 'all' AND age_band = 'all')
                   SELECT r.code, sum(b.persons) FROM base b
                   JOIN area_rollup r ON r.unit_level = b.unit_level AND r.unit_vintage = b.unit_vintage AND r.unit_code = b.code
                   WHERE r.level = ? AND list_contains(?, r.vintage)
                     AND (r.level IN ('london', 'bcu', 'borough') = (b.unit_level = 'borough'))
                   GROUP BY 1""",
                [name, list(vintages)],
            ).fetchall())
            if level == "ward":
                rows = dict(self.con.execute(
                    """SELECT code, persons FROM population_current WHERE level = 'ward' AND vintage = '2022'
                       AND reference = 'census2021' AND sex = 'all' AND age_band = 'all'"""
                ).fetchall())
            areas = self.compiler.areas(level)
            self._populations[level] = np.array([rows.get(a, np.nan) for a in areas], dtype=float)
        return self._populations[level]

    # --- series ---------------------------------------------------------------------------------

    def series(self, measure: Measure | str, area: Area | str | None = None, by: str = "month") -> dict:
        """The measure's values over time for an area, per source, with SPC limits on the monthly series."""
        measure = self.plan.measure(measure) if isinstance(measure, str) else measure
        area = area if isinstance(area, Area) else self.areas.get(area)
        if area.level not in measure.levels:
            raise CrimeplanError(f"{measure.title} is not measured at {area.level} level (levels: {', '.join(measure.levels)})")
        out = {"measure": measure.id, "title": measure.title, "unit": measure.unit, "statistic": measure.statistic,
               "area": area.to_dict(), "by": by, "sources": []}
        for source in measure.sources:
            label = source.label or _default_label(source)
            if isinstance(source, UnavailableSource) or not reaches(source, area.level):
                out["sources"].append({"dataset": source.dataset, "label": label, "status": "not loaded"
                                       if isinstance(source, UnavailableSource) else "not available at this level",
                                       "points": []})
                continue
            cube = self.cube(source, area.level, measure.statistic)
            if cube.span() is None:
                out["sources"].append({"dataset": source.dataset, "label": label, "status": "not loaded", "points": []})
                continue
            i = cube.index().get(area.code)
            out["sources"].append(_series_of(cube, i, by, measure, source, label, self.compiler))
        return out


# --- helpers ------------------------------------------------------------------------------------


def _number(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def _months_text(months: list[date]) -> str:
    labels = [m.strftime("%Y-%m") for m in months]
    return ", ".join(labels) if len(labels) <= 6 else f"{len(labels)} months ({labels[0]} … {labels[-1]})"


def _default_label(source) -> str:
    extra = {
        "RecordedCrimeSource": lambda s: f" ({s.scheme} categories)",
        "StreetCrimeSource": lambda s: f" ({s.force})" if s.force else "",
    }.get(type(source).__name__, lambda s: "")(source)
    return f"{source.dataset}{extra}"


def _plain(f: LevelFigures, i: int, level: str, tested: int) -> str:
    """One sentence a resident can read: the change, its interval, and what it means."""
    cur, base = _number(f.current[i]), _number(f.baseline[i])
    change, low, high = _number(f.change[i]), _number(f.low[i]), _number(f.high[i])
    pp = f.change_unit == "pp"

    def signed(v: float | None) -> str:
        if v is None:
            return "no upper limit"
        return f"{'+' if v > 0 else '−' if v < 0 else ''}{abs(v):.0f}{'pp' if pp else '%'}"

    if change is None:  # nothing in the baseline: a ratio has no meaning, the counts still do
        head = f"Up from {base:,.0f} to {cur:,.0f}" if cur is not None and base is not None else "No comparison"
    else:
        word = "Up" if change > 0 else "Down" if change < 0 else "Unchanged"
        size = f"{abs(change):.1f} percentage points" if pp else f"{abs(change):.0f}%"
        values = f", {base:,.0f} → {cur:,.0f}" if cur is not None and base is not None and not pp else ""
        head = f"{word} {size}{values}" if word != "Unchanged" else f"Unchanged{values}"
        if low is not None or high is not None:
            head += f" (95% interval {signed(low)} to {signed(high)})"
    several = level != "london" and tested > 1
    if f.verdicts[i] == "no significant change":
        raw_p = _number(f.p_value[i])
        tail = "within the range expected from chance"
        if several and raw_p is not None and raw_p < ALPHA:
            tail = f"not significant once allowing for {tested} areas tested at once (false discovery rate)"
    else:
        tail = "more than chance would explain" + (f", even allowing for {tested} areas tested at once" if several else "")
    return f"{head}: {tail}."


def _series_of(cube: Cube, i: int | None, by: str, measure: Measure, source, label: str, compiler: Compiler) -> dict:
    months = cube.months
    values = cube.value[i] if i is not None else np.full(len(months), np.nan)
    second = cube.second[i] if (i is not None and cube.second is not None) else None
    points = []
    proportion = measure.statistic == "proportion"
    survey = isinstance(source, SurveySource)
    share = isinstance(source, (OutcomeSource, StopSearchSource)) and proportion
    groups: dict[str, list[int]] = {}
    for j, m in enumerate(months):
        if not cube.available[j]:
            continue
        key = {"month": f"{m:%Y-%m}", "quarter": f"{m.year}-Q{(m.month - 1) // 3 + 1}", "year": f"{m.year}",
               "fy": f"FY{m.year if m.month >= 4 else m.year - 1}-{((m.year if m.month >= 4 else m.year - 1) + 1) % 100:02d}"}[by]
        groups.setdefault(key, []).append(j)
    for key, cols in groups.items():
        if survey:
            value = values[cols[-1]] * 100
        elif share:
            den = second[cols].sum()
            value = values[cols].sum() / den * 100 if den else np.nan
        else:
            value = values[cols].sum()
        points.append({"period": key, "value": _number(value), "months": len(cols)})
    result = {"dataset": source.dataset, "label": label, "status": "ok", "points": points,
              "first": points[0]["period"] if points else None, "last": points[-1]["period"] if points else None,
              "files": compiler.provenance(source.dataset, cube.series, *cube.span())}
    if by == "month" and not proportion and cube.granularity == "month" and len(points) >= 2 and measure.statistic != "harm":
        # Limits from the most recent months: over a decade the level itself moves, and
        # limits spanning it would flag every point. Earlier points get no limits.
        recent = points[-SPC_MONTHS:]
        counts = [int(round(p["value"])) for p in recent]
        days = [_days_in(p["period"]) for p in recent]
        chart = u_chart(counts, days)  # per day: February's 28 days are not a fall
        spc = chart.to_dict()
        spc.update(per="day", first_period=recent[0]["period"], months=len(recent))
        signals = {s["index"]: s for s in spc["signals"]}
        for k, point in enumerate(recent):
            # Limits as counts for that month (the chart works per day).
            centre = spc["centre"][k] if isinstance(spc["centre"], list) else spc["centre"]
            point["centre"] = _number(centre * days[k])
            point["lower"] = _number(spc["lower"][k] * days[k])
            point["upper"] = _number(spc["upper"][k] * days[k])
            point["signal"] = signals[k]["description"] if k in signals else None
            if k in signals:
                signals[k]["period"] = point["period"]
        result["spc"] = {key: spc.get(key) for key in ("chart", "per", "first_period", "months", "sigma_z", "note")}
        result["spc"]["signals"] = list(signals.values())
    return result


def _days_in(month: str) -> int:
    y, m = map(int, month.split("-"))
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    return (nxt - date(y, m, 1)).days


__all__ = ["Engine", "LevelFigures", "month_of"]
