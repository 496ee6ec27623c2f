"""Acceptance on the real files: exact counts, both PAS exports, both category schemes, idempotence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from crimeplan.cli import app
from crimeplan.warehouse import Warehouse

runner = CliRunner()

EXPECTED_FILE_RECORDS = {
    ("police_uk_street", "national-street-2018-10_2019-02.zip"): 1_771_502,
    ("police_uk_street", "city-of-london-and-merseyside-street-2018-01_2021-09.zip"): 655_883,
    ("police_uk_street", "metropolitan-burglary-extract-2018-01_2025-02.zip"): 444_893,
    ("police_uk_outcomes", "metropolitan-burglary-extract-2018-01_2025-02.zip"): 115_449,
    ("police_uk_stop_search", "metropolitan-stop-and-search-2015-04_2024-08-partial.zip"): 1_069_661,
    ("police_uk_stop_search", "city-of-london-stop-and-search-2017-12_2020-11.zip"): 6_855,
    ("mopac_pas_borough", "MOPAC PAS trust and confidence dashboard Borough sheet 2014-12_2023-12.csv"): 9_312,
    ("mopac_pas_borough", "MOPAC PAS trust and confidence dashboard Borough sheet (second export, comma separated).csv"): 9_312,
    ("population_lsoa21_ethnic_group_2021", "census2021-ts021-lsoa.csv"): 35_672,
    ("mopac_pas_quarterly", "MOPAC PAS public perception MPS quarterly 2014-12_2025-09.csv"): 280,
    ("mps_force_strength", "MPS police force strength 2013-05_2026-03.csv"): 155,
    ("mopac_pas_neighbourhood_ethnic_group",
     "2015-16 _to_2020-21_inclusive_neighbourhood_indicators_final_221221.csv"): 112,
    ("mopac_pas_neighbourhood_2016", "MOPAC PAS neighbourhood perceptions 2016.csv"): 106,
    ("home_office_pfa_crime", "rec-crime-pfa.csv"): 46_469,
}


def status_json(db: Path) -> dict:
    result = runner.invoke(app, ["status", "--db", str(db), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_status_reports_the_exact_record_counts(loaded_db: Path) -> None:
    status = status_json(loaded_db)
    files = {(d["dataset"], f["name"]): f for d in status["datasets"] for f in d["files"]}
    for key, expected in EXPECTED_FILE_RECORDS.items():
        f = files[key]
        assert f["read"] == expected, key
        assert f["read"] == f["loaded"] + f["rejected"], key
    for d in status["datasets"]:
        assert d["read"] == d["loaded"] + d["rejected"], d["dataset"]
        assert d["read"] == sum(f["read"] for f in d["files"])
    # every dataset of the shared data is there
    datasets = {d["dataset"] for d in status["datasets"]}
    assert len(datasets) == 33 and "mps_lsoa_crime" not in datasets


def test_every_file_of_the_shared_data_loads_without_rejects(loaded: Warehouse) -> None:
    rows = loaded.con.execute("SELECT name, records_read, records_rejected FROM files ORDER BY name").fetchall()
    assert len(rows) == 38
    assert [r for r in rows if r[2]] == []  # the official files are clean under a correct parser
    assert loaded.con.execute("SELECT count(*) FROM parts WHERE notes LIKE '%form only%'").fetchone()[0] == 0


def test_the_two_pas_exports_load_to_identical_values(loaded: Warehouse) -> None:
    values = loaded.con.execute(
        """SELECT f.name, list(row(area_code, measure, period_end, proportion, london_proportion)
                               ORDER BY area_code, measure, period_end)
           FROM survey_measure s JOIN files f USING (file_id)
           WHERE s.dataset = 'mopac_pas_borough' GROUP BY f.name"""
    ).fetchall()
    assert len(values) == 2
    (name_a, a), (name_b, b) = values
    assert len(a) == 9_312 and a == b
    # the later export replaced the earlier one's quarters and no value changed
    assert loaded.con.execute("SELECT count(*) FROM revisions WHERE dataset = 'mopac_pas_borough'").fetchone()[0] == 0
    # 32 boroughs, Richmond's two spellings and "City of Westminster" resolved to GSS codes
    codes = {r[0] for r in a}
    assert len(codes) == 32 and "E09000027" in codes and "E09000033" in codes


def test_both_borough_history_schemes_load(loaded: Warehouse) -> None:
    spans = dict(
        (scheme, (str(first), str(last)))
        for scheme, first, last in loaded.con.execute(
            """SELECT scheme, min(month), max(month) FROM recorded_crime_current
               WHERE dataset = 'mps_borough_crime' GROUP BY scheme"""
        ).fetchall()
    )
    assert spans == {"old": ("2010-04-01", "2024-01-01"), "new": ("2010-04-01", "2023-09-01")}
    # the historical file and the 24-month file of the old scheme meet without overlap
    assert loaded.con.execute(
        """SELECT count(DISTINCT month) FROM recorded_crime_current
           WHERE dataset = 'mps_borough_crime' AND scheme = 'old'"""
    ).fetchone()[0] == 166


def test_ward_counts_roll_up_to_boroughs_and_london(loaded: Warehouse) -> None:
    """Monthly London totals of the ward file equal the sum over boroughs, which equal the sum over wards."""
    rows = loaded.con.execute(
        """WITH w AS (
               SELECT r.month, a.parent_code AS borough, sum(r.count) AS n
               FROM recorded_crime_current r
               JOIN area_current a ON a.level = 'ward' AND a.vintage = r.area_vintage AND a.code = r.area_code
               WHERE r.dataset = 'mps_ward_crime' GROUP BY ALL)
           SELECT month, sum(n), (SELECT sum(count) FROM recorded_crime_current x
                                   WHERE x.dataset = 'mps_ward_crime' AND x.month = w.month), count(DISTINCT borough)
           FROM w GROUP BY month ORDER BY month"""
    ).fetchall()
    assert len(rows) == 25
    for month, boroughs_sum, london, n_boroughs in rows:
        assert boroughs_sum == london, month
        assert n_boroughs == 32  # every Met borough, no ward without one


def test_loading_everything_twice_changes_nothing(loaded_db: Path, data_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "again.duckdb"
    shutil.copy(loaded_db, copy)
    before = status_json(copy)
    result = runner.invoke(app, ["load", str(data_dir), "--db", str(copy), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {f["status"] for f in report["files"]} == {"unchanged"}
    after = status_json(copy)
    assert after == before


def test_status_of_the_quarterly_and_pooled_datasets(loaded_db: Path) -> None:
    status = {d["dataset"]: d for d in status_json(loaded_db)["datasets"]}
    home_office = status["home_office_pfa_crime"]
    assert (home_office["first_period"], home_office["last_period"], home_office["periods"]) == ("2003-03", "2018-12", 52)
    # year ends to March until 2006, then every quarter: the gaps are quarters, not months
    assert home_office["missing_periods"] == [f"{y}-{m}" for y in (2003, 2004, 2005, 2006) for m in ("06", "09", "12")]
    assert home_office["areas"] == 47
    pas = status["mopac_pas_quarterly"]
    assert (pas["first_period"], pas["last_period"], pas["periods"], pas["missing_periods"]) == ("2014-12", "2025-09", 44, [])
    strength = status["mps_force_strength"]
    assert (strength["periods"], strength["missing_periods"], strength["current_records"]) == (155, [], 465)
    assert status["mopac_pas_neighbourhood_ethnic_group"]["areas"] == 112  # neighbourhoods, not their 32 boroughs
    assert status["mopac_pas_neighbourhood_2016"]["areas"] == 106
    assert status["population_lsoa21_ethnic_group_2021"]["areas"] == 35_672


def test_the_ethnic_group_table_leaves_the_populations_measures_use_unchanged(loaded: Warehouse) -> None:
    from crimeplan.measures import Engine

    engine = Engine(loaded.con)
    lsoa = dict(zip(engine.compiler.areas("lsoa"), engine.population("lsoa")))
    # london_lsoa21_population_census2021.csv line 2: E01000001 1473 (TS021 gives 1474 after perturbation)
    assert lsoa["E01000001"] == 1473
    london = engine.population("london")
    assert london.tolist() == [8_799_631]  # the 33 borough figures of london_borough_population_census2021.csv
    ts021 = loaded.con.execute(
        """SELECT count(*), sum(persons) FROM population_current p
           WHERE reference = 'census2021-ts021' AND ethnic_group IS NULL
             AND code IN (SELECT code FROM area_current WHERE level = 'lsoa' AND vintage = '2021')"""
    ).fetchone()
    assert ts021 == (4_994, 8_799_810)


def test_neighbourhood_rows_are_checked_against_the_loaded_boroughs(loaded: Warehouse) -> None:
    notes = loaded.con.execute(
        """SELECT count(*) FROM parts WHERE dataset LIKE 'mopac_pas_neighbourhood%' AND notes LIKE '%form only%'"""
    ).fetchone()[0]
    assert notes == 0
    codes = loaded.con.execute(
        """SELECT count(DISTINCT area_code) FROM survey_measure_current
           WHERE area_level = 'neighbourhood' AND area_code IN (SELECT code FROM area_current WHERE level = 'borough')"""
    ).fetchone()[0]
    assert codes == 32
