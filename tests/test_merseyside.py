"""Merseyside's Police and Crime Plan 2021-25 on data.police.uk's own geography, end to end on the real data.

Expected figures are counted here straight from the street records and the Census
file, not through the measures engine.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from crimeplan.cli import app
from crimeplan.measures import Engine
from crimeplan.measures.levels import level_table
from crimeplan.plan import load_plan
from crimeplan.plan.check import check_plan

MERSEYSIDE_LAS = {"Knowsley", "Liverpool", "Sefton", "St. Helens", "Wirral"}
runner = CliRunner()


@pytest.fixture(scope="module")
def engine(loaded_db) -> Engine:
    return Engine.open(loaded_db, load_plan("merseyside"))


def _count(engine: Engine, crime_type: str, first: str, last: str, la: str | None = None) -> int:
    """Merseyside Police's records of a type located in its five local authorities (or in one of them).

    A handful it records over the border (West Lancashire, Halton) count towards those areas, not Merseyside.
    """
    las = [la] if la else sorted(MERSEYSIDE_LAS)
    return engine.con.execute(
        """SELECT count(*) FROM street_crime_current WHERE reported_by = 'Merseyside Police' AND crime_type = ?
           AND month BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
           AND list_contains(?, regexp_extract(lsoa_name, '^(.*) [0-9]{3}[A-Z]$', 1))""",
        [crime_type, first, last, las],
    ).fetchone()[0]


def test_the_force_and_its_local_authorities_come_from_the_records(engine: Engine) -> None:
    home = engine.areas.top()
    assert (home.code, home.name, home.level) == ("merseyside", "Merseyside Police", "force")
    assert {a.name for a in engine.areas.children(home)} == MERSEYSIDE_LAS
    knowsley = engine.areas.get("Knowsley")
    assert knowsley.code == "la-knowsley" and knowsley.parent_code == "merseyside"
    lsoa = engine.areas.get("Knowsley 001A")
    assert lsoa.level == "lsoa" and [a.code for a in engine.areas.ancestors(lsoa)] == ["merseyside", "la-knowsley"]


def test_residents_are_census_2021_summed_over_the_lsoas(engine: Engine) -> None:
    by_la = dict(engine.con.execute(
        """SELECT regexp_extract(name, '^(.*) [0-9]{3}[A-Z]$', 1), sum(persons) FROM population_current
           WHERE reference = 'census2021-ts021' AND ethnic_group IS NULL GROUP BY 1"""
    ).fetchall())
    levels = engine.compiler.areas("local_authority")
    knowsley = engine.population("local_authority")[levels.index("la-knowsley")]
    assert knowsley == by_la["Knowsley"] == 154_537
    force = engine.population("force")[engine.compiler.areas("force").index("merseyside")]
    assert force == sum(by_la[la] for la in MERSEYSIDE_LAS) == 1_423_284


def test_the_default_scorecard_counts_as_the_records_do(engine: Engine) -> None:
    card = {m["id"]: m for p in engine.scorecard().to_dict()["priorities"] for m in p["measures"]}
    assert engine.plan.default_period == "rolling:2021-06"
    burglary = card["burglary"]
    assert burglary["current"] == _count(engine, "Burglary", "2020-07-01", "2021-06-01") == 7448
    assert burglary["baseline_value"] == _count(engine, "Burglary", "2018-07-01", "2019-06-01") == 9776
    assert burglary["verdict"] == "significant fall" and burglary["rag"] == "green"
    assert burglary["source"]["files"][0]["name"] == "city-of-london-and-merseyside-street-2018-01_2021-09.zip"
    rate = card["violence_rate"]
    violence = _count(engine, "Violence and sexual offences", "2020-07-01", "2021-06-01")
    assert rate["current"] == pytest.approx(violence / 1_423_284 * 1000)
    assert card["drugs"]["rag"] == "grey"  # monitored: more can mean more proactive policing
    assert all(m["status"] == "ok" for m in card.values())


def test_a_local_authority_is_judged_across_the_local_authorities(engine: Engine) -> None:
    r = engine.result("violence_and_sexual_offences", "Knowsley", "rolling:2021-06", "pre-pandemic").to_dict()
    assert r["current"] == _count(engine, "Violence and sexual offences", "2020-07-01", "2021-06-01", "Knowsley") == 6329
    assert r["q_value"] is not None and r["source"]["areas_tested"] > 1


def test_2019_is_incomplete_for_merseyside(engine: Engine) -> None:
    r = engine.result("total_crime", None, "2019", "2018").to_dict()
    assert r["status"] == "incomplete data" and r["verdict"] is None
    assert "2019-07 absent" in r["message"]


def test_the_plan_passes_its_check(engine: Engine, loaded_db) -> None:
    found = check_plan(engine.con, engine.plan)
    assert not found.errors and not found.warnings


def test_scorecard_and_claims_from_the_command_line(loaded_db) -> None:
    result = runner.invoke(app, ["scorecard", "--plan", "merseyside", "--db", str(loaded_db), "--area", "Wirral",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["area"]["code"] == "la-wirral"
    claims = runner.invoke(app, ["claims", "check", "--plan", "merseyside", "--db", str(loaded_db), "--format", "json"])
    assert claims.exit_code == 0, claims.output
    verdicts = {c["id"]: c["verdict"] for c in json.loads(claims.stdout)}
    assert verdicts == {"burglary-2021": "supported", "knowsley-violence-2021": "supported",
                        "asb-2021": "not supported", "crime-2019": "unverifiable"}


def test_the_static_site_and_the_server(loaded_db, tmp_path) -> None:
    from fastapi.testclient import TestClient

    from crimeplan.web.app import create_app

    out = tmp_path / "site"
    result = runner.invoke(app, ["publish", str(out), "--plan", "merseyside", "--db", str(loaded_db)])
    assert result.exit_code == 0, result.output
    pages = sorted(p.name for p in (out / "area").iterdir())
    assert pages == ["la-knowsley-priorities.csv", "la-knowsley.html", "la-liverpool-priorities.csv", "la-liverpool.html",
                     "la-sefton-priorities.csv", "la-sefton.html", "la-st-helens-priorities.csv", "la-st-helens.html",
                     "la-wirral-priorities.csv", "la-wirral.html", "merseyside-priorities.csv", "merseyside.html"]
    html = (out / "area" / "merseyside.html").read_text(encoding="utf-8")
    assert "No boundaries are loaded for local authorities" in html and 'href="../area/la-knowsley.html"' in html
    assert "Open Government Licence" in html
    client = TestClient(create_app(loaded_db, "merseyside"))
    assert client.get("/area/la-knowsley").status_code == 200
    card = client.get("/api/scorecard", params={"area": "Knowsley"}).json()
    assert card["plan"]["id"] == "merseyside-2021-25" and card["area"]["name"] == "Knowsley"
    assert client.get("/api/areas", params={"level": "ward"}).status_code == 422  # not a level of this geography


def test_an_lsoa_of_2021_codes_only_is_unknown_not_zero_in_months_of_2011_codes(engine: Engine) -> None:
    """The records (2018-2021) use 2011 LSOA codes; a code new in 2021 has no crime in them, which is not 0."""
    codes = engine.con.execute(
        """SELECT p.code FROM population_current p
           WHERE p.reference = 'census2021-ts021' AND p.ethnic_group IS NULL AND p.sex = 'all' AND p.age_band = 'all'
             AND regexp_extract(p.name, '^(.*) [0-9]{3}[A-Z]$', 1) = 'Liverpool'
             AND p.code NOT IN (SELECT lsoa_code FROM street_crime_current WHERE lsoa_code IS NOT NULL)
           ORDER BY p.code"""
    ).fetchall()
    assert codes, "Liverpool has LSOAs created in 2021"
    new = codes[0][0]
    unchanged = engine.con.execute(
        """SELECT lsoa_code FROM street_crime_current WHERE lsoa_name LIKE 'Liverpool %'
           AND lsoa_code IN (SELECT code FROM population_current WHERE reference = 'census2021-ts021')
           GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"""
    ).fetchone()[0]
    table = {a["code"]: a for a in level_table(engine, "burglary", "lsoa", "rolling:2021-06")["areas"]}
    assert table[new]["current"] is None
    assert table[unchanged]["current"] == _count_lsoa(engine, "Burglary", unchanged)


def _count_lsoa(engine: Engine, crime_type: str, code: str) -> int:
    return engine.con.execute(
        """SELECT count(*) FROM street_crime_current WHERE reported_by = 'Merseyside Police' AND crime_type = ?
           AND month BETWEEN DATE '2020-07-01' AND DATE '2021-06-01' AND lsoa_code = ?""",
        [crime_type, code],
    ).fetchone()[0]
