"""Loading inputs into the warehouse: one transaction per input, idempotent, with editions.

For each input (a file, an archive zip or a folder of month folders):

1. recognise its dataset(s) (``sources.sniff``) — or refuse it, changing nothing;
2. skip it if a file with the same sha256 is already loaded (loading twice changes nothing), or if
   every member of a zip or folder is already loaded by name, size and CRC-32 (the same data
   re-zipped has a new sha256 but the same members);
3. in one transaction: stream each part's record batches into its table, store the
   part's rejects, move rows whose area codes are unknown to ``rejects``, record which
   (dataset, series, period) slices the part supplies, and, where this input is a newer
   edition of slices already loaded, record in ``revisions`` what changed;
4. commit — or, on any error, roll back so the warehouse is exactly as it was.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Iterator, Protocol

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crimeplan.errors import CrimeplanError, InputError
from crimeplan.sources import sniff
from crimeplan.sources.base import Part
from crimeplan.sources.inputs import InputFile
from crimeplan.sources.records import RECORD_KINDS
from crimeplan.warehouse.schema import REFERENCE_CHECKS, RECORD_TABLES, slice_key_columns


@dataclass
class PartReport:
    member: str
    dataset: str
    table: str
    encoding: str
    read: int  # source records read
    loaded: int  # source records loaded
    rejected: int  # source records rejected
    notes: list[str] = field(default_factory=list)
    rows: int = 0  # tidy rows stored (a wide record gives several)


@dataclass
class FileReport:
    path: str
    status: str  # 'loaded', 'unchanged' (already loaded), 'refused' (error; nothing changed)
    message: str = ""
    file_id: int | None = None
    datasets: list[str] = field(default_factory=list)
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    revisions: int = 0
    seconds: float = 0.0
    parts: list[PartReport] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.read == self.loaded + self.rejected


@dataclass
class LoadReport:
    files: list[FileReport] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files passed over as not data (README.md, …)

    @property
    def ok(self) -> bool:
        return all(f.status != "refused" for f in self.files)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "files": [asdict(f) for f in self.files], "skipped": self.skipped}


class Progress(Protocol):
    """What the loader tells a progress display (the CLI draws Rich bars from it)."""

    def start(self, name: str, total_bytes: int) -> None: ...
    def advance(self, nbytes: int) -> None: ...
    def finish(self, report: FileReport) -> None: ...


class NoProgress:
    def start(self, name: str, total_bytes: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def finish(self, report: FileReport) -> None:
        pass


# A file most of whose records fail is not the dataset its header matched (another dataset's rows, a
# shifted export): it is refused whole rather than registered with nearly every row rejected.
MAX_REJECTED_SHARE = 0.5
MIN_RECORDS_JUDGED = 20  # a handful of records, half of them bad, is still a file to load and report


def load_input(con: duckdb.DuckDBPyConnection, inp: InputFile, progress: Progress | None = None) -> FileReport:
    """Load one input in one transaction; never leaves it half-loaded."""
    progress = progress or NoProgress()
    started = time.perf_counter()
    report = FileReport(path=str(inp.path), status="refused")
    try:
        found = sniff(inp)
        report.datasets = list(found.datasets)
        sha256 = inp.sha256()
        existing = con.execute("SELECT file_id FROM files WHERE sha256 = ?", [sha256]).fetchone()
        if existing:
            report.status, report.file_id = "unchanged", existing[0]
            report.message = "already loaded (same sha256): nothing changed"
            return report
        contents = inp.member_contents()
        holder = _already_holding(con, contents)
        if holder:
            report.status, report.file_id = "unchanged", holder[0]
            report.message = (f"every one of its {len(contents):,} files is already loaded, byte for byte, from "
                              f"{holder[1]} (a copy of the same data under another checksum): nothing changed")
            return report
        progress.start(inp.name, inp.size())
        con.execute("BEGIN TRANSACTION")
        try:
            _load_in_transaction(con, inp, found.reader.parts(inp), sha256, report, progress)
            if contents:
                _insert_rows(con, "member_contents", [(report.file_id, *c) for c in contents])
            con.execute("COMMIT")
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except duckdb.TransactionException:
                pass  # the failure was the commit itself: DuckDB has already discarded the transaction
            raise
        report.status = "loaded"
    except CrimeplanError as exc:
        report.status, report.message = "refused", str(exc)
        report.parts = []
        report.read = report.loaded = report.rejected = report.revisions = 0
    finally:
        inp.close()
        report.seconds = round(time.perf_counter() - started, 3)
        progress.finish(report)
    return report


def _already_holding(con, contents: list[tuple[str, int, int]] | None) -> tuple[int, str] | None:
    """The loaded input (file id, name) that already holds every one of these members (name, size and CRC-32
    alike), if one does: loading them again would only store the same rows twice."""
    if not contents:
        return None
    con.register("wanted_members", pa.Table.from_pylist(
        [{"member": name, "size": size, "crc32": crc} for name, size, crc in contents]))
    try:
        found = con.execute(
            """SELECT m.file_id, f.name FROM member_contents m
               JOIN wanted_members w ON w.member = m.member AND w.size = m.size AND w.crc32 = m.crc32
               JOIN files f ON f.file_id = m.file_id
               GROUP BY ALL HAVING count(*) = (SELECT count(*) FROM wanted_members)
               ORDER BY m.file_id DESC LIMIT 1""").fetchall()
    finally:
        con.unregister("wanted_members")
    return found[0] if found else None


def _load_in_transaction(con, inp: InputFile, parts, sha256: str, report: FileReport, progress: Progress) -> None:
    file_id = con.execute("SELECT coalesce(max(file_id), 0) + 1 FROM files").fetchone()[0]
    report.file_id = file_id
    # The edition and counts are filled in once the parts are in.
    con.execute(
        "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, '', ?, 0, 0, 0)",
        [file_id, inp.name, str(inp.path.resolve()), inp.kind, sha256, inp.size(),
         datetime.now(timezone.utc).replace(tzinfo=None)],
    )
    sizes = {m.name: m.size for m in inp.members()}
    numbered = list(enumerate(parts, start=1))  # parts are lazy: nothing is read yet
    reports: dict[int, PartReport] = {}
    for table in dict.fromkeys(part.kind for _, part in numbered):
        group = [(part_id, part) for part_id, part in numbered if part.kind == table]
        reports.update(_insert_parts(con, file_id, table, group, lambda part: progress.advance(sizes.get(part.member, 0))))
    report.parts = [reports[part_id] for part_id, _ in numbered]
    if not report.parts:
        raise InputError(str(inp.path), "holds no data files", expected="at least one table of data")
    # Checks and bookkeeping run once per table for the whole file: one scan, not one per part.
    for table in dict.fromkeys(p.table for p in report.parts):
        moved, moved_rows, notes = _apply_reference_checks(con, table, file_id)
        unordered = [i for i, p in enumerate(report.parts, start=1) if p.table == table and p.loaded < 0]
        if unordered:
            stored = dict(con.execute(
                f"""SELECT part_id, {_RECORDS} FROM {table}
                    WHERE file_id = ? AND list_contains(?, part_id) GROUP BY part_id""",
                [file_id, unordered],
            ).fetchall())
        for part_id, part_report in enumerate(report.parts, start=1):
            if part_report.table == table:
                if part_report.loaded < 0:
                    part_report.loaded = stored.get(part_id, 0)
                else:
                    part_report.loaded -= moved.get(part_id, 0)
                part_report.rows -= moved_rows.get(part_id, 0)
                part_report.rejected += moved.get(part_id, 0)
                part_report.notes += notes.get(part_id, [])
                if part_report.read != part_report.loaded + part_report.rejected:
                    # A reader bug, never the data's fault: refuse the file rather than store wrong counts.
                    raise AssertionError(
                        f"{inp.path}!{part_report.member}: read {part_report.read} != loaded {part_report.loaded}"
                        f" + rejected {part_report.rejected}"
                    )
        con.execute(
            f"""INSERT INTO slices
            SELECT dataset, '{table}', _series, _period, file_id, part_id, count(*)
            FROM (SELECT dataset, file_id, part_id, {slice_key_columns(table)} FROM {table} WHERE file_id = ?)
            GROUP BY ALL""",
            [file_id],
        )
    for p in report.parts:
        if p.read >= MIN_RECORDS_JUDGED and p.rejected > MAX_REJECTED_SHARE * p.read:
            where = f"{inp.path}!{p.member}" if p.member else str(inp.path)
            first = con.execute(
                "SELECT line, field, reason FROM rejects WHERE file_id = ? AND part_id = ? ORDER BY line LIMIT 1",
                [file_id, report.parts.index(p) + 1],
            ).fetchone()
            example = f" (the first: line {first[0]}, field {first[1]}: {first[2]})" if first else ""
            raise InputError(where, f"{p.rejected:,} of its {p.read:,} records ({p.rejected / p.read:.0%}) cannot be read "
                             f"as {p.dataset}{example}: the file is not what its header says, so none of it is loaded",
                             expected=f"at most {MAX_REJECTED_SHARE:.0%} of records rejected")
    _insert_rows(con, "parts", [
        (file_id, part_id, p.member, p.dataset, p.table, p.encoding, p.read, p.loaded, p.rejected,
         "; ".join(p.notes) or None)
        for part_id, p in enumerate(report.parts, start=1)
    ])
    report.datasets = list(dict.fromkeys(p.dataset for p in report.parts))
    report.read = sum(p.read for p in report.parts)
    report.loaded = sum(p.loaded for p in report.parts)
    report.rejected = sum(p.rejected for p in report.parts)
    edition = con.execute(
        "SELECT strftime(max(period), '%Y-%m') FROM slices WHERE file_id = ?", [file_id]
    ).fetchone()[0] or "0001-01"
    con.execute(
        "UPDATE files SET edition = ?, records_read = ?, records_loaded = ?, records_rejected = ? WHERE file_id = ?",
        [edition, report.read, report.loaded, report.rejected, file_id],
    )
    report.revisions = _record_revisions(con, file_id)


def read_ahead(group: list[tuple[int, Part]], workers: int = 3, window: int = 6) -> Iterator[tuple[int, Part, list]]:
    """Each part with its batches, read by worker threads a few parts ahead, in order.

    Readers spend their time in zlib and Arrow, which release the GIL, so with
    hundreds of zip members several are read at once while DuckDB stores the
    last (three readers keep DuckDB busy on two cores; measured in bench/). At
    most ``window`` parts are held in memory.
    """
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crimeplan-reader") as pool:
        waiting = iter(group)
        pending: deque = deque()

        def submit() -> None:
            item = next(waiting, None)
            if item is not None:
                pending.append((item, pool.submit(lambda part=item[1]: list(part.batches))))

        for _ in range(window):
            submit()
        try:
            while pending:
                (part_id, part), future = pending.popleft()
                submit()
                yield part_id, part, future.result()
        finally:
            for _, future in pending:
                future.cancel()


# Source records among a set of rows: distinct lines, and each row without a line on its own.
_RECORDS = "count(DISTINCT line) + count(*) FILTER (WHERE line IS NULL)"


def _insert_parts(con, file_id: int, table: str, group: list[tuple[int, Part]], done) -> dict[int, PartReport]:
    """Stream the batches of every part of one table into it with a single INSERT.

    One statement for the whole file lets DuckDB write full row groups as the data
    arrives, which is several times faster than one INSERT per zip member.
    """
    columns = RECORD_KINDS[table].names
    loaded = {part_id: 0 for part_id, _ in group}
    records = {part_id: _LineCounter() for part_id, _ in group}
    failure: BaseException | None = None
    dataset_type = pa.dictionary(pa.int8(), pa.string())
    schema = group[0][1].schema.append(pa.field("dataset", dataset_type)).append(pa.field("part_id", pa.int32()))

    def batches():
        nonlocal failure
        try:
            for part_id, part, part_batches in read_ahead(group):
                for batch in part_batches:
                    n = batch.num_rows
                    loaded[part_id] += n
                    records[part_id].add(batch.column("line"))
                    yield pa.RecordBatch.from_arrays(
                        [*batch.columns,
                         pa.DictionaryArray.from_arrays(np.zeros(n, np.int8), [part.dataset]),
                         pa.array(np.full(n, part_id, np.int32))],
                        schema=schema,
                    )
                done(part)
        except BaseException as exc:  # DuckDB will wrap it; keep the original to re-raise
            failure = exc
            raise

    select = ", ".join(f'"{c}"' for c in columns)
    con.register("incoming", pa.RecordBatchReader.from_batches(schema, batches()))
    try:
        con.execute(
            f"INSERT INTO {table} (dataset, file_id, part_id, line, {select}) "
            f"SELECT dataset, ?, part_id, line, {select} FROM incoming",
            [file_id],
        )
    except (duckdb.Error, pa.ArrowException):
        # A reader error raised inside the stream arrives wrapped; surface the original.
        if failure is not None:
            raise failure from None
        raise
    finally:
        try:
            con.unregister("incoming")
        except duckdb.TransactionException:
            pass  # the transaction is aborted; the rollback that follows discards the view
    reports = {}
    for part_id, part in group:
        rejects = [(file_id, part_id, part.dataset, r.line, r.field, r.value, r.reason) for r in part.rejects]
        _insert_rows(con, "rejects", rejects)
        counter = records[part_id]
        reports[part_id] = PartReport(
            part.member, part.dataset, table, part.encoding, part.records_read,
            counter.count if counter.ordered else -1,  # -1: count in SQL after the insert
            len(rejects), list(part.notes), rows=loaded[part_id],
        )
    return reports


def _insert_rows(con, table: str, rows: list[tuple]) -> None:
    """Append Python rows to a bookkeeping table in one statement (executemany runs one per row)."""
    if not rows:
        return
    names = [name for (name,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position", [table]
    ).fetchall()]
    frame = pa.Table.from_pylist([dict(zip(names, row)) for row in rows])
    con.register("new_rows", frame)
    try:
        con.execute(f"INSERT INTO {table} SELECT {', '.join(names)} FROM new_rows")
    finally:
        con.unregister("new_rows")


class _LineCounter:
    """Counts source records in a stream of rows: distinct lines, each line-less row on its own.

    Readers emit a record's rows together and lines in order, so counting where
    the line changes is enough — and far cheaper than a DISTINCT over millions of
    rows afterwards. If lines ever go backwards, ``ordered`` turns false and the
    loader counts in SQL instead.
    """

    def __init__(self) -> None:
        self.count = 0
        self.last: int | None = None
        self.ordered = True

    def add(self, lines: pa.Array) -> None:
        if not self.ordered:
            return
        self.count += lines.null_count
        values = np.asarray(pc.drop_null(lines) if lines.null_count else lines, dtype=np.int64)
        if values.size == 0:
            return
        if (self.last is not None and values[0] < self.last) or bool(np.any(values[1:] < values[:-1])):
            self.ordered = False
            return
        self.count += int(np.count_nonzero(values[1:] != values[:-1])) + int(self.last is None or values[0] != self.last)
        self.last = int(values[-1])


def _apply_reference_checks(
    con, table: str, file_id: int
) -> tuple[dict[int, int], dict[int, int], dict[int, list[str]]]:
    """Move this file's rows that name unknown areas to ``rejects``.

    Returns, by part, the records moved, the rows moved, and any notes.
    """
    moved: dict[int, int] = {}
    moved_rows: dict[int, int] = {}
    notes: dict[int, list[str]] = {}
    for check in (c for c in REFERENCE_CHECKS if c.table == table):
        where = f"r.file_id = {int(file_id)} AND ({check.applies})"
        for part_id, unchecked in con.execute(
            f"SELECT part_id, count(*) FROM {table} r WHERE {where} AND NOT ({check.reference}) GROUP BY ALL"
        ).fetchall():
            notes.setdefault(part_id, []).append(
                f"{unchecked} rows: {check.field} checked for form only (the geography it refers to is not loaded)"
            )
        failing = f"{where} AND ({check.reference}) AND NOT ({check.known})"
        counts = con.execute(
            f"SELECT part_id, {_RECORDS}, count(*) FROM {table} r WHERE {failing} GROUP BY ALL"
        ).fetchall()
        if not counts:
            continue
        # One reject per source record, however many tidy rows (months) it gave.
        con.execute(
            f"""INSERT INTO rejects
            SELECT r.file_id, r.part_id, any_value(r.dataset), r.line, '{check.field}',
                   any_value(CAST(r.{check.field} AS VARCHAR)), any_value({check.reason})
            FROM {table} r WHERE {failing}
            GROUP BY r.file_id, r.part_id, r.line, CASE WHEN r.line IS NULL THEN r.rowid END"""
        )
        con.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT r.rowid FROM {table} r WHERE {failing})")
        for part_id, count, rows in counts:
            moved[part_id] = moved.get(part_id, 0) + count
            moved_rows[part_id] = moved_rows.get(part_id, 0) + rows
    return moved, moved_rows, notes


def _record_revisions(con, file_id: int) -> int:
    """Where this file is now the current edition of slices another file supplied, record what changed."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE superseded AS
        SELECT n.dataset, n.record_table, n.series, n.period, n.part_id AS new_part,
               o.file_id AS old_file, o.part_id AS old_part
        FROM current_slices n
        JOIN (SELECT s.* FROM slices s JOIN files f USING (file_id) WHERE s.file_id <> $file
              QUALIFY dense_rank() OVER (PARTITION BY s.dataset, s.record_table, s.series, s.period
                                         ORDER BY f.edition DESC, f.file_id DESC) = 1) o
          USING (dataset, record_table, series, period)
        WHERE n.file_id = $file""",
        {"file": file_id},
    )
    total = 0
    tables = con.execute("SELECT DISTINCT record_table FROM superseded").fetchall()
    for (table,) in tables:
        spec = RECORD_TABLES[table]
        if spec.revision_value is None:
            continue
        aggregate = f"""
            SELECT r.dataset, r._series AS series, r._period AS period,
                   CAST({spec.revision_area} AS VARCHAR) AS area, CAST({spec.revision_category} AS VARCHAR) AS category,
                   CAST({spec.revision_value} AS DOUBLE) AS value, any_value(s.old_file) AS old_file
            FROM (SELECT *, {slice_key_columns(table)} FROM {table}) r
            JOIN superseded s ON s.dataset = r.dataset AND s.record_table = '{table}'
             AND s.series = r._series AND s.period = r._period AND {{match}}
            GROUP BY ALL"""
        before = aggregate.format(match="r.file_id = s.old_file AND r.part_id = s.old_part")
        after = aggregate.format(match=f"r.file_id = {int(file_id)} AND r.part_id = s.new_part")
        total += con.execute(
            f"""INSERT INTO revisions
            SELECT dataset, series, area, category, period, o.value, n.value,
                   coalesce(o.old_file, n.old_file), {int(file_id)}
            FROM ({before}) o FULL OUTER JOIN ({after}) n USING (dataset, series, period, area, category)
            WHERE o.value IS DISTINCT FROM n.value"""
        ).fetchone()[0]
    con.execute("DROP TABLE superseded")
    return total
