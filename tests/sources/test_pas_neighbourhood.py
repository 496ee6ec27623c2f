"""MOPAC PAS by neighbourhood: by ethnic group (pooled years) and PAS 2016; real files and broken copies."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from crimeplan.errors import InputError
from crimeplan.sources import sniff
from crimeplan.sources.inputs import InputFile
from crimeplan.sources.pas_neighbourhood import PasNeighbourhoodReader, neighbourhood_borough

ETHNIC = "2015-16 _to_2020-21_inclusive_neighbourhood_indicators_final_221221.csv"
PAS_2016 = "MOPAC PAS neighbourhood perceptions 2016.csv"
READER = PasNeighbourhoodReader()
FAIR = "The police in your area treat everyone fairly regardless of who they are"
STOP_SEARCH = "How confident are you that the police in your area use their stop and search powers fairly?"
GOOD_JOB_2016 = "Taking everything into account how good a job do you think the police in your area are doing?"
TNO = "Total Notifiable Offences rate"

ETHNIC_HEAD = (
    "\ufeffneighbourhood,Q1,Q2,Q1,Q2\n"
    ",White British,White British,Black,Black\n"
    ",% Agree,% Agree,% Agree,% Agree\n"
)
HEAD_2016 = (
    "\ufeffNeighbourhood,Code,Group,Q1,Q2,Total Notifiable Offences rate\n"
    ",,,% Good,% Agree,\n"
)


def read(path: Path):
    parts = list(READER.parts(InputFile(path, "file")))
    assert len(parts) == 1
    part = parts[0]
    table = pa.Table.from_batches(list(part.batches), schema=part.schema)
    assert part.records_read == len(set(table.column("line").to_pylist())) + len(part.rejects)
    return part, table


def write(tmp_path: Path, text: str, name: str = ETHNIC) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_neighbourhood_borough():
    assert neighbourhood_borough("Barking and Dagenham - Barking") == "E09000002"
    assert neighbourhood_borough("Richmond upon Thames - North") == "E09000027"
    assert neighbourhood_borough("Westminster - West End") == "E09000033"
    assert neighbourhood_borough("Westminster") is None
    assert neighbourhood_borough("Gotham - North") is None
    assert neighbourhood_borough("MPS - North") is None  # London, not a borough


def test_the_ethnic_group_file(data_dir):
    part, table = read(data_dir / "london-datastore" / ETHNIC)
    assert part.dataset == "mopac_pas_neighbourhood_ethnic_group"
    assert part.records_read == 112 and part.rejects == [] and table.num_rows == 112 * 12
    rows = table.to_pylist()
    assert rows[0] == {
        "survey": "PAS", "area_level": "neighbourhood", "area_code": "E09000002",
        "area_name": "Barking and Dagenham - Barking", "measure": FAIR, "period_end": date(2021, 3, 31),
        "proportion": 0.84, "london_proportion": None, "sample_size": None, "period_start": date(2015, 4, 1),
        "respondent_group": "White British", "answer": "% Strongly agree/Tend to agree", "area_alt_code": None,
        "value": None, "unit": None, "line": 4,
    }
    by_key = {(r["area_name"], r["measure"], r["respondent_group"]): r for r in rows}
    # line 97: 'Southwark - South-West,71,74,72,70,91,84,72,90,72,80,66,60'
    sw = by_key[("Southwark - South-West", STOP_SEARCH, "Black")]
    assert sw["proportion"] == 0.60 and sw["line"] == 97 and sw["answer"] == "% Very confident/Fairly confident"
    assert by_key[("Southwark - South-West", STOP_SEARCH, "Asian")]["proportion"] == 0.90
    # line 113: 'Westminster - ORB,,,,,,,,,,,,' - every value suppressed: nulls, never zeros
    orb = [r for r in rows if r["area_name"] == "Westminster - ORB"]
    assert len(orb) == 12 and {r["proportion"] for r in orb} == {None} and orb[0]["line"] == 113
    assert sum(r["proportion"] is None for r in rows) == 168
    assert 0.0 not in {r["proportion"] for r in rows}
    assert Counter(r["respondent_group"] for r in rows) == {"White British": 448, "Asian": 448, "Black": 448}
    assert len({r["area_code"] for r in rows}) == 32
    assert any("168 empty cells" in n and "never 0" in n for n in part.notes)
    assert any("14 neighbourhoods have every value suppressed" in n for n in part.notes)


def test_the_2016_file(data_dir):
    part, table = read(data_dir / "london-datastore" / PAS_2016)
    assert part.dataset == "mopac_pas_neighbourhood_2016"
    assert part.encoding == "utf-8-sig"
    assert part.records_read == 106 and part.rejects == [] and table.num_rows == 106 * 19
    rows = table.to_pylist()
    by_key = {(r["area_name"], r["measure"]): r for r in rows}
    # line 21: 'Camden - North,EK-EH,Group 1,69,86,84,79,88,53,50,95,73,72,90,80,70,85,50,89,95,85,N/A'
    north = by_key[("Camden - North", GOOD_JOB_2016)]
    assert (north["proportion"], north["area_code"], north["area_alt_code"], north["line"]) == (
        0.69, "E09000007", "EK-EH", 21)
    assert north["answer"] == "% Excellent or Good"
    assert (north["period_start"], north["period_end"]) == (date(2016, 1, 1), date(2016, 12, 31))
    assert by_key[("Camden - North", "The police in this area understand the issues that affect this community")][
        "proportion"] == 0.85
    tno = [r for r in rows if r["measure"] == TNO]
    assert len(tno) == 106 and {(r["proportion"], r["value"]) for r in tno} == {(None, None)}
    assert all(r["unit"] for r in tno)
    assert any("Total Notifiable Offences rate: 106 values published as 'N/A'" in n for n in part.notes)
    assert any("Group column" in n and "not stored" in n for n in part.notes)
    assert len({r["area_name"] for r in rows}) == 106


def test_recognised_by_content(data_dir, tmp_path):
    for name, dataset in ((ETHNIC, "mopac_pas_neighbourhood_ethnic_group"), (PAS_2016, "mopac_pas_neighbourhood_2016")):
        assert sniff(InputFile(data_dir / "london-datastore" / name, "file")).datasets == (dataset,)
    renamed = tmp_path / "2016-police-perceptions.csv"
    renamed.write_bytes((data_dir / "london-datastore" / PAS_2016).read_bytes())
    assert READER.sniff(InputFile(renamed, "file")).datasets == ("mopac_pas_neighbourhood_2016",)
    for other in (data_dir / "london-datastore").iterdir():
        if other.name not in (ETHNIC, PAS_2016) and other.suffix == ".csv":
            assert READER.sniff(InputFile(other, "file")) is None, other.name


def test_ethnic_group_bad_rows(tmp_path):
    text = ETHNIC_HEAD + (
        "Barnet - Barnet,75,,80,\n"  # 4: suppressed cells: loaded as nulls
        "Barnet - Barnet,75,67,80,70\n"  # 5: duplicate
        "Gotham - North,75,67,80,70\n"  # 6: not a borough
        "Barnet,75,67,80,70\n"  # 7: no ' - '
        "Brent - Kilburn,75,x,80,70\n"  # 8: not a number
        "Brent - Wembley,75,67,80,170\n"  # 9: over 100
        "Brent - Harlesden,75,67\n"  # 10: cut short
        "Camden - North,,,,\n"  # 11: all suppressed
    )
    part, table = read(write(tmp_path, text))
    assert part.records_read == 8 and table.num_rows == 8
    assert [(r.line, r.field) for r in part.rejects] == [
        (5, "neighbourhood"), (6, "neighbourhood"), (7, "neighbourhood"), (8, "Q2 [White British]"),
        (9, "Q2 [Black]"), (10, None)]
    rows = table.to_pylist()
    assert [r["proportion"] for r in rows if r["line"] == 4] == [0.75, None, 0.80, None]
    assert [r["proportion"] for r in rows if r["line"] == 11] == [None] * 4
    assert any("6 empty cells" in n for n in part.notes)
    assert any("1 neighbourhood has every value suppressed: 'Camden - North'" in n for n in part.notes)


def test_ethnic_group_whole_file_problems(tmp_path):
    with pytest.raises(InputError, match="empty"):
        read(write(tmp_path, ""))
    with pytest.raises(InputError, match="no respondent group") as info:
        read(write(tmp_path, ETHNIC_HEAD.replace(",Black\n", ",\n") + "Barnet - Barnet,1,2,3,4\n"))
    assert info.value.line == 2
    with pytest.raises(InputError, match="repeats"):
        read(write(tmp_path, ETHNIC_HEAD.replace("Q1,Q2\n", "Q1,Q1\n").replace(",Black,Black\n", ",Black,White British\n")
                   .replace("Q1,Q2,Q1,Q1", "Q1,Q2,Q1,Q1") + "Barnet - Barnet,1,2,3,4\n"))
    with pytest.raises(InputError, match="no data rows"):
        read(write(tmp_path, ETHNIC_HEAD))
    with pytest.raises(InputError, match="pooled financial years"):
        read(write(tmp_path, ETHNIC_HEAD + "Barnet - Barnet,1,2,3,4\n", name="indicators.csv"))


def test_2016_bad_rows_and_rates(tmp_path):
    text = HEAD_2016 + (
        "Barnet - Barnet,SX-SA,Group 4,72,66,12.5\n"  # 3: a rate
        "Barnet - Colindale,SX,Group 12,61,65,N/A\n"  # 4: bad code
        "Barnet - Golders Green,SX-SG,Group 12,61,65,-3\n"  # 5: negative rate
        "Brent - Kilburn,QK-QH,Group 1,,65,N/A\n"  # 6: suppressed
    )
    part, table = read(write(tmp_path, text, name="PAS neighbourhood 2016.csv"))
    assert part.records_read == 4 and table.num_rows == 6
    assert [(r.line, r.field) for r in part.rejects] == [(4, "Code"), (5, TNO)]
    rate = [r for r in table.to_pylist() if r["line"] == 3 and r["measure"] == TNO][0]
    assert rate["value"] == 12.5 and rate["proportion"] is None and rate["answer"] is None
    assert [r["proportion"] for r in table.to_pylist() if r["line"] == 6][:2] == [None, 0.65]


def test_2016_whole_file_problems(tmp_path):
    with pytest.raises(InputError, match="missing column 'Code'"):
        read(write(tmp_path, HEAD_2016.replace("Code", "Cod") + "Barnet - Barnet,SX-SA,G,1,2,3\n", name="x 2016.csv"))
    with pytest.raises(InputError, match="year is stated only in the file name"):
        read(write(tmp_path, HEAD_2016 + "Barnet - Barnet,SX-SA,G,1,2,3\n", name="perceptions.csv"))
    with pytest.raises(InputError, match="not a '% …' definition") as info:
        read(write(tmp_path, HEAD_2016.replace("% Agree", "Agree") + "Barnet - Barnet,SX-SA,G,1,2,3\n",
                   name="x 2016.csv"))
    assert info.value.line == 2
