"""Bytes to text and text to CSV records, with the line each record starts on.

Official CSVs are UTF-8, sometimes with a byte-order mark; older ones were
saved from Excel as Windows-1252. We try UTF-8 (with or without BOM), then
cp1252, and say which was used. Anything else is refused with the line of the
first byte that is neither.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Iterator

from crimeplan.errors import InputError

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # 'utf-8', 'utf-8-sig' or 'cp1252'


def decode(data: bytes, name: str) -> Decoded:
    """Decode a published text file: UTF-8 (BOM allowed), else cp1252; else refuse."""
    if not data.strip():
        raise InputError(name, "the file is empty", expected="a header row and data rows")
    if data.startswith(BOM):
        try:
            return Decoded(data[len(BOM):].decode("utf-8"), "utf-8-sig")
        except UnicodeDecodeError as exc:
            _refuse(name, data, exc)
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return Decoded(data.decode("cp1252"), "cp1252")
    except UnicodeDecodeError as exc:
        _refuse(name, data, exc)
    raise AssertionError("unreachable")


def _refuse(name: str, data: bytes, exc: UnicodeDecodeError) -> None:
    line = data.count(b"\n", 0, exc.start) + 1
    raise InputError(
        name,
        f"byte 0x{data[exc.start]:02x} at offset {exc.start} is not valid text",
        line=line,
        expected="UTF-8 (with or without BOM) or Windows-1252 text",
    )


def to_utf8(data: bytes, name: str) -> tuple[bytes, str]:
    """The bytes as UTF-8 without BOM, and the encoding they were in. Fast when already UTF-8."""
    if not data.strip():
        raise InputError(name, "the file is empty", expected="a header row and data rows")
    body = data[len(BOM):] if data.startswith(BOM) else data
    try:
        body.decode("utf-8")
        return body, ("utf-8-sig" if body is not data else "utf-8")
    except UnicodeDecodeError:
        decoded = decode(data, name)
        return decoded.text.encode("utf-8"), decoded.encoding


@dataclass(frozen=True)
class Record:
    line: int  # physical line the record starts on; the header is line 1
    fields: list[str]


def csv_records(text: str, name: str, delimiter: str = ",") -> tuple[list[str], Iterator[Record]]:
    """The header and an iterator of records, each with the line it starts on.

    Fields may hold line breaks inside quotes, so line numbers are counted, not
    assumed. Parsing is lenient about stray quotes, like the publishers' own tools;
    a record with the wrong number of fields is for the reader to reject.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(name, "the file is empty", expected="a header row and data rows") from None
    except csv.Error as exc:
        raise InputError(name, f"the header cannot be parsed ({exc})", line=1) from exc

    def records() -> Iterator[Record]:
        start = reader.line_num + 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InputError(
                    name, f"the CSV cannot be parsed ({exc}); the file may be truncated", line=start,
                    expected="well-formed CSV",
                ) from exc
            if fields:  # a blank line is not a record
                yield Record(start, fields)
            start = reader.line_num + 1

    return [h.strip() for h in header], records()


def sniff_delimiter(first_line: str) -> str:
    """';' for the exports that use decimal commas, else ','."""
    return ";" if first_line.count(";") > first_line.count(",") else ","


def header_fields(head: bytes) -> tuple[list[str], str] | None:
    """The header of a text file from its first bytes, for sniffing: (fields, delimiter).

    Lenient on purpose (a head may end inside a multi-byte character, a file may be
    cp1252): recognising a file must not fail where reading it would report the problem.
    None if the head holds no header line.
    """
    if head.startswith(BOM):
        head = head[len(BOM):]
    text = head.decode("utf-8", errors="replace")
    first = text.lstrip("\r\n").split("\n", 1)[0].rstrip("\r")
    if not first.strip():
        return None
    delimiter = sniff_delimiter(first)
    try:
        fields = next(csv.reader([first], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return None
    return [f.strip() for f in fields], delimiter


def csv_file_header(inp, delimiter: str = ",") -> list[str] | None:
    """For sniffing: the header fields of a plain CSV file (not a zip or folder) with ``delimiter``; else None."""
    if inp.kind != "file":
        return None
    found = header_fields(inp.members()[0].head())
    return found[0] if found is not None and found[1] == delimiter else None


def read_csv_file(inp) -> tuple[str, "Decoded", list[str], Iterator[Record]]:
    """A plain CSV file decoded and split: (name, decoded text, header, records)."""
    name = str(inp.path)
    decoded = decode(inp.members()[0].read_bytes(), name)
    header, records = csv_records(decoded.text, name)
    return name, decoded, header, records


def nonempty(records: Iterator[Record], name: str, what: str) -> Iterator[Record]:
    """The records, refusing a file that has a header but no data rows."""
    first = next(records, None)
    if first is None:
        raise InputError(name, "the file has a header but no data rows", expected=f"the rows of {what}")

    def chain() -> Iterator[Record]:
        yield first
        yield from records

    return chain()
