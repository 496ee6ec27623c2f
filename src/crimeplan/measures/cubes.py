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
from crimeplan.sources.london import LONDON_CODE

# How a plan level maps onto the area table: (level, vintages).
LEVELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "london": ("london", ("",)),
    "bcu": ("bcu", ("",)),
    "borough": ("borough", ("",)),
    "ward": ("ward", ("2022",)),
    "ward2014": ("ward", ("2014",)),
    "lsoa": ("lsoa", ("2011", "2021")),
}

# The finest level each dataset is published at, and so the levels it can reach.
NATIVE_LEVEL = {
    "mps_borough_crime": "borough",
    "mps_ward_crime": "ward",
    "mps_lsoa_crime": "lsoa",
    "police_uk_street": "lsoa",
    "police_uk_outcomes": "lsoa",
    "police_uk_stop_search": "london",
    "mps_homicide_victims": "borough",
    "homicide_victims_processed": "borough",
    "gla_state_of_london_crime": "london",
    "mopac_pas_borough": "borough",
    "mopac_pas_london": "london",
}
REACHES = {
    "london": {"london"},
    "borough": {"borough", "bcu", "london"},
    "ward": {"ward", "borough", "bcu", "london"},
    "lsoa": {"lsoa", "ward", "ward2014", "borough", "bcu", "london"},
}


def reaches(source, level: str) -> bool:
    """Whether a source can give figures at ``level`` (survey proportions cannot be added up)."""
    native = NATIVE_LEVEL.get(source.dataset)
    if native is None:
        return False
    if isinstance(source, SurveySource):
        return level == native
    return level in REACHES[native]


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
    series: list[str] = field(default_factory=list)  # the current_slices series it reads
    notes: list[str] = field(default_factory=list)

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

    def total(self, period: Period, what: str = "value") -> np.ndarray:
        """The sum over the period's months, per area (NaN where any month is missing)."""
        data = self.value if what == "value" else self.second
        lo = max(period.first - self.first, 0)
        hi = min(period.last - self.first + 1, data.shape[1])
        out = data[:, lo:hi].sum(axis=1) if hi > lo else np.zeros(len(self.areas))
        if self.missing(period):
            out = np.full(len(self.areas), np.nan)
        return out

    def at_end(self, period: Period) -> np.ndarray:
        """The value at the period's last month (survey estimates), NaN where there is none."""
        i = period.last - self.first
        if i < 0 or i >= self.available.size or not self.available[i]:
            return np.full(len(self.areas), np.nan)
        return self.value[:, i]


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


class Compiler:
    """Builds cubes from plan sources, with the warehouse facts they need (areas, weights)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._areas: dict[str, list[str]] = {}
        self._harm: dict | None = None

    # --- areas ---

    def areas(self, level: str) -> list[str]:
        if level not in self._areas:
            name, vintages = LEVELS[level]
            self._areas[level] = [
                c for (c,) in self.con.execute(
                    "SELECT DISTINCT code FROM area_current WHERE level = ? AND list_contains(?, vintage) ORDER BY code",
                    [name, list(vintages)],
                ).fetchall()
            ]
        return self._areas[level]

    # --- availability ---

    def periods_supplied(self, dataset: str, series: list[str] | None) -> list[date]:
        """The months the current editions supply for ``dataset`` (all of ``series`` where given)."""
        if series:
            rows = self.con.execute(
                """SELECT period FROM current_slices WHERE dataset = ? AND list_contains(?, series)
                   GROUP BY period HAVING count(DISTINCT series) = ? ORDER BY period""",
                [dataset, series, len(series)],
            ).fetchall()
        else:
            rows = self.con.execute(
                "SELECT DISTINCT period FROM current_slices WHERE dataset = ? ORDER BY period", [dataset]
            ).fetchall()
        return [p for (p,) in rows if p.year > 1]

    def provenance(self, dataset: str, series: list[str], first: date, last: date) -> list[dict]:
        """The files (and editions) the current figures for these months come from."""
        rows = self.con.execute(
            """SELECT DISTINCT f.name, f.edition, f.sha256
               FROM current_slices c JOIN files f USING (file_id)
               WHERE c.dataset = ? AND (len(?) = 0 OR list_contains(?, c.series)) AND c.period BETWEEN ? AND ?
               ORDER BY f.name""",
            [dataset, series, series, first, last],
        ).fetchall()
        return [{"name": n, "edition": e, "sha256": s} for n, e, s in rows]

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
        return builders[type(source)](source, level, statistic)

    def _frame(self, level: str, rows, series: list[str] | None, dataset: str, with_second: bool,
               granularity: str = "month") -> Cube:
        """Query results (area, month, value[, second]) into a cube over every area of the level.

        ``rows`` is a DuckDB relation result (``fetchnumpy`` of the four columns) or a
        list of tuples; either way it is placed into the grid with numpy, not row by row.
        """
        codes, months_col, values, seconds = _columns(rows)
        supplied = self.periods_supplied(dataset, series)
        month_numbers = _month_numbers(months_col)
        areas = self.areas(level)
        candidates = [month_index(m) for m in supplied]
        if month_numbers.size:
            candidates += [int(month_numbers.min()), int(month_numbers.max())]
        if not candidates:
            return Cube(areas, 0, np.zeros((len(areas), 0)), None, np.zeros(0, bool), granularity, series or [])
        first, last = min(candidates), max(candidates)
        width = last - first + 1
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
        available = np.zeros(width, bool)
        available[[month_index(m) - first for m in supplied]] = True
        return Cube(areas, first, value, second, available, granularity, series or [])

    def _rollup_filter(self, level: str) -> tuple[str, list]:
        name, vintages = LEVELS[level]
        return "r.level = ? AND list_contains(?, r.vintage)", [name, list(vintages)]

    def _recorded_crime(self, source: RecordedCrimeSource, level: str, statistic: str) -> Cube:
        majors = [major for major, minor in source.categories if minor == "*"]
        pairs = [f"{major} / {minor}" for major, minor in source.categories if minor != "*"]
        where, params = self._rollup_filter(level)
        weight_sql, weight_params, notes = "1", [], []
        if statistic == "harm":
            keys, weights, unweighted = self.harm_weights(source.scheme)
            weight_sql = "coalesce(list_extract(?, list_position(?, m.major || ' / ' || m.category)), 0)"
            weight_params = [weights, keys]
            notes.append(unweighted)
        rows = self.con.execute(
            f"""SELECT r.code, m.month, sum(m.count * w), sum(m.count * w * w)
                FROM (SELECT *, {weight_sql} AS w FROM monthly_counts m
                      WHERE m.dataset = ? AND m.variant = ?
                        AND (list_contains(?, m.major) OR list_contains(?, m.major || ' / ' || m.category))) m
                JOIN area_rollup r ON r.unit_level = m.unit_level AND r.unit_vintage = m.unit_vintage
                                  AND r.unit_code = m.unit_code
                WHERE {where}
                GROUP BY ALL""",
            [*weight_params, source.dataset, source.scheme, majors, pairs, *params],
        ).fetchnumpy()
        native = NATIVE_LEVEL[source.dataset]
        series = [f"{LEVELS[native][0]}:{source.scheme}"]
        cube = self._frame(level, rows, series, source.dataset, with_second=statistic == "harm")
        cube.notes += notes
        return cube

    def _street_crime(self, source: StreetCrimeSource, level: str, statistic: str) -> Cube:
        where, params = self._rollup_filter(level)
        weight_sql, weight_params = "1", []
        if statistic == "harm":
            types, weights = self.force_harm_weights(source.force)
            weight_sql = "coalesce(list_extract(?, list_position(?, m.category)), 0)"
            weight_params = [weights, types]
        rows = self.con.execute(
            f"""SELECT r.code, m.month, sum(m.count * w), sum(m.count * w * w)
                FROM (SELECT *, {weight_sql} AS w FROM monthly_counts m
                      WHERE m.dataset = 'police_uk_street' AND (? IS NULL OR m.variant = ?)
                        AND list_contains(?, m.category)) m
                JOIN area_rollup r ON r.unit_level = m.unit_level AND r.unit_vintage = m.unit_vintage
                                  AND r.unit_code = m.unit_code
                WHERE {where}
                GROUP BY ALL""",
            [*weight_params, source.force, source.force, source.crime_types, *params],
        ).fetchnumpy()
        series = [source.force] if source.force else None
        return self._frame(level, rows, series, "police_uk_street", with_second=statistic == "harm")

    def _outcome(self, source: OutcomeSource, level: str, statistic: str) -> Cube:
        where, params = self._rollup_filter(level)
        rows = self.con.execute(
            f"""SELECT r.code, m.month, sum(m.count) FILTER (WHERE list_contains(?, m.category)), sum(m.count)
                FROM monthly_counts m
                JOIN area_rollup r ON r.unit_level = m.unit_level AND r.unit_vintage = m.unit_vintage
                                  AND r.unit_code = m.unit_code
                WHERE m.dataset = 'police_uk_outcomes' AND (? IS NULL OR m.variant = ?) AND {where}
                GROUP BY ALL""",
            [source.outcome_types, source.force, source.force, *params],
        ).fetchnumpy()
        series = [source.force] if source.force else None
        return self._frame(level, rows, series, "police_uk_outcomes", with_second=True)

    def _homicide(self, source: HomicideSource, level: str, statistic: str) -> Cube:
        where, params = self._rollup_filter(level)
        conditions, values = [], []
        for column, wanted in source.where.items():  # column names come from the schema's fixed set
            if isinstance(wanted, bool):
                conditions.append(f"h.{column} = ?")
            else:
                conditions.append(f"list_contains(?, h.{column})")
            values.append(wanted)
        filters = " AND ".join(conditions) or "TRUE"
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
        return self._frame(level, rows, ["victims"], source.dataset, with_second=False,
                           granularity="year" if yearly else "month")

    def _london_series(self, source: LondonSeriesSource, level: str, statistic: str) -> Cube:
        rows = self.con.execute(
            """SELECT ?, month, sum(value) FROM london_monthly_current
               WHERE dataset = ? AND sheet = ? AND list_contains(?, series) GROUP BY ALL""",
            [LONDON_CODE, source.dataset, source.sheet, source.series],
        ).fetchall()
        series = [f"{source.sheet}:{s}" for s in source.series]
        return self._frame(level, rows, series, source.dataset, with_second=False)

    def _survey(self, source: SurveySource, level: str, statistic: str) -> Cube:
        area_level = LEVELS[level][0]
        rows = self.con.execute(
            """SELECT area_code, date_trunc('month', period_end)::DATE, proportion, coalesce(sample_size, 0)
               FROM survey_measure_current WHERE dataset = ? AND measure = ? AND area_level = ?""",
            [source.dataset, source.measure, area_level],
        ).fetchall()
        series = [f"PAS:{area_level}"]
        cube = self._frame(level, [], series, source.dataset, with_second=True, granularity="quarter")
        index = cube.index()
        cube.value[:] = np.nan
        cube.second[:] = np.nan  # sample sizes: unknown unless published
        for code, month, proportion, n in rows:
            i, j = index.get(code), month_index(month) - cube.first
            if i is not None and 0 <= j < cube.value.shape[1]:
                cube.value[i, j] = proportion
                cube.second[i, j] = n if n else np.nan
        return cube

    def _stop_search(self, source: StopSearchSource, level: str, statistic: str) -> Cube:
        conditions, values = [], []
        for column, wanted in (source.numerator or {}).items():
            if isinstance(wanted, bool):
                conditions.append(f"{column} = ?")
            else:
                conditions.append(f"list_contains(?, {column})")
            values.append(wanted)
        numerator = " AND ".join(conditions) or "TRUE"
        rows = self.con.execute(
            f"""SELECT ?, month, count(*) FILTER (WHERE {numerator}), count(*)
                FROM stop_search_current WHERE force = ? GROUP BY ALL""",
            [LONDON_CODE, *values, source.force],
        ).fetchall()
        if source.numerator is None:
            rows = [(a, m, d, d) for a, m, n, d in rows]
        return self._frame(level, rows, [source.force], "police_uk_stop_search", with_second=source.numerator is not None)

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


def _force_key(name: str) -> str:
    """'Metropolitan Police Service' and 'Metropolitan Police' → 'metropolitan'."""
    key = name.lower().replace("&", "and")
    for suffix in (" police service", " constabulary", " police"):
        key = key.removesuffix(suffix)
    return key.strip()
