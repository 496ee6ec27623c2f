"""The warehouse schema, in one place.

Bookkeeping tables
------------------
``files``      one row per input loaded (name, sha256, size, edition, loaded at, counts).
``parts``      one row per table-shaped piece of an input (a zip member, a sheet): its
               dataset, encoding and counts read / loaded / rejected.
``member_contents``  each member of a zip or folder input by name, size and CRC-32: a re-zipped
               copy of data already loaded (a new sha256, the same members) is not loaded again.
``slices``     which part supplies which (dataset, series, period). When two editions
               supply the same slice, the newer edition is current (see ``current_slices``).
``rejects``    rows that could not be loaded: file, part, line, field, value, reason.
``revisions``  values that changed when a newer edition replaced a slice.

Record tables
-------------
One per record kind in ``sources/records.py``, each with provenance columns in
front: ``dataset``, ``file_id``, ``part_id``, ``line``. The view
``<table>_current`` keeps only rows of current slices: that is what measures read.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from crimeplan.sources.records import RECORD_KINDS

# 2: survey_measure and population gained columns; force_recorded_crime.
# 3: coverage and field_coverage (derived; rebuilt when an older warehouse is opened).
# 4: derived_area (force -> local authority -> LSOA from data.police.uk) and the area_all view.
# 5: stop_search_point (every search location placed in the loaded LSOAs and wards).
# 6: crime_outcome (data.police.uk crimes linked by Crime ID to their outcomes, for cohorts).
SCHEMA_VERSION = 6

# Whole-dataset slices (reference data) use this period.
WHOLE = "DATE '0001-01-01'"


@dataclass(frozen=True)
class RecordTable:
    """How the warehouse keeps one record kind."""

    name: str
    series: str  # SQL over the table: the edition series a row belongs to
    period: str  # SQL over the table: the period (a DATE) a row belongs to
    # How a slice's values are compared when a newer edition replaces it (None: not tracked).
    revision_area: str | None = None
    revision_category: str | None = None
    revision_value: str | None = None
    # SQL over the table: the area a row is about (for "number of areas" in the status)
    area: str | None = None
    # Coverage (warehouse/coverage.py): SQL for how much a slice holds, and what it counts;
    # None for reference tables, which have no periods.
    volume: str | None = None
    volume_unit: str = "records"
    # Fields a publisher may leave empty: their completeness is kept per series and period.
    optional_fields: tuple[str, ...] = ()


# A survey row's area: neighbourhoods share their borough's code, so they are told apart by name.
_SURVEY_AREA = "CASE WHEN area_level = 'neighbourhood' THEN area_code || ' ' || area_name ELSE area_code END"

RECORD_TABLES: dict[str, RecordTable] = {
    t.name: t
    for t in [
        RecordTable("street_crime", "reported_by", "month", "coalesce(lsoa_code, '')", "coalesce(crime_type, '')", "count(*)",
                    "lsoa_code", "count(*)", "crimes and incidents"),
        RecordTable("outcome", "reported_by", "month", "coalesce(lsoa_code, '')", "coalesce(outcome_type, '')", "count(*)",
                    "lsoa_code", "count(*)", "outcome records"),
        RecordTable("stop_search", "force", "month", "force", "coalesce(object_of_search, '')", "count(*)", "force",
                    "count(*)", "searches",
                    ("outcome", "object_of_search", "outcome_linked_to_object_of_search", "officer_defined_ethnicity",
                     "self_defined_ethnicity", "legislation", "latitude")),
        RecordTable(
            "recorded_crime",
            "area_level || ':' || scheme",
            "month",
            "area_code",
            "major_category || ' / ' || minor_category",
            "sum(count)",
            "area_code",
            "sum(count)",
            "offences",
        ),
        RecordTable(
            "homicide_victim",
            "'victims'",
            "coalesce(month, make_date(year::INTEGER, 1, 1))",
            "coalesce(borough_code, '')",
            "coalesce(offence_type, '')",
            "sum(victims)",
            "borough_code",
            "sum(victims)",
            "victims",
        ),
        RecordTable(
            "london_monthly", "sheet || ':' || series", "month", "'London'", "sheet || ' / ' || series", "sum(value)", "'London'",
            "sum(value)", "(the series' unit)",
        ),
        RecordTable(
            "survey_measure",
            "survey || ':' || area_level",
            "period_end",
            _SURVEY_AREA,
            "measure || coalesce(' / ' || respondent_group, '')",
            "avg(coalesce(proportion, value))",
            _SURVEY_AREA,
            "count(*)",
            "survey estimates",
        ),
        RecordTable("area", "level || ':' || vintage", WHOLE, area="code"),
        RecordTable("area_geometry", "level || ':' || vintage", WHOLE, area="code"),
        RecordTable(
            "area_lookup", "from_level || ':' || from_vintage || '>' || to_level || ':' || to_vintage", WHOLE, area="from_code"
        ),
        RecordTable("population", "level || ':' || vintage || ':' || reference", WHOLE, area="code"),
        RecordTable("harm_weight", "scheme", WHOLE, area="coalesce(force, 'national')"),
        RecordTable(
            "force_recorded_crime", "force", "period_end", "force", "offence", "sum(rolling_12m_offences)", "force",
            "sum(rolling_12m_offences)", "offences in the 12 months to the quarter end",
        ),
    ]
}
assert set(RECORD_TABLES) == set(RECORD_KINDS), "every record kind needs a table"



@dataclass(frozen=True)
class ReferenceCheck:
    """A code in a record that must name a loaded area (checked in SQL after a part is inserted).

    All three are SQL over the record table aliased ``r``. A check applies only
    where ``applies`` holds and the reference itself is loaded (``reference``:
    otherwise codes are checked for form only, and the load says so).
    """

    table: str
    field: str
    applies: str
    known: str
    reason: str
    reference: str


_AREA_KNOWN = "EXISTS (SELECT 1 FROM area_current a WHERE a.level = {level} AND a.vintage = {vintage} AND a.code = r.{code})"
_AREA_LOADED = "EXISTS (SELECT 1 FROM area_current a WHERE a.level = {level} AND a.vintage = {vintage})"
# 'Southwark 012B' -> 'Southwark': data.police.uk LSOA names begin with their borough.
_LSOA_BOROUGH = "regexp_extract(r.lsoa_name, '^(.*) [0-9]{3}[A-Z]$', 1)"

REFERENCE_CHECKS: list[ReferenceCheck] = [
    ReferenceCheck(
        "recorded_crime",
        "area_code",
        "r.area_level IN ('bcu', 'borough', 'ward', 'lsoa')",
        _AREA_KNOWN.format(level="r.area_level", vintage="r.area_vintage", code="area_code"),
        "'unknown ' || r.area_level || ' code ' || r.area_code || ' (not among the loaded '"
        " || trim(r.area_vintage || ' ' || r.area_level) || 's)'",
        _AREA_LOADED.format(level="r.area_level", vintage="r.area_vintage"),
    ),
    ReferenceCheck(
        "survey_measure",
        "area_code",
        "r.area_level IN ('borough', 'neighbourhood')",
        _AREA_KNOWN.format(level="'borough'", vintage="''", code="area_code"),
        "'unknown borough code ' || r.area_code",
        _AREA_LOADED.format(level="'borough'", vintage="''"),
    ),
    ReferenceCheck(
        "homicide_victim",
        "borough_code",
        "r.borough_code NOT LIKE 'MPS-%'",
        _AREA_KNOWN.format(level="'borough'", vintage="''", code="borough_code"),
        "'unknown borough code ' || r.borough_code",
        _AREA_LOADED.format(level="'borough'", vintage="''"),
    ),
] + [
    ReferenceCheck(
        table,
        "lsoa_code",
        f"r.lsoa_code IS NOT NULL AND {_LSOA_BOROUGH} IN (SELECT name FROM area_current WHERE level = 'borough')",
        "r.lsoa_code IN (SELECT code FROM area_current WHERE level = 'lsoa')",
        "'unknown LSOA code ' || r.lsoa_code || ': its name ' || r.lsoa_name"
        " || ' places it in a London borough, but it is not among the loaded London LSOAs (2011 or 2021)'",
        "EXISTS (SELECT 1 FROM area_current a WHERE a.level = 'lsoa')",
    )
    for table in ("street_crime", "outcome")
]

PROVENANCE_COLUMNS = [
    ("dataset", "VARCHAR NOT NULL"),
    ("file_id", "INTEGER NOT NULL"),
    ("part_id", "INTEGER NOT NULL"),
    ("line", "BIGINT"),
]


def duckdb_type(t: pa.DataType) -> str:
    if pa.types.is_string(t):
        return "VARCHAR"
    if pa.types.is_date32(t):
        return "DATE"
    if pa.types.is_float64(t):
        return "DOUBLE"
    if pa.types.is_int64(t):
        return "BIGINT"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    if pa.types.is_binary(t):
        return "BLOB"
    raise TypeError(f"no DuckDB type for {t}")


# data.police.uk Crime IDs are 64 random hex characters: DuckDB's string compression only
# halves them (52 MB instead of 97 MB for the national zip's 1.8 million) yet costs a third
# of the load's storage CPU (0.7 of 2.1 CPU-s, bench/); store them as they are.
STORAGE_HINTS = {
    ("street_crime", "crime_id"): "USING COMPRESSION uncompressed",
    ("outcome", "crime_id"): "USING COMPRESSION uncompressed",
}


def record_table_ddl(name: str) -> str:
    cols = [f"{n} {t}" for n, t in PROVENANCE_COLUMNS]
    cols += [
        f'"{f.name}" {duckdb_type(f.type)} {STORAGE_HINTS.get((name, f.name), "")}'.rstrip()
        for f in RECORD_KINDS[name]
    ]
    return f"CREATE TABLE IF NOT EXISTS {name} (\n  " + ",\n  ".join(cols) + "\n)"


BOOKKEEPING_DDL = [
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS files (
        file_id INTEGER PRIMARY KEY,
        name VARCHAR NOT NULL,          -- the file name as downloaded
        path VARCHAR NOT NULL,          -- where it was loaded from
        kind VARCHAR NOT NULL,          -- file, zip or folder
        sha256 VARCHAR NOT NULL UNIQUE,
        size BIGINT NOT NULL,
        edition VARCHAR NOT NULL,       -- the latest period it covers (YYYY-MM), for ordering editions
        loaded_at TIMESTAMP NOT NULL,
        records_read BIGINT NOT NULL,
        records_loaded BIGINT NOT NULL,
        records_rejected BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS parts (
        file_id INTEGER NOT NULL,
        part_id INTEGER NOT NULL,
        member VARCHAR NOT NULL,        -- name within the input ('' for a plain file)
        dataset VARCHAR NOT NULL,
        record_table VARCHAR NOT NULL,
        encoding VARCHAR NOT NULL,
        records_read BIGINT NOT NULL,
        records_loaded BIGINT NOT NULL,
        records_rejected BIGINT NOT NULL,
        notes VARCHAR,
        PRIMARY KEY (file_id, part_id)
    )""",
    """CREATE TABLE IF NOT EXISTS member_contents (
        file_id INTEGER NOT NULL,
        member VARCHAR NOT NULL,        -- name within the input
        size BIGINT NOT NULL,           -- bytes, uncompressed
        crc32 BIGINT NOT NULL,          -- of the uncompressed bytes (a zip's directory holds it, checked on inflating)
        PRIMARY KEY (file_id, member)
    )""",
    """CREATE TABLE IF NOT EXISTS slices (
        dataset VARCHAR NOT NULL,
        record_table VARCHAR NOT NULL,
        series VARCHAR NOT NULL,
        period DATE NOT NULL,
        file_id INTEGER NOT NULL,
        part_id INTEGER NOT NULL,
        records BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS rejects (
        file_id INTEGER NOT NULL,
        part_id INTEGER NOT NULL,
        dataset VARCHAR NOT NULL,
        line BIGINT,
        field VARCHAR,
        value VARCHAR,
        reason VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS revisions (
        dataset VARCHAR NOT NULL,
        series VARCHAR NOT NULL,
        area VARCHAR NOT NULL,
        category VARCHAR NOT NULL,
        period DATE NOT NULL,
        old_value DOUBLE,               -- null: the newer edition added it
        new_value DOUBLE,               -- null: the newer edition dropped it
        old_file_id INTEGER NOT NULL,
        new_file_id INTEGER NOT NULL
    )""",
]

# The current slice of each (dataset, table, series, period): the one from the newest
# edition, the later-loaded file winning a tie. Ranking files, not parts, keeps every
# part of the winning file (a GeoJSON gives an areas part and a geometries part).
CURRENT_SLICES_VIEW = """
CREATE OR REPLACE VIEW current_slices AS
SELECT s.dataset, s.record_table, s.series, s.period, s.file_id, s.part_id, s.records
FROM slices s JOIN files f USING (file_id)
QUALIFY dense_rank() OVER (
    PARTITION BY s.dataset, s.record_table, s.series, s.period ORDER BY f.edition DESC, f.file_id DESC
) = 1
"""


def slice_key_columns(name: str) -> str:
    """SQL select-list items giving a row's slice: ``_series`` and ``_period``."""
    t = RECORD_TABLES[name]
    return f"coalesce(CAST(({t.series}) AS VARCHAR), '') AS _series, coalesce(CAST(({t.period}) AS DATE), {WHOLE}) AS _period"


def current_view_ddl(name: str) -> str:
    return f"""
CREATE OR REPLACE VIEW {name}_current AS
SELECT r.* EXCLUDE (_series, _period)
FROM (SELECT *, {slice_key_columns(name)} FROM {name}) r
JOIN current_slices c
  ON c.dataset = r.dataset AND c.record_table = '{name}' AND c.file_id = r.file_id AND c.part_id = r.part_id
 AND c.series = r._series AND c.period = r._period
"""


PROVENANCE_VIEW = """
CREATE OR REPLACE VIEW provenance AS
SELECT p.file_id, p.part_id, p.dataset, f.name AS file_name, p.member, f.sha256, f.edition,
       f.loaded_at, p.encoding
FROM parts p JOIN files f USING (file_id)
"""


# --- derived tables ---------------------------------------------------------------------------
# Rebuilt from the current rows after every load that changed something (warehouse/derived.py).
# They hold nothing that is not in the record tables; they make measures fast.

DERIVED_DDL = [
    # Best-fit lookups nobody publishes, computed from the loaded boundaries
    # (LSOA 2011 and 2021 -> ward 2014, for the 629 Met wards of the 2014 plan era).
    """CREATE TABLE IF NOT EXISTS derived_lookup (
        from_level VARCHAR, from_vintage VARCHAR, from_code VARCHAR,
        to_level VARCHAR, to_vintage VARCHAR, to_code VARCHAR,
        method VARCHAR, built_from VARCHAR   -- the file ids of the boundaries used
    )""",
    # Areas nobody publishes as a file, built from the records themselves (derived.py): for any
    # force, data.police.uk's force -> local authority (the stem of the LSOA name every record
    # carries: 'Knowsley 001A') -> LSOA. level 'pfa', 'lad' or 'police_lsoa'; method says how.
    """CREATE TABLE IF NOT EXISTS derived_area (
        level VARCHAR, vintage VARCHAR, code VARCHAR, name VARCHAR,
        parent_level VARCHAR, parent_code VARCHAR, method VARCHAR
    )""",
    # Every unit that data is published for, with every area it lies in (itself included).
    # unit_level/unit_vintage/unit_code as published (a borough, a 2022 ward, a 2011 or
    # 2021 LSOA, an MPS non-geographic unit); level/vintage/code the area it counts towards.
    """CREATE TABLE IF NOT EXISTS area_rollup (
        unit_level VARCHAR, unit_vintage VARCHAR, unit_code VARCHAR,
        level VARCHAR, vintage VARCHAR, code VARCHAR, method VARCHAR
    )""",
    # Every distinct stop-and-search location placed, by point in polygon, in the newest loaded
    # boundaries of each small-area level (LSOA, ward): data.police.uk gives searches coordinates,
    # not areas. placement says how (sources/geography.place_points); code is null outside them.
    # Searches with no coordinates have no row: they are counted by force as 'no location'.
    """CREATE TABLE IF NOT EXISTS stop_search_point (
        longitude DOUBLE, latitude DOUBLE, level VARCHAR, vintage VARCHAR, code VARCHAR,
        placement VARCHAR, searches BIGINT, built_from VARCHAR
    )""",
    # Coverage of every dataset, series and period its span reaches (warehouse/coverage.py):
    # status 'complete', 'partial' (present but implausible: a file that starts or ends
    # mid-stream) or 'absent' (no file supplies it), with the evidence and the reason.
    """CREATE TABLE IF NOT EXISTS coverage (
        dataset VARCHAR, record_table VARCHAR, series VARCHAR, period DATE,
        granularity VARCHAR,            -- month, quarter or year
        status VARCHAR,                 -- complete, partial, absent
        records DOUBLE,                 -- the slice's volume (offences, searches...); null when absent
        reference DOUBLE,               -- the median volume of the periods around it
        z DOUBLE,                       -- robust z-score against them (stats/robust_z.py)
        unit VARCHAR, reason VARCHAR
    )""",
    # Completeness of the fields a publisher may leave empty, per dataset, series and period.
    """CREATE TABLE IF NOT EXISTS field_coverage (
        dataset VARCHAR, record_table VARCHAR, series VARCHAR, period DATE, field VARCHAR,
        records BIGINT, recorded BIGINT,
        status VARCHAR,                 -- recorded, not recorded
        reason VARCHAR
    )""",
    # Monthly counts of the count-shaped record tables, one row per dataset, variant
    # (category scheme, or the reporting force), unit, category and month.
    """CREATE TABLE IF NOT EXISTS monthly_counts (
        dataset VARCHAR, variant VARCHAR,
        unit_level VARCHAR, unit_vintage VARCHAR, unit_code VARCHAR,
        major VARCHAR, category VARCHAR, month DATE, count BIGINT
    )""",
    # Crime cohorts of the forces that publish outcomes files: each street-level crime with a
    # Crime ID once (outcome_type NULL: the cohort's denominator), and each type of outcome it
    # reached, with the months from the crime's month to the first outcome of that type.
    """CREATE TABLE IF NOT EXISTS crime_outcome (
        reported_by VARCHAR, crime_type VARCHAR, month DATE,
        unit_level VARCHAR, unit_vintage VARCHAR, unit_code VARCHAR,
        crime_id VARCHAR, outcome_type VARCHAR, lag_months INTEGER
    )""",
]


def added_column_ddl(existing: dict[str, set[str]]) -> list[str]:
    """ALTER statements giving a warehouse made by an earlier version the record columns added since.

    ``existing`` maps each record table to the columns it has. New columns are
    nullable, so the rows already loaded stay as they were (null where the column
    did not exist); the ``_current`` views pick the columns up by themselves.
    """
    return [
        f'ALTER TABLE {name} ADD COLUMN "{f.name}" {duckdb_type(f.type)}'
        for name in RECORD_TABLES
        for f in RECORD_KINDS[name]
        if name in existing and f.name not in existing[name]
    ]


# Every area a geography can name: the published ones and the derived ones.
AREA_ALL_VIEW = """
CREATE OR REPLACE VIEW area_all AS
SELECT level, vintage, code, name, parent_level, parent_code FROM area_current
UNION ALL
SELECT level, vintage, code, name, parent_level, parent_code FROM derived_area
"""


def all_ddl() -> list[str]:
    """Every statement that creates the schema; safe to run on an existing warehouse."""
    ddl = list(BOOKKEEPING_DDL)
    ddl += [record_table_ddl(name) for name in RECORD_TABLES]
    ddl.append(CURRENT_SLICES_VIEW)
    ddl += [current_view_ddl(name) for name in RECORD_TABLES]
    ddl.append(PROVENANCE_VIEW)
    ddl += DERIVED_DDL
    ddl.append(AREA_ALL_VIEW)
    return ddl
