"""A warehouse made before record kinds gained columns is brought up to date when opened."""

from __future__ import annotations

from pathlib import Path

from crimeplan.sources.records import RECORD_KINDS
from crimeplan.warehouse import Warehouse

ADDED = {
    "survey_measure": ["period_start", "respondent_group", "answer", "area_alt_code", "value", "unit"],
    "population": ["ethnic_group", "name"],
}


def _columns(wh: Warehouse, table: str) -> list[str]:
    return [c for (c,) in wh.con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position", [table]
    ).fetchall()]


def test_an_older_warehouse_gains_the_new_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    with Warehouse.open(db) as wh:
        for table, columns in ADDED.items():
            for column in columns:
                wh.con.execute(f'ALTER TABLE {table} DROP COLUMN "{column}"')
        wh.con.execute("DROP TABLE force_recorded_crime")
        wh.con.execute(
            "INSERT INTO population VALUES ('geo', 1, 1, 2, 'borough', '', 'E09000012', 'census2021', 'all', 'all', 259151)")
        assert "ethnic_group" not in _columns(wh, "population")
    with Warehouse.open(db) as wh:
        for table in (*ADDED, "force_recorded_crime"):
            assert set(RECORD_KINDS[table].names) <= set(_columns(wh, table)), table
        assert wh.con.execute("SELECT code, persons, ethnic_group, name FROM population").fetchall() == [
            ("E09000012", 259151, None, None)]
        # the views see the new columns
        assert "ethnic_group" in [d[0] for d in wh.con.execute("SELECT * FROM population_current LIMIT 0").description]
