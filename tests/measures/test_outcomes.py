"""Investigation outcomes: the grouping, crime cohorts at equal follow-up, and the artefact they remove."""

from __future__ import annotations

import csv
import json
import io
import zipfile
from datetime import date

import pytest
from scipy.stats import binom

from crimeplan.catalogue import load_catalogue
from crimeplan.measures import Engine
from crimeplan.measures.outcomes import forces_funnel, time_to_outcome
from crimeplan.measures.periods import parse_period
from crimeplan.plan import load_plan
from crimeplan.plan.schema import Measure, OutcomeSource
from crimeplan.warehouse import Warehouse

CATALOGUE = load_catalogue()


# --- grouping ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("table", "field", "dataset"), [
    ("street_crime", "last_outcome_category", "police_uk_street"),
    ("outcome", "outcome_type", "police_uk_outcomes"),
])
def test_every_outcome_category_in_the_real_files_has_a_group(loaded, table, field, dataset):
    present = {v for (v,) in loaded.con.execute(
        f"SELECT DISTINCT {field} FROM {table}_current WHERE {field} IS NOT NULL").fetchall()}
    groups = CATALOGUE.dataset(dataset).group_of(field)
    assert len(present) >= 8, present  # the real files hold many categories, not an empty table
    assert sorted(present - set(groups)) == []


def test_the_two_forms_share_one_grouping_and_each_category_sits_in_one_group():
    street = CATALOGUE.dataset("police_uk_street").groups["last_outcome_category"]
    outcomes = CATALOGUE.dataset("police_uk_outcomes").groups["outcome_type"]
    assert street == outcomes
    values = [v for members in street.values() for v in members]
    assert len(values) == len(set(values))
    assert CATALOGUE.dataset("police_uk_outcomes").group_of("outcome_type")["Offender fined"] == "charged or summonsed"
    assert CATALOGUE.dataset("police_uk_street").group_of("last_outcome_category")[
        "Investigation complete; no suspect identified"] == "no suspect identified"


# --- equal follow-up on a synthetic force -------------------------------------------------------------

STREET = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
          "Last outcome category,Context")
OUTCOMES = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Outcome type"
FORCE = "Merseyside Police"
MONTHS = [f"{y}-{m:02d}" for y in (2019, 2020) for m in range(1, 13)][:18]  # 2019-01 .. 2020-06
CRIMES_A_MONTH, CHARGE_LAG = 200, 2  # 30% of every month's burglaries charged two months after the crime


def _later(month: str, k: int) -> str:
    y, m = map(int, month.split("-"))
    y, m = divmod(y * 12 + m - 1 + k, 12)
    return f"{y}-{m + 1:02d}"


def _synthetic_force(data_dir, tmp_path):
    """A Merseyside zip whose outcomes files, like data.police.uk's, list each month's outcomes of crimes of any
    earlier month: 30% of burglaries are charged two months after the crime, half closed with no suspect at once."""
    from tests.measures.test_code_sets import _census_cut

    census, rows = _census_cut(data_dir)
    lsoas = [(r.split(" : ")[0], r.split(" : ")[1].split(",")[0]) for r in rows]
    (tmp_path / "census2021-ts021-lsoa.csv").write_text(census, encoding="utf-8")
    street = {m: [STREET] for m in MONTHS}
    outcomes = {m: [OUTCOMES] for m in MONTHS}
    for month in MONTHS:
        for i in range(CRIMES_A_MONTH):
            code, name = lsoas[i % len(lsoas)]
            where = f"{FORCE},{FORCE},-2.9,53.4,On or near Here,{code},{name}"
            crime_id = f"c{month}-{i:04d}"
            street[month].append(f"{crime_id},{month},{where},Burglary,Under investigation,")
            if i % 10 < 3:
                charged = _later(month, CHARGE_LAG)
                if charged in outcomes:  # not yet published: the loaded data ends at 2020-06
                    outcomes[charged].append(f"{crime_id},{charged},{where},Suspect charged")
            elif i % 10 < 8:
                outcomes[month].append(f"{crime_id},{month},{where},Investigation complete; no suspect identified")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for month in MONTHS:
            z.writestr(f"{month}/{month}-merseyside-street.csv", "\n".join(street[month]) + "\n")
            z.writestr(f"{month}/{month}-merseyside-outcomes.csv", "\n".join(outcomes[month]) + "\n")
    (tmp_path / "merseyside-2019-01_2020-06.zip").write_bytes(buffer.getvalue())
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as wh:
        report = wh.load([tmp_path / "census2021-ts021-lsoa.csv", tmp_path / "merseyside-2019-01_2020-06.zip"])
    assert not [f.message for f in report.files if f.status == "refused"]
    return db


def _charged(engine: Engine, within: int) -> Measure:
    """Burglaries charged within ``within`` months, at the Merseyside plan's force level."""
    return engine.plan.measures[0].model_copy(update={
        "id": f"charged_within_{within}", "statistic": "proportion", "aim": "up", "unit": "% of burglaries",
        "sources": [OutcomeSource(dataset="police_uk_outcomes", outcome_groups=["charged or summonsed"],
                                  crime_types=["Burglary"], force=FORCE, within_months=within)]})


@pytest.mark.filterwarnings("ignore::crimeplan.plan.check.PlanCheckWarning")  # one crime type only
def test_cohorts_without_their_follow_up_are_not_final_and_the_artefact_is_gone(data_dir, tmp_path):
    engine = Engine.open(_synthetic_force(data_dir, tmp_path), load_plan("merseyside"))
    # The artefact: of the outcomes recorded so far, charges fall from 37.5% (3 of 8) to 0 in the last two months,
    # only because those crimes have not yet had the two months a charge takes.
    naive = dict(engine.con.execute(
        """SELECT strftime(s.month, '%Y-%m'), 100.0 * count(*) FILTER (WHERE o.outcome_type = 'Suspect charged')
                  / count(o.outcome_type)
           FROM street_crime_current s LEFT JOIN outcome_current o USING (crime_id) GROUP BY 1""").fetchall())
    assert naive["2019-06"] == pytest.approx(37.5) and naive["2020-06"] == 0

    # Followed for 3 months: 30% in every final cohort, the same in 2020-Q1 as in 2019-Q1: no change.
    [f] = engine.evaluate(_charged(engine, 3), "force", parse_period("2020-Q1"), parse_period("2019-Q1"))
    assert f.status == "ok" and f.current[0] == f.baseline[0] == pytest.approx(30.0)
    assert f.current_denominator[0] == 3 * CRIMES_A_MONTH and f.verdict[0] == "no significant change"
    # The cohorts of 2020-04 to 2020-06 have fewer than 3 months of outcomes loaded: not final, never judged.
    [late] = engine.evaluate(_charged(engine, 3), "force", parse_period("2020-Q2"), parse_period("2019-Q2"))
    assert late.status == "incomplete data" and late.verdict is None
    assert "2020-04, 2020-05, 2020-06 not final (fewer than the 3 months' follow-up of outcomes loaded)" in late.message
    assert [m.strftime("%Y-%m") for m in late.missing] == ["2020-04", "2020-05", "2020-06"]
    # Within 1 month a charge two months on is not counted: 0% in every cohort, final up to 2020-05.
    [short] = engine.evaluate(_charged(engine, 1), "force", parse_period("2020-05"), parse_period("2019-05"))
    assert short.status == "ok" and short.current[0] == short.baseline[0] == 0
    [edge] = engine.evaluate(_charged(engine, 1), "force", parse_period("2020-06"), parse_period("2019-06"))
    assert edge.status == "incomplete data"
    # Within exactly the two months a charge takes: 30%, final up to 2020-04 and not for 2020-05.
    [two] = engine.evaluate(_charged(engine, 2), "force", parse_period("2020-04"), parse_period("2019-04"))
    assert two.status == "ok" and two.current[0] == two.baseline[0] == pytest.approx(30.0)
    [after] = engine.evaluate(_charged(engine, 2), "force", parse_period("2020-05"), parse_period("2019-05"))
    assert after.status == "incomplete data"

    # Time to outcome: half closed with no suspect in the crime's month, 30% charged two months on, 20% open;
    # the crimes of 2019 are followed for 17 (2019-01) down to 6 (2019-12) months, censored after that.
    curves = time_to_outcome(engine, engine.areas.get("merseyside"), parse_period("2019"), ["Burglary"], FORCE)
    assert curves["crimes"] == 12 * CRIMES_A_MONTH and curves["months"] == list(range(18))
    by_group = {g["group"]: g["incidence"] for g in curves["groups"]}
    assert by_group["no suspect identified"] == pytest.approx([50.0] * 18)
    assert by_group["charged or summonsed"] == pytest.approx([0.0, 0.0] + [30.0] * 16)
    assert curves["open"][2:] == pytest.approx([20.0] * 16) and curves["median_months_to_charge"] == CHARGE_LAG
    # Open: all 2,400; 1,200 after the closures; 480 after the charges; 440 once 2019-12's 40 open crimes end at 6.
    assert curves["at_risk"][:4] == [2400, 1200, 1200, 480] and curves["at_risk"][7] == 440
    assert curves["at_risk"][-1] == 40  # only 2019-01's open crimes are followed to month 17
    # Drawn as steps on the page: one line per group reached, month by month; no chart of a single month.
    from crimeplan.web.charts import time_to_outcome_chart

    figure = time_to_outcome_chart(curves)
    assert [t["name"] for t in figure["data"]] == ["charged or summonsed", "no suspect identified"]
    assert figure["data"][0]["x"] == list(range(18)) and figure["data"][0]["y"] == by_group["charged or summonsed"]
    assert time_to_outcome_chart(curves | {"months": [0]}) is None


# --- the Met's burglaries, on the real data -------------------------------------------------------------

def test_the_met_burglary_charged_share_is_judged_at_equal_follow_up(loaded_db):
    from crimeplan.plan import load_plan as plan_of

    engine = Engine.open(loaded_db, plan_of("london"))
    measure = engine.plan.measure("burglary_charged_share")
    [f] = engine.evaluate(measure, "london", parse_period("2024"), parse_period("2019"))
    # Counted here from the raw rows: burglaries of the year placed in London, and those with a charge-group
    # outcome recorded in the crime's own month (the extract holds no later outcome).
    charged_types = list(CATALOGUE.dataset("police_uk_outcomes").groups["outcome_type"]["charged or summonsed"])
    counts = {}
    for year in (2019, 2024):
        counts[year] = engine.con.execute(
            """WITH c AS (SELECT DISTINCT crime_id, month FROM street_crime_current
                          WHERE reported_by = 'Metropolitan Police Service' AND crime_type = 'Burglary'
                            AND year(month) = ? AND lsoa_code IN (SELECT code FROM area_all WHERE level = 'lsoa'))
               SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM outcome_current o WHERE o.crime_id = c.crime_id
                                         AND o.month = c.month AND list_contains(?, o.outcome_type))), count(*)
               FROM c""", [year, charged_types]).fetchone()
    assert f.status == "ok"
    assert (f.baseline_denominator[0], f.current_denominator[0]) == (counts[2019][1], counts[2024][1])
    assert f.baseline[0] == pytest.approx(100 * counts[2019][0] / counts[2019][1])
    assert f.current[0] == pytest.approx(100 * counts[2024][0] / counts[2024][1])
    # The old share of outcome records fell 33 points (36.4% to 2.7%); at equal follow-up both years are near 1%.
    assert 0.5 < f.current[0] < 2 and 0.5 < f.baseline[0] < 2 and abs(f.change[0]) < 0.5

    # Six months' follow-up cannot be had from the extract: every cohort is not final, and says why.
    six = measure.model_copy(update={"id": "burglary_charged_within_6", "sources": [measure.sources[0].model_copy(update={"within_months": 6})]})
    [g] = engine.evaluate(six, "london", parse_period("2024"), parse_period("2019"))
    assert g.status == "incomplete data" and g.verdict is None
    assert ("not final (metropolitan-burglary-extract-2018-01_2025-02.zip holds only outcomes recorded within 0 "
            "months of a crime's month, short of the 6 months' follow-up)") in g.message


def test_a_crime_type_an_extract_left_out_is_not_recorded_never_zero(loaded_db):
    """The Met's street and outcomes files are an extract of burglaries (catalogue ``crime_types``): robberies
    counted from it, or a share taking robberies in, are not recorded, never 0 robberies; burglary is unchanged."""
    from crimeplan.plan import load_plan as plan_of
    from crimeplan.plan.schema import StreetCrimeSource

    engine = Engine.open(loaded_db, plan_of("london"))
    burglary = engine.plan.measure("burglary")
    street = next(s for s in burglary.sources if isinstance(s, StreetCrimeSource))
    robbery = burglary.model_copy(update={"id": "robbery_street", "levels": ["lsoa"], "sources": [
        street.model_copy(update={"crime_types": ["Robbery"]})]})
    why = ("not recorded (metropolitan-burglary-extract-2018-01_2025-02.zip is an extract holding only Burglary, "
           "not Robbery)")
    for statistic in ("count", "harm"):
        [f] = engine.evaluate(robbery.model_copy(update={"statistic": statistic}), "lsoa", parse_period("2024"),
                              parse_period("2019"))
        assert f.status == "not recorded" and f.verdict is None, (statistic, f.status)
        assert why in f.message
    [b] = engine.evaluate(burglary.model_copy(update={"id": "burglary_lsoa", "levels": ["lsoa"],
                                                      "sources": [street]}), "lsoa", parse_period("2024"),
                          parse_period("2019"))
    counted = [c for c in b.current if c == c]  # the LSOAs the Met's files cover (not the City's)
    assert b.status == "ok" and len(counted) > 4_900 and sum(counted) > 40_000  # the Met's burglaries of 2024

    charged = engine.plan.measure("burglary_charged_share")
    mixed = charged.model_copy(update={"id": "charged_burglary_robbery", "sources": [
        charged.sources[0].model_copy(update={"crime_types": ["Burglary", "Robbery"]})]})
    [m] = engine.evaluate(mixed, "london", parse_period("2024"), parse_period("2019"))
    assert m.status == "not recorded" and why in m.message


# --- forces on the funnel, on the real national zip --------------------------------------------------------

def _raw_no_suspect_by_force(data_dir) -> dict[str, dict[str, list[int]]]:
    """Per force and crime month, from the zip's CSVs read here: [no suspect identified, known last outcome, unknown],
    each crime once (data.police.uk repeats some rows)."""
    out: dict[str, dict[str, list[int]]] = {}
    seen: set[tuple[str, str, str, str]] = set()
    with zipfile.ZipFile(data_dir / "police-uk" / "national-street-2018-10_2019-02.zip") as z:
        for name in z.namelist():
            if not name.endswith("-street.csv"):
                continue
            with z.open(name) as raw:
                for row in csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8-sig")):
                    cell = out.setdefault(row["Reported by"], {}).setdefault(row["Month"], [0, 0, 0])
                    key = (row["Reported by"], row["Month"], row["Crime type"], row["Crime ID"])
                    if not row["Crime ID"] or key in seen:
                        continue  # anti-social behaviour: no Crime ID, no outcome; or a repeated row (its first counts)
                    seen.add(key)
                    outcome = row["Last outcome category"]
                    if outcome in ("", "Status update unavailable"):
                        cell[2] += 1
                    else:
                        cell[1] += 1
                        cell[0] += outcome == "Investigation complete; no suspect identified"
    return out


def _limit(p0: float, n: int, p: float) -> float:
    """Spiegelhalter's (2005) interpolated binomial limit, written out here with scipy's binomial."""
    r = max(0, int(n * p0 - 8 * (n * p0 * (1 - p0)) ** 0.5))  # well below every quantile asked for
    assert r == 0 or binom.cdf(r, n, p0) < p
    while binom.cdf(r, n, p0) < p:  # the smallest r with F(r) >= p, counted up one at a time
        r += 1
    alpha = (binom.cdf(r, n, p0) - p) / (binom.cdf(r, n, p0) - binom.cdf(r - 1, n, p0))
    return (r - alpha) / n


def test_every_forces_funnel_position_matches_an_independent_count(loaded, data_dir):
    funnel_data = forces_funnel(loaded.con, "no suspect identified")
    raw = _raw_no_suspect_by_force(data_dir)
    assert len(raw) == 41 and funnel_data["file"]["edition"] == "2019-02"
    months = ["2018-11", "2018-12", "2019-01", "2019-02"]  # every force of the file has these; 2 lack 2018-10
    assert (funnel_data["first"], funnel_data["last"]) == ("2018-11", "2019-02")
    totals = {f: [sum(m[k][i] for k in months) for i in range(3)] for f, m in raw.items()}
    kept = {f: t for f, t in totals.items() if t[1] > 0 and t[2] <= 0.10 * (t[1] + t[2])}  # at most 10% unknown
    # Kent's 2018-12 holds half a month's crimes (the coverage model: 8,438 against a median of 17,042): left out.
    assert sum(raw["Kent Police"]["2018-12"]) < 0.6 * sum(raw["Kent Police"]["2019-01"])
    kept.pop("Kent Police")
    left_out = {x["force"]: x["reason"] for x in funnel_data["left_out"]}
    assert set(left_out) == set(totals) - set(kept)  # every force of the file is shown or left out, saying why
    assert "Police Service of Northern Ireland" in left_out  # it publishes no outcomes
    assert "has a Crime ID" in left_out["British Transport Police"]  # its rows in this file carry none
    assert "2018-12 partial (implausibly low" in left_out["Kent Police"]
    p0 = sum(t[0] for t in kept.values()) / sum(t[1] for t in kept.values())
    assert funnel_data["target"] == pytest.approx(p0 * 100)
    shown = {f["force"]: f for f in funnel_data["forces"]}
    assert set(shown) == set(kept)
    for force, (reached, crimes, unknown) in kept.items():
        f = shown[force]
        assert (f["reached"], f["crimes"], f["unknown"]) == (reached, crimes, unknown), force
        share = reached / crimes
        lo95, hi95 = (binom.ppf(0.025, crimes, p0), binom.ppf(0.975, crimes, p0))
        limits = {q: _limit(p0, crimes, q) for q in (0.001, 0.025, 0.975, 0.999)}
        assert f["limits"]["95%"] == pytest.approx([limits[0.025] * 100, limits[0.975] * 100], abs=1e-9)
        assert lo95 / crimes - 1 / crimes <= limits[0.025] <= hi95 / crimes  # the limits sit at the quantiles
        expected = ("above 99.8%" if share > limits[0.999] else "above 95%" if share > limits[0.975] else
                    "below 99.8%" if share < limits[0.001] else "below 95%" if share < limits[0.025] else "within 95%")
        assert f["position"] == expected, force
    # The 2018-10 cohort asked for: the two forces lacking it are left out, saying so.
    with_october = forces_funnel(loaded.con, "no suspect identified", first=date(2018, 10, 1), last=date(2019, 2, 1))
    lacking = {x["force"]: x["reason"] for x in with_october["left_out"]}
    assert "the file lacks its crimes of 2018-10" in lacking["Lancashire Constabulary"]
    assert "Northumbria Police" in lacking


def test_the_outcome_commands_print_the_figures_with_their_follow_up(loaded_db):
    from typer.testing import CliRunner

    from crimeplan.cli import app

    runner = CliRunner()
    shown = runner.invoke(app, ["outcomes", "--area", "Croydon", "--period", "2019", "--db", str(loaded_db)])
    assert shown.exit_code == 0, shown.output
    assert "crimes followed for the month they were recorded" in shown.output and "n = 2,748 crimes" in shown.output
    assert "charged or summonsed" in shown.output and "Aalen-Johansen" in shown.output
    data = json.loads(runner.invoke(app, ["outcomes", "--area", "Croydon", "--period", "2019", "--format", "json",
                                          "--db", str(loaded_db)]).output)
    charged = next(g for g in data["groups"] if g["group"] == "charged or summonsed")
    assert (charged["reached"], charged["crimes"]) == (34, 2748) and charged["low"] < charged["share"] < charged["high"]
    not_final = runner.invoke(app, ["outcomes", "--area", "Croydon", "--period", "2019", "--within", "6",
                                    "--db", str(loaded_db)])
    assert not_final.exit_code == 0 and "not final" in not_final.output
    bad = runner.invoke(app, ["outcomes", "--crime-type", "Robbery", "--db", str(loaded_db)])
    assert bad.exit_code != 0 and "no crimes of type 'Robbery'" in bad.output
    table = runner.invoke(app, ["outcome-funnel", "--format", "csv", "--db", str(loaded_db)])
    lines = table.output.strip().splitlines()
    assert lines[0].startswith("force,crimes,reached") and len(lines) == 30 + 2
    assert lines[-1].startswith("# Contains public sector information licensed under the Open Government Licence")


# --- boroughs and wards on the funnel, on the real Met extract ------------------------------------------------

def _raw_charged_by_borough(data_dir, year: int) -> dict[str, list[int]]:
    """Per borough (the LSOA name's prefix), read here from the extract's CSVs: [burglaries of ``year`` with a
    Crime ID, those with a charge-group outcome recorded in the crime's own month], each crime once."""
    charged_types = set(CATALOGUE.dataset("police_uk_outcomes").groups["outcome_type"]["charged or summonsed"])
    crimes: dict[str, tuple[str, str]] = {}  # crime ID -> (month, borough), its first row
    charged: set[tuple[str, str]] = set()  # (crime ID, outcome month)
    with zipfile.ZipFile(data_dir / "police-uk" / "metropolitan-burglary-extract-2018-01_2025-02.zip") as z:
        for name in sorted(z.namelist()):
            if not name.startswith(f"{year}-"):
                continue
            with z.open(name) as raw:
                for row in csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8-sig")):
                    if not row["Crime ID"]:
                        continue
                    if name.endswith("-street.csv") and row["Crime type"] == "Burglary" and row["LSOA name"]:
                        crimes.setdefault(row["Crime ID"], (row["Month"], row["LSOA name"].rsplit(" ", 1)[0]))
                    elif name.endswith("-outcomes.csv") and row["Outcome type"] in charged_types:
                        charged.add((row["Crime ID"], row["Month"]))
    out: dict[str, list[int]] = {}
    for crime_id, (month, borough) in crimes.items():
        cell = out.setdefault(borough, [0, 0])
        cell[0] += 1
        cell[1] += (crime_id, month) in charged
    return out


def test_every_boroughs_funnel_position_matches_an_independent_count(loaded_db, data_dir):
    from crimeplan.core import Crimeplan
    from crimeplan.measures.outcomes import areas_funnel

    engine = Engine.open(loaded_db, load_plan("london"))
    data = areas_funnel(engine, "borough", parse_period("2019"), highlight="E09000008")
    raw = _raw_charged_by_borough(data_dir, 2019)
    assert data["status"] == "ok" and data["within_months"] == 0
    shown = {a["name"]: a for a in data["areas"]}
    assert len(shown) == 32 and "City of London" not in shown  # the City of London Police's, not the Met's
    [city] = data["left_out"]
    assert city["name"] == "City of London" and "policed by the City of London Police" in city["reason"]
    assert shown["Croydon"]["highlighted"] and sum(a["highlighted"] for a in data["areas"]) == 1
    assert (shown["Croydon"]["crimes"], shown["Croydon"]["reached"]) == (2748, 34)  # as the Victims section
    p0 = sum(raw[b][1] for b in shown) / sum(raw[b][0] for b in shown)
    assert data["target"] == pytest.approx(p0 * 100)
    for borough, a in shown.items():
        crimes, reached = raw[borough]
        assert (a["crimes"], a["reached"]) == (crimes, reached), borough
        share = reached / crimes
        limits = {q: _limit(p0, crimes, q) for q in (0.001, 0.025, 0.975, 0.999)}
        assert a["limits"]["99.8%"] == pytest.approx([limits[0.001] * 100, limits[0.999] * 100], abs=1e-9)
        expected = ("above 99.8%" if share > limits[0.999] else "above 95%" if share > limits[0.975] else
                    "below 99.8%" if share < limits[0.001] else "below 95%" if share < limits[0.025] else "within 95%")
        assert a["position"] == expected, borough

    # Wards where the numbers allow: fewer than 10 crimes, or another force's, and the ward is left out saying so.
    wards = Crimeplan(engine).outcome_areas_funnel("ward", "2019", None, "Croydon")
    assert wards["status"] == "ok" and not any(a["highlighted"] for a in wards["areas"])  # Croydon is no ward
    assert all(a["crimes"] >= 10 for a in wards["areas"])
    reasons = [x["reason"] for x in wards["left_out"]]
    assert any("fewer than the 10" in r for r in reasons) and any("policed by" in r for r in reasons)
    assert len(wards["areas"]) + len(wards["left_out"]) == len(engine.areas.level("ward"))
    # Six months' follow-up is not in the extract: no area is placed, and the answer says why.
    six = areas_funnel(engine, "borough", parse_period("2019"), within=6)
    assert six["status"] == "not final" and not six["areas"] and "short of the 6 months' follow-up" in six["message"]
