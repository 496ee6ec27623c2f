"""Home Office police recorded crime by police force area (PFA): rolling 12-month totals.

The Home Office open data table ``rec-crime-pfa.csv``::

    12 months ending,PFA,Region,Offence,Rolling year total number of offences
    31-03-2003,Avon and Somerset,South West,All other theft offences,25959

One row per quarter end × force area × offence: the offences recorded in the 12
months ending on that day. These are ROLLING YEAR totals (each quarter's figure
overlaps the previous three quarters'): they are stored as such, in
``force_recorded_crime.rolling_12m_offences`` against ``period_end``, never as
monthly or quarterly counts. Dataset ``home_office_pfa_crime``.

Force areas are the 43 territorial forces, British Transport Police and the three
national fraud reporting bodies (Action Fraud, CIFAS, UK Finance, whose region
reads e.g. 'Fraud: Action Fraud'); force, region and offence are kept as
published (the offence list changes over time: 'Domestic burglary' and
'Residential burglary' both appear).

Rules:

* ``12 months ending`` is day-month-year (``31-03-2003``) and must be a quarter
  end. The published table writes 30-12-2017 for the quarter ending 31 December
  2017; a date in the last days (28th on) of a quarter's final month is read as
  that quarter's end, and the part's notes name the date, how many rows had it
  and the first line. Any other date that is not a quarter end is rejected.
* The total is a whole number. A few are negative (25 in the 2003-2018 table,
  for small offence groups): they are kept as published and counted in the notes.
* An empty force, region or offence, a bad date or total, a row with the wrong
  number of fields, or a second row for the same date, force and offence (the
  first is kept; this includes a typo date that duplicates a correct one) is
  rejected with its line and field. A missing column, an empty file or a header
  with no rows raises :class:`InputError`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Iterator

from crimeplan.sources.base import (
    Part, Reader, Reject, Row, Sniff, batches_from_rows, month_end, require_columns, width_problem,
)
from crimeplan.sources.inputs import InputFile
from crimeplan.sources.text import Record, csv_file_header, nonempty, read_csv_file

KIND = "force_recorded_crime"
DATASET = "home_office_pfa_crime"
DATE_COL, FORCE_COL, REGION_COL, OFFENCE_COL, TOTAL_COL = (
    "12 months ending", "PFA", "Region", "Offence", "Rolling year total number of offences")
COLUMNS = (DATE_COL, FORCE_COL, REGION_COL, OFFENCE_COL, TOTAL_COL)
WHAT = "Home Office recorded crime by police force area (" + ", ".join(COLUMNS) + ")"
QUARTER_END_MONTHS = (3, 6, 9, 12)
#: a day from this one on in a quarter's last month is read as the quarter end (a typo such as 30-12-2017)
NEAR_QUARTER_END_DAY = 28

_DMY = re.compile(r"(\d{1,2})[-/](\d{1,2})[-/](\d{4})")
_INTEGER = re.compile(r"[+-]?\d+")


def parse_dmy(text: str) -> date | None:
    """'31-03-2003' or '31/03/2003' → a date; None if it is not a real one."""
    m = _DMY.fullmatch(text.strip())
    if not m:
        return None
    d, mo, y = (int(g) for g in m.groups())
    try:
        return date(y, mo, d)
    except ValueError:
        return None


class PfaRecordedCrimeReader(Reader):
    order = 60
    datasets = (DATASET,)
    signature = "CSV " + ", ".join(COLUMNS) + " (dates dd-mm-yyyy)"

    def sniff(self, inp: InputFile) -> Sniff | None:
        header = csv_file_header(inp)
        if header is None or not {DATE_COL, FORCE_COL, TOTAL_COL} <= set(header):
            return None
        return Sniff(self, (DATASET,), "Home Office police recorded crime by police force area, rolling 12 months")

    def parts(self, inp: InputFile) -> Iterator[Part]:
        name, decoded, header, records = read_csv_file(inp)
        require_columns(name, header, COLUMNS, WHAT)
        part = Part(DATASET, KIND, encoding=decoded.encoding,
                    notes=["rolling 12-month totals at each quarter end (not monthly or quarterly counts)"])
        if not decoded.text.endswith(("\n", "\r")):
            part.notes.append("the file does not end with a line break; it may have been cut short")
        part.batches = batches_from_rows(part, _rows(part, header, nonempty(records, name, WHAT)))
        yield part


def _rows(part: Part, header: list[str], records: Iterator[Record]) -> Iterator[Row]:
    i_date, i_force, i_region, i_offence, i_total = (header.index(c) for c in COLUMNS)
    seen: dict[tuple, int] = {}
    corrected: dict[str, list] = {}  # published date → [quarter end, rows, first line]
    negative: list[int] = []
    for rec in records:
        problem = width_problem(rec, header)
        if problem:
            yield problem
            continue
        f = rec.fields
        published = f[i_date].strip()
        day = parse_dmy(published)
        if day is None:
            yield Reject(rec.line, DATE_COL, f[i_date], "expected a day-month-year date such as 31-03-2003")
            continue
        if day.month not in QUARTER_END_MONTHS:
            yield Reject(rec.line, DATE_COL, f[i_date], "not a quarter end; expected 31 March, 30 June, "
                                                        "30 September or 31 December")
            continue
        period_end = month_end(day)
        if day != period_end:
            if day.day < NEAR_QUARTER_END_DAY:
                yield Reject(rec.line, DATE_COL, f[i_date], "not a quarter end; expected 31 March, 30 June, "
                                                            "30 September or 31 December")
                continue
        force, region, offence = f[i_force].strip(), f[i_region].strip(), f[i_offence].strip()
        for col, text in ((FORCE_COL, force), (REGION_COL, region), (OFFENCE_COL, offence)):
            if not text:
                problem = Reject(rec.line, col, f[header.index(col)], f"empty; expected the {col.lower()}")
                break
        if problem:
            yield problem
            continue
        total_text = f[i_total].strip().replace(",", "")
        if not _INTEGER.fullmatch(total_text):
            yield Reject(rec.line, TOTAL_COL, f[i_total], "expected a whole number of offences")
            continue
        key = (period_end, force, offence)
        if key in seen:
            yield Reject(rec.line, OFFENCE_COL, f[i_offence],
                         f"duplicate of line {seen[key]} (same 12 months ending, PFA and offence)")
            continue
        seen[key] = rec.line
        if day != period_end:
            entry = corrected.setdefault(published, [period_end, 0, rec.line])
            entry[1] += 1
        total = int(total_text)
        if total < 0:
            negative.append(rec.line)
        yield (rec.line, dict(force=force, region=region, offence=offence, period_end=period_end,
                              rolling_12m_offences=total))
    for published, (period_end, n, first) in corrected.items():
        part.notes.append(f"{DATE_COL} {published!r} is not a quarter end: read as {period_end.isoformat()}, "
                          f"the quarter end it stands for ({n} row{'s' if n > 1 else ''}, first on line {first})")
    if negative:
        part.notes.append(f"{len(negative)} negative rolling total{'s' if len(negative) > 1 else ''} kept as "
                          f"published, first on line {negative[0]}")


__all__ = ["DATASET", "PfaRecordedCrimeReader", "parse_dmy"]
