"""The geography reader on the real boundary, lookup and population files, and on broken copies of them."""

from __future__ import annotations

import csv
import io
import json
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pytest
import shapely

from crimeplan.errors import InputError
from crimeplan.sources.geography import (
    BEST_FIT_BY_GEOMETRY,
    GeographyReader,
    best_fit_lookup,
)
from crimeplan.sources.harm import HarmWeightsReader
from crimeplan.sources.nomis import CensusEthnicGroupReader
from crimeplan.sources.base import source_records
from crimeplan.sources.inputs import InputFile

READER = GeographyReader()
NOMIS_TS021 = "census2021-ts021-lsoa.csv"

FILES = {
    "london_boroughs_2022.geojson": "geo_boroughs",
    "mps_bcus.geojson": "geo_bcus",
    "london_wards_2014_citymerged.geojson": "geo_wards_2014",
    "london_wards_2018_citymerged.geojson": "geo_wards_2018",
    "london_wards_2022.geojson": "geo_wards_2022",
    "london_lsoa_2011.geojson": "geo_lsoa_2011",
    "london_lsoa_2021.geojson": "geo_lsoa_2021",
    "london_borough_to_mps_bcu.csv": "lookup_borough_bcu",
    "london_lsoa11_ward22_borough_lookup.csv": "lookup_lsoa11_ward22",
    "london_lsoa21_ward22_borough_bcu_lookup.csv": "lookup_lsoa21_ward22",
    "london_borough_population_census2021.csv": "population_borough_2021",
    "london_ward22_population_census2021_bestfit.csv": "population_ward22_2021",
    "london_lsoa21_population_census2021.csv": "population_lsoa21_2021",
    "london_lsoa11_population_mid2019.csv": "population_lsoa11_mid2019",
    "london_lsoa11_population_mid2020.csv": "population_lsoa11_mid2020",
}

BCU_CODES = {"AS", "AW", "CE", "CN", "CP", "EA", "NA", "NE", "NW", "SE", "SN", "SW", "WA"}


def read(path: Path, reader=READER) -> list[tuple]:
    """(part, table) for every part of ``path``, checking that the counts add up."""
    out = []
    for part in reader.parts(InputFile(Path(path), "file")):
        table = pa.Table.from_batches(list(part.batches), schema=part.schema)
        assert part.records_read == source_records(table) + len(part.rejects), part
        out.append((part, table))
    return out


@lru_cache(maxsize=None)
def _real(path: str) -> tuple:
    return tuple(read(Path(path)))


def real(data_dir: Path, name: str) -> list[tuple]:
    return list(_real(str(data_dir / "geography" / name)))


def rows(data_dir: Path, name: str, member: str = "") -> list[dict]:
    for part, table in real(data_dir, name):
        if part.member == member:
            return table.to_pylist()
    raise AssertionError(f"no part {member!r}")


def parts_by_member(data_dir: Path, name: str) -> dict:
    return {part.member: (part, table) for part, table in real(data_dir, name)}


# ---------------------------------------------------------------------------------------------
# Recognition


def test_every_geography_file_is_recognised_as_its_dataset(data_dir):
    found = {}
    for path in sorted((data_dir / "geography").iterdir()):
        if path.name == NOMIS_TS021:  # another publisher's format: tests/sources/test_nomis.py
            assert READER.sniff(InputFile(path, "file")) is None
            continue
        sniff = READER.sniff(InputFile(path, "file"))
        assert sniff is not None, path.name
        assert sniff.reader is READER
        found[path.name] = sniff.datasets[0]
    assert found == FILES
    assert set(found.values()) == set(READER.datasets)


def test_recognition_is_by_content_not_name(data_dir, tmp_path):
    for name, dataset in FILES.items():
        if "wards_201" in name or "mid20" in name:
            continue  # their year can only come from the name (tested below)
        renamed = tmp_path / f"download{Path(name).suffix}"
        renamed.write_bytes((data_dir / "geography" / name).read_bytes())
        assert READER.sniff(InputFile(renamed, "file")).datasets == (dataset,), name


def test_other_publishers_files_are_not_claimed(data_dir):
    for folder in ("london-datastore", "harm", "police-uk", "home-office"):
        for path in sorted((data_dir / folder).iterdir()):
            kind = "zip" if path.suffix == ".zip" else "file"
            assert READER.sniff(InputFile(path, kind)) is None, path.name
    for path in (data_dir / "geography").iterdir():
        assert HarmWeightsReader().sniff(InputFile(path, "file")) is None, path.name


def test_the_registry_sends_geography_and_harm_files_to_these_readers(data_dir):
    from crimeplan.sources import sniff

    for folder, reader_type in (("geography", GeographyReader), ("harm", HarmWeightsReader)):
        for path in sorted((data_dir / folder).iterdir()):
            if path.name == NOMIS_TS021:
                assert isinstance(sniff(InputFile(path, "file")).reader, CensusEthnicGroupReader)
                continue
            assert isinstance(sniff(InputFile(path, "file")).reader, reader_type), path.name


# ---------------------------------------------------------------------------------------------
# Real files: areas and geometries


def test_geojson_yields_an_area_part_and_a_geometry_part(data_dir):
    parts = real(data_dir, "london_boroughs_2022.geojson")
    assert [(p.dataset, p.kind, p.member) for p, _ in parts] == [
        ("geo_boroughs", "area", "areas"),
        ("geo_boroughs", "area_geometry", "geometries"),
    ]
    for part, _ in parts:
        assert part.encoding == "utf-8"
        assert any("1-based index of the feature" in n for n in part.notes)


def test_boroughs(data_dir):
    areas = rows(data_dir, "london_boroughs_2022.geojson", "areas")
    assert len(areas) == 33
    assert all(a["level"] == "borough" and a["vintage"] == "" and a["parent_level"] == "bcu" for a in areas)
    assert {a["code"] for a in areas} == {f"E09{n:06d}" for n in range(1, 34)}
    by_code = {a["code"]: a for a in areas}
    assert by_code["E09000001"]["name"] == "City of London"
    assert by_code["E09000001"]["parent_code"] == "CP"
    assert by_code["E09000001"]["alt_code"] is None
    assert by_code["E09000002"] | {"line": None} == {
        "level": "borough", "vintage": "", "code": "E09000002", "name": "Barking and Dagenham",
        "parent_level": "bcu", "parent_code": "EA", "alt_code": "KG", "line": None,
    }
    # North Area's code 'NA' is text, not a missing value.
    assert by_code["E09000010"]["parent_code"] == "NA" and by_code["E09000014"]["parent_code"] == "NA"
    assert sum(1 for a in areas if a["alt_code"]) == 32
    assert sorted(a["line"] for a in areas) == list(range(1, 34))


def test_bcus_and_london(data_dir):
    areas = rows(data_dir, "mps_bcus.geojson", "areas")
    assert len(areas) == 14
    bcus = [a for a in areas if a["level"] == "bcu"]
    assert {a["code"] for a in bcus} == BCU_CODES
    assert all(a["parent_level"] == "london" and a["parent_code"] == "E12000007" for a in bcus)
    [london] = [a for a in areas if a["level"] == "london"]
    assert (london["code"], london["name"], london["vintage"], london["parent_code"], london["line"]) == (
        "E12000007", "London", "", None, None)

    geometries = {g["code"]: shapely.from_wkb(g["geometry_wkb"])
                  for g in rows(data_dir, "mps_bcus.geojson", "geometries")}
    assert set(geometries) == BCU_CODES | {"E12000007"}
    london_shape = geometries.pop("E12000007")
    assert london_shape.is_valid
    assert london_shape.area == pytest.approx(shapely.union_all(list(geometries.values())).area)
    # every borough lies in London
    for b in rows(data_dir, "london_boroughs_2022.geojson", "geometries"):
        assert london_shape.contains(shapely.point_on_surface(shapely.from_wkb(b["geometry_wkb"])))


def test_every_borough_bcu_is_a_known_bcu_and_the_two_sources_agree(data_dir):
    bcus = {a["code"] for a in rows(data_dir, "mps_bcus.geojson", "areas") if a["level"] == "bcu"}
    from_boundaries = {a["code"]: a["parent_code"] for a in rows(data_dir, "london_boroughs_2022.geojson", "areas")}
    lookup = rows(data_dir, "london_borough_to_mps_bcu.csv")
    assert len(lookup) == 33
    assert all(r["from_level"] == "borough" and r["to_level"] == "bcu" and r["method"] == "published" for r in lookup)
    from_lookup = {r["from_code"]: r["to_code"] for r in lookup}
    assert set(from_boundaries.values()) <= bcus
    assert from_lookup == from_boundaries
    # 12 Met BCUs cover 32 boroughs, each BCU 2-4 of them; the City is policed by City of London Police
    met = [b for b in from_lookup.values() if b != "CP"]
    assert len(set(met)) == 12 and len(met) == 32
    assert all(2 <= met.count(b) <= 4 for b in set(met))
    assert from_lookup["E09000001"] == "CP"


def test_wards_2014_city_merged(data_dir):
    parts = parts_by_member(data_dir, "london_wards_2014_citymerged.geojson")
    areas = parts["areas"][1].to_pylist()
    assert len(areas) == 630
    assert all(a["level"] == "ward" and a["vintage"] == "2014" for a in areas)
    city = [a for a in areas if a["code"] == "E09000001"]
    assert len(city) == 1 and city[0]["name"] == "City of London" and city[0]["parent_code"] == "E09000001"
    assert sum(1 for a in areas if a["code"].startswith("E05")) == 629
    geometry_part = parts["geometries"][0]
    collections = [n for n in geometry_part.notes if "GeometryCollection" in n]
    assert len(collections) == 2 and "Colville" in collections[0]


def test_wards_2018_city_merged_feature_is_relabelled(data_dir):
    parts = parts_by_member(data_dir, "london_wards_2018_citymerged.geojson")
    areas = parts["areas"][1].to_pylist()
    assert len(areas) == 633
    [city] = [a for a in areas if a["parent_code"] == "E09000001"]
    # published as 'Castle Baynard' E05009297 although it covers the whole City
    assert (city["code"], city["name"], city["alt_code"], city["vintage"]) == (
        "E09000001", "City of London", "E05009297", "2018")
    assert any("Castle Baynard" in n for n in parts["areas"][0].notes)
    assert "E05009297" not in {a["code"] for a in areas}


def test_wards_2022(data_dir):
    areas = rows(data_dir, "london_wards_2022.geojson", "areas")
    assert len(areas) == 704
    city = [a for a in areas if a["parent_code"] == "E09000001"]
    assert len(city) == 25 and len(areas) - len(city) == 679
    assert all(a["code"].startswith("E05") and a["vintage"] == "2022" for a in areas)


@pytest.mark.parametrize("name", ["london_wards_2014_citymerged.geojson", "london_wards_2018_citymerged.geojson",
                                  "london_wards_2022.geojson"])
def test_every_ward_parent_is_a_known_borough(data_dir, name):
    boroughs = {a["code"] for a in rows(data_dir, "london_boroughs_2022.geojson", "areas")}
    areas = rows(data_dir, name, "areas")
    assert {a["parent_code"] for a in areas} == boroughs
    assert all(a["parent_level"] == "borough" for a in areas)


@pytest.mark.parametrize("name, vintage, count, collections", [
    ("london_lsoa_2011.geojson", "2011", 4835, 0),
    ("london_lsoa_2021.geojson", "2021", 4994, 2),
])
def test_lsoas(data_dir, name, vintage, count, collections):
    parts = parts_by_member(data_dir, name)
    areas = parts["areas"][1].to_pylist()
    boroughs = {a["code"] for a in rows(data_dir, "london_boroughs_2022.geojson", "areas")}
    assert len(areas) == count
    assert len({a["code"] for a in areas}) == count
    assert all(a["level"] == "lsoa" and a["vintage"] == vintage and a["code"].startswith("E01") for a in areas)
    assert {a["parent_code"] for a in areas} == boroughs
    assert sum(1 for n in parts["geometries"][0].notes if "GeometryCollection" in n) == collections
    assert parts["geometries"][1].num_rows == count


@pytest.mark.parametrize("name", [n for n in FILES if n.endswith(".geojson")])
def test_geometries_are_valid_polygons_in_london(data_dir, name):
    areas, geometries = (t for _, t in real(data_dir, name))
    assert geometries.num_rows == areas.num_rows
    assert geometries.column("code").to_pylist() == areas.column("code").to_pylist()
    shapes = shapely.from_wkb(geometries.column("geometry_wkb").to_numpy(zero_copy_only=False))
    assert set(shapely.get_type_id(shapes)) <= {3, 6}  # Polygon, MultiPolygon
    assert shapely.is_valid(shapes).all()
    minx, miny, maxx, maxy = shapely.total_bounds(shapes)
    assert -0.52 < minx < maxx < 0.34 and 51.28 < miny < maxy < 51.70


# ---------------------------------------------------------------------------------------------
# Real files: lookups and populations


def test_lsoa_to_ward_2022_lookups(data_dir):
    wards = {a["code"] for a in rows(data_dir, "london_wards_2022.geojson", "areas")}
    for name, vintage, count, lsoa_file, ward_count in [
        ("london_lsoa11_ward22_borough_lookup.csv", "2011", 4835, "london_lsoa_2011.geojson", 683),
        ("london_lsoa21_ward22_borough_bcu_lookup.csv", "2021", 4994, "london_lsoa_2021.geojson", 684),
    ]:
        lookup = rows(data_dir, name)
        assert len(lookup) == count
        assert {(r["from_level"], r["from_vintage"], r["to_level"], r["to_vintage"], r["method"]) for r in lookup} == {
            ("lsoa", vintage, "ward", "2022", "best-fit (published)")}
        assert {r["from_code"] for r in lookup} == {a["code"] for a in rows(data_dir, lsoa_file, "areas")}
        targets = {r["to_code"] for r in lookup}
        assert targets <= wards and len(targets) == ward_count
        assert lookup[0]["line"] == 2


def test_census_2021_populations_add_up(data_dir):
    boroughs = rows(data_dir, "london_borough_population_census2021.csv")
    wards = rows(data_dir, "london_ward22_population_census2021_bestfit.csv")
    lsoas = rows(data_dir, "london_lsoa21_population_census2021.csv")
    assert (len(boroughs), len(wards), len(lsoas)) == (33, 684, 4994)
    for table, level, vintage in ((boroughs, "borough", ""), (wards, "ward", "2022"), (lsoas, "lsoa", "2021")):
        assert {(r["level"], r["vintage"], r["reference"], r["sex"], r["age_band"]) for r in table} == {
            (level, vintage, "census2021", "all", "all")}
    london = sum(r["persons"] for r in boroughs)
    assert london == 8_799_631
    assert sum(r["persons"] for r in lsoas) == london
    assert sum(r["persons"] for r in wards) == london
    # the wards with no population are 20 small City wards
    ward_areas = rows(data_dir, "london_wards_2022.geojson", "areas")
    missing = {a["code"] for a in ward_areas} - {r["code"] for r in wards}
    assert len(missing) == 20
    assert {a["parent_code"] for a in ward_areas if a["code"] in missing} == {"E09000001"}


@pytest.mark.parametrize("name, reference, total", [
    ("london_lsoa11_population_mid2019.csv", "mid2019", 8_961_989),
    ("london_lsoa11_population_mid2020.csv", "mid2020", 9_002_488),
])
def test_mid_year_estimates(data_dir, name, reference, total):
    [(part, table)] = real(data_dir, name)
    # a record is a row of the file; each gives 18 tidy rows (3 sexes x 6 age bands)
    assert part.records_read == 4835 and table.num_rows == 4835 * 18
    assert not part.notes  # every row adds up
    data = table.to_pylist()
    assert {(r["level"], r["vintage"], r["reference"]) for r in data} == {("lsoa", "2011", reference)}
    assert {r["sex"] for r in data} == {"all", "male", "female"}
    assert {r["age_band"] for r in data} == {"all", "0-15", "16-29", "30-44", "45-64", "65+"}
    persons = {(r["code"], r["sex"], r["age_band"]): r["persons"] for r in data}
    assert sum(v for (c, s, b), v in persons.items() if s == "all" and b == "all") == total
    assert persons[("E01000001", "all", "all")] == (1636 if reference == "mid2019" else 1749)
    assert persons[("E01000001", "male", "65+")] == (218 if reference == "mid2019" else 215)
    assert sum(v for (c, s, b), v in persons.items() if s == "male" and b == "all") + sum(
        v for (c, s, b), v in persons.items() if s == "female" and b == "all") == total


# ---------------------------------------------------------------------------------------------
# Best fit by geometry


def _shapes(data_dir: Path, name: str) -> tuple[list[str], list[bytes]]:
    table = real(data_dir, name)[1][1]
    return table.column("code").to_pylist(), table.column("geometry_wkb").to_pylist()


def test_best_fit_lsoa11_to_ward22_agrees_with_the_published_lookup(data_dir):
    lsoa_codes, lsoa_shapes = _shapes(data_dir, "london_lsoa_2011.geojson")
    ward_codes, ward_shapes = _shapes(data_dir, "london_wards_2022.geojson")
    fitted = dict(best_fit_lookup(lsoa_codes, lsoa_shapes, ward_codes, ward_shapes))
    published = {r["from_code"]: r["to_code"] for r in rows(data_dir, "london_lsoa11_ward22_borough_lookup.csv")}
    assert set(fitted) == set(published)
    agreement = sum(fitted[c] == published[c] for c in published) / len(published)
    print(f"best fit LSOA 2011 -> ward 2022 agrees with ONS for {agreement:.1%}")
    assert agreement > 0.94  # measured 95.2%: ONS uses population-weighted centroids


def test_best_fit_lsoa21_to_ward22_agrees_with_the_published_lookup(data_dir):
    lsoa_codes, lsoa_shapes = _shapes(data_dir, "london_lsoa_2021.geojson")
    ward_codes, ward_shapes = _shapes(data_dir, "london_wards_2022.geojson")
    fitted = dict(best_fit_lookup(lsoa_codes, lsoa_shapes, ward_codes, ward_shapes))
    published = {r["from_code"]: r["to_code"] for r in rows(data_dir, "london_lsoa21_ward22_borough_bcu_lookup.csv")}
    agreement = sum(fitted[c] == published[c] for c in published) / len(published)
    print(f"best fit LSOA 2021 -> ward 2022 agrees with ONS for {agreement:.1%}")
    assert agreement > 0.94


def test_best_fit_gives_every_lsoa11_a_2014_ward_in_its_borough(data_dir):
    lsoa_codes, lsoa_shapes = _shapes(data_dir, "london_lsoa_2011.geojson")
    ward_codes, ward_shapes = _shapes(data_dir, "london_wards_2014_citymerged.geojson")
    pairs = best_fit_lookup(lsoa_codes, lsoa_shapes, ward_codes, ward_shapes)
    assert [p[0] for p in pairs] == lsoa_codes  # every LSOA, in order
    fitted = dict(pairs)
    ward_areas = rows(data_dir, "london_wards_2014_citymerged.geojson", "areas")
    ward_borough = {a["code"]: a["parent_code"] for a in ward_areas}
    lsoa_borough = {a["code"]: a["parent_code"] for a in rows(data_dir, "london_lsoa_2011.geojson", "areas")}
    same_borough = sum(ward_borough[fitted[c]] == lsoa_borough[c] for c in lsoa_codes) / len(lsoa_codes)
    assert same_borough > 0.995
    assert {fitted[c] for c in lsoa_codes if lsoa_borough[c] == "E09000001"} == {"E09000001"}
    assert len(set(fitted.values())) > 600  # nearly every 2014 ward receives LSOAs


def test_best_fit_rules_on_synthetic_shapes():
    box = shapely.box
    wards = ["W1", "W2", "W3"]
    ward_shapes = [box(0, 0, 10, 10), box(10, 0, 20, 10), box(5, 0, 15, 10)]  # W3 overlaps both
    small = ["inside", "overlap", "outside", "missing", "empty"]
    small_shapes = [box(1, 1, 2, 2), box(9, 1, 14, 2), box(30, 1, 31, 2), None, shapely.Polygon()]
    pairs = best_fit_lookup(small, [shapely.to_wkb(g) if g is not None else None for g in small_shapes[:3]]
                            + small_shapes[3:], wards, ward_shapes)
    # 'overlap': its point on surface lies in W2 and W3; it shares more area with W3
    assert pairs == [("inside", "W1"), ("overlap", "W3"), ("outside", "W2")]
    assert BEST_FIT_BY_GEOMETRY == "best-fit (point on surface)"
    with pytest.raises(ValueError):
        best_fit_lookup(["a"], [], wards, ward_shapes)
    with pytest.raises(ValueError):
        best_fit_lookup(["a"], [box(0, 0, 1, 1)], ["W"], [None])


# ---------------------------------------------------------------------------------------------
# Broken copies, cut from the real files


def _geojson(data_dir: Path, name: str) -> dict:
    return json.loads((data_dir / "geography" / name).read_text(encoding="utf-8"))


def _write_json(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_truncated_geojson_is_refused(data_dir, tmp_path):
    data = (data_dir / "geography" / "london_boroughs_2022.geojson").read_bytes()
    cut = tmp_path / "london_boroughs_2022.geojson"
    cut.write_bytes(data[: len(data) // 2])
    assert READER.sniff(InputFile(cut, "file")).datasets == ("geo_boroughs",)
    with pytest.raises(InputError, match="not valid JSON.*truncated"):
        read(cut)


def test_not_a_feature_collection_is_refused(tmp_path):
    path = _write_json(tmp_path / "x.geojson", {"type": "Feature", "properties": {"bcu_code": "EA"}, "geometry": None})
    with pytest.raises(InputError, match="FeatureCollection"):
        read(path)


def test_geojson_without_features_is_refused(data_dir, tmp_path):
    doc = _geojson(data_dir, "mps_bcus.geojson")
    first = doc["features"][0]
    doc["features"] = []
    path = tmp_path / "mps_bcus.geojson"
    # name the properties before the empty array so that the file is still recognised
    path.write_text(json.dumps({"type": "FeatureCollection", "example": first, "features": []}))
    with pytest.raises(InputError, match="no features"):
        read(path)


def test_missing_property_is_refused_naming_it(data_dir, tmp_path):
    doc = _geojson(data_dir, "london_wards_2022.geojson")
    for f in doc["features"]:
        del f["properties"]["ward_name"]
    with pytest.raises(InputError) as err:
        read(_write_json(tmp_path / "london_wards_2022.geojson", doc))
    assert err.value.field == "ward_name"
    assert "ward_name" in str(err.value) and "london_wards_2022.geojson" in str(err.value)


def test_bad_features_are_rejected_with_their_index(data_dir, tmp_path):
    doc = _geojson(data_dir, "london_wards_2022.geojson")
    features = doc["features"]
    features[9]["properties"]["ward_code"] = "E5009297"  # feature 10: malformed code
    features[19]["properties"]["ward_code"] = features[0]["properties"]["ward_code"]  # feature 20: duplicate
    features[29]["geometry"] = None  # feature 30: no geometry
    bowtie = [[[0, 51], [0.1, 51.1], [0.1, 51], [0, 51.1], [0, 51]]]
    features[39]["geometry"] = {"type": "Polygon", "coordinates": bowtie}
    features[49]["geometry"] = {"type": "LineString", "coordinates": [[0, 51], [0.1, 51.1]]}
    features[59]["properties"]["borough_code"] = "Camden"
    [(areas_part, areas), (geo_part, geometries)] = read(_write_json(tmp_path / "london_wards_2022.geojson", doc))
    assert areas_part.records_read == geo_part.records_read == 704
    assert [(r.line, r.field, r.value) for r in areas_part.rejects] == [
        (10, "ward_code", "E5009297"), (20, "ward_code", features[0]["properties"]["ward_code"]),
        (60, "borough_code", "Camden")]
    assert "E05 followed by 6 digits" in areas_part.rejects[0].reason
    assert "duplicate" in areas_part.rejects[1].reason and "feature 1" in areas_part.rejects[1].reason
    assert areas.num_rows == 701
    by_line = {r.line: r for r in geo_part.rejects}
    assert sorted(by_line) == [10, 20, 30, 40, 50, 60]
    assert "no geometry" in by_line[30].reason
    assert "invalid polygon" in by_line[40].reason and "Self-intersection" in by_line[40].reason
    assert "LineString" in by_line[50].reason
    assert geometries.num_rows == 698


def test_geometry_collection_keeps_its_polygons(tmp_path):
    square = [[[0, 51], [0.01, 51], [0.01, 51.01], [0, 51.01], [0, 51]]]
    far = [[[0.1, 51], [0.11, 51], [0.11, 51.01], [0.1, 51.01], [0.1, 51]]]
    doc = {"type": "FeatureCollection", "name": "london_lsoa_2021", "features": [
        {"type": "Feature", "properties": {"LSOA21CD": "E01000001", "LSOA21NM": "A", "LAD22CD": "E09000001"},
         "geometry": {"type": "GeometryCollection", "geometries": [
             {"type": "Polygon", "coordinates": square}, {"type": "Polygon", "coordinates": far},
             {"type": "LineString", "coordinates": [[0, 51], [0.2, 51.2]]}]}},
        {"type": "Feature", "properties": {"LSOA21CD": "E01000002", "LSOA21NM": "B", "LAD22CD": "E09000001"},
         "geometry": {"type": "GeometryCollection", "geometries": [
             {"type": "LineString", "coordinates": [[0, 51], [0.2, 51.2]]}]}},
    ]}
    [(_, areas), (part, geometries)] = read(_write_json(tmp_path / "lsoa.geojson", doc))
    assert areas.num_rows == 2
    assert shapely.from_wkb(geometries.column("geometry_wkb")[0].as_py()).geom_type == "MultiPolygon"
    assert any("kept its polygonal part as a MultiPolygon, dropped 1 LineString" in n for n in part.notes)
    assert [(r.line, r.field) for r in part.rejects] == [(2, "geometry")]
    assert "no polygonal part" in part.rejects[0].reason


def test_projected_coordinates_are_refused(tmp_path):
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"bcu_code": "EA", "bcu_name": "East"},
         "geometry": {"type": "Polygon", "coordinates": [[[530000, 180000], [531000, 180000], [531000, 181000],
                                                          [530000, 180000]]]}}]}
    with pytest.raises(InputError, match="not longitude/latitude"):
        read(_write_json(tmp_path / "bcus.geojson", doc))
    doc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}
    with pytest.raises(InputError, match="27700"):
        read(_write_json(tmp_path / "bcus.geojson", doc))


def test_ward_vintage_comes_from_the_name(data_dir, tmp_path):
    doc = _geojson(data_dir, "london_wards_2014_citymerged.geojson")
    # renamed, but the GeoJSON 'name' member (the layer name) still says 2014
    kept = _write_json(tmp_path / "wards.geojson", doc)
    assert READER.sniff(InputFile(kept, "file")).datasets == ("geo_wards_2014",)
    # renamed and without the 'name' member: 2014 and 2018 files cannot be told apart
    del doc["name"]
    anonymous = _write_json(tmp_path / "wards.geojson", doc)
    with pytest.raises(InputError, match="vintage cannot be told"):
        READER.sniff(InputFile(anonymous, "file"))
    with pytest.raises(InputError, match="vintage cannot be told"):
        read(anonymous)
    # a name giving another vintage than the file name's is refused
    doc["name"] = "london_wards_2014_citymerged"
    with pytest.raises(InputError, match="file name says 2018"):
        READER.sniff(InputFile(_write_json(tmp_path / "london_wards_2018.geojson", doc), "file"))


def test_mid_year_estimate_year_comes_from_the_name(data_dir, tmp_path):
    path = tmp_path / "lsoa_population.csv"
    path.write_bytes((data_dir / "geography" / "london_lsoa11_population_mid2019.csv").read_bytes())
    with pytest.raises(InputError, match="year of the mid-year"):
        READER.sniff(InputFile(path, "file"))
    renamed = tmp_path / "population mid-2020 lsoa.csv"
    path.rename(renamed)
    assert READER.sniff(InputFile(renamed, "file")).datasets == ("population_lsoa11_mid2020",)


def _cut_csv(data_dir: Path, name: str, tmp_path: Path, lines: int | None = None) -> list[str]:
    text = (data_dir / "geography" / name).read_text(encoding="utf-8")
    out = text.splitlines()
    return out[:lines] if lines else out


def test_missing_column_is_refused_naming_it(data_dir, tmp_path):
    lines = _cut_csv(data_dir, "london_lsoa11_population_mid2019.csv", tmp_path, 20)
    header = lines[0].split(",")
    drop = header.index("Males_0-15")
    path = tmp_path / "london_lsoa11_population_mid2019.csv"
    path.write_text("\n".join(",".join(f for i, f in enumerate(line.split(",")) if i != drop) for line in lines) + "\n")
    with pytest.raises(InputError) as err:
        read(path)
    assert "'Males_0-15'" in str(err.value) and err.value.line == 1


def test_unrecognisable_csv_is_refused(data_dir, tmp_path):
    lines = _cut_csv(data_dir, "london_borough_population_census2021.csv", tmp_path, 5)
    path = tmp_path / "london_borough_population_census2021.csv"
    path.write_text("\n".join(",".join(line.split(",")[:2]) for line in lines) + "\n")
    assert READER.sniff(InputFile(path, "file")) is None
    with pytest.raises(InputError, match="not recognised"):
        read(path)


def test_bad_population_rows_are_rejected_with_their_line(data_dir, tmp_path):
    lines = _cut_csv(data_dir, "london_borough_population_census2021.csv", tmp_path)
    lines[3] = lines[3].rsplit(",", 1)[0] + ",-5"  # line 4: negative
    lines[5] = lines[5].rsplit(",", 1)[0] + ",n/a"  # line 6: not a number
    lines[7] = "E0900007," + lines[7].split(",", 1)[1]  # line 8: malformed code
    lines[9] = lines[2]  # line 10: duplicate of line 3
    lines[11] = lines[11] + ",extra"  # line 12: wrong width
    path = tmp_path / "london_borough_population_census2021.csv"
    path.write_text("\n".join(lines) + "\n")
    [(part, table)] = read(path)
    assert [(r.line, r.field, r.value) for r in part.rejects] == [
        (4, "usual_residents_2021", "-5"), (6, "usual_residents_2021", "n/a"), (8, "LAD22CD", "E0900007"),
        (10, "LAD22CD", lines[2].split(",")[0]), (12, None, part.rejects[4].value)]
    assert "negative" in part.rejects[0].reason and "not a number" in part.rejects[1].reason
    assert "E09 followed by 6 digits" in part.rejects[2].reason and "line 3" in part.rejects[3].reason
    assert "4 fields; expected 3" in part.rejects[4].reason
    assert (part.records_read, table.num_rows) == (33, 28)


def test_a_bad_mid_year_value_or_code_rejects_its_row(data_dir, tmp_path):
    lines = _cut_csv(data_dir, "london_lsoa11_population_mid2019.csv", tmp_path, 11)
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index("Females_65+")] = "-3"
    lines[2] = ",".join(cells)  # line 3: one negative cell
    lines[4] = "E0100005" + lines[4][len("E01000005"):]  # line 5: malformed code
    path = tmp_path / "london_lsoa11_population_mid2019.csv"
    path.write_text("\n".join(lines) + "\n")
    [(part, table)] = read(path)
    assert part.records_read == 10
    assert [(r.line, r.field, r.value) for r in part.rejects] == [(3, "Females_65+", "-3"), (5, "LSOA11CD", "E0100005")]
    assert table.num_rows == (10 - 2) * 18
    assert sorted(set(table.column("line").to_pylist())) == [2, 4, 6, 7, 8, 9, 10, 11]


def test_lookup_rows_that_contradict_earlier_rows_are_rejected(data_dir, tmp_path):
    source = (data_dir / "geography" / "london_lsoa21_ward22_borough_bcu_lookup.csv").read_text(encoding="utf-8")
    table = list(csv.reader(io.StringIO(source)))
    header = table[0]
    i_ward, i_lad, i_bcu = header.index("WD22CD"), header.index("LAD22CD"), header.index("bcu_code")
    first_line: dict[str, int] = {}
    second = None
    for n, row in enumerate(table[1:], 2):
        if row[i_ward] in first_line and n > 100:
            second = n
            break
        first_line[row[i_ward]] = n
    assert second is not None
    other = next(n for n in range(2, len(table) + 1) if table[n - 1][i_lad] == table[second - 1][i_lad]
                 and n > second)
    table[second - 1][i_lad] = "E09000033"  # its ward is in another borough on an earlier line
    table[other - 1][i_bcu] = "SW" if table[other - 1][i_bcu] != "SW" else "NW"  # its borough in another BCU
    table[2][i_ward] = "E0501"  # line 3: malformed ward code
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(table)
    path = tmp_path / "lookup.csv"
    path.write_text(out.getvalue())
    [(part, result)] = read(path)
    assert [(r.line, r.field) for r in part.rejects] == [(3, "WD22CD"), (second, "LAD22CD"), (other, "bcu_code")]
    assert "a ward lies in one borough" in part.rejects[1].reason
    assert "a borough lies in one BCU" in part.rejects[2].reason
    assert (part.records_read, result.num_rows) == (4994, 4991)


def test_empty_and_header_only_files_are_refused(data_dir, tmp_path):
    empty = tmp_path / "london_boroughs_2022.geojson"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read(empty)
    blank_csv = tmp_path / "london_borough_to_mps_bcu.csv"
    blank_csv.write_bytes(b"\n\n")
    with pytest.raises(InputError, match="empty"):
        read(blank_csv)
    header_only = tmp_path / "london_borough_to_mps_bcu2.csv"
    header_only.write_text(_cut_csv(data_dir, "london_borough_to_mps_bcu.csv", tmp_path, 1)[0] + "\n")
    with pytest.raises(InputError, match="no data rows"):
        read(header_only)


def test_cp1252_csv_loads_and_says_so(data_dir, tmp_path):
    lines = _cut_csv(data_dir, "london_ward22_population_census2021_bestfit.csv", tmp_path)
    lines[5] = lines[5].replace(lines[5].split(",")[1], "St Mary’s Park – Café", 1)
    path = tmp_path / "london_ward22_population_census2021_bestfit.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    [(part, table)] = read(path)
    assert part.encoding == "cp1252"
    assert (table.num_rows, part.rejects) == (684, [])


def test_bom_csv_loads(data_dir, tmp_path):
    path = tmp_path / "london_borough_to_mps_bcu.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (data_dir / "geography" / "london_borough_to_mps_bcu.csv").read_bytes())
    [(part, table)] = read(path)
    assert part.encoding == "utf-8-sig" and table.num_rows == 33


def test_invalid_bytes_are_refused_with_the_line(data_dir, tmp_path):
    lines = _cut_csv(data_dir, "london_borough_to_mps_bcu.csv", tmp_path)
    data = ("\n".join(lines[:6]) + "\n").encode() + b"E09000099,Bad \x81 name,XX,EA,East\n"
    path = tmp_path / "london_borough_to_mps_bcu.csv"
    path.write_bytes(data)
    with pytest.raises(InputError) as err:
        read(path)
    assert err.value.line == 7 and "0x81" in str(err.value)
