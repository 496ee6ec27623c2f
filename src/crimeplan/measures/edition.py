"""The data edition: which files the current figures come from, and the months each dataset covers.

Every page and JSON document built from the warehouse names its edition, so a
reader can tell whether two screenshots were made from the same data.
"""

from __future__ import annotations

import hashlib

import duckdb

from crimeplan.warehouse.coverage import problem_lines, problems


def data_edition(con: duckdb.DuckDBPyConnection) -> dict:
    """The files supplying current figures (name, dataset, edition, sha256, load time) and a short label.

    The label is the date of the latest load and a digest of the files' sha256s:
    the same files give the same label on every machine.
    """
    rows = con.execute(
        """SELECT f.name, string_agg(DISTINCT c.dataset, ', ' ORDER BY c.dataset), f.edition, f.sha256, f.loaded_at,
                  min(c.period) FILTER (WHERE year(c.period) > 1), max(c.period) FILTER (WHERE year(c.period) > 1)
           FROM files f JOIN current_slices c USING (file_id)
           GROUP BY f.name, f.edition, f.sha256, f.loaded_at ORDER BY f.name"""
    ).fetchall()
    files = [
        {"name": name, "dataset": dataset, "edition": edition, "sha256": sha, "loaded_at": f"{loaded:%Y-%m-%dT%H:%M:%SZ}",
         "first_period": f"{first:%Y-%m}" if first else None, "last_period": f"{last:%Y-%m}" if last else None}
        for name, dataset, edition, sha, loaded, first, last in rows
    ]
    digest = hashlib.sha256("".join(sorted(f["sha256"] for f in files)).encode()).hexdigest()[:12]
    loaded = max((f["loaded_at"] for f in files), default=None)
    coverage = [
        {"dataset": d, "first_period": f"{a:%Y-%m}", "last_period": f"{b:%Y-%m}",
         "incomplete": problem_lines(problems(con, d))}
        for d, a, b in con.execute(
            """SELECT dataset, min(period), max(period) FROM current_slices WHERE year(period) > 1
               GROUP BY dataset ORDER BY dataset"""
        ).fetchall()
    ]
    return {
        "label": f"{loaded[:10]} · {digest}" if loaded else "no data loaded",
        "digest": digest,
        "loaded_at": loaded,
        "files": files,
        "coverage": coverage,
        "last_period": max((c["last_period"] for c in coverage), default=None),
    }


__all__ = ["data_edition"]
