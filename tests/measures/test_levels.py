"""Level-wide views of the engine (maps, sparklines, crime mix, edition) agree with its per-area answers."""

from __future__ import annotations

import pytest

from crimeplan.measures import Engine
from crimeplan.measures.edition import data_edition
from crimeplan.measures.levels import crime_mixes, crime_mixes_latest, level_table, survey_measures, trajectories
from crimeplan.warehouse import Warehouse


@pytest.fixture(scope="module")
def engine(loaded_db):
    wh = Warehouse.open(loaded_db, read_only=True)
    yield Engine(wh.con)
    wh.close()


@pytest.mark.parametrize("measure,level", [("burglary", "borough"), ("homicide_offences", "bcu"),
                                           ("pas_trust_mps", "borough"), ("crime_harm", "borough"),
                                           ("burglary", "ward")])
def test_level_table_gives_each_area_its_scorecard_figures(engine: Engine, measure: str, level: str) -> None:
    table = level_table(engine, measure, level, "2021", "2019")
    assert table["status"] == "ok" and table["source"]["files"]
    assert len(table["areas"]) == len(engine.areas.level(level))
    for row in table["areas"][:: max(1, len(table["areas"]) // 12)]:
        r = engine.result(measure, row["key"], "2021", "2019").to_dict()
        assert (row["current"], row["baseline_value"], row["change"], row["interval"], row["q_value"],
                row["verdict"], row["rag"], row["plain"]) == (
            r["current"], r["baseline_value"], r["change"], r["interval"], r["q_value"], r["verdict"], r["rag"],
            r["plain"])


def test_level_table_says_why_there_are_no_figures(engine: Engine) -> None:
    table = level_table(engine, "pas_trust_mps", "ward", "2021", "2019")
    assert table["status"] == "not available at this level" and table["areas"] == []
    assert "not measured at ward level" in table["message"]
    table = level_table(engine, "total_recorded_crime", "ward", "2021", "2019")
    assert table["status"] == "no data for this period" and "MPS recorded crime by ward" in table["message"]


@pytest.mark.parametrize("measure,area", [("burglary", "E09000012"), ("pas_trust_mps", "E09000012"),
                                          ("burglary_charged_share", "E12000007"), ("burglary", "E05013570")])
def test_trajectories_are_the_monthly_series(engine: Engine, measure: str, area: str) -> None:
    a = engine.areas.get(area)
    t = trajectories(engine, measure, a.level, "2021", "2019")
    assert t["months"][0] == "2019-01" and t["months"][-1] == "2021-12" and len(t["months"]) == 36
    assert sum(t["in_period"]) == 12 and sum(t["in_baseline"]) == 12
    series = engine.series(measure, a, "month")
    source = next(s for s in series["sources"] if s["label"] == t["source"])
    points = {p["period"]: p["value"] for p in source["points"]}
    values = t["values"][a.code]
    assert any(v is not None for v in values)
    for month, value in zip(t["months"], values):
        if value is None:
            assert points.get(month) is None
        else:
            assert value == pytest.approx(points[month])


@pytest.mark.parametrize("level,code,period", [("london", "E12000007", "2021"), ("bcu", "CE", "2021"),
                                               ("borough", "E09000012", "FY2021-22"), ("borough", "E09000001", "2021"),
                                               ("ward", "E05013570", "rolling:2026-03"),
                                               ("ward", "E05013570", "2021")])
def test_crime_mixes_equal_the_engines_crime_mix(engine: Engine, level: str, code: str, period: str) -> None:
    def ordered(mix: dict) -> dict:  # categories with equal counts may come in either order
        return {**mix, "categories": sorted(mix["categories"], key=lambda c: (-c["count"], c["major"], c["category"])),
                "majors": sorted(mix["majors"], key=lambda m: (-m["count"], m["major"]))}

    assert ordered(crime_mixes(engine, level, period)[code]) == ordered(engine.crime_mix(engine.areas.get(code), period))


def test_crime_mix_falls_back_to_the_latest_published_year(engine: Engine) -> None:
    mixes = crime_mixes_latest(engine, "ward", "2021")
    mix = mixes["E05013570"]
    assert mix["requested_period"] == "2021" and mix["period"] == "rolling:2026-03"
    assert mix["total"] == sum(c["count"] for c in mix["categories"]) > 0
    assert "no recorded-crime file covers calendar year 2021" in mix["note"]
    borough = crime_mixes_latest(engine, "borough", "2021")["E09000012"]
    assert borough["period"] == borough["requested_period"] == "2021"


def test_survey_measures_are_the_trust_measures(engine: Engine) -> None:
    ids = [m.id for m in survey_measures(engine.plan)]
    assert ids[:2] == ["pas_good_job_local", "pas_trust_mps"] and len(ids) == 8


def test_data_edition_names_every_current_file(engine: Engine) -> None:
    edition = data_edition(engine.con)
    assert edition == data_edition(engine.con)  # stable
    assert edition["label"].endswith(edition["digest"]) and len(edition["digest"]) == 12
    names = {f["name"] for f in edition["files"]}
    assert "MPS Borough Level Crime (Historical) 2010-04_2023-09.csv" in names
    assert all(len(f["sha256"]) == 64 for f in edition["files"])
    coverage = {c["dataset"]: c for c in edition["coverage"]}
    assert coverage["mps_ward_crime"]["first_period"] == "2024-03"
    assert edition["last_period"] == max(c["last_period"] for c in edition["coverage"])
