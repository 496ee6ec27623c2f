"""Small numbers about people are never published: below 10 they read '<10', and no total gives one away."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from crimeplan import disclosure
from crimeplan.core import Crimeplan

PEOPLE = ["homicide_victims", "knife_homicide_victims", "domestic_homicide_victims", "young_homicide_victims",
          "young_knife_homicide_victims"]


def test_secondary_suppression_withholds_a_second_cell_of_a_group() -> None:
    cells = [{"code": "a", "v": 3.0}, {"code": "b", "v": 40.0}, {"code": "c", "v": 12.0}, {"code": "d", "v": None}]
    assert [c["code"] for c in disclosure.secondary(cells, ["v"], 10)] == ["a", "c"]
    two = [{"code": "a", "v": 3.0}, {"code": "b", "v": 4.0}, {"code": "c", "v": 12.0}]
    assert [c["code"] for c in disclosure.secondary(two, ["v"], 10)] == ["a", "b"]  # two already: no more
    assert disclosure.secondary([{"code": "a", "v": 10.0}], ["v"], 10) == []  # 10 is not below 10


@pytest.fixture(scope="module")
def core(loaded_db) -> Crimeplan:
    return Crimeplan.open(loaded_db, None)


def test_level_tables_publish_no_small_count_and_no_total_that_reveals_one(core: Crimeplan) -> None:
    checked = 0
    for measure in PEOPLE:
        for period, baseline in (("2020", "2019"), ("2018", "2017")):
            table = core.levels(measure, "borough", period, baseline)
            assert table["status"] == "ok", (measure, table["message"])
            by_bcu: dict[str, list[dict]] = {}
            for row in table["areas"]:
                for field in ("current", "baseline_value"):
                    assert row[field] is None or row[field] >= 10, (measure, row["name"], field)
                by_bcu.setdefault(row["parent_code"], []).append(row)
            # The engine's real counts: every one below 10 is withheld, and in each BCU (whose total is
            # published) the withheld boroughs are none or at least two.
            figures = core.engine.evaluate(core.plan.measure(measure), "borough", core.engine.period(period),
                                           core.engine.period(baseline))[0]
            counts = dict(zip(figures.areas, figures.current))
            for rows in by_bcu.values():
                withheld = [r for r in rows if "current" in (r.get("suppressed") or {})]
                assert len(withheld) != 1, (measure, [r["name"] for r in rows])
                for r in rows:
                    if counts.get(r["code"]) is not None and counts[r["code"]] < 10:
                        assert r in withheld and r["suppressed"]["current"] == "<10"
                        checked += 1
    assert checked > 100  # most boroughs see fewer than 10 homicide victims a year


def test_the_api_scorecard_series_and_csv_withhold_them(core: Crimeplan, loaded_db) -> None:
    from crimeplan.web.app import create_app

    client = TestClient(create_app(loaded_db))
    card = client.get("/api/scorecard", params={"area": "Lambeth", "period": "2020", "baseline": "2019"}).json()
    found = {m["id"]: m for p in card["priorities"] for m in p["measures"]}
    for measure in PEOPLE:
        m = found[measure]
        assert m["current"] is None and m["suppressed"]["current"] == "<10" and m["verdict"]  # judged all the same
        assert m["source"]["current"] is None and m["interval"] is None and m["change"] is None
        assert "→" not in json.dumps(m)  # no sentence giving the counts
    csv = client.get("/api/scorecard.csv", params={"area": "Lambeth", "period": "2020", "baseline": "2019"}).text
    row = next(line for line in csv.splitlines() if line.startswith("violence,homicide_victims,"))
    assert ",<10,<10,withheld," in row
    series = client.get("/api/measures/homicide_victims/series", params={"by": "month"}).json()
    points = series["sources"][0]["points"]
    assert all(p["value"] is None or p["value"] >= 10 for p in points)
    years: dict[str, int] = {}
    for p in points:
        if p.get("suppressed"):
            years[p["period"][:4]] = years.get(p["period"][:4], 0) + 1
    assert years and all(n >= 2 for n in years.values())  # one withheld month of a year would be its total's rest
    page = client.get("/area/E09000022", params={"period": "2020", "baseline": "2019"}).text
    assert "&lt;10" in page and "are not published" in page
