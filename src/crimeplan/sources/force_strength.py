"""Metropolitan Police Service workforce ("police force strength") at each month end.

The London Datastore series, one row per month::

    Date,Police Officer Strength,Police Staff Strength,PCSO Strength
    May-13,30636,12702,2497

``Date`` is the month as Excel writes it (``May-13``); each ``… Strength``
column is the number in post at that month's end, as published (the file does
not say whether headcount or full-time equivalent: values are kept as they are,
fractions included).

Rows become ``london_monthly`` records under dataset ``mps_force_strength``
(sheet 'MPS force strength', series = the column as published, title the same,
subtitle saying it is the strength at the month end; month = the first day of
the month, as for every monthly series). Measures read ``london_monthly`` by
dataset, so these rows never mix with the GLA State of London crime series.

One CSV row is one record giving a row per strength column, loaded or rejected
whole: a bad month, a value that is not a number ≥ 0 (empty included), a row with
the wrong number of fields, or a second row for a month (the first is kept) is
rejected with its line and field. A missing ``Date`` column or no ``… Strength``
column, an empty file or a header with no rows raises :class:`InputError`.
"""

from __future__ import annotations

import math
from typing import Iterator

from crimeplan.errors import InputError
from crimeplan.sources.base import Part, Reader, Reject, Row, Sniff, batches_from_rows, month_from_mon_yy, width_problem
from crimeplan.sources.inputs import InputFile
from crimeplan.sources.text import Record, csv_file_header, nonempty, read_csv_file

KIND = "london_monthly"
DATASET = "mps_force_strength"
SHEET = "MPS force strength"
SUBTITLE = "Metropolitan Police Service workforce in post at the end of the month"
WHAT = "MPS police force strength: Date ('May-13') and '… Strength' columns"


def _strength_columns(header: list[str]) -> list[int]:
    return [i for i, h in enumerate(header) if h.lower().endswith(" strength")]


class MpsForceStrengthReader(Reader):
    order = 50
    datasets = (DATASET,)
    signature = "CSV Date, Police Officer Strength, Police Staff Strength, PCSO Strength (Date as 'May-13')"

    def sniff(self, inp: InputFile) -> Sniff | None:
        header = csv_file_header(inp)
        if not header or header[0].lower() != "date" or not _strength_columns(header):
            return None
        return Sniff(self, (DATASET,), "MPS police force strength, monthly")

    def parts(self, inp: InputFile) -> Iterator[Part]:
        name, decoded, header, records = read_csv_file(inp)
        lowered = [h.lower() for h in header]
        if "date" not in lowered:
            raise InputError(name, "missing column 'Date'", line=1, expected=WHAT)
        strengths = _strength_columns(header)
        if not strengths:
            raise InputError(name, "no '… Strength' column", line=1,
                             expected="Police Officer Strength, Police Staff Strength, PCSO Strength")
        part = Part(DATASET, KIND, encoding=decoded.encoding,
                    notes=["strength in post at each month end, stored against the month (month = its first day)"])
        if not decoded.text.endswith(("\n", "\r")):
            part.notes.append("the file does not end with a line break; it may have been cut short")
        part.batches = batches_from_rows(part, _rows(header, nonempty(records, name, WHAT), lowered.index("date"),
                                                     strengths))
        yield part


def parse_strength(text: str) -> float | None:
    """'30636' or '30636.5' → a number ≥ 0; None if it is not one (empty included)."""
    t = text.strip().replace(",", "")
    try:
        value = float(t)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _rows(header: list[str], records: Iterator[Record], i_date: int, strengths: list[int]) -> Iterator[Row]:
    seen: dict = {}
    for rec in records:
        problem = width_problem(rec, header)
        if problem:
            yield problem
            continue
        f = rec.fields
        month = month_from_mon_yy(f[i_date])
        if month is None:
            yield Reject(rec.line, header[i_date], f[i_date], "expected a month such as May-13")
            continue
        if month in seen:
            yield Reject(rec.line, header[i_date], f[i_date], f"duplicate month: already given on line {seen[month]}")
            continue
        values = []
        for i in strengths:
            value = parse_strength(f[i])
            if value is None:
                problem = Reject(rec.line, header[i], f[i], "expected a number of people ≥ 0")
                break
            values.append((header[i], value))
        if problem:
            yield problem
            continue
        seen[month] = rec.line
        for series, value in values:
            yield (rec.line, dict(sheet=SHEET, series=series, title=series, subtitle=SUBTITLE, month=month,
                                  value=value))


__all__ = ["DATASET", "MpsForceStrengthReader", "parse_strength"]
