"""No figure from incomplete data: the coverage model and the one rule every figure obeys.

Each rule has a test that fails when the rule is removed: the robust z-score
rule (and its two guards), absent series inside a file's span, fields left
empty, outcome records too few for their crimes, and the property that no
verdict is ever given where a month of the period or baseline is incomplete.
"""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pytest

from crimeplan.measures import Engine
from crimeplan.measures.engine import _default_label
from crimeplan.measures.periods import month_index, month_of
from crimeplan.stats.robust_z import implausible
from crimeplan.warehouse.coverage import _assess_series


# --- the rule on a series' totals (stats/robust_z.py) -----------------------------------------


def test_a_month_far_below_its_neighbours_is_flagged_low() -> None:
    # median 100, MAD 0: the Poisson floor √100 = 10 gives z = (40 − 100) / 10 = −6 < −3.5, and 40 < 50.
    flags = implausible([100] * 6 + [40] + [100] * 6)
    assert [f.flag for f in flags] == [""] * 6 + ["low"] + [""] * 6
    assert flags[6].reference == 100 and flags[6].z == pytest.approx(-6.0)


def test_a_genuine_fall_of_a_third_is_not_incomplete() -> None:
    # 60 against 100 is z = −4 but not below half the median: a lockdown month, not a partial file.
    assert [f.flag for f in implausible([100] * 6 + [60] + [100] * 6)] == [""] * 13


def test_small_counts_vary_by_chance_and_are_not_flagged() -> None:
    # Ten homicides a month: 3 is below half the median (10.5) but within Poisson noise (z = −2.3).
    flags = implausible([10, 12, 9, 11, 3, 10, 12, 11, 9])
    assert flags[4].flag == "" and flags[4].z == pytest.approx((3 - 10.5) / 10.5 ** 0.5)


def test_implausibly_high_needs_three_times_the_median() -> None:
    assert implausible([100] * 6 + [350] + [100] * 6)[6].flag == "high"
    assert implausible([100] * 6 + [250] + [100] * 6)[6].flag == ""


def test_too_few_neighbours_gives_no_judgement() -> None:
    assert [f.flag for f in implausible([100, 100, 1])] == ["", "", ""]


# --- the coverage of one series -----------------------------------------------------------------


def test_a_series_missing_from_part_of_its_files_span_is_absent() -> None:
    # A file spans 2018-10 to 2019-02; this force has only 2018-11 on.
    points = [(date(2018, m, 1), 100.0) for m in (11, 12)] + [(date(2019, m, 1), 100.0) for m in (1, 2)]
    rows = _assess_series("police_uk_street", "street_crime", "Lancashire Constabulary", points,
                          [("national.zip", date(2018, 10, 1), date(2019, 2, 1))], "crimes")
    first = rows[0]
    assert first[3] == date(2018, 10, 1) and first[5] == "absent"
    assert "national.zip spans it but holds no Lancashire Constabulary" in first[10]
    assert [r[5] for r in rows[1:]] == ["complete"] * 4


def test_quarterly_and_yearly_series_keep_their_own_grid() -> None:
    quarters = [(date(2015, 3, 31), 8.0), (date(2015, 6, 30), 8.0), (date(2015, 12, 31), 8.0)]
    rows = _assess_series("mopac_pas_london", "survey_measure", "PAS:london", quarters, [], "estimates")
    assert [(r[3], r[4], r[5]) for r in rows] == [
        (date(2015, 3, 31), "quarter", "complete"), (date(2015, 6, 30), "quarter", "complete"),
        (date(2015, 9, 30), "quarter", "absent"), (date(2015, 12, 31), "quarter", "complete"),
    ]
    years = [(date(y, 1, 1), 130.0) for y in range(2010, 2023)] + [(date(2023, 1, 1), 22.0)]
    rows = _assess_series("homicide_victims_processed", "homicide_victim", "victims", years, [], "victims")
    assert rows[-1][4] == "year" and rows[-1][5] == "partial"
    assert rows[-1][10] == "implausibly low: 22 victims against a median of 130 in the years around it"


# --- the real data ------------------------------------------------------------------------------


def _coverage(loaded, dataset: str, series: str, period: str) -> tuple:
    return loaded.con.execute(
        "SELECT status, records, reason FROM coverage WHERE dataset = ? AND series = ? AND strftime(period, '%Y-%m') = ?",
        [dataset, series, period],
    ).fetchone()


def test_the_real_gaps_and_partial_months_are_found(loaded) -> None:
    status, records, reason = _coverage(loaded, "mps_ward_crime", "ward:new", "2024-03")
    assert (status, records) == ("partial", 47) and "47 offences against a median of" in reason
    assert _coverage(loaded, "mps_ward_crime", "ward:new", "2024-04")[0] == "complete"
    assert _coverage(loaded, "homicide_victims_processed", "victims", "2023-01")[:2] == ("partial", 22)
    assert _coverage(loaded, "police_uk_stop_search", "metropolitan", "2022-12")[:2] == ("partial", 5706)
    for force in ("Lancashire Constabulary", "Northumbria Police"):
        status, _, reason = _coverage(loaded, "police_uk_street", force, "2018-10")
        assert status == "absent" and "national-street-2018-10_2019-02.zip" in reason
    assert _coverage(loaded, "police_uk_street", "Merseyside Police", "2019-07")[0] == "absent"
    absent = loaded.con.execute(
        """SELECT list(strftime(period, '%Y-%m') ORDER BY period) FROM coverage
           WHERE dataset = 'police_uk_stop_search' AND series = 'metropolitan' AND status = 'absent'"""
    ).fetchone()[0]
    assert len(absent) == 28 and absent[0] == "2019-03" and absent[-2] == "2021-05" and absent[-1] == "2022-01"
    unrecorded = loaded.con.execute(
        """SELECT count(*) FROM field_coverage WHERE dataset = 'police_uk_stop_search' AND series = 'metropolitan'
           AND field = 'outcome_linked_to_object_of_search' AND status = 'not recorded'"""
    ).fetchone()[0]
    assert unrecorded == 85  # every month the Met file has: empty to 2023, always 'no' in 2024


@pytest.fixture(scope="module")
def engine(loaded_db) -> Engine:
    return Engine.open(loaded_db)


def test_no_homicide_victim_verdict_from_the_partial_year(engine: Engine) -> None:
    card = {m["id"]: m for p in engine.scorecard(None, "2023", "2019").to_dict()["priorities"] for m in p["measures"]}
    for mid in ("homicide_victims", "knife_homicide_victims", "domestic_homicide_victims"):
        m = card[mid]
        assert m["status"] == "incomplete data" and m["verdict"] is None and m["rag"] == "grey", mid
        assert "2023 partial (implausibly low: 22 victims against a median of 130" in m["message"], mid
        assert "nearest complete period: 2022" in m["message"], mid
    # homicide offences are still judged, from the recorded-crime files
    assert card["homicide_offences"]["status"] == "ok" and card["homicide_offences"]["verdict"]


def test_the_ward_files_first_month_is_excluded(engine: Engine) -> None:
    r = engine.result("burglary", "E05013570", "2024-03", "2025-03").to_dict()
    ward = next(a for a in [r["source"], *r["alternatives"]] if a and a["dataset"] == "mps_ward_crime")
    assert ward["status"] == "incomplete data" and ward["verdict"] is None
    assert "2024-03 partial (implausibly low: 47 offences" in ward["message"]
    assert "nearest complete period: 2024-04" in ward["message"]
    series = engine.series("burglary", "E05013570", "year")
    ward_series = next(s for s in series["sources"] if s["dataset"] == "mps_ward_crime")
    assert {"period": "2024-03", "reason": ward_series["excluded"][0]["reason"]} == ward_series["excluded"][0]
    marks = {p["period"]: p["complete"] for p in ward_series["points"]}
    assert marks == {"2024": False, "2025": True, "2026": False}  # partial years are marked


def _burglaries(engine: Engine, where: str, year: int) -> int:
    """The Met's burglaries with a Crime ID of one year, counted from the street records."""
    return engine.con.execute(
        f"""SELECT count(DISTINCT crime_id) FROM street_crime_current
            WHERE reported_by = 'Metropolitan Police Service' AND crime_type = 'Burglary' AND crime_id IS NOT NULL
              AND year(month) = ? AND {where}""", [year]).fetchone()[0]


def test_an_outcome_share_is_of_the_crimes_of_its_cohort_not_of_the_outcome_records(engine: Engine) -> None:
    # Croydon 2024 against 2019: its burglaries are the denominators (2019 had only 116 outcome records,
    # the old denominator, which made a charged share of 36%).
    r = engine.result("burglary_charged_share", "Croydon", "2024", "2019").to_dict()
    s = r["source"]
    croydon = "lsoa_name LIKE 'Croydon %'"
    assert s["baseline_denominator"] == _burglaries(engine, croydon, 2019) > 2_500
    assert s["current_denominator"] == _burglaries(engine, croydon, 2024) > 1_500
    assert s["baseline"] < 5 and s["current"] < 5 and abs(s["change"]) < 2
    assert r["verdict"] in {"no significant change", "significant fall", "significant rise"} and s["p_value"] is not None
    assert "crimes followed for 0 months" in " ".join(s["notes"])


def test_a_share_whose_field_is_empty_is_not_recorded_never_zero(engine: Engine) -> None:
    r = engine.result("stop_search_find_share", None, "2023", "2018").to_dict()
    assert r["status"] == "not recorded" and r["current"] is None and r["verdict"] is None
    assert "outcome_linked_to_object_of_search" in r["message"]
    r2024 = engine.result("stop_search_find_share", None, "2024-03", "2023-03").to_dict()
    assert r2024["status"] == "not recorded" and "filled, not recorded" in r2024["message"]


def _complete(engine: Engine, dataset: str, series: list[str] | None, months: list[date]) -> bool:
    """Independently of the cubes: every month complete in the coverage table for every wanted series."""
    rows = engine.con.execute(
        """SELECT series, date_trunc('month', period)::DATE, status FROM coverage WHERE dataset = ?""", [dataset]
    ).fetchall()
    status: dict[date, set[str]] = {}
    wanted = set(series or [])
    for s, month, st in rows:
        if not wanted or s in wanted:
            status.setdefault(month, set()).add(st)
    return all(status.get(m) == {"complete"} for m in months)


def test_property_no_verdict_where_any_month_is_incomplete(engine: Engine) -> None:
    rnd = random.Random(20261129)
    measures = [m for m in engine.plan.measures if m.statistic != "proportion" or m.sources[0].kind != "survey_measure"]
    kinds = ["year", "month", "quarter", "rolling", "fy"]
    judged = 0
    for _ in range(150):
        measure = rnd.choice(measures)
        level = rnd.choice(measure.levels)
        areas = engine.areas.level(level) if level != "lsoa" else engine.areas.level(level)[:50]
        area = rnd.choice(areas)
        end = month_of(month_index(date(rnd.randint(2017, 2026), rnd.randint(1, 12), 1)))
        kind = rnd.choice(kinds)
        text = {"year": f"{end.year}", "month": f"{end:%Y-%m}", "quarter": f"{end.year}-Q{(end.month - 1) // 3 + 1}",
                "rolling": f"rolling:{end:%Y-%m}", "fy": f"FY{end.year}-{(end.year + 1) % 100:02d}"}[kind]
        baseline = rnd.choice(["previous", "year-earlier", "2019", "FY2019-20"])
        r = engine.result(measure, area, text, baseline)
        if r.headline is None or not r.headline.verdict or r.headline.verdict == "sample size unknown":
            continue
        source = next(s for s in measure.sources if (s.label or _default_label(s)) == r.headline.label)
        cube = engine.cube(source, level, measure.statistic)
        months = r.period.months + r.baseline.months
        if cube.granularity == "year":
            months = sorted({date(m.year, 1, 1) for m in months})
        assert _complete(engine, source.dataset, cube.series or None, months), (measure.id, area.code, text, baseline)
        judged += 1
    assert judged > 30  # the property was exercised, not vacuously true


def test_no_row_is_zero_only_where_the_publisher_lists_every_record(loaded_db, monkeypatch) -> None:
    from crimeplan.measures import cubes
    from crimeplan.plan.schema import StreetCrimeSource

    source = StreetCrimeSource(dataset="police_uk_street", crime_types=["Burglary"], force="Metropolitan Police Service")
    engine = Engine.open(loaded_db)
    # An LSOA with Met burglaries in the extract, and a complete month in which it has none.
    code, month = engine.con.execute(
        """SELECT lsoa_code, DATE '2021-06-01' FROM street_crime_current
           WHERE reported_by = 'Metropolitan Police Service' AND lsoa_code LIKE 'E01%'
           GROUP BY 1 HAVING count(*) FILTER (WHERE month = DATE '2021-06-01') = 0 AND count(DISTINCT month) >= 20
           ORDER BY 1 LIMIT 1"""
    ).fetchone()
    cube = engine.cube(source, "lsoa", "count")
    i, j = cube.index()[code], month_index(month) - cube.first
    assert cube.available[j] and cube.value[i, j] == 0  # the catalogue: data.police.uk lists every crime
    monkeypatch.setattr(cubes, "_ABSENT_ROW", {"police_uk_street": "unknown"})
    unknown = Engine.open(loaded_db).cube(source, "lsoa", "count")
    assert np.isnan(unknown.value[i, j])  # no row, no knowledge: never 0


def test_a_share_from_fewer_than_the_minimum_records_is_not_judged(engine: Engine) -> None:
    # LSOA E01004208: 48 burglaries in 2019 and 46 in 2024, below the minimum of 50 per period.
    lsoa = "lsoa_code = 'E01004208'"
    r = engine.result("burglary_no_suspect_share", "E01004208", "2024", "2019").to_dict()
    s = r["source"]
    assert (s["current_denominator"], s["baseline_denominator"]) == (_burglaries(engine, lsoa, 2024),
                                                                      _burglaries(engine, lsoa, 2019)) == (46, 48)
    assert r["verdict"] == "too few records to judge" and s["p_value"] is None
    assert "from 48 records in the baseline and 46 now: too few records" in r["plain"]


def test_status_and_the_coverage_command_say_why(loaded_db) -> None:
    import json

    from typer.testing import CliRunner

    from crimeplan.cli import app

    runner = CliRunner()
    status = json.loads(runner.invoke(app, ["status", "--db", str(loaded_db), "--format", "json"]).stdout)
    ward = next(d for d in status["datasets"] if d["dataset"] == "mps_ward_crime")
    assert ward["incomplete_periods"] == [{"series": "ward:new", "period": "2024-03", "granularity": "month", "status": "partial",
                                           "reason": ward["incomplete_periods"][0]["reason"]}]
    assert "47 offences" in ward["incomplete_periods"][0]["reason"]
    text = runner.invoke(app, ["status", "--db", str(loaded_db)]).stdout
    assert "Lancashire Constabulary: 2018-10 absent" in text and "unit:new" in text  # no emoji for ':new'
    # the Met's 28 absent months are two runs, never one stretch across the months it has
    assert "metropolitan: 28 months (2019-03 to 2021-05, 2022-01) absent" in text
    grid = runner.invoke(app, ["coverage", "police_uk_stop_search", "--series", "metropolitan", "--db", str(loaded_db),
                               "--format", "json"])
    rows = json.loads(grid.stdout)
    assert sum(r["status"] == "absent" for r in rows) == 28 and sum(r["status"] == "partial" for r in rows) == 1
    area = runner.invoke(app, ["coverage", "mps_ward_crime", "--area", "E05013570", "--db", str(loaded_db)])
    assert area.exit_code == 0 and "2024-03" in area.stdout and "partial" in area.stdout
    unknown = runner.invoke(app, ["coverage", "no_such_dataset", "--db", str(loaded_db)])
    assert unknown.exit_code == 1 and "no coverage for 'no_such_dataset'" in unknown.stderr


def test_a_searches_share_leaves_out_the_searches_whose_field_is_empty(engine: Engine) -> None:
    """May 2024: one of the Met's 9,130 searches has no outcome; it is neither an arrest nor a non-arrest."""
    arrests, recorded, searches = engine.con.execute(
        """SELECT count(*) FILTER (WHERE outcome IN ('Arrest', 'Suspect arrested')), count(outcome), count(*)
           FROM stop_search_current WHERE force = 'metropolitan' AND month = DATE '2024-05-01'"""
    ).fetchone()
    assert recorded < searches
    r = engine.result("stop_search_arrest_share", None, "2024-05", "2023-05").to_dict()
    assert r["source"]["current_denominator"] == recorded
    assert r["current"] == pytest.approx(arrests / recorded * 100)


def test_a_count_of_searches_by_object_is_not_recorded_where_the_object_is_empty(engine: Engine) -> None:
    """2015-04 to 2015-10: the Met left the object of search empty; searches for drugs then are unknown, not 0."""
    empty = engine.con.execute(
        """SELECT count(*), count(object_of_search) FROM stop_search_current WHERE force = 'metropolitan'
           AND month = DATE '2015-06-01'"""
    ).fetchone()
    assert empty[0] > 10_000 and empty[1] == 0
    series = engine.series("drug_searches", None, "month")["sources"][0]
    periods = {p["period"] for p in series["points"]}
    excluded = {x["period"]: x["reason"] for x in series["excluded"]}
    assert "2015-06" not in periods and excluded["2015-06"].startswith("not recorded")
    # Later in 2015 the object is recorded, but in the four categories the Met used to 2017-12: not comparable
    # with the nine from 2018-01 (catalogue field_breaks), so not in the series either.
    assert "2015-12" not in periods and excluded["2015-12"].startswith("not comparable") and "2018-01" in periods
    fy = {p["period"]: p for p in engine.series("drug_searches", None, "fy")["sources"][0]["points"]}
    assert "FY2015-16" not in fy and fy["FY2018-19"]["complete"] is False  # 2019-03 absent
