"""Geography and datasets as data: levels, reach and residents declared in YAML, not Python tables."""

from __future__ import annotations

import pytest

from crimeplan.catalogue import load_catalogue
from crimeplan.errors import CrimeplanError
from crimeplan.geography import GeographyError, load_geography
from crimeplan.plan import PlanError, load_plan, parse_plan


def test_londons_levels_are_declared() -> None:
    g = load_geography("london")
    assert g.ids == ["london", "bcu", "borough", "ward", "ward2014", "lsoa"]
    assert [g.child(lv) for lv in ("london", "bcu", "borough", "ward")] == ["bcu", "borough", "ward", None]
    assert g.hotspot_levels == ("borough", "ward", "ward2014", "lsoa")
    assert g.published_levels == ("london", "bcu", "borough", "ward")
    assert g.boundary_sets == {"2022": "ward", "2014": "ward2014"}


def test_reach_follows_the_level_a_dataset_is_published_at() -> None:
    g = load_geography("london")
    # an LSOA-level file reaches every level above it, by every path (2014 wards by best fit)
    assert {lv for lv in g.ids if g.reaches("lsoa", lv)} == set(g.ids)
    assert {lv for lv in g.ids if g.reaches("ward", lv)} == {"ward", "borough", "bcu", "london"}
    assert {lv for lv in g.ids if g.reaches("borough", lv)} == {"borough", "bcu", "london"}
    # force-wide and region-wide series are London's, and nothing below
    assert {lv for lv in g.ids if g.reaches("force", lv)} == {"london"}
    assert not g.reaches("neighbourhood", "borough") and not g.reaches(None, "london")


def test_the_catalogue_declares_what_each_dataset_is() -> None:
    cat = load_catalogue()
    declared = {d.id: (d.record_table, d.native_level) for d in cat.datasets if d.native_level}
    assert declared["mps_ward_crime"] == ("recorded_crime", "ward")
    assert declared["police_uk_stop_search"] == ("stop_search", "lsoa")  # placed by location at load
    assert declared["gla_state_of_london_crime"] == ("london_monthly", "region")
    assert cat.dataset("police_uk_street").absent_row == "zero" and cat.dataset("mopac_pas_borough").absent_row == "unknown"


def test_another_geography_is_a_file(tmp_path) -> None:
    path = tmp_path / "shire.yaml"
    path.write_text(
        "id: shire\ntitle: A shire force\nnative: {force: force}\nlevels:\n"
        "  - {id: force, name: force area, plural: force area, word: force area, area_level: pfa, vintages: [''],"
        " child: district, residents: {sum_of: district}, residents_text: Census 2021}\n"
        "  - {id: district, name: district, plural: districts, word: district, area_level: lad, vintages: [''],"
        " parent: force, residents: {table: []}, residents_text: Census 2021}\n",
        encoding="utf-8",
    )
    g = load_geography(str(path))
    assert g.top == "force" and g.reaches("district", "force") and not g.reaches("force", "district")
    path.write_text(path.read_text().replace("parent: force", "parent: county"), encoding="utf-8")
    load_geography.cache_clear()
    with pytest.raises(GeographyError, match="unknown level 'county'"):
        load_geography(str(path))


def test_an_unknown_geography_names_the_shipped_ones() -> None:
    with pytest.raises(CrimeplanError, match="unknown geography 'atlantis'; shipped: .*london"):
        load_geography("atlantis")


def test_a_level_the_plans_geography_lacks_is_refused_with_its_line() -> None:
    text = (load_plan.__globals__["read_file"](None, load_plan.__globals__["LONDON_PLAN"], "plan"))[0]
    broken = text.replace("levels: [london, bcu, borough]", "levels: [london, county, borough]", 1)
    assert broken != text
    line = next(i for i, t in enumerate(broken.splitlines(), 1) if "levels: [london, county, borough]" in t)
    with pytest.raises(PlanError) as exc:
        parse_plan(broken, "plan.yaml")
    assert f"line {line}" in str(exc.value) and "'county' is not a level of the london geography" in str(exc.value)
