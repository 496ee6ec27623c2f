"""The London Police and Crime Plan shipped with crimeplan, checked against the real data.

Every category, crime type, sheet and series, survey measure, outcome type and
force the plan names must exist, spelt exactly, in the loaded official files
(one call of the plan check, as ``crimeplan plan check`` runs it); the harm map
must cover every recorded-crime category and map only to CCHI subgroups that
exist.
"""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from crimeplan.plan import load_plan
from crimeplan.plan.check import check_plan
from crimeplan.plan.schema import (
    RecordedCrimeSource,
    SurveySource,
    UnavailableSource,
    _source_kinds,
)

PLAN = load_plan()

REQUIRED_MEASURES = {
    "violence": [
        "homicide_offences", "homicide_victims", "non_domestic_violence_with_injury", "violence_with_injury",
        "knife_injury_victims_u25", "knife_crime_with_injury", "gun_crime", "lethal_barrelled_discharges",
        "sexual_offences", "rape", "domestic_abuse", "robbery", "possession_of_weapons", "crime_harm",
        "total_recorded_crime",
    ],
    "trust": [
        "pas_good_job_local", "pas_trust_mps", "pas_treat_everyone_fairly", "pas_listen_to_concerns",
        "pas_relied_on_to_be_there", "pas_understand_issues", "pas_informed_local", "pas_contact_ward_officer",
        "stop_search_count", "stop_search_arrest_share", "stop_search_find_share",
    ],
    "victims": ["victim_satisfaction", "burglary", "burglary_no_suspect_share", "burglary_charged_share"],
    "exploitation": ["drug_trafficking", "possession_of_weapons", "knife_crime"],
}

PAS_MEASURES = {
    '"Good Job" local', "Trust MPS", "Treat everyone fairly", "Listen to concerns",
    "Relied on to be there", "Understand issues", "Informed local", "Contact ward officer",
}

RECORDED_CRIME_DATASETS = ("mps_borough_crime", "mps_ward_crime")


def measures_of(priority_id: str) -> list[str]:
    [priority] = [p for p in PLAN.priorities if p.id == priority_id]
    return [m for o in priority.objectives for m in o.measures]


def sources_of(kind: type) -> list[tuple[str, int, object]]:
    return [(m.id, i, s) for m in PLAN.measures for i, s in enumerate(m.sources) if isinstance(s, kind)]


def harm_map() -> dict:
    text = resources.files("crimeplan.plan").joinpath("harm_map.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@pytest.fixture()
def con(loaded):
    return loaded.con


@pytest.fixture()
def shared_datasets(con) -> set[str]:
    return {d for (d,) in con.execute("SELECT DISTINCT dataset FROM parts").fetchall()}


def distinct(con, sql: str, *params) -> set:
    return {row[0] if len(row) == 1 else tuple(row) for row in con.execute(sql, list(params)).fetchall()}


# ------------------------------------------------------------------ the plan


def test_plan_identity_and_baselines() -> None:
    assert PLAN.id and PLAN.title.startswith("Police and Crime Plan for London")
    assert (PLAN.area, PLAN.area_name, PLAN.force) == ("E12000007", "London", "Metropolitan Police Service")
    assert (PLAN.start, PLAN.end) == ("2022-04", "2025-03")
    assert [(b.id, b.period) for b in PLAN.baselines] == [("2019", "2019"), ("FY2019-20", "FY2019-20")]
    assert "pre-pandemic" in PLAN.baseline("2019").label and "pre-pandemic" in PLAN.baseline("FY2019-20").label
    assert (PLAN.default_period, PLAN.default_baseline, PLAN.launch_period) == ("latest", "2019", "2021")
    for fact in ("4,000", "12 Basic Command Units", "32", "ward officers"):
        assert fact in PLAN.summary


def test_four_priorities_in_order() -> None:
    assert [(p.id, p.title) for p in PLAN.priorities] == [
        ("violence", "Reducing and preventing violence"),
        ("trust", "Rebuilding trust and confidence in the police"),
        ("victims", "Supporting victims"),
        ("exploitation", "Protecting people from exploitation and harm"),
    ]


def test_required_measures_are_in_their_priorities() -> None:
    for priority, ids in REQUIRED_MEASURES.items():
        missing = [m for m in ids if m not in measures_of(priority)]
        assert not missing, (priority, missing)


def test_every_measure_is_in_an_objective_once_per_priority() -> None:
    placed = {m.id for _, _, m in PLAN.placements()}
    assert placed == {m.id for m in PLAN.measures}
    for p in PLAN.priorities:
        ids = [m for o in p.objectives for m in o.measures]
        assert len(ids) == len(set(ids)), p.id


def test_measures_say_what_they_count() -> None:
    for m in PLAN.measures:
        assert len(m.definition) > 40, m.id
        for s in m.sources:
            assert s.label, (m.id, s.dataset)
    homicide = PLAN.measure("homicide_offences").definition
    for offence in ("murder", "manslaughter", "corporate manslaughter", "infanticide"):
        assert offence in homicide
    assert "offences" in homicide and "victim" in PLAN.measure("homicide_victims").definition
    assert "domestic" in PLAN.measure("violence_with_injury").definition
    for london_only in ("non_domestic_violence_with_injury", "knife_injury_victims_u25", "domestic_abuse"):
        assert "London-wide only" in PLAN.measure(london_only).definition
        assert PLAN.measure(london_only).levels == ["london"]
    for outcome_share in ("burglary_no_suspect_share", "burglary_charged_share"):
        definition = PLAN.measure(outcome_share).definition
        assert "extract" in definition and "in the month the burglary was recorded" in definition


def test_headline_sources_and_schemes() -> None:
    for mid in ("homicide_offences", "violence_with_injury", "sexual_offences", "rape", "robbery",
                "possession_of_weapons", "burglary", "drug_trafficking", "crime_harm", "total_recorded_crime"):
        sources = PLAN.measure(mid).sources
        first = sources[0]
        assert isinstance(first, RecordedCrimeSource) and (first.dataset, first.scheme) == ("mps_borough_crime", "new"), mid
        schemes = {(s.dataset, s.scheme) for s in sources if isinstance(s, RecordedCrimeSource)}
        assert schemes == {("mps_borough_crime", "new"), ("mps_borough_crime", "old"), ("mps_ward_crime", "new")}, mid
        labels = [s.label for s in sources]
        assert len(labels) == len(set(labels)), mid  # each source is named apart
    assert PLAN.measure("crime_harm").statistic == "harm"
    assert PLAN.measure("homicide_victims").sources[0].dataset == "mps_homicide_victims"


def test_every_priority_has_two_measures_with_shared_data(shared_datasets) -> None:
    for p in PLAN.priorities:
        with_data = {
            m for m in measures_of(p.id)
            if any(s.dataset in shared_datasets for s in PLAN.measure(m).sources)
        }
        assert len(with_data) >= 2, (p.id, with_data)


def test_every_loaded_source_is_in_the_shared_data(shared_datasets) -> None:
    for m in PLAN.measures:
        for s in m.sources:
            if isinstance(s, UnavailableSource):
                assert s.dataset not in _source_kinds(), (m.id, s.dataset)
            else:
                assert s.dataset in shared_datasets, (m.id, s.dataset)


def test_unavailable_sources_name_publisher_and_landing_page() -> None:
    unavailable = sources_of(UnavailableSource)
    assert {s.dataset for _, _, s in unavailable} == {"mps_monthly_crime_dashboard", "mopac_user_satisfaction_survey"}
    for mid, _, s in unavailable:
        assert s.publisher and s.landing_page and s.landing_page.startswith("https://"), mid
    dashboard = {mid for mid, _, s in unavailable if s.dataset == "mps_monthly_crime_dashboard"}
    assert dashboard == {"knife_crime_with_injury", "gun_crime", "lethal_barrelled_discharges", "knife_crime"}
    assert PLAN.measure("victim_satisfaction").sources[0].publisher == "Mayor's Office for Policing and Crime (MOPAC)"


def test_every_measure_is_shown_for_london() -> None:
    for m in PLAN.measures:
        assert "london" in m.levels, m.id


# The London-wide quarterly file's wording of the same questions (it has no Trust MPS or Understand issues).
PAS_QUARTERLY = {
    "Police do a good job in the local area", "Agree the police can be relied upon to be there when needed",
    "Agree the police treat everyone fairly regardless of who they are",
    "Agree the police listen to the concerns of local people",
    "Feels well informed about local police activities over the last 12 months",
    "Knows how to contact their local ward officer",
}


def test_pas_measures_are_named_as_published() -> None:
    surveys = sources_of(SurveySource)
    assert {s.measure for _, _, s in surveys if s.dataset != "mopac_pas_quarterly"} == PAS_MEASURES
    assert {s.measure for _, _, s in surveys if s.dataset == "mopac_pas_quarterly"} == PAS_QUARTERLY
    assert PLAN.measure("pas_good_job_local").sources[0].measure == '"Good Job" local'
    for mid, _, s in surveys:
        m = PLAN.measure(mid)
        assert (m.statistic, m.aim, m.unit, m.levels) == ("proportion", "up", "% of respondents", ["london", "borough"])
        assert {x.dataset for x in m.sources} - {"mopac_pas_quarterly"} == {"mopac_pas_borough", "mopac_pas_london"}
        assert [x.dataset for x in m.sources][:2] == ["mopac_pas_borough", "mopac_pas_london"]  # dashboard first


# ------------------------------------------------- names checked against the data


def test_every_name_and_level_matches_the_loaded_data(con) -> None:
    # One call of the plan check (crimeplan/plan/check.py): every category [major, minor] per
    # scheme, street and outcome crime type, force, GLA sheet and series, survey measure (at the
    # levels declared), homicide filter and stop-and-search force and numerator value is spelt
    # exactly as in the loaded official files, and every level is reached by a source.
    result = check_plan(con, PLAN)
    assert result.problems == [], "\n".join(map(str, result.problems))


def test_all_category_measures_name_every_major(con) -> None:
    for mid in ("crime_harm", "total_recorded_crime"):
        for s in PLAN.measure(mid).sources:
            if not isinstance(s, RecordedCrimeSource):
                continue
            majors = distinct(
                con, "SELECT DISTINCT major_category FROM recorded_crime_current WHERE dataset = ? AND scheme = ?",
                s.dataset, s.scheme,
            )
            assert set(s.categories) == {(major, "*") for major in majors}, (mid, s.dataset, s.scheme)


def test_outcome_choices_for_charge_and_no_suspect() -> None:
    # Crime cohorts of burglaries, followed for the crime's own month: all the loaded extract holds.
    [charged] = PLAN.measure("burglary_charged_share").sources
    assert charged.outcome_groups == ["charged or summonsed"] and charged.crime_types == ["Burglary"]
    [no_suspect] = PLAN.measure("burglary_no_suspect_share").sources
    assert no_suspect.outcome_groups == ["no suspect identified"]
    assert charged.within_months == no_suspect.within_months == 0


def test_arrest_share_counts_both_wordings_of_arrest(con) -> None:
    [source] = PLAN.measure("stop_search_arrest_share").sources
    arrest_like = distinct(
        con, "SELECT DISTINCT outcome FROM stop_search_current WHERE force = 'metropolitan' AND outcome ILIKE '%arrest%'"
    )
    assert set(source.numerator["outcome"]) == arrest_like == {"Arrest", "Suspect arrested"}


def test_find_share_caveat_matches_the_data(con) -> None:
    # The plan warns that the Met never marks a search's outcome as linked to its object
    # in the loaded files; if a new edition does, that note must be revised.
    [source] = PLAN.measure("stop_search_find_share").sources
    assert source.numerator == {"outcome_linked_to_object_of_search": True}
    linked = con.execute(
        "SELECT count(*) FILTER (WHERE outcome_linked_to_object_of_search), count(outcome_linked_to_object_of_search),"
        " min(month) FILTER (WHERE outcome_linked_to_object_of_search IS NOT NULL)"
        " FROM stop_search_current WHERE force = 'metropolitan'"
    ).fetchone()
    assert linked[0] == 0 and linked[1] > 0 and str(linked[2]).startswith("2024-02")
    assert "2024-02" in PLAN.measure("stop_search_find_share").notes


# -------------------------------------------------------------------- harm map


def data_categories(con, scheme: str) -> set[str]:
    return {
        f"{major} / {minor}"
        for major, minor in con.execute(
            "SELECT DISTINCT major_category, minor_category FROM recorded_crime_current"
            " WHERE dataset IN ('mps_borough_crime', 'mps_ward_crime') AND scheme = ?",
            [scheme],
        ).fetchall()
    }


def test_harm_map_shape() -> None:
    hm = harm_map()
    assert set(hm) == {"recorded_crime", "unweighted"}
    assert set(hm["recorded_crime"]) == {"new", "old"}
    for entry in hm["unweighted"]:
        assert set(entry) == {"scheme", "category", "reason"} and entry["scheme"] in {"new", "old"}
        assert len(entry["reason"]) > 20
        assert entry["category"] not in hm["recorded_crime"][entry["scheme"]], entry  # never both
    text = resources.files("crimeplan.plan").joinpath("harm_map.yaml").read_text(encoding="utf-8")
    assert "Sherman" in text and "Neyroud" in text and "2016" in text


@pytest.mark.parametrize("scheme", ["new", "old"])
def test_harm_map_covers_every_category_exactly(con, scheme: str) -> None:
    hm = harm_map()
    mapped = set(hm["recorded_crime"][scheme])
    unweighted = {e["category"] for e in hm["unweighted"] if e["scheme"] == scheme}
    in_data = data_categories(con, scheme)
    assert in_data - mapped - unweighted == set()  # every category is mapped or deliberately unweighted
    assert (mapped | unweighted) - in_data == set()  # and nothing is named that the data lacks


def test_harm_map_uses_only_published_subgroups(con) -> None:
    subgroups = distinct(con, "SELECT DISTINCT subgroup FROM harm_weight_current WHERE scheme = 'subgroup'")
    hm = harm_map()
    used = {sub for scheme in ("new", "old") for sub in hm["recorded_crime"][scheme].values()}
    assert used <= subgroups, used - subgroups
    assert used == subgroups  # every CCHI subgroup is used by some MPS category


def test_harm_map_anchor_cases() -> None:
    new, old = harm_map()["recorded_crime"]["new"], harm_map()["recorded_crime"]["old"]
    assert new["VIOLENCE AGAINST THE PERSON / VIOLENCE WITH INJURY"] == "Violence with injury"
    assert new["VIOLENCE AGAINST THE PERSON / HOMICIDE"] == old["Violence Against the Person / Homicide"] == "Homicide"
    assert new["SEXUAL OFFENCES / RAPE"] == old["Sexual Offences / Rape"] == "Rape offences"
    assert old["Burglary / Domestic Burglary"] == new["BURGLARY / BURGLARY IN A DWELLING"] == "Residential burglary"
    assert new["THEFT / SHOPLIFTING"] == old["Theft / Shoplifting"] == "Shoplifting"
    unweighted = {(e["scheme"], e["category"]) for e in harm_map()["unweighted"]}
    assert ("new", "NFIB FRAUD / NFIB") in unweighted
    assert ("old", "Historical Fraud and Forgery / Historical Fraud and Forgery") in unweighted
