"""The dataset catalogue: complete, true to the bytes in the data folder, and strict about bad entries."""

from __future__ import annotations

import copy
import json
import re
from importlib import resources
from pathlib import Path

import pytest
import yaml

from crimeplan import OGL_ATTRIBUTION, OS_ATTRIBUTION
from crimeplan.catalogue import CatalogueError, load_catalogue, parse_catalogue
from crimeplan.errors import InputError
from crimeplan.fetch import file_sha256

EXPECTED_IDS = [
    "police_uk_street", "police_uk_outcomes", "police_uk_stop_search",
    "mps_borough_crime", "mps_ward_crime", "mps_lsoa_crime", "mps_homicide_victims",
    "homicide_victims_processed", "gla_state_of_london_crime", "mopac_pas_borough", "mopac_pas_london",
    "mopac_pas_quarterly", "mopac_pas_neighbourhood_ethnic_group", "mopac_pas_neighbourhood_2016",
    "mps_force_strength",
    "geo_boroughs", "geo_bcus", "geo_wards_2014", "geo_wards_2018", "geo_wards_2022",
    "geo_lsoa_2011", "geo_lsoa_2021", "lookup_borough_bcu", "lookup_lsoa11_ward22", "lookup_lsoa21_ward22",
    "population_borough_2021", "population_ward22_2021", "population_lsoa21_2021",
    "population_lsoa11_mid2019", "population_lsoa11_mid2020", "population_lsoa21_ethnic_group_2021",
    "harm_cchi_subgroups", "harm_cchi_force_categories", "home_office_pfa_crime",
]
OGL_V3_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
BURGLARY_ZIP = "police-uk/metropolitan-burglary-extract-2018-01_2025-02.zip"


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="module")
def raw_doc() -> dict:
    text = resources.files("crimeplan").joinpath("catalogue.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def test_every_dataset_is_catalogued_in_order(catalogue):
    assert catalogue.ids == EXPECTED_IDS
    assert [d.id for d in catalogue.datasets] == EXPECTED_IDS
    assert len(catalogue) == len(EXPECTED_IDS)


def test_every_dataset_is_described_and_supplied(catalogue):
    for dataset in catalogue:
        assert dataset.title and dataset.publisher and dataset.licence and dataset.attribution
        assert 40 < len(dataset.description) < 700, dataset.id
        assert dataset.landing_page.startswith("https://"), dataset.id
        assert dataset.files, f"{dataset.id} has no file"


def test_shared_files_match_the_data_folder_byte_for_byte(catalogue, data_dir: Path):
    for f in catalogue.files():
        on_disk = data_dir / f.path
        if not f.shared:
            assert not on_disk.exists(), f"{f.path} is in the data folder but catalogued as not shared"
            continue
        assert on_disk.is_file(), f"{f.path} is catalogued but not in {data_dir}"
        assert on_disk.stat().st_size == f.size, f.path
        assert file_sha256(on_disk) == f.sha256, f.path


def test_every_file_of_the_data_folder_is_catalogued(catalogue, data_dir: Path):
    on_disk = {
        p.relative_to(data_dir).as_posix()
        for p in data_dir.rglob("*")
        if p.is_file() and p.name != "README.md" and not p.name.startswith(".")
    }
    catalogued = {f.path for f in catalogue.files() if f.shared}
    assert on_disk == catalogued


def test_a_file_supplying_two_datasets_is_listed_once(catalogue):
    paths = [f.path for f in catalogue.files()]
    assert len(paths) == len(set(paths))
    burglary = catalogue.file(BURGLARY_ZIP)
    assert burglary.datasets == ("police_uk_street", "police_uk_outcomes")
    assert [f.path for f in catalogue.dataset("police_uk_outcomes").files] == [BURGLARY_ZIP]
    assert BURGLARY_ZIP in [f.path for f in catalogue.dataset("police_uk_street").files]
    # files(datasets) picks the files of those datasets, once each
    picked = catalogue.files(["police_uk_street", "police_uk_outcomes"])
    assert [f.path for f in picked].count(BURGLARY_ZIP) == 1
    assert len(picked) == 3


def test_unknown_dataset_names_the_known_ones(catalogue):
    with pytest.raises(KeyError) as info:
        catalogue.dataset("police_uk_streets")
    message = str(info.value)
    assert "police_uk_streets" in message
    assert "police_uk_street," in message and "harm_cchi_force_categories" in message
    with pytest.raises(KeyError):
        catalogue.files(["no_such_dataset"])


def test_licences_and_attributions(catalogue):
    for dataset in catalogue:
        if dataset.licence.startswith("Open Government Licence v3.0"):
            assert dataset.licence_url == OGL_V3_URL, dataset.id
            assert OGL_ATTRIBUTION in dataset.attribution, dataset.id
        if dataset.id.startswith("geo_"):
            assert OS_ATTRIBUTION in dataset.attribution, dataset.id
    for harm in ("harm_cchi_subgroups", "harm_cchi_force_categories"):
        d = catalogue.dataset(harm)
        assert "No licence stated" in d.licence and d.licence_url is None
        assert "Sherman" in d.attribution


def test_caveats_from_the_data_readme_are_in_the_descriptions(catalogue):
    assert "EXTRACT" in catalogue.dataset("police_uk_street").description
    assert "EXTRACT" in catalogue.file(BURGLARY_ZIP).note
    assert "third party" in catalogue.dataset("homicide_victims_processed").description
    assert "NOT in the shared data" in catalogue.dataset("mps_lsoa_crime").description
    assert "partial" in catalogue.dataset("police_uk_stop_search").description


def test_download_addresses(catalogue):
    police = [f for f in catalogue.files() if f.path.startswith("police-uk/")]
    assert len(police) == 5
    for f in police:
        match = re.fullmatch(r"https://data\.police\.uk/data/archive/(\d{4}-\d{2})\.zip", f.url)
        assert match, f.url
        assert f.url_serves == "superset" and match.group(1) == f.edition
        assert f.official_name == f"{f.edition}.zip"
    for f in catalogue.files():
        assert f.url.startswith("https://"), f.path
        if f.url_is_landing_page:
            assert not f.downloadable
    # only landing pages are known for third-party and hand-built files
    for path in ("harm/cchi_subgroup_medians.csv", "geography/london_borough_to_mps_bcu.csv",
                 "london-datastore/homicide victims by year 2003-2023 (third-party processed copy).csv"):
        assert catalogue.file(path).url_is_landing_page
    assert catalogue.file("london-datastore/MPS Ward Level Crime (most recent 24 months) 2024-03_2026-03.csv").downloadable


def test_editions_are_text(catalogue):
    for f in catalogue.files():
        assert f.edition is None or isinstance(f.edition, str)
    assert catalogue.file("geography/london_wards_2014_citymerged.geojson").edition == "2014"


def test_to_dict_is_json(catalogue):
    data = json.loads(json.dumps(catalogue.to_dict()))
    assert [d["id"] for d in data["datasets"]] == EXPECTED_IDS
    street = data["datasets"][0]
    assert BURGLARY_ZIP in [f["path"] for f in street["files"]]
    assert len(data["files"]) == len(catalogue.files())
    burglary = next(f for f in data["files"] if f["path"] == BURGLARY_ZIP)
    assert burglary["datasets"] == ["police_uk_street", "police_uk_outcomes"]
    assert len(burglary["sha256"]) == 64


def test_load_from_a_path(tmp_path, raw_doc):
    path = tmp_path / "cat.yaml"
    path.write_text(_dump(raw_doc), encoding="utf-8")
    assert load_catalogue(path).ids == EXPECTED_IDS
    with pytest.raises(CatalogueError) as info:
        load_catalogue(tmp_path / "missing.yaml")
    assert "missing.yaml" in str(info.value)


# -- bad catalogues -------------------------------------------------------------


def _dump(doc: dict) -> str:
    return yaml.dump(doc, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), allow_unicode=True)


def _bad(raw_doc: dict, mutate) -> str:
    doc = copy.deepcopy(raw_doc)
    mutate(doc)
    with pytest.raises(CatalogueError) as info:
        parse_catalogue(_dump(doc), source="bad.yaml")
    message = str(info.value)
    assert message.startswith("bad.yaml: ")
    return message


def test_duplicate_dataset_id(raw_doc):
    def mutate(doc):
        doc["datasets"][5]["id"] = "police_uk_street"

    message = _bad(raw_doc, mutate)
    assert "dataset 'police_uk_street' (datasets[5])" in message
    assert "field 'id'" in message and "duplicate" in message and "datasets[0]" in message


def test_bad_sha256(raw_doc):
    def mutate(doc):
        doc["files"][2]["sha256"] = "abc123"

    message = _bad(raw_doc, mutate)
    assert "city-of-london-stop-and-search-2017-12_2020-11.zip" in message and "files[2]" in message
    assert "field 'sha256'" in message and "64 hexadecimal" in message


def test_sha256_of_the_wrong_length_or_alphabet(raw_doc):
    def too_long(doc):
        doc["files"][0]["sha256"] += "0"

    def not_hex(doc):
        doc["files"][0]["sha256"] = "g" * 64

    assert "field 'sha256'" in _bad(raw_doc, too_long)
    assert "field 'sha256'" in _bad(raw_doc, not_hex)


def test_duplicate_file_path(raw_doc):
    def mutate(doc):
        doc["files"][1]["path"] = doc["files"][0]["path"]

    message = _bad(raw_doc, mutate)
    assert "files[1]" in message and "field 'path'" in message and "duplicate path" in message


def test_missing_field_unknown_field_and_bad_values(raw_doc):
    def no_title(doc):
        del doc["datasets"][3]["title"]

    def typo(doc):
        doc["files"][4]["sha265"] = doc["files"][4].pop("sha256")

    def bad_id(doc):
        doc["datasets"][0]["id"] = "Police UK"

    def escaping_path(doc):
        doc["files"][0]["path"] = "../etc/passwd"

    def not_a_url(doc):
        doc["datasets"][1]["landing_page"] = "data.police.uk"

    def unknown_dataset(doc):
        doc["files"][0]["datasets"] = ["police_uk_streets"]

    def shared_without_checksum(doc):
        del doc["files"][0]["sha256"]

    def landing_page_with_url_serves(doc):
        doc["files"][0]["url_is_landing_page"] = True

    def negative_size(doc):
        doc["files"][0]["size"] = -1

    message = _bad(raw_doc, no_title)
    assert "dataset 'mps_borough_crime' (datasets[3])" in message and "field 'title'" in message and "missing" in message
    message = _bad(raw_doc, typo)
    assert "files[4]" in message and "field 'sha265'" in message and "unknown field" in message and "sha256" in message
    assert "field 'id'" in _bad(raw_doc, bad_id)
    assert "field 'path'" in _bad(raw_doc, escaping_path)
    message = _bad(raw_doc, not_a_url)
    assert "police_uk_outcomes" in message and "field 'landing_page'" in message
    message = _bad(raw_doc, unknown_dataset)
    assert "field 'datasets'" in message and "police_uk_streets" in message
    assert "sha256 and size" in _bad(raw_doc, shared_without_checksum)
    assert "landing page" in _bad(raw_doc, landing_page_with_url_serves)
    assert "field 'size'" in _bad(raw_doc, negative_size)


def test_structure_errors(raw_doc):
    with pytest.raises(CatalogueError) as info:
        parse_catalogue("datasets: []\nfiles: []\n", source="empty.yaml")
    assert "empty.yaml" in str(info.value) and "'datasets'" in str(info.value)
    with pytest.raises(CatalogueError) as info:
        parse_catalogue(_dump({**raw_doc, "extra": 1}), source="x.yaml")
    assert "'extra'" in str(info.value)
    with pytest.raises(InputError) as info:
        parse_catalogue("datasets:\n  - id: [unclosed\n", source="broken.yaml")
    assert "broken.yaml, line" in str(info.value)
