"""Where things are: the warehouse file and the data folder, with their overrides."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB = "crimeplan.duckdb"


def db_path(explicit: str | os.PathLike | None = None) -> Path:
    """The warehouse file: the explicit path, else $CRIMEPLAN_DB, else ./crimeplan.duckdb."""
    return Path(explicit or os.environ.get("CRIMEPLAN_DB") or DEFAULT_DB)


def data_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The folder of official files: explicit, else $CRIMEPLAN_DATA, else ../shared/data if it exists."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("CRIMEPLAN_DATA")
    if env:
        return Path(env)
    shared = Path("..") / "shared" / "data"
    return shared if shared.is_dir() else None
