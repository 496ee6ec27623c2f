"""MOPAC Public Attitude Survey, London-wide (MPS) measures at each quarter end.

The London Datastore's "public perception" series: ``date,measure,proportion``,
one row per quarter end and measure, for the Met as a whole::

    date,measure,proportion
    Dec-14,Police do a good job in the local area,67

* ``date`` is the month of the quarter end as Excel writes it (``Dec-14``):
  ``period_end`` is that month's last day (2014-12-31). A month that is not a
  quarter end (March, June, September, December) is rejected: the series is
  quarterly.
* ``proportion`` is a whole per cent (0 to 100): stored divided by 100, like the
  dashboard's proportions (67 → 0.67).
* Every row is London-wide: area level 'london', code E12000007, name 'London'.
  ``sample_size`` is null (not published). The measure is kept as published; the
  names differ from the dashboard's ('Police do a good job in the local area' is
  the dashboard's '"Good Job" local'), and this series has no "Trust MPS".

Dataset ``mopac_pas_quarterly``. One CSV row is one record, loaded or rejected
whole: a bad date, an empty measure, a proportion that is not a number from 0 to
100, a row with the wrong number of fields, or a second row for the same measure
and quarter (the first is kept) is rejected with its line and field. A missing
column, an empty file or a header with no rows raises :class:`InputError`.
"""

from __future__ import annotations

import re
from typing import Iterator

from crimeplan.sources.base import (
    Part, Reader, Reject, Row, Sniff, batches_from_rows, month_end, month_from_mon_yy, require_columns, width_problem,
)
from crimeplan.sources.inputs import InputFile
from crimeplan.sources.london import LONDON_CODE, LONDON_NAME
from crimeplan.sources.text import Record, csv_file_header, nonempty, read_csv_file

KIND = "survey_measure"
DATASET = "mopac_pas_quarterly"
COLUMNS = ("date", "measure", "proportion")
WHAT = "MOPAC PAS London-wide quarterly measures (date, measure, proportion)"
QUARTER_END_MONTHS = (3, 6, 9, 12)

_PERCENT = re.compile(r"\d+(?:\.\d*)?|\.\d+")


def parse_percent(text: str) -> float | None:
    """'67' or '67.5' (per cent) → 0.67 / 0.675; None unless a number from 0 to 100."""
    t = text.strip()
    if not _PERCENT.fullmatch(t):
        return None
    value = float(t)
    return value / 100 if value <= 100 else None


class PasQuarterlyReader(Reader):
    order = 41
    datasets = (DATASET,)
    signature = "CSV date, measure, proportion (date as 'Dec-14', proportion in whole per cent)"

    def sniff(self, inp: InputFile) -> Sniff | None:
        header = csv_file_header(inp)
        if header is None or tuple(h.lower() for h in header) != COLUMNS:
            return None
        return Sniff(self, (DATASET,), "MOPAC PAS public perception, London-wide (MPS) quarterly measures")

    def parts(self, inp: InputFile) -> Iterator[Part]:
        name, decoded, header, records = read_csv_file(inp)
        require_columns(name, [h.lower() for h in header], COLUMNS, WHAT)
        part = Part(DATASET, KIND, encoding=decoded.encoding,
                    notes=["London-wide (MPS) figures; proportions published in whole per cent, stored / 100; "
                           "sample sizes are not published: sample_size is null"])
        if not decoded.text.endswith(("\n", "\r")):
            part.notes.append("the file does not end with a line break; it may have been cut short")
        part.batches = batches_from_rows(part, _rows(header, nonempty(records, name, WHAT)))
        yield part


def _rows(header: list[str], records: Iterator[Record]) -> Iterator[Row]:
    i_date, i_measure, i_prop = ([h.lower() for h in header].index(c) for c in COLUMNS)
    seen: dict[tuple, int] = {}
    for rec in records:
        problem = width_problem(rec, header)
        if problem:
            yield problem
            continue
        f = rec.fields
        month = month_from_mon_yy(f[i_date])
        measure = f[i_measure].strip()
        proportion = parse_percent(f[i_prop])
        if month is None:
            yield Reject(rec.line, header[i_date], f[i_date], "expected a month such as Dec-14")
            continue
        if month.month not in QUARTER_END_MONTHS:
            yield Reject(rec.line, header[i_date], f[i_date],
                         "not a quarter end; expected Mar, Jun, Sep or Dec (the series is quarterly)")
            continue
        if not measure:
            yield Reject(rec.line, header[i_measure], f[i_measure], "empty; expected the measure name")
            continue
        if proportion is None:
            yield Reject(rec.line, header[i_prop], f[i_prop], "expected a whole per cent from 0 to 100 such as 67")
            continue
        period_end = month_end(month)
        key = (measure, period_end)
        if key in seen:
            yield Reject(rec.line, header[i_measure], measure,
                         f"duplicate of line {seen[key]} (same measure and date); expected one row each")
            continue
        seen[key] = rec.line
        yield (rec.line, dict(survey="PAS", area_level="london", area_code=LONDON_CODE, area_name=LONDON_NAME,
                              measure=measure, period_end=period_end, proportion=proportion))


__all__ = ["DATASET", "PasQuarterlyReader", "parse_percent"]
