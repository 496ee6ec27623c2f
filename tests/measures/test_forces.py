"""Forces compared on the real Home Office table, against figures read by hand from rec-crime-pfa.csv.

The expected totals below were read from the raw CSV (the rows of the force at that date, every offence
but 'Fraud offences', added up by hand), never computed with the code under test:

- Metropolitan Police, 31-12-2018: 114,092 + 19,487 + 56,537 + 49 + 0 + 35,474 + 140 + 9,876 + 0 + 20,750
  + 7,401 + 48,281 + 59,710 + 33,103 + 20,475 + 43,743 + 48,642 + 42,850 + 112,655 + 76,904 + 84,909 = 835,078
- Metropolitan Police, 30-12-2017 (the table's typo for 31-12-2017): 809,049
- Greater Manchester, 31-12-2018: 334,976; 30-12-2017: 335,347
- Metropolitan Police burglary, 2018-12: Residential 59,710 + Non-residential 20,750 (Domestic and
  Non-domestic 0) = 80,460; 2017-12: Domestic 12,063 + Non-domestic 6,917 + Non-residential 14,411
  + Residential 41,383 = 74,774
- Metropolitan Police, 31-12-2012: 789,993 with its 'Fraud offences' (30,232), 759,761 without
"""

from __future__ import annotations

import duckdb
import pytest
from scipy.stats import binomtest
from statsmodels.stats.multitest import multipletests

from crimeplan import ATTRIBUTION
from crimeplan.measures.forces import ForcesError, forces_compared

MET, GMP = "Metropolitan Police", "Greater Manchester"
MET_2018_12, MET_2017_12 = 835_078, 809_049
GMP_2018_12, GMP_2017_12 = 334_976, 335_347
MET_BURGLARY_2018_12, MET_BURGLARY_2017_12 = 80_460, 74_774
MET_2012_12_WITHOUT_FRAUD = 759_761


@pytest.fixture(scope="module")
def con(loaded_db):
    c = duckdb.connect(str(loaded_db), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def default(con):
    return forces_compared(con, highlight="Metropolitan Police Service")


def by_force(result: dict) -> dict[str, dict]:
    return {f["force"]: f for f in result["forces"]}


def test_default_is_the_latest_quarter_against_a_year_earlier(default):
    assert (default["period"], default["baseline"]) == ("2018-12", "2017-12")
    assert default["period_text"] == "the 12 months to December 2018"


def test_met_and_greater_manchester_totals_match_the_csv(default):
    forces = by_force(default)
    assert (forces[MET]["current"], forces[MET]["baseline"]) == (MET_2018_12, MET_2017_12)
    assert (forces[GMP]["current"], forces[GMP]["baseline"]) == (GMP_2018_12, GMP_2017_12)
    trend = {p["period"]: p["value"] for p in forces[MET]["trend"]}
    assert trend["2018-12"] == MET_2018_12 and trend["2017-12"] == MET_2017_12
    # All offences leaves out the forces' own fraud (recording moved to Action Fraud).
    assert trend["2012-12"] == MET_2012_12_WITHOUT_FRAUD


def test_territorial_forces_only_and_the_left_out_named(default):
    names = {f["force"] for f in default["forces"]}
    assert len(names) == 43
    left_out = {x["force"]: x["reason"] for x in default["left_out"]}
    assert set(left_out) == {"British Transport Police", "Action Fraud", "CIFAS", "UK Finance"}
    assert not names & set(left_out)
    assert all(left_out.values())


def test_rate_ratio_interval_agrees_with_clopper_pearson_from_scipy(default):
    for name, current, baseline in ((MET, MET_2018_12, MET_2017_12), (GMP, GMP_2018_12, GMP_2017_12)):
        f = by_force(default)[name]
        # Conditional on the total, the current count is Binomial(n, pi) with RR = pi / (1 - pi) (equal exposures).
        test = binomtest(current, current + baseline, 0.5)
        ci = test.proportion_ci(confidence_level=0.95, method="exact")
        low, high = ci.low / (1 - ci.low), ci.high / (1 - ci.high)
        assert f["ratio"] == pytest.approx(current / baseline, rel=1e-12)
        assert 1 + f["change_low_pct"] / 100 == pytest.approx(low, rel=1e-9)
        assert 1 + f["change_high_pct"] / 100 == pytest.approx(high, rel=1e-9)
        # With equal exposures the null is pi = 1/2, symmetric: scipy's p-value is the central one.
        assert f["p_value"] == pytest.approx(test.pvalue, rel=1e-6)


def test_met_figures(default):
    met = by_force(default)[MET]
    assert met["highlighted"] and sum(f["highlighted"] for f in default["forces"]) == 1
    assert default["highlight"] == MET
    assert met["change_pct"] == pytest.approx((MET_2018_12 / MET_2017_12 - 1) * 100)
    assert met["verdict"] == "significant rise"


def test_fdr_across_forces(default):
    ok = [f for f in default["forces"] if f["status"] == "ok"]
    assert default["forces_compared"] == len(ok) == 43
    p = [f["p_value"] for f in ok]
    expected_q = multipletests(p, method="fdr_bh")[1]
    for f, q in zip(ok, expected_q):
        assert f["q_value"] >= f["p_value"]
        assert f["q_value"] == pytest.approx(q, rel=1e-9)
        assert f["significant"] == (f["q_value"] < 0.05)
        assert (f["verdict"] != "no significant change") == f["significant"]
    assert any(f["q_value"] > f["p_value"] for f in ok)
    assert sum(default["summary"].values()) == 43


def test_fdr_decides_the_verdict_not_the_raw_p(con):
    # Homicide 2018-12 against 2017-12: small counts, several raw p-values under 0.05 that FDR does not keep.
    result = forces_compared(con, "Homicide")
    dropped = [f for f in result["forces"] if f["status"] == "ok" and f["p_value"] < 0.05 <= f["q_value"]]
    assert dropped, "expected a force significant before FDR and not after"
    assert all(f["verdict"] == "no significant change" for f in dropped)


def test_a_window_with_a_missing_quarter_is_incomplete_data(con):
    result = forces_compared(con, period_end="2007-12", baseline_end="2006-12")  # only March year-ends before 2007
    assert {f["verdict"] for f in result["forces"]} == {"incomplete data"}
    for f in result["forces"]:
        assert f["current"] is None and f["baseline"] is None and f["change_pct"] is None and f["q_value"] is None
        assert "December 2006: absent" in f["reason"]
    assert result["forces_compared"] == 0
    march = forces_compared(con, period_end="2007-03", baseline_end="2006-03")
    assert march["forces_compared"] == 43
    trend = {p["period"]: p for p in by_force(march)[MET]["trend"]}
    assert trend["2006-12"]["value"] is None and trend["2006-12"]["status"] == "incomplete data"


def test_a_negative_total_is_not_comparable(con):
    # Leicestershire, 30-09-2009, Death or serious injury caused by illegal driving: -21 as published.
    result = forces_compared(con, "Death or serious injury caused by illegal driving", "2009-09", "2008-09")
    leics = by_force(result)["Leicestershire"]
    assert leics["verdict"] == "not comparable" and leics["current"] is None
    assert "negative" in leics["reason"] and "-21" in leics["reason"]
    assert result["forces_compared"] == 42


def test_burglary_across_its_redefinition(con):
    residential = forces_compared(con, "Residential burglary")
    assert {f["verdict"] for f in residential["forces"]} == {"not comparable"}
    assert "April 2017" in by_force(residential)[MET]["reason"]
    every = forces_compared(con, "all burglary")
    met = by_force(every)[MET]
    assert (met["current"], met["baseline"]) == (MET_BURGLARY_2018_12, MET_BURGLARY_2017_12)


def test_other_quarter_ends(con):
    result = forces_compared(con, ["Robbery", "Homicide"], "2018-12", "2015-12")
    assert (result["period"], result["baseline"]) == ("2018-12", "2015-12")
    assert result["offences"] == ["Robbery", "Homicide"]


@pytest.mark.parametrize("kwargs, message", [
    ({"period_end": "2018-11"}, "not a quarter end"),
    ({"period_end": "December 2018"}, "YYYY-MM"),
    ({"period_end": "2018-12", "baseline_end": "2018-03"}, "overlap"),
    ({"period_end": "2019-03"}, "covers quarter ends from 2003-03 to 2018-12"),
    ({"offence": "Burglary of sheds"}, "not in the Home Office table"),
    ({"highlight": "Gotham City Police"}, "no territorial force"),
])
def test_parameters_it_cannot_use(con, kwargs, message):
    with pytest.raises(ForcesError, match=message):
        forces_compared(con, **kwargs)


def test_provenance_and_attribution(default):
    assert [f["name"] for f in default["files"]] == ["rec-crime-pfa.csv"]
    assert default["files"][0]["edition"] == "2018-12" and len(default["files"][0]["sha256"]) == 64
    assert default["attribution"] == ATTRIBUTION


def test_a_partial_quarter_is_never_compared(tmp_path):
    """A quarter the coverage model finds implausibly low (partial) gives 'incomplete data'."""
    from crimeplan.warehouse import Warehouse

    lines = ["12 months ending,PFA,Region,Offence,Rolling year total number of offences"]
    for year in range(2014, 2019):
        for month, day in ((3, 31), (6, 30), (9, 30), (12, 31)):
            for force in ("Northshire", "Southshire", "Eastshire"):
                total = 10 if (force == "Northshire" and (year, month) == (2017, 12)) else 10_000 + year
                lines.append(f"{day:02d}-{month:02d}-{year},{force},Test,Robbery,{total}")
    path = tmp_path / "rec-crime-pfa.csv"
    path.write_text("\n".join(lines) + "\n")
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as wh:
        wh.load([path])
    con = duckdb.connect(str(db), read_only=True)
    try:
        status = con.execute("SELECT status FROM coverage WHERE series = 'Northshire' AND period = DATE '2017-12-31'"
                             ).fetchone()[0]
        assert status == "partial"
        result = by_force(forces_compared(con))
    finally:
        con.close()
    assert result["Northshire"]["verdict"] == "incomplete data"
    assert "partial" in result["Northshire"]["reason"] and result["Northshire"]["current"] is None
    assert result["Southshire"]["status"] == "ok"
    assert (result["Southshire"]["current"], result["Southshire"]["baseline"]) == (12_018, 12_017)
