"""MOPAC PAS public perception, London-wide quarterly: the real file and broken copies."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from crimeplan.errors import InputError
from crimeplan.sources import sniff
from crimeplan.sources.inputs import InputFile
from crimeplan.sources.pas_quarterly import PasQuarterlyReader, parse_percent

NAME = "MOPAC PAS public perception MPS quarterly 2014-12_2025-09.csv"
READER = PasQuarterlyReader()
GOOD_JOB = "Police do a good job in the local area"
CONTACT = "Knows how to contact their local ward officer"


def read(path: Path):
    parts = list(READER.parts(InputFile(path, "file")))
    assert len(parts) == 1
    part = parts[0]
    table = pa.Table.from_batches(list(part.batches), schema=part.schema)
    assert part.records_read == table.num_rows + len(part.rejects)
    return part, table


def write(tmp_path: Path, text: str, name: str = "pas.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_real_file(data_dir):
    part, table = read(data_dir / "london-datastore" / NAME)
    assert part.dataset == "mopac_pas_quarterly"
    assert part.records_read == 280 and part.rejects == [] and table.num_rows == 280
    rows = table.to_pylist()
    assert rows[0] == {
        "survey": "PAS", "area_level": "london", "area_code": "E12000007", "area_name": "London",
        "measure": "Agree the police are dealing with the things that matter to this community",
        "period_end": date(2014, 12, 31), "proportion": 0.72, "london_proportion": None, "sample_size": None,
        "period_start": None, "respondent_group": None, "answer": None, "area_alt_code": None, "value": None,
        "unit": None, "line": 2,
    }
    by_key = {(r["measure"], r["period_end"]): r for r in rows}
    # typed in from the file: line 277 'Sep-25,Police do a good job in the local area,46',
    # line 205 'Mar-22,Knows how to contact their local ward officer,27', line 148 'Dec-19,…good job…,58'
    assert by_key[(GOOD_JOB, date(2025, 9, 30))]["proportion"] == 0.46
    assert by_key[(GOOD_JOB, date(2025, 9, 30))]["line"] == 277
    assert by_key[(CONTACT, date(2022, 3, 31))]["proportion"] == 0.27
    assert by_key[(GOOD_JOB, date(2019, 12, 31))]["proportion"] == 0.58
    per_measure = Counter(r["measure"] for r in rows)
    assert len(per_measure) == 7 and per_measure[GOOD_JOB] == 44 and per_measure[CONTACT] == 30
    assert max(r["period_end"] for r in rows if r["measure"] == CONTACT) == date(2022, 3, 31)
    periods = {r["period_end"] for r in rows}
    assert len(periods) == 44 and {(p.month, p.day) for p in periods} == {(3, 31), (6, 30), (9, 30), (12, 31)}


def test_agrees_with_the_dashboard_mps_sheet_where_they_overlap(data_dir):
    from crimeplan.sources.pas import PasDashboardReader

    _, quarterly = read(data_dir / "london-datastore" / NAME)
    sheet = data_dir / "london-datastore" / "MOPAC PAS trust and confidence dashboard MPS sheet 2014-12_2023-12.csv"
    part = next(PasDashboardReader().parts(InputFile(sheet, "file")))
    dashboard = {r["period_end"]: r["proportion"] for b in part.batches for r in b.to_pylist()
                 if r["measure"] == '"Good Job" local'}
    ours = {r["period_end"]: r["proportion"] for r in quarterly.to_pylist() if r["measure"] == GOOD_JOB}
    overlap = sorted(set(dashboard) & set(ours))
    assert len(overlap) == 37
    assert all(round(dashboard[d] * 100) == round(ours[d] * 100) for d in overlap)


def test_recognised_by_content_and_not_by_other_readers(data_dir, tmp_path):
    renamed = tmp_path / "public-perception-data.csv"
    renamed.write_bytes((data_dir / "london-datastore" / NAME).read_bytes())
    assert sniff(InputFile(renamed, "file")).datasets == ("mopac_pas_quarterly",)
    for other in (data_dir / "london-datastore").iterdir():
        if other.name != NAME and other.suffix == ".csv":
            assert READER.sniff(InputFile(other, "file")) is None, other.name


def test_parse_percent():
    assert parse_percent("67") == 0.67 and parse_percent("0") == 0.0 and parse_percent("100") == 1.0
    assert parse_percent("101") is None and parse_percent("-1") is None and parse_percent("") is None
    assert parse_percent("0,67") is None


def test_bad_rows_are_rejected_with_line_and_field(tmp_path):
    text = ("date,measure,proportion\n"
            "Dec-14,Police do a good job in the local area,67\n"
            "Dec-14,Police do a good job in the local area,66\n"  # 3: duplicate
            "Jan-15,Police do a good job in the local area,66\n"  # 4: not a quarter end
            "Dex-15,Police do a good job in the local area,66\n"  # 5: not a month
            "Mar-15,,66\n"  # 6: no measure
            "Mar-15,Police do a good job in the local area,\n"  # 7: empty proportion
            "Jun-15,Police do a good job in the local area,167\n"  # 8: over 100
            "Sep-15,Police do a good job in the local area\n"  # 9: a field short
            "Sep-15,Police do a good job in the local area,68\n")
    part, table = read(write(tmp_path, text))
    assert part.records_read == 9 and table.num_rows == 2
    assert [(r.line, r.field) for r in part.rejects] == [
        (3, "measure"), (4, "date"), (5, "date"), (6, "measure"), (7, "proportion"), (8, "proportion"), (9, None)]
    assert "line 2" in part.rejects[0].reason and "quarter end" in part.rejects[1].reason
    assert table.column("period_end").to_pylist() == [date(2014, 12, 31), date(2015, 9, 30)]


def test_whole_file_problems(tmp_path):
    with pytest.raises(InputError, match="empty"):
        read(write(tmp_path, ""))
    with pytest.raises(InputError, match="missing column 'proportion'"):
        read(write(tmp_path, "date,measure,value\nDec-14,x,1\n"))
    with pytest.raises(InputError, match="no data rows"):
        read(write(tmp_path, "date,measure,proportion\n"))


def test_a_truncated_copy_rejects_only_its_cut_row(data_dir, tmp_path):
    data = (data_dir / "london-datastore" / NAME).read_bytes()
    cut = data[: data.index(b"\n", 5000) + 12]  # 11 bytes into a row
    part, table = read(write(tmp_path, cut.decode("utf-8")))
    assert len(part.rejects) == 1 and part.rejects[0].line == part.records_read + 1  # the header is line 1
    assert any("cut short" in n for n in part.notes)
