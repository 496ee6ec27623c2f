"""The warehouse: one embedded DuckDB file holding every loaded publication.

    >>> from crimeplan.warehouse import Warehouse
    >>> wh = Warehouse.open("crimeplan.duckdb")          # doctest: +SKIP
    >>> report = wh.load(["../shared/data"])             # doctest: +SKIP
    >>> wh.status()["datasets"][0]["dataset"]            # doctest: +SKIP
    'geo_bcus'
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from crimeplan.config import db_path
from crimeplan.errors import CrimeplanError
from crimeplan.sources.inputs import discover
from crimeplan.warehouse import derived
from crimeplan.warehouse.load import FileReport, LoadReport, NoProgress, Progress, load_input
from crimeplan.warehouse.schema import SCHEMA_VERSION, added_column_ddl, all_ddl
from crimeplan.warehouse.status import warehouse_status



LOAD_MEMORY_LIMIT = os.environ.get("CRIMEPLAN_LOAD_MEMORY", "384MB")


LOCK_WAIT_SECONDS = float(os.environ.get("CRIMEPLAN_LOCK_WAIT", 30))  # how long a load waits for another to finish
_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file; while another process holds it (a load, or a server), wait up to
    LOCK_WAIT_SECONDS, then say in crimeplan's words who holds it and what to do."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            held = _HOLDER.search(str(exc))
            if held is None and "lock" not in str(exc).lower():
                raise CrimeplanError(f"{path}: cannot open the warehouse ({exc})") from exc
            if time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            who = f"process {held.group(2)} ({Path(held.group(1)).name})" if held else "another process"
            raise CrimeplanError(
                f"{path}: the warehouse is in use by {who}, and stayed so for {LOCK_WAIT_SECONDS:g} s. A load "
                f"waits for another load to finish; a running `crimeplan serve` keeps the file open, so stop it "
                f"(Ctrl-C), load, and start it again — or load into another file with --db and serve that"
            ) from None
        except duckdb.Error as exc:
            raise CrimeplanError(f"{path}: cannot open the warehouse ({exc})") from exc


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    return isinstance(exc, duckdb.IOException) and ("lock" in str(exc).lower() or bool(_HOLDER.search(str(exc))))


@contextmanager
def _load_queue(path: Path, waiting: Callable[[str], None] | None) -> Iterator[None]:
    """One load at a time per warehouse: a lock file beside it, waited for (the second load queues)."""
    lock_path = path.with_name(path.name + ".load-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            if waiting:
                waiting(f"{path}: waiting for the load by {holder} to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


class Warehouse:
    """An open warehouse file. Use :meth:`open`; close it (or use ``with``) when done."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, read_only: bool) -> None:
        self.path = path
        self.con = con
        self.read_only = read_only
        self.swapped = False  # loaded into a copy swapped in for readers (open_for_loading)

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, *, read_only: bool = False) -> "Warehouse":
        path = db_path(path)
        if read_only and not path.exists():
            raise CrimeplanError(f"{path}: no warehouse here yet; run `crimeplan load` first")
        con = _connect(path, read_only)
        # Row order is kept by the line column, not by storage order; not preserving
        # insertion order lets DuckDB store large loads in parallel (~20% less CPU).
        con.execute("SET preserve_insertion_order = false")
        wh = cls(path, con, read_only)
        if not read_only:
            wh._ensure_schema()
        elif wh._schema_version() < SCHEMA_VERSION:
            # Built by an older crimeplan: bring its schema and derived tables up to date once, then read.
            con.close()
            try:
                cls.open(path).close()
            except CrimeplanError as exc:
                raise CrimeplanError(f"{path}: the warehouse was built by an older crimeplan (schema "
                                     f"{wh._schema_version()}, now {SCHEMA_VERSION}) and could not be upgraded "
                                     f"({exc}); run `crimeplan load` on it, or `crimeplan reset --yes` and load again") from exc
            return cls.open(path, read_only=True)
        return wh

    @classmethod
    @contextmanager
    def open_for_loading(cls, path: str | os.PathLike | None = None,
                         waiting: Callable[[str], None] | None = None) -> Iterator["Warehouse"]:
        """The warehouse to load into, even while ``crimeplan serve`` (or any reader) has it open.

        Loads queue on a lock file beside the warehouse. A warehouse that only readers hold is copied, loaded
        into, and swapped in whole (``os.replace``, atomic): each reader keeps the edition it opened until it
        reopens — the server does on its next request. The swap happens when the block ends normally; on an
        error the copy is discarded and the warehouse is as it was. One a writer holds is waited for, as
        :meth:`open` does. ``self.swapped`` says which way it went.
        """
        path = db_path(path)
        with _load_queue(path, waiting):
            reader = _readers_hold(path)
            if reader is None:
                with cls.open(path) as wh:
                    wh.swapped = False
                    yield wh
                return
            staging = path.with_name(path.name + ".loading")
            wal, staging_wal = Path(f"{path}.wal"), Path(f"{staging}.wal")
            for p in (staging, staging_wal):
                p.unlink(missing_ok=True)
            try:
                shutil.copyfile(path, staging)  # the reader's shared lock keeps any writer out while copying
                if wal.exists():
                    shutil.copyfile(wal, staging_wal)
            finally:
                reader.close()
            try:
                with cls.open(staging) as wh:
                    wh.swapped = True
                    yield wh
            except BaseException:
                for p in (staging, staging_wal):
                    p.unlink(missing_ok=True)
                raise
            os.replace(staging, path)  # closed cleanly: the copy holds everything, no log of its own
            wal.unlink(missing_ok=True)  # a log of the old file would be replayed into the new one

    def _schema_version(self) -> int:
        try:
            found = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except duckdb.Error:
            return 0
        return int(found[0]) if found else 0

    def _ensure_schema(self) -> None:
        for statement in all_ddl():
            self.con.execute(statement)
        existing: dict[str, set[str]] = {}
        for table, column in self.con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'"
        ).fetchall():
            existing.setdefault(table, set()).add(column)
        for statement in added_column_ddl(existing):
            self.con.execute(statement)
        stored = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if stored is not None and int(stored[0]) < SCHEMA_VERSION:
            derived.refresh(self.con, None)  # derived tables this version adds, from the rows already loaded
        self.con.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
        )

    def load(self, paths: list[str | os.PathLike], progress: Progress | None = None) -> LoadReport:
        """Load every input under ``paths`` (files, zips, folders), each in its own transaction."""
        inputs, skipped = discover(list(paths))
        inputs.sort(key=_load_rank)
        report = LoadReport(skipped=[str(p) for p in skipped])
        # A load streams straight to disk; a small buffer pool keeps peak memory low
        # (about 40% less) at no cost in speed. Queries get DuckDB's default back.
        previous = self.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        self.con.execute(f"SET memory_limit = '{LOAD_MEMORY_LIMIT}'")
        try:
            for inp in inputs:
                report.files.append(load_input(self.con, inp, progress or NoProgress()))
        finally:
            self.con.execute(f"SET memory_limit = '{previous}'")
        changed: dict[str, set[str]] = {}
        for f in report.files:
            if f.status == "loaded":
                for part in f.parts:
                    changed.setdefault(part.table, set()).add(part.dataset)
        if changed:
            self.refresh_derived(changed)
        return report

    def refresh_derived(self, changed: dict[str, set[str]] | None = None) -> None:
        """Bring the tables measures read up to date (area rollup, best-fit lookups, monthly counts).

        ``changed``: the record tables and datasets a load changed; None rebuilds everything.
        """
        derived.refresh(self.con, changed)

    def load_one(self, path: str | os.PathLike, progress: Progress | None = None) -> FileReport:
        report = self.load([path], progress)
        if len(report.files) != 1:
            raise CrimeplanError(f"{path}: expected one input, found {len(report.files)}")
        return report.files[0]

    def status(self) -> dict:
        return warehouse_status(self.con, self.path)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Warehouse":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _readers_hold(path: Path) -> duckdb.DuckDBPyConnection | None:
    """A read-only connection to ``path`` when other processes hold it only to read (a server), else None:
    nobody holds it (load in place), or a writer does (wait for it). The connection keeps writers out."""
    if not path.exists():
        return None
    try:
        duckdb.connect(str(path)).close()
        return None
    except duckdb.Error as exc:
        if not _is_lock_conflict(exc):
            return None  # not a lock: Warehouse.open explains it
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None  # a writer holds it


def _load_rank(inp) -> tuple[int, str]:
    name = inp.name.lower()
    # geography and harm first (their folder or name says so), then everything else in name order
    reference = any(part in ("geography", "harm") for part in inp.path.parts) or name.startswith(("london_", "mps_bcus", "cchi"))
    return (0 if reference else 1, str(inp.path))


def reset(path: str | os.PathLike | None = None) -> Path:
    """Delete the warehouse file (and its write-ahead log)."""
    path = db_path(path)
    for p in (path, Path(str(path) + ".wal")):
        if p.exists():
            p.unlink()
    return path


__all__ = ["FileReport", "LoadReport", "Warehouse", "reset"]
