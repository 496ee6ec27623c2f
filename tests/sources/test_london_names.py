"""London names → GSS codes, including every spelling the London Datastore files use."""

from __future__ import annotations

import csv
import re

import pytest

from crimeplan.sources import london


def test_thirty_three_boroughs_with_their_official_names():
    assert sorted(london.BOROUGHS) == [f"E09{n:06d}" for n in range(1, 34)]
    for code, name in london.BOROUGHS.items():
        assert london.borough_code(name) == code
        assert london.resolve_area(name) == london.LondonArea("borough", code)


@pytest.mark.parametrize(
    "name, code",
    [
        ("Barking & Dagenham", "E09000002"),
        ("Barking and Dagenham", "E09000002"),
        ("  BARKING   and dagenham ", "E09000002"),
        ("Hammersmith & Fulham", "E09000013"),
        ("Kensington & Chelsea", "E09000020"),
        ("Royal Borough of Kensington and Chelsea", "E09000020"),
        ("Kingston Upon Thames", "E09000021"),
        ("Kingston upon Thames", "E09000021"),
        ("Richmond Upon Thames", "E09000027"),
        ("Richmond upon Thames", "E09000027"),
        ("City of Westminster", "E09000033"),
        ("Westminster", "E09000033"),
        ("City of London", "E09000001"),
        ("London Borough of Tower Hamlets", "E09000030"),
        ("Waltham\u00a0Forest", "E09000031"),
    ],
)
def test_publisher_spellings(name, code):
    assert london.borough_code(name) == code


@pytest.mark.parametrize(
    "name, code",
    [
        ("London Heathrow and London City Airports", "MPS-AIRPORTS"),
        ("London Heathrow & London City Airports", "MPS-AIRPORTS"),
        ("Heathrow", "MPS-AIRPORTS"),
        ("Aviation Security (SO18)", "MPS-AVIATION"),
        ("Unknown", "MPS-UNKNOWN"),
    ],
)
def test_mps_units_are_level_unit(name, code):
    assert london.borough_code(name) == code
    assert london.resolve_area(name) == london.LondonArea("unit", code)
    assert code in london.NON_GEOGRAPHIC_UNITS
    assert london.UNIT_LEVEL == "unit"


def test_unit_names_are_the_published_ones():
    assert london.NON_GEOGRAPHIC_UNITS == {
        "MPS-AIRPORTS": "London Heathrow and London City Airports",
        "MPS-AVIATION": "Aviation Security (SO18)",
        "MPS-UNKNOWN": "Unknown",
    }


def test_london_as_a_whole():
    assert london.LONDON_CODE == "E12000007"
    for name in ("MPS", "London", "Metropolitan Police Service"):
        assert london.borough_code(name) is None
        assert london.resolve_area(name) == london.LondonArea("london", "E12000007")


@pytest.mark.parametrize("name", ["Narnia", "", "   ", None, "Westminster Abbey", "Kingston upon Hull", "Surrey"])
def test_unknown_names(name):
    assert london.borough_code(name) is None
    assert london.resolve_area(name) is None


def test_normaliser():
    assert london.normalise_name(" Barking & Dagenham ") == "barking and dagenham"
    assert london.normalise_name("Aviation Security (SO18)") == "aviation security so18"
    assert london.normalise_name("London Borough of Barnet") == "barnet"


def test_gss_patterns():
    assert london.GSS_WARD.match("E05013570")
    assert not london.GSS_WARD.match("E0501357")
    assert london.GSS_LSOA.match("E01000001")
    assert not london.GSS_LSOA.match("W01000001")
    assert london.GSS_BOROUGH.match("E09000033")


def test_every_area_name_in_the_real_files_resolves(data_dir):
    """Each borough / unit name the London Datastore files use maps to a code, and the 32 MPS boroughs all occur."""
    folder = data_dir / "london-datastore"
    columns = {"LookUp_BoroughName", "BoroughName", "Borough"}
    names: set[str] = set()
    for path in folder.glob("*.csv"):
        text = path.read_text(encoding="utf-8-sig")
        delimiter = ";" if text.split("\n", 1)[0].count(";") > 1 else ","
        rows = csv.DictReader(text.splitlines(), delimiter=delimiter)
        for row in rows:
            for col in columns & set(row):
                names.add(row[col].strip())
    unresolved = sorted(n for n in names if london.resolve_area(n) is None)
    assert unresolved == []
    codes = {london.borough_code(n) for n in names if london.borough_code(n)}
    assert {c for c in codes if re.match(r"E09", c)} == set(london.BOROUGHS) - {"E09000001"}
    assert {"MPS-AIRPORTS", "MPS-AVIATION", "MPS-UNKNOWN"} <= codes
    assert "Richmond Upon Thames" in names and "Richmond upon Thames" in names
    assert "Barking & Dagenham" in names and "City of Westminster" in names
