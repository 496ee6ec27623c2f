"""Homicide victims in London: the MPS Homicide Dashboard extract and a year-only copy of it.

``mps_homicide_victims`` is the MPS dashboard's victim file (London Datastore):
one row per victim with the month recorded ("Jan 2003"). Columns:
``Count of Victims, Age Group, Sex, Method of Killing, Domestic Abuse, Recorded
Date, Homicide Offence Type, Solved Status, Borough, Officer Observed Ethnicity``.

``homicide_victims_processed`` is a third party's processed copy of the same
data (coarse age groups, year only, BCU added) that reaches later years:
``Age_Group, Sex, Method_of_Killing, Domestic_Abuse, Solved_Status, Borough,
Ethnicity, Year, BCU``. Its rows carry ``month`` null, the year, 1 victim and the
BCU as given. It holds a few victims fewer than the MPS file in most years, and
its last year may be partial; measures must say which source they use.

Both yield ``homicide_victim`` rows. Values are kept as published (age group,
sex, method, …) except: ``domestic_abuse`` 'Yes' / 'Domestic Abuse' → True,
'No' / 'Not Domestic Abuse' → False; ``borough_code`` from :mod:`.london`
("Heathrow" → ``MPS-AIRPORTS``). One CSV row is one record: it is loaded or
rejected whole, the reject naming the first bad field (a count that is not a
whole number ≥ 1, a date or year that is not one, an unknown borough, a
domestic-abuse flag that is neither yes nor no, a short row).
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from datetime import date
from typing import Iterator

from crimeplan.errors import InputError
from crimeplan.sources import london
from crimeplan.sources.base import Part, Reader, Reject, RowBuffer, Sniff, month_from_yyyymm
from crimeplan.sources.inputs import InputFile
from crimeplan.sources.text import Record, csv_records, decode, header_fields

KIND = "homicide_victim"

# 'Jan' and 'January' (and 'Sept') → month number.
_MONTHS = {calendar.month_abbr[i].lower(): i for i in range(1, 13)}
_MONTHS.update({calendar.month_name[i].lower(): i for i in range(1, 13)}, sept=9)
_MONTH_YEAR = re.compile(r"^([A-Za-z]+)\.?[ -]+(\d{4})$")
_DOMESTIC = {"yes": True, "domestic abuse": True, "no": False, "not domestic abuse": False}


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def _columns(header: list[str], wanted: dict[str, str], name: str, signature: str) -> dict[str, int]:
    """Index of each wanted column (role → published name), matched ignoring case, spaces, '_'."""
    keys = {_key(h): i for i, h in reversed(list(enumerate(header)))}
    found = {role: keys[_key(pub)] for role, pub in wanted.items() if _key(pub) in keys}
    missing = [pub for role, pub in wanted.items() if role not in found]
    if missing:
        raise InputError(
            name,
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(repr(c) for c in missing)}",
            line=1,
            expected=signature,
        )
    return found


def parse_month_year(text: str) -> date | None:
    """'Jan 2003', 'January 2003', '2003-01' or '200301' → 2003-01-01; None otherwise."""
    t = text.strip()
    m = _MONTH_YEAR.match(t)
    if m:
        month, year = _MONTHS.get(m.group(1).lower()), int(m.group(2))
        return date(year, month, 1) if month and 1900 <= year <= 2100 else None
    return month_from_yyyymm(t)


def _whole(text: str, minimum: int) -> int | None:
    t = text.strip()
    if re.fullmatch(r"\d+(?:\.0*)?", t):
        n = int(t.split(".")[0])
        return n if n >= minimum else None
    return None


class _HomicideCsvReader(Reader):
    """What the two homicide formats share: reading, width checks, borough and flag parsing."""

    dataset: str
    description: str
    columns: dict[str, str]  # role → published column name

    def _matches(self, header: list[str]) -> bool:
        raise NotImplementedError

    def sniff(self, inp: InputFile) -> Sniff | None:
        if inp.kind != "file":
            return None
        found = header_fields(inp.members()[0].head())
        if found is None or found[1] != ",":
            return None
        if not self._matches(found[0]):
            return None
        return Sniff(self, (self.dataset,), self.description)

    def parts(self, inp: InputFile) -> Iterator[Part]:
        name = str(inp.path)
        decoded = decode(inp.members()[0].read_bytes(), name)
        header, records = csv_records(decoded.text, name)
        cols = _columns(header, self.columns, name, self.signature)
        notes: list[str] = []
        if not decoded.text.endswith(("\n", "\r")):
            notes.append("the file does not end with a line break; it may have been cut short")
        part = Part(dataset=self.dataset, kind=KIND, encoding=decoded.encoding, notes=notes)
        part.batches = self._batches(part, header, records, cols, name)
        yield part

    def _batches(self, part: Part, header: list[str], records: Iterator[Record], cols: dict[str, int],
                 name: str) -> Iterator:
        buf = RowBuffer(KIND)
        width = max(cols.values()) + 1
        years: Counter[int] = Counter()
        for rec in records:
            part.records_read += 1
            f = rec.fields
            if len(f) < width:
                first_missing = next(pub for role, pub in self.columns.items() if cols[role] >= len(f))
                part.rejects.append(Reject(rec.line, first_missing, None,
                                           f"the row has {len(f)} fields, expected {len(header)}; "
                                           "it may have been cut short"))
                continue
            values, problem = self._row(f, cols)
            if problem:
                part.rejects.append(Reject(rec.line, *problem))
                continue
            years[values["year"]] += values["victims"]
            buf.add(rec.line, **values)
            if buf.full():
                yield from buf.flush()
        yield from buf.flush()
        if years:
            part.notes.append(
                f"victims by year: {', '.join(f'{y}: {n}' for y, n in sorted(years.items()))}"
            )

    def _common(self, f: list[str], cols: dict[str, int]) -> tuple[dict, tuple | None]:
        """Borough and domestic-abuse flag, shared by both formats."""
        get = lambda role: f[cols[role]].strip()  # noqa: E731
        flag = _DOMESTIC.get(re.sub(r"\s+", " ", get("domestic").lower()))
        if flag is None:
            return {}, (self.columns["domestic"], f[cols["domestic"]],
                        "expected 'Yes' / 'No' or 'Domestic Abuse' / 'Not Domestic Abuse'")
        borough = get("borough")
        area = london.resolve_area(borough) if borough else None
        if area is None or area.level == "london":
            return {}, (self.columns["borough"], f[cols["borough"]],
                        "not a London borough or MPS unit name; expected e.g. 'Barking & Dagenham' or 'Heathrow'")
        return {
            "age_group": get("age") or None,
            "sex": get("sex") or None,
            "method": get("method") or None,
            "domestic_abuse": flag,
            "solved_status": get("solved") or None,
            "borough_code": area.code,
            "borough_name": borough,
            "ethnicity": get("ethnicity") or None,
        }, None

    def _row(self, f: list[str], cols: dict[str, int]) -> tuple[dict, tuple | None]:
        raise NotImplementedError


class HomicideVictimsReader(_HomicideCsvReader):
    order = 30
    dataset = "mps_homicide_victims"
    datasets = (dataset,)
    description = "MPS Homicide Dashboard victims, one row per victim by month (London Datastore)"
    columns = {
        "count": "Count of Victims",
        "age": "Age Group",
        "sex": "Sex",
        "method": "Method of Killing",
        "domestic": "Domestic Abuse",
        "date": "Recorded Date",
        "offence": "Homicide Offence Type",
        "solved": "Solved Status",
        "borough": "Borough",
        "ethnicity": "Officer Observed Ethnicity",
    }
    signature = "MPS homicide victims CSV: " + ", ".join(columns.values())

    def _matches(self, header: list[str]) -> bool:
        keys = {_key(h) for h in header}
        return {"recordeddate", "methodofkilling", "countofvictims"} <= keys

    def _row(self, f: list[str], cols: dict[str, int]) -> tuple[dict, tuple | None]:
        victims = _whole(f[cols["count"]], 1)
        if victims is None:
            return {}, (self.columns["count"], f[cols["count"]], "expected a whole number of victims ≥ 1")
        month = parse_month_year(f[cols["date"]])
        if month is None:
            return {}, (self.columns["date"], f[cols["date"]], "expected a month such as 'Jan 2003'")
        values, problem = self._common(f, cols)
        if problem:
            return {}, problem
        values.update(
            month=month,
            year=month.year,
            offence_type=f[cols["offence"]].strip() or None,
            victims=victims,
        )
        return values, None


class HomicideProcessedReader(_HomicideCsvReader):
    order = 31
    dataset = "homicide_victims_processed"
    datasets = (dataset,)
    description = "homicide victims by year (third-party processed copy of the MPS data, with BCU)"
    columns = {
        "age": "Age_Group",
        "sex": "Sex",
        "method": "Method_of_Killing",
        "domestic": "Domestic_Abuse",
        "solved": "Solved_Status",
        "borough": "Borough",
        "ethnicity": "Ethnicity",
        "year": "Year",
        "bcu": "BCU",
    }
    signature = "homicide victims by year CSV: " + ", ".join(columns.values())

    def _matches(self, header: list[str]) -> bool:
        keys = {_key(h) for h in header}
        return {"methodofkilling", "year", "borough"} <= keys and "recordeddate" not in keys

    def parts(self, inp: InputFile) -> Iterator[Part]:
        for part in super().parts(inp):
            part.notes.insert(0, "third-party processed copy: year only, coarse age groups, BCU added; "
                                 "a few victims fewer than the MPS file in most years, the last year may be partial")
            yield part

    def _row(self, f: list[str], cols: dict[str, int]) -> tuple[dict, tuple | None]:
        year = _whole(f[cols["year"]], 1900)
        if year is None or year > 2100:
            return {}, (self.columns["year"], f[cols["year"]], "expected a year such as 2003")
        values, problem = self._common(f, cols)
        if problem:
            return {}, problem
        values.update(month=None, year=year, bcu_name=f[cols["bcu"]].strip() or None, victims=1)
        return values, None
