"""MPS recorded crime (borough / ward / LSOA × offence × month) from the London Datastore."""

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
from crimeplan.sources.base import source_records
from crimeplan.sources.inputs import InputFile
from crimeplan.sources.mps_recorded_crime import MpsRecordedCrimeReader

OLD = "MPS Borough Level Crime (Historical) 2010-04_2022-01 old categories.csv"
NEW = "MPS Borough Level Crime (Historical) 2010-04_2023-09.csv"
RECENT = "MPS Borough Level Crime (most recent 24 months) 2022-02_2024-01.csv"
WARD = "MPS Ward Level Crime (most recent 24 months) 2024-03_2026-03.csv"

READER = MpsRecordedCrimeReader()


def read(path: Path):
    """(part, table) for the one part of a file, with the counting invariants checked.

    The unit is one source record, a CSV row: read = loaded records + rejects. A row is
    loaded whole, as one tidy row per month column all carrying its line, or rejected
    whole with exactly one Reject.
    """
    parts = list(READER.parts(InputFile(path, "file")))
    assert len(parts) == 1
    part = parts[0]
    table = pa.Table.from_batches(list(part.batches), schema=part.schema)
    assert part.records_read == source_records(table) + len(part.rejects)
    assert table.column("line").null_count == 0  # every tidy row comes from a CSV row
    loaded = Counter(table.column("line").to_pylist())
    rejected = Counter(r.line for r in part.rejects)
    assert not set(loaded) & set(rejected)
    assert set(rejected.values()) <= {1}  # one Reject per rejected row
    n_months = len(set(table.column("month").to_pylist()))
    assert set(loaded.values()) <= {n_months}  # every loaded row: all its months ...
    pairs = set(zip(table.column("line").to_pylist(), table.column("month").to_pylist()))
    assert len(pairs) == table.num_rows  # ... each once
    return part, table


def faults(part) -> list[tuple]:
    """The (line, field, value) of the rejects, in order (one per rejected row)."""
    return [(r.line, r.field, r.value) for r in part.rejects]


def src(data_dir: Path, name: str) -> Path:
    return data_dir / "london-datastore" / name


def raw_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    return rows[0], rows[1:]


def write_rows(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


# --- the real files -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, records, months, scheme",
    [
        (OLD, 1730, 142, "old"),
        (NEW, 949, 162, "new"),
        (RECENT, 1574, 24, "old"),
        (WARD, 18669, 25, "new"),
    ],
)
def test_real_files_load_completely(data_dir, name, records, months, scheme):
    part, table = read(src(data_dir, name))
    assert part.records_read == records  # CSV data rows
    assert part.rejects == []
    assert source_records(table) == records
    assert table.num_rows == records * months
    assert len(set(table.column("month").to_pylist())) == months
    assert set(table.column("scheme").to_pylist()) == {scheme}
    assert pc.min(table.column("count")).as_py() >= 0
    assert part.encoding == "utf-8"
    assert any(f"category scheme '{scheme}'" in n for n in part.notes)


def test_old_scheme_borough_history(data_dir):
    part, table = read(src(data_dir, OLD))
    assert part.dataset == "mps_borough_crime"
    rows = table.to_pylist()
    first = rows[0]
    assert first == {
        "scheme": "old", "area_level": "borough", "area_vintage": "", "area_code": "E09000002",
        "area_name": "Barking and Dagenham", "borough_name": "Barking and Dagenham",
        "major_category": "Arson and Criminal Damage", "minor_category": "Arson",
        "month": date(2010, 4, 1), "count": 6, "line": 2,
    }
    months = sorted(set(table.column("month").to_pylist()))
    assert months[0] == date(2010, 4, 1) and months[-1] == date(2022, 1, 1) and len(months) == 142
    assert len(set(table.column("minor_category").to_pylist())) == 56
    assert ("Violence Against the Person", "Homicide") in {(r["major_category"], r["minor_category"]) for r in rows}
    units = {(r["area_level"], r["area_code"]) for r in rows if r["area_level"] != "borough"}
    assert units == {("unit", "MPS-AIRPORTS")}
    assert len({r["area_code"] for r in rows if r["area_level"] == "borough"}) == 32


def test_new_scheme_borough_history_with_boroughname_column(data_dir):
    part, table = read(src(data_dir, NEW))
    rows = table.to_pylist()
    assert {(r["major_category"], r["minor_category"]) for r in rows} >= {
        ("VIOLENCE AGAINST THE PERSON", "HOMICIDE"), ("VIOLENCE AGAINST THE PERSON", "VIOLENCE WITH INJURY")}
    assert len({r["minor_category"] for r in rows}) == 28
    units = {r["area_code"]: r["area_name"] for r in rows if r["area_level"] == "unit"}
    assert units == {"MPS-AIRPORTS": "London Heathrow and London City Airports", "MPS-UNKNOWN": "Unknown"}
    assert {r["area_vintage"] for r in rows} == {""}


def test_london_total_is_the_sum_over_boroughs_and_units(data_dir):
    """For a few months, the reader's London total equals the column sum computed straight from the CSV."""
    path = src(data_dir, NEW)
    header, rows = raw_rows(path)
    _, table = read(path)
    for column, month in [("201004", date(2010, 4, 1)), ("201904", date(2019, 4, 1)), ("202309", date(2023, 9, 1))]:
        i = header.index(column)
        expected = sum(int(r[i]) for r in rows)
        got = pc.sum(pc.filter(table.column("count"), pc.equal(table.column("month"), pa.scalar(month)))).as_py()
        assert got == expected
    # Homicide in 2019 across London, by hand from the file
    i19 = [header.index(f"2019{m:02d}") for m in range(1, 13)]
    expected = sum(int(r[i]) for r in rows if r[1] == "HOMICIDE" for i in i19)
    mask = pc.and_(pc.equal(table.column("minor_category"), "HOMICIDE"),
                   pc.equal(pc.year(table.column("month")), 2019))
    assert pc.sum(pc.filter(table.column("count"), mask)).as_py() == expected


def test_old_and_new_editions_agree_on_london_totals(data_dir):
    """The two borough histories are different editions and schemes of the same crimes: totals within 1.5%."""
    _, old = read(src(data_dir, OLD))
    _, new = read(src(data_dir, NEW))

    def totals(table):
        grouped = table.group_by("month").aggregate([("count", "sum")])
        return dict(zip(grouped.column("month").to_pylist(), grouped.column("count_sum").to_pylist()))

    a, b = totals(old), totals(new)
    for month in (date(2010, 4, 1), date(2015, 6, 1), date(2019, 4, 1), date(2022, 1, 1)):
        assert abs(a[month] / b[month] - 1) < 0.015
    assert abs(a[date(2022, 1, 1)] - b[date(2022, 1, 1)]) <= 5


def test_recent_borough_file_still_uses_the_old_scheme(data_dir):
    part, table = read(src(data_dir, RECENT))
    assert set(table.column("scheme").to_pylist()) == {"old"}
    assert sorted(set(table.column("month").to_pylist()))[0] == date(2022, 2, 1)


def test_ward_file(data_dir):
    part, table = read(src(data_dir, WARD))
    assert part.dataset == "mps_ward_crime"
    assert set(table.column("area_level").to_pylist()) == {"ward"}
    assert set(table.column("area_vintage").to_pylist()) == {"2022"}
    assert len(set(table.column("area_code").to_pylist())) == 679
    heathrow = table.filter(pc.equal(table.column("area_code"), "E05013570")).to_pylist()
    assert {r["area_name"] for r in heathrow} == {"Heathrow Villages"}
    assert {r["borough_name"] for r in heathrow} == {"Aviation Security (SO18)"}
    assert any("Aviation Security (SO18)" in n for n in part.notes)
    assert any("2022 boundaries" in n for n in part.notes)


def test_sniff_recognises_each_file_by_its_header(data_dir, tmp_path):
    expected = {OLD: "mps_borough_crime", NEW: "mps_borough_crime", RECENT: "mps_borough_crime",
                WARD: "mps_ward_crime"}
    for name, dataset in expected.items():
        found = READER.sniff(InputFile(src(data_dir, name), "file"))
        assert found is not None and found.datasets == (dataset,) and found.reader is READER
        renamed = tmp_path / "download (3).csv"
        renamed.write_bytes(src(data_dir, name).read_bytes())
        assert READER.sniff(InputFile(renamed, "file")).datasets == (dataset,)
    for other in (data_dir / "london-datastore").iterdir():
        if other.name not in expected:
            assert READER.sniff(InputFile(other, "file")) is None, other.name


def test_registry_picks_this_reader(data_dir):
    for module in ("police_uk", "geography", "harm", "homicide", "pas", "gla_workbook"):
        pytest.importorskip(f"crimeplan.sources.{module}")
    from crimeplan import sources

    for name in (OLD, NEW, RECENT, WARD):
        assert isinstance(sources.sniff(InputFile(src(data_dir, name), "file")).reader, MpsRecordedCrimeReader)


# --- LSOA layouts (not in the shared data: built here) -------------------------------


def test_lsoa_file_major_category_header(tmp_path):
    path = tmp_path / "lsoa.csv"
    path.write_text(
        "LSOA Code,LSOA Name,Borough,Major Category,Minor Category,201004,201005\n"
        "E01000006,Barking and Dagenham 016A,Barking and Dagenham,Burglary,Burglary in a Dwelling,1,0\n"
        "E01000007,Barking and Dagenham 015A,Barking & Dagenham,Violence Against the Person,Harassment,3,4\n",
        encoding="utf-8",
    )
    assert READER.sniff(InputFile(path, "file")).datasets == ("mps_lsoa_crime",)
    part, table = read(path)
    assert part.dataset == "mps_lsoa_crime"
    assert part.records_read == 2 and part.rejects == []
    rows = table.to_pylist()
    assert len(rows) == 4
    assert {r["area_vintage"] for r in rows} == {"2011"} and {r["area_level"] for r in rows} == {"lsoa"}
    assert rows[2]["area_code"] == "E01000007" and rows[2]["borough_name"] == "Barking & Dagenham"
    assert rows[3]["count"] == 4 and rows[3]["month"] == date(2010, 5, 1)


def test_lsoa_file_majortext_header_from_2023_is_2021_lsoas(tmp_path):
    path = tmp_path / "lsoa.csv"
    path.write_text(
        "LSOA Code,LSOA Name,Borough,MajorText,MinorText,202301,202302\n"
        "E01000006,Barking and Dagenham 016A,Barking and Dagenham,BURGLARY,BURGLARY - RESIDENTIAL,2,5\n"
        "E0100000X,Barking and Dagenham 015A,Barking and Dagenham,ROBBERY,ROBBERY OF PERSONAL PROPERTY,1,1\n",
        encoding="utf-8",
    )
    part, table = read(path)
    assert set(table.column("area_vintage").to_pylist()) == {"2021"}
    assert set(table.column("scheme").to_pylist()) == {"new"}
    assert faults(part) == [(3, "LSOA Code", "E0100000X")] and len(part.rejects) == 1
    assert "2 monthly counts are not loaded" in part.rejects[0].reason
    assert part.records_read == 2
    assert table.num_rows == 2 and set(table.column("line").to_pylist()) == {2}


# --- broken copies --------------------------------------------------------------------


def test_bad_cells_reject_their_record(data_dir, tmp_path):
    header, rows = raw_rows(src(data_dir, OLD))
    i = header.index("201907")
    rows = rows[:40]
    rows[3][i] = "-3"  # line 5
    rows[5][i + 1] = "2.5"  # line 7, column 201908
    rows[7][i] = "n/a"  # line 9
    rows[9][2] = "Narnia"  # line 11
    rows[11][i] = ""  # line 13
    rows[13][i] = "12.0"  # whole number written as decimal: fine
    part, table = read(write_rows(tmp_path / "bad.csv", header, rows))
    assert faults(part) == [(5, "201907", "-3"), (7, "201908", "2.5"), (9, "201907", "n/a"),
                   (11, "LookUp_BoroughName", "Narnia"), (13, "201907", "")]
    assert len(part.rejects) == 5  # one per rejected row ...
    reasons = [r.reason for r in part.rejects]
    assert all("142 monthly counts are not loaded" in r for r in reasons)  # ... covering its 142 months
    assert "negative" in reasons[0] and "fractional" in reasons[1] and "not a number" in reasons[2]
    assert "borough" in reasons[3] and "empty" in reasons[4]
    assert all("whole number" in r for r in reasons[:3])
    assert part.records_read == 40
    assert source_records(table) == 35
    assert table.num_rows == 35 * 142
    assert not {5, 7, 9, 11, 13} & set(table.column("line").to_pylist())
    line15 = table.filter(pc.and_(pc.equal(table.column("line"), 15),
                                  pc.equal(table.column("month"), pa.scalar(date(2019, 7, 1)))))
    assert line15.column("count").to_pylist() == [12]


def test_duplicate_record_is_rejected(data_dir, tmp_path):
    header, rows = raw_rows(src(data_dir, NEW))
    rows = rows[:10] + [rows[2]]
    part, table = read(write_rows(tmp_path / "dup.csv", header, rows))
    assert faults(part) == [(12, "MinorText", rows[2][1])] and len(part.rejects) == 1
    assert "duplicate of line 4" in part.rejects[0].reason
    assert "162 monthly counts are not loaded" in part.rejects[0].reason
    assert part.records_read == 11
    assert table.num_rows == 10 * 162


def test_truncated_file_rejects_the_cut_row(data_dir, tmp_path):
    data = src(data_dir, OLD).read_bytes()
    cut = data[: len(data) // 2]
    assert not cut.endswith(b"\n")
    path = tmp_path / "cut.csv"
    path.write_bytes(cut)
    part, table = read(path)
    records = cut.count(b"\n")  # header line ends with \n; the last, partial line has none
    assert part.records_read == records
    assert len(part.rejects) == 1 and part.rejects[0].line == records + 1
    assert "cut short" in part.rejects[0].reason
    assert source_records(table) == records - 1
    assert table.num_rows == (records - 1) * 142
    assert any("line break" in n for n in part.notes)


def test_header_month_that_is_not_a_month_refuses_the_file(data_dir, tmp_path):
    header, rows = raw_rows(src(data_dir, OLD))
    header[header.index("201912")] = "201913"
    with pytest.raises(InputError) as err:
        list(READER.parts(InputFile(write_rows(tmp_path / "m.csv", header, rows[:5]), "file")))
    assert err.value.field == "201913" and err.value.line == 1
    assert "201913" in str(err.value) and "YYYYMM" in str(err.value)


def test_other_unexpected_column_refuses_the_file(data_dir, tmp_path):
    header, rows = raw_rows(src(data_dir, RECENT))
    header.append("Total")
    rows = [r + ["1"] for r in rows[:5]]
    with pytest.raises(InputError, match="'Total' is not a month"):
        list(READER.parts(InputFile(write_rows(tmp_path / "t.csv", header, rows), "file")))


def test_missing_column_refuses_the_file(data_dir, tmp_path):
    header, rows = raw_rows(src(data_dir, WARD))
    drop = header.index("WardCode")
    path = write_rows(tmp_path / "w.csv", [h for i, h in enumerate(header) if i != drop],
                      [[v for i, v in enumerate(r) if i != drop] for r in rows[:20]])
    with pytest.raises(InputError) as err:
        list(READER.parts(InputFile(path, "file")))
    assert "'WardCode'" in str(err.value) and err.value.line == 1


def test_wrong_header_is_not_recognised(data_dir, tmp_path):
    header, rows = raw_rows(src(data_dir, OLD))
    header[0] = "Offence group"
    path = write_rows(tmp_path / "h.csv", header, rows[:5])
    assert READER.sniff(InputFile(path, "file")) is None
    with pytest.raises(InputError, match="MajorText"):
        list(READER.parts(InputFile(path, "file")))


def test_file_mixing_schemes_is_refused(data_dir, tmp_path):
    header, rows = raw_rows(src(data_dir, RECENT))
    rows = rows[:10]
    rows[6][0], rows[6][1] = rows[6][0].upper(), rows[6][1].upper()
    with pytest.raises(InputError) as err:
        list(READER.parts(InputFile(write_rows(tmp_path / "mix.csv", header, rows), "file")))
    assert "mixes" in str(err.value) and "line 8" in str(err.value)


def test_ward_file_rules(data_dir, tmp_path):
    header, rows = raw_rows(src(data_dir, WARD))
    rows = rows[:30]
    rows[4][header.index("WardCode")] = "X05000001"
    rows[6][header.index("LookUp_BoroughName")] = "Gotham"
    part, table = read(write_rows(tmp_path / "w.csv", header, rows))
    assert faults(part) == [(6, "WardCode", "X05000001"), (8, "LookUp_BoroughName", "Gotham")]
    assert len(part.rejects) == 2
    assert all("25 monthly counts are not loaded" in r.reason for r in part.rejects)
    assert part.records_read == 30
    assert table.num_rows == 28 * 25
    # The same rows published with months before May 2022: 2018 ward codes.
    old_header = header[:5] + [f"{2020 + (m // 12)}{m % 12 + 1:02d}" for m in range(25)]
    part, table = read(write_rows(tmp_path / "w2018.csv", old_header, rows))
    assert set(table.column("area_vintage").to_pylist()) == {"2018"}
    assert part.records_read == 30 and len(part.rejects) == 2 and table.num_rows == 28 * 25


def test_encodings(data_dir, tmp_path):
    header, rows = raw_rows(src(data_dir, RECENT))
    rows = rows[:12]
    rows[0][1] = "Arson (incl. café fires)"
    part, table = read(write_rows(tmp_path / "cp.csv", header, rows, encoding="cp1252"))
    assert part.encoding == "cp1252"
    assert part.records_read == 12 and part.rejects == [] and table.num_rows == 12 * 24
    assert table.column("minor_category")[0].as_py() == "Arson (incl. café fires)"
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + src(data_dir, RECENT).read_bytes())
    assert READER.sniff(InputFile(bom, "file")) is not None
    part, table = read(bom)
    assert part.encoding == "utf-8-sig" and part.records_read == source_records(table) == 1574
    assert part.rejects == [] and table.num_rows == 1574 * 24


def test_invalid_bytes_refuse_the_file(data_dir, tmp_path):
    data = src(data_dir, RECENT).read_bytes().split(b"\n")
    data[3] = data[3][:5] + b"\x81" + data[3][5:]  # line 4; 0x81 is neither UTF-8 nor cp1252
    path = tmp_path / "bytes.csv"
    path.write_bytes(b"\n".join(data))
    with pytest.raises(InputError) as err:
        list(READER.parts(InputFile(path, "file")))
    assert err.value.line == 4 and "0x81" in str(err.value)


def test_empty_and_header_only_files(data_dir, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        list(READER.parts(InputFile(empty, "file")))
    assert READER.sniff(InputFile(empty, "file")) is None
    header_only = tmp_path / "header.csv"
    header_only.write_bytes(src(data_dir, RECENT).read_bytes().split(b"\n")[0] + b"\n")
    with pytest.raises(InputError, match="no data rows"):
        list(READER.parts(InputFile(header_only, "file")))
