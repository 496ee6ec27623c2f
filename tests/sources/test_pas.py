"""MOPAC PAS trust and confidence dashboard: both export forms, Borough and MPS sheets."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from crimeplan.errors import InputError
from crimeplan.sources.inputs import InputFile
from crimeplan.sources.pas import PasDashboardReader, parse_day, parse_proportion

SEMI = "MOPAC PAS trust and confidence dashboard Borough sheet 2014-12_2023-12.csv"
COMMA = "MOPAC PAS trust and confidence dashboard Borough sheet (second export, comma separated).csv"
MPS = "MOPAC PAS trust and confidence dashboard MPS sheet 2014-12_2023-12.csv"

READER = PasDashboardReader()
MEASURES = {'"Good Job" local', "Trust MPS", "Treat everyone fairly", "Listen to concerns", "Relied on to be there",
            "Understand issues", "Informed local", "Contact ward officer"}


def read(path: Path):
    parts = list(READER.parts(InputFile(path, "file")))
    assert len(parts) == 1
    part = parts[0]
    table = pa.Table.from_batches(list(part.batches), schema=part.schema)
    assert part.records_read == table.num_rows + len(part.rejects)
    return part, table


def src(data_dir: Path, name: str) -> Path:
    return data_dir / "london-datastore" / name


def values(table: pa.Table) -> list[tuple]:
    """The loaded values without line numbers, in a canonical order."""
    cols = [c for c in table.column_names if c != "line"]
    return sorted(tuple(r[c] for c in cols) for r in table.to_pylist())


@pytest.mark.parametrize("name", [SEMI, COMMA])
def test_borough_sheet(data_dir, name):
    part, table = read(src(data_dir, name))
    assert part.dataset == "mopac_pas_borough"
    assert part.records_read == 9312 and part.rejects == [] and table.num_rows == 9312
    rows = table.to_pylist()
    assert rows[0] == {
        "survey": "PAS", "area_level": "borough", "area_code": "E09000002", "area_name": "Barking and Dagenham",
        "measure": '"Good Job" local', "period_end": date(2014, 12, 31), "proportion": 0.56,
        "london_proportion": 0.67, "sample_size": None, "period_start": None, "respondent_group": None,
        "answer": None, "area_alt_code": None, "value": None, "unit": None, "line": 2,
    }
    assert {r["measure"] for r in rows} == MEASURES
    assert {r["area_level"] for r in rows} == {"borough"}
    codes = Counter(r["area_code"] for r in rows)
    assert len(codes) == 32 and "E09000001" not in codes and set(codes.values()) == {291}
    assert codes["E09000027"] == 291  # 'Richmond upon Thames' 267 + 'Richmond Upon Thames' 24
    assert {r["area_name"] for r in rows if r["area_code"] == "E09000033"} == {"City of Westminster"}
    periods = sorted({r["period_end"] for r in rows})
    assert len(periods) == 37 and periods[0] == date(2014, 12, 31) and periods[-1] == date(2023, 12, 31)
    assert {(p.month, p.day) for p in periods} == {(3, 31), (6, 30), (9, 30), (12, 31)}
    assert all(0 <= r["proportion"] <= 1 for r in rows)
    assert {r["sample_size"] for r in rows} == {None}
    assert any("Richmond" in n for n in part.notes)


def test_both_exports_load_identical_values(data_dir):
    _, semi = read(src(data_dir, SEMI))
    _, comma = read(src(data_dir, COMMA))
    assert values(semi) == values(comma)
    # and row for row, in the published order
    assert semi.drop(["line"]).equals(comma.drop(["line"]))


def test_stray_cells_in_the_comma_export_are_noted(data_dir):
    part, _ = read(src(data_dir, COMMA))
    assert any("line 8034" in n and "'Trust'" in n for n in part.notes)


def test_mps_sheet(data_dir):
    part, table = read(src(data_dir, MPS))
    assert part.dataset == "mopac_pas_london"
    assert part.records_read == 291 and table.num_rows == 291 and part.rejects == []
    rows = table.to_pylist()
    assert {(r["area_level"], r["area_code"], r["area_name"]) for r in rows} == {("london", "E12000007", "MPS")}
    trust = sorted(r["period_end"] for r in rows if r["measure"] == "Trust MPS")
    assert trust[0] == date(2016, 3, 31) and len(trust) == 32
    assert {r["london_proportion"] for r in rows} == {None}


def test_borough_sheet_london_column_matches_the_mps_sheet(data_dir):
    _, boroughs = read(src(data_dir, SEMI))
    _, mps = read(src(data_dir, MPS))
    london = {(r["measure"], r["period_end"]): r["proportion"] for r in mps.to_pylist()}
    for r in boroughs.to_pylist():
        assert r["london_proportion"] == london[(r["measure"], r["period_end"])]


def test_sniff(data_dir, tmp_path):
    assert READER.sniff(InputFile(src(data_dir, SEMI), "file")).datasets == ("mopac_pas_borough",)
    assert READER.sniff(InputFile(src(data_dir, COMMA), "file")).datasets == ("mopac_pas_borough",)
    assert READER.sniff(InputFile(src(data_dir, MPS), "file")).datasets == ("mopac_pas_london",)
    renamed = tmp_path / "PAS_Total.csv"
    renamed.write_bytes(src(data_dir, MPS).read_bytes())
    assert READER.sniff(InputFile(renamed, "file")).datasets == ("mopac_pas_london",)
    for other in (data_dir / "london-datastore").iterdir():
        if other.name not in (SEMI, COMMA, MPS):
            assert READER.sniff(InputFile(other, "file")) is None, other.name


def test_registry_picks_this_reader(data_dir):
    for module in ("police_uk", "geography", "harm", "mps_recorded_crime", "homicide", "gla_workbook"):
        pytest.importorskip(f"crimeplan.sources.{module}")
    from crimeplan import sources

    for name in (SEMI, COMMA, MPS):
        assert isinstance(sources.sniff(InputFile(src(data_dir, name), "file")).reader, PasDashboardReader)


def test_parsers():
    assert parse_day("31/3/2016") == parse_day("31/03/2016") == date(2016, 3, 31)
    assert parse_day("31/02/2016") is None and parse_day("2016-03-31") == date(2016, 3, 31)
    assert parse_proportion("0,56") == parse_proportion("0.56") == 0.56
    assert parse_proportion("1,5") is None and parse_proportion("56%") is None and parse_proportion("") is None


def _lines(data_dir: Path, name: str, n: int) -> list[str]:
    return src(data_dir, name).read_text(encoding="utf-8").splitlines()[:n]


def test_bad_rows_are_rejected(data_dir, tmp_path):
    lines = _lines(data_dir, SEMI, 20)
    lines[2] = lines[2].replace("0,67;0,67", "1,67;0,67")  # line 3: Barnet, proportion > 1
    lines[3] = lines[3].replace("Bexley", "Gotham")  # line 4
    lines[4] = "31/02/2014" + lines[4][10:]  # line 5
    lines[5] = lines[5].rsplit(";", 1)[0] + ";x"  # line 6: MPS column
    lines[6] = lines[1]  # line 7: duplicate of line 2
    lines[7] = lines[7].replace("Croydon", "MPS")  # line 8: London row in a borough file
    path = tmp_path / "bad.csv"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    part, table = read(path)
    got = [(r.line, r.field, r.value) for r in part.rejects]
    assert got == [(3, "Proportion", "1,67"), (4, "Borough", "Gotham"), (5, "Date", "31/02/2014"),
                   (6, "MPS", "x"), (7, "Measure", '"Good Job" local'), (8, "Borough", "MPS")]
    assert "between 0 and 1" in part.rejects[0].reason and "duplicate of line 2" in part.rejects[4].reason
    assert table.num_rows == 13


def test_truncated_and_short_rows(data_dir, tmp_path):
    data = src(data_dir, COMMA).read_bytes()
    lines = data.split(b"\n")
    path = tmp_path / "cut.csv"
    path.write_bytes(b"\n".join(lines[:500]) + b"\n" + lines[500][:25])  # ends inside line 501
    part, table = read(path)
    assert part.records_read == 500 and table.num_rows == 499
    assert [r.line for r in part.rejects] == [501] and "cut short" in part.rejects[0].reason


def test_missing_column_refuses_the_file(data_dir, tmp_path):
    lines = _lines(data_dir, SEMI, 10)
    lines = [";".join(f for i, f in enumerate(line.split(";")) if i != 4) for line in lines]
    path = tmp_path / "noprop.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    assert READER.sniff(InputFile(path, "file")) is None
    with pytest.raises(InputError) as err:
        list(READER.parts(InputFile(path, "file")))
    assert "'Proportion'" in str(err.value) and err.value.line == 1


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        list(READER.parts(InputFile(path, "file")))


def test_cp1252_export(data_dir, tmp_path):
    lines = _lines(data_dir, SEMI, 10)
    lines[1] = lines[1].replace('"""Good Job"" local"', "Policía local")
    path = tmp_path / "cp.csv"
    path.write_bytes("\r\n".join(lines).encode("cp1252"))
    part, table = read(path)
    assert part.encoding == "cp1252"
    assert table.column("measure")[0].as_py() == "Policía local"
    assert pc.sum(table.column("proportion")).as_py() == pytest.approx(sum(
        float(line.split(";")[4].replace(",", ".")) for line in lines[1:]))
