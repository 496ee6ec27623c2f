"""crimeplan export: every area × measure of a level in one table, CSV, XLSX (README sheet, frozen header) and
Parquet, with the scorecard's own figures."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from crimeplan.cli import app
from crimeplan.core import Crimeplan
from crimeplan.report import EXPORT_COLUMNS, scorecard_rows

runner = CliRunner()


@pytest.fixture(scope="module")
def core(loaded_db):
    return Crimeplan.open(loaded_db)


def test_the_xlsx_export_has_every_boroughs_scorecard_figures(core, tmp_path) -> None:
    out = tmp_path / "boroughs.xlsx"
    result = runner.invoke(app, ["export", "--level", "borough", "--format", "xlsx", "--out", str(out),
                                 "--period", "2021", "--baseline", "2019", "--db", str(core.db)])
    assert result.exit_code == 0, result.output
    book = load_workbook(out, read_only=False)
    sheet = book["figures"]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert header == EXPORT_COLUMNS
    rows = [dict(zip(header, [c.value for c in r])) for r in sheet.iter_rows(min_row=2)]
    lines = [[c.value for c in r] for r in book["README"].iter_rows()]
    blank = [k for k, line in enumerate(lines) if not any(line)]
    about = {line[0]: line[1] for line in lines[1:blank[0]]}  # what the export is, then the columns, then the licence
    columns = {line[0]: line[1] for line in lines[blank[0] + 2:blank[1]]}
    assert about["period"] == "2021" and about["compared with"] == "2019" and "10" in about["small numbers"]
    assert list(columns) == EXPORT_COLUMNS and columns["value"].startswith("the measure in the period")
    assert lines[-1][0] == "licence" and "Open Government Licence" in lines[-1][1]

    boroughs = [a for a in core.engine.areas.level("borough")]
    measures = [m for m in core.plan.measures if "borough" in m.levels]
    assert len(rows) == len(boroughs) * len(measures) and len(boroughs) == 33
    by = {(r["area_code"], r["measure"]): r for r in rows}
    checked = set()
    for b in boroughs:
        card = runner.invoke(app, ["scorecard", "--area", b.code, "--period", "2021", "--baseline", "2019",
                                   "--format", "json", "--db", str(core.db)])
        assert card.exit_code == 0, card.output
        for want in scorecard_rows(json.loads(card.stdout)):  # the scorecard's CSV cells, as published
            if want["measure"] not in {m.id for m in measures}:
                continue
            got = by[(b.code, want["measure"])]
            for field, column in (("current", "value"), ("baseline_value", "baseline_value"), ("change", "change"),
                                  ("interval_low", "interval_low"), ("interval_high", "interval_high"),
                                  ("q_value", "q_value"), ("verdict", "verdict"), ("rag", "rag")):
                expected = want[field]
                if isinstance(expected, str) and expected.startswith(("<", "withheld")):
                    # Withheld on the scorecard (small counts of people, and what would give them back): the
                    # export withholds it too, or shows the level table's figure, which is never a small count.
                    assert isinstance(got[column], str) or got[column] is None or got[column] >= 10 or \
                        field not in ("current", "baseline_value"), (b.name, want["measure"], field, got[column])
                    continue
                if isinstance(expected, float):
                    assert got[column] == pytest.approx(expected, rel=1e-9), (b.name, want["measure"], field)
                else:
                    assert got[column] == (getattr(expected, "value", expected)), (b.name, want["measure"], field)
            checked.add((b.code, want["measure"]))  # a measure placed under two objectives appears twice
    assert len(checked) == len(boroughs) * len(measures)


def test_csv_and_parquet_hold_the_same_rows_withheld_cells_marked(core, tmp_path) -> None:
    csv_out = runner.invoke(app, ["export", "--level", "ward", "--db", str(core.db)])
    assert csv_out.exit_code == 0, csv_out.output
    lines = csv_out.stdout.splitlines()
    assert lines[0].split(",") == EXPORT_COLUMNS and "Open Government Licence" in lines[-1]
    wards = len(core.engine.areas.level("ward"))
    measures = [m for m in core.plan.measures if "ward" in m.levels]
    assert len(lines) - 2 == wards * len(measures)
    out = tmp_path / "boroughs.parquet"
    assert runner.invoke(app, ["export", "--level", "borough", "--format", "parquet", "--out", str(out),
                               "--period", "2021", "--baseline", "2019", "--db", str(core.db)]).exit_code == 0
    table = pq.read_table(out)
    assert table.num_rows == 33 * len([m for m in core.plan.measures if "borough" in m.levels])
    assert b"Open Government Licence" in table.schema.metadata[b"licence"]
    withheld = [w for w in table.column("withheld").to_pylist() if w]
    assert withheld and all("<10" in w or "withheld" in w for w in withheld)  # small counts of people, marked
    values = table.column("value").to_pylist()
    assert all(v is None or isinstance(v, float) for v in values)
    result = runner.invoke(app, ["export", "--level", "ward", "--format", "xlsx", "--db", str(core.db)])
    assert result.exit_code == 1 and "--out" in result.output


def test_an_interval_open_at_one_end_is_written_as_its_ends() -> None:
    """A one-sided interval's missing end is an empty cell, not the interval pasted into the other."""
    card = {"priorities": [{"id": "p", "measures": [{
        "id": "m", "title": "t", "period": "2021", "baseline": "2019", "status": "ok", "current": 3.0,
        "baseline_value": 0.0, "change": None, "change_unit": "%", "interval": [None, 12.5], "p_value": 0.2,
        "q_value": 0.2, "verdict": "no significant change", "rag": "amber", "source": {"dataset": "d", "files": []},
        "alternatives": [], "message": ""}]}], "area": {"code": "E1", "name": "A"}}
    [row] = scorecard_rows(card)
    assert row["interval_low"] is None and row["interval_high"] == 12.5


def test_the_dashboard_offers_the_same_files(core) -> None:
    from fastapi.testclient import TestClient

    from crimeplan.web import create_app

    client = TestClient(create_app(service=core))
    cli = runner.invoke(app, ["export", "--level", "borough", "--period", "2021", "--baseline", "2019",
                              "--db", str(core.db)]).stdout
    r = client.get("/api/export/borough.csv", params={"period": "2021", "baseline": "2019"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv") and r.text == cli
    r = client.get("/api/export/ward.xlsx")
    assert r.status_code == 200 and load_workbook(io.BytesIO(r.content))["figures"].max_row > 700
    assert client.get("/api/export/county.csv").status_code == 422
    assert 'href="/api/export/ward.xlsx" download' in client.get("/area/E09000012").text  # the default period
    page = client.get("/area/E09000012", params={"period": "2022"}).text  # the period chosen, kept
    assert 'href="/api/export/ward.xlsx?period=2022" download' in page
    assert 'href="/api/export/borough.csv?period=2022" download' in page
