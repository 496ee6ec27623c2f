"""Census 2021 TS021 (ethnic group) by LSOA, as exported by Nomis: the real file and broken copies."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from crimeplan.errors import InputError
from crimeplan.sources import sniff
from crimeplan.sources.inputs import InputFile
from crimeplan.sources.nomis import CensusEthnicGroupReader

NAME = "census2021-ts021-lsoa.csv"
READER = CensusEthnicGroupReader()
GROUPS = ["Asian, Asian British or Asian Welsh", "Black, Black British, Black Welsh, Caribbean or African",
          "Mixed or Multiple ethnic groups", "White", "Other ethnic group"]
# Typed in from the real file.
TITLE = [
    "TS021 - Ethnic group,,,,,,,,,,,,",
    "ONS Crown Copyright Reserved [from Nomis on 25 June 2024],,,,,,,,,,,,",
    "Population :,All usual residents,,,,,,,,,,,",
    "Units      :,Persons,,,,,,,,,,,",
    "Date       :,2021,,,,,,,,,,,",
    ",,,,,,,,,,,,",
    '2021 super output area - lower layer,Total: All usual residents,%,"Asian, Asian British or Asian Welsh",%,'
    '"Black, Black British, Black Welsh, Caribbean or African",%,Mixed or Multiple ethnic groups,%,White,%,'
    "Other ethnic group,%",
    ",,,,,,,,,,,,",
]
ROWS = [
    "E01011954 : Hartlepool 001A,2284,100,19,0.8,0,0,6,0.3,2248,98.4,11,0.5",
    "E01011969 : Hartlepool 001B,1345,100,6,0.4,0,0,6,0.4,1329,98.8,4,0.3",
    "W01001898 : Merthyr Tydfil 008F,1463,100,3,0.2,1,0.1,10,0.7,1445,98.8,4,0.3",
]
FOOTNOTE = [
    ",,,,,,,,,,,,",
    ',"In order to protect against disclosure of personal information, records",,,,,,,,,,,',
    ",affected.,,,,,,,,,,,",
]


def read(path: Path):
    parts = list(READER.parts(InputFile(path, "file")))
    assert len(parts) == 1
    part = parts[0]
    table = pa.Table.from_batches(list(part.batches), schema=part.schema)
    assert part.records_read == len(set(table.column("line").to_pylist())) + len(part.rejects)
    return part, table


def write(tmp_path: Path, lines: list[str], name: str = "ts021.csv") -> Path:
    path = tmp_path / name
    path.write_bytes("\r\n".join(lines).encode("utf-8"))
    return path


def test_the_real_file(data_dir):
    part, table = read(data_dir / "geography" / NAME)
    assert part.dataset == "population_lsoa21_ethnic_group_2021"
    assert part.records_read == 35_672 and part.rejects == [] and table.num_rows == 35_672 * 6
    rows = table.to_pylist()
    first = rows[:6]
    assert {(r["level"], r["vintage"], r["reference"], r["sex"], r["age_band"]) for r in rows} == {
        ("lsoa", "2021", "census2021-ts021", "all", "all")}
    assert [(r["code"], r["name"], r["line"]) for r in first] == [("E01011954", "Hartlepool 001A", 9)] * 6
    assert [(r["ethnic_group"], r["persons"]) for r in first] == [
        (None, 2284), (GROUPS[0], 19), (GROUPS[1], 0), (GROUPS[2], 6), (GROUPS[3], 2248), (GROUPS[4], 11)]
    by_code = {(r["code"], r["ethnic_group"]): r for r in rows}
    # line 19792 of the file: E01000001 : City of London 001A,1474,100,158,10.7,11,0.7,56,3.8,1181,80.1,68,4.6
    assert by_code[("E01000001", None)]["persons"] == 1474 and by_code[("E01000001", None)]["line"] == 19792
    assert by_code[("E01000001", "White")]["persons"] == 1181
    assert by_code[("E01000001", GROUPS[4])]["persons"] == 68
    assert by_code[("W01001898", None)]["name"] == "Merthyr Tydfil 008F"
    codes = {r["code"] for r in rows}
    assert len(codes) == 35_672 and sum(c.startswith("W01") for c in codes) == 1_917
    assert any("footnote (not data): In order to protect" in n for n in part.notes)
    assert not any("cut short" in n or "add up" in n or "disagree" in n for n in part.notes)


def test_london_lsoas_sum_to_the_published_total(data_dir):
    from crimeplan.sources.london import BOROUGHS

    _, table = read(data_dir / "geography" / NAME)
    boroughs = set(BOROUGHS.values())
    london = [r for r in table.to_pylist()
              if r["ethnic_group"] is None and r["name"].rsplit(" ", 1)[0] in boroughs]
    assert len(london) == 4_994 and sum(r["persons"] for r in london) == 8_799_810


def test_recognised_by_content(data_dir, tmp_path):
    renamed = tmp_path / "download.csv"
    renamed.write_bytes((data_dir / "geography" / NAME).read_bytes())
    found = sniff(InputFile(renamed, "file"))
    assert found.reader.__class__ is CensusEthnicGroupReader
    assert found.datasets == ("population_lsoa21_ethnic_group_2021",)
    for folder in ("london-datastore", "home-office", "harm"):
        for path in (data_dir / folder).iterdir():
            assert READER.sniff(InputFile(path, "file")) is None, path.name


def test_a_small_copy_loads_exactly(tmp_path):
    part, table = read(write(tmp_path, TITLE + ROWS + FOOTNOTE))
    assert part.records_read == 3 and part.rejects == [] and table.num_rows == 18
    assert sorted({r["line"] for r in table.to_pylist()}) == [9, 10, 11]


def test_bad_rows_are_rejected_with_line_and_field(tmp_path):
    rows = [
        ROWS[0],
        "E01011969 : Hartlepool 001B,1345,100,6,0.4,x,0,6,0.4,1329,98.8,4,0.3",  # line 10: Black not a number
        "S01011970 : Glasgow 001C,1070,100,7,0.7,0,0,4,0.4,1059,99,0,0",  # line 11: not E01/W01
        "E01011954 : Hartlepool 001A,2284,100,19,0.8,0,0,6,0.3,2248,98.4,11,0.5",  # line 12: duplicate
        ",5,,,,,,,,,,,",  # line 13: values without a code
        "E01011971 : Hartlepool 001D,-3,100,5,0.4,0,0,5,0.4,1311,99.1,2,0.2",  # line 14: negative total
        "E01011972 : Hartlepool 001E,1323,100",  # line 15: cut short
        ROWS[2],
    ]
    part, table = read(write(tmp_path, TITLE + rows + FOOTNOTE))
    assert part.records_read == 8 and table.num_rows == 12
    got = {(r.line, r.field) for r in part.rejects}
    assert got == {
        (10, "Black, Black British, Black Welsh, Caribbean or African"),
        (11, "2021 super output area - lower layer"),
        (12, "2021 super output area - lower layer"),
        (13, "2021 super output area - lower layer"),
        (14, "Total: All usual residents"),
        (15, None),
    }
    reasons = {r.line: r.reason for r in part.rejects}
    assert "line 9" in reasons[12] and "negative" in reasons[14]


def test_sums_and_percentages_that_disagree_are_noted_not_dropped(tmp_path):
    rows = ["E01011954 : Hartlepool 001A,2285,100,19,0.8,0,0,6,0.3,2248,98.4,11,0.5",  # total one over
            "E01011969 : Hartlepool 001B,1345,100,6,9.9,0,0,6,0.4,1329,98.8,4,0.3"]  # Asian % wrong
    part, table = read(write(tmp_path, TITLE + rows + FOOTNOTE))
    assert part.rejects == [] and table.num_rows == 12
    assert any("1 rows whose groups do not add up" in n and "line 9" in n for n in part.notes)
    assert any("1 rows whose percentages disagree" in n and "line 10" in n for n in part.notes)


def test_a_truncated_file_is_noted_and_its_last_row_rejected(data_dir, tmp_path):
    data = (data_dir / "geography" / NAME).read_bytes()
    cut = tmp_path / "cut.csv"
    cut.write_bytes(data[: len(data) // 2])
    part, table = read(cut)
    assert any("cut short" in n for n in part.notes)
    assert part.records_read == len(set(table.column("line").to_pylist())) + len(part.rejects)
    assert len(part.rejects) <= 1


def test_whole_file_problems(tmp_path):
    with pytest.raises(InputError, match="empty"):
        read(write(tmp_path, [""], "empty.csv"))
    with pytest.raises(InputError, match="no header line"):
        read(write(tmp_path, TITLE[:6] + ROWS, "noheader.csv"))
    with pytest.raises(InputError, match="no data rows"):
        read(write(tmp_path, TITLE + FOOTNOTE[:1], "nodata.csv"))
    no_pct = TITLE[:6] + [TITLE[6].replace(",%,\"Asian", ",\"Asian")] + TITLE[7:] + ROWS
    with pytest.raises(InputError, match="not followed by its '%' column") as info:
        read(write(tmp_path, no_pct, "nopct.csv"))
    assert info.value.line == 7
