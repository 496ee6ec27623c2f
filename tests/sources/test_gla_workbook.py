"""GLA State of London crime workbook: one part per sheet, London-wide monthly series."""

from __future__ import annotations

import zipfile
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from crimeplan.errors import InputError
from crimeplan.sources.base import source_records
from crimeplan.sources.gla_workbook import StateOfLondonReader
from crimeplan.sources.inputs import InputFile
from crimeplan.sources.mps_recorded_crime import MpsRecordedCrimeReader

WORKBOOK = "GLA State of London crime 2017-04_2024-01.xlsx"
NEW = "MPS Borough Level Crime (Historical) 2010-04_2023-09.csv"
SHEETS = ["TNO", "ND-VWI", "Domestic Abuse", "Sexual_Offences", "AWL_Knife_U25", "Homicide", "Robbery_Offences",
          "Burglary_Offences", "TfMV_Offences", "Theft_Person", "Hate_Crime"]

READER = StateOfLondonReader()


def read(path: Path) -> list[tuple]:
    """[(part, table)] with the counting invariants checked.

    The unit is one source record, a spreadsheet row: read = loaded records + rejects. A
    row is loaded whole, as one tidy row per series all carrying its row number, or
    rejected whole with exactly one Reject.
    """
    out = []
    for part in READER.parts(InputFile(path, "file")):
        table = pa.Table.from_batches(list(part.batches), schema=part.schema)
        assert part.records_read == source_records(table) + len(part.rejects)
        assert table.column("line").null_count == 0  # every tidy row comes from a spreadsheet row
        n_series = len(set(table.column("series").to_pylist()))
        loaded = Counter(table.column("line").to_pylist())
        rejected = Counter(r.line for r in part.rejects)
        assert not set(loaded) & set(rejected)
        assert set(rejected.values()) <= {1}  # one Reject per rejected row
        assert set(loaded.values()) <= {n_series}  # every loaded row: all its series ...
        pairs = set(zip(table.column("line").to_pylist(), table.column("series").to_pylist()))
        assert len(pairs) == table.num_rows  # ... each once
        out.append((part, table))
    return out


def src(data_dir: Path) -> Path:
    return data_dir / "london-datastore" / WORKBOOK


def rewrite(source: Path, target: Path, changes: dict[str, Callable[[bytes], bytes] | None]) -> Path:
    """A copy of an xlsx with some members changed (None drops a member)."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename in changes:
                change = changes[info.filename]
                if change is None:
                    continue
                data = change(data)
            zout.writestr(info, data)
    return target


def test_real_workbook(data_dir):
    parts = read(src(data_dir))
    assert [p.member for p, _ in parts] == SHEETS
    assert {p.dataset for p, _ in parts} == {"gla_state_of_london_crime"}
    assert {p.kind for p, _ in parts} == {"london_monthly"}
    months = [date(2017 + (4 + i - 1) // 12, (4 + i - 1) % 12 + 1, 1) for i in range(82)]
    assert months[-1] == date(2024, 1, 1)
    total = records = 0
    for part, table in parts:
        n_series = 2 if part.member in ("Sexual_Offences", "Burglary_Offences") else 1
        assert part.records_read == 82 and part.rejects == []  # 82 data rows (rows 2-83) per sheet
        assert source_records(table) == 82
        assert table.num_rows == 82 * n_series
        assert len(set(table.column("series").to_pylist())) == n_series
        assert sorted(set(table.column("month").to_pylist())) == months
        assert sorted(set(table.column("line").to_pylist())) == list(range(2, 84))
        assert table.column("title").null_count == 0 and table.column("subtitle").null_count == 0
        total += table.num_rows
        records += part.records_read
    assert records == 11 * 82
    assert total == 1066  # 9 sheets × 82 + 2 sheets × 82 × 2


def test_values_titles_and_series(data_dir):
    parts = {p.member: (p, t) for p, t in read(src(data_dir))}
    tno = parts["TNO"][1].to_pylist()
    assert tno[0] == {"sheet": "TNO", "series": "count", "title": "Total Notifiable Offences",
                      "subtitle": "The number of Offences recorded by the MPS (Thousands)",
                      "month": date(2017, 4, 1), "value": 73641.0, "line": 2}
    assert tno[-1]["month"] == date(2024, 1, 1) and tno[-1]["value"] == 84229.0
    sexual = parts["Sexual_Offences"][1]
    assert set(sexual.column("series").to_pylist()) == {"Other Sexual Offences", "Rape"}
    first = {r["series"]: r["value"] for r in sexual.to_pylist() if r["line"] == 2}
    assert first == {"Other Sexual Offences": 872.0, "Rape": 570.0}
    assert set(parts["ND-VWI"][1].column("series").to_pylist()) == {"Count"}
    assert parts["AWL_Knife_U25"][1].column("title")[0].as_py() == \
        "Non-Domestic Knife Crime with Injury Offences – Victim U25"
    assert parts["Hate_Crime"][1].column("title")[0].as_py() == "Hate Crime Offences"  # block headed 'metal'
    assert parts["Homicide"][1].column("value")[0].as_py() == 16.0


def test_thousands_subtitle_is_noted_not_applied(data_dir):
    parts = {p.member: p for p, _ in read(src(data_dir))}
    for sheet in ("TNO", "Domestic Abuse", "Theft_Person"):
        assert any("raw counts" in n and "not rescaled" in n for n in parts[sheet].notes), sheet
    assert not any("raw counts" in n for n in parts["Homicide"].notes)


def test_london_homicide_matches_the_sum_over_boroughs(data_dir):
    """The GLA series and the MPS borough file are different editions: within 3 a month, 1% over six years."""
    parts = {p.member: t for p, t in read(src(data_dir))}
    gla = dict(zip(parts["Homicide"].column("month").to_pylist(), parts["Homicide"].column("value").to_pylist()))
    (part,) = MpsRecordedCrimeReader().parts(InputFile(data_dir / "london-datastore" / NEW, "file"))
    boroughs = pa.Table.from_batches(list(part.batches), schema=part.schema)
    homicide = boroughs.filter(pc.equal(boroughs.column("minor_category"), "HOMICIDE"))
    grouped = homicide.group_by("month").aggregate([("count", "sum")])
    mps = dict(zip(grouped.column("month").to_pylist(), grouped.column("count_sum").to_pylist()))
    common = sorted(set(gla) & set(mps))
    assert common[0] == date(2017, 4, 1) and common[-1] == date(2023, 9, 1)
    for month in common:
        assert abs(gla[month] - mps[month]) <= 3, month
    for month in (date(2017, 4, 1), date(2017, 5, 1), date(2017, 8, 1)):
        assert gla[month] == mps[month]
    assert abs(sum(gla[m] for m in common) / sum(mps[m] for m in common) - 1) < 0.01


def test_sniff(data_dir, tmp_path):
    assert READER.sniff(InputFile(src(data_dir), "file")).datasets == ("gla_state_of_london_crime",)
    renamed = tmp_path / "sol-targets.xlsx"
    renamed.write_bytes(src(data_dir).read_bytes())
    assert READER.sniff(InputFile(renamed, "file")) is not None
    for other in (data_dir / "london-datastore").iterdir():
        if other.name != WORKBOOK:
            assert READER.sniff(InputFile(other, "file")) is None, other.name


def test_registry_picks_this_reader(data_dir):
    for module in ("police_uk", "geography", "harm", "mps_recorded_crime", "homicide", "pas"):
        pytest.importorskip(f"crimeplan.sources.{module}")
    from crimeplan import sources

    assert isinstance(sources.sniff(InputFile(src(data_dir), "file")).reader, StateOfLondonReader)


def test_openpyxl_cannot_read_this_file_plainly(data_dir):
    """Why the reader parses the XML itself (see the module docstring); if openpyxl changes, revisit."""
    openpyxl = pytest.importorskip("openpyxl")
    with pytest.raises(KeyError, match="drawing"):
        openpyxl.load_workbook(src(data_dir))
    book = openpyxl.load_workbook(src(data_dir), read_only=True)
    assert len(list(book["TNO"].iter_rows())) == 1
    book.close()


def test_bad_cells_reject_their_row(data_dir, tmp_path):
    def damage(xml: bytes) -> bytes:
        xml = xml.replace(b'<c r="B5" t="n"><v>83043</v></c>', b'<c r="B5" t="e"><v>#N/A</v></c>')
        xml = xml.replace(b'<c r="B7" t="n"><v>76521</v></c>', b'<c r="B7" t="inlineStr"><is><t>n/a</t></is></c>')
        xml = xml.replace(b'<c r="A9" s="1" t="n"><v>43040</v></c>', b'<c r="A9" t="inlineStr"><is><t>soon</t></is></c>')
        xml = xml.replace(b'<c r="B11" t="n"><v>76840</v></c>', b'<c r="B11" t="inlineStr"><is><t>76,840</t></is></c>')
        xml = xml.replace(b'<c r="A12" s="1" t="n"><v>43132</v></c>', b'<c r="A12" s="1" t="n"><v>43101</v></c>')
        return xml

    path = rewrite(src(data_dir), tmp_path / "bad.xlsx", {"xl/worksheets/sheet1.xml": damage})
    parts = {p.member: (p, t) for p, t in read(path)}
    part, table = parts["TNO"]
    got = [(r.line, r.field, r.value) for r in part.rejects]
    assert got == [(5, "count", "#N/A"), (7, "count", "n/a"), (9, "Parsed_Dates", "soon"),
                   (12, "Parsed_Dates", "43101")]
    assert "B5" in part.rejects[0].reason and "duplicate of row 11" in part.rejects[3].reason
    assert part.records_read == 82
    assert source_records(table) == 78 and table.num_rows == 78
    assert not {5, 7, 9, 12} & set(table.column("line").to_pylist())
    row11 = table.filter(pc.equal(table.column("line"), 11)).to_pylist()
    assert row11[0]["value"] == 76840.0 and row11[0]["month"] == date(2018, 1, 1)
    assert parts["Homicide"][0].rejects == []


def test_bad_cell_in_a_two_series_sheet_rejects_both_values(data_dir, tmp_path):
    def damage(xml: bytes) -> bytes:  # Sexual_Offences, row 3: Rape (column C) unreadable
        return xml.replace(b'<c r="C3" t="n"><v>670</v></c>', b'<c r="C3" t="e"><v>#VALUE!</v></c>')

    path = rewrite(src(data_dir), tmp_path / "bad2.xlsx", {"xl/worksheets/sheet4.xml": damage})
    part, table = {p.member: (p, t) for p, t in read(path)}["Sexual_Offences"]
    # one Reject for the row, which covers both of its values (Other Sexual Offences and Rape)
    assert [(r.line, r.field, r.value) for r in part.rejects] == [(3, "Rape", "#VALUE!")]
    assert "C3" in part.rejects[0].reason and "2 values" in part.rejects[0].reason
    assert part.records_read == 82 and source_records(table) == 81
    assert table.num_rows == 81 * 2
    assert 3 not in set(table.column("line").to_pylist())  # neither series loaded for row 3


def test_truncated_workbook(data_dir, tmp_path):
    data = src(data_dir).read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as err:
        list(READER.parts(InputFile(path, "file")))
    assert "xlsx" in str(err.value) and "truncated" in str(err.value)
    with pytest.raises(InputError):  # an .xlsx that cannot be opened is reported, not "unrecognised"
        READER.sniff(InputFile(path, "file"))


def test_damaged_member(data_dir, tmp_path):
    path = rewrite(src(data_dir), tmp_path / "broken.xlsx", {"xl/worksheets/sheet3.xml": lambda b: b[: len(b) // 2]})
    with pytest.raises(InputError) as err:
        list(READER.parts(InputFile(path, "file")))
    assert err.value.field == "xl/worksheets/sheet3.xml" and "not well-formed" in str(err.value)
    # corrupt compressed bytes inside an otherwise intact archive
    good = src(data_dir).read_bytes()
    with zipfile.ZipFile(src(data_dir)) as z:
        info = z.getinfo("xl/worksheets/sheet2.xml")
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    bad = bytearray(good)
    for i in range(start + 10, start + 60):
        bad[i] ^= 0xFF
    corrupt = tmp_path / "corrupt.xlsx"
    corrupt.write_bytes(bytes(bad))
    with pytest.raises(InputError) as err:
        list(READER.parts(InputFile(corrupt, "file")))
    assert "sheet2.xml" in str(err.value)


def test_missing_sheet_part(data_dir, tmp_path):
    path = rewrite(src(data_dir), tmp_path / "nosheet.xlsx", {"xl/worksheets/sheet4.xml": None})
    with pytest.raises(InputError, match="sheet4.xml"):
        list(READER.parts(InputFile(path, "file")))


def test_sheet_without_series_columns(data_dir, tmp_path):
    # Blank B1 (the 'count' header) on the Homicide sheet (sheet6).
    def drop_header(xml: bytes) -> bytes:
        start = xml.index(b'<c r="B1"')
        end = xml.index(b"</c>", start) + 4
        return xml[:start] + xml[end:]

    path = rewrite(src(data_dir), tmp_path / "noseries.xlsx", {"xl/worksheets/sheet6.xml": drop_header})
    with pytest.raises(InputError) as err:
        list(READER.parts(InputFile(path, "file")))
    assert err.value.field == "Homicide" and "no series" in str(err.value)


def test_not_a_workbook(tmp_path):
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    with pytest.raises(InputError):
        list(READER.parts(InputFile(empty, "file")))
    assert READER.sniff(InputFile(empty, "file")) is None
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("readme.txt", "hello")
    assert READER.sniff(InputFile(other, "file")) is None
    with pytest.raises(InputError, match="workbook.xml"):
        list(READER.parts(InputFile(other, "file")))
