"""A warehouse another process holds: a load waits for it, then says in crimeplan's words who holds it; a load
while `crimeplan serve` runs swaps a new file in, which the server's next request sees."""

from __future__ import annotations

import fcntl
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx

import pytest

from crimeplan.errors import CrimeplanError
from crimeplan import warehouse
from crimeplan.warehouse import Warehouse

HOLD = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(float(sys.argv[2]))"


def _hold(path, seconds: float) -> subprocess.Popen:
    Warehouse.open(path).close()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_busy_warehouse_is_explained_not_duckdbs_message(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(warehouse, "LOCK_WAIT_SECONDS", 1.0)
    holder = _hold(tmp_path / "w.duckdb", 30)
    try:
        with pytest.raises(CrimeplanError) as found:
            Warehouse.open(tmp_path / "w.duckdb")
        message = str(found.value)
        assert f"in use by process {holder.pid}" in message and "crimeplan serve" in message
        assert "-readonly" not in message and "duckdb.org" not in message
    finally:
        holder.kill()


def test_a_load_waits_for_the_other_to_finish(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(warehouse, "LOCK_WAIT_SECONDS", 20.0)
    holder = _hold(tmp_path / "w.duckdb", 2)
    started = time.monotonic()
    Warehouse.open(tmp_path / "w.duckdb").close()  # opened once the holder let go
    assert time.monotonic() - started >= 1
    holder.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _new_edition(data_dir: Path, dest: Path) -> Path:
    """Three months of the City's stop-and-search with one byte changed: a new file supplying them."""
    source = data_dir / "police-uk" / "city-of-london-stop-and-search-2017-12_2020-11.zip"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            if name.split("/")[0] in ("2020-09", "2020-10", "2020-11") and not name.endswith("/"):
                out.writestr(name, src.read(name).replace(b"Male", b"Female", 1))
    return dest


def test_a_load_while_serving_swaps_the_warehouse_and_the_next_request_sees_it(loaded_db, data_dir, tmp_path) -> None:
    db = tmp_path / "served.duckdb"
    shutil.copyfile(loaded_db, db)
    cli = str(Path(sys.executable).with_name("crimeplan"))
    port = _free_port()
    server = subprocess.Popen([cli, "serve", "--db", str(db), "--port", str(port)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                before = httpx.get(f"{base}/api/edition", timeout=30)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read()
                time.sleep(0.5)
        names = {f["name"] for f in before.json()["files"]}
        assert "city-of-london-stop-and-search-2017-12_2020-11.zip" in names and "city-sas-new.zip" not in names

        edition = _new_edition(data_dir, tmp_path / "city-sas-new.zip")
        done = subprocess.run([cli, "load", str(edition), "--db", str(db)], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "swapped in whole" in done.stdout and "lock" not in done.stderr.lower(), done.stdout + done.stderr
        assert not db.with_name(db.name + ".loading").exists()

        after = httpx.get(f"{base}/api/edition", timeout=60).json()  # the next request: the new file's figures
        assert "city-sas-new.zip" in {f["name"] for f in after["files"]}
        assert after["label"] != before.json()["label"]
        assert server.poll() is None
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_two_loads_queue_the_second_saying_what_it_waits_for(tmp_path, data_dir) -> None:
    db = tmp_path / "w.duckdb"
    Warehouse.open(db).close()
    lock = db.with_name(db.name + ".load-lock")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time\n"
        "h = open(sys.argv[1], 'a+'); fcntl.flock(h, fcntl.LOCK_EX); h.truncate(0); h.write('process 4242'); "
        "h.flush(); print('held', flush=True); time.sleep(3)"), str(lock)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    cli = str(Path(sys.executable).with_name("crimeplan"))
    started = time.monotonic()
    done = subprocess.run([cli, "load", str(data_dir / "police-uk" / "city-of-london-stop-and-search-2017-12_2020-11.zip"),
                           "--db", str(db)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert time.monotonic() - started >= 1.5  # waited for the first load to let go
    assert "waiting for the load by process 4242 to finish" in done.stderr
    holder.wait()
    with open(lock) as h:  # free again
        fcntl.flock(h, fcntl.LOCK_EX | fcntl.LOCK_NB)
