"""Loading: idempotent, one transaction per file (even under SIGKILL), editions and revisions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from crimeplan.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[2]


def fingerprint(wh: Warehouse) -> dict[str, tuple[int, int]]:
    """Every base table's row count and a hash of its contents."""
    tables = [t for (t,) in wh.con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' ORDER BY 1"
    ).fetchall()]
    return {t: tuple(wh.con.execute(f"SELECT count(*), coalesce(sum(hash(x)), 0) FROM {t} x").fetchone()) for t in tables}


def cut_zip(source: Path, dest: Path, months: list[str], edit=None) -> Path:
    """A data.police.uk archive holding only ``months`` of ``source``; ``edit(name, bytes)`` may change a member."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            if name.split("/")[0] in months and not name.endswith("/"):
                data = src.read(name)
                out.writestr(name, edit(name, data) if edit else data)
    return dest


@pytest.fixture()
def stop_search_zip(data_dir: Path) -> Path:
    return data_dir / "police-uk" / "city-of-london-stop-and-search-2017-12_2020-11.zip"


@pytest.fixture()
def wh(tmp_path: Path):
    with Warehouse.open(tmp_path / "test.duckdb") as warehouse:
        yield warehouse


def test_loading_the_same_file_twice_changes_nothing(wh: Warehouse, stop_search_zip: Path) -> None:
    first = wh.load([stop_search_zip])
    assert [f.status for f in first.files] == ["loaded"]
    assert first.files[0].read == first.files[0].loaded + first.files[0].rejected == 6_855
    before = fingerprint(wh)
    second = wh.load([stop_search_zip])
    assert [f.status for f in second.files] == ["unchanged"]
    assert fingerprint(wh) == before


def test_the_same_data_rezipped_is_not_loaded_again(wh: Warehouse, stop_search_zip: Path, tmp_path: Path) -> None:
    """A new sha256 but the same members (re-zipped, cut to some months, or unpacked to a folder): unchanged, the
    rows not stored twice; one member's bytes changed and it is a new edition, loaded."""
    assert wh.load([stop_search_zip]).files[0].status == "loaded"
    before = fingerprint(wh)
    with zipfile.ZipFile(stop_search_zip) as src:
        names = [n for n in src.namelist() if not n.endswith("/")]
        members = {n: src.read(n) for n in names}
    rezipped = tmp_path / "rezipped.zip"
    with zipfile.ZipFile(rezipped, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for n in reversed(names):
            out.writestr(n, members[n])
    cut = cut_zip(stop_search_zip, tmp_path / "cut.zip", sorted({n.split("/")[0] for n in names})[:3])
    folder = tmp_path / "unpacked"
    for n, data in members.items():
        (folder / n).parent.mkdir(parents=True, exist_ok=True)
        (folder / n).write_bytes(data)
    for copy in (rezipped, cut, folder):
        [f] = wh.load([copy]).files
        assert f.status == "unchanged", (copy, f.status, f.message)
        assert f"already loaded, byte for byte, from {stop_search_zip.name}" in f.message
        assert fingerprint(wh) == before
    changed = cut_zip(stop_search_zip, tmp_path / "changed.zip", sorted({n.split("/")[0] for n in names})[:3],
                      edit=lambda name, data: data.replace(b"Male", b"Female", 1))
    [f] = wh.load([changed]).files
    assert f.status == "loaded"


def test_a_file_that_fails_part_way_changes_nothing(wh: Warehouse, stop_search_zip: Path, tmp_path: Path) -> None:
    wh.load([cut_zip(stop_search_zip, tmp_path / "a.zip", ["2018-01"])])
    before = fingerprint(wh)

    def break_late_member(name: str, data: bytes) -> bytes:
        # The last month's file loses a column: the reader refuses it after earlier members streamed in.
        return data.replace(b"Latitude", b"Lat", 1) if name.startswith("2018-06") else data

    broken = cut_zip(stop_search_zip, tmp_path / "b.zip", ["2018-02", "2018-03", "2018-04", "2018-05", "2018-06"], break_late_member)
    report = wh.load([broken])
    assert report.files[0].status == "refused"
    assert "2018-06" in report.files[0].message and "'Latitude'" in report.files[0].message
    assert fingerprint(wh) == before


def test_sigkill_mid_load_leaves_the_warehouse_as_it_was(data_dir: Path, stop_search_zip: Path, tmp_path: Path) -> None:
    db = tmp_path / "kill.duckdb"
    with Warehouse.open(db) as wh:
        wh.load([stop_search_zip])
        before = fingerprint(wh)
    marker = tmp_path / "started"
    big = data_dir / "police-uk" / "national-street-2018-10_2019-02.zip"
    script = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from crimeplan.warehouse import Warehouse

        def say(text):  # atomically, so the test never reads a half-written marker
            Path({str(marker)!r} + ".tmp").write_text(text)
            os.replace({str(marker)!r} + ".tmp", {str(marker)!r})

        class Signal:
            seen = 0
            def start(self, name, total): pass
            def advance(self, n):
                self.seen += 1
                if self.seen == 40:   # well inside the transaction: 40 of 203 members streamed in
                    say("go")
            def finish(self, report): pass

        with Warehouse.open({str(db)!r}) as wh:
            wh.load([{str(big)!r}], Signal())
        say("finished")
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.time() + 120
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    assert marker.exists() and marker.read_text() == "go", "the load did not reach the middle of the file"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with Warehouse.open(db) as wh:
        assert fingerprint(wh) == before
        assert wh.con.execute("SELECT count(*) FROM street_crime").fetchone()[0] == 0


def test_newer_edition_replaces_overlapping_months_and_records_revisions(
    wh: Warehouse, stop_search_zip: Path, tmp_path: Path
) -> None:
    old = cut_zip(stop_search_zip, tmp_path / "2018-03.zip", ["2018-01", "2018-02", "2018-03"])

    def revise(name: str, data: bytes) -> bytes:
        if not name.startswith("2018-02"):
            return data
        lines = data.split(b"\n")
        return b"\n".join(lines[:1] + lines[11:])  # the newer edition has 10 fewer searches in February

    new = cut_zip(stop_search_zip, tmp_path / "2018-04.zip", ["2018-02", "2018-03", "2018-04"], revise)
    assert wh.load([old]).files[0].status == "loaded"
    counts_old = dict(wh.con.execute("SELECT month::VARCHAR, count(*) FROM stop_search_current GROUP BY 1").fetchall())
    assert wh.load([new]).files[0].revisions > 0
    counts = dict(wh.con.execute("SELECT month::VARCHAR, count(*) FROM stop_search_current GROUP BY 1").fetchall())
    assert counts["2018-01-01"] == counts_old["2018-01-01"]  # only in the old edition: kept
    assert counts["2018-02-01"] == counts_old["2018-02-01"] - 10  # replaced by the newer edition
    assert counts["2018-03-01"] == counts_old["2018-03-01"]  # replaced, unchanged
    assert "2018-04-01" in counts
    change = wh.con.execute(
        "SELECT sum(old_value) - sum(new_value) FROM revisions WHERE period = DATE '2018-02-01'"
    ).fetchone()[0]
    assert change == 10
    assert wh.con.execute("SELECT count(*) FROM revisions WHERE period = DATE '2018-03-01'").fetchone()[0] == 0
    # Both editions stay in the warehouse, apart: the old rows are there, just not current.
    assert wh.con.execute("SELECT count(DISTINCT file_id) FROM stop_search WHERE month = DATE '2018-02-01'").fetchone()[0] == 2

    # An older edition loaded afterwards does not take over the newer edition's months.
    older = cut_zip(stop_search_zip, tmp_path / "2018-02.zip", ["2018-02"])
    assert wh.load([older]).files[0].revisions == 0
    after = dict(wh.con.execute("SELECT month::VARCHAR, count(*) FROM stop_search_current GROUP BY 1").fetchall())
    assert after == counts


def test_rejected_rows_are_kept_with_their_reason_and_counts_add_up(wh: Warehouse, data_dir: Path, tmp_path: Path) -> None:
    source = data_dir / "police-uk" / "city-of-london-and-merseyside-street-2018-01_2021-09.zip"
    with zipfile.ZipFile(source) as z:
        lines = z.read("2019-01/2019-01-city-of-london-street.csv").decode().splitlines()
    fields = lines[3].split(",")
    fields[1] = "2019-1"
    path = tmp_path / "2019-01-city-of-london-street.csv"
    path.write_text("\n".join([*lines[:3], ",".join(fields), *lines[4:]]) + "\n")
    report = wh.load([path]).files[0]
    assert report.status == "loaded" and report.rejected == 1 and report.read == len(lines) - 1
    rows = wh.con.execute("SELECT line, field, value, reason FROM rejects").fetchall()
    assert rows == [(4, "Month", "2019-1", "Month '2019-1' is not a real month; expected YYYY-MM")]
    status = {d["dataset"]: d for d in wh.status()["datasets"]}["police_uk_street"]
    assert status["read"] == status["loaded"] + status["rejected"] == len(lines) - 1


def test_unrecognised_file_is_refused_naming_the_datasets(wh: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "mystery.csv"
    path.write_text("Colour,Shape\nred,square\n")
    report = wh.load([path]).files[0]
    assert report.status == "refused"
    for dataset in ("police_uk_street", "mps_borough_crime", "mopac_pas_borough", "geo_wards_2022"):
        assert dataset in report.message
    assert wh.con.execute("SELECT count(*) FROM files").fetchone()[0] == 0


def test_empty_file_is_refused(wh: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "2019-01-city-of-london-street.csv"
    path.write_bytes(b"")
    report = wh.load([path]).files[0]
    assert report.status == "refused" and "empty" in report.message


def test_a_later_load_brings_the_derived_tables_to_what_a_full_rebuild_gives(
    wh: Warehouse, data_dir: Path, tmp_path: Path
) -> None:
    def derived() -> dict[str, tuple[int, int]]:
        return {t: v for t, v in fingerprint(wh).items() if t in {"area_rollup", "monthly_counts", "derived_lookup"}}

    store = data_dir / "london-datastore"
    wh.load([data_dir / "geography", store / "MPS Borough Level Crime (most recent 24 months) 2022-02_2024-01.csv"])
    street = cut_zip(
        data_dir / "police-uk" / "city-of-london-and-merseyside-street-2018-01_2021-09.zip", tmp_path / "s.zip", ["2019-01"]
    )
    # Only these datasets' counts are redone (and the MPS units, which homicide adds to).
    report = wh.load([street, store / "MPS Homicide Dashboard victims 2003-01_2020-12.csv"])
    assert all(f.status == "loaded" for f in report.files)
    incremental = derived()
    assert incremental["monthly_counts"][0] > 0
    wh.refresh_derived()
    assert derived() == incremental


def test_a_file_whose_rows_mostly_fail_is_refused_not_registered(wh: Warehouse, data_dir: Path, tmp_path: Path) -> None:
    """The borough population header over rows that are not populations: refused whole, naming a reject."""
    lines = (data_dir / "geography" / "london_borough_population_census2021.csv").read_text(encoding="utf-8-sig").splitlines()
    bad = [lines[0]] + [f"{line.rsplit(',', 1)[0]},not a number" for line in lines[1:25]] + lines[25:]
    path = tmp_path / "london_borough_population_census2021.csv"
    path.write_text("\n".join(bad) + "\n", encoding="utf-8")
    report = wh.load([path])
    [f] = report.files
    assert f.status == "refused" and "24 of its 33 records (73%) cannot be read" in f.message, f.message
    assert "line 2, field usual_residents_2021" in f.message
    assert wh.con.execute("SELECT count(*) FROM files").fetchone()[0] == 0  # nothing registered
    ok = [lines[0]] + [f"{line.rsplit(',', 1)[0]},not a number" for line in lines[1:5]] + lines[5:]
    path.write_text("\n".join(ok) + "\n", encoding="utf-8")
    [f] = wh.load([path]).files
    assert f.status == "loaded" and f.rejected == 4  # a few bad rows: loaded, and each reported
