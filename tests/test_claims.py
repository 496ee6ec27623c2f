"""Claims checking on the real data: every verdict, significance apart, sources side by side, bad files located."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from typer.testing import CliRunner

from crimeplan.claims import (
    APPROXIMATELY_SUPPORTED,
    NOT_SUPPORTED,
    SUPPORTED,
    UNVERIFIABLE,
    VERDICTS,
    Claim,
    ClaimsError,
    check_claims,
    decimals_of,
    judge,
    load_claims,
    parse_claims,
)
from crimeplan.cli import app
from crimeplan.measures import Engine
from crimeplan.plan import load_plan
from crimeplan.warehouse import Warehouse

REQUIRED_KEYS = {"id", "statement", "verdict", "computed_change_pct", "stated_change_pct", "current", "baseline",
                 "interval_pct", "significant", "source", "alternatives"}


@pytest.fixture(scope="module")
def engine(loaded_db):
    wh = Warehouse.open(loaded_db, read_only=True)
    yield Engine(wh.con)
    wh.close()


@pytest.fixture(scope="module")
def shipped(engine: Engine) -> dict[str, dict]:
    checks = check_claims(engine, load_claims(None, engine.plan, engine.areas))
    return {c.claim.id: c.to_dict() for c in checks}


def _check(engine: Engine, text: str) -> dict[str, dict]:
    claims = parse_claims(text, "test_claims.yaml", engine.plan, engine.areas)
    return {c.claim.id: c.to_dict() for c in check_claims(engine, claims)}


def _claim(cid: str, measure: str, period: str, baseline: str | None, stated: str, area: str | None = None,
           field: str = "stated_change_pct") -> str:
    lines = [f"  - id: {cid}", "    statement: test", f"    measure: {measure}", f'    period: "{period}"',
             f"    {field}: {stated}"]
    if baseline:
        lines.append(f'    baseline: "{baseline}"')
    if area:
        lines.append(f"    area: {area}")
    return "\n".join(lines) + "\n"


# --- the shipped examples --------------------------------------------------------------------------


def test_shipped_examples_cover_every_verdict(shipped: dict[str, dict]) -> None:
    assert 6 <= len(shipped) <= 10
    assert {c["verdict"] for c in shipped.values()} == set(VERDICTS)
    for c in shipped.values():
        assert REQUIRED_KEYS <= set(c), c["id"]
        assert c["plain"] and c["statement"]
        if c["verdict"] != UNVERIFIABLE:
            assert c["source"]["dataset"] and c["source"]["files"], c["id"]  # traceable to the file
            assert all(f["name"] and f["sha256"] for f in c["source"]["files"])
        assert "Open Government Licence" in c["attribution"]
    json.dumps(list(shipped.values()))  # JSON-safe


def test_shipped_examples_are_crimeplan_examples_not_quotes() -> None:
    claims = load_claims()
    assert claims.plan == "london-2022-25"
    for claim in claims.claims:
        assert claim.source and claim.source.startswith("crimeplan example, written from the data"), claim.id


def test_supported_and_significant(shipped: dict[str, dict]) -> None:
    richmond = shipped["burglary-richmond-2021"]
    assert richmond["verdict"] == SUPPORTED and richmond["significant"] is True
    assert richmond["area"]["name"] == "Richmond upon Thames" and richmond["area"]["level"] == "borough"
    assert (richmond["baseline"], richmond["current"]) == (1527, 1018)
    assert richmond["computed_change_pct"] == pytest.approx(-33.33, abs=0.01)
    low, high = richmond["interval_pct"]
    assert low < richmond["computed_change_pct"] < high < 0
    assert richmond["areas_tested"] > 1 and richmond["q_value"] < 0.05  # judged after FDR control across boroughs
    assert not richmond["sources_disagree"]
    assert all(a["verdict"] == SUPPORTED for a in richmond["alternatives"]) and len(richmond["alternatives"]) == 2


def test_supported_but_not_significant_is_said_in_plain_words(shipped: dict[str, dict]) -> None:
    homicide = shipped["homicide-2021"]
    assert homicide["verdict"] == SUPPORTED
    assert (homicide["baseline"], homicide["current"]) == (153, 135)
    assert homicide["computed_change_pct"] == pytest.approx(-11.76, abs=0.01)
    assert homicide["significant"] is False and homicide["significance"] == "no significant change"
    low, high = homicide["interval_pct"]
    assert low < 0 < high
    assert "supported as stated, but the fall is within the range expected from chance" in homicide["plain"]
    assert "not evidence of a real change" in homicide["plain"]
    assert "153 → 135" in homicide["plain"]


def test_a_ward_claim_judged_after_false_discovery_rate_control(shipped: dict[str, dict]) -> None:
    ward = shipped["violence-mile-end-2025-26"]
    assert ward["area"]["level"] == "ward" and ward["area"]["name"] == "Mile End"
    assert ward["verdict"] == SUPPORTED and (ward["baseline"], ward["current"]) == (137, 210)
    # Significant on its own, not once 700 wards are tested at once.
    assert ward["p_value"] < 0.05 <= ward["q_value"] and ward["significant"] is False
    assert "wards tested at once" in ward["plain"] and "not evidence of a real change" in ward["plain"]


def test_approximately_supported(shipped: dict[str, dict]) -> None:
    burglary = shipped["burglary-2021"]
    assert burglary["verdict"] == APPROXIMATELY_SUPPORTED
    assert 0.5 < abs(burglary["computed_change_pct"] - burglary["stated_change_pct"]) <= 2
    assert burglary["significant"] is True
    assert {a["verdict"] for a in burglary["alternatives"]} == {APPROXIMATELY_SUPPORTED}
    assert {a["dataset"] for a in burglary["alternatives"]} >= {"gla_state_of_london_crime", "police_uk_street"}


def test_not_supported_even_though_the_fall_is_real(shipped: dict[str, dict]) -> None:
    crime = shipped["total-crime-2022"]
    assert crime["verdict"] == NOT_SUPPORTED and crime["significant"] is True
    assert crime["computed_change_pct"] == pytest.approx(-5.68, abs=0.01)
    assert "not supported" in crime["plain"] and "more than chance would explain" in crime["plain"]


def test_two_sources_disagree(shipped: dict[str, dict]) -> None:
    crime = shipped["total-crime-2021"]
    assert crime["source"]["dataset"] == "mps_borough_crime" and crime["verdict"] == SUPPORTED
    gla = next(a for a in crime["alternatives"] if a["dataset"] == "gla_state_of_london_crime")
    assert gla["verdict"] == NOT_SUPPORTED and gla["computed_change_pct"] == pytest.approx(-11.10, abs=0.01)
    assert gla["current"] > crime["current"]  # TNO runs higher than the borough file's sum
    assert gla["files"] and gla["interval_pct"][0] < gla["computed_change_pct"] < gla["interval_pct"][1]
    assert crime["sources_disagree"] is True
    assert "The sources disagree" in crime["plain"] and "total notifiable offences" in crime["plain"]


def test_unverifiable_names_the_dataset_that_would_supply_it(shipped: dict[str, dict]) -> None:
    knife = shipped["knife-injury-2021"]
    assert knife["verdict"] == UNVERIFIABLE
    assert knife["significant"] is None and knife["computed_change_pct"] is None and knife["source"] is None
    assert knife["interval_pct"] is None and knife["alternatives"] == []
    [would] = knife["would_supply"]
    assert would["dataset"] == "mps_monthly_crime_dashboard" and would["reason"] == "not loaded"
    assert "mps_monthly_crime_dashboard" in knife["plain"] and "cannot check" in knife["plain"]


def test_unverifiable_when_months_are_missing(shipped: dict[str, dict]) -> None:
    # 2022-01 and 2019-03 to 2021-05 are absent from the Met's file, 2022-12 is partial: incomplete data.
    search = shipped["stop-search-2022"]
    assert search["verdict"] == UNVERIFIABLE and search["significant"] is None
    [would] = search["would_supply"]
    assert would["dataset"] == "police_uk_stop_search" and would["reason"] == "incomplete data"
    assert "2022-01" in would["missing_months"] and "2019-03" in would["missing_months"]
    assert "incomplete data" in search["plain"] and "2022-12 partial" in search["plain"]


def test_stated_value_is_checked_with_the_change_beside_it(shipped: dict[str, dict]) -> None:
    knife = shipped["knife-u25-2021"]
    assert knife["kind"] == "value" and knife["stated_value"] == 1217 and knife["stated_change_pct"] is None
    assert knife["verdict"] == SUPPORTED and knife["computed_value"] == 1217 and knife["baseline"] == 1661
    assert knife["significant"] is True and knife["computed_change_pct"] == pytest.approx(-26.73, abs=0.01)


def test_proportions_are_in_percentage_points_and_survey_significance_is_approximate(shipped: dict[str, dict]) -> None:
    trust = shipped["pas-trust-2021"]
    assert trust["change_unit"] == "pp" and trust["verdict"] == SUPPORTED
    assert (trust["baseline"], trust["current"]) == (84, 76)
    assert trust["significant"] is True and trust["significance"] == "significant fall"
    assert "percentage points" in trust["plain"] and "approximate 95% interval" in trust["plain"]


# --- verdict rules ---------------------------------------------------------------------------------


def test_precision_decides_supported() -> None:
    assert [decimals_of(t) for t in ("-13", "-13.0", "-12.55", "+4", "1,217", "-13%", "−2.5")] == [0, 1, 2, 0, 0, 0, 1]
    assert judge(-12.96, -13, "-13") == SUPPORTED
    assert judge(-12.96, -13, "-13.0") == SUPPORTED
    assert judge(-12.96, -12.9, "-12.9") == APPROXIMATELY_SUPPORTED
    assert judge(-12.94, -13, "-13.0") == APPROXIMATELY_SUPPORTED
    assert judge(-12.5, -13, "-13") == SUPPORTED  # the boundary is included
    assert judge(-11.0, -13, "-13") == APPROXIMATELY_SUPPORTED
    assert judge(-10.9, -13, "-13") == NOT_SUPPORTED
    assert judge(None, -13, "-13") == UNVERIFIABLE
    # stated values: within 2% of the value stated is approximately supported
    assert judge(136, 135, "135") == APPROXIMATELY_SUPPORTED
    assert judge(138, 135, "135", relative=True) == NOT_SUPPORTED
    assert judge(137, 135, "135", relative=True) == APPROXIMATELY_SUPPORTED


def test_precision_on_the_real_figures(engine: Engine) -> None:
    # MPS homicide offences 2021 against 2019: 153 -> 135, -11.76%.
    text = "claims:\n" + "".join(
        _claim(cid, "homicide_offences", "2021", "2019", stated)
        for cid, stated in (("whole", "-12"), ("one-decimal", "-12.0"), ("close", "-11.8"), ("exact", "-11.76"),
                            ("two-decimals", "-11.77"), ("quoted", '"-11.80"'), ("far", "-15"), ("wrong-sign", "12"))
    )
    checks = _check(engine, text)
    verdicts = {cid: c["verdict"] for cid, c in checks.items()}
    assert verdicts == {"whole": SUPPORTED, "one-decimal": APPROXIMATELY_SUPPORTED, "close": SUPPORTED,
                        "exact": SUPPORTED, "two-decimals": APPROXIMATELY_SUPPORTED, "quoted": APPROXIMATELY_SUPPORTED,
                        "far": NOT_SUPPORTED, "wrong-sign": NOT_SUPPORTED}
    assert checks["one-decimal"]["stated_as_written"] == "-12.0"
    assert checks["quoted"]["stated_as_written"] == "-11.80"  # -11.76 is not -11.80 at two decimals
    assert "opposite sign" in checks["wrong-sign"]["plain"]
    # Every check of the same figure reports the same significance: it does not depend on the wording.
    assert {c["significant"] for c in checks.values()} == {False}


def test_stated_values_against_every_source(engine: Engine) -> None:
    # 2021 homicide offences: 135 (MPS new categories), 136 (old categories), 134 (GLA workbook).
    text = "claims:\n" + _claim("h135", "homicide_offences", "2021", None, "135", field="stated_value") \
        + _claim("h140", "homicide_offences", "2021", None, "140", field="stated_value")
    checks = _check(engine, text)
    h135 = checks["h135"]
    assert h135["verdict"] == SUPPORTED and h135["current"] == 135
    assert {a["current"]: a["verdict"] for a in h135["alternatives"]} == {136: APPROXIMATELY_SUPPORTED,
                                                                         134: APPROXIMATELY_SUPPORTED}
    assert h135["sources_disagree"] is True
    # no baseline: a level, not a change, so nothing to test
    assert h135["significant"] is None and h135["interval_pct"] is None and h135["computed_change_pct"] is None
    assert checks["h140"]["verdict"] == NOT_SUPPORTED


def test_a_stated_value_is_checked_when_only_the_baseline_is_out_of_reach(engine: Engine) -> None:
    searches = engine.result("stop_search_count", None, "2023", "2018").headline.current
    text = "claims:\n" + _claim("s2023", "stop_search_count", "2023", "2019", f"{searches:.0f}", field="stated_value")
    [check] = _check(engine, text).values()
    assert check["verdict"] == SUPPORTED and check["current"] == searches
    assert check["significant"] is None and check["baseline"] is None
    assert "not the change" in check["plain"]


def test_unverifiable_at_a_level_the_measure_is_not_published_at(engine: Engine) -> None:
    text = "claims:\n" + _claim("hackney-knife", "knife_injury_victims_u25", "2021", "2019", "-20", area="Hackney")
    [check] = _check(engine, text).values()
    assert check["verdict"] == UNVERIFIABLE and check["significant"] is None
    assert check["would_supply"][0]["dataset"] == "gla_state_of_london_crime"
    assert check["would_supply"][0]["reason"] == "not at this level"
    assert "borough level" in check["plain"]


def test_claims_built_in_python(engine: Engine) -> None:
    claim = Claim(id="py", statement="Robbery halved", measure="robbery", period="2021", baseline="2019",
                  stated_change_pct=-43)
    [check] = check_claims(engine, [claim])
    assert check.verdict == SUPPORTED and check.significant is True
    assert check.to_dict()["stated_as_written"] == "-43"


# --- bad files -------------------------------------------------------------------------------------

GOOD = """plan: london-2022-25
claims:
  - id: knife-2021
    statement: Knife crime is down 20% on pre-pandemic levels.
    source: crimeplan test
    measure: homicide_offences
    period: "2021"
    baseline: "2019"
    stated_change_pct: -20
"""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("measure: homicide_offences", "measure: knife_crimes"),
         ["line 6, claim 'knife-2021' field measure: unknown measure 'knife_crimes'", "knife_crime_with_injury"]),
        (('period: "2021"', 'period: "2021-13"'),
         ["line 7, claim 'knife-2021' field period: '2021-13': month 13 is not a month (01 to 12)"]),
        (('period: "2021"', "period: last year"), ["line 7, claim 'knife-2021' field period: 'last year' is not a period"]),
        (('baseline: "2019"', "baseline: pre-pandemic"), ["line 8, claim 'knife-2021' field baseline: 'pre-pandemic'"]),
        (('    baseline: "2019"\n', ""), ["claim 'knife-2021' field baseline: missing 'baseline'"]),
        (("stated_change_pct: -20", "notes: none"), ["claim 'knife-2021' field stated_change_pct: no stated figure"]),
        (("stated_change_pct: -20", "stated_change_pct: -20\n    stated_value: 135"),
         ["line 10, claim 'knife-2021' field stated_value: give one stated figure, not both"]),
        (("stated_change_pct: -20", "stated_change_pct: a lot"),
         ["line 9, claim 'knife-2021' field stated_change_pct: 'a lot' is not a number"]),
        (("    source: crimeplan test\n", "    colour: red\n"), ["line 5, claim 'knife-2021' field colour: unknown field"]),
        (("    statement: Knife crime is down 20% on pre-pandemic levels.\n", ""),
         ["claim 'knife-2021' field statement: missing 'statement'"]),
        (("plan: london-2022-25", "plan: bristol-2024"), ["line 1, field plan: the claims are about plan 'bristol-2024'"]),
        (('    period: "2021"', '    period: "2021'), ["test_claims.yaml, line", "not valid YAML"]),
    ],
)
def test_bad_files_name_the_claim_and_the_field(change: tuple[str, str], expected: list[str]) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(ClaimsError) as info:
        parse_claims(text, "test_claims.yaml", load_plan())
    message = str(info.value)
    assert message.startswith("test_claims.yaml is not a valid claims file")
    for part in expected:
        assert part in message, message


def test_every_problem_is_reported_in_file_order() -> None:
    second = GOOD.split("claims:\n")[1].replace('"2021"', '"2021-00"').replace("stated_change_pct: -20", "stated_value: x")
    with pytest.raises(ClaimsError) as info:
        parse_claims(GOOD.replace("measure: homicide_offences", "measure: nope") + second, "test_claims.yaml", load_plan())
    problems = info.value.problems
    assert len(problems) == 2  # a claim whose fields have the wrong type is not checked further
    assert "line 6, claim 'knife-2021' field measure" in problems[0]
    assert "line 16, claim 'knife-2021' field stated_value: 'x' is not a number" in problems[1]
    second = GOOD.split("claims:\n")[1].replace('"2021"', '"2021-00"')
    with pytest.raises(ClaimsError) as info:
        parse_claims(GOOD + second, "test_claims.yaml", load_plan())
    problems = info.value.problems
    assert [p.split(" field ")[1].split(":")[0] for p in problems] == ["id", "period"]
    assert "claim ids must be unique" in problems[0] and "month 00 is not a month" in problems[1]


def test_a_file_without_claims_is_refused() -> None:
    for text in ("", "claims: []\n", "- id: a\n", "claims: {id: a}\n"):
        with pytest.raises(ClaimsError, match="non-empty list under 'claims:'"):
            parse_claims(text, "test_claims.yaml", load_plan())


def test_an_unknown_area_is_named(engine: Engine) -> None:
    text = GOOD.replace('    period: "2021"', '    area: Atlantis\n    period: "2021"')
    with pytest.raises(ClaimsError) as info:
        parse_claims(text, "test_claims.yaml", engine.plan, engine.areas)
    assert "line 7, claim 'knife-2021' field area: no area 'Atlantis'" in str(info.value)


# --- the command line ------------------------------------------------------------------------------


def test_cli_checks_the_shipped_examples(loaded_db) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["claims", "check", "--db", str(loaded_db), "--format", "json"])
    assert result.exit_code == 0, result.output  # claims not supported are findings, not errors
    rows = json.loads(result.stdout)
    assert isinstance(rows, list) and {r["verdict"] for r in rows} == set(VERDICTS)
    for row in rows:
        assert REQUIRED_KEYS <= set(row), row["id"]
        assert row["significant"] in (True, False, None)
        if row["verdict"] == UNVERIFIABLE:
            assert row["significant"] is None and row["would_supply"]
    result = runner.invoke(app, ["claims", "check", "--db", str(loaded_db)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for text in ("homicide-2021", "not supported", "approximately supported", "unverifiable", "sources disagree",
                 "within the range expected from chance", "Open Government Licence"):
        assert text in result.stdout, text


def test_cli_a_claims_file_and_errors(loaded_db, tmp_path) -> None:
    runner = CliRunner()
    path = tmp_path / "claims.yaml"
    path.write_text(GOOD)
    result = runner.invoke(app, ["claims", "check", str(path), "--db", str(loaded_db), "--format", "json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert row["id"] == "knife-2021" and row["verdict"] == NOT_SUPPORTED and row["significant"] is False
    path.write_text(GOOD.replace('"2021"', '"2021-13"'))
    result = runner.invoke(app, ["claims", "check", str(path), "--db", str(loaded_db)])
    assert result.exit_code == 1
    assert "claims.yaml, line 7, claim 'knife-2021' field period" in result.output
    plan = tmp_path / "other_plan.yaml"
    plan.write_text((resources.files("crimeplan.plan") / "london.yaml").read_text(encoding="utf-8"))
    result = runner.invoke(app, ["claims", "check", "--plan", str(plan), "--db", str(loaded_db)])
    assert result.exit_code == 1 and "other_plan_claims.yaml" in result.output
    (tmp_path / "other_plan_claims.yaml").write_text(GOOD)
    result = runner.invoke(app, ["claims", "check", "--plan", str(plan), "--db", str(loaded_db), "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["id"] == "knife-2021"


def test_a_share_from_too_few_records_says_so_with_its_n(engine: Engine) -> None:
    # LSOA E01004208's burglary charged share, 2024 against 2019: 46 and 48 burglaries (the minimum is 50).
    text = "claims:\n" + _claim("cr", "burglary_charged_share", "2024", "2019", "-30", area="E01004208")
    c = _check(engine, text)["cr"]
    assert c["significant"] is None and c["significance"] == "too few records to judge"
    assert c["baseline_denominator"] == 48 and c["current_denominator"] == 46
    assert "too few records (48 records in the baseline, 46 now)" in c["plain"]
    assert "survey" not in c["plain"]
