"""MOPAC Public Attitude Survey (PAS) trust and confidence dashboard exports.

The dashboard gives, per quarter end, the proportion of respondents agreeing
with each of eight measures ("Good Job" local, Trust MPS, Treat everyone
fairly, …) for each borough (Borough sheet, with the London figure alongside in
an ``MPS`` column) and for the Met as a whole (MPS sheet, Borough = 'MPS').

Two export forms are read to identical values:

* ``Date;Survey;Borough;Measure;Proportion;MPS`` with decimal commas (``0,56``);
* ``Date,Survey,Borough,Measure,Proportion,MPS,,,,`` with quoted decimal commas
  (``"0,56"``) and empty unnamed columns at the end.

Dates are day/month/year quarter ends (``31/12/2014`` or ``31/3/2016``) →
``period_end``. The measure is kept as the CSV field decodes (the published
``\"\"\"Good Job\"\" local\"`` is the text ``"Good Job" local``). Borough names are
mapped to GSS codes by :mod:`.london` (both spellings of Richmond, "City of
Westminster"); the MPS rows become area level 'london' with code E12000007.
``sample_size`` is null: the dashboard does not publish it.

A part is ``mopac_pas_london`` when every row is London-wide ('MPS'), else
``mopac_pas_borough``; a London-wide row in a borough file (or a borough row in
a London file) is rejected rather than mixed in. One CSV row is one record,
loaded or rejected whole; a second row for the same area, measure and date is
rejected as a duplicate. Values in the unnamed trailing columns are ignored and
listed in the part's notes.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Iterator

from crimeplan.errors import InputError
from crimeplan.sources import london
from crimeplan.sources.base import Part, Reader, Reject, RowBuffer, Sniff
from crimeplan.sources.inputs import InputFile
from crimeplan.sources.text import Record, csv_records, decode, header_fields, sniff_delimiter

KIND = "survey_measure"
BOROUGH_DATASET = "mopac_pas_borough"
LONDON_DATASET = "mopac_pas_london"

REQUIRED = ("Date", "Survey", "Borough", "Measure", "Proportion")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DECIMAL = re.compile(r"^(?:\d+(?:[.,]\d*)?|[.,]\d+)$")
_MAX_STRAY_NOTES = 5


def parse_day(text: str) -> date | None:
    """'31/12/2014', '31/3/2016' (day first) or '2014-12-31' → a date; None if not a real date."""
    t = text.strip()
    m = _DMY.match(t)
    if m:
        d, mo, y = (int(g) for g in m.groups())
    else:
        m = _ISO.match(t)
        if not m:
            return None
        y, mo, d = (int(g) for g in m.groups())
    try:
        return date(y, mo, d)
    except ValueError:
        return None


def parse_proportion(text: str) -> float | None:
    """'0,56' or '0.56' → 0.56; None unless a number between 0 and 1."""
    t = text.strip()
    if not _DECIMAL.match(t):
        return None
    value = float(t.replace(",", "."))
    return value if 0.0 <= value <= 1.0 else None


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, h in enumerate(header):
        k = h.strip().lower()
        for want in (*REQUIRED, "MPS"):
            if k == want.lower() and want not in found:
                found[want] = i
    return found


class PasDashboardReader(Reader):
    order = 40
    datasets = (BOROUGH_DATASET, LONDON_DATASET)
    signature = (
        "MOPAC PAS dashboard CSV: Date, Survey, Borough, Measure, Proportion[, MPS] "
        "(';' with decimal commas, or ',' with quoted decimal commas)"
    )

    def sniff(self, inp: InputFile) -> Sniff | None:
        if inp.kind != "file":
            return None
        head = inp.members()[0].head()
        found = header_fields(head)
        if found is None:
            return None
        header, delimiter = found
        cols = _columns(header)
        if not set(REQUIRED) <= set(cols):
            return None
        if "MPS" in cols:
            dataset = BOROUGH_DATASET
        else:
            dataset = LONDON_DATASET if self._first_area_is_london(head, delimiter, cols["Borough"]) else BOROUGH_DATASET
        sheet = "MPS (London)" if dataset == LONDON_DATASET else "Borough"
        return Sniff(self, (dataset,), f"MOPAC PAS trust and confidence dashboard, {sheet} sheet")

    @staticmethod
    def _first_area_is_london(head: bytes, delimiter: str, col: int) -> bool:
        text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        next(rows, None)
        for row in rows:
            if len(row) > col and row[col].strip():
                return london.is_london(row[col])
        return False

    def parts(self, inp: InputFile) -> Iterator[Part]:
        name = str(inp.path)
        decoded = decode(inp.members()[0].read_bytes(), name)
        first_line = decoded.text.lstrip("\r\n").split("\n", 1)[0]
        header, records_iter = csv_records(decoded.text, name, delimiter=sniff_delimiter(first_line))
        cols = _columns(header)
        missing = [c for c in REQUIRED if c not in cols]
        if missing:
            raise InputError(
                name,
                f"missing column{'s' if len(missing) > 1 else ''} {', '.join(repr(c) for c in missing)}",
                line=1,
                expected=self.signature,
            )
        records = list(records_iter)
        if not records:
            raise InputError(name, "the file has a header but no data rows",
                             expected="one row per area, measure and quarter")
        i_area = cols["Borough"]
        areas = [r.fields[i_area] for r in records if len(r.fields) > i_area and r.fields[i_area].strip()]
        london_file = bool(areas) and all(london.is_london(a) for a in areas)
        dataset = LONDON_DATASET if london_file else BOROUGH_DATASET
        notes = ["sample sizes are not published in the dashboard: sample_size is null"]
        if not decoded.text.endswith(("\n", "\r")):
            notes.append("the file does not end with a line break; it may have been cut short")
        part = Part(dataset=dataset, kind=KIND, encoding=decoded.encoding, notes=notes)
        part.batches = self._batches(part, header, records, cols, london_file)
        yield part

    def _batches(self, part: Part, header: list[str], records: list[Record], cols: dict[str, int],
                 london_file: bool) -> Iterator:
        buf = RowBuffer(KIND)
        named = [i for i, h in enumerate(header) if h]
        width = max(named) + 1
        seen: dict[tuple, int] = {}
        spellings: dict[str, set[str]] = {}
        stray: list[str] = []
        n_stray = 0
        for rec in records:
            part.records_read += 1
            f = rec.fields
            if len(f) < width:
                part.rejects.append(Reject(rec.line, header[len(f)], None,
                                           f"the row has {len(f)} fields, expected {len(header)}; "
                                           "it may have been cut short"))
                continue
            extra = [v for v in f[width:] if v.strip()]
            get = lambda c: f[cols[c]].strip()  # noqa: E731
            problem = None
            period_end = parse_day(get("Date"))
            area = london.resolve_area(get("Borough")) if get("Borough") else None
            proportion = parse_proportion(get("Proportion"))
            london_proportion = None
            if "MPS" in cols and get("MPS"):
                london_proportion = parse_proportion(get("MPS"))
            if period_end is None:
                problem = (header[cols["Date"]], f[cols["Date"]], "expected a day/month/year date such as 31/12/2014")
            elif not get("Survey"):
                problem = (header[cols["Survey"]], f[cols["Survey"]], "empty; expected the survey name (PAS)")
            elif area is None or area.level == london.UNIT_LEVEL:
                problem = (header[cols["Borough"]], f[cols["Borough"]],
                           "not a London borough name; expected e.g. 'Barking and Dagenham' or 'MPS'")
            elif (area.level == "london") != london_file:
                problem = (header[cols["Borough"]], f[cols["Borough"]],
                           "a London-wide row in a borough file; expected a borough (London-wide figures are "
                           "read from the MPS sheet)" if not london_file else "expected 'MPS' in a London-wide file")
            elif not get("Measure"):
                problem = (header[cols["Measure"]], f[cols["Measure"]], "empty; expected the measure name")
            elif proportion is None:
                problem = (header[cols["Proportion"]], f[cols["Proportion"]],
                           "expected a proportion between 0 and 1 such as 0,56")
            elif "MPS" in cols and get("MPS") and london_proportion is None:
                problem = (header[cols["MPS"]], f[cols["MPS"]],
                           "expected the London proportion between 0 and 1 such as 0,67, or nothing")
            if problem is None:
                key = (area.code, get("Measure"), period_end)
                if key in seen:
                    problem = (header[cols["Measure"]], f[cols["Measure"]],
                               f"duplicate of line {seen[key]} (same area, measure and date); expected one row each")
                else:
                    seen[key] = rec.line
            if problem is not None:
                part.rejects.append(Reject(rec.line, *problem))
                continue
            if extra:
                n_stray += 1
                if len(stray) < _MAX_STRAY_NOTES:
                    stray.append(f"line {rec.line}: {', '.join(repr(v) for v in extra)}")
            spellings.setdefault(area.code, set()).add(get("Borough"))
            buf.add(
                rec.line,
                survey=get("Survey"),
                area_level=area.level,
                area_code=area.code,
                area_name=get("Borough"),
                measure=get("Measure"),
                period_end=period_end,
                proportion=proportion,
                london_proportion=london_proportion,
                sample_size=None,
            )
            if buf.full():
                yield from buf.flush()
        yield from buf.flush()
        for code, names in sorted(spellings.items()):
            if len(names) > 1:
                part.notes.append(f"{code} is spelt {len(names)} ways: {', '.join(sorted(map(repr, names)))}")
        if n_stray:
            part.notes.append(
                f"{n_stray} row{'s hold' if n_stray > 1 else ' holds'} values in the unnamed trailing columns, ignored: "
                + "; ".join(stray) + (" …" if n_stray > len(stray) else "")
            )
