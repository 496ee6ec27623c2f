"""Investigation outcomes: the grouping, crime cohorts at equal follow-up, and the artefact they remove."""

from __future__ import annotations

import pytest

from crimeplan.catalogue import load_catalogue

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
