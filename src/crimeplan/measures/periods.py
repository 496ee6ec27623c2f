"""Periods people compare crime over, in one syntax for the CLI, the API and claims files.

    2021               calendar year 2021
    FY2021-22          financial year, April 2021 to March 2022 (UK public sector)
    2021-06            the month of June 2021
    2021-Q2            April to June 2021
    rolling:2021-12    the 12 months to December 2021
    fytd:2021-10       financial year to date: April to October 2021
    latest             the 12 months to the latest month each measure's source covers
    latest-quarter     the latest calendar quarter each measure's source covers
    latest-month       the latest month each measure's source covers

A period is a run of whole months. The three ``latest`` forms are relative: a
:class:`Latest` stands for a different run of months for each source (ward
crime runs to a later month than the Met's borough file), so it is resolved
against a source's months (:meth:`Latest.resolve`) before anything is counted. Comparisons are with the period before it
(same length), the same period a year earlier, or a baseline period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from datetime import date

from crimeplan.errors import CrimeplanError

MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December"]

SYNTAX = "2021, FY2021-22, 2021-06, 2021-Q2, rolling:2021-12 or fytd:2021-10"
ANY_SYNTAX = f"latest, latest-quarter, latest-month, {SYNTAX}"  # where a relative period is understood too
# The relative periods and how many months each spans.
LATEST = {"latest": 12, "latest-quarter": 3, "latest-month": 1}

_YEAR = re.compile(r"^(\d{4})$")
_FY = re.compile(r"^FY\s?(\d{4})[-/](\d{2}|\d{4})$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_ROLLING = re.compile(r"^rolling:(\d{4})-(\d{2})$", re.IGNORECASE)
_FYTD = re.compile(r"^fytd:(\d{4})-(\d{2})$", re.IGNORECASE)


class PeriodError(CrimeplanError):
    pass


def month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def month_of(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def fy_start_year(d: date) -> int:
    """The year a date's financial year starts in (April to March)."""
    return d.year if d.month >= 4 else d.year - 1


@dataclass(frozen=True)
class Period:
    kind: str  # 'year', 'fy', 'month', 'quarter', 'rolling', 'fytd'
    start: date  # first month
    end: date  # last month

    @cached_property
    def first(self) -> int:
        return month_index(self.start)

    @cached_property
    def last(self) -> int:
        return month_index(self.end)

    @property
    def n_months(self) -> int:
        return self.last - self.first + 1

    @property
    def months(self) -> list[date]:
        return [month_of(i) for i in range(self.first, self.last + 1)]

    @property
    def label(self) -> str:
        """The period in the input syntax (parse(p.label) == p)."""
        s, e = self.start, self.end
        if self.kind == "year":
            return f"{s.year}"
        if self.kind == "fy":
            return f"FY{s.year}-{(s.year + 1) % 100:02d}"
        if self.kind == "month":
            return f"{s.year}-{s.month:02d}"
        if self.kind == "quarter":
            return f"{s.year}-Q{(s.month - 1) // 3 + 1}"
        if self.kind == "rolling":
            return f"rolling:{e.year}-{e.month:02d}"
        return f"fytd:{e.year}-{e.month:02d}"

    def describe(self) -> str:
        """In words, e.g. 'financial year 2021-22 (April 2021 to March 2022)'."""
        span = f"{_month_name(self.start)} to {_month_name(self.end)}"
        return {
            "year": f"calendar year {self.start.year}",
            "fy": f"financial year {self.start.year}-{(self.start.year + 1) % 100:02d} ({span})",
            "month": _month_name(self.start),
            "quarter": f"{self.label} ({span})",
            "rolling": f"the 12 months to {_month_name(self.end)}",
            "fytd": f"financial year to date ({span})",
        }[self.kind]

    def shifted(self, months: int) -> "Period":
        return Period(self.kind, month_of(self.first + months), month_of(self.last + months))

    def previous(self) -> "Period":
        """The period of the same length just before (for a year to date: the months before it)."""
        return self.shifted(-self.n_months) if self.kind != "fytd" else Period("fytd", month_of(self.first - 12), month_of(self.last - 12))

    def year_earlier(self) -> "Period":
        return self.shifted(-12)

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class Latest:
    """A relative period: the latest 12 months, quarter or month a source covers, resolved per source."""

    kind: str  # a key of LATEST

    @property
    def label(self) -> str:
        return self.kind

    @property
    def n_months(self) -> int:
        return LATEST[self.kind]

    def describe(self) -> str:
        return {"latest": "the latest 12 months each source covers",
                "latest-quarter": "the latest quarter each source covers",
                "latest-month": "the latest month each source covers"}[self.kind]

    def resolve(self, last: date) -> Period:
        """The period this stands for when a source's latest complete month is ``last``."""
        if self.kind == "latest":
            return Period("rolling", month_of(month_index(last) - 11), last)
        if self.kind == "latest-month":
            return Period("month", last, last)
        end = month_index(last) - (last.month % 3)  # the last month of the last quarter wholly covered
        return Period("quarter", month_of(end - 2), month_of(end))

    def __str__(self) -> str:
        return self.label


def parse_any_period(text: str) -> Period | Latest:
    """:func:`parse_period`, or a relative period (latest, latest-quarter, latest-month)."""
    key = text.strip().lower()
    if key in LATEST:
        return Latest(key)
    try:
        return parse_period(text)
    except PeriodError as exc:
        raise PeriodError(str(exc).replace(f"expected {SYNTAX}", f"expected {ANY_SYNTAX}")) from None


FIRST_YEAR, LAST_YEAR = 1900, 2100  # no police data is older; and date arithmetic stays far from year 1


def parse_period(text: str) -> Period:
    """A period from its text; PeriodError saying the accepted forms otherwise (or the years accepted)."""
    try:
        period = _parse_period(text)
    except ValueError:  # a year Python's dates cannot hold (year 0)
        period = None
    if period is None or not (FIRST_YEAR <= period.start.year and period.end.year <= LAST_YEAR):
        raise PeriodError(f"{text!r}: a period must lie between {FIRST_YEAR} and {LAST_YEAR}")
    return period


def _parse_period(text: str) -> Period:
    t = text.strip()
    if m := _YEAR.match(t):
        y = int(m.group(1))
        return Period("year", date(y, 1, 1), date(y, 12, 1))
    if m := _FY.match(t):
        y, end = int(m.group(1)), m.group(2)
        end_year = int(end) if len(end) == 4 else (y // 100) * 100 + int(end)
        if end_year != y + 1:
            raise PeriodError(f"{text!r}: a financial year runs April to March of the next year, e.g. FY{y}-{(y + 1) % 100:02d}")
        return Period("fy", date(y, 4, 1), date(y + 1, 3, 1))
    if m := _MONTH.match(t):
        d = _month(m.group(1), m.group(2), text)
        return Period("month", d, d)
    if m := _QUARTER.match(t):
        y, q = int(m.group(1)), int(m.group(2))
        return Period("quarter", date(y, 3 * q - 2, 1), date(y, 3 * q, 1))
    if m := _ROLLING.match(t):
        end = _month(m.group(1), m.group(2), text)
        return Period("rolling", month_of(month_index(end) - 11), end)
    if m := _FYTD.match(t):
        end = _month(m.group(1), m.group(2), text)
        return Period("fytd", date(fy_start_year(end), 4, 1), end)
    raise PeriodError(f"{text!r} is not a period; expected {SYNTAX}")


def _month(year: str, month: str, text: str) -> date:
    if not 1 <= int(month) <= 12:
        raise PeriodError(f"{text!r}: month {month} is not a month (01 to 12)")
    return date(int(year), int(month), 1)


def _month_name(d: date) -> str:
    return f"{MONTH_NAMES[d.month - 1]} {d.year}"


_RELATIVE_BASELINES = {"previous": "previous", "previous-period": "previous", "year-earlier": "year-earlier",
                       "year-ago": "year-earlier", "same-period-last-year": "year-earlier"}


def is_previous(against: str) -> bool:
    """Whether a comparison is with the period just before (the plan's baseline is then shown beside it)."""
    return _RELATIVE_BASELINES.get(against.strip().lower()) == "previous"


def comparison_period(current: Period | Latest, against: str,
                      baselines: dict[str, str] | None = None) -> tuple[Period | None, str]:
    """The period ``current`` is compared with, and how to say so.

    ``against`` is 'previous', 'year-earlier', a baseline id of the plan (e.g.
    '2019', 'FY2019-20') or any period in the syntax above. For a relative
    ``current`` (latest), 'previous' and 'year-earlier' have no period until it is
    resolved: None, with the words.
    """
    key = against.strip()
    if isinstance(current, Latest) and key.lower() in _RELATIVE_BASELINES:
        # Before it is resolved against a source, a relative period's comparison is known only in words.
        span = {12: "12 months", 3: "quarter", 1: "month"}[current.n_months]
        return None, (f"the {span} before" if _RELATIVE_BASELINES[key.lower()] == "previous"
                      else f"the same {span} a year earlier")
    if _RELATIVE_BASELINES.get(key.lower()) == "previous":
        p = current.previous()
        return p, f"the previous period ({p.describe()})"
    if _RELATIVE_BASELINES.get(key.lower()) == "year-earlier":
        p = current.year_earlier()
        return p, f"the same period a year earlier ({p.describe()})"
    if baselines:
        for name, period_text in baselines.items():
            if name.lower() == key.lower():
                p = parse_period(period_text)
                return p, f"the baseline {p.describe()}"
    p = parse_period(key)
    return p, p.describe()


def periods_covering(first: date, last: date, kinds: tuple[str, ...] = ("year", "fy", "quarter", "month", "rolling", "fytd")) -> list[Period]:
    """Every period of the given kinds lying wholly within [first, last] (months)."""
    lo, hi = month_index(first), month_index(last)
    out: list[Period] = []
    for kind in kinds:
        for end in range(lo, hi + 1):
            e = month_of(end)
            if kind == "month":
                candidate = Period("month", e, e)
            elif kind == "rolling":
                candidate = Period("rolling", month_of(end - 11), e)
            elif kind == "fytd":
                candidate = Period("fytd", date(fy_start_year(e), 4, 1), e)
            elif kind == "quarter" and e.month % 3 == 0:
                candidate = Period("quarter", month_of(end - 2), e)
            elif kind == "year" and e.month == 12:
                candidate = Period("year", date(e.year, 1, 1), e)
            elif kind == "fy" and e.month == 3:
                candidate = Period("fy", date(e.year - 1, 4, 1), e)
            else:
                continue
            if candidate.first >= lo:
                out.append(candidate)
    return out
