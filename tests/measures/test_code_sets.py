"""data.police.uk's 2011 and 2021 LSOA codes in the derived force geography's one LSOA list.

A code of one set has no records in the months the publisher used the other set:
that is unknown, not 0. Built from a small synthetic street file spanning the
switch and a cut of the real Census 2021 file (which lists the 2021 codes).
"""

from __future__ import annotations

import io
import math
import zipfile
from pathlib import Path

import pytest

from crimeplan.measures import Engine
from crimeplan.measures.periods import parse_period
from crimeplan.plan import load_plan
from crimeplan.warehouse import Warehouse

HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
          "Last outcome category,Context")
OLD = ("E01006500", "Liverpool 900X")  # a 2011 code that Census 2021 does not list (made up)
MONTHS = ["2022-11", "2022-12", "2023-01", "2023-02"]


def _census_cut(data_dir: Path) -> tuple[str, list[str]]:
    """The real TS021 file's title and header lines and its Liverpool rows."""
    lines = (data_dir / "geography" / "census2021-ts021-lsoa.csv").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("2021 super output area"))
    rows = [line for line in lines if " : Liverpool " in line]
    tail = [line for line in lines[start + 1:] if not line.startswith(("E0", "W0"))][-3:]
    return "\r\n".join(lines[: start + 2] + rows + tail) + "\r\n", rows


@pytest.mark.filterwarnings("ignore::crimeplan.plan.check.PlanCheckWarning")  # one crime type only
def test_each_code_set_reads_unknown_in_the_months_of_the_other(data_dir, tmp_path):
    census, rows = _census_cut(data_dir)
    codes = [(r.split(" : ")[0], r.split(" : ")[1].split(",")[0]) for r in rows]
    unchanged, new = codes[0], codes[1]  # both 2021 codes: one in records throughout, one only from 2023
    (tmp_path / "census2021-ts021-lsoa.csv").write_text(census, encoding="utf-8")
    # Every other Liverpool LSOA has records throughout, so the local authority is Merseyside's.
    lines = [HEADER]
    for month in MONTHS:
        switched = month >= "2023-01"
        located = [unchanged, new if switched else OLD, *codes[2:]]
        for code, name in located:
            lines.append(f"x{month}{code},{month},Merseyside Police,Merseyside Police,-2.9,53.4,On or near Here,"
                         f"{code},{name},Burglary,Under investigation,")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for month in MONTHS:
            z.writestr(f"{month}/{month}-merseyside-street.csv",
                       "\n".join([HEADER, *[l for l in lines[1:] if f",{month}," in l]]) + "\n")
    (tmp_path / "merseyside-street-2022-11_2023-02.zip").write_bytes(buffer.getvalue())
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as wh:
        report = wh.load([tmp_path / "census2021-ts021-lsoa.csv", tmp_path / "merseyside-street-2022-11_2023-02.zip"])
    assert not [f.message for f in report.files if f.status == "refused"]

    engine = Engine.open(db, load_plan("merseyside"))
    burglary = engine.plan.measure("burglary")

    def count(month: str) -> dict[str, float]:
        figures = engine.evaluate(burglary, "lsoa", parse_period(month), parse_period(month))[0]
        return dict(zip(figures.areas, figures.current))

    before, after = count("2022-12"), count("2023-01")
    assert before[unchanged[0]] == after[unchanged[0]] == 1
    assert before[OLD[0]] == 1 and math.isnan(after[OLD[0]])  # retired: unknown once 2021 codes are in use
    assert math.isnan(before[new[0]]) and after[new[0]] == 1  # new: unknown while 2011 codes were in use
