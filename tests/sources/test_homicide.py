"""Homicide victims: the MPS dashboard file and the third-party year-only copy."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from crimeplan.errors import InputError
from crimeplan.sources.homicide import HomicideProcessedReader, HomicideVictimsReader, parse_month_year
from crimeplan.sources.inputs import InputFile

VICTIMS = "MPS Homicide Dashboard victims 2003-01_2020-12.csv"
PROCESSED = "homicide victims by year 2003-2023 (third-party processed copy).csv"

VICTIMS_BY_YEAR = {
    2003: 216, 2004: 188, 2005: 181, 2006: 172, 2007: 163, 2008: 155, 2009: 130, 2010: 126, 2011: 117,
    2012: 106, 2013: 109, 2014: 95, 2015: 120, 2016: 112, 2017: 140, 2018: 136, 2019: 151, 2020: 127,
}
PROCESSED_BY_YEAR = {
    2003: 210, 2004: 179, 2005: 171, 2006: 166, 2007: 157, 2008: 144, 2009: 124, 2010: 118, 2011: 111,
    2012: 97, 2013: 98, 2014: 84, 2015: 112, 2016: 106, 2017: 133, 2018: 128, 2019: 150, 2020: 123,
    2021: 131, 2022: 106, 2023: 22,
}


def read(reader, path: Path):
    parts = list(reader.parts(InputFile(path, "file")))
    assert len(parts) == 1
    part = parts[0]
    table = pa.Table.from_batches(list(part.batches), schema=part.schema)
    assert part.records_read == table.num_rows + len(part.rejects)
    return part, table


def src(data_dir: Path, name: str) -> Path:
    return data_dir / "london-datastore" / name


def raw_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    return rows[0], rows[1:]


def write_rows(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def by_year(table: pa.Table) -> dict[int, int]:
    out: Counter[int] = Counter()
    for year, victims in zip(table.column("year").to_pylist(), table.column("victims").to_pylist()):
        out[year] += victims
    return dict(out)


def test_mps_victims_file(data_dir):
    part, table = read(HomicideVictimsReader(), src(data_dir, VICTIMS))
    assert part.dataset == "mps_homicide_victims"
    assert part.records_read == 2544 and part.rejects == [] and table.num_rows == 2544
    assert by_year(table) == VICTIMS_BY_YEAR
    rows = table.to_pylist()
    assert rows[0] == {
        "month": date(2003, 1, 1), "year": 2003, "age_group": "45 to 54", "sex": "Male",
        "method": "Knife or Sharp Implement", "domestic_abuse": False, "offence_type": "Murder",
        "solved_status": "Solved", "borough_code": "E09000032", "borough_name": "Wandsworth", "bcu_name": None,
        "ethnicity": "White", "victims": 1, "line": 2,
    }
    assert rows[1]["method"] == "Physical Assault, no weapon"  # quoted comma
    assert rows[1]["borough_code"] == "E09000027"  # Richmond Upon Thames
    assert sum(r["domestic_abuse"] for r in rows) == 437
    heathrow = [r for r in rows if r["borough_name"] == "Heathrow"]
    assert len(heathrow) == 1 and heathrow[0]["borough_code"] == "MPS-AIRPORTS"
    assert Counter(r["borough_code"] for r in rows)["E09000002"] == 67  # "Barking & Dagenham"
    assert {r["month"].day for r in rows} == {1}
    assert min(r["month"] for r in rows) == date(2003, 1, 1) and max(r["month"] for r in rows) == date(2020, 12, 1)
    assert Counter(r["offence_type"] for r in rows) == {"Murder": 2401, "Manslaughter": 129,
                                                         "Corporate Manslaughter": 11, "Infanticide": 3}


def test_processed_copy(data_dir):
    part, table = read(HomicideProcessedReader(), src(data_dir, PROCESSED))
    assert part.dataset == "homicide_victims_processed"
    assert part.records_read == 2670 and part.rejects == [] and table.num_rows == 2670
    assert by_year(table) == PROCESSED_BY_YEAR
    rows = table.to_pylist()
    assert {r["month"] for r in rows} == {None}
    assert {r["victims"] for r in rows} == {1}
    assert rows[0]["bcu_name"] == "South West" and rows[0]["borough_code"] == "E09000032"
    assert len({r["bcu_name"] for r in rows}) == 12
    assert sum(r["domestic_abuse"] for r in rows) == 472
    assert {r["offence_type"] for r in rows} == {None}
    assert any("third-party" in n for n in part.notes)


def test_processed_copy_never_exceeds_the_mps_file(data_dir):
    """The processed copy lacks a few victims in most years (documented in the data README)."""
    _, mps = read(HomicideVictimsReader(), src(data_dir, VICTIMS))
    _, copy = read(HomicideProcessedReader(), src(data_dir, PROCESSED))
    a, b = by_year(mps), by_year(copy)
    for year in a:
        assert 0 <= a[year] - b[year] <= 11


def test_sniff(data_dir, tmp_path):
    victims, processed = HomicideVictimsReader(), HomicideProcessedReader()
    assert victims.sniff(InputFile(src(data_dir, VICTIMS), "file")).datasets == ("mps_homicide_victims",)
    assert processed.sniff(InputFile(src(data_dir, PROCESSED), "file")).datasets == ("homicide_victims_processed",)
    assert victims.sniff(InputFile(src(data_dir, PROCESSED), "file")) is None
    assert processed.sniff(InputFile(src(data_dir, VICTIMS), "file")) is None
    renamed = tmp_path / "homicides.csv"
    renamed.write_bytes(src(data_dir, PROCESSED).read_bytes())
    assert processed.sniff(InputFile(renamed, "file")) is not None
    for other in (data_dir / "london-datastore").iterdir():
        if other.name not in (VICTIMS, PROCESSED):
            assert victims.sniff(InputFile(other, "file")) is None, other.name
            assert processed.sniff(InputFile(other, "file")) is None, other.name


def test_registry_picks_these_readers(data_dir):
    for module in ("police_uk", "geography", "harm", "mps_recorded_crime", "pas", "gla_workbook"):
        pytest.importorskip(f"crimeplan.sources.{module}")
    from crimeplan import sources

    assert isinstance(sources.sniff(InputFile(src(data_dir, VICTIMS), "file")).reader, HomicideVictimsReader)
    assert isinstance(sources.sniff(InputFile(src(data_dir, PROCESSED), "file")).reader, HomicideProcessedReader)


def test_month_year_parsing():
    assert parse_month_year("Jan 2003") == date(2003, 1, 1)
    assert parse_month_year("September 2019") == date(2019, 9, 1)
    assert parse_month_year("2019-09") == date(2019, 9, 1)
    assert parse_month_year("Foo 2003") is None
    assert parse_month_year("Jan 03") is None


def test_bad_rows_are_rejected(data_dir, tmp_path):
    header, rows = raw_rows(src(data_dir, VICTIMS))
    rows = rows[:30]
    rows[0][header.index("Borough")] = "Gotham"  # line 2
    rows[1][header.index("Recorded Date")] = "Jan 20O3"  # line 3
    rows[2][header.index("Count of Victims")] = "0"  # line 4
    rows[3][header.index("Count of Victims")] = "-1"  # line 5
    rows[4][header.index("Domestic Abuse")] = "Maybe"  # line 6
    rows[5] = rows[5][:4]  # line 7: short
    rows[6][header.index("Domestic Abuse")] = "Yes"  # line 8: fine
    part, table = read(HomicideVictimsReader(), write_rows(tmp_path / "bad.csv", header, rows))
    got = [(r.line, r.field, r.value) for r in part.rejects]
    assert got == [(2, "Borough", "Gotham"), (3, "Recorded Date", "Jan 20O3"), (4, "Count of Victims", "0"),
                   (5, "Count of Victims", "-1"), (6, "Domestic Abuse", "Maybe"), (7, "Domestic Abuse", None)]
    assert "borough" in part.rejects[0].reason and "Jan 2003" in part.rejects[1].reason
    assert table.num_rows == 24
    assert table.filter(pc.equal(table.column("line"), 8)).column("domestic_abuse").to_pylist() == [True]


def test_processed_bad_rows(data_dir, tmp_path):
    header, rows = raw_rows(src(data_dir, PROCESSED))
    rows = rows[:10]
    rows[2][header.index("Year")] = "20O3"
    rows[3][header.index("Domestic_Abuse")] = "Unknown"
    rows[4][header.index("Borough")] = "Heathrow"
    part, table = read(HomicideProcessedReader(), write_rows(tmp_path / "p.csv", header, rows))
    assert [(r.line, r.field) for r in part.rejects] == [(4, "Year"), (5, "Domestic_Abuse")]
    assert table.filter(pc.equal(table.column("line"), 6)).column("borough_code").to_pylist() == ["MPS-AIRPORTS"]


def test_truncated_file(data_dir, tmp_path):
    lines = src(data_dir, VICTIMS).read_bytes().split(b"\n")
    cut = b"\n".join(lines[:1000]) + b"\n" + lines[1000][:15]  # stops inside line 1001
    path = tmp_path / "cut.csv"
    path.write_bytes(cut)
    part, table = read(HomicideVictimsReader(), path)
    assert part.records_read == 1000 and table.num_rows == 999
    assert [r.line for r in part.rejects] == [1001] and "cut short" in part.rejects[0].reason
    assert any("line break" in n for n in part.notes)


def test_missing_column_and_empty_file(data_dir, tmp_path):
    header, rows = raw_rows(src(data_dir, VICTIMS))
    drop = header.index("Recorded Date")
    path = write_rows(tmp_path / "m.csv", [h for i, h in enumerate(header) if i != drop],
                      [[v for i, v in enumerate(r) if i != drop] for r in rows[:10]])
    with pytest.raises(InputError) as err:
        list(HomicideVictimsReader().parts(InputFile(path, "file")))
    assert "'Recorded Date'" in str(err.value) and err.value.line == 1
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\r\n")
    with pytest.raises(InputError, match="empty"):
        list(HomicideProcessedReader().parts(InputFile(empty, "file")))


def test_cp1252_file(data_dir, tmp_path):
    header, rows = raw_rows(src(data_dir, PROCESSED))
    rows = rows[:5]
    rows[0][header.index("Method_of_Killing")] = "Knife – Sharp Implement"  # en dash, 0x96 in cp1252
    part, table = read(HomicideProcessedReader(), write_rows(tmp_path / "cp.csv", header, rows, "cp1252"))
    assert part.encoding == "cp1252"
    assert table.column("method")[0].as_py() == "Knife – Sharp Implement"
