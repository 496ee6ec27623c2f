"""data.police.uk street-level crime, outcomes and stop and search, for any force.

Reads what a user downloads from https://data.police.uk/data/ : a single
monthly CSV (``2019-01-merseyside-street.csv``), a folder of month folders,
or an archive zip (``2019-01/2019-01-merseyside-street.csv`` …), whose
members are read straight from the zip one at a time.

The files are large (the national street archive is 1.8 million records), so
each member is parsed by Arrow's multi-threaded CSV reader as text and checked
with vectorised compute; only rejected records are handled one by one.

Rejected records (each becomes a :class:`Reject` with its line):
- a record with the wrong number of fields (e.g. a stray quote in Location
  shifting the columns, or a file cut short);
- Month not a real ``YYYY-MM``; Date not an ISO 8601 timestamp;
- coordinates that are not numbers, only half given, or outside the UK;
- an LSOA code that is not a GSS LSOA code (E01/W01 + 6 digits);
- a crime type that is not one of data.police.uk's categories; an empty
  outcome type; an empty search type.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from crimeplan.errors import InputError
from crimeplan.sources.base import Part, Reader, Reject, Sniff
from crimeplan.sources.inputs import POLICE_UK_MEMBER, InputFile, Member
from crimeplan.sources.records import RECORD_KINDS, batch_schema
from crimeplan.sources.text import BOM, decode

STREET_COLUMNS = [
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
    "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
]
OUTCOME_COLUMNS = [
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
    "Location", "LSOA code", "LSOA name", "Outcome type",
]
STOP_SEARCH_COLUMNS = [
    "Type", "Date", "Part of a policing operation", "Policing operation", "Latitude", "Longitude",
    "Gender", "Age range", "Self-defined ethnicity", "Officer-defined ethnicity", "Legislation",
    "Object of search", "Outcome", "Outcome linked to object of search",
    "Removal of more than just outer clothing",
]

# data.police.uk crime types, including those retired in 2013 (older archives use them).
CRIME_TYPES = [
    "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs",
    "Other crime", "Other theft", "Possession of weapons", "Public order", "Robbery",
    "Shoplifting", "Theft from the person", "Vehicle crime", "Violence and sexual offences",
    "Public disorder and weapons", "Violent crime",
]

# A generous box around the UK and Northern Ireland (Scilly to Shetland, Lough Erne to Lowestoft).
UK_LATITUDE = (49.5, 61.0)
COORDINATES = ("Latitude", "Longitude")
UK_LONGITUDE = (-8.8, 2.0)

NUMBER = r"^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$"
LSOA_CODE = r"^[EW]01[0-9]{6}$"
MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
TIMESTAMP = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\+00:00|\+01:00|Z)?$"


@dataclass(frozen=True)
class Layout:
    """One of the three data.police.uk file kinds."""

    kind: str  # record kind
    dataset: str
    name_suffix: str  # 'street', 'outcomes', 'stop-and-search'
    columns: list[str]
    required: list[str]


LAYOUTS = {
    "street": Layout(
        "street_crime", "police_uk_street", "street", STREET_COLUMNS,
        ["Month", "Reported by", "Falls within", "Longitude", "Latitude", "LSOA code", "Crime type"],
    ),
    "outcomes": Layout(
        "outcome", "police_uk_outcomes", "outcomes", OUTCOME_COLUMNS,
        ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "LSOA code", "Outcome type"],
    ),
    "stop-and-search": Layout(
        "stop_search", "police_uk_stop_search", "stop-and-search", STOP_SEARCH_COLUMNS,
        ["Type", "Date", "Latitude", "Longitude"],
    ),
}


def _layout_of_header(header: list[str]) -> Layout | None:
    """The layout whose columns the header shares most of; a near miss still counts, so
    that a file with a missing column is refused naming it rather than not recognised."""
    names = set(header)
    best = max(LAYOUTS.values(), key=lambda layout: len(names & set(layout.columns)))
    if len(names & set(best.columns)) < len(best.columns) - 3:
        return None
    return best


def _first_line(data: bytes) -> list[str]:
    head = data[:4096].decode("utf-8-sig", errors="replace").splitlines()
    return next(csv.reader(head[:1]), []) if head else []


class PoliceUkReader(Reader):
    order = 10
    datasets = ("police_uk_street", "police_uk_outcomes", "police_uk_stop_search")
    signature = (
        "data.police.uk CSVs (street: Crime ID, Month, Reported by, …, Crime type; outcomes: …, Outcome type; "
        "stop-and-search: Type, Date, …), singly, in YYYY-MM folders or in an archive zip"
    )

    def sniff(self, inp: InputFile) -> Sniff | None:
        if inp.kind in ("zip", "folder"):
            members = [m for m in inp.members() if POLICE_UK_MEMBER.search(m.name)]
            if not members:
                return None
            kinds = sorted({POLICE_UK_MEMBER.search(m.name).group(3) for m in members})
            datasets = tuple(LAYOUTS[k].dataset for k in kinds)
            forces = sorted({POLICE_UK_MEMBER.search(m.name).group(2) for m in members})
            return Sniff(self, datasets, f"data.police.uk archive: {len(members)} files of {', '.join(kinds)} for {len(forces)} force(s)")
        if inp.suffix != ".csv":
            return None
        layout = _layout_of_header(_first_line(inp.members()[0].head()))
        if layout is None:
            return None
        return Sniff(self, (layout.dataset,), f"data.police.uk {layout.name_suffix} CSV")

    def parts(self, inp: InputFile) -> Iterator[Part]:
        if inp.kind in ("zip", "folder"):
            members = inp.members()
            matched = [m for m in members if POLICE_UK_MEMBER.search(m.name)]
            others = [m.name for m in members if not POLICE_UK_MEMBER.search(m.name)]
            if others:
                raise InputError(
                    str(inp.path),
                    f"holds files that are not data.police.uk monthly CSVs: {', '.join(others[:5])}",
                    expected="only YYYY-MM/YYYY-MM-<force>-<street|outcomes|stop-and-search>.csv members",
                )
            for member in matched:
                m = POLICE_UK_MEMBER.search(member.name)
                yield self._part(inp, member, LAYOUTS[m.group(3)], m.group(2), m.group(1))
        else:
            member = inp.members()[0]
            m = POLICE_UK_MEMBER.search(inp.name)
            layout = _layout_of_header(_first_line(member.head()))
            if layout is None:
                raise InputError(str(inp.path), "not a data.police.uk CSV", line=1, expected=self.signature)
            yield self._part(inp, member, layout, m.group(2) if m else None, m.group(1) if m else None)

    def _part(self, inp: InputFile, member: Member, layout: Layout, force: str | None, month: str | None) -> Part:
        part = Part(dataset=layout.dataset, kind=layout.kind, member=member.name)
        part.batches = _read_member(inp, member, layout, part, force, month)
        return part


def _read_member(
    inp: InputFile, member: Member, layout: Layout, part: Part, force: str | None, file_month: str | None
) -> Iterator[pa.RecordBatch]:
    name = f"{inp.path}!{member.name}" if member.name else str(inp.path)
    raw = member.read_bytes()
    if not raw.strip():
        raise InputError(name, "the file is empty", expected="a header row and data rows")
    data, part.encoding = (raw[len(BOM):], "utf-8-sig") if raw.startswith(BOM) else (raw, "utf-8")
    header = _first_line(data)
    missing = [c for c in layout.required if c not in header]
    if missing:
        raise InputError(
            name, f"missing column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}",
            line=1, expected=f"the data.police.uk {layout.name_suffix} header ({', '.join(layout.columns)})",
        )
    if layout.kind == "stop_search" and force is None:
        raise InputError(
            name, "cannot tell which force this stop-and-search file is for (it has no force column)",
            expected="the data.police.uk file name YYYY-MM-<force>-stop-and-search.csv",
        )

    invalid: list[tuple[int | None, str]] = []
    try:
        # Arrow checks UTF-8 as it parses, so valid files (nearly all) are never decoded twice.
        table, one_line_records = _parse(data, header, layout, invalid)
    except pa.ArrowInvalid as exc:
        if "utf8" not in str(exc).lower():
            raise InputError(name, f"the CSV cannot be parsed ({exc})", expected="well-formed CSV") from exc
        decoded = decode(raw, name)  # cp1252, or a clear refusal naming the line
        data, part.encoding = decoded.text.encode("utf-8"), decoded.encoding
        invalid.clear()
        table, one_line_records = _parse(data, header, layout, invalid)
    if part.encoding not in ("utf-8", "utf-8-sig"):
        part.notes.append(f"read as {part.encoding}")

    n = table.num_rows
    part.records_read = n + len(invalid)
    lines = pa.array(np.arange(2, n + 2, dtype=np.int64)) if one_line_records else _record_lines(data, n)
    for (number, text), line in zip(invalid, _invalid_lines(data, invalid)):
        fields = next(csv.reader([text]), [])
        part.rejects.append(
            Reject(line, None, text[:200], f"record has {len(fields)} fields, expected {len(header)} (a stray quote or a cut-off line)")
        )
    if n == 0:
        return
    check = _CHECKS[layout.kind]
    ok, rejects, typed = check(table, lines, force, file_month)
    part.rejects.extend(rejects)
    if not pc.all(ok).as_py():
        table = table.filter(ok)
        lines = pc.filter(lines, ok)
        typed = {name: pc.filter(values, ok) for name, values in typed.items()}
    tidy = _TIDY[layout.kind](_Columns(table, typed), force, file_month)
    tidy = tidy.append_column("line", lines.cast(pa.int64()))
    tidy = tidy.cast(batch_schema(layout.kind))
    yield from tidy.to_batches(max_chunksize=200_000)


def _parse(data: bytes, header: list[str], layout: Layout, invalid: list) -> tuple[pa.Table, bool]:
    """Every field as text (checked and typed afterwards); records with the wrong field count set aside.

    Returns the table and whether every record is exactly one line (so that
    line = index + 2). Without a quote character in the file no record can span
    lines, and the faster reading that assumes so is safe: a blank line then
    shows up as a record with the wrong number of fields, and the file is read
    again the exact way. With quotes, lines are counted to make sure.
    """
    if b'"' not in data:
        table = _read_csv(data, header, layout, invalid, one_line_records=True)
        if not invalid:
            return table, True
        invalid.clear()
    table = _read_csv(data, header, layout, invalid, one_line_records=False)
    physical = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    return table, not invalid and physical == table.num_rows + 1


def _read_csv(data: bytes, header: list[str], layout: Layout, invalid: list, one_line_records: bool) -> pa.Table:
    def on_invalid(row) -> str:
        invalid.append((row.number, row.text))
        return "skip"

    def read(column_types: dict) -> pa.Table:
        return pacsv.read_csv(
            pa.BufferReader(data),  # read natively: a Python file object would take the GIL for every block
            read_options=pacsv.ReadOptions(use_threads=True, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=not one_line_records,
                ignore_empty_lines=not one_line_records,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=column_types, strings_can_be_null=True,
                include_columns=[c for c in layout.columns if c in header],
            ),
        )

    text = {c: pa.string() for c in header}
    try:
        try:  # coordinates straight to numbers; any that is not sends us back to reading them as text
            return read({**text, **{c: pa.float64() for c in COORDINATES if c in header}})
        except pa.ArrowInvalid as exc:
            if "conversion error" not in str(exc).lower():
                raise
            invalid.clear()
            return read(text)
    except pa.ArrowInvalid:
        raise
    except pa.ArrowException as exc:
        raise pa.ArrowInvalid(str(exc)) from exc


# --- line numbers -------------------------------------------------------------------------------


def _record_lines(data: bytes, parsed: int) -> pa.Array:
    """The line each parsed record starts on (header = line 1), where records may span lines.

    Found by parsing the text again with the csv module (rare: only for a member
    with quoted line breaks, blank lines or malformed records).
    """
    starts: list[int] = []
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = next(reader, [])
    start = reader.line_num + 1
    for fields in reader:
        if fields and len(fields) == len(header):
            starts.append(start)
        start = reader.line_num + 1
    if len(starts) != parsed:  # the two parsers disagree: lines unknown rather than wrong
        return pa.nulls(parsed, pa.int64())
    return pa.array(starts, pa.int64())


def _invalid_lines(data: bytes, invalid: list[tuple[int | None, str]]) -> list[int | None]:
    """The physical line each record with the wrong field count starts on (header = line 1).

    Arrow's own row numbers count records, not lines, and are unknown when blocks are parsed in parallel; so the
    text is read again with the csv module and each of Arrow's invalid records is matched to the next record of
    the same text there (data.police.uk repeats rows: the first match alone would name one line twice).
    """
    if not invalid:
        return []
    lines = data.decode("utf-8").split("\n")
    starts: dict[str, list[int]] = {}
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = next(reader, [])
    start = reader.line_num + 1
    for fields in reader:
        if fields and len(fields) != len(header):
            text = "\n".join(lines[start - 1:reader.line_num]).rstrip("\r")
            starts.setdefault(text, []).append(start)
        start = reader.line_num + 1
    return [starts[text].pop(0) if starts.get(text) else None for _number, text in invalid]


# --- checks ---------------------------------------------------------------------------------------


def _per_value(col: pa.Array, fn) -> pa.Array:
    """``fn`` applied to each distinct value once, spread back over the rows.

    Columns such as Month, Crime type or LSOA code repeat a few thousand values
    over a million rows; checking the distinct values is many times cheaper.
    """
    if isinstance(col, pa.ChunkedArray):  # chunk by chunk: combining would copy every string
        return pa.chunked_array([_per_value(chunk, fn) for chunk in col.chunks], type=None if col.num_chunks else pa.bool_())
    encoded = pc.dictionary_encode(col)
    return pc.take(fn(encoded.dictionary), encoded.indices)


class _Checker:
    """Accumulates failing rows with the first reason each fails for."""

    def __init__(self, table: pa.Table, lines: pa.Array) -> None:
        self.table = table
        self.lines = lines
        self.bad = pa.array(np.zeros(table.num_rows, dtype=bool))
        self.rejects: list[Reject] = []
        self.typed: dict[str, pa.Array] = {}  # columns already converted while checking, reused by the tidy step

    def fail(self, mask: pa.Array, field: str, reason) -> None:
        """Reject rows where ``mask`` is true and which have not already failed."""
        if isinstance(mask, pa.ChunkedArray):  # booleans: cheap to flatten
            mask = mask.combine_chunks()
        mask = pc.and_(pc.fill_null(mask, False), pc.invert(self.bad))
        if not pc.any(mask).as_py():
            return
        idx = pc.indices_nonzero(mask).to_pylist()
        values = self.table.column(field).take(idx).to_pylist() if field in self.table.column_names else [None] * len(idx)
        lines = self.lines.take(idx).to_pylist()
        for line, value in zip(lines, values):
            value = None if value is None else str(value)
            self.rejects.append(Reject(line, field, value, reason(value) if callable(reason) else reason))
        self.bad = pc.or_(self.bad, mask)

    def column(self, name: str) -> pa.ChunkedArray:
        if name in self.table.column_names:
            return self.table.column(name)
        return pa.nulls(self.table.num_rows, pa.string())

    def result(self) -> tuple[pa.Array, list[Reject], dict[str, pa.Array]]:
        return pc.invert(self.bad), self.rejects, self.typed


def _check_coordinates(c: _Checker) -> None:
    lat, lon = c.column("Latitude"), c.column("Longitude")
    c.fail(pc.xor(pc.is_null(lat), pc.is_null(lon)), "Latitude", "only one of Latitude and Longitude is given; expected both or neither")
    try:  # the usual case: every coordinate is a number (read as one, or shown so by one cast)
        lat_f, lon_f = pc.cast(lat, pa.float64()), pc.cast(lon, pa.float64())
    except pa.ArrowInvalid:
        for col, name in ((lat, "Latitude"), (lon, "Longitude")):
            c.fail(pc.invert(pc.match_substring_regex(col, NUMBER)), name, lambda v, n=name: f"{n} {v!r} is not a number")
        lat_f = pc.cast(pc.if_else(pc.match_substring_regex(lat, NUMBER), lat, None), pa.float64())
        lon_f = pc.cast(pc.if_else(pc.match_substring_regex(lon, NUMBER), lon, None), pa.float64())
    c.fail(pc.is_nan(lat_f), "Latitude", "the latitude is not a finite number")
    c.fail(pc.is_nan(lon_f), "Longitude", "the longitude is not a finite number")
    c.typed["Latitude"], c.typed["Longitude"] = lat_f, lon_f
    # Each coordinate named for itself: a longitude of 999 is a fault of the Longitude field.
    expected = f"expected latitude {UK_LATITUDE[0]}–{UK_LATITUDE[1]}, longitude {UK_LONGITUDE[0]}–{UK_LONGITUDE[1]}"
    c.fail(pc.or_(pc.less(lat_f, UK_LATITUDE[0]), pc.greater(lat_f, UK_LATITUDE[1])), "Latitude",
           lambda v: f"latitude {v} is outside the UK; {expected}")
    c.fail(pc.or_(pc.less(lon_f, UK_LONGITUDE[0]), pc.greater(lon_f, UK_LONGITUDE[1])), "Longitude",
           lambda v: f"longitude {v} is outside the UK; {expected}")


def _check_month(c: _Checker) -> None:
    month = c.column("Month")
    c.fail(pc.is_null(month), "Month", "Month is empty; expected YYYY-MM")
    c.fail(_per_value(month, lambda d: pc.invert(pc.match_substring_regex(d, MONTH))), "Month",
           lambda v: f"Month {v!r} is not a real month; expected YYYY-MM")


def _check_lsoa(c: _Checker) -> None:
    code = c.column("LSOA code")
    c.fail(_per_value(code, lambda d: pc.invert(pc.match_substring_regex(d, LSOA_CODE))), "LSOA code",
           lambda v: f"LSOA code {v!r} is not a GSS LSOA code; expected E01 or W01 and 6 digits")


def _check_street(table, lines, force, month):
    c = _Checker(table, lines)
    _check_month(c)
    _check_lsoa(c)
    ctype = c.column("Crime type")
    c.fail(pc.is_null(ctype), "Crime type", "Crime type is empty; expected a data.police.uk crime type")
    c.fail(_per_value(ctype, lambda d: pc.invert(pc.is_in(d, value_set=pa.array(CRIME_TYPES)))), "Crime type",
           lambda v: f"Crime type {v!r} is not a data.police.uk crime type")
    _check_coordinates(c)
    return c.result()


def _check_outcome(table, lines, force, month):
    c = _Checker(table, lines)
    _check_month(c)
    _check_lsoa(c)
    c.fail(pc.is_null(c.column("Outcome type")), "Outcome type", "Outcome type is empty; expected an outcome")
    c.fail(pc.is_null(c.column("Crime ID")), "Crime ID", "Crime ID is empty; expected the crime's identifier")
    _check_coordinates(c)
    return c.result()


def _check_stop_search(table, lines, force, month):
    c = _Checker(table, lines)
    c.fail(pc.is_null(c.column("Type")), "Type", "Type is empty; expected the kind of search")
    c.fail(pc.is_null(c.column("Date")), "Date", "Date is empty; expected an ISO 8601 timestamp")
    c.fail(pc.invert(pc.match_substring_regex(c.column("Date"), TIMESTAMP)), "Date",
           lambda v: f"Date {v!r} is not a timestamp; expected ISO 8601 like 2019-01-31T23:05:00+00:00")
    for name in ("Part of a policing operation", "Outcome linked to object of search", "Removal of more than just outer clothing"):
        col = c.column(name)
        not_boolean = pc.and_(pc.is_valid(col), pc.invert(pc.is_in(col, value_set=pa.array(["True", "False", "true", "false"]))))
        c.fail(not_boolean, name,
               lambda v, n=name: f"{n} {v!r} is not True or False")
    _check_coordinates(c)
    return c.result()


_CHECKS = {"street_crime": _check_street, "outcome": _check_outcome, "stop_search": _check_stop_search}


# --- tidy records ---------------------------------------------------------------------------------


@dataclass
class _Columns:
    """The checked rows: text columns as read, and those already typed by the checks."""

    table: pa.Table
    typed: dict[str, pa.Array]

    @property
    def num_rows(self) -> int:
        return self.table.num_rows


def _col(t: _Columns, name: str) -> pa.ChunkedArray:
    if name in t.table.column_names:
        return t.table.column(name)
    return pa.chunked_array([pa.nulls(t.num_rows, pa.string())])


def _coordinate(t: _Columns, name: str) -> pa.Array:
    return t.typed[name] if name in t.typed else pc.cast(_col(t, name), pa.float64())


def _month(col) -> pa.Array:
    def first_of_month(values: pa.Array) -> pa.Array:
        stamp = pc.strptime(pc.binary_join_element_wise(values, "01", "-"), format="%Y-%m-%d", unit="s")
        return pc.cast(stamp, pa.date32())

    return _per_value(col, first_of_month)


def _bool(col) -> pa.ChunkedArray:
    return pc.equal(pc.utf8_lower(col), "true")


def _tidy_street(t: _Columns, force, month) -> pa.Table:
    return pa.table({
        "crime_id": _col(t, "Crime ID"), "month": _month(_col(t, "Month")),
        "reported_by": _col(t, "Reported by"), "falls_within": _col(t, "Falls within"),
        "longitude": _coordinate(t, "Longitude"), "latitude": _coordinate(t, "Latitude"),
        "location": _col(t, "Location"), "lsoa_code": _col(t, "LSOA code"), "lsoa_name": _col(t, "LSOA name"),
        "crime_type": _col(t, "Crime type"), "last_outcome_category": _col(t, "Last outcome category"),
        "context": _col(t, "Context"),
    })


def _tidy_outcome(t: _Columns, force, month) -> pa.Table:
    return pa.table({
        "crime_id": _col(t, "Crime ID"), "month": _month(_col(t, "Month")),
        "reported_by": _col(t, "Reported by"), "falls_within": _col(t, "Falls within"),
        "longitude": _coordinate(t, "Longitude"), "latitude": _coordinate(t, "Latitude"),
        "location": _col(t, "Location"), "lsoa_code": _col(t, "LSOA code"), "lsoa_name": _col(t, "LSOA name"),
        "outcome_type": _col(t, "Outcome type"),
    })


def _tidy_stop_search(t: _Columns, force: str, month: str | None) -> pa.Table:
    n = t.num_rows
    occurred = pc.strptime(pc.replace_substring_regex(_col(t, "Date"), r"(\+00:00|\+01:00|Z)$", ""),
                           format="%Y-%m-%dT%H:%M:%S", unit="s")
    # data.police.uk gives times in UTC with an explicit offset; +01:00 is rare but shifts an hour
    offset = pc.if_else(pc.ends_with(_col(t, "Date"), "+01:00"), pa.scalar(3600, pa.int64()), pa.scalar(0, pa.int64()))
    occurred = pc.cast(pc.subtract(pc.cast(occurred, pa.int64()), offset), pa.timestamp("s", tz="UTC"))
    if month is not None:
        year, mon = map(int, month.split("-"))
        months = pa.array([date(year, mon, 1)] * n, pa.date32())
    else:
        months = pc.cast(pc.strptime(pc.binary_join_element_wise(pc.utf8_slice_codeunits(_col(t, "Date"), 0, 7), "01", "-"),
                                     format="%Y-%m-%d", unit="s"), pa.date32())
    return pa.table({
        "force": pa.array([force] * n, pa.string()), "month": months, "type": _col(t, "Type"),
        "occurred_at": occurred,
        "part_of_policing_operation": _bool(_col(t, "Part of a policing operation")),
        "policing_operation": _col(t, "Policing operation"),
        "latitude": _coordinate(t, "Latitude"), "longitude": _coordinate(t, "Longitude"),
        "gender": _col(t, "Gender"), "age_range": _col(t, "Age range"),
        "self_defined_ethnicity": _col(t, "Self-defined ethnicity"),
        "officer_defined_ethnicity": _col(t, "Officer-defined ethnicity"),
        "legislation": _col(t, "Legislation"), "object_of_search": _col(t, "Object of search"),
        "outcome": _col(t, "Outcome"),
        "outcome_linked_to_object_of_search": _bool(_col(t, "Outcome linked to object of search")),
        "removal_of_more_than_outer_clothing": _bool(_col(t, "Removal of more than just outer clothing")),
    })


_TIDY = {"street_crime": _tidy_street, "outcome": _tidy_outcome, "stop_search": _tidy_stop_search}

assert set(_TIDY) == set(_CHECKS) and all(k in RECORD_KINDS for k in _TIDY)
