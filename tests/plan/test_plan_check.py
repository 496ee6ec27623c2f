"""A plan checked against the loaded data: misspelt names are caught, at their line, with the closest names.

(That the London plan itself passes is in test_london_plan.py.)

Broken plans are copies of the London plan with one value misspelt, made at test
time by editing the text; the expected line is found in the copy's lines here,
independently of the checker.
"""

from __future__ import annotations

import json
import warnings
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crimeplan.cli import app
from crimeplan.measures import Engine
from crimeplan.plan import load_plan
from crimeplan.plan.check import ERROR, WARNING, PlanCheckWarning, check_plan
from crimeplan.plan.schema import UnavailableSource
from crimeplan.warehouse import Warehouse

LONDON_TEXT = resources.files("crimeplan.plan").joinpath("london.yaml").read_text(encoding="utf-8")
runner = CliRunner()


def broken_copy(tmp_path: Path, measure: str, old: str, new: str) -> tuple[Path, int]:
    """The London plan with ``old`` → ``new`` on the first line containing it inside measure ``measure``.

    Returns the copy and the (1-based) line edited.
    """
    lines = LONDON_TEXT.splitlines(keepends=True)
    start = lines.index(f"  - id: {measure}\n")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("  - id: ")), len(lines))
    edited = next(i for i in range(start, end) if old in lines[i])
    lines[edited] = lines[edited].replace(old, new, 1)
    path = tmp_path / f"broken_{measure}.yaml"
    path.write_text("".join(lines), encoding="utf-8")
    return path, edited + 1


@pytest.fixture()
def con(loaded):
    return loaded.con


def test_a_misspelt_category_is_flagged_at_its_line_with_the_closest_name(con, tmp_path: Path) -> None:
    path, line = broken_copy(tmp_path, "burglary", '["BURGLARY", "*"]', '["BURGLRY", "*"]')
    result = check_plan(con, load_plan(path))
    assert not result.ok
    [problem] = result.problems
    assert (problem.severity, problem.file, problem.line) == (ERROR, str(path), line)
    assert (problem.measure, problem.field, problem.value) == ("burglary", "sources[0].categories[0][0]", "BURGLRY")
    assert problem.closest[0] == "BURGLARY"
    assert "mps_borough_crime (new scheme)" in problem.message and "'BURGLARY'" in problem.message
    assert str(problem).startswith(f"{path}:{line}: error: measure burglary, sources[0].categories[0][0]: 'BURGLRY'")


@pytest.mark.parametrize(
    ("measure", "old", "new", "field", "closest"),
    [
        # a minor category within its major
        ("rape", '"SEXUAL OFFENCES", "RAPE"', '"SEXUAL OFFENCES", "RAEP"', "sources[0].categories[0][1]", "RAPE"),
        # an old-scheme major (mixed case)
        ("robbery", '["Robbery", "*"]', '["Robbey", "*"]', "sources[1].categories[0][0]", "Robbery"),
        # a data.police.uk crime type, and the force reporting it
        ("burglary", "crime_types: [Burglary]", "crime_types: [Burglry]", "sources[4].crime_types[0]", "Burglary"),
        ("burglary", "force: Metropolitan Police Service", "force: Metropolitan Police Servce", "sources[4].force",
         "Metropolitan Police Service"),
        # an outcome group (the catalogue's)
        ("burglary_charged_share", "outcome_groups: [charged or summonsed]", "outcome_groups: [charged or sumonsed]",
         "sources[0].outcome_groups[0]", "charged or summonsed"),
        # a survey measure
        ("pas_trust_mps", "measure: Trust MPS", "measure: Trust MSP", "sources[0].measure", "Trust MPS"),
        # a GLA sheet and a GLA series
        ("total_recorded_crime", "sheet: TNO", "sheet: TN0", "sources[3].sheet", "TNO"),
        ("sexual_offences", "Other Sexual Offences]", "Other Sexual Ofences]", "sources[3].series[1]",
         "Other Sexual Offences"),
        # a homicide filter value
        ("knife_homicide_victims", '"Knife or Sharp Implement"', '"Knife or Sharp Implemnt"', "sources[0].where.method[0]",
         "Knife or Sharp Implement"),
        # a stop-and-search force slug and numerator value
        ("stop_search_count", "force: metropolitan", "force: metropolitn", "sources[0].force", "metropolitan"),
        ("stop_search_arrest_share", '"Arrest", "Suspect arrested"', '"Arrest", "Suspect arested"',
         "sources[0].numerator.outcome[1]",
         "Suspect arrested"),
    ],
)
def test_each_kind_of_misspelt_name_is_flagged(con, tmp_path: Path, measure, old, new, field, closest) -> None:
    path, line = broken_copy(tmp_path, measure, old, new)
    result = check_plan(con, load_plan(path))
    [problem] = result.errors
    assert (problem.line, problem.measure, problem.field) == (line, measure, field), str(problem)
    assert problem.closest[0] == closest, str(problem)
    assert not result.warnings


def test_a_level_no_source_reaches_is_flagged(con, tmp_path: Path) -> None:
    # Homicide victims are published by borough: no source of the measure reaches wards.
    path, line = broken_copy(tmp_path, "homicide_victims", "levels: [london, bcu, borough]",
                             "levels: [london, bcu, borough, ward]")
    [problem] = check_plan(con, load_plan(path)).problems
    assert (problem.severity, problem.line, problem.field, problem.value) == (ERROR, line, "levels[3]", "ward")
    assert "no source reaches level 'ward'" in problem.message and "london, bcu, borough" in problem.message


def test_a_source_whose_dataset_is_not_loaded_is_a_warning_not_an_error(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    Warehouse.open(db).close()
    plan = load_plan()
    with Warehouse.open(db, read_only=True) as wh:
        result = check_plan(wh.con, plan)
    loaded_kinds = [(m.id, s.dataset) for m in plan.measures for s in m.sources if not isinstance(s, UnavailableSource)]
    assert result.ok and not result.errors
    assert len(result.warnings) == len(loaded_kinds)
    first = result.warnings[0]
    assert first.severity == WARNING and first.field == "sources[0].dataset"
    assert first.message.startswith(f"not loaded: {first.value} would supply it")
    # …and opening an engine over empty tables neither fails nor warns.
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlanCheckWarning)
        Engine.open(db)


def test_engine_open_warns_when_the_plan_does_not_match(loaded_db: Path, tmp_path: Path) -> None:
    path, line = broken_copy(tmp_path, "burglary", '["BURGLARY", "*"]', '["BURGLRY", "*"]')
    with pytest.warns(PlanCheckWarning) as caught:
        engine = Engine.open(loaded_db, load_plan(path))
    [warning] = [w.message for w in caught if isinstance(w.message, PlanCheckWarning)]
    assert f"{path}:{line}: error: measure burglary" in str(warning)
    assert len(warning.check.errors) == 1
    assert engine.plan.measure("burglary")  # the engine still opens: the warning does not stop it
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlanCheckWarning)
        Engine.open(loaded_db)  # the London plan matches: no warning


def test_cli_plan_check_exits_1_on_the_broken_copy_and_0_on_london(loaded_db: Path, tmp_path: Path) -> None:
    path, line = broken_copy(tmp_path, "burglary", '["BURGLARY", "*"]', '["BURGLRY", "*"]')
    result = runner.invoke(app, ["plan", "check", str(path), "--db", str(loaded_db)])
    assert result.exit_code == 1, result.output
    assert f"{path}:{line}: error: measure burglary, sources[0].categories[0][0]: 'BURGLRY'" in result.output
    assert "closest: 'BURGLARY'" in result.output and "1 error, 0 warnings" in result.output
    data = json.loads(runner.invoke(app, ["plan", "check", str(path), "--db", str(loaded_db), "--format", "json"]).stdout)
    assert (data["errors"], data["problems"][0]["line"], data["problems"][0]["closest"]) == (1, line, ["BURGLARY"])

    result = runner.invoke(app, ["plan", "check", "--db", str(loaded_db)])
    assert result.exit_code == 0, result.output
    assert "crimeplan/plan/london.yaml: 0 errors, 0 warnings" in result.output


def test_other_commands_show_the_warning_once(loaded_db: Path, tmp_path: Path) -> None:
    path, line = broken_copy(tmp_path, "burglary", '["BURGLARY", "*"]', '["BURGLRY", "*"]')
    result = runner.invoke(app, ["measure", "robbery", "--plan", str(path), "--db", str(loaded_db), "--format", "json"])
    assert result.exit_code == 0
    assert result.stderr.count("does not match the loaded data") == 1
    assert f"{path}:{line}" in result.stderr
    json.loads(result.stdout)  # the output itself is untouched


def test_names_are_read_from_the_current_rows(con) -> None:
    # The check reads a record table directly only where no edition of the dataset replaces
    # another (every row current); otherwise its _current view. Both give the current names.
    from crimeplan.plan.check import _Published

    published = _Published(con)
    assert published._rows_of("stop_search", "police_uk_stop_search") == "stop_search"
    assert published._rows_of("survey_measure", "mopac_pas_borough") == "survey_measure_current"  # editions overlap
    via_view = {v for (v,) in con.execute(
        "SELECT DISTINCT outcome FROM stop_search_current WHERE force = 'metropolitan' AND outcome IS NOT NULL").fetchall()}
    assert published.stop_search_values("police_uk_stop_search", "metropolitan", "outcome") == via_view
    survey = {(m, lv) for (m, lv) in con.execute(
        "SELECT DISTINCT measure, area_level FROM survey_measure_current WHERE dataset = 'mopac_pas_borough'").fetchall()}
    assert {(m, lv) for m, levels in published.survey("mopac_pas_borough").items() for lv in levels} == survey
