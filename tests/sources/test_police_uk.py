"""data.police.uk reader: the real archives, and broken copies cut from them at test time."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pyarrow as pa
import pytest

from crimeplan.errors import InputError
from crimeplan.sources.inputs import InputFile, discover
from crimeplan.sources.police_uk import PoliceUkReader

READER = PoliceUkReader()


def read_all(inp: InputFile):
    """(records read, table of loaded rows, rejects) over every part of an input."""
    tables, rejects, read = [], [], 0
    for part in READER.parts(inp):
        batches = list(part.batches)
        tables.append(pa.Table.from_batches(batches, schema=part.schema))
        rejects += part.rejects
        read += part.records_read
    table = pa.concat_tables(tables) if tables else None
    return read, table, rejects


def member_bytes(zip_path: Path, name: str) -> bytes:
    with zipfile.ZipFile(zip_path) as z:
        return z.read(name)


@pytest.fixture(scope="module")
def police_uk(data_dir: Path) -> Path:
    return data_dir / "police-uk"


@pytest.fixture(scope="module")
def col_street_csv(police_uk: Path) -> bytes:
    """One real monthly City of London street file."""
    return member_bytes(police_uk / "city-of-london-and-merseyside-street-2018-01_2021-09.zip",
                        "2019-01/2019-01-city-of-london-street.csv")


def write(tmp_path: Path, name: str, data: bytes) -> InputFile:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return InputFile(path, "file")


# --- the real files -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "name, counts",
    [
        ("city-of-london-and-merseyside-street-2018-01_2021-09.zip", {"police_uk_street": 655_883}),
        ("city-of-london-stop-and-search-2017-12_2020-11.zip", {"police_uk_stop_search": 6_855}),
        ("metropolitan-burglary-extract-2018-01_2025-02.zip", {"police_uk_street": 444_893, "police_uk_outcomes": 115_449}),
    ],
)
def test_real_archives_every_record_read(police_uk: Path, name: str, counts: dict[str, int]) -> None:
    inp = InputFile(police_uk / name, "zip")
    found = READER.sniff(inp)
    assert found is not None and set(found.datasets) == set(counts)
    read: dict[str, int] = {}
    for part in READER.parts(inp):
        loaded = sum(b.num_rows for b in part.batches)
        assert part.records_read == loaded + len(part.rejects)
        read[part.dataset] = read.get(part.dataset, 0) + part.records_read
    assert read == counts


def test_real_street_values(police_uk: Path, col_street_csv: bytes, tmp_path: Path) -> None:
    read, table, rejects = read_all(write(tmp_path, "2019-01-city-of-london-street.csv", col_street_csv))
    assert read == table.num_rows and not rejects
    rows = table.to_pylist()
    assert {r["reported_by"] for r in rows} == {"City of London Police"}
    assert {str(r["month"]) for r in rows} == {"2019-01-01"}
    located = [r for r in rows if r["latitude"] is not None]
    # City of London Police records a few crimes elsewhere in London, never outside it
    assert all(51.2 < r["latitude"] < 51.8 and -0.6 < r["longitude"] < 0.4 for r in located)
    # Anti-social behaviour has no Crime ID; crimes do.
    assert all((r["crime_id"] is None) == (r["crime_type"] == "Anti-social behaviour") for r in rows)
    assert rows[0]["line"] == 2 and rows[-1]["line"] == read + 1


def test_stop_search_timestamps_and_force(police_uk: Path) -> None:
    read, table, rejects = read_all(InputFile(police_uk / "city-of-london-stop-and-search-2017-12_2020-11.zip", "zip"))
    assert read == 6_855 and not rejects
    assert set(table.column("force").to_pylist()) == {"city-of-london"}
    first = table.slice(0, 1).to_pylist()[0]
    assert first["occurred_at"].year in (2017, 2018) and str(first["month"]) == "2017-12-01"


def test_folder_of_month_folders_reads_like_the_zip(police_uk: Path, tmp_path: Path) -> None:
    source = police_uk / "city-of-london-stop-and-search-2017-12_2020-11.zip"
    with zipfile.ZipFile(source) as z:
        names = [n for n in z.namelist() if n.startswith(("2018-01/", "2018-02/"))]
        for n in names:
            (tmp_path / "download" / n).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / "download" / n).write_bytes(z.read(n))
    inputs, _ = discover([tmp_path / "download"])
    assert [i.kind for i in inputs] == ["folder"]
    read, table, rejects = read_all(inputs[0])
    expected = sum(member_bytes(source, n).count(b"\n") - 1 for n in names)
    assert read == table.num_rows == expected


# --- broken copies ------------------------------------------------------------------------------

def test_truncated_csv_quarantines_the_cut_record(col_street_csv: bytes, tmp_path: Path) -> None:
    cut = col_street_csv[: len(col_street_csv) // 2]
    cut = cut[: cut.rfind(b",")]  # end in the middle of a record
    read, table, rejects = read_all(write(tmp_path, "2019-01-city-of-london-street.csv", cut))
    assert read == table.num_rows + len(rejects)
    assert len(rejects) == 1
    assert "fields, expected 12" in rejects[0].reason
    assert rejects[0].line == cut.count(b"\n") + 1


def test_truncated_zip_is_refused(police_uk: Path, tmp_path: Path) -> None:
    data = (police_uk / "city-of-london-stop-and-search-2017-12_2020-11.zip").read_bytes()
    path = tmp_path / "cut.zip"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="zip"):
        read_all(InputFile(path, "zip"))


def test_corrupt_member_is_refused(police_uk: Path, tmp_path: Path) -> None:
    data = bytearray((police_uk / "city-of-london-stop-and-search-2017-12_2020-11.zip").read_bytes())
    data[2000:2100] = b"\x00" * 100  # inside the first member's compressed bytes
    path = tmp_path / "corrupt.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as info:
        read_all(InputFile(path, "zip"))
    assert "2017-12-city-of-london-stop-and-search.csv" in str(info.value)


def test_missing_column_is_refused_naming_it(col_street_csv: bytes, tmp_path: Path) -> None:
    text = col_street_csv.decode()
    broken = text.replace("LSOA code", "LSOA", 1).encode()
    with pytest.raises(InputError) as info:
        read_all(write(tmp_path, "2019-01-city-of-london-street.csv", broken))
    message = str(info.value)
    assert "'LSOA code'" in message and "line 1" in message


def test_wrong_header_is_not_recognised(tmp_path: Path) -> None:
    inp = write(tmp_path, "2019-01-x-street.csv", b"Name,Value\na,1\n")
    assert READER.sniff(inp) is None


def test_bad_rows_are_rejected_with_line_and_reason(col_street_csv: bytes, tmp_path: Path) -> None:
    lines = col_street_csv.decode().splitlines()
    header, rows = lines[0], lines[1:]
    good = rows[10].split(",")
    assert good[5], "fixture row needs coordinates"

    def variant(**changes) -> str:
        fields = list(good)
        for index, value in changes.items():
            fields[int(index[1:])] = value
        return ",".join(fields)

    bad = [
        variant(i1="2019-13"),  # Month
        variant(i5="71.5"),  # Latitude outside the UK
        variant(i4="abc"),  # Longitude not a number
        variant(i7="E0100000X"),  # LSOA code malformed
        variant(i9="Jaywalking"),  # unknown crime type
        variant(i4="", i5="51.5"),  # half a coordinate
        variant(i4="999"),  # Longitude outside the UK (the latitude is fine)
    ]
    text = "\n".join([header, *rows[:20], *bad, *rows[20:40]]) + "\n"
    read, table, rejects = read_all(write(tmp_path, "2019-01-city-of-london-street.csv", text.encode()))
    assert read == 47 and table.num_rows == 40 and len(rejects) == 7
    by_line = {r.line: r for r in rejects}
    assert sorted(by_line) == list(range(22, 29))
    assert by_line[22].field == "Month" and "YYYY-MM" in by_line[22].reason
    assert by_line[23].field == "Latitude" and "outside the UK" in by_line[23].reason
    assert by_line[24].field == "Longitude" and "not a number" in by_line[24].reason
    assert by_line[25].field == "LSOA code" and by_line[25].value == "E0100000X"
    assert by_line[26].field == "Crime type" and by_line[26].value == "Jaywalking"
    assert "only one of Latitude and Longitude" in by_line[27].reason
    assert by_line[28].field == "Longitude" and by_line[28].value == "999" and "longitude 999" in by_line[28].reason
    # the good rows keep their own line numbers
    assert table.column("line").to_pylist() == [*range(2, 22), *range(29, 49)]


def test_stray_quote_shifting_columns_is_rejected(col_street_csv: bytes, tmp_path: Path) -> None:
    lines = col_street_csv.decode().splitlines()
    fields = lines[5].split(",")
    fields[6] = 'On or near "The Street", Quorn'  # an unescaped quote and comma: 13 fields
    text = "\n".join([lines[0], *lines[1:5], ",".join(fields), *lines[6:12]]) + "\n"
    read, table, rejects = read_all(write(tmp_path, "2019-01-city-of-london-street.csv", text.encode()))
    assert read == 11 and table.num_rows + len(rejects) == 11
    assert len(rejects) == 1 and rejects[0].line == 6


def test_line_breaks_inside_fields_keep_line_numbers(col_street_csv: bytes, tmp_path: Path) -> None:
    lines = col_street_csv.decode().splitlines()
    fields = lines[3].split(",")
    fields[6] = '"On or near\nTwo Lines"'
    text = "\n".join([lines[0], lines[1], lines[2], ",".join(fields), lines[4], lines[5]]) + "\n"
    read, table, rejects = read_all(write(tmp_path, "2019-01-city-of-london-street.csv", text.encode()))
    assert read == 5 and not rejects
    assert table.column("line").to_pylist() == [2, 3, 4, 6, 7]
    assert table.column("location").to_pylist()[2] == "On or near\nTwo Lines"


def test_short_records_are_named_by_their_physical_line_in_a_big_file(police_uk: Path, tmp_path: Path) -> None:
    """A file of several parsing blocks with a record split over two lines, then short records at lines 703,
    20,001 and 30,001, the last two the same text (data.police.uk repeats rows): each named by its own line."""
    real = member_bytes(police_uk / "city-of-london-and-merseyside-street-2018-01_2021-09.zip",
                        "2019-01/2019-01-merseyside-street.csv").decode("utf-8-sig").splitlines()
    rows = (real[1:] * 4)[:40_000]  # some 8 MB: several of the reader's 4 MB blocks
    rows[98] = rows[98].replace(",On or near ", ",On or near\n", 1)  # lines 100 and 101: one record cut in two
    short = ",".join(rows[700].split(",")[:5])
    rows[700] = short  # physical line 703 (header 1, rows from 2, plus the split record's extra line)
    rows[19_998] = rows[29_998] = "abc,2019-01,Merseyside Police"  # physical lines 20,001 and 30,001
    text = "\n".join([real[0], *rows]) + "\n"
    assert text.count("\n") == 40_002  # header + 40,000 rows + the one extra line
    read, table, rejects = read_all(write(tmp_path, "2019-01-merseyside-street.csv", text.encode()))
    assert read == table.num_rows + len(rejects)
    short_lines = sorted(r.line for r in rejects if "fields, expected 12" in r.reason)
    assert short_lines == [100, 101, 703, 20_001, 30_001]


def test_cp1252_file_loads_and_says_so(col_street_csv: bytes, tmp_path: Path) -> None:
    text = col_street_csv.decode().replace("On or near", "On or near Café", 3)
    inp = write(tmp_path, "2019-01-city-of-london-street.csv", text.encode("cp1252"))
    parts = list(READER.parts(inp))
    rows = pa.Table.from_batches(list(parts[0].batches), schema=parts[0].schema)
    assert parts[0].encoding == "cp1252"
    assert any("Café" in (loc or "") for loc in rows.column("location").to_pylist())


def test_utf8_bom_is_accepted(col_street_csv: bytes, tmp_path: Path) -> None:
    read, table, rejects = read_all(write(tmp_path, "2019-01-city-of-london-street.csv", b"\xef\xbb\xbf" + col_street_csv))
    assert read == table.num_rows and not rejects


def test_undecodable_bytes_are_refused(col_street_csv: bytes, tmp_path: Path) -> None:
    data = col_street_csv[:500] + b"\x81\x8d" + col_street_csv[500:]  # undefined in cp1252 too
    with pytest.raises(InputError) as info:
        read_all(write(tmp_path, "2019-01-city-of-london-street.csv", data))
    assert "line" in str(info.value) and "UTF-8" in str(info.value)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    inp = write(tmp_path, "2019-01-city-of-london-street.csv", b"")
    with pytest.raises(InputError, match="empty"):
        list(READER.parts(inp))[0].batches.__next__()


def test_header_only_file_has_no_records(col_street_csv: bytes, tmp_path: Path) -> None:
    header = col_street_csv.split(b"\n", 1)[0] + b"\n"
    read, table, rejects = read_all(write(tmp_path, "2019-01-city-of-london-street.csv", header))
    assert read == 0 and (table is None or table.num_rows == 0) and not rejects


def test_archive_with_foreign_files_is_refused(police_uk: Path, tmp_path: Path) -> None:
    path = tmp_path / "mixed.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("2019-01/2019-01-city-of-london-street.csv", "Crime ID,Month\n")
        z.writestr("notes/readme.txt", "hello")
    with pytest.raises(InputError, match="readme.txt"):
        list(READER.parts(InputFile(path, "zip")))
