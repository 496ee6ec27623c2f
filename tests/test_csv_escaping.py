"""CSV cells are escaped against spreadsheet formula injection; numbers are left as they are."""

from __future__ import annotations

import csv
import io

from crimeplan.report import rows_csv


def test_text_cells_that_a_spreadsheet_would_run_are_escaped() -> None:
    rows = [{"title": "=HYPERLINK(\"http://x\")", "n": -12.5}, {"title": "+1", "n": 3},
            {"title": "-cmd", "n": None}, {"title": "@SUM(A1)", "n": 0}, {"title": "\tx", "n": 1},
            {"title": "\rx", "n": 2}, {"title": "Burglary", "n": -1}]
    text = rows_csv(rows, ["title", "n"])
    cells = list(csv.reader(io.StringIO(text, newline="")))[1:]
    assert [c[0] for c in cells] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-cmd", "'@SUM(A1)", "'\tx", "'\nx",
                                     "Burglary"]
    assert [c[1] for c in cells] == ["-12.5", "3", "", "0", "1", "2", "-1"]  # numbers untouched


def test_a_plan_title_beginning_with_equals_reaches_the_scorecard_csv_escaped() -> None:
    from crimeplan.report import scorecard_csv

    card = {"area": {"code": "E1", "name": "=cmd|' /C calc'!A0"}, "attribution": "OGL",
            "priorities": [{"id": "p", "measures": [{
                "id": "m", "title": "=1+1", "period": "2021", "baseline": "2019", "status": "ok", "current": 5.0,
                "baseline_value": 4.0, "change": 25.0, "change_unit": "%", "interval": [-1.0, 60.0],
                "p_value": 0.5, "q_value": 0.5, "verdict": "no significant change", "rag": "amber",
                "source": None, "alternatives": [], "message": ""}]}]}
    row = next(csv.DictReader(io.StringIO(scorecard_csv(card))))
    assert row["title"] == "'=1+1" and row["area_name"].startswith("'=") and row["current"] == "5.0"
