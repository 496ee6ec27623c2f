"""MOPAC Public Attitude Survey (PAS) tables by neighbourhood, as MOPAC saved them from Excel.

Two layouts, recognised by their header rows (not their names), become
``survey_measure`` records at area level 'neighbourhood':

``mopac_pas_neighbourhood_ethnic_group`` — PAS by ethnic group, pooled over several
financial years, three header rows::

    neighbourhood,<question>,<question>,…            (line 1: the question)
    ,White British,White British,…,Asian,…,Black,…   (line 2: the respondent group)
    ,% Strongly agree/Tend to agree,…                (line 3: what the per cent counts)
    Barking and Dagenham - Barking,84,69,…

  One tidy row per neighbourhood × column: measure = the question, respondent_group
  = the group, answer = the definition. The pooled span is stated only in MOPAC's
  file name ("2015-16 _to_2020-21_inclusive_…"): period_start is 1 April of the
  first financial year, period_end 31 March after the last (2015-04-01 to
  2021-03-31); a file whose name does not state it is refused.

``mopac_pas_neighbourhood_2016`` — PAS 2016 for neighbourhoods, two header rows::

    Neighbourhood,Code,Group,<question>,…,Total Notifiable Offences rate
    ,,,% Excellent or Good,…,
    Barking and Dagenham - Barking,KG-KB,Group 7,71,…,N/A

  One tidy row per neighbourhood × question (answer = line 2's definition), with
  area_alt_code the MPS neighbourhood code. A column with no definition on line 2
  (the Total Notifiable Offences rate) is not a proportion: it is stored in
  ``value`` (unit said in ``unit``), proportion null. The ``Group`` column
  (MOPAC's grouping of similar neighbourhoods) is not stored; the part's notes say
  so. The year is the single year in the file name (the file states none):
  calendar 2016, period_start 2016-01-01, period_end 2016-12-31.

Both: a neighbourhood is published as ``Borough - Area``; area_code is the
borough's GSS code (so the warehouse checks it against the loaded boroughs),
area_name the neighbourhood as published. Per cents (0 to 100) are stored / 100.

**Suppressed values.** MOPAC leaves a cell empty where too few were asked (and the
2016 file writes ``N/A`` for the TNO rate throughout). Such a cell is a tidy row
with a null proportion (or value) — never 0 — and the part's notes count them, so
a neighbourhood whose every value is suppressed is still read and loaded as one
record. Survey measures in ``measures/`` read proportions, and a null is a gap.

**Rejects** (one per CSV row, naming the first bad field): a neighbourhood that is
not ``Borough - Area`` with a London borough, a second row for a neighbourhood, a
code that is not ``XX-XX`` (2016), a value that is neither a per cent from 0 to 100
nor empty/N/A, a row with the wrong number of fields. A missing column or header
row, an empty file or one with no data rows raises :class:`InputError`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterator

from crimeplan.errors import InputError
from crimeplan.sources import london
from crimeplan.sources.base import Part, Reader, Reject, Row, Sniff, batches_from_rows, width_problem
from crimeplan.sources.inputs import InputFile
from crimeplan.sources.pas_quarterly import parse_percent
from crimeplan.sources.text import Record, nonempty, read_csv_file

KIND = "survey_measure"
ETHNIC_GROUP_DATASET = "mopac_pas_neighbourhood_ethnic_group"
PAS_2016_DATASET = "mopac_pas_neighbourhood_2016"
LEVEL = "neighbourhood"
SURVEY = "PAS"
NOT_AVAILABLE = ("", "n/a", "na")
RATE_UNIT = "rate as published (the file does not state its base)"

_NEIGHBOURHOOD_CODE = re.compile(r"[A-Z]{2}-[A-Z]{2}")
_POOLED_YEARS = re.compile(r"(20\d{2})-(\d{2})\D{0,6}?to\D{0,6}?(20\d{2})-(\d{2})", re.IGNORECASE)
_YEAR = re.compile(r"(?<![0-9])(20[0-9]{2})(?![0-9])")

ETHNIC_WHAT = ("MOPAC PAS by ethnic group and neighbourhood: 'neighbourhood' and question columns on line 1, "
               "the respondent group on line 2, the answer definition ('% …') on line 3")
PAS_2016_WHAT = ("MOPAC PAS neighbourhood table: Neighbourhood, Code, Group and question columns on line 1, "
                 "the answer definitions ('% …') on line 2")


@dataclass(frozen=True)
class _Column:
    index: int
    field: str  # how a reject names it
    measure: str
    group: str | None
    answer: str | None  # None: not a proportion (a rate)


class PasNeighbourhoodReader(Reader):
    """MOPAC PAS neighbourhood tables: by ethnic group (pooled years) and PAS 2016."""
    order = 42

    datasets = (ETHNIC_GROUP_DATASET, PAS_2016_DATASET)
    signature = ("CSV 'neighbourhood' + questions, then a row of respondent groups and a row of '% …' definitions "
                 "(years pooled in the file name) | CSV Neighbourhood, Code, Group + questions, then a row of '% …' "
                 "definitions (year in the file name)")

    def sniff(self, inp: InputFile) -> Sniff | None:
        dataset = self._layout(inp)
        if dataset == ETHNIC_GROUP_DATASET:
            return Sniff(self, (dataset,), "MOPAC PAS by ethnic group and neighbourhood (pooled years)")
        if dataset == PAS_2016_DATASET:
            return Sniff(self, (dataset,), "MOPAC PAS neighbourhood perceptions")
        return None

    @staticmethod
    def _layout(inp: InputFile) -> str | None:
        if inp.kind != "file":
            return None
        head = inp.members()[0].head().decode("utf-8", errors="replace").lstrip("\ufeff")
        try:
            lines = list(csv.reader(io.StringIO(head, newline="")))[:3]
        except csv.Error:
            return None
        if len(lines) < 2 or not lines[0] or lines[0][0].strip().lower() != "neighbourhood":
            return None
        def definitions(row: list[str]) -> bool:  # a header row of '% …' answer definitions
            cells = [c.strip() for c in row[1:] if c.strip()]
            return bool(cells) and all(c.startswith("%") for c in cells)

        if definitions(lines[1]) or "code" in (h.strip().lower() for h in lines[0]):
            return PAS_2016_DATASET
        if len(lines) == 3 and not definitions(lines[1]) and definitions(lines[2]):
            return ETHNIC_GROUP_DATASET
        return None

    def parts(self, inp: InputFile) -> Iterator[Part]:
        name = str(inp.path)
        dataset = self._layout(inp)
        if dataset is None:
            raise self.unrecognised(inp, "a MOPAC PAS neighbourhood table")
        name, decoded, header, records = read_csv_file(inp)
        part = Part(dataset, KIND, encoding=decoded.encoding)
        if dataset == ETHNIC_GROUP_DATASET:
            start, end = _pooled_years(inp.path, name)
            columns = _ethnic_group_columns(name, header, records)
            what = ETHNIC_WHAT
            part.notes.append(f"PAS pooled over {start.year}-{(start.year + 1) % 100:02d} to "
                              f"{end.year - 1}-{end.year % 100:02d} (from the file name)")
        else:
            start, end = _single_year(inp.path, name)
            columns = _pas_2016_columns(name, header, records)
            what = PAS_2016_WHAT
            part.notes.append(f"period taken as calendar {start.year} from the file name (the file states none)")
            if "group" in [h.lower() for h in header]:
                part.notes.append("the Group column (MOPAC's grouping of similar neighbourhoods) is not stored")
        part.notes.append("sample sizes are not published: sample_size is null")
        code_col = _index(header, "code") if dataset == PAS_2016_DATASET else None
        rows = _rows(part, header, nonempty(records, name, what), columns, code_col, start, end)
        part.batches = batches_from_rows(part, rows)
        yield part


def _index(header: list[str], name: str) -> int | None:
    lowered = [h.strip().lower() for h in header]
    return lowered.index(name) if name in lowered else None


def _next_header_row(name: str, records: Iterator[Record], line: int, what: str) -> list[str]:
    rec = next(records, None)
    if rec is None:
        raise InputError(name, "the file ends before its header rows do", line=line, expected=what)
    if rec.line != line or rec.fields[0].strip():
        raise InputError(name, "not a header row (its first cell is not empty)", line=rec.line, expected=what)
    return [f.strip() for f in rec.fields]


def _ethnic_group_columns(name: str, header: list[str], records: Iterator[Record]) -> list[_Column]:
    groups = _next_header_row(name, records, 2, ETHNIC_WHAT)
    answers = _next_header_row(name, records, 3, ETHNIC_WHAT)
    columns: list[_Column] = []
    seen: set[tuple[str, str]] = set()
    for i in range(1, len(header)):
        question = header[i]
        group = groups[i] if i < len(groups) else ""
        answer = answers[i] if i < len(answers) else ""
        if not question and not group and not answer:
            continue  # an empty trailing column
        if not question:
            raise InputError(name, f"column {i + 1} has no question", line=1, expected=ETHNIC_WHAT)
        if not group:
            raise InputError(name, f"column {i + 1} ({question!r}) has no respondent group", line=2,
                             expected=ETHNIC_WHAT)
        if not answer.startswith("%"):
            raise InputError(name, f"column {i + 1} ({question!r}, {group}) has no answer definition", line=3,
                             field=answer or None, expected=ETHNIC_WHAT)
        if (question, group) in seen:
            raise InputError(name, f"column {i + 1} repeats {question!r} for {group}", line=1, expected=ETHNIC_WHAT)
        seen.add((question, group))
        columns.append(_Column(i, f"{question} [{group}]", question, group, answer))
    if not columns:
        raise InputError(name, "no question columns", line=1, expected=ETHNIC_WHAT)
    return columns


def _pas_2016_columns(name: str, header: list[str], records: Iterator[Record]) -> list[_Column]:
    lowered = [h.lower() for h in header]
    missing = [c for c in ("Neighbourhood", "Code") if c.lower() not in lowered]
    if missing:
        raise InputError(name, f"missing column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}",
                         line=1, expected=PAS_2016_WHAT)
    answers = _next_header_row(name, records, 2, PAS_2016_WHAT)
    columns: list[_Column] = []
    for i, question in enumerate(header):
        if lowered[i] in ("neighbourhood", "code", "group"):
            continue
        answer = answers[i] if i < len(answers) else ""
        if not question:
            if answer:
                raise InputError(name, f"column {i + 1} has no question", line=1, expected=PAS_2016_WHAT)
            continue  # an empty trailing column
        if answer and not answer.startswith("%"):
            raise InputError(name, f"column {i + 1} ({question!r}): {answer!r} is not a '% …' definition", line=2,
                             expected=PAS_2016_WHAT)
        columns.append(_Column(i, question, question, None, answer or None))
    if not any(c.answer for c in columns):
        raise InputError(name, "no question columns with a '% …' definition", line=2, expected=PAS_2016_WHAT)
    return columns


def _pooled_years(path: Path, name: str) -> tuple[date, date]:
    m = _POOLED_YEARS.search(path.name)
    if m:
        first, first_end, last, last_end = (int(g) for g in m.groups())
        if (first + 1) % 100 == first_end and (last + 1) % 100 == last_end and first <= last:
            return date(first, 4, 1), date(last + 1, 3, 31)
    raise InputError(name, "the pooled financial years are stated only in MOPAC's file name, and this name "
                           "does not state them", expected="a name such as "
                     "'2015-16 _to_2020-21_inclusive_neighbourhood_indicators_final_221221.csv'")


def _single_year(path: Path, name: str) -> tuple[date, date]:
    years = set(_YEAR.findall(path.name))
    if len(years) != 1:
        raise InputError(name, "the survey year is stated only in the file name, and this name "
                               + ("states none" if not years else f"states several ({', '.join(sorted(years))})"),
                         expected="one year in the name, e.g. 'MOPAC PAS neighbourhood perceptions 2016.csv'")
    year = int(years.pop())
    return date(year, 1, 1), date(year, 12, 31)


def neighbourhood_borough(text: str) -> str | None:
    """'Barking and Dagenham - Barking' → E09000002; None unless 'Borough - Area' with a London borough."""
    borough, sep, area = text.partition(" - ")
    if not sep or not area.strip():
        return None
    found = london.resolve_area(borough.strip())
    return found.code if found is not None and found.level == "borough" else None


def _rows(part: Part, header: list[str], records: Iterator[Record], columns: list[_Column], code_col: int | None,
          start: date, end: date) -> Iterator[Row]:
    suppressed = 0
    not_available: dict[str, int] = {}
    all_suppressed: list[str] = []
    seen: dict[str, int] = {}
    for rec in records:
        problem = width_problem(rec, header)
        if problem:
            yield problem
            continue
        f = rec.fields
        neighbourhood = f[0].strip()
        borough = neighbourhood_borough(neighbourhood)
        if borough is None:
            yield Reject(rec.line, header[0], f[0],
                         "expected 'Borough - Area' with a London borough, e.g. 'Barking and Dagenham - Barking'")
            continue
        if neighbourhood in seen:
            yield Reject(rec.line, header[0], f[0], f"duplicate neighbourhood: already given on line {seen[neighbourhood]}")
            continue
        code = None
        if code_col is not None:
            code = f[code_col].strip()
            if not _NEIGHBOURHOOD_CODE.fullmatch(code):
                yield Reject(rec.line, header[code_col], f[code_col],
                             "expected an MPS neighbourhood code: two letters, '-', two letters (e.g. KG-KB)")
                continue
        values: list[tuple[_Column, float | None]] = []
        for col in columns:
            cell = f[col.index].strip()
            if cell.lower() in NOT_AVAILABLE:
                values.append((col, None))
                continue
            value = parse_percent(cell) if col.answer else _rate(cell)
            if value is None:
                problem = Reject(rec.line, col.field, f[col.index],
                                 "expected a per cent from 0 to 100, or nothing where the value is suppressed"
                                 if col.answer else "expected a rate ≥ 0, or N/A")
                break
            values.append((col, value))
        if problem:
            yield problem
            continue
        seen[neighbourhood] = rec.line
        empty = [col for col, v in values if v is None]
        suppressed += sum(1 for col in empty if not f[col.index].strip())
        for col in empty:
            if f[col.index].strip():
                not_available[col.field] = not_available.get(col.field, 0) + 1
        if len(empty) == len(values):
            all_suppressed.append(neighbourhood)
        for col, value in values:
            yield (rec.line, dict(
                survey=SURVEY, area_level=LEVEL, area_code=borough, area_name=neighbourhood, area_alt_code=code,
                measure=col.measure, respondent_group=col.group, answer=col.answer,
                period_start=start, period_end=end,
                proportion=value if col.answer else None,
                value=None if col.answer else value, unit=None if col.answer else RATE_UNIT,
            ))
    if suppressed:
        part.notes.append(f"{suppressed} empty cells (values MOPAC suppressed for small samples) stored with a null "
                          "proportion, never 0")
    for field, n in not_available.items():
        part.notes.append(f"{field}: {n} value{'s' if n > 1 else ''} published as 'N/A', stored as null")
    if all_suppressed:
        shown = ", ".join(repr(n) for n in all_suppressed[:5]) + (" …" if len(all_suppressed) > 5 else "")
        part.notes.append(f"{len(all_suppressed)} neighbourhood{'s have' if len(all_suppressed) > 1 else ' has'} "
                          f"every value suppressed: {shown}")


def _rate(text: str) -> float | None:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        return None
    return value if value >= 0 and value == value and value != float("inf") else None


__all__ = ["ETHNIC_GROUP_DATASET", "PAS_2016_DATASET", "PasNeighbourhoodReader", "neighbourhood_borough"]
