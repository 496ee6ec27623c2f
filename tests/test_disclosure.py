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
    # 3 + 12 = 15 with 12 known to be at least 10 leaves a at 0 to 5: 40 is withheld too.
    assert [c["code"] for c in disclosure.secondary(cells, ["v"], 10)] == ["a", "c", "b"]
    two = [{"code": "a", "v": 3.0}, {"code": "b", "v": 8.0}, {"code": "c", "v": 30.0}]
    # 3 + 8 = 11 and both below 10: each is 2 to 9, not 0 to 9 (11 > 9): 30 is withheld too.
    assert [c["code"] for c in disclosure.secondary(two, ["v"], 10)] == ["a", "b", "c"]
    loose = [{"code": "a", "v": 3.0}, {"code": "b", "v": 6.0}, {"code": "c", "v": 30.0}]
    assert [c["code"] for c in disclosure.secondary(loose, ["v"], 10)] == ["a", "b"]  # 9 = 0 + 9 to 9 + 0
    assert disclosure.secondary([{"code": "a", "v": 10.0}], ["v"], 10) == []  # 10 is not below 10


def _bounds(withheld: list[float], primary: list[bool], below: int = 10) -> list[tuple[float, float]]:
    """Each withheld cell's range given their sum, '<10' cells in 0..9 and the others at least 10 (brute force)."""
    import itertools

    total = sum(withheld)
    ranges = [range(0, below) if p else range(below, int(total) + 1) for p in primary]
    seen: list[set] = [set() for _ in withheld]
    for combo in itertools.product(*ranges):
        if sum(combo) == total:
            for i, v in enumerate(combo):
                seen[i].add(v)
    return [(min(s), max(s)) for s in seen]


def test_no_withheld_small_cell_can_be_narrowed_by_subtraction() -> None:
    import random

    rng = random.Random(5)
    for _ in range(300):
        cells = [{"code": str(i), "v": float(rng.choice([0, 1, 3, 5, 8, 9, 11, 14, 20, 35]))} for i in range(5)]
        chosen = disclosure.secondary(cells, ["v"], 10)
        if not chosen or len(chosen) == len(cells):
            continue
        bounds = _bounds([c["v"] for c in chosen], [c["v"] < 10 for c in chosen])
        for c, (low, high) in zip(chosen, bounds):
            if c["v"] < 10:
                assert (low, high) == (0, 9), (cells, [x["v"] for x in chosen])


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
                        assert r["p_value"] is None and r["q_value"] is None  # an exact p gives small counts away
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
        assert m["p_value"] is None and m["source"]["p_value"] is None
        assert "→" not in json.dumps(m)  # no sentence giving the counts
    csv = client.get("/api/scorecard.csv", params={"area": "Lambeth", "period": "2020", "baseline": "2019"}).text
    row = next(line for line in csv.splitlines() if line.startswith("violence,homicide_victims,"))
    assert ",<10,<10,withheld," in row
    # London's months: some below 10, so none is published (quarters and years would give a lone one back);
    # its years are all above 10 and are.
    months = client.get("/api/measures/knife_homicide_victims/series", params={"by": "month"}).json()["sources"][0]
    assert months["points"] and all(p["value"] is None for p in months["points"]) and "spc" not in months
    assert all(p.get("centre") is None and p.get("upper") is None for p in months["points"])
    years = client.get("/api/measures/knife_homicide_victims/series", params={"by": "year"}).json()["sources"][0]
    assert all(p["value"] >= 10 for p in years["points"])
    # Newham 2019: 11 victims, withheld beside its BCU's small one; no other field of its scorecard gives it back.
    newham = client.get("/api/scorecard", params={"area": "Newham", "period": "2019", "baseline": "2019"}).json()
    m = next(m for p in newham["priorities"] for m in p["measures"] if m["id"] == "homicide_victims")
    text = json.dumps(m)
    real = core.engine.result("homicide_victims", "Newham", "2019", "2019").to_dict()["current"]
    assert m["current"] is None and real >= 10 and f"{real:.0f} \u2192" not in text and m["source"]["current"] is None
    # Areas are not ranked by a count of people; a claim about one borough publishes no count.
    assert client.get("/api/measures/young_homicide_victims/priorities/borough", params={"period": "2019"}).status_code == 422
    spots = client.get("/api/measures/homicide_victims/hotspots/borough", params={"period": "2019"}).json()
    assert all(a["value"] is None and a["z"] is None for a in spots["areas"]) and spots["areas"]
    page = client.get("/area/E09000022", params={"period": "2020", "baseline": "2019"}).text
    assert "&lt;10" in page and "are not published" in page


def _entry(current, baseline, change) -> dict:
    return {"id": "homicide_victims", "unit": "victims", "current": current, "baseline_value": baseline,
            "change": change, "interval": [change - 20, change + 20], "plain": f"{baseline} → {current}",
            "source": {"current": current, "baseline": baseline, "change": change}, "alternatives": []}


def test_the_comparison_beside_follows_the_rule_and_keeps_the_figures_it_need_not_hide() -> None:
    from crimeplan import disclosure
    from crimeplan.plan import load_plan

    plan = load_plan()
    # 2019 had 6 victims: the beside withholds its baseline and what gives it back; the 12 months before had 14,
    # so the comparison itself stands, its figures and words intact.
    m = {**_entry(12, 14, -14.3), "beside": _entry(12, 6, 100.0)}
    disclosure.scorecard({"priorities": [{"measures": [m]}]}, plan, {})
    assert (m["current"], m["baseline_value"], m["change"]) == (12, 14, -14.3) and m["plain"] == "14 → 12"
    b = m["beside"]
    assert b["baseline_value"] is None and b["change"] is None and b["suppressed"]["baseline_value"] == "<10"
    assert b["plain"] and "not published" in b["plain"]
    # withheld among its siblings in one table, the same months' figure is withheld in both
    m = {**_entry(12, 14, -14.3), "beside": _entry(12, 16, -25.0)}
    disclosure.scorecard({"priorities": [{"measures": [m]}]}, plan, {("beside", "homicide_victims"): {"current"}})
    assert m["current"] is None and m["beside"]["current"] is None and m["change"] is None
