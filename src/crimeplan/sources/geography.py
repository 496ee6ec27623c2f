"""London's areas: boundaries, lookups and populations (ONS / OS / London Datastore / MPS).

Reads the files of the data folder's ``geography/``, recognised by their GeoJSON
properties or CSV header (not by file name), into the record kinds ``area``,
``area_geometry``, ``area_lookup`` and ``population``.

Datasets
--------
=========================== ======================================================= ===================
dataset                     recognised by                                           yields
=========================== ======================================================= ===================
geo_boroughs                GeoJSON, properties borough_code, borough_name,         area, area_geometry
                            mps_borough_code, bcu_code
geo_bcus                    GeoJSON, properties bcu_code, bcu_name                  area, area_geometry
geo_wards_2014/2018/2022    GeoJSON, properties ward_code, ward_name, borough_code; area, area_geometry
                            the year from the file name (see below)
geo_lsoa_2011 / _2021       GeoJSON, properties LSOA11CD, LSOA11NM, LAD11CD /       area, area_geometry
                            LSOA21CD, LSOA21NM, LAD22CD
lookup_borough_bcu          CSV borough_code, bcu_code                              area_lookup
lookup_lsoa11_ward22        CSV LSOA11CD, WD22CD (LAD11CD cross-checked)            area_lookup
lookup_lsoa21_ward22        CSV LSOA21CD, WD22CD (LAD22CD, bcu_code cross-checked)  area_lookup
population_borough_2021     CSV LAD22CD, usual_residents_2021                       population
population_ward22_2021      CSV WD22CD, usual_residents_2021                        population
population_lsoa21_2021      CSV LSOA21CD, usual_residents_2021                      population
population_lsoa11_mid2019/  CSV LSOA11CD and Persons_/Males_/Females_ x All-Ages,   population
  _mid2020                  0-15, 16-29, 30-44, 45-64, 65+; the year from the name
=========================== ======================================================= ===================

Area model (``area`` records)
-----------------------------
* London: level 'london', code E12000007, emitted by the BCU file as the union of
  its BCUs (its geometry is the union of the BCU polygons).
* BCUs: level 'bcu', code = the MPS two-letter BCU code ('EA', 'NW', …) plus 'CP',
  the City of London Police area; parent London. Note that North Area's code is
  'NA' - read as text, never as a missing value.
* Boroughs: level 'borough', code E09…, parent the borough's BCU, alt_code the
  MPS two-letter borough code (none for the City).
* Wards: level 'ward', vintage '2014', '2018' or '2022', parent the borough.
  "City-merged" files (2014, 2018) hold the City of London as one feature: it is
  loaded as the ward E09000001 'City of London' of that vintage, whatever the file
  calls it (the 2018 file labels the whole City 'Castle Baynard', E05009297; that
  published code is kept as alt_code and said in the part's notes).
* LSOAs: level 'lsoa', vintage '2011' or '2021', parent the borough (LAD code).
BCUs and boroughs have no vintage ('').

Rules
-----
* **GeoJSON** is parsed with the standard ``json`` module, not pyogrio: the files
  are a few MB, ``json`` keeps property values exactly as published (GDAL infers
  column types and may turn codes into numbers), keeps every feature in order so a
  feature can be named in a reject, reports where a truncated file stops, and lets
  one bad geometry be rejected alone instead of failing or silently skipping.
  Each geometry is built with shapely's ``shape``.
* **line** for GeoJSON records is the 1-based index of the feature in the
  collection's ``features`` array (GeoJSON has no meaningful text lines). The London
  row, derived from the whole BCU file, has line null and is counted as one record
  read. For CSVs, line is the physical line the record starts on (header = 1).
* A GeoJSON file yields two parts: member 'areas' (kind ``area``) and member
  'geometries' (kind ``area_geometry``), each counting every feature.
* **Geometries** are WKB (2-D) in WGS84. A GeometryCollection (left by make_valid
  around slivers) keeps only its polygonal parts, as a Polygon or MultiPolygon;
  each such feature is listed in the geometries part's notes. A null, empty,
  unreadable, non-polygonal or invalid geometry, or one outside longitude/latitude
  range, is rejected (the area itself still loads). A file whose first geometry is
  not in longitude/latitude (e.g. British National Grid metres), or whose ``crs``
  member is not WGS84, is refused.
* **Ward vintage**: the 2014 and 2018 ward files have the same properties and
  nearly the same wards, so the vintage cannot come from their contents. It is the
  single year 2014, 2018 or 2022 in the file name, else in the GeoJSON's ``name``
  member (the layer name GDAL writes); if neither tells, or they disagree, the file
  is refused. Likewise the mid-year of an LSOA population estimate comes from the
  file name ('mid2019', or a single year 2019/2020 in it).
* **Rejects** (line, field, value, reason): a code that is not a GSS code of its
  level (E09 borough, E05 ward, E01 LSOA; E + 2 digits + 6 digits), a BCU or MPS
  borough code that is not two capital letters, an empty name, a code already seen
  in the file (the first one is kept), a population that is empty, negative,
  fractional or not a number, a row with the wrong number of fields.
* **Lookups**: LSOA 2011 → ward 2022 and LSOA 2021 → ward 2022 with method
  'best-fit (published)'; borough → BCU with method 'published'. The LSOA 2021 file
  also names each ward's borough and BCU; those facts are not repeated as lookups
  (a ward's borough is its parent in ``area``, a borough's BCU comes from
  lookup_borough_bcu) but cross-checked: a row that puts a ward in a second borough,
  or a borough in a second BCU, is rejected.
* **Populations**: Census 2021 usual residents (reference 'census2021', sex and
  age_band 'all'); ONS mid-year estimates (reference 'mid2019' / 'mid2020', sex
  'all' / 'male' / 'female', age_band 'all', '0-15', '16-29', '30-44', '45-64',
  '65+'). In the wide mid-year files a record (row) gives 18 tidy rows, all with
  its line; a row with a bad code or any bad value is rejected whole, as one record,
  naming the first bad field. Rows whose bands do not add up to all ages,
  or whose males and females do not add up to persons, load but are counted in the
  notes.
* **Whole-file problems** raise :class:`InputError`: empty, not JSON or truncated,
  not a FeatureCollection, no features, a missing property (judged on the first
  feature) or column, undecodable bytes, no data rows.

:func:`best_fit_lookup` assigns small areas to larger ones by geometry; the
warehouse uses it for lookups no one publishes (LSOA 2011/2021 → ward 2014).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence, Union

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, shape
from shapely.geometry.base import BaseGeometry

from crimeplan.errors import InputError
from crimeplan.sources.base import Part, Reader, Reject, Row, Sniff, batches_from_rows, require_columns, width_problem
from crimeplan.sources.inputs import InputFile
from crimeplan.sources.london import LONDON_CODE, LONDON_NAME
from crimeplan.sources.text import Record, csv_records, decode, header_fields, nonempty

CITY_CODE = "E09000001"
CITY_NAME = "City of London"

#: GSS code patterns by area level.
GSS_CODE = {
    "borough": re.compile(r"E09\d{6}"),
    "ward": re.compile(r"E05\d{6}"),
    "lsoa": re.compile(r"E01\d{6}"),
}
_GSS_PREFIX = {"borough": "E09", "ward": "E05", "lsoa": "E01"}
TWO_LETTER_CODE = re.compile(r"[A-Z]{2}")

PUBLISHED_BEST_FIT = "best-fit (published)"
PUBLISHED = "published"
#: Method recorded for lookups derived with :func:`best_fit_lookup`.
BEST_FIT_BY_GEOMETRY = "best-fit (point on surface)"

WARD_VINTAGES = ("2014", "2018", "2022")
MID_YEARS = ("2019", "2020")

SEXES = (("all", "Persons"), ("male", "Males"), ("female", "Females"))
AGE_BANDS = (("all", "All-Ages"), ("0-15", "0-15"), ("16-29", "16-29"), ("30-44", "30-44"),
             ("45-64", "45-64"), ("65+", "65+"))
MID_YEAR_COLUMNS = tuple(f"{prefix}_{band}" for _, prefix in SEXES for _, band in AGE_BANDS)

_YEAR = re.compile(r"(?<![0-9])(20[0-9]{2})(?![0-9])")
_MID_YEAR = re.compile(r"mid[-_ ]?(20[0-9]{2})(?![0-9])", re.IGNORECASE)



# ---------------------------------------------------------------------------------------------
# Formats


@dataclass(frozen=True)
class _Layer:
    """A GeoJSON boundary layout."""

    name: str
    level: str
    marker: str  # the property that identifies the layout
    required: tuple[str, ...]
    what: str


_LAYERS = (
    # Order matters: ward files also carry borough_code, borough files also bcu_code.
    _Layer("wards", "ward", "ward_code", ("ward_code", "ward_name", "borough_code"),
           "London ward boundaries (properties ward_code, ward_name, borough_code)"),
    _Layer("boroughs", "borough", "borough_code", ("borough_code", "borough_name", "mps_borough_code", "bcu_code"),
           "London borough boundaries (properties borough_code, borough_name, mps_borough_code, bcu_code)"),
    _Layer("bcus", "bcu", "bcu_code", ("bcu_code", "bcu_name"),
           "MPS BCU boundaries (properties bcu_code, bcu_name)"),
    _Layer("lsoa_2011", "lsoa", "LSOA11CD", ("LSOA11CD", "LSOA11NM", "LAD11CD"),
           "LSOA 2011 boundaries (properties LSOA11CD, LSOA11NM, LAD11CD)"),
    _Layer("lsoa_2021", "lsoa", "LSOA21CD", ("LSOA21CD", "LSOA21NM", "LAD22CD"),
           "LSOA 2021 boundaries (properties LSOA21CD, LSOA21NM, LAD22CD)"),
)


@dataclass(frozen=True)
class _Table:
    """A CSV layout: recognised when the header holds ``markers``; refused without ``required``."""

    name: str
    markers: frozenset[str]
    required: tuple[str, ...]
    kind: str
    what: str


_TABLES = (
    # Order matters: the population files also carry the lookup columns.
    _Table("population_lsoa21", frozenset({"LSOA21CD", "usual_residents_2021"}),
           ("LSOA21CD", "usual_residents_2021"), "population",
           "Census 2021 usual residents by LSOA 2021 (LSOA21CD, usual_residents_2021)"),
    _Table("population_ward22", frozenset({"WD22CD", "usual_residents_2021"}),
           ("WD22CD", "usual_residents_2021"), "population",
           "Census 2021 usual residents by ward 2022, best fit (WD22CD, usual_residents_2021)"),
    _Table("population_borough", frozenset({"LAD22CD", "usual_residents_2021"}),
           ("LAD22CD", "usual_residents_2021"), "population",
           "Census 2021 usual residents by borough (LAD22CD, usual_residents_2021)"),
    _Table("population_lsoa11_mid", frozenset({"LSOA11CD", "Persons_All-Ages"}),
           ("LSOA11CD",) + MID_YEAR_COLUMNS, "population",
           "ONS mid-year population estimates by LSOA 2011, age band and sex "
           "(LSOA11CD, Persons_/Males_/Females_ x All-Ages, 0-15, 16-29, 30-44, 45-64, 65+)"),
    _Table("lookup_lsoa21_ward22", frozenset({"LSOA21CD", "WD22CD"}), ("LSOA21CD", "WD22CD"), "area_lookup",
           "best-fit lookup LSOA 2021 to ward 2022 (LSOA21CD, WD22CD)"),
    _Table("lookup_lsoa11_ward22", frozenset({"LSOA11CD", "WD22CD"}), ("LSOA11CD", "WD22CD"), "area_lookup",
           "best-fit lookup LSOA 2011 to ward 2022 (LSOA11CD, WD22CD)"),
    _Table("lookup_borough_bcu", frozenset({"borough_code", "bcu_code"}), ("borough_code", "bcu_code"),
           "area_lookup", "borough to MPS BCU lookup (borough_code, bcu_code)"),
)


@dataclass(frozen=True)
class _Identified:
    dataset: str
    description: str
    layer: _Layer | None = None
    table: _Table | None = None
    vintage: str = ""  # ward or LSOA vintage; for mid-year estimates the reference ('mid2019')


# ---------------------------------------------------------------------------------------------
# Reader


class GeographyReader(Reader):
    """Boundaries (GeoJSON), lookups and populations (CSV) of London's areas."""
    order = 90

    datasets = (
        "geo_boroughs", "geo_bcus", "geo_wards_2014", "geo_wards_2018", "geo_wards_2022",
        "geo_lsoa_2011", "geo_lsoa_2021", "lookup_borough_bcu", "lookup_lsoa11_ward22", "lookup_lsoa21_ward22",
        "population_borough_2021", "population_ward22_2021", "population_lsoa21_2021",
        "population_lsoa11_mid2019", "population_lsoa11_mid2020",
    )
    signature = (
        "GeoJSON FeatureCollection (WGS84) whose properties include ward_code + ward_name + borough_code "
        "(year 2014/2018/2022 in the file name) | borough_code + mps_borough_code + bcu_code | bcu_code + bcu_name "
        "| LSOA11CD | LSOA21CD; or CSV with LSOA21CD/WD22CD/LAD22CD + usual_residents_2021 | LSOA11CD + "
        "Persons_All-Ages… (mid-year in the file name) | LSOA11CD/LSOA21CD + WD22CD | borough_code + bcu_code"
    )

    def sniff(self, inp: InputFile) -> Sniff | None:
        found = self._identify(inp)
        if found is None:
            return None
        return Sniff(self, (found.dataset,), found.description)

    def parts(self, inp: InputFile) -> Iterator[Part]:
        found = self._identify(inp)
        if found is None:
            raise self.unrecognised(inp, "a geography file")
        if found.layer is not None:
            yield from self._geojson_parts(inp, found)
        else:
            yield self._csv_part(inp, found)

    # -- recognition ------------------------------------------------------------------------

    def _identify(self, inp: InputFile) -> _Identified | None:
        if inp.kind != "file":
            return None
        member = inp.members()[0]
        head = member.head()
        body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
        if body.lstrip()[:1] == b"{":
            return self._identify_geojson(inp, body.decode("utf-8", errors="replace"))
        found = header_fields(head)
        if found is None or found[1] != ",":
            return None
        header = set(found[0])
        for table in _TABLES:
            if table.markers <= header:
                return self._identified_table(inp, table)
        return None

    def _identify_geojson(self, inp: InputFile, head: str) -> _Identified | None:
        if '"FeatureCollection"' not in head and '"features"' not in head:
            return None
        props = _first_properties(head)
        doc = None
        if props is None:
            doc = _parse_quietly(inp)
            props = _first_properties_of(doc)
            if props is None:
                return None
        layer = next((lay for lay in _LAYERS if lay.marker in props), None)
        if layer is None:
            return None
        if layer.name == "wards":
            collection_name = _collection_name(head)
            if collection_name is None:  # not before the features: look in the whole document
                doc = doc if doc is not None else _parse_quietly(inp)
                if isinstance(doc, dict) and isinstance(doc.get("name"), str):
                    collection_name = doc["name"]
            vintage = _ward_vintage(str(inp.path), inp.name, collection_name)
            return _Identified(f"geo_wards_{vintage}", f"London ward boundaries, {vintage} vintage (GeoJSON)",
                               layer=layer, vintage=vintage)
        if layer.name == "boroughs":
            return _Identified("geo_boroughs", "London borough boundaries with MPS codes and BCUs (GeoJSON)", layer)
        if layer.name == "bcus":
            return _Identified("geo_bcus", "MPS Basic Command Unit boundaries, and London as their union (GeoJSON)",
                               layer)
        vintage = layer.name[-4:]
        return _Identified(f"geo_lsoa_{vintage}", f"LSOA {vintage} boundaries (GeoJSON)", layer, vintage=vintage)

    def _identified_table(self, inp: InputFile, table: _Table) -> _Identified:
        if table.name == "population_lsoa11_mid":
            year = _mid_year(str(inp.path), inp.name)
            return _Identified(f"population_lsoa11_mid{year}",
                               f"ONS mid-{year} population estimates by LSOA 2011, sex and age band",
                               table=table, vintage=f"mid{year}")
        dataset = {
            "population_lsoa21": "population_lsoa21_2021",
            "population_ward22": "population_ward22_2021",
            "population_borough": "population_borough_2021",
        }.get(table.name, table.name)
        return _Identified(dataset, table.what[0].upper() + table.what[1:], table=table)

    # -- GeoJSON ----------------------------------------------------------------------------

    def _geojson_parts(self, inp: InputFile, found: _Identified) -> Iterator[Part]:
        name = str(inp.path)
        layer = found.layer
        assert layer is not None
        decoded = decode(inp.members()[0].read_bytes(), name)
        features = _feature_list(decoded.text, name, layer)
        vintage = found.vintage if layer.level in ("ward", "lsoa") else ""
        cache: dict[str, list[_Feature]] = {}

        def read() -> list[_Feature]:
            if "features" not in cache:
                cache["features"] = _read_features(features, layer, vintage)
            return cache["features"]

        line_note = "line = the 1-based index of the feature in the GeoJSON 'features' array"
        areas = Part(found.dataset, "area", member="areas", encoding=decoded.encoding, notes=[line_note])
        geometries = Part(found.dataset, "area_geometry", member="geometries", encoding=decoded.encoding,
                          notes=[line_note])
        areas.batches = batches_from_rows(areas, self._area_rows(areas, read, layer))
        geometries.batches = batches_from_rows(geometries, self._geometry_rows(geometries, read, layer))
        yield areas
        yield geometries

    @staticmethod
    def _area_rows(part: Part, read: Callable[[], list[_Feature]], layer: _Layer) -> Iterator[Row]:
        features = read()
        for f in features:
            part.notes.extend(f.area_notes)
            yield f.problem if f.problem is not None else (f.index, f.area)
        if layer.level == "bcu":
            loaded = sum(1 for f in features if f.problem is None)
            part.notes.append(f"London ({LONDON_CODE}) added as the union of the {loaded} BCUs; line null")
            yield (None, dict(level="london", vintage="", code=LONDON_CODE, name=LONDON_NAME))

    @staticmethod
    def _geometry_rows(part: Part, read: Callable[[], list[_Feature]], layer: _Layer) -> Iterator[Row]:
        features = read()
        for f in features:
            if f.problem is not None:
                yield Reject(f.index, f.problem.field, f.problem.value,
                             f"the feature's area was rejected: {f.problem.reason}")
                continue
            if f.geometry_problem is not None:
                yield f.geometry_problem
                continue
            part.notes.extend(f.geometry_notes)
            assert f.area is not None and f.geometry is not None
            yield (f.index, dict(level=f.area["level"], vintage=f.area["vintage"], code=f.area["code"],
                                 geometry_wkb=shapely.to_wkb(f.geometry, output_dimension=2)))
        if layer.level == "bcu":
            polygons = [f.geometry for f in features if f.problem is None and f.geometry is not None]
            if not polygons:
                yield Reject(None, None, None, "London's boundary is the union of the BCUs, and none has a "
                                               "usable geometry")
                return
            london = shapely.union_all(polygons)
            if not london.is_valid:
                london = shapely.make_valid(london)
            london = _polygonal_only(london) or london
            part.notes.append(f"London ({LONDON_CODE}) boundary = the union of {len(polygons)} BCU polygons "
                              f"({london.geom_type}); line null")
            yield (None, dict(level="london", vintage="", code=LONDON_CODE,
                              geometry_wkb=shapely.to_wkb(london, output_dimension=2)))

    # -- CSV --------------------------------------------------------------------------------

    def _csv_part(self, inp: InputFile, found: _Identified) -> Part:
        name = str(inp.path)
        table = found.table
        assert table is not None
        decoded = decode(inp.members()[0].read_bytes(), name)
        header, records = csv_records(decoded.text, name)
        require_columns(name, header, table.required, table.what)
        records = nonempty(records, name, table.what)
        part = Part(found.dataset, table.kind, encoding=decoded.encoding)
        rows = {
            "population_lsoa21": lambda: _census_rows(header, records, "lsoa", "2021", "LSOA21CD"),
            "population_ward22": lambda: _census_rows(header, records, "ward", "2022", "WD22CD"),
            "population_borough": lambda: _census_rows(header, records, "borough", "", "LAD22CD"),
            "population_lsoa11_mid": lambda: _mid_year_rows(part, header, records, found.vintage),
            "lookup_lsoa21_ward22": lambda: _lsoa_ward_rows(header, records, "LSOA21CD", "2021", "LAD22CD"),
            "lookup_lsoa11_ward22": lambda: _lsoa_ward_rows(header, records, "LSOA11CD", "2011", "LAD11CD"),
            "lookup_borough_bcu": lambda: _borough_bcu_rows(header, records),
        }[table.name]
        if table.name == "population_ward22":
            part.notes.append("best-fit ward populations (sums of whole LSOAs): a ward no LSOA best-fits into "
                              "has no row (in London, 20 small City of London wards)")
        part.batches = batches_from_rows(part, rows())
        return part


# ---------------------------------------------------------------------------------------------
# Counting


# ---------------------------------------------------------------------------------------------
# GeoJSON helpers


@dataclass
class _Feature:
    index: int
    area: dict | None = None
    problem: Reject | None = None
    geometry: BaseGeometry | None = None
    geometry_problem: Reject | None = None
    area_notes: tuple[str, ...] = ()
    geometry_notes: tuple[str, ...] = ()


_PROPERTIES = re.compile(r'"properties"\s*:\s*')
_NAME = re.compile(r'"name"\s*:\s*"((?:[^"\\]|\\.)*)"')


def _first_properties(head: str) -> dict | None:
    """The first feature's properties from the first bytes of a GeoJSON file, if they are there."""
    match = _PROPERTIES.search(head)
    if not match:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(head, match.end())
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _first_properties_of(doc: object) -> dict | None:
    if not isinstance(doc, dict) or not isinstance(doc.get("features"), list) or not doc["features"]:
        return None
    first = doc["features"][0]
    props = first.get("properties") if isinstance(first, dict) else None
    return props if isinstance(props, dict) else None


def _collection_name(head: str) -> str | None:
    """The FeatureCollection's ``name`` member when it comes before its features (as GDAL writes it)."""
    cut = head.find('"features"')
    match = _NAME.search(head, 0, cut if cut >= 0 else len(head))
    if not match:
        return None
    try:
        return json.loads(f'"{match.group(1)}"')
    except ValueError:
        return None


def _parse_quietly(inp: InputFile) -> object:
    """The whole document, or None: for recognising a file, where problems are for ``parts`` to report."""
    try:
        return json.loads(inp.members()[0].read_bytes().decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError):
        return None


def _year_in(text: str, allowed: Sequence[str]) -> str | None:
    """The single allowed year in ``text`` (None if there is none, or several different ones)."""
    years = {y for y in _YEAR.findall(text)}
    if len(years) != 1:
        return None
    year = years.pop()
    return year if year in allowed else None


def _ward_vintage(path: str, file_name: str, collection_name: str | None) -> str:
    from_file = _year_in(Path(file_name).stem, WARD_VINTAGES)
    from_collection = _year_in(collection_name, WARD_VINTAGES) if collection_name else None
    if from_file and from_collection and from_file != from_collection:
        raise InputError(
            path,
            f"the file name says {from_file} ward boundaries but the GeoJSON 'name' member "
            f"({collection_name!r}) says {from_collection}",
            field="name",
            expected="one ward boundary vintage",
        )
    vintage = from_file or from_collection
    if vintage is None:
        raise InputError(
            path,
            "the ward boundary vintage cannot be told: 2014, 2018 and 2022 ward files have the same "
            "properties, so crimeplan takes the year from the file name (or the GeoJSON 'name' member), "
            "and neither holds one of 2014, 2018, 2022",
            expected="the boundary year in the file name, e.g. london_wards_2014.geojson",
        )
    return vintage


def _mid_year(path: str, file_name: str) -> str:
    stem = Path(file_name).stem
    match = _MID_YEAR.search(stem)
    year = match.group(1) if match else _year_in(stem, [str(y) for y in range(2001, 2100)])
    if year not in MID_YEARS:
        told = f"the file name gives mid-{year}" if year else "the file name holds no single year"
        raise InputError(
            path,
            f"the year of the mid-year population estimate cannot be told ({told}); the columns are the "
            "same every year",
            expected=f"'mid' and one of {', '.join(MID_YEARS)} in the file name, "
            "e.g. london_lsoa11_population_mid2019.csv",
        )
    return year


def _feature_list(text: str, name: str, layer: _Layer) -> list:
    """The features of a GeoJSON FeatureCollection, after the checks that concern the whole file."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            name,
            f"not valid JSON ({exc.msg} at text line {exc.lineno}, column {exc.colno}); the file may be truncated",
            line=exc.lineno,
            expected="a complete GeoJSON FeatureCollection",
        ) from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InputError(name, "not a GeoJSON FeatureCollection", field="type", expected='"type": "FeatureCollection"')
    features = doc.get("features")
    if not isinstance(features, list):
        raise InputError(name, "the FeatureCollection has no 'features' array", field="features",
                         expected="a list of features")
    if not features:
        raise InputError(name, "the FeatureCollection has no features", field="features",
                         expected=f"one feature per area of the {layer.what}")
    crs = doc.get("crs")
    if crs is not None:
        crs_name = json.dumps(crs)
        if not any(k in crs_name for k in ("CRS84", "EPSG::4326", "EPSG:4326", "WGS84", "WGS 84")):
            raise InputError(name, f"coordinates are in {crs_name}", field="crs",
                             expected="WGS84 longitude/latitude (EPSG:4326 / CRS84), as GeoJSON requires")
    first = features[0]
    props = first.get("properties") if isinstance(first, dict) else None
    if not isinstance(props, dict):
        raise InputError(name, "the first feature has no properties", line=1, field="properties",
                         expected=layer.what)
    missing = [p for p in layer.required if p not in props]
    if missing:
        raise InputError(
            name,
            f"the features have no propert{'ies' if len(missing) > 1 else 'y'} "
            f"{', '.join(repr(m) for m in missing)} (judged on feature 1)",
            line=1,
            field=missing[0],
            expected=layer.what,
        )
    geometry = first.get("geometry")
    try:
        bounds = shape(geometry).bounds if geometry else None
    except Exception:  # an unreadable first geometry is rejected with its feature
        bounds = None
    if bounds and not _lon_lat(bounds):
        raise InputError(
            name,
            f"the first feature's coordinates ({bounds[0]:.0f}, {bounds[1]:.0f}) are not longitude/latitude "
            "(projected metres such as British National Grid?)",
            line=1,
            field="geometry",
            expected="WGS84 longitude/latitude, as GeoJSON requires",
        )
    return features


def _lon_lat(bounds: tuple[float, ...]) -> bool:
    minx, miny, maxx, maxy = bounds
    return -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


def _read_features(features: list, layer: _Layer, vintage: str) -> list[_Feature]:
    """Each feature's area (or why not) and geometry (or why not)."""
    city_merged = False
    if layer.level == "ward":
        city = [f for f in features if _prop(f, "borough_code") == CITY_CODE]
        boroughs = {_prop(f, "borough_code") for f in features}
        city_merged = len(city) == 1 and len(boroughs) > 1
    out: list[_Feature] = []
    seen: dict[str, int] = {}
    for index, feature in enumerate(features, 1):
        f = _Feature(index)
        out.append(f)
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            f.problem = Reject(index, "type", _short(feature.get("type") if isinstance(feature, dict) else feature),
                               "not a GeoJSON Feature")
            continue
        props = feature.get("properties")
        if not isinstance(props, dict):
            f.problem = Reject(index, "properties", _short(props), "the feature has no properties object")
            continue
        area, problem, notes = _AREA_BUILDERS[layer.level](props, index, vintage, city_merged)
        if problem is None and area is not None:
            first = seen.get(area["code"])
            if first is not None:
                problem = Reject(index, layer.required[0], area["code"],
                                 f"duplicate code: already given by feature {first}")
            else:
                seen[area["code"]] = index
        if problem is not None:
            f.problem = problem
            continue
        f.area = area
        f.area_notes = notes
        geometry, reason, geometry_notes = _polygonal(feature.get("geometry"))
        if reason is not None:
            f.geometry_problem = Reject(index, "geometry", _short(feature.get("geometry")), reason)
        else:
            f.geometry = geometry
            f.geometry_notes = tuple(
                f"feature {index} ({area['code']} {area['name']}): {n}" for n in geometry_notes
            )
    return out


def _prop(feature: object, key: str) -> str:
    if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
        return ""
    return _text(feature["properties"], key)


def _text(props: dict, key: str) -> str:
    value = props.get(key)
    return "" if value is None else str(value).strip()


def _short(value: object, limit: int = 80) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value)[:limit + 1]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _gss_problem(level: str, index: int, field: str, code: str) -> Reject | None:
    if GSS_CODE[level].fullmatch(code):
        return None
    return Reject(index, field, code,
                  f"not a {level} GSS code; expected {_GSS_PREFIX[level]} followed by 6 digits")


def _name_problem(index: int, field: str, name: str) -> Reject | None:
    return None if name else Reject(index, field, name, "the name is empty")


_AreaResult = tuple[Union[dict, None], Union[Reject, None], tuple[str, ...]]


def _ward_area(props: dict, index: int, vintage: str, city_merged: bool) -> _AreaResult:
    code, name, borough = _text(props, "ward_code"), _text(props, "ward_name"), _text(props, "borough_code")
    alt = None
    notes: tuple[str, ...] = ()
    if city_merged and borough == CITY_CODE:
        if code != CITY_CODE or name != CITY_NAME:
            alt = code or None
            notes = (f"feature {index}: the City of London as one feature (City-merged wards), published as "
                     f"{code!r} {name!r}; loaded as ward {CITY_CODE} {CITY_NAME!r} (published code kept as alt_code)",)
        else:
            notes = (f"feature {index}: the City of London as one feature (City-merged wards), ward {CITY_CODE}",)
        code, name = CITY_CODE, CITY_NAME
    else:
        problem = _gss_problem("ward", index, "ward_code", code)
        if problem:
            return None, problem, ()
    problem = _name_problem(index, "ward_name", name) or _gss_problem("borough", index, "borough_code", borough)
    if problem:
        return None, problem, ()
    return (dict(level="ward", vintage=vintage, code=code, name=name, parent_level="borough",
                 parent_code=borough, alt_code=alt), None, notes)


def _borough_area(props: dict, index: int, vintage: str, city_merged: bool) -> _AreaResult:
    code, name = _text(props, "borough_code"), _text(props, "borough_name")
    bcu, mps = _text(props, "bcu_code"), _text(props, "mps_borough_code")
    problem = (_gss_problem("borough", index, "borough_code", code) or _name_problem(index, "borough_name", name)
               or _two_letter_problem(index, "bcu_code", bcu, "an MPS BCU code")
               or (_two_letter_problem(index, "mps_borough_code", mps, "an MPS borough code") if mps else None))
    if problem:
        return None, problem, ()
    return (dict(level="borough", vintage="", code=code, name=name, parent_level="bcu", parent_code=bcu,
                 alt_code=mps or None), None, ())


def _bcu_area(props: dict, index: int, vintage: str, city_merged: bool) -> _AreaResult:
    code, name = _text(props, "bcu_code"), _text(props, "bcu_name")
    problem = _two_letter_problem(index, "bcu_code", code, "an MPS BCU code") or _name_problem(index, "bcu_name", name)
    if problem:
        return None, problem, ()
    return dict(level="bcu", vintage="", code=code, name=name, parent_level="london", parent_code=LONDON_CODE), None, ()


def _lsoa_area(props: dict, index: int, vintage: str, city_merged: bool) -> _AreaResult:
    suffix = vintage[2:]
    lad_field = "LAD11CD" if vintage == "2011" else "LAD22CD"
    code, name, lad = _text(props, f"LSOA{suffix}CD"), _text(props, f"LSOA{suffix}NM"), _text(props, lad_field)
    problem = (_gss_problem("lsoa", index, f"LSOA{suffix}CD", code) or _name_problem(index, f"LSOA{suffix}NM", name)
               or _gss_problem("borough", index, lad_field, lad))
    if problem:
        return None, problem, ()
    return dict(level="lsoa", vintage=vintage, code=code, name=name, parent_level="borough", parent_code=lad), None, ()


_AREA_BUILDERS: dict[str, Callable[[dict, int, str, bool], _AreaResult]] = {
    "ward": _ward_area, "borough": _borough_area, "bcu": _bcu_area, "lsoa": _lsoa_area,
}


def _two_letter_problem(line: int | None, field: str, code: str, what: str) -> Reject | None:
    if TWO_LETTER_CODE.fullmatch(code):
        return None
    return Reject(line, field, code, f"not {what}; expected two capital letters")


def _polygonal_only(geometry: BaseGeometry) -> BaseGeometry | None:
    """The polygons of a geometry as a Polygon or MultiPolygon; None if it has none."""
    polygons = [g for g in shapely.get_parts(geometry) if g.geom_type == "Polygon" and not g.is_empty]
    nested = [p for g in shapely.get_parts(geometry) if g.geom_type == "MultiPolygon" for p in g.geoms]
    polygons += nested
    if not polygons:
        return None
    if len(polygons) == 1:
        return polygons[0]
    multi = MultiPolygon(polygons)
    return multi if multi.is_valid else shapely.union_all(polygons)


def _polygonal(geometry: object) -> tuple[BaseGeometry | None, str | None, tuple[str, ...]]:
    """(geometry, None, notes) for a usable area boundary, else (None, reason, ())."""
    if geometry is None:
        return None, "the feature has no geometry (null)", ()
    try:
        g = shape(geometry)
    except Exception as exc:  # shapely raises a variety of errors on malformed coordinates
        return None, f"the geometry cannot be read ({type(exc).__name__}: {exc})", ()
    if g.is_empty:
        return None, "the geometry is empty", ()
    notes: tuple[str, ...] = ()
    if g.geom_type == "GeometryCollection":
        kept = _polygonal_only(g)
        if kept is None:
            types = sorted({p.geom_type for p in shapely.get_parts(g)})
            return None, f"a GeometryCollection with no polygonal part ({', '.join(types)})", ()
        dropped = [p.geom_type for p in g.geoms if p.geom_type not in ("Polygon", "MultiPolygon")]
        notes = (f"GeometryCollection (as make_valid leaves them): kept its polygonal part as a {kept.geom_type}, "
                 f"dropped {len(dropped)} {'/'.join(sorted(set(dropped)))}",)
        g = kept
    if g.geom_type not in ("Polygon", "MultiPolygon"):
        return None, f"a {g.geom_type} is not an area boundary; expected a Polygon or MultiPolygon", ()
    if not g.is_valid:
        reason = shapely.is_valid_reason(g)
        return None, f"invalid polygon ({reason}); expected a valid polygon (repair with make_valid)", ()
    if not _lon_lat(g.bounds):
        return None, "coordinates outside longitude/latitude range; expected WGS84", ()
    return g, None, notes


# ---------------------------------------------------------------------------------------------
# CSV helpers


_WHOLE = re.compile(r"\+?\d+(?:\.0*)?")
_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+")


def parse_persons(value: str) -> tuple[int | None, str | None]:
    """A published number of people as a whole number ≥ 0, or why it is not one."""
    v = value.strip()
    if not v:
        return None, "the population is empty; expected a whole number ≥ 0"
    if _WHOLE.fullmatch(v):
        return int(v.lstrip("+").split(".")[0]), None
    if _GROUPED.fullmatch(v):
        return int(v.replace(",", "")), None
    try:
        x = float(v.replace(",", ""))
    except ValueError:
        return None, "the population is not a number; expected a whole number ≥ 0"
    if not math.isfinite(x):
        return None, "the population is not a number; expected a whole number ≥ 0"
    if x < 0:
        return None, "the population is negative; expected a whole number ≥ 0"
    return None, "the population is fractional; expected a whole number ≥ 0"


def _census_rows(header: list[str], records: Iterator[Record], level: str, vintage: str,
                 code_col: str) -> Iterator[Row]:
    i_code, i_value = header.index(code_col), header.index("usual_residents_2021")
    seen: dict[str, int] = {}
    for rec in records:
        problem = width_problem(rec, header)
        if problem:
            yield problem
            continue
        code = rec.fields[i_code].strip()
        problem = _gss_problem(level, rec.line, code_col, code)
        if problem:
            yield problem
            continue
        if code in seen:
            yield Reject(rec.line, code_col, code, f"duplicate code: already given on line {seen[code]}")
            continue
        persons, reason = parse_persons(rec.fields[i_value])
        if reason:
            yield Reject(rec.line, "usual_residents_2021", rec.fields[i_value], reason)
            continue
        seen[code] = rec.line
        yield (rec.line, dict(level=level, vintage=vintage, code=code, reference="census2021", sex="all",
                              age_band="all", persons=persons))


def _mid_year_rows(part: Part, header: list[str], records: Iterator[Record], reference: str) -> Iterator[Row]:
    i_code = header.index("LSOA11CD")
    cells = [(sex, band, col, header.index(col)) for sex, prefix in SEXES for band, suffix in AGE_BANDS
             for col in [f"{prefix}_{suffix}"]]
    seen: dict[str, int] = {}
    inconsistent: list[int] = []
    for rec in records:
        code = rec.fields[i_code].strip() if len(rec.fields) > i_code else ""
        problem = width_problem(rec, header) or _gss_problem("lsoa", rec.line, "LSOA11CD", code)
        if problem is None and code in seen:
            problem = Reject(rec.line, "LSOA11CD", code, f"duplicate code: already given on line {seen[code]}")
        if problem is not None:
            yield problem
            continue
        values: dict[tuple[str, str], int] = {}
        for sex, band, col, i in cells:
            persons, reason = parse_persons(rec.fields[i])
            if reason:  # one bad value rejects the whole record, naming the first bad field
                problem = Reject(rec.line, col, rec.fields[i], reason)
                break
            values[(sex, band)] = persons  # type: ignore[assignment]
        if problem is not None:
            yield problem
            continue
        seen[code] = rec.line
        for (sex, band), persons in values.items():
            yield (rec.line, dict(level="lsoa", vintage="2011", code=code, reference=reference, sex=sex,
                                  age_band=band, persons=persons))
        if not _adds_up(values):
            inconsistent.append(rec.line)
    if inconsistent:
        part.notes.append(f"{len(inconsistent)} rows whose age bands or sexes do not add up to the totals "
                          f"(loaded as published), first on line {inconsistent[0]}")


def _adds_up(values: dict[tuple[str, str], int]) -> bool:
    bands = [b for b, _ in AGE_BANDS if b != "all"]
    for sex, _ in SEXES:
        if values[(sex, "all")] != sum(values[(sex, b)] for b in bands):
            return False
    return all(values[("all", b)] == values[("male", b)] + values[("female", b)] for b, _ in AGE_BANDS)


def _lsoa_ward_rows(header: list[str], records: Iterator[Record], lsoa_col: str, lsoa_vintage: str,
                    lad_col: str) -> Iterator[Row]:
    i_lsoa, i_ward = header.index(lsoa_col), header.index("WD22CD")
    i_lad = header.index(lad_col) if lad_col in header else None
    i_bcu = header.index("bcu_code") if "bcu_code" in header else None
    seen: dict[str, int] = {}
    ward_borough: dict[str, tuple[str, int]] = {}
    borough_bcu: dict[str, tuple[str, int]] = {}
    for rec in records:
        problem = width_problem(rec, header)
        if problem:
            yield problem
            continue
        lsoa, ward = rec.fields[i_lsoa].strip(), rec.fields[i_ward].strip()
        problem = _gss_problem("lsoa", rec.line, lsoa_col, lsoa) or _gss_problem("ward", rec.line, "WD22CD", ward)
        if problem is None and lsoa in seen:
            problem = Reject(rec.line, lsoa_col, lsoa, f"duplicate code: already given on line {seen[lsoa]}")
        lad = rec.fields[i_lad].strip() if i_lad is not None else ""
        bcu = rec.fields[i_bcu].strip() if i_bcu is not None else ""
        if problem is None and i_lad is not None:
            problem = _gss_problem("borough", rec.line, lad_col, lad)
            known = ward_borough.get(ward)
            if problem is None and known and known[0] != lad:
                problem = Reject(rec.line, lad_col, lad, f"ward {ward} is in borough {known[0]} on line {known[1]}; "
                                                         "a ward lies in one borough")
        if problem is None and i_bcu is not None:
            problem = _two_letter_problem(rec.line, "bcu_code", bcu, "an MPS BCU code")
            known = borough_bcu.get(lad)
            if problem is None and known and known[0] != bcu:
                problem = Reject(rec.line, "bcu_code", bcu, f"borough {lad} is in BCU {known[0]} on line {known[1]}; "
                                                           "a borough lies in one BCU")
        if problem:
            yield problem
            continue
        seen[lsoa] = rec.line
        if i_lad is not None:
            ward_borough.setdefault(ward, (lad, rec.line))
        if i_bcu is not None:
            borough_bcu.setdefault(lad, (bcu, rec.line))
        yield (rec.line, dict(from_level="lsoa", from_vintage=lsoa_vintage, from_code=lsoa, to_level="ward",
                              to_vintage="2022", to_code=ward, method=PUBLISHED_BEST_FIT))


def _borough_bcu_rows(header: list[str], records: Iterator[Record]) -> Iterator[Row]:
    i_borough, i_bcu = header.index("borough_code"), header.index("bcu_code")
    seen: dict[str, int] = {}
    for rec in records:
        problem = width_problem(rec, header)
        if problem:
            yield problem
            continue
        borough, bcu = rec.fields[i_borough].strip(), rec.fields[i_bcu].strip()
        problem = (_gss_problem("borough", rec.line, "borough_code", borough)
                   or _two_letter_problem(rec.line, "bcu_code", bcu, "an MPS BCU code"))
        if problem is None and borough in seen:
            problem = Reject(rec.line, "borough_code", borough,
                             f"duplicate code: already given on line {seen[borough]}")
        if problem:
            yield problem
            continue
        seen[borough] = rec.line
        yield (rec.line, dict(from_level="borough", from_vintage="", from_code=borough, to_level="bcu",
                              to_vintage="", to_code=bcu, method=PUBLISHED))


# ---------------------------------------------------------------------------------------------
# Best fit by geometry

GeometryLike = Union[BaseGeometry, bytes, None]


def best_fit_lookup(
    from_codes: Sequence[str],
    from_geometries: Sequence[GeometryLike],
    to_codes: Sequence[str],
    to_geometries: Sequence[GeometryLike],
) -> list[tuple[str, str]]:
    """Assign each small area to the larger area that contains its representative point.

    crimeplan's approximation of the ONS best-fit method: ONS assigns a small
    area to the larger area holding its population-weighted centroid (ONS,
    "Best-fit policy", Open Geography Portal); without population-weighted
    centroids crimeplan uses the area's point on surface (shapely
    ``point_on_surface``, always inside the area, unlike a plain centroid). On the
    real files LSOA 2011 → ward 2022 agrees with the published ONS best fit for
    about 95% of LSOAs (tests/sources/test_geography.py).

    Geometries are shapely geometries or WKB, in one coordinate system. A point
    within several larger areas (overlapping boundaries) goes to the one sharing
    most area with the small area; a point within none (slivers, coastline
    differences) goes to the nearest, measured after scaling longitude by the cosine
    of the mean latitude so that degrees are about equally long both ways. Small
    areas with no (or an empty) geometry get no pair.

    Returns ``(from_code, to_code)`` pairs in the order of ``from_codes``.
    Recorded in the warehouse with method :data:`BEST_FIT_BY_GEOMETRY`.
    """
    if len(from_codes) != len(from_geometries):
        raise ValueError(f"{len(from_codes)} from_codes but {len(from_geometries)} from_geometries")
    if len(to_codes) != len(to_geometries):
        raise ValueError(f"{len(to_codes)} to_codes but {len(to_geometries)} to_geometries")
    small = _geometry_array(from_geometries)
    large = _geometry_array(to_geometries)
    large_ok = np.flatnonzero(~(shapely.is_missing(large) | shapely.is_empty(large)))
    if len(large_ok) == 0:
        raise ValueError("no larger area has a geometry to fit into")
    large = large[large_ok]
    large_codes = [to_codes[i] for i in large_ok]
    small_ok = np.flatnonzero(~(shapely.is_missing(small) | shapely.is_empty(small)))
    small = small[small_ok]
    points = shapely.point_on_surface(small)

    tree = shapely.STRtree(large)
    point_index, large_index = tree.query(points, predicate="within")
    candidates: dict[int, list[int]] = {}
    for p, g in zip(point_index.tolist(), large_index.tolist()):
        candidates.setdefault(p, []).append(g)
    chosen = np.full(len(points), -1, dtype=np.int64)
    for p, gs in candidates.items():
        if len(gs) == 1:
            chosen[p] = gs[0]
        else:
            overlaps = shapely.area(shapely.intersection(small[p], large[gs]))
            chosen[p] = gs[int(np.argmax(overlaps))]

    unmatched = np.flatnonzero(chosen < 0)
    if len(unmatched):
        _, miny, _, maxy = shapely.total_bounds(large)
        scale = math.cos(math.radians((miny + maxy) / 2)) if -90 <= miny <= maxy <= 90 else 1.0
        squash = lambda coords: coords * np.array([scale, 1.0])  # noqa: E731
        scaled_tree = shapely.STRtree(shapely.transform(large, squash))
        nearest = scaled_tree.nearest(shapely.transform(points[unmatched], squash))
        chosen[unmatched] = nearest

    return [(from_codes[small_ok[k]], large_codes[chosen[k]]) for k in range(len(small_ok))]


def _geometry_array(geometries: Sequence[GeometryLike]) -> np.ndarray:
    out = np.empty(len(geometries), dtype=object)
    for i, g in enumerate(geometries):
        out[i] = shapely.from_wkb(g) if isinstance(g, (bytes, bytearray, memoryview)) else g
    return out


# How a point was placed (stop_search_point.placement).
PLACED_INSIDE = "inside"
PLACED_NEAREST = "nearest"  # in no polygon, but within NEAREST_WITHIN_M of one: a generalisation sliver
PLACED_OUTSIDE = "outside the loaded boundaries"
NEAREST_WITHIN_M = 50.0
_METRES_PER_DEGREE = 111_320.0


def place_points(
    xs: np.ndarray,
    ys: np.ndarray,
    codes: Sequence[str],
    geometries: Sequence[GeometryLike],
    within_m: float = NEAREST_WITHIN_M,
) -> tuple[list[str | None], list[str]]:
    """The area each point (longitude ``xs``, latitude ``ys``) lies in, by point in polygon.

    Generalised boundaries (20 m here) leave slivers between neighbours and small
    overlaps, and data.police.uk snaps locations to points on streets, which are
    often boundaries. So a point inside several polygons goes to the first by
    code (deterministic); a point inside none goes to the nearest polygon when it
    is within ``within_m`` metres (distance measured after scaling longitude by
    the cosine of the latitude), and is otherwise outside the loaded boundaries
    (a search outside London, a wrong coordinate): code None.

    Returns ``(code or None, placement)`` per point, placement one of
    :data:`PLACED_INSIDE`, :data:`PLACED_NEAREST`, :data:`PLACED_OUTSIDE`.
    """
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if xs.shape != ys.shape:
        raise ValueError(f"{xs.size} longitudes but {ys.size} latitudes")
    if len(codes) != len(geometries):
        raise ValueError(f"{len(codes)} codes but {len(geometries)} geometries")
    order = sorted(range(len(codes)), key=lambda i: codes[i])
    shapes = _geometry_array([geometries[i] for i in order])
    ordered = [codes[i] for i in order]
    n = xs.size
    if n == 0 or len(shapes) == 0:
        return [None] * n, [PLACED_OUTSIDE] * n
    points = shapely.points(xs, ys)
    tree = shapely.STRtree(shapes)
    point_index, shape_index = tree.query(points, predicate="intersects")
    chosen = np.full(n, len(shapes), dtype=np.int64)
    np.minimum.at(chosen, point_index, shape_index)  # several polygons: the first by code
    chosen[chosen == len(shapes)] = -1
    placement = np.where(chosen >= 0, PLACED_INSIDE, PLACED_OUTSIDE).astype(object)
    missed = np.flatnonzero(chosen < 0)
    if len(missed):
        scale = math.cos(math.radians(float(np.nanmean(ys))))
        squash = lambda coords: coords * np.array([scale, 1.0])  # noqa: E731
        scaled = shapely.STRtree(shapely.transform(shapes, squash))
        found, distance = scaled.query_nearest(shapely.transform(points[missed], squash), return_distance=True,
                                               all_matches=False)
        near = distance * _METRES_PER_DEGREE <= within_m
        chosen[missed[found[0][near]]] = found[1][near]
        placement[missed[found[0][near]]] = PLACED_NEAREST
    return [ordered[c] if c >= 0 else None for c in chosen.tolist()], placement.tolist()
