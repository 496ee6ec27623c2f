"""MPS police force strength, monthly: the real file and broken copies."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from crimeplan.errors import InputError
from crimeplan.sources import sniff
from crimeplan.sources.base import month_from_mon_yy
from crimeplan.sources.force_strength import MpsForceStrengthReader
from crimeplan.sources.inputs import InputFile

NAME = "MPS police force strength 2013-05_2026-03.csv"
READER = MpsForceStrengthReader()
HEADER = "Date,Police Officer Strength,Police Staff Strength,PCSO Strength\n"


def read(path: Path):
    parts = list(READER.parts(InputFile(path, "file")))
    assert len(parts) == 1
    part = parts[0]
    table = pa.Table.from_batches(list(part.batches), schema=part.schema)
    assert part.records_read == len(set(table.column("line").to_pylist())) + len(part.rejects)
    return part, table


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "strength.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_month_from_mon_yy():
    assert month_from_mon_yy("May-13") == date(2013, 5, 1)
    assert month_from_mon_yy(" dec-25 ") == date(2025, 12, 1)
    assert month_from_mon_yy("Mai-13") is None and month_from_mon_yy("2013-05") is None
    assert month_from_mon_yy("May-2013") is None


def test_the_real_file(data_dir):
    part, table = read(data_dir / "london-datastore" / NAME)
    assert part.dataset == "mps_force_strength" and part.kind == "london_monthly"
    assert part.records_read == 155 and part.rejects == [] and table.num_rows == 465
    rows = table.to_pylist()
    # line 2: 'May-13,30636,12702,2497'
    assert [(r["series"], r["month"], r["value"], r["line"]) for r in rows[:3]] == [
        ("Police Officer Strength", date(2013, 5, 1), 30636.0, 2),
        ("Police Staff Strength", date(2013, 5, 1), 12702.0, 2),
        ("PCSO Strength", date(2013, 5, 1), 2497.0, 2),
    ]
    assert {r["sheet"] for r in rows} == {"MPS force strength"}
    by_key = {(r["series"], r["month"]): r["value"] for r in rows}
    # line 81: 'Dec-19,30977,9152,1267'; line 156: 'Mar-26,31181,11558,1389'
    assert by_key[("Police Staff Strength", date(2019, 12, 1))] == 9152
    assert by_key[("Police Officer Strength", date(2026, 3, 1))] == 31181
    assert by_key[("PCSO Strength", date(2026, 3, 1))] == 1389
    months = sorted({r["month"] for r in rows})
    assert len(months) == 155 and months[0] == date(2013, 5, 1) and months[-1] == date(2026, 3, 1)


def test_recognised_by_content(data_dir, tmp_path):
    renamed = tmp_path / "Police_Force_Strength.csv"
    renamed.write_bytes((data_dir / "london-datastore" / NAME).read_bytes())
    assert sniff(InputFile(renamed, "file")).datasets == ("mps_force_strength",)
    for other in (data_dir / "london-datastore").iterdir():
        if other.name != NAME and other.suffix == ".csv":
            assert READER.sniff(InputFile(other, "file")) is None, other.name


def test_bad_rows_are_rejected_with_line_and_field(tmp_path):
    text = HEADER + (
        "May-13,30636,12702,2497\n"
        "May-13,30550,12166,2487\n"  # 3: duplicate month
        "13-Jun,30550,12166,2487\n"  # 4: not a month
        "Jul-13,30463,,2467\n"  # 5: empty value
        "Aug-13,30360,12114,-1\n"  # 6: negative
        "Sep-13,30413,12113\n"  # 7: cut short
        "Oct-13,30260.5,12129,2312\n"  # 8: fractions kept
    )
    part, table = read(write(tmp_path, text))
    assert part.records_read == 7 and table.num_rows == 6
    assert [(r.line, r.field) for r in part.rejects] == [
        (3, "Date"), (4, "Date"), (5, "Police Staff Strength"), (6, "PCSO Strength"), (7, None)]
    assert "line 2" in part.rejects[0].reason
    assert table.column("value").to_pylist()[3] == 30260.5


def test_whole_file_problems(tmp_path):
    with pytest.raises(InputError, match="empty"):
        read(write(tmp_path, ""))
    with pytest.raises(InputError, match="missing column 'Date'"):
        read(write(tmp_path, "Month,Police Officer Strength\nMay-13,1\n"))
    with pytest.raises(InputError, match="no '… Strength' column"):
        read(write(tmp_path, "Date,Officers\nMay-13,1\n"))
    with pytest.raises(InputError, match="no data rows"):
        read(write(tmp_path, HEADER))


def test_a_truncated_copy(data_dir, tmp_path):
    data = (data_dir / "london-datastore" / NAME).read_bytes()
    path = write(tmp_path, data[:2000].decode("utf-8"))
    part, table = read(path)
    assert any("cut short" in n for n in part.notes)
    assert part.records_read == table.num_rows // 3 + len(part.rejects)
