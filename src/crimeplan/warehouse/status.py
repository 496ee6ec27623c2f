"""What is loaded: per dataset, its files and counts, the span of periods and the areas covered."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb

from crimeplan.warehouse import coverage
from crimeplan.warehouse.schema import RECORD_TABLES, WHOLE


def warehouse_status(con: duckdb.DuckDBPyConnection, path: Path) -> dict:
    """A JSON-ready summary of the warehouse.

    For each dataset: the tables it fills, the files that supplied it (records read
    = loaded + rejected, per file; a GeoJSON feature counts once for its area and
    once for its boundary), the totals, the current records (tidy rows of the
    newest edition of each slice), the first and last period, the periods missing
    inside that span, and the number of distinct areas.
    """
    datasets: dict[str, dict] = {}
    rows = con.execute(
        """SELECT p.dataset, f.file_id, f.name, f.edition, f.loaded_at, f.sha256,
                  sum(p.records_read), sum(p.records_loaded), sum(p.records_rejected), count(*),
                  string_agg(DISTINCT p.encoding, ', ' ORDER BY p.encoding),
                  list(DISTINCT p.record_table ORDER BY p.record_table)
           FROM parts p JOIN files f USING (file_id)
           GROUP BY ALL ORDER BY p.dataset, f.file_id"""
    ).fetchall()
    for dataset, file_id, name, edition, loaded_at, sha, read, loaded, rejected, nparts, enc, tables in rows:
        d = datasets.setdefault(
            dataset,
            {"dataset": dataset, "tables": [], "files": [], "read": 0, "loaded": 0, "rejected": 0},
        )
        d["tables"] = sorted(set(d["tables"]) | set(tables))
        d["files"].append(
            {
                "file_id": file_id,
                "name": name,
                "sha256": sha,
                "edition": edition,
                "loaded_at": loaded_at.isoformat(timespec="seconds") + "Z",
                "parts": nparts,
                "encoding": enc,
                "read": int(read),
                "loaded": int(loaded),
                "rejected": int(rejected),
            }
        )
        d["read"] += int(read)
        d["loaded"] += int(loaded)
        d["rejected"] += int(rejected)
    for d in datasets.values():
        d.update(_coverage(con, d["dataset"], d["tables"]))
        d.update(coverage.problems(con, d["dataset"]))
    return {
        "warehouse": str(path),
        "datasets": list(datasets.values()),
        "rejects": con.execute("SELECT count(*) FROM rejects").fetchone()[0],
        "revisions": con.execute("SELECT count(*) FROM revisions").fetchone()[0],
    }


def _coverage(con: duckdb.DuckDBPyConnection, dataset: str, tables: list[str]) -> dict:
    periods = [
        p for (p,) in con.execute(
            f"SELECT DISTINCT period FROM current_slices WHERE dataset = ? AND period <> {WHOLE} ORDER BY 1",
            [dataset],
        ).fetchall()
    ]
    current = con.execute(
        "SELECT coalesce(sum(records), 0) FROM current_slices WHERE dataset = ?", [dataset]
    ).fetchone()[0]
    areas = max(
        con.execute(
            f"SELECT count(DISTINCT {RECORD_TABLES[t].area}) FROM {t}_current WHERE dataset = ?", [dataset]
        ).fetchone()[0]
        for t in tables
    )
    return {
        "current_records": int(current),
        "first_period": periods[0].strftime("%Y-%m") if periods else None,
        "last_period": periods[-1].strftime("%Y-%m") if periods else None,
        "periods": len(periods),
        "missing_periods": missing_periods(periods),
        "areas": int(areas),
    }


def missing_periods(periods: list) -> list[str]:
    """Periods inside the span that no loaded file supplies: gaps, never to be read as zeros.

    The step is the series' own (monthly, quarterly, yearly): the greatest common
    divisor of the month distances between the periods present.
    """
    if len(periods) < 2:
        return []
    index = [p.year * 12 + p.month - 1 for p in periods]
    step = 0
    for a, b in zip(index, index[1:]):
        step = math.gcd(step, b - a)
    present = set(index)
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index[0], index[-1] + 1, step or 1) if i not in present]
