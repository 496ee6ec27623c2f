"""A warehouse another process holds: a load waits for it, then says in crimeplan's words who holds it."""

from __future__ import annotations

import subprocess
import sys
import time

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
