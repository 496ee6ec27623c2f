"""Concentration and 'where needed most' on the real data, checked against independent computations.

Ward harm is recomputed here from the Met's ward file and the CCHI weights (through
harm_map.yaml, read here, not through the engine), the ranks and their intervals by
an independent simulation with the same fixed seed, and the LSOA figures of Merseyside
and the City of London from the street records.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
import yaml

from crimeplan.measures import Engine
from crimeplan.measures.concentration import concentration, priorities
from crimeplan.plan import load_plan
from crimeplan.stats.poisson_draws import DRAWS, SEED
from crimeplan.warehouse import Warehouse

PERIOD = "rolling:2026-03"  # the 12 months to March 2026 (the Met's ward file runs 2024-03 to 2026-03)


@pytest.fixture(scope="module")
def engine(loaded_db):
    wh = Warehouse.open(loaded_db, read_only=True)
    yield Engine(wh.con)
    wh.close()


def _ward_harm(engine: Engine, first: str, last: str) -> dict[str, tuple[float, float]]:
    """Each 2022 ward's CCHI harm and Σ w² n over the months, straight from the ward rows and the weights."""
    mapping = yaml.safe_load(resources.files("crimeplan.plan").joinpath("harm_map.yaml").read_text())
    weights = dict(engine.con.execute(
        "SELECT subgroup, weight_days FROM harm_weight_current WHERE scheme = 'subgroup'").fetchall())
    days = {k: float(weights[v]) for k, v in mapping["recorded_crime"]["new"].items()}
    rows = engine.con.execute(
        """SELECT area_code, major_category || ' / ' || minor_category, sum(count) FROM recorded_crime_current
           WHERE dataset = 'mps_ward_crime' AND month BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
           GROUP BY ALL""", [first, last]).fetchall()
    out: dict[str, list[float]] = {}
    for code, category, n in rows:
        w = days.get(category, 0.0)
        h = out.setdefault(code, [0.0, 0.0])
        h[0] += w * n
        h[1] += w * w * n
    return {c: (h, v) for c, (h, v) in out.items()}


def test_share_of_ward_harm_in_the_top_5_percent(engine: Engine) -> None:
    found = concentration(engine, "crime_harm", "ward", PERIOD)
    assert found["status"] == "ok" and found["source"]["dataset"] == "mps_ward_crime"
    harm = _ward_harm(engine, "2025-04-01", "2026-03-01")
    wards = {a.code for a in engine.areas.level("ward")}
    values = np.array([h for c, (h, _) in harm.items() if c in wards])
    assert found["areas_ranked"] == values.size
    k = int(np.ceil(0.05 * values.size))
    top5 = found["top"][1]
    assert top5["fraction"] == 0.05 and top5["areas"] == k
    assert top5["share"] == pytest.approx(np.sort(values)[::-1][:k].sum() / values.sum())
    low, high = top5["interval"]
    assert low < top5["corrected"] < high and abs(top5["share"] - top5["corrected"]) < 0.01
    assert top5["chance"] < top5["share"]  # harm is more concentrated than equal rates would make it
    x = np.sort(values)
    n = x.size
    assert found["gini"]["value"] == pytest.approx(((2 * np.arange(1, n + 1) - n - 1) @ x) / (n * x.sum()))
    assert found["curve"]["measure_share"][0] == 0 and found["curve"]["measure_share"][-1] == pytest.approx(1)
    left = {a["code"] for a in found["left_out"]}
    assert left == wards - set(harm) or left >= wards - set(harm)  # every ward without a figure is named


def test_ward_ranks_and_intervals_match_an_independent_simulation(engine: Engine) -> None:
    found = priorities(engine, "crime_harm", "ward", PERIOD)
    assert found["status"] == "ok" and found["draws"] == DRAWS and found["seed"] == SEED
    harm = _ward_harm(engine, "2025-04-01", "2026-03-01")
    residents = dict(engine.con.execute(
        """SELECT code, persons FROM population_current WHERE level = 'ward' AND vintage = '2022'
           AND sex = 'all' AND age_band = 'all' AND ethnic_group IS NULL""").fetchall())
    codes = [a["code"] for a in sorted(found["areas"], key=lambda a: a["code"])]
    order = {c: i for i, c in enumerate(codes)}
    # The engine draws in its own area order: rebuild it (the cube's, i.e. the level's area list).
    engine_order = [c for c in engine.compiler.areas("ward") if c in order]
    h = np.array([harm[c][0] for c in engine_order])
    v = np.array([harm[c][1] for c in engine_order])
    pop = np.array([residents[c] for c in engine_order], dtype=float)
    rng = np.random.default_rng(SEED)
    draws = rng.gamma(h ** 2 / v, v / h, size=(DRAWS, h.size)) / pop * 1000
    rate = h / pop * 1000
    ranks = (-draws).argsort(axis=1).argsort(axis=1) + 1  # no ties among continuous draws
    observed = {c: 1 + int((rate > rate[i]).sum()) for i, c in enumerate(engine_order)}
    by_code = {a["code"]: a for a in found["areas"]}
    for i, c in enumerate(engine_order):
        a = by_code[c]
        assert a["rank"] == observed[c]
        assert a["value"] == pytest.approx(rate[i])
        column = np.sort(ranks[:, i])
        assert a["rank_low"] == column[int(np.floor(0.025 * (DRAWS - 1)))], c
        assert a["rank_high"] == column[int(np.ceil(0.975 * (DRAWS - 1)))], c
    top = found["top"]
    assert top == int(np.ceil(0.05 * len(engine_order)))
    sure = [a for a in found["areas"] if a["rank_high"] <= top]
    assert sure and all(a["standing"] == f"in the top {top}" for a in sure)
    # Persistence: the 12 months to March 2025 ranked the same way, independently.
    before = _ward_harm(engine, "2024-04-01", "2025-03-01")
    rate_before = {c: before[c][0] / residents[c] * 1000 for c in engine_order if c in before}
    top_now = {a["code"] for a in found["areas"] if a["rank"] <= top}
    top_before = set(sorted(rate_before, key=lambda c: -rate_before[c])[:top])
    [row] = found["persistence"]
    assert row["compared_with"] == "rolling:2025-03" and row["in_both"] == len(top_now & top_before)


@pytest.mark.parametrize("plan, force, n_lsoas", [("merseyside", "Merseyside Police", 889),
                                                  ("city_of_london", "City of London Police", 6)])
def test_lsoa_concentration_and_persistence_2018_to_2021(loaded_db, plan, force, n_lsoas) -> None:
    engine = Engine.open(loaded_db, load_plan(plan))
    found = concentration(engine, "total_crime", "lsoa", "2020")
    types = engine.plan.measure("total_crime").sources[0].crime_types
    counts = dict(engine.con.execute(
        """SELECT lsoa_code, count(*) FROM street_crime_current WHERE reported_by = ? AND year(month) = 2020
           AND list_contains(?, crime_type) AND lsoa_code IS NOT NULL GROUP BY 1""", [force, types]).fetchall())
    ranked = {a.code for a in engine.areas.level("lsoa")} - {a["code"] for a in found["left_out"]}
    assert found["areas_ranked"] == len(ranked) == n_lsoas
    values = np.array([counts.get(c, 0) for c in ranked], dtype=float)
    k = int(np.ceil(0.10 * values.size))
    assert found["top"][2]["share"] == pytest.approx(np.sort(values)[::-1][:k].sum() / values.sum())
    ranked_list = priorities(engine, "total_crime", "lsoa", "2020", by="total")
    windows = {(r["period"], r["compared_with"], r["status"]) for r in ranked_list["persistence"]}
    k = ranked_list["top"]

    def top_of(year: int) -> set[str]:
        by = dict(engine.con.execute(
            """SELECT lsoa_code, count(*) FROM street_crime_current WHERE reported_by = ? AND year(month) = ?
               AND list_contains(?, crime_type) AND lsoa_code IS NOT NULL GROUP BY 1""", [force, year, types]).fetchall())
        return set(sorted((c for c in ranked if c in by), key=lambda c: (-by[c], c))[:k])

    if plan == "merseyside":  # 2019 lacks July: 2020 is compared with 2018, and 2019 is named incomplete
        assert ("2019", None, "incomplete data (2019-07 not supplied)") in windows
        row = next(r for r in ranked_list["persistence"] if r["period"] == "2020")
        assert row["compared_with"] == "2018"
        assert row["in_both"] == len(top_of(2020) & top_of(2018))
    else:
        row = next(r for r in ranked_list["persistence"] if r["period"] == "2020")
        assert row["compared_with"] == "2019" and row["in_both"] == len(top_of(2020) & top_of(2019))


def test_the_county_lines_panel_matches_the_level_tables(loaded_db) -> None:
    from crimeplan.core import Crimeplan

    core = Crimeplan.open(loaded_db, None)
    assert core.panels_for("London") == ["county-lines-proxies"] and core.panels_for("Hackney") == []
    data = core.panel("county-lines-proxies", "2021", "2019", "EA")
    assert {r["name"] for r in data["areas"]} == {a.name for a in core.engine.areas.children(core.area("EA"))}
    residents = dict(core.engine.con.execute(
        """SELECT code, persons FROM population_current WHERE level = 'borough' AND reference = 'census2021'
           AND sex = 'all' AND age_band = 'all' AND ethnic_group IS NULL""").fetchall())
    drugs = core.engine.con.execute(
        """SELECT area_code, sum(count) FROM recorded_crime_current WHERE dataset = 'mps_borough_crime'
           AND scheme = 'new' AND minor_category = 'TRAFFICKING OF DRUGS' AND year(month) = 2021 GROUP BY 1"""
    ).fetchall()
    drugs = dict(drugs)
    for row in data["areas"]:
        cell = row["cells"][0]
        assert cell["current"] == drugs[row["code"]]
        assert cell["per_1000"] == pytest.approx(drugs[row["code"]] / residents[row["code"]] * 1000)


def test_the_city_is_not_covered_by_the_mets_rankings(loaded_db) -> None:
    from crimeplan.core import Crimeplan

    core = Crimeplan.open(loaded_db, None)
    for key in ("E09000001", "CP"):
        needs = core.needs(key, "2021", "2019")
        assert needs["priorities"]["status"] == "not covered"
        assert "policed by the City of London Police" in needs["priorities"]["message"]
    assert core.needs("Hackney", "2021", "2019")["priorities"]["status"] == "ok"
