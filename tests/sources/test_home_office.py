"""Home Office recorded crime by police force area (rolling 12 months): the real file and broken copies."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from crimeplan.errors import InputError
from crimeplan.sources import sniff
from crimeplan.sources.home_office import PfaRecordedCrimeReader, parse_dmy
from crimeplan.sources.inputs import InputFile

NAME = "rec-crime-pfa.csv"
READER = PfaRecordedCrimeReader()
HEADER = "12 months ending,PFA,Region,Offence,Rolling year total number of offences\r\n"


def read(path: Path):
    parts = list(READER.parts(InputFile(path, "file")))
    assert len(parts) == 1
    part = parts[0]
    table = pa.Table.from_batches(list(part.batches), schema=part.schema)
    assert part.records_read == table.num_rows + len(part.rejects)
    return part, table


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pfa.csv"
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_parse_dmy():
    assert parse_dmy("31-03-2003") == date(2003, 3, 31) and parse_dmy("30/06/2007") == date(2007, 6, 30)
    assert parse_dmy("31-06-2007") is None and parse_dmy("2007-06-30") is None


def test_the_real_file(data_dir):
    part, table = read(data_dir / "home-office" / NAME)
    assert part.dataset == "home_office_pfa_crime" and part.kind == "force_recorded_crime"
    assert part.records_read == 46_469 and part.rejects == [] and table.num_rows == 46_469
    rows = table.to_pylist()
    assert rows[0] == {"force": "Avon and Somerset", "region": "South West", "offence": "All other theft offences",
                       "period_end": date(2003, 3, 31), "rolling_12m_offences": 25959, "line": 2}
    by_line = {r["line"]: r for r in rows}
    # typed in from the file
    assert by_line[46077] == {"force": "Metropolitan Police", "region": "London", "offence": "Homicide",
                              "period_end": date(2018, 12, 31), "rolling_12m_offences": 140, "line": 46077}
    # line 42376 reads '30-12-2017,Metropolitan Police,London,Robbery,31290': the quarter ending 31 December
    assert by_line[42376]["period_end"] == date(2017, 12, 31) and by_line[42376]["rolling_12m_offences"] == 31290
    # line 4485: '30-06-2007,Cheshire,North West,Death or serious injury caused by illegal driving,-1'
    assert by_line[4485]["rolling_12m_offences"] == -1
    periods = Counter(r["period_end"] for r in rows)
    assert len(periods) == 52 and periods[date(2017, 12, 31)] == 927
    assert {(p.month, p.day) for p in periods} == {(3, 31), (6, 30), (9, 30), (12, 31)}
    assert len({r["force"] for r in rows}) == 47
    assert any("'30-12-2017'" in n and "2017-12-31" in n and "927 rows" in n and "line 41836" in n
               for n in part.notes)
    assert any("25 negative rolling totals" in n and "line 4485" in n for n in part.notes)


def test_recognised_by_content(data_dir, tmp_path):
    renamed = tmp_path / "download.csv"
    renamed.write_bytes((data_dir / "home-office" / NAME).read_bytes())
    assert sniff(InputFile(renamed, "file")).datasets == ("home_office_pfa_crime",)
    for folder in ("london-datastore", "geography", "harm"):
        for other in (data_dir / folder).iterdir():
            if other.suffix == ".csv":
                assert READER.sniff(InputFile(other, "file")) is None, other.name


def test_bad_rows_and_the_typo_date(tmp_path):
    text = HEADER + (
        "30-09-2017,Kent,South East,Robbery,1000\r\n"
        "30-12-2017,Kent,South East,Robbery,1100\r\n"  # 3: typo date, read as 31-12-2017
        "31-12-2017,Kent,South East,Robbery,1101\r\n"  # 4: duplicate of line 3 once corrected
        "15-12-2017,Kent,South East,Homicide,10\r\n"  # 5: mid-month: rejected
        "31-01-2018,Kent,South East,Homicide,10\r\n"  # 6: not a quarter's month
        "31-03-2018,,South East,Homicide,10\r\n"  # 7: no PFA
        "31-03-2018,Kent,South East,Homicide,ten\r\n"  # 8: not a number
        "31-03-2018,Kent,South East,Homicide,10.5\r\n"  # 9: fractional
        "31-03-2018,Kent,South East,Homicide\r\n"  # 10: cut short
        "31-03-2018,Kent,South East,,10\r\n"  # 11: no offence
        "31-03-2018,Kent,South East,Homicide,-2\r\n"  # 12: negative: kept
    )
    part, table = read(write(tmp_path, text))
    assert part.records_read == 11 and table.num_rows == 3
    assert [(r.line, r.field) for r in part.rejects] == [
        (4, "Offence"), (5, "12 months ending"), (6, "12 months ending"), (7, "PFA"),
        (8, "Rolling year total number of offences"), (9, "Rolling year total number of offences"), (10, None),
        (11, "Offence")]
    assert "line 3" in part.rejects[0].reason
    assert [(r["period_end"], r["rolling_12m_offences"]) for r in table.to_pylist()] == [
        (date(2017, 9, 30), 1000), (date(2017, 12, 31), 1100), (date(2018, 3, 31), -2)]
    assert any("'30-12-2017'" in n and "1 row," in n and "line 3" in n for n in part.notes)
    assert any("1 negative rolling total kept" in n for n in part.notes)


def test_whole_file_problems(tmp_path):
    with pytest.raises(InputError, match="empty"):
        read(write(tmp_path, ""))
    with pytest.raises(InputError, match="missing column 'Region'"):
        read(write(tmp_path, HEADER.replace("Region,", "") + "31-03-2003,Kent,Robbery,1\r\n"))
    with pytest.raises(InputError, match="no data rows"):
        read(write(tmp_path, HEADER))


def test_a_truncated_copy(data_dir, tmp_path):
    data = (data_dir / "home-office" / NAME).read_bytes()
    part, table = read(write(tmp_path, data[:100_003].decode("utf-8")))
    assert any("cut short" in n for n in part.notes)
    assert len(part.rejects) == 1 and part.rejects[0].line == part.records_read + 1
