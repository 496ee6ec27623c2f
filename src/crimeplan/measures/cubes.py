"""A measure source compiled to SQL: its monthly values for every area of one level.

Each plan source kind (see ``plan/schema.py``) becomes one parameterised query
over the warehouse — categories, crime types, sheets and filters are bound as
parameters, never pasted into SQL — returning a :class:`Cube`: areas × months,
with the months the source actually supplies (a month it does not supply is a
gap, never a zero).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from importlib import resources

import duckdb
import numpy as np
import yaml

from crimeplan.errors import CrimeplanError
from crimeplan.measures.periods import Period, month_index, month_of
from crimeplan.plan.schema import (
    HomicideSource,
    LondonSeriesSource,
    OutcomeSource,
    RecordedCrimeSource,
    StopSearchSource,
    StreetCrimeSource,
    SurveySource,
)
from crimeplan.catalogue import load_catalogue
from crimeplan.geography import Geography

NOT_RECORDED = "not recorded"  # a month whose share cannot be computed: the field is empty

def reaches(geography: Geography, source, level: str) -> bool:
    """Whether a source can give figures at ``level`` of ``geography`` (survey proportions cannot be added up)."""
    native = native_level(source.dataset)
    if isinstance(source, SurveySource):
        return geography.native_level(native) == level
    return geography.reaches(native, level)


def native_level(dataset: str) -> str | None:
    """The finest level ``dataset`` is published at, from the catalogue (None: not a catalogued dataset)."""
    try:
        return load_catalogue().dataset(dataset).native_level
    except KeyError:
        return None


@dataclass
class Cube:
    """Monthly values of one source for every area of one level.

    ``value`` holds counts, harm (CCHI days) or survey proportions; ``second``
    holds what a comparison also needs: the variance Σw²X of a harm sum, or the
    denominator of a share. ``available`` marks the months the source supplies.
    For a year-only source (``granularity == 'year'``) each year sits in January.
    """

    areas: list[str]
    first: int  # month index of column 0
    value: np.ndarray
    second: np.ndarray | None
    available: np.ndarray  # bool per month
    granularity: str = "month"  # 'month', 'year' or 'quarter' (survey estimates at quarter ends)
    source: object = None  # the plan source it was built from
    series: list[str] = field(default_factory=list)  # the current_slices series it reads
    notes: list[str] = field(default_factory=list)
    gaps: dict[date, str] = field(default_factory=dict)  # months not used, and why (partial or absent)
    design: object = None  # a survey's declared design, when its sample sizes are assumed from it (approximate)

    def index(self) -> dict[str, int]:
        return {code: i for i, code in enumerate(self.areas)}

    @property
    def months(self) -> list[date]:
        return [month_of(self.first + i) for i in range(self.value.shape[1])]

    def span(self) -> tuple[date, date] | None:
        have = np.flatnonzero(self.available)
        if have.size == 0:
            return None
        return month_of(self.first + int(have[0])), month_of(self.first + int(have[-1]))

    def missing(self, period: Period) -> list[date]:
        """Months of ``period`` the source does not supply (for a yearly source: its years)."""
        if self.granularity == "month":
            lo, hi = period.first - self.first, period.last - self.first + 1
            if lo >= 0 and hi <= self.available.size and self.available[lo:hi].all():
                return []  # the usual case, without building a list
        out = []
        for m in range(period.first, period.last + 1):
            if self.granularity == "year":
                if month_of(m).month != 1 or period.kind != "year":
                    continue
            i = m - self.first
            if i < 0 or i >= self.available.size or not self.available[i]:
                out.append(month_of(m))
        if self.granularity == "year" and period.kind != "year":
            return period.months  # year-only data cannot give part of a year
        return out

    def totals(self, periods: list[Period], what: str = "value") -> np.ndarray:
        """Sums over each period's months: one row per period, one column per area.

        From cumulative sums along the months, so each period costs a subtraction.
        Callers check :meth:`missing` first; months outside the cube count as 0.
        """
        key = f"_cumulative_{what}"
        cumulative = getattr(self, key, None)
        if cumulative is None:
            # Unknown months (NaN: an area a source does not cover, an LSOA code not in use) are
            # counted apart, so that one does not turn every later sum unknown: a period holding
            # one is unknown, the others are summed.
            data = self.value if what == "value" else self.second
            zero = np.zeros((data.shape[0], 1))
            unknown = np.isnan(data)
            cumulative = (np.concatenate([zero, np.cumsum(np.where(unknown, 0.0, data), axis=1)], axis=1),
                          np.concatenate([zero, np.cumsum(unknown, axis=1)], axis=1))
            setattr(self, key, cumulative)
        sums, unknowns = cumulative
        width = sums.shape[1] - 1
        lo = np.clip([p.first - self.first for p in periods], 0, width)
        hi = np.clip([p.last - self.first + 1 for p in periods], 0, width)
        return np.where(unknowns[:, hi] - unknowns[:, lo] > 0, np.nan, sums[:, hi] - sums[:, lo]).T

    def values_at_end(self, periods: list[Period], what: str = "value") -> np.ndarray:
        """The value at each period's last month (survey estimates): one row per period."""
        data = self.value if what == "value" else self.second
        out = np.full((len(periods), len(self.areas)), np.nan)
        for i, p in enumerate(periods):
            j = p.last - self.first
            if 0 <= j < self.available.size and self.available[j]:
                out[i] = data[:, j]
        return out

    def covered(self) -> np.ndarray:
        """Whether the source publishes anything for each area (the compiler marks the rest NaN)."""
        return ~np.isnan(self.value).all(axis=1)


def _columns(rows) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(codes, months, values, seconds) as numpy arrays from a fetchnumpy() dict or a list of tuples."""
    if isinstance(rows, dict):
        names = list(rows)
        codes = np.asarray(rows[names[0]], dtype=object)
        months = np.asarray(rows[names[1]])
        # NULL sums (no row matched a FILTER) arrive masked: they are zeros.
        values = np.ma.filled(np.ma.asarray(rows[names[2]], dtype=float), 0.0)
        seconds = np.ma.filled(np.ma.asarray(rows[names[3]], dtype=float), 0.0) if len(names) > 3 else np.zeros(len(codes))
        return codes, months, values, seconds
    if not rows:
        return np.array([], dtype=object), np.array([], dtype="datetime64[D]"), np.zeros(0), np.zeros(0)
    codes = np.array([r[0] for r in rows], dtype=object)
    months = np.array([r[1] for r in rows], dtype="datetime64[D]")
    values = np.array([r[2] or 0 for r in rows], dtype=float)
    seconds = np.array([(r[3] or 0) if len(r) > 3 else 0 for r in rows], dtype=float)
    return codes, months, values, seconds


def _month_numbers(months: np.ndarray) -> np.ndarray:
    """Month indices (year * 12 + month - 1) of an array of dates."""
    if months.size == 0:
        return np.zeros(0, dtype=np.int64)
    as_months = np.asarray(months, dtype="datetime64[M]").astype(np.int64)  # months since 1970-01
    return as_months + 1970 * 12


@dataclass
class CategoryCube:
    """Counts of one dataset by area, month and category, as parallel arrays (one entry per non-zero cell)."""

    areas: np.ndarray  # index into Compiler.areas(level) per entry
    months: np.ndarray  # month index per entry
    category_index: np.ndarray  # index into names per entry
    counts: np.ndarray
    names: list[str]  # 'MAJOR / MINOR' for recorded crime; the crime or outcome type for data.police.uk
    n_areas: int = 0
    _grid: tuple | None = None

    def grid(self) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
        """(first month, areas × months × categories counts, areas mentioned at all, areas × months with a row), built once.

        Every measure reading this dataset is then a weighted sum over the last axis.
        """
        if self._grid is None:
            first = int(self.months.min()) if self.months.size else 0
            width = int(self.months.max()) - first + 1 if self.months.size else 0
            dense = np.zeros((self.n_areas, width, len(self.names)))
            np.add.at(dense, (self.areas, self.months - first, self.category_index), self.counts)
            mentioned = np.zeros(self.n_areas, bool)
            mentioned[np.unique(self.areas)] = True
            present = np.zeros((self.n_areas, width), bool)
            present[self.areas, self.months - first] = True
            self._grid = (first, dense, mentioned, present)
        return self._grid


class Compiler:
    """Builds cubes from plan sources, with the warehouse facts they need (areas, weights)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, geography: Geography | None = None, home: str | None = None) -> None:
        # Without a geography only what needs no level works: coverage, provenance.
        self.con = con
        self.geography = geography
        self.home = home  # the plan's area: where force-wide and region-wide series sit
        self._areas: dict[str, list[str]] = {}
        self._harm: dict | None = None
        self._slices: dict[str, list[tuple]] = {}
        self._categories: dict[tuple, CategoryCube] = {}
        self._listed_codes: dict[tuple, set[str]] = {}  # codes a residents table lists (mixed code sets)
        self._coverage_rows: dict[str, list[tuple]] = {}
        self._group_residents: dict[tuple, np.ndarray] = {}
        self._placement: dict[str, dict] = {}
        self._other_force_areas: dict[str, frozenset[str]] = {}
        self._once: dict[tuple, object] = {}

    # --- areas ---

    def areas(self, level: str) -> list[str]:
        if level not in self._areas:
            name, vintages = self.geography.table_level(level)
            top_level = self.geography.table_level(self.geography.top)[0]
            # Only the plan's own area and the areas within it: a figure, and the false-discovery
            # control across a level, are about the plan's areas, never a neighbour's.
            self._areas[level] = [
                c for (c,) in self.con.execute(
                    """SELECT DISTINCT a.code FROM area_all a
                       WHERE a.level = ? AND list_contains(?, a.vintage)
                         AND (CAST(? AS VARCHAR) IS NULL OR EXISTS (
                             SELECT 1 FROM area_rollup r WHERE r.unit_level = a.level AND r.unit_vintage = a.vintage
                             AND r.unit_code = a.code AND r.level = ? AND r.code = ?))
                       ORDER BY a.code""",
                    [name, list(vintages), self.home, top_level, self.home],
                ).fetchall()
            ]
        return self._areas[level]

    # --- availability ---

    def periods_supplied(self, dataset: str, series: list[str] | None) -> list[date]:
        """The months the current editions supply *completely* for ``dataset`` (all of ``series`` where given).

        The one rule every figure obeys: a period is used only where the coverage
        model (``warehouse/coverage.py``) finds it complete — every wanted series
        present and plausible. Without ``series`` (all forces at once), a month with
        any series partial or absent is incomplete: a force missing from it would
        read as a fall.
        """
        complete: dict[date, set[str]] = {}
        incomplete: set[date] = set()
        for s, period, status, _ in self._coverage(dataset):
            if status == "complete":
                complete.setdefault(period, set()).add(s)
            else:
                incomplete.add(period)
        if series:
            wanted = set(series)
            return sorted(p for p, have in complete.items() if wanted <= have)
        return sorted(p for p in complete if p not in incomplete)

    def gaps(self, dataset: str, series: list[str] | None) -> dict[date, str]:
        """Why each partial or absent month of the wanted series (all, without ``series``) is not used:
        'partial (implausibly low: 47 offences against …)', 'absent (… holds no Lancashire Constabulary)'."""
        wanted = set(series or [])
        out: dict[date, str] = {}
        for s, period, status, reason in self._coverage(dataset):
            if status != "complete" and (not wanted or s in wanted):
                text = f"{status} ({reason})"
                out[period] = f"{out[period]}; {text}" if period in out else text
        return out

    def _coverage(self, dataset: str) -> list[tuple]:
        """(series, month, status, reason) of the dataset's coverage, read once (months as first days)."""
        if dataset not in self._coverage_rows:
            self._coverage_rows[dataset] = [
                (s, month_of(month_index(p)), status, reason)
                for s, p, status, reason in self.con.execute(
                    "SELECT series, period, status, reason FROM coverage WHERE dataset = ?", [dataset]
                ).fetchall()
            ]
        return self._coverage_rows[dataset]

    def _current_slices(self, dataset: str) -> list[tuple]:
        """(series, period, file name, edition, sha256) of the dataset's current slices, read once."""
        if dataset not in self._slices:
            self._slices[dataset] = self.con.execute(
                """SELECT c.series, c.period, f.name, f.edition, f.sha256
                   FROM current_slices c JOIN files f USING (file_id) WHERE c.dataset = ?""",
                [dataset],
            ).fetchall()
        return self._slices[dataset]

    def provenance(self, dataset: str, series: list[str], first: date, last: date) -> list[dict]:
        """The files (and editions) the current figures for these months come from."""
        wanted = set(series)
        files = {
            name: {"name": name, "edition": edition, "sha256": sha}
            for s, period, name, edition, sha in self._current_slices(dataset)
            if (not wanted or s in wanted) and first <= period <= last
        }
        return [files[name] for name in sorted(files)]

    # --- cubes ---

    def cube(self, source, level: str, statistic: str) -> Cube:
        builders = {
            RecordedCrimeSource: self._recorded_crime,
            StreetCrimeSource: self._street_crime,
            OutcomeSource: self._outcome,
            HomicideSource: self._homicide,
            LondonSeriesSource: self._london_series,
            SurveySource: self._survey,
            StopSearchSource: self._stop_search,
        }
        cube = builders[type(source)](source, level, statistic)
        cube.source = source
        return cube

    def _frame(self, level: str, rows, series: list[str] | None, dataset: str, with_second: bool,
               granularity: str = "month", covered: np.ndarray | None = None) -> Cube:
        """Query results (area, month, value[, second]) into a cube over every area of the level.

        ``rows`` is a DuckDB relation result (``fetchnumpy`` of the four columns) or a
        list of tuples; either way it is placed into the grid with numpy, not row by row.
        """
        codes, months_col, values, seconds = _columns(rows)
        month_numbers = _month_numbers(months_col)
        areas = self.areas(level)
        first = int(month_numbers.min()) if month_numbers.size else 0
        width = int(month_numbers.max()) - first + 1 if month_numbers.size else 0
        value = np.zeros((len(areas), width))
        second = np.zeros((len(areas), width)) if with_second else None
        if codes.size:
            order = np.array(areas, dtype=object)
            pos = np.searchsorted(order, codes)
            pos = np.clip(pos, 0, max(len(areas) - 1, 0))
            keep = (order[pos] == codes) if len(areas) else np.zeros(codes.size, bool)
            cols = month_numbers - first
            np.add.at(value, (pos[keep], cols[keep]), values[keep])
            if with_second:
                np.add.at(second, (pos[keep], cols[keep]), seconds[keep])
        if covered is None:
            covered = np.zeros(len(areas), bool)
            if codes.size:
                covered[pos[keep]] = True
        return self._finish(level, first, value, second, series, dataset, granularity, covered)

    def _finish(self, level: str, first: int, value: np.ndarray, second: np.ndarray | None,
                series: list[str] | None, dataset: str, granularity: str, covered: np.ndarray) -> Cube:
        """The cube over the months the source supplies (and any it has data for), gaps marked.

        An area the source never mentions is not covered by it (the Met publishes nothing
        for the City of London's wards): its figures are unknown, not zero. ``covered``
        is the dataset's, not the measure's: a ward with no homicide is covered by a file
        that reports its other offences, and its homicide count is zero.
        """
        areas = self.areas(level)
        supplied = [month_index(m) for m in self.periods_supplied(dataset, series)]
        gaps = self.gaps(dataset, series)
        candidates = supplied + ([first, first + value.shape[1] - 1] if value.shape[1] else [])
        candidates += [month_index(m) for m in gaps]
        if not candidates:
            return Cube(areas, 0, np.zeros((len(areas), 0)), None, np.zeros(0, bool), granularity,
                        series=series or [], gaps=gaps)
        lo, hi = min(candidates), max(candidates)
        pad = ((0, 0), (first - lo, hi - (first + value.shape[1] - 1))) if value.shape[1] else None

        def widen(data: np.ndarray | None) -> np.ndarray | None:
            if data is None:
                return None
            data = np.pad(data, pad) if pad is not None else np.zeros((len(areas), hi - lo + 1))
            data[~covered] = np.nan
            return data

        available = np.zeros(hi - lo + 1, bool)
        available[[m - lo for m in supplied]] = True
        return Cube(areas, lo, widen(value), widen(second), available, granularity, series=series or [], gaps=gaps)

    def reaches(self, source, level: str) -> bool:
        return reaches(self.geography, source, level)

    def recorded_crime_sources(self, level: str) -> list[tuple[str, str, str]]:
        """Recorded-crime datasets reaching ``level``, most local first, new categories before old:
        (dataset, scheme, native level) — what a crime mix reads (the ward file, else the borough files)."""
        found = [(d.id, d.native_level) for d in load_catalogue().datasets
                 if d.record_table == "recorded_crime" and self.geography.reaches(d.native_level, level)]
        # Nearest the asked level first: the ward file for wards, the borough files for boroughs and above.
        found.sort(key=lambda d: len(self.geography.above(self.geography.native_level(d[1]))))
        return [(dataset, scheme, native) for dataset, native in found for scheme in ("new", "old")]

    def recorded_crime_series(self, dataset: str, scheme: str, level: str) -> list[str]:
        """The slice series a recorded-crime figure at ``level`` reads: the file's own level, and at the top
        (London) the publisher's non-geographic units too, which count towards it."""
        series = [f"{native_level(dataset)}:{scheme}"]
        if level == self.geography.top and any(s == f"unit:{scheme}" for s, *_ in self._coverage(dataset)):
            series.append(f"unit:{scheme}")
        return series

    def top_code(self) -> str:
        """The plan's area (London): where force-wide and region-wide series sit."""
        top = self.areas(self.geography.top)
        if self.home is None:
            return top[0] if top else ""
        if self.home not in top:
            raise CrimeplanError(f"the plan's area {self.home} is not among the loaded "
                                 f"{self.geography.plural(self.geography.top)}")
        return self.home

    def _code_set_not_in_use(self, level: str, present: np.ndarray) -> np.ndarray | None:
        """Where an LSOA's code set was not in use (areas × months), at a level that reads two boundary sets.

        data.police.uk moved from 2011 to 2021 LSOA codes: a code of one set only (a
        retired 2011 LSOA, a new 2021 one) has no row in months the publisher used the
        other set, which is not a count of 0. The older set is in use until any code of it
        alone was last seen, a newer one from when any code of it alone was first seen.
        """
        name, vintages = self.geography.table_level(level)
        areas = self.areas(level)
        mixed = self.geography.level(level).mixed_code_sets
        if mixed is not None:
            vintages, members = self._mixed_code_sets(mixed, areas, present)
        elif len(vintages) < 2:
            return None
        else:
            members: dict[str, set[str]] = {}
            for code, vintage in self.con.execute(
                "SELECT code, vintage FROM area_all WHERE level = ? AND list_contains(?, vintage)",
                [name, list(vintages)],
            ).fetchall():
                members.setdefault(code, set()).add(vintage)
        unknown = np.zeros(present.shape, bool)
        months = np.arange(present.shape[1])
        for k, vintage in enumerate(vintages):  # oldest first
            alone = np.array([members.get(code) == {vintage} for code in areas], dtype=bool)
            seen = np.flatnonzero(present[alone].any(axis=0)) if alone.any() else np.array([], int)
            if not alone.any():
                continue
            if seen.size == 0:
                in_use = np.zeros(present.shape[1], bool)
            elif k == 0:  # the older set: in use until its codes were last seen (sparse months in between too)
                in_use = months <= seen[-1]
            else:  # a newer set: in use from when its codes were first seen
                in_use = months >= seen[0]
            unknown[np.ix_(alone, ~in_use)] = True
        return unknown

    def _mixed_code_sets(self, mixed: dict, areas: list[str], present: np.ndarray) -> tuple[tuple[str, ...], dict]:
        """Each code's sets in one area list holding two: a code the newer set's table lacks is older only;
        one it lists is in both unless it was never seen while the older-only codes were in use (new).

        The derived force geography has one LSOA list for data.police.uk's 2011 and 2021
        codes; without this a 2021 code would read 0 crimes in every month of 2011 codes.
        """
        older, newer = mixed["vintages"]
        table = mixed["newer"]
        key = (table["level"], table["vintage"], table["reference"])
        cached = self._listed_codes  # once per table, not once per measure's cube
        if key not in cached:
            cached[key] = {code for (code,) in self.con.execute(
                """SELECT DISTINCT code FROM population_current
                   WHERE level = ? AND vintage = ? AND reference = ? AND ethnic_group IS NULL""", list(key),
            ).fetchall()}
        listed = cached[key]
        in_table = np.array([code in listed for code in areas], dtype=bool)
        older_seen = np.flatnonzero(present[~in_table].any(axis=0)) if (~in_table).any() else np.array([], int)
        # Seen while the older codes were: the code was in use then (unchanged in 2021).
        seen_then = present[:, : older_seen[-1] + 1].any(axis=1) if older_seen.size else np.ones(len(areas), bool)
        members = {}
        for code, listed_now, then in zip(areas, in_table, seen_then):
            members[code] = {older} if not listed_now else ({older, newer} if then else {newer})
        return (older, newer), members

    def rollup_filter(self, level: str) -> tuple[str, list]:
        name, vintages = self.geography.table_level(level)
        return "r.level = ? AND list_contains(?, r.vintage)", [name, list(vintages)]

    def categories(self, dataset: str, variant: str | None, level: str) -> "CategoryCube":
        """Monthly counts by area and category of one dataset (one scheme or force): areas × months × categories.

        One query per dataset, variant and level; every measure counting some of
        its categories is then a sum over the category axis — the dozen measures
        reading the borough files share one pass over the warehouse.
        """
        key = (dataset, variant, level)
        if key not in self._categories:
            where, params = self.rollup_filter(level)
            rows_of = """FROM monthly_counts m
                    WHERE m.dataset = ? AND (? IS NULL OR m.variant = ?)"""
            names = [c for (c,) in self.con.execute(
                f"SELECT DISTINCT coalesce(m.major || ' / ', '') || m.category AS c {rows_of} ORDER BY c",
                [dataset, variant, variant],
            ).fetchall()]
            areas = self.areas(level)
            # Area and category indices by hash joins in SQL: numpy never sorts or searches strings.
            rows = self.con.execute(
                f"""WITH a AS (SELECT unnest(?) AS code, generate_subscripts(?, 1) - 1 AS area),
                         c AS (SELECT unnest(?) AS name, generate_subscripts(?, 1) - 1 AS category),
                         m AS (SELECT unit_level, unit_vintage, unit_code, month, count,
                                      coalesce(m.major || ' / ', '') || m.category AS name {rows_of})
                    SELECT a.area, year(m.month) * 12 + month(m.month) - 1 AS month, c.category, sum(m.count)::DOUBLE AS n
                    FROM m
                    JOIN c USING (name)
                    JOIN area_rollup r ON r.unit_level = m.unit_level AND r.unit_vintage = m.unit_vintage
                                      AND r.unit_code = m.unit_code
                    JOIN a ON a.code = r.code
                    WHERE {where}
                    GROUP BY ALL""",
                [areas, areas, names, names, dataset, variant, variant, *params],
            ).fetchnumpy()
            area = np.ma.filled(rows["area"], -1).astype(np.int64)
            keep = area >= 0  # units outside the level's area list (none expected)
            self._categories[key] = CategoryCube(
                area[keep], np.asarray(rows["month"], dtype=np.int64)[keep],
                np.asarray(rows["category"], dtype=np.int64)[keep], np.asarray(rows["n"], dtype=float)[keep], names,
                n_areas=len(areas),
            )
        return self._categories[key]

    def _category_cube(self, level: str, dataset: str, variant: str | None, series: list[str] | None,
                       weights: np.ndarray, second: np.ndarray | None) -> Cube:
        """A cube summing a category cube's categories with ``weights`` (and ``second`` for a companion sum)."""
        first, dense, mentioned, present = self.categories(dataset, variant, level).grid()
        value = dense @ weights
        companion = dense @ second if second is not None else None
        if absent_row(dataset) != "zero":  # no row is no knowledge: unknown, never 0
            value[~present] = np.nan
            if companion is not None:
                companion[~present] = np.nan
        unknown = self._code_set_not_in_use(level, present)
        if unknown is not None:
            value[unknown] = np.nan
            if companion is not None:
                companion[unknown] = np.nan
        # Any offence at all: the dataset covers the area (its count of this measure may be zero).
        return self._finish(level, first, value, companion, series, dataset, "month", mentioned)

    def _recorded_crime(self, source: RecordedCrimeSource, level: str, statistic: str) -> Cube:
        cats = self.categories(source.dataset, source.scheme, level)
        majors = {major for major, minor in source.categories if minor == "*"}
        pairs = {f"{major} / {minor}" for major, minor in source.categories if minor != "*"}
        chosen = np.array([name in pairs or name.split(" / ", 1)[0] in majors for name in cats.names], dtype=float)
        series = self.recorded_crime_series(source.dataset, source.scheme, level)
        if statistic == "harm":
            keys, weights, note = self.harm_weights(source.scheme)
            days = dict(zip(keys, weights))
            w = chosen * np.array([days.get(name, 0.0) for name in cats.names])
            cube = self._category_cube(level, source.dataset, source.scheme, series, w, w * w)
            cube.notes.append(note)
            return cube
        return self._category_cube(level, source.dataset, source.scheme, series, chosen, None)

    def _street_crime(self, source: StreetCrimeSource, level: str, statistic: str) -> Cube:
        cats = self.categories("police_uk_street", source.force, level)
        chosen = np.array([name in source.crime_types for name in cats.names], dtype=float)
        series = [source.force] if source.force else None
        if statistic == "harm":
            types, weights = self.force_harm_weights(source.force)
            days = dict(zip(types, weights))
            w = chosen * np.array([days.get(name, 0.0) for name in cats.names])
            cube = self._category_cube(level, "police_uk_street", source.force, series, w, w * w)
        else:
            cube = self._category_cube(level, "police_uk_street", source.force, series, chosen, None)
        self._cut_to_types(cube, "police_uk_street", series, source.crime_types)
        return cube

    def _cut_to_types(self, cube: Cube, dataset: str, series: list[str] | None, wanted) -> None:
        """Months supplied by a file cut to some crime types (catalogue ``crime_types``) that lacks a wanted type are
        not recorded: the Met burglary extract's count of robberies would read 0."""
        holds = {f.sha256: f.crime_types for f in load_catalogue().files() if f.sha256 and f.crime_types}
        if not holds:
            return
        for s, period, name, _edition, sha in self._current_slices(dataset):
            missing = sorted(set(wanted) - set(holds.get(sha) or wanted))
            if not missing or (series and s not in series):
                continue
            j = month_index(period) - cube.first
            if 0 <= j < cube.available.size and cube.available[j]:
                cube.available[j] = False
                cube.gaps[month_of(month_index(period))] = (
                    f"{NOT_RECORDED} ({name} is an extract holding only {', '.join(holds[sha])}, "
                    f"not {', '.join(missing)})")

    def _outcome(self, source: OutcomeSource, level: str, statistic: str) -> Cube:
        """A crime cohort's share reaching some outcomes within its follow-up: value the crimes that did, second
        the crimes (with a Crime ID) of each month; cohorts without the follow-up loaded are not final."""
        group_of = load_catalogue().dataset(source.dataset).group_of("outcome_type")
        outcome_types = sorted(t for t, g in group_of.items() if g in source.outcome_groups)
        where, params = self.rollup_filter(level)
        rows = self.con.execute(
            f"""SELECT r.code, c.month,
                       count(DISTINCT c.crime_id) FILTER (WHERE list_contains(?, c.outcome_type) AND c.lag_months <= ?),
                       count(*) FILTER (WHERE c.outcome_type IS NULL)
                FROM crime_outcome c
                JOIN area_rollup r ON r.unit_level = c.unit_level AND r.unit_vintage = c.unit_vintage
                                  AND r.unit_code = c.unit_code
                WHERE (? IS NULL OR c.reported_by = ?) AND list_contains(?, c.crime_type) AND {where}
                GROUP BY ALL""",
            [outcome_types, source.within_months, source.force, source.force, source.crime_types, *params],
        ).fetchnumpy()
        series = [source.force] if source.force else None
        covered = None
        other = self.other_force_areas(level) if level != self.geography.top else set()
        if other:  # another force's areas: the few crimes the Met records there are not a cohort of the area's
            mentioned = set(rows[next(iter(rows))].tolist())
            covered = np.array([a in mentioned and a not in other for a in self.areas(level)])
        cube = self._frame(level, rows, series, "police_uk_street", with_second=True, covered=covered)
        for dataset in ("police_uk_street", source.dataset):
            self._cut_to_types(cube, dataset, series, source.crime_types)
        self._follow_up(cube, source, series)
        cube.notes.append(
            f"crimes followed for {source.within_months} months: the share of the crimes recorded in each month "
            f"with an outcome of the group recorded within {source.within_months} months of the crime's month "
            f"(the denominator: every crime with a Crime ID); a cohort without that follow-up loaded is not final")
        return cube

    def outcome_reach(self, dataset: str, series: list[str] | None) -> dict[int, tuple[float, str]]:
        """Each loaded outcome month -> (the months after a crime's month its file's records reach, the file's name):
        infinite for a full outcomes file, the catalogue's ``outcome_follow_up_months`` for a cut-down one."""
        declared = {f.sha256: f.outcome_follow_up_months for f in load_catalogue().files() if f.sha256}
        reach: dict[int, tuple[float, str]] = {}
        for s, period, name, _edition, sha in self._current_slices(dataset):
            if series and s not in series:
                continue
            limit = declared.get(sha)
            here = (float("inf") if limit is None else float(limit), name)
            m = month_index(period)
            reach[m] = min(reach.get(m, here), here)
        return reach

    def follow_up_months(self, dataset: str, series: list[str] | None, months: list[int],
                         longest: int = 36) -> dict[int, int]:
        """For each crime month, the most months of follow-up the loaded outcomes give (-1: not even its own month):
        every outcome month from the crime's on complete, each from a file reaching that far after a crime."""
        complete = {month_index(m) for m in self.periods_supplied(dataset, series)}
        reach = self.outcome_reach(dataset, series)
        out = {}
        for m in months:
            k = -1
            while k < longest and m + k + 1 in complete and reach.get(m + k + 1, (-1.0, ""))[0] >= k + 1:
                k += 1
            out[m] = k
        return out

    def _follow_up(self, cube: Cube, source: OutcomeSource, series: list[str] | None) -> None:
        """Mark a crime month unavailable ('not final') unless the outcomes of it and the next ``within_months``
        months are complete, each from a file whose outcome records reach that far after a crime's month."""
        n = source.within_months
        months = [cube.first + int(j) for j in np.flatnonzero(cube.available)]
        reached = self.follow_up_months(source.dataset, series, months, longest=n)
        reach = self.outcome_reach(source.dataset, series)
        for m in months:
            if reached[m] >= n:
                continue
            k = reached[m] + 1  # the first month of follow-up missing
            if m + k in reach and reach[m + k][0] < k:
                cube.gaps[month_of(m)] = (f"not final ({reach[m + k][1]} holds only outcomes recorded within "
                                          f"{int(reach[m + k][0])} months of a crime's month, short of the {n} "
                                          f"months' follow-up)")
            else:
                cube.gaps[month_of(m)] = f"not final (fewer than the {n} months' follow-up of outcomes loaded)"
            cube.available[m - cube.first] = False

    def _homicide(self, source: HomicideSource, level: str, statistic: str) -> Cube:
        where, params = self.rollup_filter(level)
        filters, values = _conditions(source.where, "h.")
        yearly = self.con.execute(
            "SELECT count(*) = count(*) FILTER (WHERE month IS NULL) FROM homicide_victim_current WHERE dataset = ?",
            [source.dataset],
        ).fetchone()[0]
        rows = self.con.execute(
            f"""SELECT r.code, coalesce(h.month, make_date(h.year::INTEGER, 1, 1)), sum(h.victims)
                FROM homicide_victim_current h
                JOIN area_rollup r ON r.unit_level = CASE WHEN h.borough_code LIKE 'MPS-%' THEN 'unit' ELSE 'borough' END
                                  AND r.unit_vintage = '' AND r.unit_code = h.borough_code
                WHERE h.dataset = ? AND {filters} AND {where}
                GROUP BY ALL""",
            [source.dataset, *values, *params],
        ).fetchnumpy()
        # Covered: areas with any victim in the dataset, whatever the filters (a borough with no
        # domestic homicide has zero of them, not none known).
        present = {c for (c,) in self.con.execute(
            f"""SELECT DISTINCT r.code FROM homicide_victim_current h
                JOIN area_rollup r ON r.unit_level = CASE WHEN h.borough_code LIKE 'MPS-%' THEN 'unit' ELSE 'borough' END
                                  AND r.unit_vintage = '' AND r.unit_code = h.borough_code
                WHERE h.dataset = ? AND {where}""",
            [source.dataset, *params],
        ).fetchall()}
        covered = np.array([code in present for code in self.areas(level)], dtype=bool)
        return self._frame(level, rows, ["victims"], source.dataset, with_second=False,
                           granularity="year" if yearly else "month", covered=covered)

    def _london_series(self, source: LondonSeriesSource, level: str, statistic: str) -> Cube:
        rows = self.con.execute(
            """SELECT ?, month, sum(value) FROM london_monthly_current
               WHERE dataset = ? AND sheet = ? AND list_contains(?, series) GROUP BY ALL""",
            [self.top_code(), source.dataset, source.sheet, source.series],
        ).fetchall()
        series = [f"{source.sheet}:{s}" for s in source.series]
        return self._frame(level, rows, series, source.dataset, with_second=False)

    def _survey(self, source: SurveySource, level: str, statistic: str) -> Cube:
        area_level = self.geography.table_level(level)[0]
        rows = self.con.execute(
            """SELECT area_code, date_trunc('month', period_end)::DATE, proportion, coalesce(sample_size, 0)
               FROM survey_measure_current WHERE dataset = ? AND measure = ? AND area_level = ?""",
            [source.dataset, source.measure, area_level],
        ).fetchall()
        series = [f"PAS:{area_level}"]
        cube = self._frame(level, [], series, source.dataset, with_second=True, granularity="quarter")
        index = cube.index()
        cube.value[:] = np.nan
        cube.second[:] = np.nan  # sample sizes: unknown unless published, or declared by the survey's design
        design = survey_design(source.dataset)
        assumed = design.effective_n(area_level) if design is not None else None
        for code, month, proportion, n in rows:
            i, j = index.get(code), month_index(month) - cube.first
            if i is not None and 0 <= j < cube.value.shape[1]:
                cube.value[i, j] = proportion
                cube.second[i, j] = n if n else (assumed if assumed is not None else np.nan)
        if assumed is not None and rows and not any(n for *_, n in rows):
            cube.design = design
            cube.notes.append(
                f"approximate intervals: the publisher gives no sample sizes; each estimate is taken to rest on "
                f"{design.respondents[area_level]:,} interviews over {design.window_months} months with a design "
                f"effect of {design.design_effect:g} (an effective sample of {assumed:,.0f}); the estimates are "
                f"published to the whole per cent, so a change is tested as the least it could be (the two "
                f"estimates half a point nearer each other) and its interval widened by a point: {design.basis}")
        return cube

    def _stop_search(self, source: StopSearchSource, level: str, statistic: str) -> Cube:
        numerator, values = _conditions(source.numerator, "s.")
        # A share's denominator is the searches whose numerator fields are recorded: an empty
        # field is not a 'no' (field names come from the plan schema's fixed set).
        recorded = " AND ".join(f"s.{column} IS NOT NULL" for column in source.numerator or {}) or "TRUE"
        if source.ratio is not None:  # a ratio: the group's searches, and the reference group's beside them
            groups = search_groups(source.ratio.field)
            numerator, values = f"list_contains(?, s.{source.ratio.field})", [groups[source.ratio.group]]
            recorded = f"list_contains(?, s.{source.ratio.field})"
            values.append(groups[source.ratio.reference])
        where, where_values = _conditions(source.where, "s.")
        top = level == self.geography.top
        # The force's whole area counts every search; below it, the searches placed in each area by their
        # location (warehouse stop_search_point): those with none count towards the force's area only.
        join, within, within_values = ("", "", []) if top else placed_searches(self.con, *self.geography.table_level(level))
        rows = self.con.execute(
            f"""SELECT {"?" if top else "r.code"}, s.month, count(*) FILTER (WHERE {numerator}),
                       count(*) FILTER (WHERE {recorded})
                FROM stop_search_current s {join}
                WHERE s.force = ? AND {where} {within} GROUP BY ALL""",
            [*([self.top_code()] if top else []), *values, source.force, *where_values, *within_values],
        ).fetchall()
        covered = None
        if not top:  # another force's areas: the searches there are not its own (the Met's few in the City)
            other = self.other_force_areas(level)
            covered = np.array([bool(r) for r in _any_rows(self.areas(level), rows)]) & ~np.isin(self.areas(level), list(other))
        cube = self._frame(level, rows, [source.force], "police_uk_stop_search",
                           with_second=source.numerator is not None or source.ratio is not None, covered=covered)
        if not top:
            self._unplaced_months(cube, source.force)
        self._field_breaks(cube, source.force, {*(source.numerator or {}), *source.where})
        if source.numerator or source.where:
            # A share whose numerator field the publisher leaves empty is not recorded, never 0%; nor is a
            # count of the searches with a field the publisher left empty (no object of search: not 0).
            for period, reason in self.con.execute(
                """SELECT period, string_agg(reason, '; ') FROM field_coverage
                   WHERE dataset = 'police_uk_stop_search' AND series = ? AND list_contains(?, field)
                     AND status = 'not recorded' GROUP BY period""",
                [source.force, [*(source.numerator or {}), *source.where]],
            ).fetchall():
                j = month_index(period) - cube.first
                if 0 <= j < cube.available.size:
                    cube.available[j] = False
                    cube.gaps[month_of(month_index(period))] = f"{NOT_RECORDED} ({reason})"
        return cube

    def group_residents(self, level: str, group: str) -> np.ndarray:
        """Usual residents of one Census 2021 ethnic group (a catalogue group of TS021) in every area of the
        level, NaN where unknown; the top level counts only the areas its own force polices."""
        key = (level, group)
        if key not in self._group_residents:
            published = [v for v, g in load_catalogue().dataset(CENSUS_ETHNIC_GROUP).group_of("ethnic_group").items()
                         if g == group]
            area_level, vintages = self.geography.table_level(level)
            rows = dict(self.con.execute(
                """SELECT r.code, sum(p.persons) FROM population_current p
                   JOIN area_rollup r ON r.unit_level = 'lsoa' AND r.unit_vintage = p.vintage AND r.unit_code = p.code
                   WHERE p.dataset = ? AND p.level = 'lsoa' AND list_contains(?, p.ethnic_group)
                     AND r.level = ? AND list_contains(?, r.vintage) GROUP BY 1""",
                [CENSUS_ETHNIC_GROUP, published, area_level, list(vintages)]).fetchall())
            if level == self.geography.top and self.geography.other_forces:
                other = self.con.execute(
                    """SELECT coalesce(sum(p.persons), 0) FROM population_current p
                       JOIN area_rollup r ON r.unit_level = 'lsoa' AND r.unit_vintage = p.vintage AND r.unit_code = p.code
                       WHERE p.dataset = ? AND p.level = 'lsoa' AND list_contains(?, p.ethnic_group)
                         AND list_contains(?, r.level || ':' || r.code)""",
                    [CENSUS_ETHNIC_GROUP, published,
                     [f"{o['level']}:{o['code']}" for o in self.geography.other_forces]]).fetchone()[0]
                rows = {c: n - other for c, n in rows.items()}
            self._group_residents[key] = np.array([rows.get(a, np.nan) for a in self.areas(level)], dtype=float)
        return self._group_residents[key]

    def other_force_areas(self, level: str) -> set[str]:
        """The codes of ``level`` that lie in an area another force polices (geography ``other_forces``); read once
        per level (every area's Victims section asks)."""
        if level not in self._other_force_areas:
            other = {(o["level"], o["code"]) for o in self.geography.other_forces}
            codes: set[str] = set()
            if other:
                area_level, vintages = self.geography.table_level(level)
                codes = {c for (c,) in self.con.execute(
                    """SELECT DISTINCT unit_code FROM area_rollup WHERE unit_level = ? AND list_contains(?, unit_vintage)
                       AND list_contains(?, level || ':' || code)""",
                    [area_level, list(vintages), [f"{lv}:{c}" for lv, c in other]]).fetchall()}
            self._other_force_areas[level] = frozenset(codes)
        return self._other_force_areas[level]

    def once(self, key: tuple, compute):
        """``compute()``'s value, computed once per compiler (the warehouse does not change under it)."""
        if key not in self._once:
            self._once[key] = compute()
        return self._once[key]

    def _field_breaks(self, cube: Cube, series: str, fields: set[str]) -> None:
        """Months before a declared change of a field's coding (catalogue ``field_breaks``) give no figure: a
        count of one category would compare two codings ('Offensive weapons' did not exist before 2018)."""
        dataset = load_catalogue().dataset("police_uk_stop_search")
        for b in filter(None, (dataset.field_break(series, f) for f in sorted(fields))):
            start = month_index(b.start)
            for j in range(max(0, min(start - cube.first, cube.available.size))):
                if cube.available[j]:
                    cube.available[j] = False
                    cube.gaps[month_of(cube.first + j)] = f"not comparable ({b.reason})"

    def placement_by_month(self, force: str) -> dict[date, tuple[int, int]]:
        """Each month's searches of a force with a location, and those of them placed in the loaded LSOAs."""
        if force not in self._placement:
            self._placement[force] = {month: (located, placed) for month, located, placed in self.con.execute(
                """SELECT s.month, count(*) FILTER (WHERE s.longitude IS NOT NULL AND s.latitude IS NOT NULL),
                          count(p.code)
                   FROM stop_search_current s
                   LEFT JOIN stop_search_point p ON p.longitude = s.longitude AND p.latitude = s.latitude
                    AND p.level = 'lsoa'
                   WHERE s.force = ? GROUP BY ALL""", [force]).fetchall()}
        return self._placement[force]

    def _unplaced_months(self, cube: Cube, force: str) -> None:
        """Below the force's area: months whose searches carry no location, or mostly fall outside the loaded
        boundaries, give no figure (counted, they would read as zero)."""
        for month, (located, placed) in self.placement_by_month(force).items():
            j = month_index(month) - cube.first
            if not 0 <= j < cube.available.size or not cube.available[j]:
                continue
            if located == 0:
                cube.available[j] = False
                cube.gaps[month] = f"{NOT_RECORDED} (the force published no locations for its searches)"
            elif placed < MIN_PLACED * located:
                cube.available[j] = False
                cube.gaps[month] = (f"partial (only {placed:,} of {located:,} located searches fall in the loaded "
                                    f"boundaries)")
        cube.notes.append("below the force's whole area, only searches with a location are counted (placed in "
                          "areas by point in polygon); those with none count towards the force's area only")

    # --- harm weights ---

    def harm_weights(self, scheme: str) -> tuple[list[str], list[float], str]:
        """CCHI weights (days) for each 'MAJOR / MINOR' category of a scheme, via harm_map.yaml."""
        if self._harm is None:
            text = resources.files("crimeplan.plan").joinpath("harm_map.yaml").read_text(encoding="utf-8")
            self._harm = yaml.safe_load(text)
        subgroups = dict(self.con.execute(
            "SELECT subgroup, weight_days FROM harm_weight_current WHERE scheme = 'subgroup'"
        ).fetchall())
        if not subgroups:
            raise CrimeplanError("no Cambridge Crime Harm Index weights are loaded; load harm/cchi_subgroup_medians.csv")
        mapping = self._harm["recorded_crime"][scheme]
        keys = list(mapping)
        weights = [float(subgroups[mapping[k]]) for k in keys]
        unweighted = self._harm.get("unweighted") or []
        note = (
            "harm in days of imprisonment (Cambridge Crime Harm Index, subgroup medians); "
            f"{len(unweighted)} categories carry no CCHI weight and count as 0"
        )
        return keys, weights, note

    def force_harm_weights(self, force: str | None) -> tuple[list[str], list[float]]:
        """CCHI weights for data.police.uk crime types, for the force (its own offence mix)."""
        rows = self.con.execute(
            "SELECT force, category, weight_days FROM harm_weight_current WHERE scheme = 'force_category'"
        ).fetchall()
        wanted = _force_key(force or "")
        chosen = [(c, w) for f, c, w in rows if _force_key(f) == wanted]
        if not chosen:
            raise CrimeplanError(f"no CCHI weights for force {force!r} are loaded")
        return [c for c, _ in chosen], [float(w) for _, w in chosen]


CENSUS_ETHNIC_GROUP = "population_lsoa21_ethnic_group_2021"


def search_groups(field: str) -> dict[str, list[str]]:
    """The catalogue's groups of a stop-and-search field: group -> the values as published."""
    return {g: list(v) for g, v in load_catalogue().dataset("police_uk_stop_search").groups[field].items()}


MIN_PLACED = 0.9  # below the force's area, a month is used only when most located searches fall in the boundaries


def placed_searches(con, area_level: str, vintages) -> tuple[str, str, list]:
    """SQL that takes stop_search_current ``s`` to the areas of a level (``r.code``) by the searches' placement.

    Every level takes the LSOA placement, rolled up as the residents are (best-fit LSOAs for wards), so
    that a rate's searches and residents cover the same ground: a ward's own polygons differ from its
    best-fit LSOAs by more than a fifth of its searches in a quarter of the wards. (The ward placement
    in stop_search_point is the polygons' own.) Returns (join, where, parameters).
    """
    join = ("JOIN stop_search_point p ON p.longitude = s.longitude AND p.latitude = s.latitude "
            "AND p.level = 'lsoa' AND p.code IS NOT NULL "
            "JOIN area_rollup r ON r.unit_level = p.level AND r.unit_vintage = p.vintage AND r.unit_code = p.code")
    return join, "AND r.level = ? AND list_contains(?, r.vintage)", [area_level, list(vintages)]


def _any_rows(areas: list[str], rows) -> list[bool]:
    have = {r[0] for r in rows}
    return [a in have for a in areas]


def survey_design(dataset: str):
    """The catalogue's declared design of a survey dataset (None when it declares none)."""
    catalogue = load_catalogue()
    return catalogue.dataset(dataset).survey_design if dataset in catalogue.ids else None


def absent_row(dataset: str) -> str:
    """What the catalogue says an area with no row in a complete period means for ``dataset``: 'zero' or 'unknown'."""
    global _ABSENT_ROW
    if _ABSENT_ROW is None:
        _ABSENT_ROW = {d.id: d.absent_row for d in load_catalogue().datasets}
    return _ABSENT_ROW.get(dataset, "unknown")


_ABSENT_ROW: dict[str, str] | None = None


def _conditions(spec: dict | None, prefix: str = "") -> tuple[str, list]:
    """A source's filter (column: wanted value or values) as SQL and its parameters; TRUE when there is none.

    Column names come from the schema's fixed set; the wanted values are bound as parameters.
    """
    conditions, values = [], []
    for column, wanted in (spec or {}).items():
        if isinstance(wanted, bool):
            conditions.append(f"{prefix}{column} = ?")
        else:
            conditions.append(f"list_contains(?, {prefix}{column})")
        values.append(wanted)
    return " AND ".join(conditions) or "TRUE", values


def _force_key(name: str) -> str:
    """'Metropolitan Police Service' and 'Metropolitan Police' → 'metropolitan'."""
    key = name.lower().replace("&", "and")
    for suffix in (" police service", " constabulary", " police"):
        key = key.removesuffix(suffix)
    return key.strip()
