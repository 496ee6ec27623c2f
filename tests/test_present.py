"""One vocabulary: every output prints a change the same way (crimeplan.present)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from crimeplan.cli import app
from crimeplan.present import Rag, Verdict, interval, number, rag_for, signed

runner = CliRunner()


def test_signed_changes() -> None:
    assert [signed(v) for v in (4.14, -23.76, 0.0, -0.04, 0.04, None)] == ["+4.1%", "−23.8%", "0.0%", "0.0%", "0.0%", "—"]
    assert signed(2.04, "pp") == "+2.0pp" and signed(-25.7, decimals=0) == "−26%"
    assert signed(0.4, decimals=None) == "+0.4%" and signed(12.6, decimals=None) == "+13%"
    assert signed(1280.4, decimals=0) == "+1280%"


def test_intervals_numbers_and_words() -> None:
    assert interval(-31.2, 12.4, decimals=0) == "−31% to +12%"
    assert interval(None, 5.0) == "no lower limit to +5.0%" and interval(None, None) == ""
    assert (number(920606.0), number(8.815), number(36.39, "proportion"), number(None)) == ("920,606", "8.8", "36.4%", "—")
    assert rag_for("down", "significant fall") is Rag.GREEN and rag_for("up", "significant fall") is Rag.RED
    assert rag_for("monitor", "significant rise") is Rag.GREY and rag_for("down", "too few records to judge") is Rag.GREY
    assert Verdict.NO_CHANGE.rag("down") is Rag.AMBER and json.dumps(Rag.RED) == '"red"'


@pytest.fixture(scope="module")
def burglary(loaded_db) -> dict:
    from crimeplan.measures import Engine

    card = Engine.open(loaded_db).scorecard(None, "2021", "2019").to_dict()
    return next(m for p in card["priorities"] for m in p["measures"] if m["id"] == "burglary")


def test_one_change_is_printed_the_same_way_in_every_output(burglary, loaded_db, tmp_path) -> None:
    """London burglary 2021 against 2019: −33.66% (80,689 → 53,528 from the borough files)."""
    assert burglary["change"] == pytest.approx(-33.66, abs=0.01)
    shown = "−33.7%"  # one decimal, a true minus
    table = runner.invoke(app, ["scorecard", "--db", str(loaded_db), "--period", "2021", "--baseline", "2019"],
                          env={"COLUMNS": "200"})
    assert table.exit_code == 0 and shown in table.stdout
    from fastapi.testclient import TestClient

    from crimeplan.web.app import create_app

    client = TestClient(create_app(loaded_db))
    assert shown in client.get("/", params={"period": "2021", "baseline": "2019"}).text
    assert shown in client.get("/measure/burglary", params={"period": "2021", "baseline": "2019"}).text
    claims = tmp_path / "claims.yaml"
    claims.write_text("plan: london-2022-25\nclaims:\n  - id: b\n    statement: Burglary fell 34%.\n"
                      "    measure: burglary\n    period: '2021'\n    baseline: '2019'\n    stated_change_pct: -34\n",
                      encoding="utf-8")
    checked = runner.invoke(app, ["claims", "check", str(claims), "--db", str(loaded_db)], env={"COLUMNS": "200"})
    assert checked.exit_code == 0 and shown in checked.stdout
    # the sentences round to whole per cent with the same sign and minus
    assert burglary["plain"].startswith("Down 34%") and "−34% to −33%" in burglary["plain"]


def test_one_facade_gives_the_same_typed_errors_to_the_cli_and_the_web(loaded_db) -> None:
    from fastapi.testclient import TestClient

    from crimeplan.core import BadParameter, Crimeplan, NotFound
    from crimeplan.web.app import create_app

    core = Crimeplan.open(loaded_db)
    client = TestClient(create_app(service=core))
    cases = [
        (lambda: core.measure("nope"), NotFound, ["measure", "nope", "--db", str(loaded_db)],
         "/api/measures/nope/series", 404),
        (lambda: core.area("Atlantis"), NotFound, ["scorecard", "--area", "Atlantis", "--db", str(loaded_db)],
         "/api/scorecard?area=Atlantis", 404),
        (lambda: core.period("2021-13"), BadParameter, ["scorecard", "--period", "2021-13", "--db", str(loaded_db)],
         "/api/scorecard?period=2021-13", 422),
        (lambda: core.level("county"), BadParameter, ["areas", "--level", "county", "--db", str(loaded_db)],
         "/api/areas?level=county", 422),
    ]
    for ask, error, argv, url, status in cases:
        with pytest.raises(error) as raised:
            ask()
        message = str(raised.value)
        cli = runner.invoke(app, argv)
        assert cli.exit_code == 1 and message in cli.stderr.replace("\n", " "), (argv, cli.stderr)
        response = client.get(url)
        assert response.status_code == status and message in response.text, url


def test_months_are_listed_as_their_runs() -> None:
    from datetime import date

    from crimeplan.present import months_text, partial_period

    gap = [date(2019, 1, 1), date(2019, 2, 1)] + [date(2023, m, 1) for m in range(1, 13)]
    assert months_text(gap) == "14 months (2019-01 to 2019-02, 2023-01 to 2023-12)"
    assert months_text([date(2019, m, 1) for m in (3, 4, 5)]) == "2019-03, 2019-04, 2019-05"
    years = [date(y, 1, 1) for y in (2003, 2004, 2005, 2006, 2007, 2008, 2010)]
    assert months_text(years, "year") == "7 years (2003 to 2008, 2010)"
    assert partial_period("2024", 1) == "2024 (partial: 1 month)" and partial_period("2026", 3) == "2026 (partial: 3 months)"


def test_shares_gini_and_ranks_as_printed() -> None:
    from crimeplan.present import gini_text, rank_standing, rank_text, rate_text, share_text

    assert share_text(0.1438, [0.141, 0.1454]) == "14.4% (14.1% to 14.5%)" and share_text(None) == "—"
    assert gini_text(0.3084, (0.304, None)) == "0.308"
    assert rank_text(4, 4, 7) == "4 (4 to 7)" and rank_text(1, 1, 1) == "1 (1 to 1)"
    assert [rank_standing(1, 3, 3), rank_standing(2, 9, 3), rank_standing(5, 9, 3)] == [
        "in the top 3", "possibly in the top 3", "not in the top 3"]
    assert rate_text(0.0045) == "0.0045" and rate_text(0.45) == "0.45" and rate_text(12.34) == "12.3"
    assert rate_text(0.0) == "0.0"


def test_a_survey_gap_keeps_the_published_whole_points_and_a_median_between_two():
    from crimeplan.present import survey_gap_text, survey_gaps_text

    assert (survey_gap_text(-17.0), survey_gap_text(-8.5), survey_gap_text(0.0), survey_gap_text(None)) == (
        "−17pp", "−8.5pp", "0pp", "")
    assert survey_gaps_text({"neighbourhoods": 3, "lower": 2, "higher": 1, "median_gap": -6.0}) == (
        "lower in 2, higher in 1, of 3 neighbourhoods; median −6pp")
    assert survey_gaps_text({"neighbourhoods": 0, "lower": 0, "higher": 0, "median_gap": None}) == (
        "no neighbourhood with both figures")
