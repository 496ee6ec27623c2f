"""Shared fixtures: where the real data is, and a scratch warehouse.

Real-data tests read the official files from $CRIMEPLAN_DATA or ../shared/data.
Outside CI they skip when the data is absent; in CI (CI=true) they fail instead,
so that they can never silently not run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _data_dir() -> Path | None:
    env = os.environ.get("CRIMEPLAN_DATA")
    if env:
        return Path(env)
    shared = ROOT.parent / "shared" / "data"
    return shared if shared.is_dir() else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = _data_dir()
    if path is None or not path.is_dir():
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("real data not found: set CRIMEPLAN_DATA or put ../shared/data beside the project")
        pytest.skip("real data not found (set CRIMEPLAN_DATA)")
    return path


@pytest.fixture(scope="session")
def loaded_db(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse file holding all of the real data, loaded once per test session.

    Tests must treat it as read-only (open it with ``read_only=True``).
    """
    from crimeplan.warehouse import Warehouse

    path = tmp_path_factory.mktemp("warehouse") / "all.duckdb"
    with Warehouse.open(path) as wh:
        report = wh.load([data_dir])
    refused = [f"{f.path}: {f.message}" for f in report.files if f.status == "refused"]
    assert not refused, refused
    return path


@pytest.fixture()
def loaded(loaded_db: Path):
    """The all-data warehouse, opened read-only."""
    from crimeplan.warehouse import Warehouse

    with Warehouse.open(loaded_db, read_only=True) as wh:
        yield wh
