"""Census 2021 TS021 (ethnic group) by LSOA, as Nomis exports it to CSV.

A Nomis "bulk" CSV of an ONS table has title lines, the header, a blank line,
the rows, and a disclosure footnote::

    TS021 - Ethnic group,,,…
    ONS Crown Copyright Reserved [from Nomis on 25 June 2024],,,…
    Population :,All usual residents,…
    Units      :,Persons,…
    Date       :,2021,…
    ,,,…
    2021 super output area - lower layer,Total: All usual residents,%,"Asian, Asian British or Asian Welsh",%,…
    ,,,…
    E01011954 : Hartlepool 001A,2284,100,19,0.8,0,0,6,0.3,2248,98.4,11,0.5
    …
    ,"In order to protect against disclosure of personal information, records",,…

It is recognised by its header (an LSOA 2021 geography column, 'Total: All usual
residents' and count / '%' column pairs), found among the first lines whatever the
number of title lines. Every LSOA of England (E01) and Wales (W01) is read.

Each row becomes ``population`` records of dataset
``population_lsoa21_ethnic_group_2021``: level 'lsoa', vintage '2021', reference
'census2021-ts021', sex and age_band 'all', the LSOA name as published in
``name`` ('Hartlepool 001A'; its stem is the local authority), one row for all
usual residents (ethnic_group null) and one per group (ethnic_group = the column
as published, e.g. 'White'). The percentages are not stored (they are the counts
over the total, rounded to one decimal); a row whose percentages disagree with its
counts by more than the rounding, or whose groups do not add up to the total, is
loaded as published and counted in the notes. The reference differs from the
usual-residents files' 'census2021', so measures that read populations by
reference are unchanged.

``line`` is the physical line (the first title line is line 1). The title lines and
the blank line after the header are not records; the footnote after the last row
is not data: it goes to the part's notes, and a file without one is noted as
possibly cut short. Rejected (one per row, naming the field): a first cell that is
not ``<LSOA code> : <name>`` with an E01/W01 code, a code given twice, a count that
is empty, negative, fractional or not a number, a row with the wrong number of
fields, an empty-coded row with values before the footnote. Title lines without a
header, a header without 'Total: All usual residents', an empty file or one with no
rows raise :class:`InputError`.
"""

from __future__ import annotations

import re
from typing import Iterator

from crimeplan.errors import InputError
from crimeplan.sources.base import Part, Reader, Reject, Row, Sniff, batches_from_rows, width_problem
from crimeplan.sources.geography import parse_persons
from crimeplan.sources.inputs import InputFile
from crimeplan.sources.text import Record, csv_records, decode

KIND = "population"
DATASET = "population_lsoa21_ethnic_group_2021"
REFERENCE = "census2021-ts021"
TOTAL = "Total: All usual residents"
GEOGRAPHY = "2021 super output area - lower layer"
WHAT = (f"a Nomis export of Census 2021 TS021 by LSOA: title lines, then the header "
        f"'{GEOGRAPHY}, {TOTAL}, %, <group>, %, …'")
#: how far a published percentage may be from count / total × 100 (rounded to one decimal)
PERCENT_TOLERANCE = 0.051
_MAX_HEADER_LINE = 30

_AREA = re.compile(r"([EW]01\d{6})\s*:\s*(\S.*)")


def _header_line(lines: list[str]) -> int | None:
    """The 0-based index of the header among the first lines, or None."""
    for i, line in enumerate(lines[:_MAX_HEADER_LINE]):
        if line.lower().startswith(GEOGRAPHY.lower()) and TOTAL.lower() in line.lower():
            return i
    return None


class CensusEthnicGroupReader(Reader):
    order = 70
    datasets = (DATASET,)
    signature = f"Nomis CSV of Census 2021 TS021 (ethnic group): title lines, then '{GEOGRAPHY}, {TOTAL}, %, …'"

    def sniff(self, inp: InputFile) -> Sniff | None:
        if inp.kind != "file":
            return None
        head = inp.members()[0].head().decode("utf-8", errors="replace").lstrip("\ufeff")
        lines = head.splitlines()
        i = _header_line(lines)
        if i is None or not any(line.startswith("TS021") for line in lines[:i]):
            return None
        return Sniff(self, (DATASET,), "Census 2021 TS021 ethnic group by LSOA (Nomis export)")

    def parts(self, inp: InputFile) -> Iterator[Part]:
        name = str(inp.path)
        decoded = decode(inp.members()[0].read_bytes(), name)
        text = decoded.text
        first_lines = text.split("\n", _MAX_HEADER_LINE + 1)[:_MAX_HEADER_LINE]
        i = _header_line([line.rstrip("\r") for line in first_lines])
        if i is None:
            raise InputError(name, f"no header line within the first {_MAX_HEADER_LINE} lines", expected=WHAT)
        title = [line.rstrip("\r").split(",", 1)[0].strip() for line in first_lines[:i]]
        body = text.split("\n", i)[i]  # from the header on
        header, records = csv_records(body, name)
        offset = i  # csv_records counts the header as line 1; it is line i + 1
        groups = _group_columns(name, header, offset + 1)
        part = Part(DATASET, KIND, encoding=decoded.encoding)
        described = "; ".join(t for t in title[:2] if t)
        if described:
            part.notes.append(f"title: {described}")
        part.notes.append("percentages are not stored (counts over the total, rounded)")
        shifted = (Record(rec.line + offset, rec.fields) for rec in records)
        part.batches = batches_from_rows(part, _rows(part, name, header, shifted, groups))
        yield part


def _group_columns(name: str, header: list[str], line: int) -> list[tuple[int, str]]:
    """(index, label) of the count columns: the total first, then each group; each is followed by '%'."""
    if TOTAL not in header:
        raise InputError(name, f"missing column {TOTAL!r}", line=line, expected=WHAT)
    columns = [(i, h) for i, h in enumerate(header) if i > 0 and h and h != "%"]
    for i, h in columns:
        if i + 1 >= len(header) or header[i + 1] != "%":
            raise InputError(name, f"column {h!r} is not followed by its '%' column", line=line, field=h,
                             expected=WHAT)
    if len(columns) < 2:
        raise InputError(name, "no ethnic group columns", line=line, expected=WHAT)
    return sorted(columns, key=lambda c: c[1] != TOTAL)


def _rows(part: Part, name: str, header: list[str], records: Iterator[Record],
          columns: list[tuple[int, str]]) -> Iterator[Row]:
    records = [r for r in records if any(f.strip() for f in r.fields)]  # blank lines are not records
    last = max((k for k, r in enumerate(records) if r.fields[0].strip()), default=-1)
    if last < 0:
        raise InputError(name, "the file has a header but no data rows", expected=WHAT)
    footnote = [" ".join(f.strip() for f in r.fields if f.strip()) for r in records[last + 1:]]
    if footnote:
        part.notes.append("footnote (not data): " + " ".join(footnote))
    else:
        part.notes.append("the file does not end with Nomis's disclosure footnote; it may have been cut short")
    seen: dict[str, int] = {}
    not_adding_up: list[int] = []
    percent_off: list[int] = []
    for rec in records[: last + 1]:
        problem = width_problem(rec, header)
        if problem:
            yield problem
            continue
        f = rec.fields
        m = _AREA.fullmatch(f[0].strip())
        if m is None:
            yield Reject(rec.line, header[0], f[0],
                         "expected '<LSOA 2021 code> : <LSOA name>' with an E01 or W01 code, "
                         "e.g. 'E01011954 : Hartlepool 001A'")
            continue
        code, area_name = m.group(1), m.group(2).strip()
        if code in seen:
            yield Reject(rec.line, header[0], f[0], f"duplicate code: already given on line {seen[code]}")
            continue
        counts: list[tuple[str, int]] = []
        for i, label in columns:
            persons, reason = parse_persons(f[i])
            if reason:
                problem = Reject(rec.line, label, f[i], reason)
                break
            counts.append((label, persons))  # type: ignore[arg-type]
        if problem:
            yield problem
            continue
        seen[code] = rec.line
        total = counts[0][1]
        if total != sum(n for _, n in counts[1:]):
            not_adding_up.append(rec.line)
        if not _percentages_agree(f, columns, dict(counts), total):
            percent_off.append(rec.line)
        for label, persons in counts:
            yield (rec.line, dict(level="lsoa", vintage="2021", code=code, name=area_name, reference=REFERENCE,
                                  sex="all", age_band="all", ethnic_group=None if label == TOTAL else label,
                                  persons=persons))
    if not_adding_up:
        part.notes.append(f"{len(not_adding_up)} rows whose groups do not add up to the total (loaded as "
                          f"published), first on line {not_adding_up[0]}")
    if percent_off:
        part.notes.append(f"{len(percent_off)} rows whose percentages disagree with their counts (loaded as "
                          f"published), first on line {percent_off[0]}")


def _percentages_agree(fields: list[str], columns: list[tuple[int, str]], counts: dict[str, int], total: int) -> bool:
    for i, label in columns:
        try:
            published = float(fields[i + 1])
        except ValueError:
            return False
        expected = 100.0 * counts[label] / total if total else 0.0
        if abs(published - expected) > PERCENT_TOLERANCE:
            return False
    return True


__all__ = ["DATASET", "REFERENCE", "CensusEthnicGroupReader"]
