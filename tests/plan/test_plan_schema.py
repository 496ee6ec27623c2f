"""The plan schema and loader on small plans built here: what parses, and what each mistake says.

Every error must name the line of the plan file and the field path, so that a
plan author can go straight to the mistake.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crimeplan.errors import CrimeplanError
from crimeplan.plan import PlanError, load_plan, parse_plan
from crimeplan.plan.schema import (
    HomicideSource,
    OutcomeSource,
    RecordedCrimeSource,
    StopSearchSource,
    SurveySource,
    UnavailableSource,
)

MINIMAL = """\
id: test-plan
title: A test plan
publisher: Test PCC
area: E12000007
area_name: London
start: 2022-04
end: 2025-03
baselines:
  - id: "2019"
    period: "2019"
    label: calendar 2019
default_period: "2021"
default_baseline: "2019"
priorities:
  - id: violence
    title: Reducing violence
    objectives:
      - id: sexual-violence
        title: Less sexual violence
        measures: [rape]
measures:
  - id: rape
    title: Rape
    definition: Rape offences recorded by the police.
    statistic: count
    aim: down
    unit: offences
    levels: [london, borough]
    sources:
      - dataset: mps_borough_crime
        scheme: new
        categories:
          - ["SEXUAL OFFENCES", "RAPE"]
"""

RAPE_MEASURE = MINIMAL[MINIMAL.index("  - id: rape\n"):]


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the n-th line containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} occurs {len(hits)} times"
    return hits[occurrence - 1]


def edit(old: str, new: str, text: str = MINIMAL) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def problems_of(text: str, name: str = "test.yaml") -> list[str]:
    with pytest.raises(PlanError) as info:
        parse_plan(text, name)
    error = info.value
    assert error.file == name and name in str(error)
    assert error.problems and all(p in str(error) for p in error.problems)
    return error.problems


def only_problem(text: str) -> str:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


# ----------------------------------------------------------------- valid plans


def test_minimal_plan_parses() -> None:
    plan = parse_plan(MINIMAL)
    assert (plan.id, plan.area, plan.start, plan.end) == ("test-plan", "E12000007", "2022-04", "2025-03")
    assert plan.baseline("2019").label == "calendar 2019"
    assert plan.baseline("fy2019-20") is None
    [(priority, objective, measure)] = plan.placements()
    assert (priority.id, objective.id, measure.id) == ("violence", "sexual-violence", "rape")
    [source] = measure.sources
    # the kind is inferred from the dataset, and each category becomes a (major, minor) pair
    assert isinstance(source, RecordedCrimeSource)
    assert source.kind == "recorded_crime" and source.categories == [("SEXUAL OFFENCES", "RAPE")]
    assert plan.measure("rape") is measure
    with pytest.raises(KeyError, match="no measure 'arson'"):
        plan.measure("arson")


def test_every_source_kind_parses() -> None:
    sources = """\
      - dataset: police_uk_outcomes
        outcome_groups: [charged or summonsed]
        crime_types: [Burglary]
        force: Metropolitan Police Service
      - dataset: mopac_pas_london
        measure: '"Good Job" local'
      - dataset: police_uk_stop_search
        force: metropolitan
        numerator:
          outcome: ["Arrest"]
      - dataset: some_dashboard
        publisher: A police force
        landing_page: https://example.org/dashboard
"""
    text = edit("    statistic: count\n", "    statistic: proportion\n")
    text = edit(
        '      - dataset: mps_borough_crime\n        scheme: new\n        categories:\n          - ["SEXUAL OFFENCES", "RAPE"]\n',
        sources,
        text,
    )
    outcome, survey, stop_search, unavailable = parse_plan(text).measure("rape").sources
    assert isinstance(outcome, OutcomeSource) and outcome.outcome_groups == ["charged or summonsed"]
    assert outcome.within_months == 6  # the default follow-up
    assert isinstance(survey, SurveySource) and survey.measure == '"Good Job" local'
    assert isinstance(stop_search, StopSearchSource) and stop_search.numerator == {"outcome": ["Arrest"]}
    assert isinstance(unavailable, UnavailableSource) and unavailable.publisher == "A police force"


def test_homicide_source_filters() -> None:
    text = edit(
        '      - dataset: mps_borough_crime\n        scheme: new\n        categories:\n          - ["SEXUAL OFFENCES", "RAPE"]\n',
        "      - dataset: mps_homicide_victims\n        where:\n          domestic_abuse: true\n          method: [Shooting]\n",
    )
    [source] = parse_plan(text).measure("rape").sources
    assert isinstance(source, HomicideSource)
    assert source.where == {"domestic_abuse": True, "method": ["Shooting"]}


def test_load_plan_reads_a_file_and_names_it_in_errors(tmp_path: Path) -> None:
    good = tmp_path / "plan.yaml"
    good.write_text(MINIMAL, encoding="utf-8")
    assert load_plan(good).id == "test-plan"
    bad = tmp_path / "bad.yaml"
    bad.write_text(edit("scheme: new", "scheme: newest"), encoding="utf-8")
    with pytest.raises(PlanError) as info:
        load_plan(bad)
    assert str(bad) in str(info.value)
    with pytest.raises(CrimeplanError, match="cannot read the plan file"):
        load_plan(tmp_path / "missing.yaml")


# ------------------------------------------------------ errors: line and field


def test_bad_scheme_names_line_and_field() -> None:
    text = edit("scheme: new", "scheme: newest")
    problem = only_problem(text)
    assert problem.startswith(f"line {line_of(text, 'scheme: newest')}, field measures[0] (rape).sources[0].scheme:")
    assert "'old' or 'new'" in problem


def test_missing_definition_names_line_and_field() -> None:
    text = edit("    definition: Rape offences recorded by the police.\n", "")
    problem = only_problem(text)
    assert problem == f"line {line_of(text, '- id: rape')}, field measures[0] (rape): missing 'definition'; it is required"


def test_unknown_field_names_line_and_field() -> None:
    text = edit("    unit: offences\n", "    unit: offences\n    colour: red\n")
    problem = only_problem(text)
    assert problem == f"line {line_of(text, 'colour: red')}, field measures[0] (rape).colour: unknown field 'colour'"


def test_unknown_dataset_names_line_and_field() -> None:
    text = edit("dataset: mps_borough_crime", "dataset: mps_borugh_crime")
    problem = only_problem(text)
    allowed_lines = {line_of(text, "    sources:"), line_of(text, "dataset: mps_borugh_crime")}
    line = int(problem.split(",", 1)[0].removeprefix("line "))
    assert line in allowed_lines, problem
    assert "field measures[0] (rape).sources" in problem
    assert "unknown dataset 'mps_borugh_crime'" in problem and "mps_borough_crime" in problem


def test_survey_source_requires_a_proportion() -> None:
    text = edit(
        '      - dataset: mps_borough_crime\n        scheme: new\n        categories:\n          - ["SEXUAL OFFENCES", "RAPE"]\n',
        "      - dataset: mopac_pas_borough\n        measure: Trust MPS\n",
    )
    problem = only_problem(text)
    assert problem.startswith(f"line {line_of(text, '- id: rape')}, field measures[0] (rape):")
    assert "survey_measure source gives a proportion; statistic must be 'proportion'" in problem


def test_outcome_source_requires_a_proportion() -> None:
    text = edit(
        '      - dataset: mps_borough_crime\n        scheme: new\n        categories:\n          - ["SEXUAL OFFENCES", "RAPE"]\n',
        '      - dataset: police_uk_outcomes\n        outcome_groups: [charged or summonsed]\n        crime_types: [Burglary]\n',
    )
    problem = only_problem(text)
    assert problem.startswith(f"line {line_of(text, '- id: rape')}, field measures[0] (rape):")
    assert "outcome source gives a proportion" in problem


def test_stop_search_numerator_must_match_the_statistic() -> None:
    text = edit(
        '      - dataset: mps_borough_crime\n        scheme: new\n        categories:\n          - ["SEXUAL OFFENCES", "RAPE"]\n',
        "      - dataset: police_uk_stop_search\n        force: metropolitan\n        numerator:\n          outcome: [Arrest]\n",
    )
    problem = only_problem(text)  # a count with a numerator
    assert problem.startswith(f"line {line_of(text, '- id: rape')}, field measures[0] (rape):")
    assert "proportion exactly when it has a numerator" in problem


def test_bad_level_names_the_list_item() -> None:
    text = edit("levels: [london, borough]", "levels: [london, county]")
    problem = only_problem(text)
    assert problem.startswith(f"line {line_of(text, 'levels: [london, county]')}, field measures[0] (rape).levels[1]:")


def test_invalid_yaml_names_the_line_of_the_syntax_error() -> None:
    text = edit("    aim: down\n", "    aim: down: up\n")
    problem = only_problem(text)
    assert problem.startswith(f"line {line_of(text, 'aim: down: up')}: not valid YAML")


def test_a_plan_that_is_not_a_mapping() -> None:
    assert only_problem("- just\n- a list\n").startswith("line 1:")


def test_every_problem_is_listed() -> None:
    text = edit("scheme: new", "scheme: newest", edit("    unit: offences\n", "    unit: offences\n    colour: red\n"))
    problems = problems_of(text)
    assert len(problems) == 2
    assert any(p.startswith(f"line {line_of(text, 'scheme: newest')}, field") for p in problems)
    assert any(p.startswith(f"line {line_of(text, 'colour: red')}, field") for p in problems)


# Cross-reference checks (unknown or unused measures, duplicate ids, baselines) are
# made on the raw file before the schema, so they too name the line and field.


def test_unknown_measure_in_an_objective_is_caught() -> None:
    problem = only_problem(edit("measures: [rape]", "measures: [rape, arson]"))
    assert "objective 'sexual-violence' of priority 'violence'" in problem
    assert problem.endswith("not declared: arson")
    assert problem.startswith("line ")


def test_duplicate_measure_ids_are_caught() -> None:
    problem = only_problem(MINIMAL + RAPE_MEASURE)
    assert "measure ids must be unique; repeated: rape" in problem and problem.startswith("line ")


def test_default_baseline_must_be_a_baseline() -> None:
    problem = only_problem(edit('default_baseline: "2019"', 'default_baseline: "2018"'))
    assert "default_baseline '2018' is not one of the baselines" in problem and problem.startswith("line ")


def test_declared_but_unused_measures_are_caught() -> None:
    text = MINIMAL + RAPE_MEASURE.replace("id: rape", "id: arson", 1)
    assert "measures declared but in no objective: arson" in only_problem(text)





def test_unknown_measure_in_an_objective_names_its_line_and_field() -> None:
    text = edit("measures: [rape]", "measures: [rape, arson]")
    problem = only_problem(text)
    assert problem.startswith(
        f"line {line_of(text, 'measures: [rape, arson]')}, field priorities[0] (violence).objectives[0] (sexual-violence).measures"
    )



def test_duplicate_measure_id_names_the_second_declaration() -> None:
    text = MINIMAL + RAPE_MEASURE
    problem = only_problem(text)
    assert problem.startswith(f"line {line_of(text, '- id: rape', occurrence=2)}, field measures[1] (rape)")



def test_default_baseline_error_names_its_line_and_field() -> None:
    text = edit('default_baseline: "2019"', 'default_baseline: "2018"')
    problem = only_problem(text)
    assert problem.startswith(f"line {line_of(text, 'default_baseline:')}, field default_baseline:")


def test_a_date_that_is_no_date_names_its_line() -> None:
    # YAML reads 2021-13-45 as a timestamp, then cannot make it one: a clear error, not a crash.
    text = edit("    aim: down\n", "    aim: down\n    since: 2021-13-45\n")
    problem = only_problem(text)
    assert problem.startswith(f"line {line_of(text, 'since: 2021-13-45')}: not valid YAML")
    assert "'2021-13-45'" in problem and "month must be in 1..12" in problem
