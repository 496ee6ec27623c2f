"""Hot spots of a measure across a level, on the real data, checked against independent computations.

The values are recounted from the raw data.police.uk rows with the published LSOA → ward lookup, the
neighbours rebuilt with shapely alone, and Gi* and the Benjamini–Hochberg decisions recomputed from
the formulas — not with the code under test.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests

from crimeplan.errors import CrimeplanError
from crimeplan.measures import Engine
from crimeplan.measures.hotspots import hotspots
from crimeplan.warehouse import Warehouse

CITY = "E09000001"


@pytest.fixture(scope="module")
def engine(loaded_db):
    wh = Warehouse.open(loaded_db, read_only=True)
    yield Engine(wh.con)
    wh.close()


@pytest.fixture(scope="module")
def burglary_wards(engine: Engine) -> dict:
    return hotspots(engine, "burglary", "ward", "2021")


def test_ward_burglary_2021_finds_hot_spots_and_counts_them(burglary_wards: dict) -> None:
    found = burglary_wards
    assert found["status"] == "ok", found["message"]
    assert found["source"]["dataset"] == "police_uk_street"  # the Met's ward file starts in 2024
    assert any("metropolitan-burglary-extract" in f["name"] for f in found["source"]["files"])
    classes = [a["classification"] for a in found["areas"]]
    assert found["hot_spots"] == classes.count("hot spot") >= 1
    assert found["cold_spots"] == classes.count("cold spot")
    assert found["areas_in_analysis"] == len(found["areas"]) == 679  # the Met's 679 wards
    assert found["areas_tested"] == sum(1 for a in found["areas"] if a["z"] is not None)
    assert found["value"]["unit"] == "offences per 1,000 residents"
    assert "Getis" in found["method"]["references"][0] and "Benjamini" in found["method"]["references"][2]
    assert "not a significant change" in found["note"] and "imprecise" in found["note"]
    assert "Open Government Licence" in found["attribution"] and "OS data" in found["attribution"]
    for a in found["areas"]:
        if a["classification"] != "not significant":
            assert a["q"] < 0.05 and (a["z"] > 0) == (a["classification"] == "hot spot")
    json.dumps(found, allow_nan=False)


def test_city_of_london_wards_are_left_out_not_zero(engine: Engine, burglary_wards: dict) -> None:
    city = {a.code for a in engine.areas.level("ward") if a.parent_code == CITY}
    assert len(city) == 25
    left_out = {a["code"]: a["reason"] for a in burglary_wards["left_out"]}
    assert set(left_out) == city
    assert all("City of London Police" in reason for reason in left_out.values())
    assert not city & {a["code"] for a in burglary_wards["areas"]}
    # Some Met records do carry City LSOA codes: leaving the City out is a rule, not an absence of rows.
    stray = engine.con.execute(
        """SELECT count(*) FROM street_crime_current s JOIN area_current a ON a.code = s.lsoa_code AND a.level = 'lsoa'
           WHERE s.reported_by = 'Metropolitan Police Service' AND s.crime_type = 'Burglary'
             AND year(s.month) = 2021 AND a.parent_code = ?""", [CITY]).fetchone()[0]
    assert stray > 0


def test_values_are_burglaries_per_1000_residents(engine: Engine, burglary_wards: dict) -> None:
    by_code = {a["code"]: a for a in burglary_wards["areas"]}
    top = max(burglary_wards["areas"], key=lambda a: a["z"])
    bottom = min(burglary_wards["areas"], key=lambda a: a["z"])
    codes = [top["code"], bottom["code"], "E05009372"]  # and Hackney Central
    recount = dict(engine.con.execute(
        """SELECT l.to_code, count(*) FROM street_crime_current s
           JOIN area_lookup_current l ON l.from_level = 'lsoa' AND l.from_vintage = '2011' AND l.from_code = s.lsoa_code
                                     AND l.to_level = 'ward' AND l.to_vintage = '2022'
           WHERE s.reported_by = 'Metropolitan Police Service' AND s.crime_type = 'Burglary'
             AND s.month BETWEEN DATE '2021-01-01' AND DATE '2021-12-31' AND list_contains(?, l.to_code)
           GROUP BY 1""", [codes]).fetchall())
    residents = dict(engine.con.execute(
        """SELECT code, persons FROM population_current WHERE level = 'ward' AND vintage = '2022'
           AND reference = 'census2021' AND sex = 'all' AND age_band = 'all' AND list_contains(?, code)""",
        [codes]).fetchall())
    for code in codes:
        a = by_code[code]
        assert a["numerator"] == recount[code] > 0, code
        assert a["denominator"] == residents[code], code
        assert a["value"] == pytest.approx(recount[code] / residents[code] * 1000, rel=1e-12), code


def test_z_scores_and_verdicts_match_an_independent_gi_star(engine: Engine, burglary_wards: dict) -> None:
    areas = burglary_wards["areas"]
    codes = [a["code"] for a in areas]
    rows = dict(engine.con.execute(
        "SELECT code, geometry_wkb FROM area_geometry_current WHERE level = 'ward' AND vintage = '2022'").fetchall())
    geometries = shapely.from_wkb([rows[c] for c in codes])
    # Binary queen contiguity with shapely alone: two wards are neighbours when their boundaries meet.
    tree = shapely.STRtree(geometries)
    i, j = tree.query(geometries, predicate="intersects")
    weights = np.zeros((len(codes), len(codes)))
    weights[i, j] = 1.0  # includes each ward itself: Gi*
    assert np.all(np.diag(weights) == 1)
    assert [int(k) for k in weights.sum(axis=1) - 1] == [a["neighbours"] for a in areas]
    x = np.array([a["value"] for a in areas])
    n, mean, s = len(x), x.mean(), x.std()
    w_sum = weights.sum(axis=1)
    z = (weights @ x - mean * w_sum) / (s * np.sqrt((n * (weights ** 2).sum(axis=1) - w_sum ** 2) / (n - 1)))
    assert [a["z"] for a in areas] == pytest.approx(z.tolist(), abs=1e-9)
    # One ward written out by hand: West End (Westminster), the highest rate.
    west_end = codes.index(max(areas, key=lambda a: a["value"])["code"])
    near = [k for k in range(n) if k != west_end and geometries[west_end].intersects(geometries[k])]
    total = x[west_end] + x[near].sum()
    k = len(near) + 1
    by_hand = (total - mean * k) / (s * np.sqrt((n * k - k * k) / (n - 1)))
    assert areas[west_end]["z"] == pytest.approx(by_hand, abs=1e-9)
    # Two-sided normal p-values, Benjamini–Hochberg at 5% (statsmodels).
    p = 2 * norm.sf(np.abs(z))
    assert [a["p"] for a in areas] == pytest.approx(p.tolist(), rel=1e-9)
    reject, q, _, _ = multipletests(p, alpha=0.05, method="fdr_bh")
    assert [a["q"] for a in areas] == pytest.approx(q.tolist(), rel=1e-9)
    expected = np.where(reject, np.where(z > 0, "hot spot", "cold spot"), "not significant")
    assert [a["classification"] for a in areas] == expected.tolist()


def test_wards_without_the_offence_count_as_zero_not_missing(engine: Engine) -> None:
    found = hotspots(engine, "homicide_offences", "ward", "2025")
    assert found["status"] == "ok" and found["source"]["dataset"] == "mps_ward_crime"
    assert found["areas_in_analysis"] == 679
    assert sum(1 for a in found["areas"] if a["numerator"] == 0) > 400
    assert any("median ward had 0" in note for note in found["notes"])


def test_shares_and_survey_estimates(engine: Engine) -> None:
    shares = hotspots(engine, "burglary_charged_share", "ward", "2021")
    assert shares["status"] == "ok" and shares["value"]["unit"] == "% of burglaries"
    for a in shares["areas"]:
        assert a["denominator"] > 0 and a["value"] == pytest.approx(a["numerator"] / a["denominator"] * 100)
    assert all("no outcomes" in a["reason"] or "City of London Police" in a["reason"] for a in shares["left_out"])
    survey = hotspots(engine, "pas_trust_mps", "borough", "2021")
    assert survey["status"] == "ok" and survey["areas_in_analysis"] == 32
    assert "sample sizes are not published" in survey["value"]["definition"]


def test_lsoas_use_the_boundaries_the_source_used_in_the_period(engine: Engine) -> None:
    vintages: dict[str, set] = {}
    for code, vintage in engine.con.execute("SELECT code, vintage FROM area_current WHERE level = 'lsoa'").fetchall():
        vintages.setdefault(code, set()).add(vintage)
    for period, used in (("2021", "2011"), ("2024", "2021")):
        found = hotspots(engine, "burglary", "lsoa", period)
        assert found["status"] == "ok"
        assert all(used in vintages[a["code"]] for a in found["areas"]), period
        assert any(f"on {used} boundaries" in note for note in found["notes"])


def test_levels_periods_and_measures_without_figures(engine: Engine) -> None:
    with pytest.raises(CrimeplanError, match="not 'bcu'"):
        hotspots(engine, "burglary", "bcu", "2021")
    elsewhere = hotspots(engine, "pas_trust_mps", "ward", "2021")
    assert elsewhere["status"] == "not available at this level" and "not measured at ward level" in elsewhere["message"]
    later = hotspots(engine, "burglary", "ward", "2030")
    assert later["status"] == "no data for this period" and "police_uk_street covers" in later["message"]
    assert later["areas"] == []
    boroughs = hotspots(engine, "burglary", "borough", "2021")
    assert boroughs["status"] == "ok" and boroughs["areas_in_analysis"] == 32  # the City: not the Met's
    assert [a["code"] for a in boroughs["left_out"]] == [CITY]


def test_an_unknown_month_leaves_an_areas_total_unknown_never_0(engine: Engine, monkeypatch) -> None:
    """A period holding an area's unknown month (NaN in the cube) is not a count of 0 for it."""
    from crimeplan.measures.hotspots import _values
    from crimeplan.measures.periods import parse_period

    class Cube:  # the one call _values makes of a cube: the period's totals, one per area
        def totals(self, periods, what="value"):
            return np.array([[5.0, np.nan, 0.0]] if what == "value" else [[10.0, np.nan, 4.0]])

    period = parse_period("2021")
    monkeypatch.setattr(engine, "covered_population", lambda source, level: np.array([1000.0, 1000.0, 1000.0]))
    covered = np.array([True, True, True])
    for measure in ("burglary", "burglary_charged_share"):
        m = engine.plan.measure(measure)
        source = m.sources[0]
        numerator, _, value = _values(engine, m, source, Cube(), "ward", period, covered)
        assert numerator[0] == 5 and np.isnan(numerator[1]) and numerator[2] == 0, measure
        assert np.isnan(value[1]), measure
