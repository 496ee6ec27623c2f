"""MPS recorded crime by borough, ward or LSOA (London Datastore), wide month columns.

The Met publishes counts of recorded crime as one CSV row per area × offence
category, with one column per month (``201004`` …). This reader turns each
row into one tidy ``recorded_crime`` row per month.

Layouts (columns are found by name, in any order):

* borough: ``MajorText, MinorText, LookUp_BoroughName`` (``BoroughName`` in the
  2023 historical file), months …
* ward: ``MajorText, MinorText, WardName, WardCode, LookUp_BoroughName``, months …
* LSOA: ``LSOA Code, LSOA Name, Borough, Major Category, Minor Category`` (or
  ``MajorText, MinorText``), months …

Rules:

* **Category scheme** — decided per file from the case of its categories: rows
  whose MajorText/MinorText contain lower-case letters are the old MPS scheme
  ('old', e.g. "Violence Against the Person" / "Homicide"); rows all in upper case
  are the Home Office subgroups used since 2022 ('new', "VIOLENCE AGAINST THE
  PERSON" / "HOMICIDE"). A file holding both is refused: the two schemes count
  different things and must not be summed by accident.
* **Areas** — borough names are mapped to GSS codes by :mod:`.london`; the MPS
  units that are not places ("London Heathrow and London City Airports",
  "Aviation Security (SO18)", "Unknown") keep their rows with level 'unit' and an
  ``MPS-…`` code, so the boroughs plus units add up to the Met total. Boroughs
  have no vintage (''). Ward rows keep the published WardCode and the published
  LookUp_BoroughName (the real file files ward E05013570 Heathrow Villages under
  "Aviation Security (SO18)"; the warehouse rolls wards up by geography, not by
  that label). Ward vintage: '2022' when the file's first month is May 2022 or
  later (the Met moved to the 679 May-2022 wards then and republishes its rolling
  24 months on current boundaries), else '2018'. LSOA vintage: '2021' when the
  first month is January 2023 or later (the year data.police.uk and the Met moved
  to 2021 LSOAs), else '2011'. Codes are checked for their GSS pattern only; the
  warehouse checks them against the geography.
* **Counting** — a record is a CSV row (see ``base.py``): it is loaded whole, as one
  tidy row per month column all carrying its line, or rejected whole with one
  :class:`Reject` naming its first fault — the column as published (e.g. '201907'
  or 'LookUp_BoroughName'), its value, and what was expected — so none of its
  months is half-loaded. A count must be a whole number ≥ 0 ('12' or '12.0');
  empty, negative, fractional or non-numeric cells reject the row. A second row
  for the same area and
  categories is rejected as a duplicate.
* **Whole-file problems** raise :class:`InputError`: empty, no data rows, missing
  columns, a header column that is not a real month (e.g. '201913'), a repeated
  month, mixed category schemes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Iterator

from crimeplan.errors import InputError
from crimeplan.sources import london
from crimeplan.sources.base import Part, Reader, Reject, RowBuffer, Sniff, month_from_yyyymm
from crimeplan.sources.inputs import InputFile
from crimeplan.sources.text import Record, csv_records, decode, header_fields

KIND = "recorded_crime"
DATASETS = {"borough": "mps_borough_crime", "ward": "mps_ward_crime", "lsoa": "mps_lsoa_crime"}

WARD_2022_FROM = date(2022, 5, 1)
LSOA_2021_FROM = date(2023, 1, 1)

_MONTH_HEADER = re.compile(r"^\d{4}-?\d{2}$")
_WHOLE = re.compile(r"^\+?\d+(?:\.0*)?$")
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")

# Column roles → the normalised header names that fill them.
_ROLES: dict[str, tuple[str, ...]] = {
    "major": ("majortext", "majorcategory"),
    "minor": ("minortext", "minorcategory"),
    "borough": ("lookupboroughname", "boroughname", "borough"),
    "ward_name": ("wardname",),
    "ward_code": ("wardcode",),
    "lsoa_code": ("lsoacode",),
    "lsoa_name": ("lsoaname",),
}
# What to call a missing column in an error, per layout (the names the Met uses).
_PUBLISHED = {
    "major": "MajorText",
    "minor": "MinorText",
    "borough": "LookUp_BoroughName",
    "ward_name": "WardName",
    "ward_code": "WardCode",
    "lsoa_code": "LSOA Code",
    "lsoa_name": "LSOA Name",
}
_REQUIRED = {
    "borough": ("major", "minor", "borough"),
    "ward": ("major", "minor", "ward_name", "ward_code", "borough"),
    "lsoa": ("lsoa_code", "lsoa_name", "borough", "major", "minor"),
}


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def _roles(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, h in enumerate(header):
        k = _key(h)
        for role, names in _ROLES.items():
            if k in names and role not in found:
                found[role] = i
    return found


def _level(roles: dict[str, int]) -> str:
    if "lsoa_code" in roles or "lsoa_name" in roles:
        return "lsoa"
    if "ward_code" in roles or "ward_name" in roles:
        return "ward"
    return "borough"


@dataclass
class _Layout:
    level: str
    roles: dict[str, int]
    months: list[tuple[int, str, date]]  # (column index, header as published, month)
    width: int  # fields a record must have (trailing unnamed columns beyond are ignored)
    notes: list[str] = field(default_factory=list)


def _layout(header: list[str], name: str) -> _Layout:
    roles = _roles(header)
    level = _level(roles)
    missing = [_PUBLISHED[r] for r in _REQUIRED[level] if r not in roles]
    if missing:
        raise InputError(
            name,
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(repr(c) for c in missing)}",
            line=1,
            expected=MpsRecordedCrimeReader.signature,
        )
    # Unnamed columns at the end (a trailing delimiter) are ignored; anything else
    # that is not an identifying column must be a month.
    width = len(header)
    while width and not header[width - 1]:
        width -= 1
    used = set(roles.values())
    months: list[tuple[int, str, date]] = []
    seen: dict[date, str] = {}
    for i in range(width):
        if i in used:
            continue
        h = header[i]
        month = month_from_yyyymm(h) if _MONTH_HEADER.match(h) else None
        if month is None:
            raise InputError(
                name,
                f"column {h!r} is not a month" if h else f"column {i + 1} has no name",
                line=1,
                field=h or None,
                expected="month columns named YYYYMM with a real month (e.g. 201004) after the area and category columns",
            )
        if month in seen:
            raise InputError(name, f"month {h!r} appears twice (also as {seen[month]!r})", line=1, field=h,
                             expected="each month once")
        seen[month] = h
        months.append((i, h, month))
    if not months:
        raise InputError(name, "no month columns", line=1, expected="month columns named YYYYMM (e.g. 201004)")
    layout = _Layout(level, roles, months, width)
    ordered = sorted(seen)
    gaps = _gaps(ordered)
    layout.notes.append(
        f"{len(months)} month columns {ordered[0]:%Y-%m} to {ordered[-1]:%Y-%m}"
        + (f"; missing months: {', '.join(f'{m:%Y-%m}' for m in gaps[:12])}{' …' if len(gaps) > 12 else ''}" if gaps else "")
    )
    return layout


def _gaps(months: list[date]) -> list[date]:
    out: list[date] = []
    present = set(months)
    y, m = months[0].year, months[0].month
    while date(y, m, 1) < months[-1]:
        if date(y, m, 1) not in present:
            out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _count(value: str) -> tuple[int | None, str | None]:
    """A published count as a whole number ≥ 0, or the reason it is not one."""
    v = value.strip()
    if _WHOLE.match(v):
        return int(v.split(".")[0].lstrip("+")), None
    if not v:
        return None, "the count is empty; expected a whole number ≥ 0"
    if _NUMBER.match(v.replace(",", "")):
        n = float(v.replace(",", ""))
        if n < 0:
            return None, "the count is negative; expected a whole number ≥ 0"
        if "," in v and n == int(n):
            return None, "the count has a thousands separator; expected a plain whole number ≥ 0"
        return None, "the count is fractional; expected a whole number ≥ 0"
    return None, "the count is not a number; expected a whole number ≥ 0"


def _reject_row(part: Part, line: int, values: int, field: str | None, value: str | None, reason: str) -> None:
    """Reject a whole row (one record), naming its first fault."""
    if values > 1:
        reason += f" (the row's {values} monthly counts are not loaded)"
    part.rejects.append(Reject(line, field, value, reason))


def _scheme_of(major: str, minor: str) -> str:
    return "old" if any(c.islower() for c in major + minor) else "new"


class MpsRecordedCrimeReader(Reader):
    order = 20
    datasets = tuple(DATASETS.values())
    signature = (
        "MPS recorded crime CSV: MajorText, MinorText, LookUp_BoroughName (or BoroughName) | "
        "MajorText, MinorText, WardName, WardCode, LookUp_BoroughName | "
        "LSOA Code, LSOA Name, Borough, Major Category (or MajorText), Minor Category (or MinorText); "
        "then one column per month YYYYMM"
    )

    def sniff(self, inp: InputFile) -> Sniff | None:
        if inp.kind != "file":
            return None
        found = header_fields(inp.members()[0].head())
        if found is None:
            return None
        header, delimiter = found
        if delimiter != ",":
            return None
        roles = _roles(header)
        if not {"major", "minor", "borough"} <= set(roles):
            return None
        if not any(_MONTH_HEADER.match(h) for h in header):
            return None
        level = _level(roles)
        return Sniff(self, (DATASETS[level],), f"MPS recorded crime by {level} and month (London Datastore)")

    def parts(self, inp: InputFile) -> Iterator[Part]:
        name = str(inp.path)
        decoded = decode(inp.members()[0].read_bytes(), name)
        header, records_iter = csv_records(decoded.text, name)
        layout = _layout(header, name)
        records = list(records_iter)  # parsed up front: the scheme is decided over the whole file
        if not records:
            raise InputError(name, "the file has a header but no data rows", expected="one row per area and offence")
        scheme = self._scheme(records, layout, name)
        first_month = min(m for _, _, m in layout.months)
        vintage = ""
        notes = list(layout.notes)
        notes.append(f"category scheme '{scheme}' ({'upper-case Home Office subgroups' if scheme == 'new' else 'mixed-case MPS categories'})")
        if layout.level == "ward":
            vintage = "2022" if first_month >= WARD_2022_FROM else "2018"
            notes.append(f"ward codes taken as {vintage} boundaries (first month {first_month:%Y-%m}; 2022 from May 2022)")
        elif layout.level == "lsoa":
            vintage = "2021" if first_month >= LSOA_2021_FROM else "2011"
            notes.append(f"LSOA codes taken as {vintage} LSOAs (first month {first_month:%Y-%m}; 2021 from January 2023)")
        if not decoded.text.endswith(("\n", "\r")):
            notes.append("the file does not end with a line break; it may have been cut short")
        part = Part(dataset=DATASETS[layout.level], kind=KIND, encoding=decoded.encoding, notes=notes)
        part.batches = self._batches(part, header, records, layout, scheme, vintage)
        yield part

    @staticmethod
    def _scheme(records: list[Record], layout: _Layout, name: str) -> str:
        first: dict[str, tuple[int, str, str]] = {}
        i_major, i_minor = layout.roles["major"], layout.roles["minor"]
        for rec in records:
            if len(rec.fields) <= max(i_major, i_minor):
                continue
            major, minor = rec.fields[i_major].strip(), rec.fields[i_minor].strip()
            if not major or not minor:
                continue
            first.setdefault(_scheme_of(major, minor), (rec.line, major, minor))
        if len(first) > 1:
            o, n = first["old"], first["new"]
            raise InputError(
                name,
                f"mixes old mixed-case categories (line {o[0]}: {o[1]!r} / {o[2]!r}) with new upper-case "
                f"Home Office subgroups (line {n[0]}: {n[1]!r} / {n[2]!r})",
                expected="one category scheme per file",
            )
        return next(iter(first), "new")

    def _batches(self, part: Part, header: list[str], records: list[Record], layout: _Layout, scheme: str,
                 vintage: str) -> Iterator:
        buf = RowBuffer(KIND)
        roles = layout.roles
        level = layout.level
        borough_col = header[roles["borough"]]
        n_months = len(layout.months)
        seen: dict[tuple, int] = {}
        units: dict[str, str] = {}
        stray = 0
        for rec in records:
            part.records_read += 1
            fields = rec.fields
            problem = self._check_width(fields, header, layout)
            if problem:
                _reject_row(part, rec.line, n_months, *problem)
                continue
            if any(f.strip() for f in fields[layout.width:]):
                stray += 1
            get = lambda role: fields[roles[role]].strip()  # noqa: E731
            major, minor, borough_name = get("major"), get("minor"), get("borough")
            reject = None
            if not major:
                reject = (header[roles["major"]], major, "empty; expected the offence group")
            elif not minor:
                reject = (header[roles["minor"]], minor, "empty; expected the offence category")
            area = london.resolve_area(borough_name) if borough_name else None
            if reject is None and (area is None or area.level == "london"):
                reject = (borough_col, fields[roles["borough"]],
                          "not a London borough or MPS unit name; expected e.g. 'Barking and Dagenham' or "
                          "'London Heathrow and London City Airports'")
            if reject is None:
                if level == "borough":
                    area_level, code, area_name = area.level, area.code, borough_name
                elif level == "ward":
                    code, area_name = get("ward_code"), get("ward_name")
                    area_level = "ward"
                    if not london.GSS_WARD.match(code):
                        reject = (header[roles["ward_code"]], fields[roles["ward_code"]],
                                  "not a ward GSS code; expected E05 and six digits")
                    elif not area_name:
                        reject = (header[roles["ward_name"]], area_name, "empty; expected the ward name")
                else:
                    code, area_name = get("lsoa_code"), get("lsoa_name")
                    area_level = "lsoa"
                    if not london.GSS_LSOA.match(code):
                        reject = (header[roles["lsoa_code"]], fields[roles["lsoa_code"]],
                                  "not an LSOA GSS code; expected E01 and six digits")
            counts: list[int] = []
            if reject is None:
                for i, h, _ in layout.months:
                    n, why = _count(fields[i])
                    if why:
                        reject = (h, fields[i], why)
                        break
                    counts.append(n)  # type: ignore[arg-type]
            if reject is None:
                key = (code, major, minor)
                if key in seen:
                    reject = (header[roles["minor"]], minor,
                              f"duplicate of line {seen[key]} (same area and categories); expected one row each")
                else:
                    seen[key] = rec.line
            if reject is not None:
                _reject_row(part, rec.line, n_months, *reject)
                continue
            if area.level == london.UNIT_LEVEL:
                units.setdefault(area.code, borough_name)
            for (_, _, month), n in zip(layout.months, counts):
                buf.add(
                    rec.line,
                    scheme=scheme,
                    area_level=area_level,
                    area_vintage=vintage if area_level in ("ward", "lsoa") else "",
                    area_code=code,
                    area_name=area_name,
                    borough_name=borough_name,
                    major_category=major,
                    minor_category=minor,
                    month=month,
                    count=n,
                )
            if buf.full():
                yield from buf.flush()
        yield from buf.flush()
        if units:
            what = "rows for" if level == "borough" else f"{level}s filed under"
            part.notes.append(
                f"{what} MPS non-geographic units: "
                + ", ".join(f"{n!r} ({c})" for c, n in sorted(units.items()))
            )
        if stray:
            part.notes.append(f"{stray} rows have values in unnamed trailing columns; ignored")

    @staticmethod
    def _check_width(fields: list[str], header: list[str], layout: _Layout) -> tuple[str | None, str | None, str] | None:
        if len(fields) < layout.width:
            missing = header[len(fields)]
            return (missing, None,
                    f"the row has {len(fields)} fields, expected {layout.width}; it may have been cut short")
        if len(fields) > len(header) and any(f.strip() for f in fields[len(header):]):
            return (None, fields[len(header)],
                    f"the row has {len(fields)} fields, expected {layout.width}")
        return None
