"""A plan checked against the loaded data: every name a measure reads must exist, spelt as published.

    >>> from crimeplan.plan.check import check_plan
    >>> result = check_plan(con, plan)                       # doctest: +SKIP
    >>> print(result.problems[0])                            # doctest: +SKIP
    my_plan.yaml:548: error: measure crime_harm, sources[0].categories[1][0]: 'BURGLRY' is not a major
    category of mps_borough_crime (new scheme); closest: 'BURGLARY'

A category, crime type, sheet or survey measure that is misspelt would otherwise
read as zero (or as no data) without a word. The check reads the names each
source's dataset actually holds — the MPS categories per scheme, data.police.uk
crime and outcome types per force, homicide filters, GLA sheets and series,
survey measures and the levels they are published at, stop-and-search forces
and numerator values — and reports, for every name that is not among them, the
file, the line of the offending value, the measure, the field, the value and
the closest published names. A measure's levels must each be reachable by one
of its sources.

Errors are names that do not exist in loaded data; a source whose dataset is
not loaded at all is only a warning (there is nothing to check it against).
"""

from __future__ import annotations

import difflib
import hashlib
import time
import warnings
from dataclasses import asdict, dataclass, field

import duckdb

from crimeplan.catalogue import load_catalogue
from crimeplan.geography import load_geography
from crimeplan.measures.cubes import native_level, reaches
from crimeplan.plan import plan_origin
from crimeplan.plan.schema import (
    HomicideSource,
    LondonSeriesSource,
    OutcomeSource,
    Plan,
    RecordedCrimeSource,
    StopSearchSource,
    StreetCrimeSource,
    SurveySource,
    UnavailableSource,
)

ERROR = "error"
WARNING = "warning"
_SHOWN = 8  # names listed when none is close


@dataclass(frozen=True)
class PlanProblem:
    """One name of a plan that the loaded data does not hold (error), or a source with no data loaded (warning)."""

    severity: str  # 'error' or 'warning'
    file: str
    line: int | None
    measure: str
    field: str  # within the measure: 'sources[0].categories[1][0]', 'levels[2]'
    value: str
    message: str  # what is wrong and what was expected
    closest: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: measure {self.measure}, {self.field}: {self.message}"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PlanCheck:
    """Every problem found in one plan against one warehouse."""

    file: str
    plan: str  # the plan's id
    problems: list[PlanProblem]
    seconds: float = 0.0

    @property
    def errors(self) -> list[PlanProblem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[PlanProblem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        e, w = len(self.errors), len(self.warnings)
        return (f"{self.file}: {e} error{'s' * (e != 1)}, {w} warning{'s' * (w != 1)} "
                "against the loaded data")

    def to_dict(self) -> dict:
        return {
            "file": self.file, "plan": self.plan, "ok": self.ok,
            "errors": len(self.errors), "warnings": len(self.warnings),
            "seconds": round(self.seconds, 4),
            "problems": [p.to_dict() for p in self.problems],
        }


class _Published:
    """The names the warehouse holds, read once per dataset (only the datasets a plan uses are read)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._memo: dict[tuple, object] = {}

    def _once(self, key: tuple, build):
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    def _rows_of(self, table: str, dataset: str) -> str:
        """Where ``dataset``'s current rows of ``table`` are: the table itself when no edition of the dataset
        replaces another (every row is current: the usual case, and much cheaper to scan), else its view."""
        superseded = self._once(("superseded", table, dataset), lambda: self.con.execute(
            "SELECT count(*) > count(DISTINCT (series, period)) FROM slices WHERE dataset = ? AND record_table = ?",
            [dataset, table],
        ).fetchone()[0])
        return f"{table}_current" if superseded else table

    def counted(self, dataset: str) -> dict[str, dict[str | None, set[str]]]:
        """variant (scheme or force) → major (None for data.police.uk) → categories, from ``monthly_counts``."""

        def build():
            out: dict[str, dict[str | None, set[str]]] = {}
            for variant, major, category in self.con.execute(
                "SELECT DISTINCT variant, major, category FROM monthly_counts WHERE dataset = ?", [dataset]
            ).fetchall():
                out.setdefault(variant, {}).setdefault(major, set()).add(category)
            return out

        return self._once(("counted", dataset), build)

    def homicide(self, dataset: str) -> dict[str, set] | None:
        """column → values of the homicide filters; None when the dataset has no rows."""

        def build():
            rows = self.con.execute(
                f"""SELECT DISTINCT domestic_abuse, method, age_group, offence_type, sex
                   FROM {self._rows_of("homicide_victim", dataset)} WHERE dataset = ?""", [dataset]
            ).fetchall()
            if not rows:
                return None
            columns = ("domestic_abuse", "method", "age_group", "offence_type", "sex")
            return {c: {r[i] for r in rows if r[i] is not None} for i, c in enumerate(columns)}

        return self._once(("homicide", dataset), build)

    def london(self, dataset: str) -> dict[str, set[str]]:
        """sheet → series of the GLA workbook."""

        def build():
            out: dict[str, set[str]] = {}
            for sheet, series in self.con.execute(
                f"SELECT DISTINCT sheet, series FROM {self._rows_of('london_monthly', dataset)} WHERE dataset = ?",
                [dataset],
            ).fetchall():
                out.setdefault(sheet, set()).add(series)
            return out

        return self._once(("london", dataset), build)

    def survey(self, dataset: str) -> dict[str, set[str]]:
        """measure → the area levels it is published at."""

        def build():
            out: dict[str, set[str]] = {}
            for measure, level in self.con.execute(
                f"SELECT DISTINCT measure, area_level FROM {self._rows_of('survey_measure', dataset)} WHERE dataset = ?",
                [dataset],
            ).fetchall():
                out.setdefault(measure, set()).add(level)
            return out

        return self._once(("survey", dataset), build)

    def stop_search_forces(self, dataset: str) -> set[str]:
        """The force slugs with searches (the dataset's series: cheaper than scanning the searches)."""
        return self._once(("forces", dataset), lambda: {s for (s,) in self.con.execute(
            "SELECT DISTINCT series FROM current_slices WHERE dataset = ? AND record_table = 'stop_search'", [dataset]
        ).fetchall()})

    def stop_search_values(self, dataset: str, force: str, column: str) -> set:
        """The values ``column`` takes in the force's searches (for a flag: whether it is ever recorded)."""

        def build():
            if column == "outcome_linked_to_object_of_search":  # a flag: recorded in any month?
                recorded = self.con.execute(
                    """SELECT coalesce(max(recorded), 0) FROM field_coverage
                       WHERE dataset = ? AND series = ? AND field = ?""", [dataset, force, column]
                ).fetchone()[0]
                return {True} if recorded else set()
            return {v for (v,) in self.con.execute(
                f"SELECT DISTINCT {column} FROM {self._rows_of('stop_search', dataset)}"
                f" WHERE dataset = ? AND force = ? AND {column} IS NOT NULL",
                [dataset, force],
            ).fetchall()}

        return self._once(("stop_search", dataset, force, column), build)


class _Checker:
    def __init__(self, con, plan: Plan, lines: dict[tuple, int], file: str) -> None:
        self.plan = plan
        self.geography = load_geography(plan.geography)
        self.lines = lines
        self.file = file
        self.published = _Published(con)
        self.problems: list[PlanProblem] = []

    # --- reporting ---

    def line(self, path: tuple) -> int | None:
        """The line of ``path`` in the file, or of the nearest enclosing node the loader placed."""
        for i in range(len(path), -1, -1):
            if path[:i] in self.lines:
                return self.lines[path[:i]]
        return None

    def report(self, severity: str, m: int, path: tuple, value, message: str, closest: list[str] | None = None) -> None:
        measure = self.plan.measures[m]
        label = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        self.problems.append(PlanProblem(severity, self.file, self.line(("measures", m, *path)), measure.id, label,
                                         str(value), message, closest or []))

    def unknown(self, m: int, path: tuple, value, what: str, names, where: str) -> None:
        """An error: ``value`` is not one of ``names`` (the ``what`` of ``where``), with the closest names."""
        names = sorted(str(n) for n in names)
        closest = _closest(str(value), names)
        if closest:
            expected = "closest: " + ", ".join(repr(c) for c in closest)
        elif names:
            shown = ", ".join(repr(n) for n in names[:_SHOWN])
            expected = f"expected one of {shown}" + (f" ({len(names)} in all)" if len(names) > _SHOWN else "")
        else:
            expected = f"{where} has none"
        self.report(ERROR, m, path, value, f"{value!r} is not {_article(what)} of {where}; {expected}", closest)

    def not_loaded(self, m: int, j: int, dataset: str) -> None:
        self.report(WARNING, m, ("sources", j, "dataset"), dataset,
                    f"not loaded: {dataset} would supply it (load its files with 'crimeplan load')")

    # --- checks ---

    def run(self) -> list[PlanProblem]:
        kinds = {
            RecordedCrimeSource: self.recorded_crime, StreetCrimeSource: self.street_crime,
            OutcomeSource: self.outcome, HomicideSource: self.homicide, LondonSeriesSource: self.london_series,
            SurveySource: self.survey, StopSearchSource: self.stop_search,
        }
        for m, measure in enumerate(self.plan.measures):
            for j, source in enumerate(measure.sources):
                if not isinstance(source, UnavailableSource):
                    kinds[type(source)](m, j, source)
            self.levels(m)
        return self.problems

    def levels(self, m: int) -> None:
        measure = self.plan.measures[m]
        sources = [s for s in measure.sources if not isinstance(s, UnavailableSource)]
        if not sources:
            return  # no data file exists for any of them: nothing says what they reach
        for k, level in enumerate(measure.levels):
            if not any(reaches(self.geography, s, level) for s in sources):
                reachable = [lv for lv in self.geography.ids if any(reaches(self.geography, s, lv) for s in sources)]
                natives = ", ".join(sorted({f"{s.dataset} ({native_level(s.dataset)})" for s in sources}))
                self.report(ERROR, m, ("levels", k), level,
                            f"no source reaches level {level!r} (sources published at: {natives}); "
                            f"expected one of {', '.join(reachable) or 'none'}", [])

    def recorded_crime(self, m: int, j: int, s: RecordedCrimeSource) -> None:
        schemes = self.published.counted(s.dataset)
        if not schemes:
            return self.not_loaded(m, j, s.dataset)
        if s.scheme not in schemes:
            return self.unknown(m, _source_path(j, "scheme"), s.scheme, "category scheme", schemes, s.dataset)
        majors = schemes[s.scheme]
        where = f"{s.dataset} ({s.scheme} scheme)"
        for k, (major, minor) in enumerate(s.categories):
            if major not in majors:
                self.unknown(m, _source_path(j, "categories", k, 0), major, "major category", majors, where)
            elif minor != "*" and minor not in majors[major]:
                self.unknown(m, _source_path(j, "categories", k, 1), minor, f"minor category of {major}",
                             majors[major], where)

    def _force(self, m: int, j: int, dataset: str, force: str | None) -> dict[str | None, set[str]] | None:
        """The categories a data.police.uk source reads: of its force, or of every force; None when not loaded or unknown."""
        forces = self.published.counted(dataset)
        if not forces:
            self.not_loaded(m, j, dataset)
            return None
        if force is None:
            merged: set[str] = set()
            for majors in forces.values():
                for names in majors.values():
                    merged |= names
            return {None: merged}
        if force not in forces:
            self.unknown(m, _source_path(j, "force"), force, "force (Reported by)", forces, dataset)
            return None
        return forces[force]

    def street_crime(self, m: int, j: int, s: StreetCrimeSource) -> None:
        types = self._force(m, j, s.dataset, s.force)
        if types is None:
            return
        names = set().union(*types.values())
        where = s.dataset + (f" reported by {s.force}" if s.force else "")
        for k, crime_type in enumerate(s.crime_types):
            if crime_type not in names:
                self.unknown(m, _source_path(j, "crime_types", k), crime_type, "crime type", names, where)

    def outcome(self, m: int, j: int, s: OutcomeSource) -> None:
        groups = load_catalogue().dataset(s.dataset).groups.get("outcome_type", {})
        for k, group in enumerate(s.outcome_groups):
            if group not in groups:
                self.unknown(m, _source_path(j, "outcome_groups", k), group, "outcome group", set(groups),
                             f"the catalogue's groups of {s.dataset} outcome types")
        if self._force(m, j, s.dataset, s.force) is None:
            return  # not loaded (said), or an unknown force (said)
        # The cohort is the street-level crimes the outcomes belong to.
        street = self.published.counted("police_uk_street")
        if not street:
            return self.report(WARNING, m, ("sources", j, "crime_types"), "police_uk_street",
                               "not loaded: police_uk_street would supply the crimes these outcomes belong to "
                               "(load its files with 'crimeplan load')")
        chosen = street.get(s.force) if s.force else None
        names = set().union(*(chosen or {k: v for majors in street.values() for k, v in majors.items()}).values())
        where = "police_uk_street" + (f" reported by {s.force}" if s.force and chosen else "")
        for k, crime_type in enumerate(s.crime_types):
            if crime_type not in names:
                self.unknown(m, _source_path(j, "crime_types", k), crime_type, "crime type", names, where)

    def homicide(self, m: int, j: int, s: HomicideSource) -> None:
        columns = self.published.homicide(s.dataset)
        if columns is None:
            return self.not_loaded(m, j, s.dataset)
        for column, wanted in s.where.items():
            published = columns.get(column, set())
            values = [wanted] if isinstance(wanted, bool) else wanted
            for k, value in enumerate(values):
                if value in published:
                    continue
                path = _source_path(j, "where", column) if isinstance(wanted, bool) else _source_path(j, "where", column, k)
                if isinstance(wanted, bool):
                    self.report(ERROR, m, path, value, f"no victim in {s.dataset} has {column} = {str(value).lower()}; "
                                f"published: {', '.join(str(v).lower() for v in sorted(published)) or 'never recorded'}")
                else:
                    self.unknown(m, path, value, f"{column} value", published, s.dataset)

    def london_series(self, m: int, j: int, s: LondonSeriesSource) -> None:
        sheets = self.published.london(s.dataset)
        if not sheets:
            return self.not_loaded(m, j, s.dataset)
        if s.sheet not in sheets:
            return self.unknown(m, _source_path(j, "sheet"), s.sheet, "sheet", sheets, s.dataset)
        for k, series in enumerate(s.series):
            if series not in sheets[s.sheet]:
                self.unknown(m, _source_path(j, "series", k), series, "series", sheets[s.sheet],
                             f"{s.dataset} sheet {s.sheet!r}")

    def survey(self, m: int, j: int, s: SurveySource) -> None:
        measures = self.published.survey(s.dataset)
        if not measures:
            return self.not_loaded(m, j, s.dataset)
        if s.measure not in measures:
            return self.unknown(m, _source_path(j, "measure"), s.measure, "survey measure", measures, s.dataset)
        published_at = measures[s.measure]
        for level in self.plan.measures[m].levels:
            area_level = self.geography.table_level(level)[0]
            if reaches(self.geography, s, level) and area_level not in published_at:
                self.report(ERROR, m, ("sources", j, "measure"), s.measure,
                            f"{s.measure!r} of {s.dataset} is not published at {area_level} level (the measure "
                            f"declares {level}); published at: {', '.join(sorted(published_at))}")

    def stop_search(self, m: int, j: int, s: StopSearchSource) -> None:
        forces = self.published.stop_search_forces(s.dataset)
        if not forces:
            return self.not_loaded(m, j, s.dataset)
        if s.force not in forces:
            return self.unknown(m, _source_path(j, "force"), s.force, "force slug", forces, s.dataset)
        for column, wanted in s.where.items():
            published = self.published.stop_search_values(s.dataset, s.force, column)
            for k, value in enumerate(wanted):
                if value not in published:
                    self.unknown(m, _source_path(j, "where", column, k), value, f"{column} value", published,
                                 f"{s.dataset} ({s.force})")
        for column, wanted in (s.numerator or {}).items():
            published = self.published.stop_search_values(s.dataset, s.force, column)
            if isinstance(wanted, bool):
                if not published:
                    self.report(ERROR, m, _source_path(j, "numerator", column), wanted,
                                f"{s.dataset} never records {column} for {s.force}")
                continue
            for k, value in enumerate(wanted):
                if value not in published:
                    self.unknown(m, _source_path(j, "numerator", column, k), value, f"{column} value", published,
                                 f"{s.dataset} ({s.force})")


def _source_path(j: int, *rest) -> tuple:
    """The path of a field of a measure's ``j``-th source."""
    return ("sources", j, *rest)


def _closest(value: str, names: list[str]) -> list[str]:
    """The published names nearest ``value`` (case differences count for little: 'Burglary' ~ 'BURGLARY')."""
    by_folded: dict[str, list[str]] = {}
    for n in names:
        by_folded.setdefault(n.casefold(), []).append(n)
    found = difflib.get_close_matches(value.casefold(), list(by_folded), n=3, cutoff=0.6)
    return [n for f in found for n in by_folded[f]][:3]


def _article(what: str) -> str:
    return ("an " if what[:1].lower() in "aeiou" else "a ") + what


def check_plan(con: duckdb.DuckDBPyConnection, plan: Plan, source_lines: dict[tuple, int] | None = None,
               file: str | None = None) -> PlanCheck:
    """Check every name ``plan``'s measures read against the warehouse on ``con``.

    ``source_lines`` (the line of each path in the plan file, from
    ``load_yaml_with_lines``) and ``file`` default to what the loader recorded when
    the plan was read (``load_plan``, ``parse_plan``); a plan built in code has no lines.
    """
    started = time.perf_counter()
    origin = plan_origin(plan)
    if source_lines is None:
        source_lines = origin[1] if origin else {}
    if file is None:
        file = origin[0] if origin else f"<plan {plan.id}>"
    problems = _Checker(con, plan, source_lines, file).run()
    problems.sort(key=lambda p: p.line or 0)  # in file order, as an editor shows them
    return PlanCheck(file, plan.id, problems, time.perf_counter() - started)


class PlanCheckWarning(UserWarning):
    """A plan names categories, types or series the loaded data does not hold: those sources read nothing.

    ``check`` is the whole :class:`PlanCheck`.
    """

    def __init__(self, check: PlanCheck) -> None:
        self.check = check
        errors = check.errors
        shown = "".join(f"\n  {p}" for p in errors[:3])
        more = f"\n  … and {len(errors) - 3} more" if len(errors) > 3 else ""
        super().__init__(
            f"{check.file} does not match the loaded data ({len(errors)} error{'s' * (len(errors) != 1)}): "
            "a misspelt name reads as nothing; 'crimeplan plan check' lists every problem with its line"
            f"{shown}{more}"
        )


# Checks already made in this process, by warehouse state and plan: a server, the static site
# and the tests open many engines over one warehouse.
_CHECKED: dict[tuple, PlanCheck] = {}


def _warehouse_state(con: duckdb.DuckDBPyConnection) -> tuple:
    """What identifies the loaded data: the database file and the files loaded into it (every load adds one)."""
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    files = con.execute("SELECT count(*), max(file_id), max(loaded_at)::VARCHAR FROM files").fetchone()
    return (path[0] if path else None, *files)


def check_loaded_plan(con: duckdb.DuckDBPyConnection, plan: Plan) -> PlanCheck:
    """:func:`check_plan`, remembered per warehouse state and plan for the life of the process.

    An in-memory warehouse (no file) is checked every time: its state cannot be told apart.
    """
    state = _warehouse_state(con)
    origin = plan_origin(plan)
    key = (*state, origin[0] if origin else None, hashlib.sha256(plan.model_dump_json().encode()).hexdigest())
    if not state[0] or state[0] == ":memory:":
        return check_plan(con, plan)
    if key not in _CHECKED:
        _CHECKED[key] = check_plan(con, plan)
    return _CHECKED[key]


def warn_if_plan_is_wrong(con: duckdb.DuckDBPyConnection, plan: Plan) -> PlanCheck | None:
    """Warn (:class:`PlanCheckWarning`) when ``plan`` names what the loaded data does not hold.

    Never fails: a warehouse without the tables (or any trouble reading them) is not the plan's fault.
    """
    try:
        result = check_loaded_plan(con, plan)
    except duckdb.Error:
        return None
    if result.errors:
        warnings.warn(PlanCheckWarning(result), stacklevel=3)
    return result


__all__ = ["ERROR", "WARNING", "PlanCheck", "PlanCheckWarning", "PlanProblem", "check_loaded_plan", "check_plan",
           "warn_if_plan_is_wrong"]
