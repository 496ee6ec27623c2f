"""The contract between a source reader and the warehouse.

A :class:`Reader` recognises the files of one publisher format (``sniff``) and
turns an input into :class:`Part` s: one per table-shaped piece (a CSV, a zip
member, a workbook sheet). A part's ``batches`` is a generator of Arrow record
batches in the schema of its record kind (see ``records.py``) plus a ``line``
column.

Counting is in *source records*: a CSV record, a spreadsheet row, a GeoJSON
feature. While the generator runs it counts every source record it reads in
``records_read`` and either yields that record's tidy rows, all carrying the
record's ``line`` (a wide record with 160 month columns yields 160 rows with
one line), or appends exactly one :class:`Reject` for it. So when it is
exhausted, ``records_read == distinct lines yielded + len(rejects)`` — the
loader checks this for every part. (A row the reader makes up rather than
reads, such as London from the BCU file, has line None and counts as one
record.)

A problem with the file as a whole (missing columns, empty, unreadable)
raises :class:`~crimeplan.errors.InputError` and nothing of the file is loaded.
"""

from __future__ import annotations

import abc
import calendar
import re
from dataclasses import dataclass, field
from datetime import date
from typing import ClassVar, Iterable, Iterator, Sequence, Union

import pyarrow as pa
import pyarrow.compute as pc

from crimeplan.errors import InputError
from crimeplan.sources.inputs import InputFile
from crimeplan.sources.records import RECORD_KINDS, batch_schema


@dataclass(frozen=True)
class Reject:
    """A record that could not be loaded, and why."""

    line: int | None  # physical line the record starts on (header = line 1); None for non-text
    field: str | None  # the field at fault, as named in the file
    value: str | None  # the offending value, as published
    reason: str  # what was wrong and what was expected


@dataclass
class Part:
    """One table-shaped piece of an input file, read lazily."""

    dataset: str
    kind: str  # the record kind, = the warehouse table
    member: str = ""  # name within the input ('' for a plain file)
    encoding: str = "utf-8"
    batches: Iterable[pa.RecordBatch] = ()
    records_read: int = 0
    rejects: list[Reject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def schema(self) -> pa.Schema:
        return batch_schema(self.kind)


@dataclass(frozen=True)
class Sniff:
    """What a reader recognised a file as."""

    reader: "Reader"
    datasets: tuple[str, ...]
    description: str


class Reader(abc.ABC):
    """Reads one publisher format. Every subclass in a module of ``crimeplan.sources`` is found (and a
    third party's through the ``crimeplan.readers`` entry points): see ``sources/__init__.py``."""

    #: dataset ids this reader can produce
    datasets: ClassVar[tuple[str, ...]] = ()
    #: what the format looks like, said to a user whose file matched nothing
    signature: ClassVar[str] = ""
    #: when it is asked, before readers of higher order (a format another's sniff could also match goes first)
    order: ClassVar[int] = 100

    @abc.abstractmethod
    def sniff(self, inp: InputFile) -> Sniff | None:
        """Recognise ``inp`` by its name, header and shape; None if it is not this format."""

    @abc.abstractmethod
    def parts(self, inp: InputFile) -> Iterator[Part]:
        """The parts of ``inp``; each part's batches are read when the loader consumes them."""

    def unrecognised(self, inp: InputFile, what: str) -> InputError:
        """The refusal for a file handed to this reader that it cannot read: empty, or not ``what``."""
        if inp.kind == "file" and not inp.members()[0].head().strip():
            return InputError(str(inp.path), "the file is empty", expected=self.signature)
        return InputError(str(inp.path), f"not recognised as {what}", expected=self.signature)


def make_batch(kind: str, columns: dict[str, Sequence], lines: Sequence[int]) -> pa.RecordBatch:
    """A record batch of ``kind`` from Python columns (missing columns become nulls)."""
    schema = batch_schema(kind)
    n = len(lines)
    arrays = []
    for f in schema:
        if f.name == "line":
            arrays.append(pa.array(lines, type=f.type))
        elif f.name in columns:
            arrays.append(pa.array(columns[f.name], type=f.type))
        else:
            arrays.append(pa.nulls(n, type=f.type))
    unknown = set(columns) - set(schema.names)
    if unknown:
        raise ValueError(f"{kind} has no fields {sorted(unknown)}")
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


# What a row-by-row reader produces: a tidy row (line, values) or a Reject for a whole record.
Row = Union[tuple[Union[int, None], dict], Reject]


def batches_from_rows(part: Part, rows: Iterable[Row]) -> Iterator[pa.RecordBatch]:
    """Record batches of ``part.kind`` from tidy rows and rejects, counting every source record read.

    A record's rows come together and share its line (a wide row gives one tidy
    row per month or age band), so a record is counted when its line first
    appears; a reject is one record; a row without a line counts on its own.
    """
    buffer = RowBuffer(part.kind)
    last_line: object = object()
    for row in rows:
        if isinstance(row, Reject):
            part.records_read += 1
            part.rejects.append(row)
            last_line = object()
            continue
        line, values = row
        if line is None or line != last_line:
            part.records_read += 1
        last_line = line
        buffer.add(line, **values)
        if buffer.full():
            yield from buffer.flush()
    yield from buffer.flush()


def width_problem(rec, header: Sequence[str]) -> Reject | None:
    """A record with the wrong number of fields (empty trailing fields are forgiven), as a Reject."""
    fields = rec.fields
    if len(fields) == len(header) or (len(fields) > len(header) and not any(f.strip() for f in fields[len(header):])):
        return None
    text = ",".join(fields)
    return Reject(rec.line, None, text if len(text) <= 80 else text[:79] + "…",
                  f"{len(fields)} fields; expected {len(header)} as in the header")


class RowBuffer:
    """Collects tidy rows as Python values and emits record batches of a kind."""

    def __init__(self, kind: str, batch_size: int = 50_000) -> None:
        self.kind = kind
        self.names = RECORD_KINDS[kind].names
        self.batch_size = batch_size
        self._columns: dict[str, list] = {n: [] for n in self.names}
        self._lines: list[int] = []

    def add(self, line: int, **values) -> None:
        for name in self.names:
            self._columns[name].append(values.get(name))
        self._lines.append(line)

    def __len__(self) -> int:
        return len(self._lines)

    def full(self) -> bool:
        return len(self._lines) >= self.batch_size

    def flush(self) -> Iterator[pa.RecordBatch]:
        if self._lines:
            batch = make_batch(self.kind, self._columns, self._lines)
            self._columns = {n: [] for n in self.names}
            self._lines = []
            yield batch


def require_columns(name: str, header: Sequence[str], required: Iterable[str], what: str) -> None:
    """Refuse a file whose header lacks columns a format needs, naming them."""
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(
            name,
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(repr(c) for c in missing)}",
            line=1,
            expected=f"the header of {what}",
        )


def month_from_yyyymm(text: str) -> date | None:
    """'201004' or '2010-04' → 2010-04-01; None if it is not a real month."""
    t = text.strip().replace("-", "")
    if len(t) != 6 or not t.isdigit():
        return None
    year, month = int(t[:4]), int(t[4:])
    if not (1900 <= year <= 2100 and 1 <= month <= 12):
        return None
    return date(year, month, 1)


_MONTH_ABBREVIATIONS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_MON_YY = re.compile(r"([A-Za-z]{3})-(\d{2})")


def month_from_mon_yy(text: str) -> date | None:
    """'Dec-14' (as Excel writes a month to CSV) → 2014-12-01; None if it is not one.

    The two-digit year is read as 20yy: these are London Datastore series from 2013 on.
    """
    m = _MON_YY.fullmatch(text.strip())
    if not m or m.group(1).lower() not in _MONTH_ABBREVIATIONS:
        return None
    return date(2000 + int(m.group(2)), _MONTH_ABBREVIATIONS[m.group(1).lower()], 1)


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def source_records(table: pa.Table) -> int:
    """How many source records a table of tidy rows came from: distinct lines, each line-less row on its own."""
    lines = table.column("line")
    return len(pc.unique(lines.drop_null())) + lines.null_count
