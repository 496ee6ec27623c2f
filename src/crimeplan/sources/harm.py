"""Cambridge Crime Harm Index (CCHI) weights, in days of imprisonment.

The CCHI weights an offence by the days of imprisonment its sentencing-guideline
starting point implies for a first offender (Sherman, Neyroud and Neyroud (2016),
"The Cambridge Crime Harm Index: measuring total harm from crime based on
sentencing guidelines", Policing 10(3): 171-183). Two tables, recognised by their
header, become ``harm_weight`` records:

* ``harm_cchi_subgroups`` — ``category, prc_subgroup, cchi_days,
  national_count_<year>``: the median weight per Home Office offence subgroup
  (scheme 'subgroup'; category = the data.police.uk crime type the subgroup falls
  in, subgroup = the Home Office subgroup, national_count = the subgroup's
  recorded crimes in England and Wales that year, whose year is said in the
  part's notes).
* ``harm_cchi_force_categories`` — ``force, crime_type, cchi_days``: the weights
  rolled up to the data.police.uk crime types for each force, weighted by that
  force's own subgroup mix (scheme 'force_category'; force as published, e.g.
  'Metropolitan Police').

Rules:

* A weight must be a finite number ≥ 0; a national count a whole number ≥ 0.
  Anything else rejects the row (line, field, value, reason).
* category / crime_type must be a data.police.uk crime type (the 13 that carry
  weights; 'Anti-social behaviour' is not a crime and has no weight): a misspelt
  type would otherwise silently weigh nothing when joined to street crime.
* A second row for the same subgroup (scheme 'subgroup') or the same force and
  crime type (scheme 'force_category') is rejected as a duplicate; the first is kept.
* A missing column, an empty file or a header with no rows raises
  :class:`InputError`. ``line`` is the physical CSV line (header = 1).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterator


from crimeplan.errors import InputError
from crimeplan.sources.base import Part, Reader, Reject, Row, Sniff, batches_from_rows, require_columns, width_problem
from crimeplan.sources.inputs import InputFile
from crimeplan.sources.text import Record, header_fields, nonempty, read_csv_file

KIND = "harm_weight"

#: data.police.uk crime types (street files), less anti-social behaviour.
POLICE_UK_CRIME_TYPES = frozenset({
    "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs", "Other crime", "Other theft",
    "Possession of weapons", "Public order", "Robbery", "Shoplifting", "Theft from the person",
    "Vehicle crime", "Violence and sexual offences",
})

_NATIONAL_COUNT = re.compile(r"national_count(?:_(\d{4})_(\d{2}))?")



@dataclass(frozen=True)
class _Layout:
    dataset: str
    scheme: str
    markers: frozenset[str]
    what: str


_SUBGROUPS = _Layout("harm_cchi_subgroups", "subgroup", frozenset({"prc_subgroup", "cchi_days"}),
                     "CCHI median weights per Home Office subgroup (category, prc_subgroup, cchi_days, "
                     "national_count_<year>)")
_FORCE_CATEGORIES = _Layout("harm_cchi_force_categories", "force_category",
                            frozenset({"force", "crime_type", "cchi_days"}),
                            "CCHI weights per force and data.police.uk crime type (force, crime_type, cchi_days)")


class HarmWeightsReader(Reader):
    """Cambridge Crime Harm Index weights per Home Office subgroup, and per force and crime type."""
    order = 95

    datasets = (_SUBGROUPS.dataset, _FORCE_CATEGORIES.dataset)
    signature = ("CSV category, prc_subgroup, cchi_days, national_count_<year> | "
                 "CSV force, crime_type, cchi_days")

    def sniff(self, inp: InputFile) -> Sniff | None:
        layout = self._layout(inp)
        if layout is None:
            return None
        return Sniff(self, (layout.dataset,), layout.what)

    def parts(self, inp: InputFile) -> Iterator[Part]:
        name = str(inp.path)
        layout = self._layout(inp)
        if layout is None:
            raise self.unrecognised(inp, "Cambridge Crime Harm Index weights")
        name, decoded, header, records = read_csv_file(inp)
        part = Part(layout.dataset, KIND, encoding=decoded.encoding)
        if layout is _SUBGROUPS:
            require_columns(name, header, ["category", "prc_subgroup", "cchi_days"], layout.what)
            count_col = next((h for h in header if _NATIONAL_COUNT.fullmatch(h)), None)
            if count_col is None:
                raise InputError(name, "missing column 'national_count_<year>'", line=1,
                                 expected=f"the header of {layout.what}")
            year = _NATIONAL_COUNT.fullmatch(count_col)
            if year and year.group(1):
                part.notes.append(f"national counts are for {year.group(1)}/{year.group(2)} ({count_col})")
            rows = _subgroup_rows(header, nonempty(records, name, layout.what), count_col)
        else:
            require_columns(name, header, ["force", "crime_type", "cchi_days"], layout.what)
            rows = _force_category_rows(header, nonempty(records, name, layout.what))
        part.batches = batches_from_rows(part, rows)
        yield part

    @staticmethod
    def _layout(inp: InputFile) -> _Layout | None:
        if inp.kind != "file":
            return None
        found = header_fields(inp.members()[0].head())
        if found is None or found[1] != ",":
            return None
        header = set(found[0])
        for layout in (_SUBGROUPS, _FORCE_CATEGORIES):
            if layout.markers <= header:
                return layout
        return None


def weight_days(value: str) -> tuple[float | None, str | None]:
    """A published CCHI weight as a finite number of days ≥ 0, or why it is not one."""
    v = value.strip()
    if not v:
        return None, "the weight is empty; expected a number of days ≥ 0"
    try:
        x = float(v)
    except ValueError:
        return None, "the weight is not a number; expected a number of days ≥ 0"
    if not math.isfinite(x):
        return None, "the weight is not a finite number; expected a number of days ≥ 0"
    if x < 0:
        return None, "the weight is negative; expected a number of days ≥ 0"
    return x, None


_WHOLE = re.compile(r"\+?\d+(?:\.0*)?")


def _count(value: str) -> tuple[int | None, str | None]:
    v = value.strip()
    if _WHOLE.fullmatch(v):
        return int(v.lstrip("+").split(".")[0]), None
    if not v:
        return None, "the national count is empty; expected a whole number ≥ 0"
    try:
        x = float(v)
    except ValueError:
        return None, "the national count is not a number; expected a whole number ≥ 0"
    if math.isfinite(x) and x < 0:
        return None, "the national count is negative; expected a whole number ≥ 0"
    return None, "the national count is not a whole number; expected a whole number ≥ 0"


def _crime_type_problem(line: int, field: str, value: str) -> Reject | None:
    if value in POLICE_UK_CRIME_TYPES:
        return None
    return Reject(line, field, value, "not a data.police.uk crime type; expected one of "
                  + ", ".join(sorted(POLICE_UK_CRIME_TYPES)))


def _subgroup_rows(header: list[str], records: Iterator[Record], count_col: str) -> Iterator[Row]:
    i_cat, i_sub, i_days, i_count = (header.index(c) for c in ("category", "prc_subgroup", "cchi_days", count_col))
    seen: dict[str, int] = {}
    for rec in records:
        problem = width_problem(rec, header)
        if problem:
            yield problem
            continue
        category, subgroup = rec.fields[i_cat].strip(), rec.fields[i_sub].strip()
        problem = _crime_type_problem(rec.line, "category", category)
        if problem is None and not subgroup:
            problem = Reject(rec.line, "prc_subgroup", subgroup, "the subgroup is empty")
        if problem is None and subgroup in seen:
            problem = Reject(rec.line, "prc_subgroup", subgroup,
                             f"duplicate subgroup: already given on line {seen[subgroup]}")
        if problem:
            yield problem
            continue
        days, reason = weight_days(rec.fields[i_days])
        if reason:
            yield Reject(rec.line, "cchi_days", rec.fields[i_days], reason)
            continue
        count, reason = _count(rec.fields[i_count])
        if reason:
            yield Reject(rec.line, count_col, rec.fields[i_count], reason)
            continue
        seen[subgroup] = rec.line
        yield (rec.line, dict(scheme="subgroup", force=None, category=category, subgroup=subgroup,
                              weight_days=days, national_count=count))


def _force_category_rows(header: list[str], records: Iterator[Record]) -> Iterator[Row]:
    i_force, i_type, i_days = (header.index(c) for c in ("force", "crime_type", "cchi_days"))
    seen: dict[tuple[str, str], int] = {}
    for rec in records:
        problem = width_problem(rec, header)
        if problem:
            yield problem
            continue
        force, crime_type = rec.fields[i_force].strip(), rec.fields[i_type].strip()
        problem = None if force else Reject(rec.line, "force", force, "the force is empty")
        problem = problem or _crime_type_problem(rec.line, "crime_type", crime_type)
        if problem is None and (force, crime_type) in seen:
            problem = Reject(rec.line, "crime_type", crime_type,
                             f"duplicate: {force} / {crime_type} already given on line {seen[(force, crime_type)]}")
        if problem:
            yield problem
            continue
        days, reason = weight_days(rec.fields[i_days])
        if reason:
            yield Reject(rec.line, "cchi_days", rec.fields[i_days], reason)
            continue
        seen[(force, crime_type)] = rec.line
        yield (rec.line, dict(scheme="force_category", force=force, category=crime_type, subgroup=None,
                              weight_days=days, national_count=None))
