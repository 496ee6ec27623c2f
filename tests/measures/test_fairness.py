"""Stop and search fairness: placement, disproportionality, the outcome test and small numbers.

On the real data the figures are checked against independent computations: searches counted
straight from the zip's CSV files, residents from the Nomis TS021 file read here with the csv
module, the Clopper–Pearson interval from scipy's beta quantiles.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile

import numpy as np
import pytest
import shapely
from scipy.stats import beta, norm

from crimeplan.catalogue import load_catalogue
from crimeplan.core import Crimeplan
from crimeplan.measures import Engine
from crimeplan.measures.fairness import fairness
from crimeplan.sources.geography import PLACED_INSIDE, PLACED_NEAREST, PLACED_OUTSIDE, place_points
from crimeplan.stats.ratio_of_ratios import ratio_of_ratios
from crimeplan.warehouse import Warehouse

PERIOD = "FY2023-24"  # complete in the Met's file (2023-04 to 2024-03)
BELOW = 10


# --- placement ------------------------------------------------------------------------------------

def test_place_points_inside_overlap_sliver_and_outside():
    # Two unit squares (in degrees, near London's latitude) sharing an edge, and a third overlapping B.
    a = shapely.box(0.0, 51.0, 0.01, 51.01)
    b = shapely.box(0.0101, 51.0, 0.02, 51.01)  # a sliver of 0.0001° (~7 m) between a and b
    c = shapely.box(0.015, 51.0, 0.03, 51.01)  # overlaps b from 0.015 to 0.02
    xs = np.array([0.005, 0.01005, 0.017, 0.5, 0.025])
    ys = np.array([51.005, 51.005, 51.005, 51.005, 51.005])
    codes, how = place_points(xs, ys, ["C", "B", "A"], [c.wkb, b, a])
    assert codes == ["A", "A", "B", None, "C"]  # the sliver point to the nearest (A, at ~3 m); overlap to B (first)
    assert how == [PLACED_INSIDE, PLACED_NEAREST, PLACED_INSIDE, PLACED_OUTSIDE, PLACED_INSIDE]


def test_place_points_far_from_every_polygon_is_outside():
    square = shapely.box(0.0, 51.0, 0.01, 51.01)
    codes, how = place_points(np.array([0.0108]), np.array([51.005]), ["A"], [square])  # ~56 m east
    assert codes == [None] and how == [PLACED_OUTSIDE]


# --- ratio of ratios ------------------------------------------------------------------------------

def test_ratio_of_ratios_by_hand():
    # (400/100)/(300/150) = 2; SE of the log = sqrt(1/400 + 1/100 + 1/300 + 1/150) = 0.15
    r = ratio_of_ratios(400, 100, 300, 150)
    se = math.sqrt(1 / 400 + 1 / 100 + 1 / 300 + 1 / 150)
    assert r.ratio == pytest.approx(2.0)
    assert r.low == pytest.approx(2 * math.exp(-1.959964 * se), rel=1e-5)
    assert r.high == pytest.approx(2 * math.exp(1.959964 * se), rel=1e-5)
    assert r.p_value == pytest.approx(2 * norm.sf(math.log(2) / se))
    assert r.verdict == "significant rise"
    assert ratio_of_ratios(0, 10, 5, 5) is None


# --- the real data --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def engine(loaded_db):
    wh = Warehouse.open(loaded_db, read_only=True)
    yield Engine(wh.con)
    wh.close()


@pytest.fixture(scope="module")
def core(loaded_db):
    return Crimeplan.open(loaded_db)


def _met_searches(data_dir, first: str, last: str) -> list[dict]:
    rows = []
    with zipfile.ZipFile(data_dir / "police-uk" / "metropolitan-stop-and-search-2015-04_2024-08-partial.zip") as z:
        for name in sorted(z.namelist()):
            month = name.split("/")[0]
            if name.endswith(".csv") and first <= month <= last:
                rows += list(csv.DictReader(io.TextIOWrapper(z.open(name), encoding="utf-8-sig")))
    return rows


def _london_residents(data_dir, engine) -> dict[str, float]:
    """Residents of the Met's area by TS021 broad group, read from the Nomis file itself."""
    city = {c for (c,) in engine.con.execute(
        "SELECT code FROM area_current WHERE level = 'lsoa' AND vintage = '2021' AND parent_code = 'E09000001'").fetchall()}
    london = {c for (c,) in engine.con.execute(
        "SELECT code FROM area_current WHERE level = 'lsoa' AND vintage = '2021'").fetchall()}
    text = (data_dir / "geography" / "census2021-ts021-lsoa.csv").read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith('2021 super output area'))
    reader = csv.reader(lines[start:])
    header = next(reader)
    wanted = {"White": "White", "Black": "Black, Black British, Black Welsh, Caribbean or African",
              "Asian": "Asian, Asian British or Asian Welsh", "Other": "Other ethnic group"}
    columns = {g: header.index(next(h for h in header if h.startswith(name) and "%" not in h))
               for g, name in wanted.items()}
    out = {g: 0.0 for g in wanted}
    for row in reader:
        if not row or " : " not in row[0]:
            continue
        code = row[0].split(" : ")[0]
        if code in london and code not in city:
            for g, i in columns.items():
                out[g] += float(row[i])
    return out


def test_every_search_is_placed_or_counted_as_no_location(engine):
    total, located = engine.con.execute(
        "SELECT count(*), count(*) FILTER (WHERE longitude IS NOT NULL AND latitude IS NOT NULL) FROM stop_search_current"
    ).fetchone()
    for level in ("lsoa", "ward"):
        placed = dict(engine.con.execute(
            "SELECT placement, sum(searches) FROM stop_search_point WHERE level = ? GROUP BY ALL", [level]).fetchall())
        assert set(placed) <= {PLACED_INSIDE, PLACED_NEAREST, PLACED_OUTSIDE}
        assert sum(placed.values()) == located  # every located search at exactly one point
        assert placed[PLACED_INSIDE] > 0.99 * located
    table = fairness(engine, "borough", PERIOD)
    located_now = table["located"]
    borough_sum = sum(r["searches"] for r in table["areas"])
    city = engine.con.execute(
        """SELECT count(*) FROM stop_search_current s JOIN stop_search_point p ON p.longitude = s.longitude
           AND p.latitude = s.latitude AND p.level = 'lsoa' JOIN area_current a ON a.level = 'lsoa'
           AND a.vintage = '2021' AND a.code = p.code
           WHERE s.force = 'metropolitan' AND s.month BETWEEN '2023-04-01' AND '2024-03-01'
             AND a.parent_code = 'E09000001'""").fetchone()[0]
    # boroughs + the City's LSOAs (another force's area) + outside + no location = every search of the period
    assert borough_sum + city + located_now["outside"] + located_now["no_location"] == located_now["searches"]


def test_london_rate_ratio_matches_an_independent_calculation(engine, data_dir):
    raw = _met_searches(data_dir, "2023-04", "2024-03")
    searches = {g: sum(1 for r in raw if r["Officer-defined ethnicity"] == g) for g in ("White", "Black", "Asian", "Other")}
    residents = _london_residents(data_dir, engine)
    table = fairness(engine, "london", PERIOD)
    row = table["areas"][0]
    assert row["searches"] == len(raw)
    for group in ("Black", "Asian", "Other"):
        cell = row["officer"][group]
        assert cell["searches"] == searches[group]
        assert cell["residents"] == pytest.approx(residents[group])
        ratio = (searches[group] / residents[group]) / (searches["White"] / residents["White"])
        assert cell["ratio"] == pytest.approx(ratio, rel=1e-9)
        # Clopper–Pearson on the split of the two counts, mapped to the ratio of rates.
        n, k = searches[group] + searches["White"], searches[group]
        lo_p, hi_p = beta.ppf(0.025, k, n - k + 1), beta.ppf(0.975, k + 1, n - k)
        scale = residents["White"] / residents[group]
        assert cell["interval"][0] == pytest.approx(lo_p / (1 - lo_p) * scale, rel=1e-6)
        assert cell["interval"][1] == pytest.approx(hi_p / (1 - hi_p) * scale, rel=1e-6)
    assert 3.5 < row["officer"]["Black"]["ratio"] < 4.2
    arrests = {g: sum(1 for r in raw if r["Officer-defined ethnicity"] == g and r["Outcome"] in ("Arrest", "Suspect arrested"))
               for g in searches}
    assert row["outcomes"]["Black"]["arrests"] == arrests["Black"]
    assert row["outcomes"]["Black"]["difference_pp"] == pytest.approx(
        100 * (arrests["Black"] / searches["Black"] - arrests["White"] / searches["White"]), abs=0.05)
    # The Met marks no search 'linked to the object': a share of 0% would be a wrong figure.
    assert row["outcomes"]["Black"]["linked_share"] is None and table["linked_message"]
    stated = sum(1 for r in raw if not r["Officer-defined ethnicity"])
    assert row["not_stated"] == stated


def test_every_published_ethnicity_is_in_a_group(engine):
    search = load_catalogue().dataset("police_uk_stop_search")
    for field in ("officer_defined_ethnicity", "self_defined_ethnicity"):
        values = {v for (v,) in engine.con.execute(
            f"SELECT DISTINCT {field} FROM stop_search_current WHERE {field} IS NOT NULL").fetchall()}
        assert values - set(search.group_of(field)) == set(), field
    assert fairness(engine, "london", PERIOD)["unmapped"] == {}


def test_an_incomplete_period_gives_no_figure(engine):
    table = fairness(engine, "borough", "FY2019-20")
    assert table["status"] == "incomplete data" and table["areas"] == []
    assert "2019-04" in table["message"]
    table = fairness(engine, "borough", "FY2016-17")  # locations absent 2016-04 and 2016-05
    assert table["status"] == "not recorded" and table["areas"] == []


def _published_counts(rows, groups):
    for r in rows:
        yield r, "searches", r["searches"], r.get("suppressed", {})
        for kind, gs in (("officer", groups[0]), ("self", groups[1])):
            for g in gs:
                yield r[kind][g], "searches", r[kind][g]["searches"], r[kind][g].get("suppressed", {})
        for o in r["outcomes"].values():
            for f in ("arrests", "searches"):
                yield o, f, o[f], o.get("suppressed", {})


def test_no_published_count_of_people_is_below_ten_and_no_lone_cell_is_withheld(core):
    table = core.fairness_level("ward", PERIOD, None, None)
    groups = (table["groups"], table["self_groups"])
    withheld = 0
    for cell, field, value, shown in _published_counts(table["areas"], groups):
        assert value is None or value >= BELOW, (cell, field)
        if value is None and field in shown:
            withheld += 1
    assert withheld > 100  # wards hold many small counts
    # A row's groups and its not-stated cell add up to its published total: never exactly one withheld.
    for r in table["areas"]:
        if r["searches"] is None:
            continue
        for kind, gs, stated in (("officer", table["groups"], "not_stated"), ("self", table["self_groups"], "self_not_stated")):
            hidden = [g for g in gs if r[kind][g]["searches"] is None] + ([stated] if r[stated] is None else [])
            assert len(hidden) != 1, (r["name"], kind, hidden)
    # Each group's wards add up to their borough's count: never exactly one withheld among a borough's wards.
    parents = {a.code: a.parent_code for a in core.engine.areas.level("ward")}
    for g in table["groups"]:
        by_borough: dict[str, list] = {}
        for r in table["areas"]:
            by_borough.setdefault(parents[r["code"]], []).append(r["officer"][g]["searches"] is None)
        assert all(sum(v) != 1 for v in by_borough.values()), g
    # A withheld White count takes the area's ratios with it (it is their denominator).
    for r in table["areas"]:
        if r["officer"]["White"]["searches"] is None:
            assert all(r["officer"][g]["ratio"] is None for g in table["groups"])


def test_the_analysis_keeps_the_real_counts(engine, core):
    raw = fairness(engine, "ward", PERIOD)
    assert any(0 < r["officer"]["Other"]["searches"] < BELOW for r in raw["areas"])
    assert any(r["officer"]["Black"]["verdict"] == "higher than White" for r in raw["areas"])


def test_area_figures_fall_back_to_the_latest_complete_year(core):
    found = core.fairness("E09000022", "2021", "2019")
    assert found["status"] == "ok" and found["period"] == "rolling:2024-08"
    assert "2021-01" in found["note"]
    assert found["siblings"]["level"] == "borough" and len(found["siblings"]["areas"]) == 32


# --- the plan's measures ---------------------------------------------------------------------------

def _measure(card: dict, measure_id: str) -> dict:
    return next(m for p in card["priorities"] for m in p["measures"] if m["id"] == measure_id)


def test_the_black_white_ratio_measure_and_its_change_by_hand(core, engine):
    card = core.scorecard("E12000007", PERIOD, "2017")
    m = _measure(card, "stop_search_ratio_black_white")
    now = fairness(engine, "london", PERIOD)["areas"][0]["officer"]
    before = fairness(engine, "london", "2017")["areas"][0]["officer"]
    assert m["status"] == "ok" and m["current"] == pytest.approx(now["Black"]["ratio"], rel=1e-12)
    assert m["current_interval"] == pytest.approx(now["Black"]["interval"], rel=1e-9)
    assert m["baseline_value"] == pytest.approx(before["Black"]["ratio"], rel=1e-12)
    a, b = now["Black"]["searches"], now["White"]["searches"]
    c, d = before["Black"]["searches"], before["White"]["searches"]
    ror = (a / b) / (c / d)
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    assert m["change"] == pytest.approx((ror - 1) * 100, rel=1e-9)
    assert m["interval"] == pytest.approx([(ror * math.exp(-1.959964 * se) - 1) * 100,
                                           (ror * math.exp(1.959964 * se) - 1) * 100], rel=1e-5)
    assert m["verdict"] == "significant fall" and m["rag"] == "green"  # 4.25 in 2017, 3.86 in FY2023-24


def test_a_borough_count_of_searches_is_the_searches_placed_in_it(core, engine):
    table = {r["code"]: r for r in fairness(engine, "borough", PERIOD)["areas"]}
    levels = core.levels("stop_search_count", "borough", PERIOD, "2017")
    by_code = {r["code"]: r for r in levels["areas"]}
    assert by_code["E09000022"]["current"] == table["E09000022"]["searches"] == 5438
    assert by_code["E09000001"]["current"] is None  # the City: policed by the City of London Police


def test_categories_that_changed_are_not_compared_across_the_change(core):
    card = core.scorecard("E12000007", PERIOD, "2017")
    weapons = _measure(card, "weapon_searches")
    # the period's own count stands; the change across the recoding is never given
    assert weapons["status"] == "baseline incomplete" and "not comparable" in weapons["message"]
    assert weapons["current"] > 0 and weapons["baseline_value"] is None and weapons["change"] is None
    assert weapons["verdict"] is None and weapons["rag"] == "grey" and "no change is given" in weapons["plain"]
    assert _measure(card, "stop_search_count")["status"] == "ok"  # no category is read: comparable


def test_shares_of_searches_resting_on_small_counts_are_withheld(core):
    card = core.scorecard("E09000021", "2023-05", "2022-05")  # Kingston upon Thames, one month
    for group in ("black", "white", "asian", "other"):
        m = _measure(card, f"stop_search_arrest_share_{group}")
        src = m["source"]
        n = src.get("current_denominator")
        if m["current"] is not None:
            k = round(m["current"] * n / 100)
            assert min(n, k, n - k) >= BELOW, group
        else:
            assert m["suppressed"]["current"] == "withheld"
    ratio = _measure(card, "stop_search_ratio_other_white")
    counts = [ratio["source"].get(f) for f in ("current_numerator", "current_denominator")]
    assert all(c is None or c >= BELOW for c in counts)


def test_officers_in_post_are_a_headcount_read_at_the_period_end(core, data_dir):
    rows = {r["Date"]: r for r in csv.DictReader(
        (data_dir / "london-datastore" / "MPS police force strength 2013-05_2026-03.csv").open(encoding="utf-8-sig"))}
    card = core.scorecard("E12000007", PERIOD, "FY2019-20")
    officers, pcsos = _measure(card, "police_officers"), _measure(card, "pcsos")
    assert (officers["current"], officers["baseline_value"]) == (float(rows["Mar-24"]["Police Officer Strength"]),
                                                                 float(rows["Mar-20"]["Police Officer Strength"]))
    assert (pcsos["current"], pcsos["baseline_value"]) == (float(rows["Mar-24"]["PCSO Strength"]),
                                                           float(rows["Mar-20"]["PCSO Strength"]))
    assert officers["verdict"] == "exact change (a headcount)" and officers["interval"] is None
    year = core.series("police_officers", "E12000007", "year")["sources"][0]["points"]
    assert next(p for p in year if p["period"] == "2023")["value"] == float(rows["Dec-23"]["Police Officer Strength"])


def test_trust_gaps_by_ethnic_group_are_read_from_the_neighbourhood_file(core, data_dir):
    lines = (data_dir / "london-datastore" / "2015-16 _to_2020-21_inclusive_neighbourhood_indicators_final_221221.csv"
             ).read_text(encoding="utf-8-sig").splitlines()
    questions, groups = next(csv.reader([lines[0]])), next(csv.reader([lines[1]]))
    raw = next(next(csv.reader([line])) for line in lines if line.startswith("Lambeth - Central,"))
    found = core.fairness("E09000022", PERIOD, None)["trust_by_group"]
    central = next(n for n in found["neighbourhoods"] if n["name"] == "Lambeth - Central")
    fair = next(q for q in central["questions"] if q["question"].startswith("The police in your area treat"))
    # Three header rows: the four questions over the White British columns, then the groups; each group's
    # first column is the first question's.
    assert questions[1] == "The police in your area treat everyone fairly regardless of who they are"
    white, black = float(raw[groups.index("White British")]), float(raw[groups.index("Black")])
    assert fair["shares"]["White British"] == pytest.approx(white) and fair["shares"]["Black"] == pytest.approx(black)
    assert fair["gaps"]["Black"] == pytest.approx(black - white)
    assert "no sample sizes" in found["caveat"]


@pytest.mark.parametrize("key, prefix", [("E12000007", ""), ("E09000022", "Lambeth - ")])
def test_the_scorecard_describes_the_trust_gaps_counted_from_the_raw_file(core, data_dir, key, prefix):
    """The plan's 'trust gaps between groups': over the area's neighbourhoods, how many give a lower and how many a
    higher positive share for Black than for White British respondents, and the median gap, as counted here
    straight from MOPAC's file; never judged (no group sample sizes)."""
    import statistics

    path = data_dir / "london-datastore" / "2015-16 _to_2020-21_inclusive_neighbourhood_indicators_final_221221.csv"
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    questions, groups, body = rows[0], rows[1], [r for r in rows[3:] if r[0].startswith(prefix) and " - " in r[0]]
    column = lambda question, group: next(i for i in range(1, len(groups))  # noqa: E731
                                          if questions[i] == question and groups[i] == group)
    question = "The police in your area treat everyone fairly regardless of who they are"
    black, white = column(question, "Black"), column(question, "White British")
    gaps = [int(r[black]) - int(r[white]) for r in body if r[black] and r[white]]
    summary = core.fairness_summary(key, PERIOD, "FY2019-20")["trust_gaps"]
    row = next(x for x in summary["summary"] if x["question"] == question and x["group"] == "Black")
    assert (row["neighbourhoods"], row["lower"], row["higher"]) == (
        len(gaps), sum(g < 0 for g in gaps), sum(g > 0 for g in gaps))
    assert row["median_gap"] == statistics.median(gaps)
    assert len(gaps) >= 3 and summary["period_text"].startswith("April 2015") and "none is judged" in summary["caveat"]
    assert "verdict" not in row and summary["files"]


def test_arrests_cannot_be_given_back_by_subtraction(core):
    """A BCU's arrests by group are published: among its boroughs never exactly one is withheld."""
    boroughs = core.fairness_level("borough", PERIOD, None, None)
    bcus = {r["code"]: r for r in core.fairness_level("bcu", PERIOD, None, None)["areas"]}
    parents = {a.code: a.parent_code for a in core.engine.areas.level("borough")}
    for group in boroughs["groups"]:
        hidden: dict[str, list[bool]] = {}
        for r in boroughs["areas"]:
            o = r["outcomes"][group]
            assert o["arrests"] is None or o["arrests"] >= BELOW
            assert o["arrests"] is None or o["searches"] - o["arrests"] >= BELOW
            hidden.setdefault(parents[r["code"]], []).append(o["arrests"] is None)
        for bcu, flags in hidden.items():
            if bcus.get(bcu, {}).get("outcomes", {}).get(group, {}).get("arrests") is not None:
                assert sum(flags) != 1, (bcu, group)


def test_a_ratio_resting_on_small_counts_is_not_published_anywhere(core, engine):
    table = core.levels("stop_search_ratio_asian_white", "borough", "2023-05", "2022-05")
    figures = engine.evaluate(core.measure("stop_search_ratio_asian_white"), "borough", engine.period("2023-05"),
                              engine.period("2022-05"))[0]
    counts = {code: (figures.current_numerator[i], figures.current_denominator[i], figures.baseline_numerator[i],
                     figures.baseline_denominator[i]) for i, code in enumerate(figures.areas)}
    withheld = 0
    for r in table["areas"]:
        assert "_counts" not in r
        if min(counts[r["code"]]) < BELOW:
            assert r["current"] is None and r["interval"] is None and r["change"] is None, r["name"]
            withheld += 1
    assert withheld > 0


def test_a_change_never_gives_back_the_baselines_small_counts(core, engine):
    shown = core.fairness_level("ward", "2024-Q2", "2023-Q2", None)
    raw = {r["code"]: r for r in fairness(engine, "ward", "2023-Q2")["areas"]}
    published = 0
    for r in shown["areas"]:
        for group, c in (r["change"] or {}).items():
            if c and "ratio_of_ratios" in c:
                published += 1
                before = raw[r["code"]]["officer"]
                assert before[group]["searches"] >= BELOW and before["White"]["searches"] >= BELOW
    assert published > 10


def test_the_scorecard_carries_the_fairness_figures(loaded_db):
    """The done-when of the trust issue: FY2023-24 against FY2019-20 shows the Black/White ratio with its interval
    and arrests by group, though the baseline cannot be compared (the Met's file lacks 2019-03 to 2021-05)."""
    import json

    from typer.testing import CliRunner

    from crimeplan.cli import app

    result = CliRunner().invoke(app, ["scorecard", "--area", "London", "--period", "FY2023-24", "--baseline",
                                      "FY2019-20", "--format", "json", "--db", str(loaded_db)])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)
    black = next(g for g in card["fairness"]["groups"] if g["group"] == "Black")
    assert black["ratio"] == pytest.approx(3.86, abs=0.005) and black["interval"][0] < 3.86 < black["interval"][1]
    assert black["arrest_share"] == pytest.approx(0.163, abs=0.001)
    ratio = _measure(card, "stop_search_ratio_black_white")
    assert ratio["status"] == "baseline incomplete" and "2019-04" in ratio["message"]
    assert ratio["current"] == pytest.approx(black["ratio"]) and ratio["change"] is None  # the measure agrees
    assert _measure(card, "pas_good_job_local")["verdict"] == "significant fall"
    assert {x["group"] for x in card["fairness"]["trust_gaps"]["summary"]} == {"Black", "Asian"}
    lambeth = CliRunner().invoke(app, ["scorecard", "--area", "Lambeth", "--period", "FY2023-24", "--format", "json",
                                       "--db", str(loaded_db)])
    assert json.loads(lambeth.output)["fairness"]["groups"][1]["ratio"] == pytest.approx(6.79, abs=0.005)


def test_a_complete_period_keeps_its_figure_when_its_baseline_is_incomplete(core):
    """The issue's scorecard (FY2023-24 against FY2019-20, whose searches the Met's file lacks): the ratio and
    arrest shares of FY2023-24 stand, unjudged; they equal the same period's figures against a complete
    baseline, and no change, interval or verdict is given."""
    partial = core.scorecard("E12000007", PERIOD, "FY2019-20")
    full = core.scorecard("E12000007", PERIOD, "FY2017-18")
    for mid in ("stop_search_ratio_black_white", "stop_search_arrest_share_black", "stop_search_rate"):
        m, judged = _measure(partial, mid), _measure(full, mid)
        assert judged["status"] == "ok" and judged["verdict"]
        assert m["status"] == "baseline incomplete" and "2019-04 to 2020-03" in m["message"]
        assert m["current"] == pytest.approx(judged["current"])
        assert (m["baseline_value"], m["change"], m["interval"], m["verdict"], m["rag"]) == (None, None, None, None, "grey")
    ratio = _measure(partial, "stop_search_ratio_black_white")
    assert ratio["current_interval"] == pytest.approx(_measure(full, "stop_search_ratio_black_white")["current_interval"])
    assert ratio["current_interval"][0] < ratio["current"] < ratio["current_interval"][1]
    # a borough: the same, and no borough of the level is judged from the missing baseline
    borough = core.scorecard("E09000022", PERIOD, "FY2019-20")
    assert _measure(borough, "stop_search_ratio_black_white")["current"] == pytest.approx(
        _measure(core.scorecard("E09000022", PERIOD, "FY2017-18"), "stop_search_ratio_black_white")["current"])
    table = core.levels("stop_search_ratio_black_white", "borough", PERIOD, "FY2019-20")
    assert all(r.get("verdict") in (None, "") for r in table["areas"])


def test_a_claim_of_change_from_an_incomplete_baseline_is_unverifiable_and_says_why(engine, tmp_path):
    from crimeplan.claims import check_claims, load_claims

    path = tmp_path / "claims.yaml"
    path.write_text("plan: london-2022-25\nclaims:\n"
                    "  - {id: change, statement: s, measure: stop_search_count, period: FY2023-24, baseline: FY2019-20,"
                    " stated_change_pct: -20}\n"
                    "  - {id: value, statement: s, measure: stop_search_count, period: FY2023-24, baseline: FY2019-20,"
                    " stated_value: 134848}\n", encoding="utf-8")
    checks = {c.claim.id: c.to_dict() for c in check_claims(engine, load_claims(path, engine.plan, engine.areas))}
    assert checks["change"]["verdict"] == "unverifiable"
    assert "baseline incomplete" in checks["change"]["plain"] and "2019-04 to 2020-03" in checks["change"]["plain"]
    assert "not at this level" not in str(checks["change"])
    assert checks["value"]["verdict"] == "supported"  # 134,848 searches in the Met's files for FY2023-24
