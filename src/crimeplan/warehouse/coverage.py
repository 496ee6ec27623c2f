"""Coverage: for every dataset, series and period, is the data complete, partial or absent, and why.

A figure is only as good as its coverage. Publishers' files start and end
mid-stream, archives lack a force for a month, year-only files end in a
partial year, and some fields are left empty. This module keeps that evidence
in two derived tables, rebuilt after every load from the current rows:

``coverage``: one row per dataset, series (the force for data.police.uk, the
publication level and category scheme for the MPS files, ``victims`` for the
homicide files, the sheet and column for workbooks, the survey and level for
PAS) and period, for every period from the series' first to its last — and
over the whole span of every file that supplies the series — at the series'
own granularity (month, quarter or year, from the spacing of its periods):

- **absent**: no loaded file supplies it. The reason names the file whose span
  covers the period but lacks the series (the national archive has no
  Lancashire for 2018-10) or says that no loaded file supplies it;
- **partial** (too low) or **implausible** (too high): present, but its total is
  implausible against the periods around it (``stats/robust_z.py``: below half, or above three times, the median of up
  to six present periods either side, and more than 3.5 robust standard
  deviations away). The MPS ward file's 2024-03 (47 offences against a median
  of about 75,000) and the last year of the year-only homicide copy (22 victims
  against about 130) are partial;
- **complete**: present and plausible.

``field_coverage``: for the fields a publisher may leave empty (the
``optional_fields`` of a record table), how many of a slice's records carry a
value. A field is *not recorded* in a period when fewer than half the records
carry it, or when a yes/no field is "no" in every one of at least 100 records
(the Met fills "Outcome linked to object of search" with false in 2024 and
leaves it empty before: a find rate of 0% from that is no measurement).

Measures read only complete periods (``measures/cubes.py``), so no comparison,
map, hot spot, claim or published page is built on an incomplete one.
"""

from __future__ import annotations

import calendar
import math
from collections import defaultdict
from datetime import date
from functools import reduce

import duckdb

from crimeplan.stats.robust_z import HIGH_RATIO, LOW_RATIO, WINDOW, Z_LIMIT, implausible
from crimeplan.warehouse.schema import RECORD_TABLES

COMPLETE, PARTIAL, IMPLAUSIBLE, ABSENT = "complete", "partial", "implausible", "absent"
RECORDED, NOT_RECORDED = "recorded", "not recorded"
MIN_RECORDED_SHARE = 0.5
MIN_RECORDS_FOR_CONSTANT = 100
GRANULARITY = {1: "month", 3: "quarter", 12: "year"}

RULE = (
    f"a period is partial when its total is below {LOW_RATIO:g}× (implausible when above {HIGH_RATIO:g}×) the median "
    f"of the present periods among the {WINDOW} on each side, and more than {Z_LIMIT:g} robust standard deviations from it "
    "(median absolute deviation, floored at the Poisson standard deviation); absent when no loaded file supplies it"
)


def _month(d: date) -> int:
    return d.year * 12 + d.month - 1


def _date(month: int, like: date) -> date:
    """The period date of a month index, keeping the day convention of the series (quarter ends are last days)."""
    y, m = divmod(month, 12)
    if like.day == 1:
        return date(y, m + 1, 1)
    return date(y, m + 1, calendar.monthrange(y, m + 1)[1])


def _label(d: date, granularity: str) -> str:
    return f"{d.year}" if granularity == "year" else f"{d:%Y-%m}"


def refresh(con: duckdb.DuckDBPyConnection, datasets: list[str] | None = None) -> None:
    """Recompute coverage for ``datasets`` (None: all) from the current rows. Runs inside the caller's transaction."""
    only = "TRUE" if datasets is None else "list_contains($datasets, dataset)"
    params = {} if datasets is None else {"datasets": datasets}
    con.execute(f"DELETE FROM coverage WHERE {only}", params)
    con.execute(f"DELETE FROM field_coverage WHERE {only}", params)
    spans = _file_spans(con, only, params)
    rows: list[tuple] = []
    for name, table in RECORD_TABLES.items():
        if table.volume is None:
            continue
        found = con.execute(
            f"""SELECT dataset, CAST(({table.series}) AS VARCHAR) AS s, CAST(({table.period}) AS DATE) AS p,
                       ({table.volume})::DOUBLE
                FROM {name}_current WHERE {only} GROUP BY ALL ORDER BY 1, 2, 3""",
            params,
        ).fetchall()
        by_series: dict[tuple[str, str], list[tuple[date, float]]] = defaultdict(list)
        for dataset, series, period, volume in found:
            by_series[(dataset, series)].append((period, volume))
        for (dataset, series), points in by_series.items():
            rows += _assess_series(dataset, name, series, points, spans.get((dataset, name, series), []), table.volume_unit,
                                   _declared_step(dataset))
        for field in table.optional_fields:
            _refresh_field(con, name, table, field, only, params)
    if rows:
        con.executemany("INSERT INTO coverage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _file_spans(con, only: str, params: dict) -> dict[tuple, list[tuple[str, date, date]]]:
    """For each (dataset, table, series): the (file name, first, last period) of every file that supplies it.

    A file's span is over all its slices of the dataset, so a series it lacks in some
    of its months shows as absent there (a force missing from one month of an archive).
    """
    rows = con.execute(
        f"""WITH s AS (SELECT * FROM slices WHERE period > DATE '0001-01-01' AND {only}),
                 span AS (SELECT dataset, record_table, file_id, min(period) AS lo, max(period) AS hi FROM s GROUP BY ALL)
            SELECT DISTINCT s.dataset, s.record_table, s.series, f.name, span.lo, span.hi
            FROM s JOIN span USING (dataset, record_table, file_id) JOIN files f USING (file_id)""",
        params,
    ).fetchall()
    out: dict[tuple, list] = defaultdict(list)
    for dataset, table, series, name, lo, hi in rows:
        out[(dataset, table, series)].append((name, lo, hi))
    return out


def _declared_step(dataset: str) -> int | None:
    """Months between a dataset's periods as the catalogue declares its granularity (None: not declared)."""
    from crimeplan.catalogue import load_catalogue

    try:
        declared = load_catalogue().dataset(dataset).granularity
    except KeyError:
        return None
    return {"month": 1, "quarter": 3, "year": 12}.get(declared or "")


def _assess_series(dataset: str, table: str, series: str, points: list[tuple[date, float]],
                   spans: list[tuple[str, date, date]], unit: str, declared: int | None = None) -> list[tuple]:
    months = [_month(p) for p, _ in points]
    gaps = [b - a for a, b in zip(months, months[1:])]
    step = reduce(math.gcd, gaps) if gaps else 1
    step = declared or (step if step in GRANULARITY else 1)  # the catalogue's word first, else the spacing
    granularity = GRANULARITY[step]
    like = points[0][0]
    present = {m: v for m, (_, v) in zip(months, points)}
    lo, hi = months[0], months[-1]
    for _, first, last in spans:
        lo, hi = min(lo, _month(first)), max(hi, _month(last))
    lo += (months[0] - lo) % step  # stay on the series' own grid (quarter ends, Januaries)
    grid = list(range(lo, hi + 1, step))
    values = [present.get(m, float("nan")) for m in grid]
    assessed = implausible(values)
    rows = []
    for m, value, a in zip(grid, values, assessed):
        period = _date(m, like)
        if m not in present:
            holders = [name for name, first, last in spans if _month(first) <= m <= _month(last)]
            reason = (f"{holders[0]} spans it but holds no {series}" if holders
                      else f"no loaded file supplies {series}")
            rows.append((dataset, table, series, period, granularity, ABSENT, None, None, None, unit, reason))
            continue
        status, reason = COMPLETE, ""
        if a.flag:
            status = PARTIAL if a.flag == "low" else IMPLAUSIBLE  # too low: part of it missing; too high: suspect
            side = "low" if a.flag == "low" else "high"
            reason = (f"implausibly {side}: {value:,.0f} {unit} against a median of {a.reference:,.0f} "
                      f"in the {granularity}s around it")
        rows.append((dataset, table, series, period, granularity, status, value, a.reference, a.z, unit, reason))
    return rows


def _refresh_field(con, name: str, table, field: str, only: str, params: dict) -> None:
    rows = con.execute(
        f"""SELECT dataset, CAST(({table.series}) AS VARCHAR), CAST(({table.period}) AS DATE), count(*),
                   count("{field}"),
                   {f'count(*) FILTER (WHERE "{field}") = 0' if _is_boolean(con, name, field) else 'FALSE'}
            FROM {name}_current WHERE {only} GROUP BY ALL""",
        params,
    ).fetchall()
    out = []
    for dataset, series, period, records, recorded, never_true in rows:
        status, reason = RECORDED, ""
        if recorded < MIN_RECORDED_SHARE * records:
            status = NOT_RECORDED
            reason = f"the publisher leaves {field} empty in most records"
        elif never_true and recorded >= MIN_RECORDS_FOR_CONSTANT:
            status = NOT_RECORDED
            reason = f"{field} is 'no' in every record: filled, not recorded"
        out.append((dataset, name, series, period, field, records, recorded, status, reason))
    if out:
        con.executemany("INSERT INTO field_coverage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", out)


def _is_boolean(con, table: str, field: str) -> bool:
    kind = con.execute(
        "SELECT data_type FROM information_schema.columns WHERE table_name = ? AND column_name = ?", [table, field]
    ).fetchone()
    return bool(kind) and kind[0] == "BOOLEAN"


def grid(con: duckdb.DuckDBPyConnection, dataset: str, series: str | None = None) -> list[dict]:
    """The coverage rows of a dataset (one series, or all), oldest first: what ``crimeplan coverage`` prints."""
    rows = con.execute(
        """SELECT series, period, granularity, status, records, reference, z, unit, reason FROM coverage
           WHERE dataset = ? AND (? IS NULL OR series = ?) ORDER BY series, period""",
        [dataset, series, series],
    ).fetchall()
    keys = ("series", "period", "granularity", "status", "records", "reference", "z", "unit", "reason")
    return [dict(zip(keys, r)) for r in rows]


def area_grid(con: duckdb.DuckDBPyConnection, dataset: str, level: str, vintages: list[str], code: str) -> list[dict]:
    """One area's monthly count in a counted dataset beside the coverage of each month, per series.

    Each series is counted on its own (one category scheme, one force): a series that
    records nothing for the area is left out. A complete month with no row for the area
    is 0 (these files list every offence); a month not complete shows its status and
    whatever was published, never a 0 made up.
    """
    counts: dict[tuple[str, str], dict[date, float]] = {}
    for variant, unit_level, month, n in con.execute(
        """SELECT m.variant, m.unit_level, m.month, sum(m.count) FROM monthly_counts m
           JOIN area_rollup r ON r.unit_level = m.unit_level AND r.unit_vintage = m.unit_vintage AND r.unit_code = m.unit_code
           WHERE m.dataset = ? AND r.level = ? AND list_contains(?, r.vintage) AND r.code = ? GROUP BY 1, 2, 3""",
        [dataset, level, vintages, code],
    ).fetchall():
        counts.setdefault((variant, unit_level), {})[month] = n

    def of_series(series: str) -> dict[date, float] | None:
        """The series' counts: a force's (data.police.uk), or one level's of one scheme ('borough:new')."""
        if any(variant == series for variant, _ in counts):
            merged: dict[date, float] = {}
            for (variant, _), months in counts.items():
                if variant == series:
                    for m, n in months.items():
                        merged[m] = merged.get(m, 0) + n
            return merged
        unit_level, _, scheme = series.rpartition(":")
        return counts.get((scheme, unit_level))

    out = []
    for series, period, granularity, status, reason in con.execute(
        "SELECT series, period, granularity, status, reason FROM coverage WHERE dataset = ? ORDER BY series, period",
        [dataset],
    ).fetchall():
        months = of_series(series)
        if months is None:  # the series records nothing for this area
            continue
        count = months.get(period)
        out.append({"period": _label(period, granularity), "series": series, "status": status,
                    "count": (count or 0) if status == COMPLETE else count, "reason": reason or ""})
    return out


def problems(con: duckdb.DuckDBPyConnection, dataset: str) -> dict:
    """A dataset's partial and absent periods and its unrecorded fields, with reasons (status, /sources)."""
    periods = [
        {"series": s, "period": _label(p, g), "granularity": g, "status": st, "reason": r}
        for s, p, g, st, r in con.execute(
            """SELECT series, period, granularity, status, reason FROM coverage
               WHERE dataset = ? AND status <> 'complete' ORDER BY series, period""",
            [dataset],
        ).fetchall()
    ]
    # One entry per reason: a field left empty in some months and filled with 'no' in others is two.
    fields = [
        {"series": s, "field": f, "periods": len(months), "first": months[0].strftime("%Y-%m"),
         "last": months[-1].strftime("%Y-%m"), "months": [m.strftime("%Y-%m") for m in months], "reason": reason}
        for s, f, reason, months in con.execute(
            """SELECT series, field, reason, list(period ORDER BY period) FROM field_coverage
               WHERE dataset = ? AND status = 'not recorded' GROUP BY ALL ORDER BY series, field, min(period)""",
            [dataset],
        ).fetchall()
    ]
    return {"incomplete_periods": periods, "unrecorded_fields": fields}


def _periods_text(labels: list[str], granularity: str) -> str:
    """'2019-03 to 2021-05, 2022-01' from period labels ('YYYY-MM', or 'YYYY' for years), as their runs."""
    from crimeplan.present import months_text

    dates = [date(int(p[:4]), 1 if granularity == "year" else int(p[5:7]), 1) for p in labels]
    return months_text(dates, granularity)


def problem_lines(found: dict) -> list[str]:
    """:func:`problems` in words, runs of one reason together: what status and /sources print."""
    runs: dict[tuple, list[str]] = {}
    for p in found["incomplete_periods"]:
        runs.setdefault((p["series"], p["granularity"], p["status"], p["reason"]), []).append(p["period"])
    lines = [f"{series}: {_periods_text(periods, granularity)} {status} ({reason})"
             for (series, granularity, status, reason), periods in runs.items()]
    lines += [f"{f['series']}: {f['field']} not recorded in {_periods_text(f['months'], 'month')} ({f['reason']})"
              for f in found["unrecorded_fields"]]
    return lines


__all__ = ["ABSENT", "COMPLETE", "IMPLAUSIBLE", "PARTIAL", "RULE", "area_grid", "grid", "problem_lines", "problems", "refresh"]
