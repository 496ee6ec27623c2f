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

import calendar
import math
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import numpy as np

from crimeplan import ATTRIBUTION
from crimeplan.errors import CrimeplanError
from crimeplan.measures.areas import Area, Areas
from crimeplan.geography import load_geography
from crimeplan.measures.cubes import NOT_RECORDED, Compiler, Cube, native_level
from crimeplan.measures.periods import (
    Latest, Period, comparison_period, fy_start_year, is_previous, month_index, month_of, parse_any_period,
    parse_period,
)
from crimeplan.measures.results import (
    STATUS_INCOMPLETE,
    STATUS_MISSING,
    STATUS_NO_DATA,
    STATUS_NOT_RECORDED,
    STATUS_OK,
    STATUS_BASELINE_INCOMPLETE,
    MeasureResult,
    Scorecard,
    SourceFigure,
)
from crimeplan.plan import load_plan
from crimeplan.present import Status, Verdict, interval, months_text, rate_text
from crimeplan.plan.schema import (
    Measure,
    OutcomeSource,
    Plan,
    StopSearchSource,
    SurveySource,
    UnavailableSource,
)
from crimeplan.stats import (
    benjamini_hochberg_adjusted,
    proportion_changes,
    rate_ratio_intervals,
    weighted_rate_ratio_intervals,
)
from crimeplan.stats.ratio_of_ratios import ratio_of_ratios_arrays
from crimeplan.stats.spc import u_chart

ALPHA = 0.05
# A share is judged only from enough records: at least this many in each period.
MIN_SHARE_DENOMINATOR = 50
TOO_FEW = Verdict.TOO_FEW
_TOO_FEW_RULE = f"a share is judged only with at least {MIN_SHARE_DENOMINATOR} records in each period"
SPC_MONTHS = 36  # control limits from the last three years of a monthly series


@dataclass
class LevelFigures:
    """One source's figures for every area of a level, as arrays aligned with ``areas``.

    Everything is computed for all areas at once; the plain-English sentence of
    an area is written only when its figure is read (``figure(i)``). ``files`` and
    ``tested`` are worked out on first reading, once the comparison is complete,
    and kept.
    """

    source: object
    label: str
    status: str
    message: str
    areas: list[str]
    level: str = "london"
    at_top: bool = True  # the geography's top level (one area: nothing to control false discoveries across)
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
    verdict: np.ndarray | None = None  # str per area, "" where there is none
    change_unit: str = "%"
    survey: bool = False  # survey shares: no sample size, so no test
    approximate: bool = False  # survey shares tested with sample sizes assumed from the survey's declared design
    overlap: bool = False  # the two survey estimates pool some of the same interviews: not judged
    stock: bool = False  # a headcount at the period's end: the change is exact, not tested
    rate: bool = False  # a rate per 1,000 residents: values shown as rates, not whole numbers
    window: int = 0  # the months of interviews one survey estimate pools (when declared)
    ratio: bool = False  # a rate ratio between groups: current and baseline are ratios, the change their ratio
    current_numerator: np.ndarray | None = None  # ratio: the group's searches (the reference's are the denominator)
    baseline_numerator: np.ndarray | None = None
    current_interval: tuple | None = None  # ratio: each ratio's own exact 95% interval (low, high arrays)
    baseline_interval: tuple | None = None
    too_few: np.ndarray | None = None  # shares: too few records to judge (bool per area)
    missing: list[date] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    provenance: tuple | None = None  # (compiler, dataset, series, first, last): files looked up when asked for

    @cached_property
    def files(self) -> list[dict]:
        if self.provenance is None:
            return []
        compiler, dataset, series, first, last = self.provenance
        return compiler.provenance(dataset, list(series), first, last)

    @cached_property
    def tested(self) -> int:
        return int(np.count_nonzero(~np.isnan(self.p_value))) if self.p_value is not None else 0

    def figure(self, index: int | None) -> SourceFigure:
        f = SourceFigure(self.source.dataset, self.label, self.status, self.message, files=list(self.files),
                         missing=[m.strftime("%Y-%m") for m in self.missing], notes=list(self.notes),
                         change_unit=self.change_unit)
        if self.status not in (STATUS_OK, STATUS_BASELINE_INCOMPLETE) or index is None:
            return f
        pick = lambda arr: None if arr is None else _number(arr[index])  # noqa: E731
        f.current, f.baseline = pick(self.current), pick(self.baseline)
        f.current_denominator, f.baseline_denominator = pick(self.current_denominator), pick(self.baseline_denominator)
        f.change, f.low, f.high = pick(self.change), pick(self.low), pick(self.high)
        f.p_value, f.q_value = pick(self.p_value), pick(self.q_value)
        f.areas_tested = 1 if self.at_top else max(self.tested, 1)  # at the top: no control across areas
        if self.ratio:
            f.current_numerator, f.baseline_numerator = pick(self.current_numerator), pick(self.baseline_numerator)
            f.current_interval = (pick(self.current_interval[0]), pick(self.current_interval[1]))
            f.baseline_interval = (pick(self.baseline_interval[0]), pick(self.baseline_interval[1]))
        if self.approximate:  # the sample sizes were assumed, not published: no n is shown as if it were
            f.current_denominator = f.baseline_denominator = None
            f.interval_approximate = True
        f.verdict = str(self.verdict[index]) or None
        f.significant = None if f.verdict in (None, "sample size unknown", TOO_FEW, Verdict.OVERLAP, Verdict.EXACT) else bool(self.significant[index])
        f.plain = _plain(self, index)
        return f


class Engine:
    """A plan over a warehouse. Cheap to query repeatedly: cubes are cached per source and level."""

    def __init__(self, con, plan: Plan | None = None) -> None:
        self.con = con
        self.plan = plan or load_plan()
        self.geography = load_geography(self.plan.geography)
        self.compiler = Compiler(con, self.geography, self.plan.area)
        self.areas = Areas(con, self.geography, self.plan.area)
        self._cubes: dict[tuple, Cube] = {}
        self._levels: dict[tuple, list[LevelFigures]] = {}
        self._populations: dict[str, np.ndarray] = {}
        self._mixes: dict[tuple, dict] = {}
        self._area_index: dict[str, dict[str, int]] = {}

    @classmethod
    def open(cls, db=None, plan: "Plan | str | None" = None) -> "Engine":
        """An engine over the warehouse ``db`` for ``plan`` (a Plan, a plan file, a shipped plan's name, or
        London's); warns (``PlanCheckWarning``) when the plan names categories, types or series the loaded
        data does not hold (``crimeplan plan check``)."""
        from crimeplan.plan.check import warn_if_plan_is_wrong
        from crimeplan.warehouse import Warehouse

        if plan is not None and not isinstance(plan, Plan):
            plan = load_plan(plan)
        engine = cls(Warehouse.open(db, read_only=True).con, plan)
        warn_if_plan_is_wrong(engine.con, engine.plan)
        return engine

    # --- inputs ---------------------------------------------------------------------------------

    def period(self, text: str | None) -> Period | Latest:
        return parse_any_period(text or self.plan.default_period)

    def default_baseline(self, period: Period | Latest) -> str:
        """What a period is compared with when nothing is said: the latest months with the 12 months before
        them (the plan's baseline beside), any other period with the plan's baseline."""
        return "previous" if isinstance(period, Latest) else self.plan.default_baseline

    def against(self, period: Period, text: str | None) -> tuple[Period, str]:
        baselines = {b.id: b.period for b in self.plan.baselines}
        return comparison_period(period, text or self.default_baseline(period), baselines)

    def latest_cube(self, measure: Measure, level: str) -> Cube | None:
        """The cube of the measure's source at ``level`` whose complete months run latest (the first in plan order
        among those ending then): what the latest months are counted from, and so the headline there. None when no
        source has data."""
        found = None
        for source in measure.sources:
            if isinstance(source, UnavailableSource) or not self.compiler.reaches(source, level):
                continue
            cube = self.cube(source, level, measure.statistic)
            span = cube.span()
            if span is not None and (found is None or span[1] > found.span()[1]):
                found = cube
        return found

    def resolve(self, period: Period | Latest, measure: Measure, level: str) -> Period:
        """A period as counted for ``measure`` at ``level``: a relative one (latest) resolved against the latest
        complete month any of its sources covers there (:meth:`latest_cube`); where no source has data, against
        the plan's last month (the result then says no data is loaded)."""
        if not isinstance(period, Latest):
            return period
        cube = self.latest_cube(measure, level)
        if cube is None:
            return self.resolve_at(period, None)
        first, last = cube.span()
        if cube.granularity == "year":  # whole years only: the latest of them
            return Period("year", date(last.year, 1, 1), date(last.year, 12, 1))
        if cube.granularity == "quarter":  # survey estimates at quarter ends: the latest is the estimate
            return period.resolve(last)
        # The latest run of months the source supplies whole (a gap near its end is stepped over, not reported).
        end = month_index(last)
        while end >= month_index(first):
            candidate = period.resolve(month_of(end))
            if not cube.missing(candidate):
                return candidate
            end -= 1
        return period.resolve(last)

    def resolve_at(self, period: Latest, last: date | None) -> Period:
        """A relative period resolved against a source's latest complete month; with none (nothing loaded),
        against the plan's last month, so that the answer says what is missing rather than failing."""
        return period.resolve(last or date.fromisoformat(self.plan.end + "-01"))

    def cube(self, source, level: str, statistic: str) -> Cube:
        key = (id(source), level, statistic)
        if key not in self._cubes:
            self._cubes[key] = self.compiler.cube(source, level, statistic)
        return self._cubes[key]

    # --- evaluation -----------------------------------------------------------------------------

    def evaluate(self, measure: Measure, level: str, period: Period, baseline: Period) -> list[LevelFigures]:
        """Every source of ``measure`` at ``level``: figures for every area, in source order."""
        return self.evaluate_many(measure, level, [(period, baseline)])[0]

    def evaluate_many(self, measure: Measure, level: str,
                      pairs: list[tuple[Period, Period]]) -> list[list[LevelFigures]]:
        """:meth:`evaluate` for many (period, baseline) pairs at once.

        One cube per source, the periods' totals from its cumulative sums, and one
        call to the statistics for all areas of all periods: a whole level's history
        costs little more than one period.
        """
        todo = [pair for pair in dict.fromkeys(pairs) if (measure.id, level, *pair) not in self._levels]
        if todo:
            by_source = [self._evaluate_source(measure, s, level, todo) for s in measure.sources]
            for k, pair in enumerate(todo):
                self._levels[(measure.id, level, *pair)] = [figures[k] for figures in by_source]
        return [self._levels[(measure.id, level, *pair)] for pair in pairs]

    def _evaluate_source(self, measure: Measure, source, level: str,
                         pairs: list[tuple[Period, Period]]) -> list[LevelFigures]:
        label = source.label or _default_label(source)
        areas = self.compiler.areas(level)
        top = level == self.geography.top

        def every_pair(status: str, message: str) -> list[LevelFigures]:
            return [LevelFigures(source, label, status, message, areas, level, at_top=top) for _ in pairs]

        if isinstance(source, UnavailableSource):
            return every_pair(Status.SOURCE_NOT_LOADED, f"no data loaded: {source.dataset} ({source.publisher}) would supply it")
        if not self.compiler.reaches(source, level):
            return every_pair(Status.NOT_AT_LEVEL, f"{source.dataset} is not published at or below {level} level")
        cube = self.cube(source, level, measure.statistic)
        span = cube.span()
        if span is None and not cube.gaps:
            return every_pair(Status.SOURCE_NOT_LOADED, f"no data loaded: load {source.dataset}")
        out, ok, current_only = [], [], []
        for k, (period, baseline) in enumerate(pairs):
            f = LevelFigures(source, label, STATUS_OK, "", areas, level, at_top=top, notes=list(cube.notes))
            f.provenance = (self.compiler, source.dataset, tuple(cube.series),
                            min(period.start, baseline.start), max(period.end, baseline.end))
            if cube.granularity == "quarter":
                gap = lambda p: [p.end] if np.isnan(cube.values_at_end([p])[0]).all() else []  # noqa: E731
            else:
                gap = cube.missing
            now, before = set(gap(period)), set(gap(baseline))
            missing = sorted(now | before)
            if missing:
                f.missing = missing  # dates; written out only when a figure is read
                f.status, f.message = self._gap(cube, label, span, missing)
                if not now:
                    # The period itself is complete: its figure is shown, with no change and no verdict.
                    f.status = STATUS_BASELINE_INCOMPLETE
                    f.message = f"the baseline ({baseline.label}) cannot be used: {f.message}"
                    current_only.append(k)
                elif f.status == STATUS_INCOMPLETE:
                    nearest = _nearest_complete(cube, period, baseline)
                    if nearest is not None:
                        f.message += f"; nearest complete period: {nearest.label} ({nearest.describe()})"
            else:
                ok.append(k)
            out.append(f)
        if ok or current_only:
            todo = ok + current_only
            batch = [out[k] for k in todo]
            periods = [pairs[k][0] for k in todo]
            # The period compared with itself gives its own figures; the baseline's are then blanked.
            baselines = [pairs[k][1] if k in ok else pairs[k][0] for k in todo]
            if measure.statistic == "proportion":
                self._compare_proportions(batch, cube, source, periods, baselines)
            elif measure.statistic == "ratio":
                self._compare_ratios(batch, cube, source, level, periods, baselines)
            elif measure.statistic == "harm":
                self._compare_harm(batch, cube, periods, baselines)
            else:
                self._compare_counts(batch, cube, measure, level, periods, baselines)
            for k in current_only:
                _without_baseline(out[k])
            self._control_false_discoveries(batch, level)
        return out

    @staticmethod
    def _gap(cube: Cube, label: str, span, missing: list[date]) -> tuple[str, str]:
        """Why months are missing, in words: not recorded, incomplete inside the span, or outside it."""
        reasons: dict[str, list[date]] = {}
        for m in missing:
            if m in cube.gaps:
                reasons.setdefault(cube.gaps[m], []).append(m)
        if reasons and all(why.startswith(NOT_RECORDED) for why in reasons):
            return STATUS_NOT_RECORDED, "; ".join(f"{why} in {months_text(months)}" for why, months in reasons.items())
        if reasons:  # inside what the source publishes, but not complete: never judged
            return STATUS_INCOMPLETE, "incomplete: " + "; ".join(
                f"{months_text(months, cube.granularity)} {why}" for why, months in reasons.items())
        return STATUS_MISSING, f"{label} does not supply {months_text(missing)}" + (
            f"; it covers {span[0]:%Y-%m} to {span[1]:%Y-%m}" if span else "") + (
            " (whole years only)" if cube.granularity == "year" else "")

    def _compare_counts(self, batch: list[LevelFigures], cube: Cube, measure: Measure, level: str,
                        periods: list[Period], baselines: list[Period]) -> None:
        if getattr(cube.source, "stock", False):  # in post at the period's end: the last month's figure
            cur, base = cube.values_at_end(periods), cube.values_at_end(baselines)
            with np.errstate(divide="ignore", invalid="ignore"):
                change = np.where(base > 0, (cur / base - 1) * 100, np.nan)
            for i, f in enumerate(batch):
                f.stock = True
                f.current, f.baseline, f.change = cur[i], base[i], change[i]
                f.low, f.high, f.p_value = (np.full(len(f.areas), np.nan) for _ in range(3))
                f.notes.append(f"in post at the end of {periods[i].end:%B %Y} and of {baselines[i].end:%B %Y}: "
                               "a headcount, not a sample, so the change is exact")
            return
        cur, base = cube.totals(periods), cube.totals(baselines)
        # Exposure is months: a year to date is compared with a whole baseline year per month.
        rr = rate_ratio_intervals(cur, base, _months(periods), _months(baselines))
        shown_cur, shown_base = cur, base
        if measure.statistic == "rate":
            population = self.covered_population(cube.source, level)[None, :]
            with np.errstate(divide="ignore", invalid="ignore"):
                shown_cur, shown_base = cur / population * 1000, base / population * 1000
        for i, f in enumerate(batch):
            f.current, f.baseline = shown_cur[i], shown_base[i]
            f.change, f.low, f.high = rr.change_pct[i], rr.change_low_pct[i], rr.change_high_pct[i]
            # Nothing in either period tells nothing: such areas are not tested (nor counted in FDR).
            f.p_value = np.where((cur[i] + base[i]) > 0, rr.p_value[i], np.nan)
            f.rate = measure.statistic == "rate"
            if measure.statistic == "rate":
                f.notes.append("rate per 1,000 residents (Census 2021 usual residents; best-fit sums for wards)")
            if periods[i].kind == "fytd" and periods[i].n_months < 6:
                f.notes.append(f"a year to date of {periods[i].n_months} month(s) is a fragile comparison: "
                               "seasonal patterns dominate early in the year")

    def _compare_ratios(self, batch: list[LevelFigures], cube: Cube, source, level: str,
                        periods: list[Period], baselines: list[Period]) -> None:
        """One group's searches per resident against another's, now and in the baseline; the change is the ratio
        of the two ratios (Altman and Bland 2003: the Census residents cancel), its interval on the log scale."""
        g_res = self.compiler.group_residents(level, source.ratio.group)
        r_res = self.compiler.group_residents(level, source.ratio.reference)
        g_cur, r_cur = cube.totals(periods), cube.totals(periods, "second")
        g_base, r_base = cube.totals(baselines), cube.totals(baselines, "second")
        with np.errstate(divide="ignore", invalid="ignore"):
            exposure = np.where((g_res > 0) & (r_res > 0), r_res / g_res, np.nan)[None, :]
            now, before = g_cur / r_cur * exposure, g_base / r_base * exposure
        now_ci = rate_ratio_intervals(g_cur, r_cur, np.nan_to_num(g_res, nan=1.0), np.nan_to_num(r_res, nan=1.0))
        base_ci = rate_ratio_intervals(g_base, r_base, np.nan_to_num(g_res, nan=1.0), np.nan_to_num(r_res, nan=1.0))
        change = ratio_of_ratios_arrays(g_cur, r_cur, g_base, r_base)
        unknown = np.isnan(exposure)
        for i, f in enumerate(batch):
            f.ratio = True
            f.current, f.baseline = np.where(unknown[0], np.nan, now[i]), np.where(unknown[0], np.nan, before[i])
            f.current_denominator, f.baseline_denominator = r_cur[i], r_base[i]  # the reference group's searches
            f.current_numerator, f.baseline_numerator = g_cur[i], g_base[i]
            blank = lambda x: np.where(unknown[0], np.nan, x)  # noqa: E731
            f.current_interval = (blank(now_ci.low[i]), blank(now_ci.high[i]))
            f.baseline_interval = (blank(base_ci.low[i]), blank(base_ci.high[i]))
            f.change = (change["ratio"][i] - 1) * 100
            f.low, f.high = (change["low"][i] - 1) * 100, (change["high"][i] - 1) * 100
            f.p_value = np.where(unknown[0], np.nan, change["p_value"][i])
            f.notes.append(f"searches of {source.ratio.group} people per {source.ratio.group} resident against "
                           f"{source.ratio.reference} (Census 2021, TS021); the change is the ratio of the two rate "
                           "ratios, with a 95% interval on the log scale (Altman and Bland 2003)")

    def _compare_harm(self, batch: list[LevelFigures], cube: Cube, periods: list[Period], baselines: list[Period]) -> None:
        h_cur, v_cur = cube.totals(periods), cube.totals(periods, "second")
        h_base, v_base = cube.totals(baselines), cube.totals(baselines, "second")
        rr = weighted_rate_ratio_intervals(h_cur, v_cur, h_base, v_base, _months(periods), _months(baselines))
        for i, f in enumerate(batch):
            f.current, f.baseline = h_cur[i], h_base[i]
            f.change, f.low, f.high, f.p_value = rr.change_pct[i], rr.change_low_pct[i], rr.change_high_pct[i], rr.p_value[i]
            f.notes.append("interval by the delta method for weighted Poisson sums (approximate)")

    def _compare_proportions(self, batch: list[LevelFigures], cube: Cube, source,
                             periods: list[Period], baselines: list[Period]) -> None:
        for f, period, baseline in zip(batch, periods, baselines):
            f.change_unit = "pp"
            if isinstance(source, SurveySource):
                f.notes.append(f"survey estimates for the quarter ending {period.end:%B %Y} and {baseline.end:%B %Y} "
                               "(the dashboard's rolling estimates)")
        if isinstance(source, SurveySource):
            p_cur, p_base = cube.values_at_end(periods), cube.values_at_end(baselines)
            n_cur, n_base = cube.values_at_end(periods, "second"), cube.values_at_end(baselines, "second")
            if np.isnan(n_cur).all() or np.isnan(n_base).all():  # MOPAC publishes no sample sizes: no test
                for i, f in enumerate(batch):
                    f.survey = True
                    f.current, f.baseline = p_cur[i] * 100, p_base[i] * 100
                    f.change = (p_cur[i] - p_base[i]) * 100
                    f.low, f.high, f.p_value = (np.full(len(f.areas), np.nan) for _ in range(3))
                return
            successes_c, successes_b = p_cur * n_cur, p_base * n_base
            if cube.design is not None:  # sample sizes assumed from the declared design: approximate
                window = cube.design.window_months
                for f, period, baseline in zip(batch, periods, baselines):
                    f.approximate, f.window = True, window
                    # Rolling estimates whose windows share months share interviews: not independent samples.
                    f.overlap = abs(period.last - baseline.last) < window
        else:
            successes_c, n_cur = cube.totals(periods), cube.totals(periods, "second")
            successes_b, n_base = cube.totals(baselines), cube.totals(baselines, "second")
        changes = proportion_changes(successes_c, n_cur, successes_b, n_base)
        if isinstance(source, SurveySource) and cube.design is not None and cube.design.published_to:
            changes = _allow_for_rounding(changes, p_cur, n_cur, p_base, n_base, cube.design.published_to)
        with np.errstate(divide="ignore", invalid="ignore"):
            share_c, share_b = successes_c / n_cur * 100, successes_b / n_base * 100
        too_few = (np.nan_to_num(n_cur) < MIN_SHARE_DENOMINATOR) | (np.nan_to_num(n_base) < MIN_SHARE_DENOMINATOR)
        for i, f in enumerate(batch):
            f.current, f.baseline = share_c[i], share_b[i]
            f.current_denominator, f.baseline_denominator = n_cur[i], n_base[i]
            f.change, f.low, f.high = changes.difference_pp[i], changes.low_pp[i], changes.high_pp[i]
            # A share from too few records is shown with its n, never tested (nor counted in FDR).
            f.too_few = too_few[i]
            f.p_value = np.where(too_few[i], np.nan, changes.p_value[i])
            if f.overlap:  # not independent samples: no interval, no test
                f.low, f.high, f.p_value = (np.full(len(f.areas), np.nan) for _ in range(3))
            f.notes.append(_TOO_FEW_RULE)

    def _control_false_discoveries(self, batch: list[LevelFigures], level: str) -> None:
        """Verdicts: at London the test itself; below it, after BH across the level's areas (per period)."""
        p = np.vstack([f.p_value for f in batch])
        tested = ~np.isnan(p)
        top = level == self.geography.top
        q = benjamini_hochberg_adjusted(p) if not top else np.full(p.shape, np.nan)
        several = (tested.sum(axis=1, keepdims=True) > 1) & (not top)
        decide = np.where(several, q, p)
        significant = tested & (np.nan_to_num(decide, nan=1.0) < ALPHA)
        rising = np.vstack([f.current for f in batch]) > np.vstack([f.baseline for f in batch])  # NaN: False
        verdict = np.where(significant, np.where(rising, Verdict.RISE.value, Verdict.FALL.value), Verdict.NO_CHANGE.value)
        for i, f in enumerate(batch):
            f.q_value = q[i] if several[i, 0] else np.full(p.shape[1], np.nan)
            f.significant = significant[i]
            if f.survey:
                f.verdict = np.where(np.isnan(f.change), "", Verdict.SAMPLE_UNKNOWN.value)
            elif f.overlap or f.stock:
                f.verdict = np.where(np.isnan(f.change), "", (Verdict.OVERLAP if f.overlap else Verdict.EXACT).value)
                f.significant = np.zeros_like(significant[i])
            else:
                f.verdict = np.where(tested[i], verdict[i], "")
            if f.too_few is not None:
                f.verdict = np.where(f.too_few & ~np.isnan(f.current) & ~np.isnan(f.baseline), TOO_FEW.value, f.verdict)

    # --- one area -------------------------------------------------------------------------------

    def result(self, measure: Measure | str, area: Area | str | None, period: Period | str | None = None,
               against: str | None = None, priority: str | None = None, objective: str | None = None) -> MeasureResult:
        """A measure for an area: the latest months resolved against its sources; compared with the period before,
        the same months against the plan's baseline beside it (``MeasureResult.beside``)."""
        measure = self.plan.measure(measure) if isinstance(measure, str) else measure
        area = area if isinstance(area, Area) else self.areas.get(area)
        period = period if isinstance(period, (Period, Latest)) else self.period(period)
        against = against or self.default_baseline(period)
        period = self.resolve(period, measure, area.level)
        result = self._result(measure, area, period, against, priority, objective)
        # Beside: the same months against the plan's baseline — for a year only, since a quarter or a month
        # against a whole year would be judged on the season.
        if is_previous(against) and area.level in measure.levels and period.n_months == 12:
            result.beside = self._result(measure, area, period, self.plan.default_baseline)
        return result

    def _result(self, measure: Measure, area: Area, period: Period, against: str, priority: str | None = None,
                objective: str | None = None) -> MeasureResult:
        base, comparison = self.against(period, against)
        if area.level not in measure.levels:
            return MeasureResult(measure, priority, objective, area, period, base, comparison,
                                 Status.NOT_AT_LEVEL,
                                 f"{measure.title} is not measured at {area.level} level (levels: {', '.join(measure.levels)})",
                                 None)
        figures = self.evaluate(measure, area.level, period, base)
        if area.level not in self._area_index:
            self._area_index[area.level] = {code: i for i, code in enumerate(self.compiler.areas(area.level))}
        index = self._area_index[area.level].get(area.code)
        computed = [lf.figure(index) for lf in figures if lf.status == STATUS_OK]
        would = [
            {"dataset": lf.source.dataset, "label": lf.label, "publisher": getattr(lf.source, "publisher", None),
             "landing_page": getattr(lf.source, "landing_page", None), "message": lf.message}
            for lf in figures if lf.status == Status.SOURCE_NOT_LOADED
        ]
        gaps = [lf for lf in figures if lf.status in (STATUS_MISSING, STATUS_INCOMPLETE, STATUS_NOT_RECORDED)]
        if computed:
            return MeasureResult(measure, priority, objective, area, period, base, comparison, STATUS_OK, "",
                                 computed[0], computed[1:], would)
        current_only = [lf for lf in figures if lf.status == STATUS_BASELINE_INCOMPLETE]
        if current_only:  # the period's figure, never a change from an incomplete baseline
            head = current_only[0]
            return MeasureResult(measure, priority, objective, area, period, base, comparison,
                                 STATUS_BASELINE_INCOMPLETE, head.message, head.figure(index),
                                 [lf.figure(index) for lf in current_only[1:]] + [lf.figure(None) for lf in gaps],
                                 would)
        if gaps:
            status = next((s for s in (STATUS_NOT_RECORDED, STATUS_INCOMPLETE) if any(lf.status == s for lf in gaps)),
                          STATUS_NO_DATA)
            return MeasureResult(measure, priority, objective, area, period, base, comparison, status,
                                 "; ".join(lf.message for lf in gaps), None, [lf.figure(None) for lf in gaps], would)
        if would:
            names = ", ".join(sorted({w["dataset"] for w in would}))
            return MeasureResult(measure, priority, objective, area, period, base, comparison, Status.NO_DATA_LOADED,
                                 f"no data loaded: {names} would supply it", None, [], would)
        return MeasureResult(measure, priority, objective, area, period, base, comparison, Status.NOT_AT_LEVEL,
                             "; ".join(lf.message for lf in figures), None)

    def scorecard(self, area: Area | str | None = None, period: str | Period | None = None,
                  baseline: str | None = None) -> Scorecard:
        area = area if isinstance(area, Area) else self.areas.get(area)
        period = period if isinstance(period, (Period, Latest)) else self.period(period)
        base, comparison = self.against(period, baseline)
        if is_previous(baseline or self.default_baseline(period)) and period.n_months == 12:
            comparison += f" and, beside it, the baseline {self.against(period, self.plan.default_baseline)[0].describe()}"
        priorities = []
        for p in self.plan.priorities:
            results = []
            for o in p.objectives:
                for mid in o.measures:
                    results.append(self.result(mid, area, period, baseline, priority=p.id, objective=o.title))
            priorities.append({"id": p.id, "title": p.title, "results": results})
        return Scorecard(self.plan.id, self.plan.title, area, period, base or (baseline or "previous"), comparison,
                         priorities)

    def level_scorecard(self, level: str, period: Period | str | None = None,
                        baseline: str | None = None) -> dict[str, list[LevelFigures]]:
        """Every measure valid at ``level``, for every area of the level at once (maps, the static site)."""
        period = period if isinstance(period, (Period, Latest)) else self.period(period)
        out = {}
        for m in self.plan.measures:
            if level in m.levels:
                concrete = self.resolve(period, m, level)
                out[m.id] = self.evaluate(m, level, concrete, self.against(concrete, baseline or self.default_baseline(period))[0])
        return out

    # --- populations ----------------------------------------------------------------------------

    def population(self, level: str) -> np.ndarray:
        """Usual residents of every area of the level, NaN where unknown, as the geography declares.

        ``table``: the published figures for the level's own areas (later entries win:
        Census 2021 LSOAs over the mid-2020 estimates of 2011 LSOAs that no longer exist);
        ``sum_of``: another level's figures summed up the geography (boroughs to BCUs and
        London); ``sum_of_table``: published figures summed by best fit (2011 LSOAs to 2014 wards).
        """
        if level not in self._populations:
            spec = self.geography.level(level).residents
            if "table" in spec:
                rows: dict = {}
                for t in spec["table"]:
                    rows.update(self._published_residents(t))
            else:
                if "sum_of" in spec:
                    below = self.geography.level(spec["sum_of"])
                    figures = {}
                    for t in below.residents["table"]:
                        figures.update(self._published_residents(t))
                    unit_level, unit_vintages = below.area_level, list(below.vintages)
                else:
                    t = spec["sum_of_table"]
                    figures, unit_level, unit_vintages = self._published_residents(t), t["level"], [t["vintage"]]
                where, params = self.compiler.rollup_filter(level)
                rows = dict(self.con.execute(
                    f"""SELECT r.code, sum(b.persons) FROM (SELECT unnest(?) AS code, unnest(?) AS persons) b
                        JOIN area_rollup r ON r.unit_level = ? AND list_contains(?, r.unit_vintage) AND r.unit_code = b.code
                        WHERE {where} GROUP BY 1""",
                    [list(figures), list(figures.values()), unit_level, unit_vintages, *params],
                ).fetchall())
            areas = self.compiler.areas(level)
            self._populations[level] = np.array([rows.get(a, np.nan) for a in areas], dtype=float)
        return self._populations[level]

    def _published_residents(self, table: dict) -> dict[str, float]:
        """All usual residents (every sex, age and group) of one published population table."""
        return dict(self.con.execute(
            """SELECT code, persons FROM population_current
               WHERE level = ? AND vintage = ? AND reference = ? AND sex = 'all' AND age_band = 'all'
                 AND ethnic_group IS NULL""",
            [table["level"], table["vintage"], table["reference"]],
        ).fetchall())

    # --- crime mix ------------------------------------------------------------------------------

    def crime_mix(self, area: Area | str | None = None, period: Period | str | None = None) -> dict:
        """Recorded crime in an area by offence category: counts, and harm (CCHI days) beside them.

        Counting every crime as 1 hides harm: a rape weighs 2,555 days, a shoplifting
        one. The mix shows each category's share of offences and of harm.
        """
        area = area if isinstance(area, Area) else self.areas.get(area)
        return self.crime_mixes(area.level, period)[area.code]

    def latest_recorded(self, level: str) -> Period | None:
        """The most recent twelve months a recorded-crime file covers at ``level`` (the most local file first)."""
        for dataset, scheme, native in self.compiler.recorded_crime_sources(level):
            months = self.compiler.periods_supplied(dataset, self.compiler.recorded_crime_series(dataset, scheme, level))
            if months:
                latest = parse_period(f"rolling:{months[-1]:%Y-%m}")
                if set(latest.months) <= set(months):
                    return latest
        return None

    def crime_mixes(self, level: str, period: Period | str | None = None) -> dict[str, dict]:
        """:meth:`crime_mix` for every area of ``level`` at once (one query), keyed by area code.

        The source is the most local recorded-crime file covering the whole period:
        the ward file, else the borough files, new categories first.
        """
        period = period if isinstance(period, (Period, Latest)) else self.period(period)
        if isinstance(period, Latest):  # the latest months the most local recorded-crime file covers
            covered = self.latest_recorded(level)
            period = self.resolve_at(period, covered.end if covered else None)
        key = (level, period)
        if key in self._mixes:
            return self._mixes[key]
        areas = self.areas.level(level)
        mixes = None
        for dataset, scheme, native in self.compiler.recorded_crime_sources(level):
            series = self.compiler.recorded_crime_series(dataset, scheme, level)
            supplied = set(self.compiler.periods_supplied(dataset, series))
            if not all(m in supplied for m in period.months):
                continue
            keys, weights, note = self.compiler.harm_weights(scheme)
            where, params = self.compiler.rollup_filter(level)
            rows = self.con.execute(
                f"""SELECT r.code, m.major, m.category, sum(m.count) AS n,
                          any_value(coalesce(list_extract(?, list_position(?, m.major || ' / ' || m.category)), 0)) AS w
                   FROM monthly_counts m
                   JOIN area_rollup r ON r.unit_level = m.unit_level AND r.unit_vintage = m.unit_vintage
                                     AND r.unit_code = m.unit_code
                   WHERE m.dataset = ? AND m.variant = ? AND {where}
                     AND m.month BETWEEN ? AND ?
                   GROUP BY ALL ORDER BY r.code, n DESC, m.major, m.category""",
                [weights, keys, dataset, scheme, *params, period.start, period.end],
            ).fetchall()
            files = self.compiler.provenance(dataset, series, period.start, period.end)
            by_area: dict[str, list] = {}
            for code, major, minor, n, w in rows:
                by_area.setdefault(code, []).append((major, minor, n, w))
            mixes = {a.code: _mix(a, period, dataset, scheme, by_area.get(a.code, []), files, note) for a in areas}
            break
        if mixes is None:
            mixes = {a.code: {"area": a.to_dict(), "period": period.label, "period_text": period.describe(),
                              "dataset": None, "categories": [], "majors": [], "files": [],
                              "note": "no recorded-crime file covers this area and period",
                              "attribution": ATTRIBUTION} for a in areas}
        self._mixes[key] = mixes
        return mixes

    def covered_population(self, source, level: str) -> np.ndarray:
        """Residents of each area of ``level`` who live where ``source`` publishes figures.

        A rate's denominator must match its numerator: the Met's files cover 32
        boroughs, not the City of London, so London's rate from them counts the 32
        boroughs' residents. Above the source's own level, an area's population is
        the sum over the units below it that the source covers.
        """
        population = self.population(level)
        native = self.geography.native_level(native_level(source.dataset))
        below = self.geography.level(level).residents.get("sum_of")
        if (native is None or native == level or below is None or below not in self.geography.above(native)
                or not self.geography.level(level).covered_residents):
            return population
        covered = self.cube(source, below, "count").covered()
        residents = self.population(below)
        (unit_level, unit_vintages), (where, params) = self.geography.table_level(below), self.compiler.rollup_filter(level)
        parents = dict(self.con.execute(
            f"""SELECT r.unit_code, r.code FROM area_rollup r
                WHERE r.unit_level = ? AND list_contains(?, r.unit_vintage) AND {where}""",
            [unit_level, list(unit_vintages), *params],
        ).fetchall())
        totals: dict[str, float] = {}
        for code, ok, people in zip(self.compiler.areas(below), covered, residents):
            if ok and not np.isnan(people):
                totals[parents.get(code)] = totals.get(parents.get(code), 0.0) + people
        return np.array([totals.get(code, np.nan) for code in self.compiler.areas(level)], dtype=float)

    # --- series ---------------------------------------------------------------------------------

    def series(self, measure: Measure | str, area: Area | str | None = None, by: str = "month") -> dict:
        """The measure's values over time for an area, per source, with SPC limits on the monthly series."""
        measure = self.plan.measure(measure) if isinstance(measure, str) else measure
        area = area if isinstance(area, Area) else self.areas.get(area)
        if area.level not in measure.levels:
            raise CrimeplanError(f"{measure.title} is not measured at {area.level} level (levels: {', '.join(measure.levels)})")
        out = {"measure": measure.id, "title": measure.title, "unit": measure.unit, "statistic": measure.statistic,
               "area": area.to_dict(), "by": by, "sources": [], "attribution": ATTRIBUTION}
        for source in measure.sources:
            label = source.label or _default_label(source)
            if isinstance(source, UnavailableSource) or not self.compiler.reaches(source, area.level):
                out["sources"].append({"dataset": source.dataset, "label": label, "status": Status.SOURCE_NOT_LOADED
                                       if isinstance(source, UnavailableSource) else Status.NOT_AT_LEVEL,
                                       "points": []})
                continue
            cube = self.cube(source, area.level, measure.statistic)
            if cube.span() is None:
                status = Status.SOURCE_NOT_LOADED if not cube.gaps else (
                    STATUS_NOT_RECORDED if all(g.startswith(NOT_RECORDED) for g in cube.gaps.values()) else STATUS_INCOMPLETE)
                out["sources"].append({"dataset": source.dataset, "label": label, "status": status, "points": [],
                                       "excluded": _excluded(cube)})
                continue
            i = cube.index().get(area.code)
            exposure = None
            if measure.statistic == "ratio" and i is not None:
                exposure = (self.compiler.group_residents(area.level, source.ratio.reference)[i]
                            / self.compiler.group_residents(area.level, source.ratio.group)[i])
            out["sources"].append(_series_of(cube, i, by, measure, source, label, self.compiler, exposure))
        return out


# --- helpers ------------------------------------------------------------------------------------


def _mix(area: Area, period: Period, dataset: str, scheme: str, rows: list, files: list[dict], note: str) -> dict:
    """One area's crime mix from its (major, category, count, CCHI weight) rows, largest first."""
    total = sum(n for _, _, n, _ in rows)
    harm_total = sum(n * w for _, _, n, w in rows)
    categories = [
        {"major": major, "category": minor, "count": int(n), "share_pct": 100 * n / total if total else None,
         "weight_days": w, "harm_days": n * w, "harm_share_pct": 100 * n * w / harm_total if harm_total else None}
        for major, minor, n, w in rows
    ]
    majors: dict[str, dict] = {}
    for c in categories:
        m = majors.setdefault(c["major"], {"major": c["major"], "count": 0, "harm_days": 0.0})
        m["count"] += c["count"]
        m["harm_days"] += c["harm_days"]
    for m in majors.values():
        m["share_pct"] = 100 * m["count"] / total if total else None
        m["harm_share_pct"] = 100 * m["harm_days"] / harm_total if harm_total else None
    return {
        "area": area.to_dict(), "period": period.label, "period_text": period.describe(),
        "dataset": dataset, "scheme": scheme, "total": int(total), "harm_days": harm_total,
        "categories": categories, "majors": sorted(majors.values(), key=lambda m: (-m["count"], m["major"])),
        "files": files, "note": note, "attribution": ATTRIBUTION,
    }


def _allow_for_rounding(changes, p_cur, n_cur, p_base, n_base, unit: float):
    """Survey changes between estimates published to ``unit`` (0.01: whole per cent): each could be up to half a
    unit either way, so the change is tested as the least it could be — the two estimates moved half a unit
    towards each other — and the interval runs from that test's near end to the published change's far end
    widened by a unit. The interval excludes 0 exactly when the test's p value is below 5%."""
    half = unit / 2
    d = p_cur - p_base
    toward = np.sign(d)
    with np.errstate(invalid="ignore"):
        moved_c = np.where(np.abs(d) > unit, p_cur - toward * half, (p_cur + p_base) / 2)
        moved_b = np.where(np.abs(d) > unit, p_base + toward * half, (p_cur + p_base) / 2)
    least = proportion_changes(moved_c * n_cur, n_cur, moved_b * n_base, n_base)
    rise, fall = d > 0, d < 0
    low = np.where(rise, least.low_pp, changes.low_pp - unit * 100)
    high = np.where(fall, least.high_pp, changes.high_pp + unit * 100)
    return type(changes)(difference_pp=changes.difference_pp, low_pp=low, high_pp=high, p_value=least.p_value,
                         significant=least.significant, verdict=least.verdict)


_TWO_PERIOD_NOTES = ("survey estimates for the quarter ending", "in post at the end of")  # name both periods


def _without_baseline(f: LevelFigures) -> None:
    """A period's own figures kept, everything about its (unusable) baseline and the change blanked: untested."""
    blank = lambda arr: None if arr is None else np.full(np.shape(arr), np.nan)  # noqa: E731
    f.baseline, f.baseline_denominator, f.baseline_numerator = (
        blank(f.baseline), blank(f.baseline_denominator), blank(f.baseline_numerator))
    f.change, f.low, f.high, f.p_value = blank(f.change), blank(f.low), blank(f.high), blank(f.p_value)
    if f.baseline_interval is not None:
        f.baseline_interval = (blank(f.baseline_interval[0]), blank(f.baseline_interval[1]))
    f.overlap = False
    f.notes = [n for n in f.notes if not n.startswith(_TWO_PERIOD_NOTES)]


def _months(periods: list[Period]) -> np.ndarray:
    """Each period's length in months, as a column to broadcast against areas."""
    return np.array([p.n_months for p in periods], dtype=float)[:, None]


def _number(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def _nearest_complete(cube: Cube, period: Period, baseline: Period) -> Period | None:
    """The period of the same kind nearest to ``period`` whose months are all complete (None: none within 3 years).

    Only when the baseline itself is complete: otherwise no shift of the period helps.
    """
    if cube.missing(baseline):
        return None
    step = {"month": 1, "rolling": 1, "quarter": 3}.get(period.kind, 12)
    for k in range(1, 36 // step + 1):
        for sign in (-1, 1):
            candidate = period.shifted(sign * k * step)
            overlaps = candidate.first <= baseline.last and baseline.first <= candidate.last
            if not overlaps and candidate.last - cube.first < cube.available.size and not cube.missing(candidate):
                return candidate
    return None


def _default_label(source) -> str:
    extra = {
        "RecordedCrimeSource": lambda s: f" ({s.scheme} categories)",
        "StreetCrimeSource": lambda s: f" ({s.force})" if s.force else "",
    }.get(type(source).__name__, lambda s: "")(source)
    return f"{source.dataset}{extra}"


def _plain(f: LevelFigures, i: int) -> str:
    """One sentence a resident can read: the change, its interval, and what it means."""
    cur, base = _number(f.current[i]), _number(f.baseline[i])
    change, low, high = _number(f.change[i]), _number(f.low[i]), _number(f.high[i])
    pp = f.change_unit == "pp"
    verdict = str(f.verdict[i])
    if f.status == STATUS_BASELINE_INCOMPLETE and cur is not None:
        return _current_only(f, i, cur)
    if not verdict:
        if cur is None and base is None:
            return f"no figures: {f.label} publishes nothing for this area"
        return "no comparison possible: nothing recorded in either period" if cur == 0 else "no comparison possible"

    if f.ratio and change is not None and cur is not None and base is not None:
        ci, bi = f.current_interval, f.baseline_interval
        word = "Up" if change > 0 else "Down" if change < 0 else "Unchanged"
        head = (f"A rate ratio of {cur:.2f} (95% interval {_number(ci[0][i]):.2f} to {_number(ci[1][i]):.2f}) "
                f"against {base:.2f} ({_number(bi[0][i]):.2f} to {_number(bi[1][i]):.2f}) in the baseline: "
                f"{word.lower()} {abs(change):.0f}% (95% interval {interval(low, high, '%', 0)})")
        if verdict == "no significant change":
            return f"{head}: within the range expected from chance" + (
                f" once allowing for {f.tested} areas tested at once" if not f.at_top and f.tested > 1 else "") + "."
        return f"{head}: more than chance would explain" + (
            f", even allowing for {f.tested} areas tested at once" if not f.at_top and f.tested > 1 else "") + "."
    if change is None:  # nothing in the baseline: a ratio has no meaning, the counts still do
        head = f"Up from {base:,.0f} to {cur:,.0f}" if cur is not None and base is not None else "No comparison"
    else:
        word = "Up" if change > 0 else "Down" if change < 0 else "Unchanged"
        size = f"{abs(change):.1f} percentage points" if pp else f"{abs(change):.0f}%"
        shown = rate_text if f.rate else (lambda v: f"{v:,.0f}")
        values = f", {shown(base)} → {shown(cur)}" if cur is not None and base is not None and not pp else ""
        head = f"{word} {size}{values}" if word != "Unchanged" else f"Unchanged{values}"
        if (low is not None or high is not None) and not f.overlap:
            head += (f" ({'approximate ' if f.approximate else ''}95% interval "
                     f"{interval(low, high, f.change_unit, 0)})")
    if verdict == TOO_FEW:
        # baseline first, as in the change: 'from 116 records in the baseline and 901 now'
        n = f" from {_number(f.baseline_denominator[i]):,.0f} records in the baseline and {_number(f.current_denominator[i]):,.0f} now" \
            if f.current_denominator is not None else ""
        return f"{head}{n}: too few records to judge whether this is a real change."
    if verdict == Verdict.EXACT:
        return (f"{head}: a count of everyone in post (the file does not say whether heads or full-time "
                f"equivalents), not a sample, so the change is exact.")
    if verdict == Verdict.OVERLAP:
        return (f"{head}: the two estimates pool some of the same interviews (each covers "
                f"{f.window} months), so whether this is a real change cannot be judged.")
    if verdict == "sample size unknown":
        return f"{head}: whether this is more than sampling error cannot be said, because the publisher does not give the sample size."
    tested = f.tested
    several = not f.at_top and tested > 1
    if verdict == "no significant change":
        raw_p = _number(f.p_value[i])
        tail = "within the range expected from chance"
        if several and raw_p is not None and raw_p < ALPHA:
            tail = f"not significant once allowing for {tested} areas tested at once (false discovery rate)"
    else:
        tail = "more than chance would explain" + (f", even allowing for {tested} areas tested at once" if several else "")
    return f"{head}: {tail}."


def _current_only(f: LevelFigures, i: int, cur: float) -> str:
    """The period's figure alone (its baseline is unusable): the value, its interval or n, and why no change."""
    if f.ratio:
        ci = f.current_interval
        head = f"A rate ratio of {cur:.2f} (95% interval {_number(ci[0][i]):.2f} to {_number(ci[1][i]):.2f})"
    elif f.change_unit == "pp":
        n = _number(f.current_denominator[i]) if f.current_denominator is not None and not f.approximate else None
        head = f"{cur:.1f}%" + (f" of {n:,.0f} records" if n is not None else "")
    else:
        head = rate_text(cur) + " per 1,000 residents" if f.rate else f"{cur:,.0f}"
    return f"{head}; no change is given, because {f.message}."


def _series_of(cube: Cube, i: int | None, by: str, measure: Measure, source, label: str, compiler: Compiler,
               exposure: float | None = None) -> dict:
    """``exposure``: for a ratio, the reference group's residents over the group's (its rate ratio per point)."""
    months = cube.months
    values = cube.value[i] if i is not None else np.full(len(months), np.nan)
    second = cube.second[i] if (i is not None and cube.second is not None) else None
    points = []
    proportion = measure.statistic == "proportion"
    survey = isinstance(source, SurveySource)
    share = isinstance(source, (OutcomeSource, StopSearchSource)) and proportion
    # A year-only source cannot be split into months, quarters or financial years: its points
    # are its calendar years whatever was asked (a year's count labelled '2020-01' or
    # 'FY2019-20' would be a wrong figure), and the series says so.
    asked, by = by, ("year" if cube.granularity == "year" else by)
    groups: dict[str, list[int]] = {}
    for j, m in enumerate(months):
        if not cube.available[j]:
            continue
        key = _period_key(m, by)
        groups.setdefault(key, []).append(j)
    expected_months = {"month": 1, "quarter": 3, "year": 12, "fy": 12}[by]
    if cube.granularity != "month":  # a year-only or quarterly source: one value stands for its whole period
        expected_months = 1
    gap_keys = {_period_key(m, by) for m in cube.gaps}
    stock = getattr(source, "stock", False)  # a headcount: a period's figure is its last month's, never a sum
    for key, cols in groups.items():
        if survey:
            value = values[cols[-1]] * 100
        elif stock:
            value = values[cols[-1]]
        elif share:
            den = second[cols].sum()
            value = values[cols].sum() / den * 100 if den else np.nan
        elif measure.statistic == "ratio":
            den = second[cols].sum()
            value = values[cols].sum() / den * exposure if den and exposure is not None else np.nan
            counts = [_number(values[cols].sum()), _number(den)]  # for disclosure only: never published
        else:
            value = values[cols].sum()
        # A period with a month missing, partial or unrecorded is shown, marked, and never compared.
        complete = len(cols) >= expected_months and key not in gap_keys
        point = {"period": key, "value": _number(value), "months": len(cols), "complete": complete}
        if share:  # a share is never shown without its denominator
            point["n"] = _number(den)
        if measure.statistic == "ratio":
            point["_counts"] = counts
        points.append(point)
    result = {"dataset": source.dataset, "label": label, "status": "ok", "by": by, "points": points,
              "excluded": _excluded(cube),
              "first": points[0]["period"] if points else None, "last": points[-1]["period"] if points else None,
              "files": compiler.provenance(source.dataset, cube.series, *cube.span())}
    if by != asked:
        result["note"] = f"published by calendar year only: shown by year, not by {asked}"
    unknown = any(p["value"] is None for p in points[-SPC_MONTHS:])  # an area the source does not cover: no limits
    if by == "month" and not proportion and cube.granularity == "month" and len(points) >= 2 \
            and measure.statistic not in ("harm", "ratio") and not stock \
            and not unknown:
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


def _period_key(m: date, by: str) -> str:
    return {"month": f"{m:%Y-%m}", "quarter": f"{m.year}-Q{(m.month - 1) // 3 + 1}", "year": f"{m.year}",
            "fy": f"FY{fy_start_year(m)}-{(fy_start_year(m) + 1) % 100:02d}"}[by]


def _excluded(cube: Cube) -> list[dict]:
    """The months a series leaves out, and why (partial, absent, not recorded)."""
    fmt = "%Y" if cube.granularity == "year" else "%Y-%m"
    return [{"period": m.strftime(fmt), "reason": why} for m, why in sorted(cube.gaps.items())]


def _days_in(month: str) -> int:
    y, m = map(int, month.split("-"))
    return calendar.monthrange(y, m)[1]


__all__ = ["Engine", "LevelFigures", "month_of"]
