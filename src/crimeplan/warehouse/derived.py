"""Derived tables: rebuilt from the current rows after a load, so that measures are fast.

- ``derived_lookup``: best-fit LSOA 2011/2021 → ward 2014 from the loaded
  boundaries (nobody publishes it; the 629 Met wards of 2014 are the plan
  era's ward geography). Recomputed only when the boundary files change.
- ``area_rollup``: every published unit (borough, 2022 ward, 2011/2021 LSOA,
  MPS non-geographic unit) with every area it counts towards, itself included:
  LSOA → ward 2022 (ONS best fit, published) and ward 2014 (derived best fit)
  → borough → BCU → London.
- ``derived_area``: data.police.uk's own geography for any force: force ->
  local authority (the stem of the LSOA name) -> LSOA.
- ``stop_search_point``: every distinct stop-and-search location placed in the
  newest loaded LSOA and ward boundaries by point in polygon, once per load
  (searches carry coordinates, not areas).
- ``monthly_counts``: recorded crime, street crime and outcomes summed by
  dataset, variant (category scheme or reporting force), unit, category and
  month. data.police.uk records with no location are summed by force (unit
  level 'force').
- ``crime_outcome``: data.police.uk crimes of the forces that publish outcomes,
  each linked by Crime ID to the outcomes it reached and when (crime cohorts).
- ``coverage`` and ``field_coverage``: complete, partial or absent, per dataset,
  series and period, and the fields left empty (``coverage.py``).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from crimeplan.sources.geography import BEST_FIT_BY_GEOMETRY, best_fit_lookup, place_points
from crimeplan.sources.london import LONDON_CODE
from crimeplan.warehouse import coverage


GEOGRAPHY_TABLES = {"area", "area_geometry", "area_lookup"}
COUNTED_TABLES = {"recorded_crime", "street_crime", "outcome"}


def refresh(con: duckdb.DuckDBPyConnection, changed: dict[str, set[str]] | None = None) -> None:
    """Bring the derived tables up to date with the current rows, in one transaction.

    ``changed`` maps each record table a load changed to the datasets it changed
    (None: rebuild everything). New boundaries change how every unit rolls up, so
    they rebuild everything; otherwise only the changed datasets' monthly counts
    are redone (a file of crime data costs its own aggregation, not the
    warehouse's).
    """
    everything = changed is None or bool(GEOGRAPHY_TABLES & set(changed))
    con.execute("BEGIN TRANSACTION")
    try:
        if everything:
            _refresh_derived_lookups(con)
        if everything or {"street_crime", "population"} & set(changed):  # data.police.uk's own geography
            _refresh_police_geography(con)
        if everything or {"recorded_crime", "homicide_victim", "street_crime", "population"} & set(changed):
            _refresh_area_rollup(con)  # MPS units, and the derived force geography
        if everything or "stop_search" in changed:
            refresh_stop_search_points(con)
        if everything:
            _refresh_monthly_counts(con, None)
        else:
            datasets = sorted({d for table in COUNTED_TABLES & set(changed) for d in changed[table]})
            if datasets:
                _refresh_monthly_counts(con, datasets)
        if everything or {"street_crime", "outcome"} & set(changed):
            _refresh_crime_outcome(con)
        coverage.refresh(con, None if everything else sorted({d for ds in changed.values() for d in ds}))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _refresh_derived_lookups(con: duckdb.DuckDBPyConnection) -> None:
    built_from = con.execute(
        """SELECT string_agg(DISTINCT file_id::VARCHAR, ',' ORDER BY file_id::VARCHAR) FROM area_geometry_current
           WHERE (level = 'lsoa') OR (level = 'ward' AND vintage = '2014')"""
    ).fetchone()[0]
    previous = con.execute("SELECT any_value(built_from) FROM derived_lookup").fetchone()[0]
    if built_from == previous:
        return
    con.execute("DELETE FROM derived_lookup")
    wards = con.execute(
        "SELECT code, geometry_wkb FROM area_geometry_current WHERE level = 'ward' AND vintage = '2014' ORDER BY code"
    ).fetchall()
    if not wards:
        return
    ward_codes, ward_shapes = [c for c, _ in wards], [g for _, g in wards]
    for vintage in ("2011", "2021"):
        lsoas = con.execute(
            "SELECT code, geometry_wkb FROM area_geometry_current WHERE level = 'lsoa' AND vintage = ? ORDER BY code",
            [vintage],
        ).fetchall()
        if not lsoas:
            continue
        pairs = best_fit_lookup([c for c, _ in lsoas], [g for _, g in lsoas], ward_codes, ward_shapes)
        con.executemany(
            "INSERT INTO derived_lookup VALUES ('lsoa', ?, ?, 'ward', '2014', ?, ?, ?)",
            [(vintage, lsoa, ward, BEST_FIT_BY_GEOMETRY, built_from) for lsoa, ward in pairs],
        )


PLACED_LEVELS = ("lsoa", "ward")  # searches are placed in these; they roll up to boroughs and above


def refresh_stop_search_points(con: duckdb.DuckDBPyConnection) -> None:
    """Place every distinct search location in the newest loaded boundaries of each level of PLACED_LEVELS.

    Locations are few (data.police.uk snaps them to points on streets: 62,000 for the Met's
    1.07 million searches), so each is placed once, whatever number of searches it holds.
    """
    con.execute("DELETE FROM stop_search_point")
    points = con.execute(
        """SELECT longitude, latitude, count(*) FROM stop_search_current
           WHERE longitude IS NOT NULL AND latitude IS NOT NULL GROUP BY ALL ORDER BY ALL"""
    ).fetchnumpy()
    if len(points["longitude"]) == 0:
        return
    for level in PLACED_LEVELS:
        newest = con.execute(
            "SELECT max(vintage) FROM area_geometry_current WHERE level = ?", [level]
        ).fetchone()[0]
        if newest is None:
            continue
        shapes = con.execute(
            """SELECT code, geometry_wkb, file_id FROM area_geometry_current
               WHERE level = ? AND vintage = ? AND geometry_wkb IS NOT NULL ORDER BY code""", [level, newest]
        ).fetchall()
        codes, placement = place_points(points["longitude"], points["latitude"], [c for c, _, _ in shapes],
                                        [g for _, g, _ in shapes])
        built_from = ",".join(sorted({str(f) for _, _, f in shapes}))
        table = pa.table({
            "longitude": points["longitude"], "latitude": points["latitude"],
            "level": pa.array([level] * len(codes)), "vintage": pa.array([newest] * len(codes)),
            "code": pa.array(codes, pa.string()), "placement": pa.array(placement, pa.string()),
            "searches": points[next(k for k in points if k.startswith("count"))],
            "built_from": pa.array([built_from] * len(codes)),
        })
        con.register("_placed", table)
        try:
            con.execute("INSERT INTO stop_search_point SELECT * FROM _placed")
        finally:
            con.unregister("_placed")


# data.police.uk LSOA names begin with their local authority: 'Knowsley 001A'.
_LA_OF_NAME = "regexp_extract({name}, '^(.*) [0-9]{{3}}[A-Z]$', 1)"
_SLUG = "trim(regexp_replace(lower({x}), '[^a-z0-9]+', '-', 'g'), '-')"
# 'Merseyside Police' -> 'merseyside', 'Devon & Cornwall Police' -> 'devon-and-cornwall': data.police.uk's force ids.
_FORCE_SLUG = _SLUG.format(x="regexp_replace(replace({f}, '&', 'and'), ' (Police Service|Constabulary|Police)$', '')")
TRANSPORT_POLICE = "British Transport Police"  # polices the railways everywhere: no local authority is its


MIN_SHARE_OF_LSOAS = 0.5  # a force holds a local authority only where it records crime in most of its LSOAs


def _refresh_police_geography(con: duckdb.DuckDBPyConnection) -> None:
    """Force -> local authority -> LSOA for every force in the street records (``derived_area``).

    Each LSOA goes to the territorial force with most street records in it (a force
    records a few crimes over its border). A local authority goes to the force holding
    most of its LSOAs, and only when that force holds at least half of them: its LSOAs
    are those the Census 2021 file (TS021) and the records name with it, so a force
    missing from the loaded data (no Greater Manchester records) leaves its local
    authorities unassigned instead of handing them to a neighbour with a few border
    crimes. Census 2021 LSOAs of an assigned local authority with no record are added.
    An LSOA's name, and so its local authority, is its latest (names follow boundary
    changes: 'South Bucks 003A' became 'Buckinghamshire 059A'). LSOA codes of 2011 and
    2021 sit in one set: most are the same LSOA in both.
    """
    con.execute("DELETE FROM derived_area")
    force_slug = _FORCE_SLUG.format(f="force")
    con.execute(
        f"""INSERT INTO derived_area
        WITH rec AS (
            SELECT lsoa_code AS code, reported_by AS force, count(*) AS n, max(month) AS last, arg_max(lsoa_name, month) AS name
            FROM street_crime_current
            WHERE lsoa_code IS NOT NULL AND lsoa_name IS NOT NULL AND reported_by <> '{TRANSPORT_POLICE}'
            GROUP BY lsoa_code, reported_by),
        census AS (SELECT code, min(name) AS name FROM population_current
                   WHERE level = 'lsoa' AND name IS NOT NULL AND ethnic_group IS NULL GROUP BY code),
        named AS (  -- every LSOA code with its latest name: the Census's (2021), else the latest record's
            SELECT code, coalesce(any_value(c.name), arg_max(r.name, r.last)) AS name
            FROM (SELECT code FROM rec UNION SELECT code FROM census) codes
            LEFT JOIN census c USING (code) LEFT JOIN rec r USING (code) GROUP BY code),
        lsoa AS (SELECT n.code, n.name, {_LA_OF_NAME.format(name="n.name")} AS la, f.force
                 FROM named n LEFT JOIN (SELECT code, force FROM rec
                                         QUALIFY row_number() OVER (PARTITION BY code ORDER BY n DESC, force) = 1) f USING (code)),
        las AS (SELECT la, force FROM (
                    SELECT la, force, count(*) AS held, sum(count(*)) OVER (PARTITION BY la) AS lsoas
                    FROM lsoa WHERE la <> '' GROUP BY la, force)
                WHERE force IS NOT NULL AND held >= {MIN_SHARE_OF_LSOAS} * lsoas
                QUALIFY row_number() OVER (PARTITION BY la ORDER BY held DESC, force) = 1)
        SELECT 'pfa', '', {force_slug}, force, NULL, NULL, 'data.police.uk force' FROM (SELECT DISTINCT force FROM las)
        UNION ALL
        SELECT 'lad', '', 'la-' || {_SLUG.format(x="la")}, la, 'pfa', {force_slug}, 'LSOA name stem' FROM las
        UNION ALL
        SELECT 'police_lsoa', '', l.code, l.name, 'lad', 'la-' || {_SLUG.format(x="l.la")},
               CASE WHEN l.force IS NULL THEN 'Census 2021 LSOA with no record' ELSE 'data.police.uk LSOA' END
        FROM lsoa l JOIN las USING (la)"""
    )


def _refresh_area_rollup(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DELETE FROM area_rollup")
    # Areas and their ancestors: borough -> bcu -> london, ward -> borough.
    con.execute(
        """INSERT INTO area_rollup
        WITH RECURSIVE up(unit_level, unit_vintage, unit_code, level, vintage, code, parent_level, parent_code) AS (
            SELECT level, vintage, code, level, vintage, code, parent_level, parent_code
            FROM area_current WHERE level IN ('london', 'bcu', 'borough', 'ward')
            UNION ALL
            SELECT up.unit_level, up.unit_vintage, up.unit_code, a.level, a.vintage, a.code, a.parent_level, a.parent_code
            FROM up JOIN area_current a ON a.level = up.parent_level AND a.code = up.parent_code
             AND a.level IN ('london', 'bcu', 'borough')
        )
        SELECT DISTINCT unit_level, unit_vintage, unit_code, level, vintage, code, 'published hierarchy' FROM up"""
    )
    # LSOAs: themselves, their borough and above, their 2022 ward (published best fit)
    # and their 2014 ward (derived best fit).
    con.execute(
        """INSERT INTO area_rollup
        SELECT l.level, l.vintage, l.code, r.level, r.vintage, r.code, 'published hierarchy'
        FROM area_current l JOIN area_rollup r
          ON r.unit_level = 'borough' AND r.unit_code = l.parent_code
        WHERE l.level = 'lsoa'
        UNION ALL
        SELECT level, vintage, code, level, vintage, code, 'itself' FROM area_current WHERE level = 'lsoa'
        UNION ALL
        SELECT from_level, from_vintage, from_code, to_level, to_vintage, to_code, method
        FROM area_lookup_current WHERE from_level = 'lsoa' AND to_level = 'ward'
        UNION ALL
        SELECT from_level, from_vintage, from_code, to_level, to_vintage, to_code, method
        FROM derived_lookup"""
    )
    # The derived force geography: each derived area to itself and up (LSOA -> local authority
    # -> force); data.police.uk's LSOA units of either vintage to their LSOA; records with no
    # location ('force' units) to their force.
    con.execute(
        """INSERT INTO area_rollup
        WITH RECURSIVE up(level, code, to_level, to_code, parent_level, parent_code) AS (
            SELECT level, code, level, code, parent_level, parent_code FROM derived_area
            UNION ALL
            SELECT up.level, up.code, d.level, d.code, d.parent_level, d.parent_code
            FROM up JOIN derived_area d ON d.level = up.parent_level AND d.code = up.parent_code
        )
        SELECT level, '', code, to_level, '', to_code, 'derived hierarchy' FROM up
        UNION ALL
        SELECT 'lsoa', v.vintage, up.code, up.to_level, '', up.to_code, 'derived hierarchy'
        FROM up, (VALUES ('2011'), ('2021')) v(vintage) WHERE up.level = 'police_lsoa'
        UNION ALL
        SELECT DISTINCT 'force', '', s.reported_by, 'pfa', '', d.code, 'records with no location'
        FROM (SELECT DISTINCT reported_by FROM street_crime_current WHERE lsoa_code IS NULL) s
        JOIN derived_area d ON d.level = 'pfa' AND d.name = s.reported_by"""
    )
    # MPS non-geographic units (airports, 'Unknown') count towards London only.
    con.execute(
        f"""INSERT INTO area_rollup
        SELECT DISTINCT 'unit', '', code, 'london', '', '{LONDON_CODE}', 'MPS unit'
        FROM (SELECT area_code AS code FROM recorded_crime_current WHERE area_level = 'unit'
              UNION SELECT borough_code FROM homicide_victim_current WHERE borough_code LIKE 'MPS-%')"""
    )


def _refresh_monthly_counts(con: duckdb.DuckDBPyConnection, datasets: list[str] | None) -> None:
    """Recount ``datasets`` (None: all) into monthly_counts."""
    only = "TRUE" if datasets is None else "list_contains($datasets, dataset)"
    params = {} if datasets is None else {"datasets": datasets}
    con.execute(f"DELETE FROM monthly_counts WHERE {only}", params)
    con.execute(
        f"""INSERT INTO monthly_counts
        SELECT dataset, scheme, area_level, area_vintage, area_code, major_category, minor_category, month, sum(count)
        FROM recorded_crime_current WHERE {only} GROUP BY ALL""",
        params,
    )
    for table, category in (("street_crime", "crime_type"), ("outcome", "outcome_type")):
        con.execute(
            f"""INSERT INTO monthly_counts
            SELECT dataset, reported_by, unit_level, unit_vintage, unit_code, NULL, {category}, month, count(*)
            FROM ({_police_units(f"SELECT * FROM {table}_current WHERE {only}")})
            GROUP BY ALL""",
            params,
        )


def _police_units(records: str) -> str:
    """``records`` (data.police.uk rows) each with the unit it is counted in: unit_level, unit_vintage, unit_code.

    data.police.uk LSOA codes are 2011 codes until 2023 and 2021 codes after; most codes
    are in both sets (unchanged LSOAs), which roll up identically either way. Every record
    keeps its LSOA (London's roll up to wards and boroughs, every force's to its local
    authority and force); records with no location are kept by force.
    """
    return f"""SELECT r.*, CASE WHEN r.lsoa_code IS NULL THEN 'force' ELSE 'lsoa' END AS unit_level,
                   CASE WHEN r.lsoa_code IS NULL THEN ''
                        ELSE coalesce(v.vintage, CASE WHEN r.month < DATE '2023-01-01' THEN '2011' ELSE '2021' END)
                   END AS unit_vintage,
                   coalesce(r.lsoa_code, r.reported_by) AS unit_code
            FROM ({records}) r
            LEFT JOIN (SELECT code, CASE WHEN count(*) = 2 THEN 'both' ELSE any_value(vintage) END AS vintage
                       FROM area_current WHERE level = 'lsoa' GROUP BY code) v0 ON v0.code = r.lsoa_code
            LEFT JOIN (SELECT code, vintage FROM area_current WHERE level = 'lsoa') v
              ON v.code = r.lsoa_code
             AND v.vintage = CASE WHEN v0.vintage <> 'both' THEN v0.vintage
                                  WHEN r.month < DATE '2023-01-01' THEN '2011' ELSE '2021' END"""


def _refresh_crime_outcome(con: duckdb.DuckDBPyConnection) -> None:
    """Link each street-level crime of a force publishing outcomes to its outcomes, by Crime ID (``crime_outcome``).

    A crime listed twice (data.police.uk repeats some rows, same Crime ID and month) counts
    once, in its first month. An outcome's lag is whole calendar months from the crime's
    month to the month the outcome was recorded: what a cohort's follow-up is counted in.
    """
    con.execute("DELETE FROM crime_outcome")
    crimes = _police_units(
        """SELECT * FROM street_crime_current
           WHERE crime_id IS NOT NULL AND reported_by IN (SELECT DISTINCT reported_by FROM outcome_current)""")
    con.execute(
        f"""INSERT INTO crime_outcome
        WITH crimes AS (
            SELECT reported_by, crime_type, month, unit_level, unit_vintage, unit_code, crime_id FROM ({crimes})
            QUALIFY row_number() OVER (PARTITION BY reported_by, crime_id ORDER BY month, unit_code) = 1)
        SELECT c.*, NULL, NULL FROM crimes c
        UNION ALL
        SELECT c.*, o.outcome_type, min(date_diff('month', c.month, o.month))
        FROM crimes c JOIN outcome_current o ON o.crime_id = c.crime_id AND o.reported_by = c.reported_by
        WHERE o.outcome_type IS NOT NULL AND o.month IS NOT NULL
        GROUP BY ALL"""
    )
