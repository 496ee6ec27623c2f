"""The Cambridge Crime Harm Index reader on the real weight files, and on broken copies of them."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from crimeplan.errors import InputError
from crimeplan.sources.geography import GeographyReader
from crimeplan.sources.harm import POLICE_UK_CRIME_TYPES, HarmWeightsReader
from crimeplan.sources.inputs import InputFile

READER = HarmWeightsReader()
SUBGROUPS = "cchi_subgroup_medians.csv"
FORCES = "cchi_weights_by_force_category.csv"


def read(path: Path) -> tuple:
    [part] = list(READER.parts(InputFile(Path(path), "file")))
    table = pa.Table.from_batches(list(part.batches), schema=part.schema)
    assert part.records_read == table.num_rows + len(part.rejects)
    return part, table


def lines_of(data_dir: Path, name: str) -> list[str]:
    return (data_dir / "harm" / name).read_text(encoding="utf-8").splitlines()


def write(tmp_path: Path, name: str, lines: list[str], encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def test_files_are_recognised_by_header(data_dir, tmp_path):
    for name, dataset in ((SUBGROUPS, "harm_cchi_subgroups"), (FORCES, "harm_cchi_force_categories")):
        renamed = tmp_path / "weights.csv"
        renamed.write_bytes((data_dir / "harm" / name).read_bytes())
        sniff = READER.sniff(InputFile(renamed, "file"))
        assert sniff is not None and sniff.datasets == (dataset,)
        assert GeographyReader().sniff(InputFile(renamed, "file")) is None
    for folder in ("london-datastore", "geography"):
        for path in (data_dir / folder).iterdir():
            assert READER.sniff(InputFile(path, "file")) is None, path.name


def test_subgroup_medians(data_dir):
    part, table = read(data_dir / "harm" / SUBGROUPS)
    rows = table.to_pylist()
    assert (part.dataset, part.kind, part.encoding, len(rows), part.rejects) == (
        "harm_cchi_subgroups", "harm_weight", "utf-8", 23, [])
    assert part.notes == ["national counts are for 2024/25 (national_count_2024_25)"]
    assert rows[0] == {"scheme": "subgroup", "force": None, "category": "Violence and sexual offences",
                       "subgroup": "Homicide", "weight_days": 5475.0, "national_count": 524, "line": 2}
    weights = {r["subgroup"]: r["weight_days"] for r in rows}
    # the anchors of the index (Sherman et al. 2016, and domain.md)
    assert weights["Rape offences"] == 2555.0
    assert weights["Residential burglary"] == 273.5
    assert weights["Shoplifting"] == 1.0
    assert weights["Violence with injury"] == weights["Robbery of personal property"] == 365.0
    assert {r["category"] for r in rows} == POLICE_UK_CRIME_TYPES
    assert sum(r["national_count"] for r in rows) == 5_225_477  # summed independently with awk


def test_force_category_weights(data_dir):
    part, table = read(data_dir / "harm" / FORCES)
    rows = table.to_pylist()
    assert (part.dataset, len(rows), part.rejects) == ("harm_cchi_force_categories", 559, [])
    assert all(r["scheme"] == "force_category" and r["subgroup"] is None and r["national_count"] is None for r in rows)
    forces = {r["force"] for r in rows}
    assert len(forces) == 43 and {"Metropolitan Police", "City of London"} <= forces
    for force in forces:
        assert {r["category"] for r in rows if r["force"] == force} == POLICE_UK_CRIME_TYPES
    met = {r["category"]: r["weight_days"] for r in rows if r["force"] == "Metropolitan Police"}
    assert met["Violence and sexual offences"] == 200.69 and met["Burglary"] == 242.34
    # a category's force weight is a mix of its subgroups' weights, so it lies between them
    _, subgroups = read(data_dir / "harm" / SUBGROUPS)
    for category in POLICE_UK_CRIME_TYPES:
        sub = [r["weight_days"] for r in subgroups.to_pylist() if r["category"] == category]
        for r in rows:
            if r["category"] == category:
                assert min(sub) - 0.01 <= r["weight_days"] <= max(sub) + 0.01, r


def test_bad_weights_are_rejected_with_their_line(data_dir, tmp_path):
    lines = lines_of(data_dir, FORCES)
    lines[2] = lines[2].rsplit(",", 1)[0] + ",-7.5"  # line 3
    lines[4] = lines[4].rsplit(",", 1)[0] + ",one"  # line 5
    lines[6] = lines[6].rsplit(",", 1)[0] + ","  # line 7: empty
    lines[8] = lines[1]  # line 9: duplicate of line 2
    lines[10] = "Kent,Violence & sexual offences,12"  # line 11: not a police.uk crime type
    lines[12] = lines[12] + ",9"  # line 13: too many fields
    part, table = read(write(tmp_path, FORCES, lines))
    assert [(r.line, r.field, r.value) for r in part.rejects] == [
        (3, "cchi_days", "-7.5"), (5, "cchi_days", "one"), (7, "cchi_days", ""),
        (9, "crime_type", "Violence and sexual offences"), (11, "crime_type", "Violence & sexual offences"),
        (13, None, part.rejects[5].value)]
    reasons = [r.reason for r in part.rejects]
    assert "negative" in reasons[0] and "not a number" in reasons[1] and "empty" in reasons[2]
    assert "line 2" in reasons[3] and "not a data.police.uk crime type" in reasons[4]
    assert (part.records_read, table.num_rows) == (559, 553)


def test_bad_subgroup_rows_are_rejected(data_dir, tmp_path):
    lines = lines_of(data_dir, SUBGROUPS)
    lines[3] = lines[3].replace(",10.0,", ",-10.0,")  # line 4: negative weight
    lines[5] = lines[5].rsplit(",", 1)[0] + ",-2244"  # line 6: negative count
    lines[7] = lines[1]  # line 8: duplicate subgroup
    part, table = read(write(tmp_path, SUBGROUPS, lines))
    assert [(r.line, r.field) for r in part.rejects] == [(4, "cchi_days"), (6, "national_count_2024_25"),
                                                         (8, "prc_subgroup")]
    assert table.num_rows == 20


@pytest.mark.parametrize("name, column, expected", [
    (SUBGROUPS, "category", "missing column 'category'"),
    (SUBGROUPS, "national_count_2024_25", "missing column 'national_count_<year>'"),
    # a column that identifies the file leaves it unrecognised
    (SUBGROUPS, "prc_subgroup", "not recognised as Cambridge Crime Harm Index weights"),
    (FORCES, "cchi_days", "not recognised as Cambridge Crime Harm Index weights"),
])
def test_missing_column_is_refused(data_dir, tmp_path, name, column, expected):
    lines = lines_of(data_dir, name)
    drop = lines[0].split(",").index(column)
    path = write(tmp_path, name, [",".join(f for i, f in enumerate(line.split(",")) if i != drop) for line in lines])
    with pytest.raises(InputError) as err:
        read(path)
    assert name in str(err.value) and expected in str(err.value)


def test_empty_and_header_only_files_are_refused(data_dir, tmp_path):
    with pytest.raises(InputError, match="empty"):
        read(write(tmp_path, "empty.csv", []))
    with pytest.raises(InputError, match="no data rows"):
        read(write(tmp_path, FORCES, lines_of(data_dir, FORCES)[:1]))


def test_cp1252_file_loads_and_says_so(data_dir, tmp_path):
    lines = lines_of(data_dir, FORCES)
    lines = [line.replace("Dyfed-Powys", "Dyfed–Powys") for line in lines]  # an en dash, as Excel writes it
    part, table = read(write(tmp_path, FORCES, lines, encoding="cp1252"))
    assert part.encoding == "cp1252"
    assert "Dyfed–Powys" in set(table.column("force").to_pylist())
    assert table.num_rows == 559


def test_invalid_bytes_are_refused(data_dir, tmp_path):
    path = tmp_path / FORCES
    data = "\n".join(lines_of(data_dir, FORCES)[:10]).encode() + b"\nKent,Drugs,\x8f3\n"
    path.write_bytes(data)
    with pytest.raises(InputError) as err:
        read(path)
    assert err.value.line == 11
