"""UTF-16 and UTF-32 files (Excel's 'Unicode text') are read by their byte-order mark, or refused in words."""

from __future__ import annotations

import pytest

from crimeplan.errors import InputError
from crimeplan.warehouse import Warehouse

NAME = "london_borough_population_census2021.csv"


@pytest.mark.parametrize("encoding, bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
                                           ("utf-32-le", b"\xff\xfe\x00\x00")])
def test_a_wide_copy_loads_as_the_utf8_file_does(data_dir, tmp_path, encoding, bom) -> None:
    original = (data_dir / "geography" / NAME).read_bytes().decode("utf-8-sig")
    (tmp_path / "utf8").mkdir()
    (tmp_path / "wide").mkdir()
    (tmp_path / "utf8" / NAME).write_text(original, encoding="utf-8")
    (tmp_path / "wide" / NAME).write_bytes(bom + original.encode(encoding))
    counts = []
    for folder in ("utf8", "wide"):
        with Warehouse.open(tmp_path / f"{folder}.duckdb") as wh:
            report = wh.load([tmp_path / folder / NAME])
            [f] = report.files
            assert f.status == "loaded", f.message
            counts.append((f.read, f.loaded, f.rejected))
            rows = wh.con.execute("SELECT count(*), sum(persons) FROM population_current").fetchone()
            counts.append(rows)
    assert counts[0] == counts[2] and counts[1] == counts[3] and counts[0][2] == 0


def test_wide_text_without_a_mark_is_refused(data_dir, tmp_path) -> None:
    original = (data_dir / "geography" / NAME).read_bytes().decode("utf-8-sig")
    (tmp_path / NAME).write_bytes(original.encode("utf-16-le"))
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        report = wh.load([tmp_path / NAME])
    [f] = report.files
    assert f.status == "refused" and "byte-order mark" in f.message and str(tmp_path / NAME) in f.message, f.message
