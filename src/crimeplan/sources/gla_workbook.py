"""GLA "State of London" crime workbook: London-wide monthly series, one sheet per measure.

Each sheet (TNO, ND-VWI, Domestic Abuse, Sexual_Offences, AWL_Knife_U25,
Homicide, Robbery_Offences, Burglary_Offences, TfMV_Offences, Theft_Person,
Hate_Crime) has the month in column A (an Excel date serial under the header
'Parsed_Dates' or 'Month_Year'), one column per series after it ('count',
'Count', or e.g. 'Other Sexual Offences' and 'Rape'), and beside the data a
small metadata block::

    meta      value
    Title     Total Notifiable Offences
    Subtitle  The number of Offences recorded by the MPS (Thousands)

Every sheet becomes one part (member = sheet name) of ``london_monthly`` rows:
one per month × series, with the sheet's title and subtitle. ``line`` is the
spreadsheet row number. A record is a spreadsheet row (see ``base.py``): it is
loaded whole (one tidy row per series, all with its row number) or rejected whole
with one :class:`Reject` naming its first bad cell by its column header.
Values are kept as published; in particular some subtitles say "(Thousands)"
while the cells hold raw counts (TNO: 73,641 in April 2017), which the part's
notes record — nothing is rescaled.

Why the workbook is read with the standard library (zipfile + ElementTree)
rather than openpyxl: this file's sheets reference drawings that are not in the
archive, so openpyxl's normal mode fails (KeyError 'xl/drawings/drawing1.xml'),
and its read-only mode trusts each sheet's ``<dimension ref="A1"/>`` and sees one
row unless ``reset_dimensions()`` is called. Reading the sheet XML directly
ignores both, gives exact row numbers from the cells' own references, and turns
every kind of damage (truncated archive, bad member, broken XML) into one clear
error. The subset of SpreadsheetML needed here — shared and inline strings,
numbers, booleans, error cells, formula results — is small.
"""

from __future__ import annotations

import math
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Iterator

from crimeplan.errors import InputError
from crimeplan.sources.base import Part, Reader, Reject, RowBuffer, Sniff
from crimeplan.sources.inputs import InputFile

KIND = "london_monthly"
DATASET = "gla_state_of_london_crime"
MONTH_HEADERS = ("parseddates", "monthyear")

_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2})(?:[ T].*)?)?$")
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


# --- a minimal SpreadsheetML reader -----------------------------------------------------


class CellError(str):
    """An Excel error value such as '#N/A' or '#DIV/0!'."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def column_letters(index: int) -> str:
    """1 → 'A', 27 → 'AA'."""
    out = ""
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


@dataclass
class Sheet:
    name: str
    rows: dict[int, dict[int, object]]  # row number → column number (1 = A) → value

    def cell(self, row: int, col: int) -> object:
        return self.rows.get(row, {}).get(col)


class Workbook:
    """The sheets of an .xlsx file as values (numbers as float, text as str)."""

    def __init__(self, data_path: str, display_name: str) -> None:
        self.name = display_name
        try:
            self._zip = zipfile.ZipFile(data_path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(display_name, f"not a readable xlsx workbook ({exc}); the file may be truncated",
                             expected="a complete .xlsx file") from exc
        workbook = self._xml("xl/workbook.xml")
        self.date1904 = any(
            _local(e.tag) == "workbookPr" and e.get("date1904", "").lower() in ("1", "true") for e in workbook.iter()
        )
        rels = self._relationships("xl/_rels/workbook.xml.rels", base="xl")
        self.sheet_paths: list[tuple[str, str]] = []
        for e in workbook.iter():
            if _local(e.tag) == "sheet":
                rid = next((v for k, v in e.attrib.items() if _local(k) == "id"), None)
                if rid not in rels:
                    raise InputError(display_name, f"sheet {e.get('name')!r} has no part in the archive",
                                     field=e.get("name"), expected="a complete .xlsx file")
                self.sheet_paths.append((e.get("name") or "", rels[rid]))
        self.shared = self._shared_strings()

    def close(self) -> None:
        self._zip.close()

    def _read(self, member: str) -> bytes:
        try:
            return self._zip.read(member)
        except KeyError:
            raise InputError(self.name, f"the archive has no {member}", field=member,
                             expected="an .xlsx workbook") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
            raise InputError(self.name, f"archive member {member} cannot be read ({exc}); the file may be damaged",
                             field=member, expected="a complete .xlsx file") from exc

    def _xml(self, member: str) -> ET.Element:
        try:
            return ET.fromstring(self._read(member))
        except ET.ParseError as exc:
            raise InputError(self.name, f"{member} is not well-formed XML ({exc})", field=member,
                             expected="a complete .xlsx file") from exc

    def _relationships(self, member: str, base: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for e in self._xml(member).iter():
            if _local(e.tag) == "Relationship":
                target = e.get("Target", "")
                path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
                out[e.get("Id", "")] = path
        return out

    def _shared_strings(self) -> list[str]:
        if "xl/sharedStrings.xml" not in self._zip.namelist():
            return []
        strings = []
        for si in self._xml("xl/sharedStrings.xml"):
            if _local(si.tag) == "si":
                strings.append(_text_of(si))
        return strings

    def sheet(self, name: str, path: str) -> Sheet:
        root = self._xml(path)
        rows: dict[int, dict[int, object]] = {}
        row_no = 0
        for row in root.iter():
            if _local(row.tag) != "row":
                continue
            row_no = int(row.get("r") or row_no + 1)
            cells: dict[int, object] = {}
            col_no = 0
            for c in row:
                if _local(c.tag) != "c":
                    continue
                ref = _CELL_REF.match(c.get("r") or "")
                col_no = _column_index(ref.group(1)) if ref else col_no + 1
                value = self._value(c, path)
                if value is not None:
                    cells[col_no] = value
            if cells:
                rows[row_no] = cells
        return Sheet(name, rows)

    def _value(self, c: ET.Element, path: str) -> object:
        kind = c.get("t", "n")
        v = next((e.text for e in c if _local(e.tag) == "v"), None)
        if kind == "inlineStr":
            is_ = next((e for e in c if _local(e.tag) == "is"), None)
            return _text_of(is_) if is_ is not None else None
        if v is None:
            return None
        try:
            if kind == "s":
                return self.shared[int(v)]
            if kind in ("str", "d"):
                return v
            if kind == "b":
                return v.strip() in ("1", "true")
            if kind == "e":
                return CellError(v)
            return float(v)
        except (ValueError, IndexError):
            raise InputError(self.name, f"cell {c.get('r')} holds {v!r}, which is not a valid {kind!r} value",
                             field=path, expected="a well-formed .xlsx file") from None

    def excel_date(self, serial: float) -> date:
        base = date(1904, 1, 1) if self.date1904 else date(1899, 12, 30)
        return base + timedelta(days=int(math.floor(serial)))


def _text_of(element: ET.Element) -> str:
    # Text runs <t>, skipping phonetic guides <rPh>.
    parts: list[str] = []

    def walk(e: ET.Element) -> None:
        name = _local(e.tag)
        if name == "rPh":
            return
        if name == "t" and e.text:
            parts.append(e.text)
        for child in e:
            walk(child)

    walk(element)
    return "".join(parts)


# --- the State of London layout ----------------------------------------------------------


def _key(value: object) -> str:
    return re.sub(r"[^a-z0-9]", "", value.lower()) if isinstance(value, str) else ""


@dataclass
class _Layout:
    month_header: str
    series: list[tuple[int, str]]  # (column, name)
    title: str | None
    subtitle: str | None
    notes: list[str] = field(default_factory=list)


def _layout(sheet: Sheet) -> _Layout | None:
    """The sheet's shape, or None if it is not a month × series sheet."""
    header = sheet.rows.get(1, {})
    if _key(header.get(1)) not in MONTH_HEADERS:
        return None
    series: list[tuple[int, str]] = []
    col = 2
    while isinstance(header.get(col), str) and header[col].strip():
        series.append((col, header[col].strip()))
        col += 1
    last = col - 1
    title = subtitle = None
    notes: list[str] = []
    for row in sorted(sheet.rows):
        for c, v in sorted(sheet.rows[row].items()):
            if c <= last or not isinstance(v, str):
                continue
            label = _key(v)
            right = sheet.rows[row].get(c + 1)
            if label == "title" and title is None:
                title = str(right).strip() if right is not None else None
            elif label == "subtitle" and subtitle is None:
                subtitle = str(right).strip() if right is not None else None
            elif isinstance(right, str) and _key(right) == "value" and label != "meta":
                notes.append(f"metadata block headed {v!r}, {right!r} (read as 'meta', 'value')")
    return _Layout(str(header[1]).strip(), series, title, subtitle, notes)


def _month(value: object, book: Workbook) -> date | None:
    if isinstance(value, bool) or isinstance(value, CellError):
        return None
    if isinstance(value, float):
        if not (1 <= value < 2958466):  # Excel's date range
            return None
        d = book.excel_date(value)
        return date(d.year, d.month, 1)
    if isinstance(value, str):
        m = _ISO_MONTH.match(value.strip())
        if m and 1 <= int(m.group(2)) <= 12:
            return date(int(m.group(1)), int(m.group(2)), 1)
    return None


def _number(value: object) -> tuple[float | None, str | None]:
    if isinstance(value, CellError):
        return None, f"an Excel error {value}; expected a number"
    if isinstance(value, bool):
        return None, "a true/false value; expected a number"
    if isinstance(value, float):
        return (value, None) if math.isfinite(value) else (None, "not a finite number")
    if isinstance(value, str):
        t = value.strip().replace(",", "")
        if not t:
            return None, "empty; expected a number"
        if _NUMBER.match(t):
            return float(t), None
        return None, "not a number"
    return None, "empty; expected a number"


class StateOfLondonReader(Reader):
    order = 80
    datasets = (DATASET,)
    signature = (
        "GLA State of London workbook (.xlsx): one sheet per measure, column A 'Parsed_Dates' or 'Month_Year' "
        "(Excel dates), then one column per series, with a 'meta'/'value' block holding Title and Subtitle"
    )

    def sniff(self, inp: InputFile) -> Sniff | None:
        if inp.kind != "file":
            return None
        with open(inp.path, "rb") as handle:
            if handle.read(4) != b"PK\x03\x04":
                return None
        try:
            book = Workbook(str(inp.path), str(inp.path))
        except InputError:
            if inp.suffix == ".xlsx":
                raise  # an .xlsx we cannot open: say why rather than "not recognised"
            return None
        try:
            for name, path in book.sheet_paths:
                try:
                    layout = _layout(book.sheet(name, path))
                except InputError:
                    continue
                if layout is not None and layout.series and layout.title is not None:
                    return Sniff(self, (DATASET,), "GLA State of London monthly crime series (one sheet per measure)")
            return None
        finally:
            book.close()

    def parts(self, inp: InputFile) -> Iterator[Part]:
        name = str(inp.path)
        book = Workbook(str(inp.path), name)
        try:
            sheets: list[tuple[Sheet, _Layout]] = []
            skipped: list[str] = []
            for sheet_name, path in book.sheet_paths:
                sheet = book.sheet(sheet_name, path)
                layout = _layout(sheet)
                if layout is None:
                    skipped.append(sheet_name)
                    continue
                if not layout.series:
                    raise InputError(name, f"sheet {sheet_name!r} has no series columns after {layout.month_header!r}",
                                     line=1, field=sheet_name, expected="series names in row 1 from column B")
                sheets.append((sheet, layout))
            if not sheets:
                raise InputError(name, "no sheet has the State of London layout", expected=self.signature)
        finally:
            book.close()
        for i, (sheet, layout) in enumerate(sheets):
            notes = list(layout.notes)
            if i == 0 and skipped:
                notes.append(f"sheets not in the month × series layout, not read: {', '.join(map(repr, skipped))}")
            if layout.title is None:
                notes.append("no Title in the sheet's metadata block")
            part = Part(dataset=DATASET, kind=KIND, member=sheet.name, notes=notes)
            part.batches = self._batches(part, sheet, layout, book)
            yield part

    def _batches(self, part: Part, sheet: Sheet, layout: _Layout, book: Workbook) -> Iterator:
        buf = RowBuffer(KIND)
        last = layout.series[-1][0]
        n_series = len(layout.series)
        seen: dict[date, int] = {}
        values_seen: list[float] = []
        for row in sorted(r for r in sheet.rows if r >= 2):
            cells = sheet.rows[row]
            if all(cells.get(c) in (None, "") for c in range(1, last + 1)):
                continue  # metadata only, or an empty row: not a record
            part.records_read += 1
            month = _month(cells.get(1), book)
            if month is None:
                _reject_row(part, row, n_series, layout.month_header, _shown(cells.get(1)),
                            "expected a month (an Excel date)")
                continue
            if month in seen:
                _reject_row(part, row, n_series, layout.month_header, _shown(cells.get(1)),
                            f"duplicate of row {seen[month]} (same month); expected each month once")
                continue
            values: list[float] = []
            problem = None
            for col, series in layout.series:
                value, why = _number(cells.get(col))
                if why:
                    problem = (series, _shown(cells.get(col)), f"{column_letters(col)}{row} is {why}")
                    break
                values.append(value)  # type: ignore[arg-type]
            if problem:
                _reject_row(part, row, n_series, *problem)
                continue
            seen[month] = row
            for (_, series), value in zip(layout.series, values):
                buf.add(row, sheet=sheet.name, series=series, title=layout.title, subtitle=layout.subtitle,
                        month=month, value=value)
                values_seen.append(value)
        yield from buf.flush()
        if seen:
            months = sorted(seen)
            part.notes.insert(0, f"{len(months)} months {months[0]:%Y-%m} to {months[-1]:%Y-%m}; series: "
                                 + ", ".join(repr(s) for _, s in layout.series))
        if layout.subtitle and "thousand" in layout.subtitle.lower() and values_seen:
            typical = sorted(values_seen)[len(values_seen) // 2]
            if typical >= 1000:
                part.notes.append(
                    f"the subtitle says thousands but the values are raw counts (median {typical:,.0f}); "
                    "kept as published, not rescaled"
                )


def _reject_row(part: Part, row: int, values: int, field: str, value: str | None, reason: str) -> None:
    """Reject a whole row (one record), naming its first fault."""
    if values > 1:
        reason += f" (the row's {values} values are not loaded)"
    part.rejects.append(Reject(row, field, value, reason))


def _shown(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
