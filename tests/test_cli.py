"""The command line, end to end on small real inputs."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from crimeplan.cli import app

runner = CliRunner()


def test_load_then_status_then_reset(data_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    zip_path = data_dir / "police-uk" / "city-of-london-stop-and-search-2017-12_2020-11.zip"
    result = runner.invoke(app, ["load", str(zip_path), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "read 6,855 = loaded 6,855 + rejected 0" in result.output
    result = runner.invoke(app, ["status", "--db", str(db)])
    assert result.exit_code == 0 and "police_uk_stop_search" in result.output
    assert "Open Government Licence" in result.output
    status = json.loads(runner.invoke(app, ["status", "--db", str(db), "--format", "json"]).stdout)
    [d] = status["datasets"]
    assert (d["read"], d["first_period"], d["last_period"], d["areas"]) == (6_855, "2017-12", "2020-11", 1)
    result = runner.invoke(app, ["reset", "--db", str(db), "--yes"])
    assert result.exit_code == 0 and not db.exists()


def test_env_var_chooses_the_warehouse(data_dir: Path, tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "env.duckdb"
    monkeypatch.setenv("CRIMEPLAN_DB", str(db))
    result = runner.invoke(app, ["load", str(data_dir / "harm" / "cchi_subgroup_medians.csv")])
    assert result.exit_code == 0, result.output
    assert db.exists()


def test_bad_input_exits_non_zero_with_a_clear_message(tmp_path: Path) -> None:
    db = tmp_path / "bad.duckdb"
    path = tmp_path / "notes.csv"
    path.write_text("when,what\nmonday,tea\n")
    result = runner.invoke(app, ["load", str(path), "--db", str(db)])
    assert result.exit_code == 1
    assert "notes.csv" in result.output and "police_uk_street" in result.output
    result = runner.invoke(app, ["load", str(tmp_path / "missing.zip"), "--db", str(db)])
    assert result.exit_code == 1 and "no such file" in result.output


def test_sources_lists_the_catalogue() -> None:
    result = runner.invoke(app, ["sources", "--format", "json"])
    assert result.exit_code == 0, result.output
    catalogue = json.loads(result.stdout)
    ids = {d["id"] for d in catalogue["datasets"]}
    assert {"police_uk_street", "mps_ward_crime", "mopac_pas_borough", "harm_cchi_subgroups"} <= ids
    result = runner.invoke(app, ["sources"])
    assert result.exit_code == 0 and "data.police.uk" in result.output


def test_hotspots_in_every_format(loaded_db: Path) -> None:
    from crimeplan.measures import Engine
    from crimeplan.measures.hotspots import hotspots

    args = ["hotspots", "burglary", "--level", "ward", "--period", "2021", "--db", str(loaded_db)]
    data = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)
    expected = hotspots(Engine.open(loaded_db), "burglary", "ward", "2021")
    assert data == json.loads(json.dumps(expected))
    assert data["hot_spots"] >= 1
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    top = max(data["areas"], key=lambda a: a["z"])
    assert top["name"] in result.output and top["parent"] in result.output
    assert f"{data['hot_spots']} hot spots, {data['cold_spots']} cold spots" in result.output
    assert "not a significant change" in result.output and "Open Government Licence" in result.output
    csv = runner.invoke(app, [*args, "--format", "csv"]).stdout.splitlines()
    assert csv[0].startswith("measure,level,period,key,code,name,parent,parent_code,value")
    assert len(csv) == 1 + 704 + 1  # every ward (the City's 25 as "not tested", with the reason), the licence
    assert sum(",hot spot," in line for line in csv) == data["hot_spots"]
    assert sum("City of London Police" in line for line in csv) == 25
    assert csv[-1].startswith("# Contains public sector information")
    bad = runner.invoke(app, ["hotspots", "burglary", "--level", "bcu", "--db", str(loaded_db)])
    assert bad.exit_code == 1 and "not 'bcu'" in bad.output


def test_forces_in_every_format(loaded_db: Path) -> None:
    args = ["forces", "--db", str(loaded_db), "--period", "2018-12", "--baseline", "2017-12"]
    data = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)
    met = next(f for f in data["forces"] if f["force"] == "Metropolitan Police")
    assert met["highlighted"]  # the plan's force, "Metropolitan Police Service" in the plan
    assert (met["current"], met["baseline"]) == (835_078, 809_049)  # read from rec-crime-pfa.csv
    table = runner.invoke(app, [*args, "--offence", "Robbery", "--highlight", "Kent"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "Forces compared: Robbery" in table.stdout and "▶ Kent" in table.stdout
    assert "rec-crime-pfa.csv (edition 2018-12)" in table.stdout and "Open Government Licence" in table.stdout
    csv = runner.invoke(app, [*args, "--format", "csv"]).stdout.splitlines()
    assert csv[0].startswith("offence,period,baseline,force,")
    assert len([line for line in csv if ",Metropolitan Police,London,True,ok,835078,809049," in line]) == 1
    assert csv[-1].startswith("# Contains public sector information")
    bad = runner.invoke(app, [*args[:-2], "--baseline", "2018-06"])
    assert bad.exit_code == 1 and "overlap" in bad.output


def test_status_fits_80_columns(loaded_db: Path) -> None:
    """A narrow terminal gets a line per dataset with every figure, not a table cut to '…'."""
    from crimeplan import cli

    wide = cli.console.width
    try:
        cli.console.width = 80
        result = runner.invoke(app, ["status", "--db", str(loaded_db)])
    finally:
        cli.console.width = wide
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "…" not in result.output
    by_dataset = {line.split(":", 1)[0]: line for line in lines if ": " in line and not line.startswith(" ")}
    assert "1 file, 33 loaded, 0 rejected" in by_dataset["population_borough_2021"]
    assert "3 files" in by_dataset["police_uk_street"] and "2018-01 to 2025-02" in by_dataset["police_uk_street"]


def test_status_and_scorecard_fit_a_terminal_of_80_columns(loaded_db, monkeypatch) -> None:
    """A narrow terminal gets a few lines per measure instead of a squeezed table: no table wider than the terminal
    (a long message is one line, for the terminal to wrap); each measure's figures as the JSON has them."""
    boxes = set("┏┃┡│└━─")
    for args in (["status"], ["scorecard", "--period", "2021", "--baseline", "2019"]):
        result = runner.invoke(app, [*args, "--db", str(loaded_db)], env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.output
        assert [line for line in result.stdout.splitlines() if len(line) > 80 and boxes & set(line)] == [], args
    narrow = runner.invoke(app, ["scorecard", "--period", "2021", "--baseline", "2019", "--db", str(loaded_db)],
                           env={"COLUMNS": "80"}).stdout
    card = json.loads(runner.invoke(app, ["scorecard", "--period", "2021", "--baseline", "2019", "--format", "json",
                                          "--db", str(loaded_db)]).stdout)
    counts = [m for p in card["priorities"] for m in p["measures"] if m["status"] == "ok" and m["unit"] == "offences"]
    assert len(counts) >= 5
    for m in counts:
        assert f"{m['title']} — " in narrow and f"now {m['current']:,.0f}, baseline {m['baseline_value']:,.0f}: change " in narrow
    assert "measure (source)" not in narrow  # no table of the measures
    from crimeplan import cli

    monkeypatch.setattr(cli.console, "width", 200)  # a wide terminal: the table
    wide = runner.invoke(app, ["scorecard", "--period", "2021", "--baseline", "2019", "--db", str(loaded_db)]).stdout
    assert "measure (source)" in wide
