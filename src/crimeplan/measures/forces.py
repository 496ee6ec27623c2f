"""Forces compared: recorded crime in every territorial police force area, its trend and its change.

Source: the Home Office police recorded crime table by police force area
(dataset ``home_office_pfa_crime``, record table ``force_recorded_crime``): the
offences recorded in the **12 months ending** each quarter end, by force and
offence group. Those rolling totals are used as published:

* the **trend** of a force is its rolling 12-month total at every quarter end;
* the **change** compares the 12 months to ``period_end`` with the 12 months to
  ``baseline_end``, two windows that must not overlap (at least 12 months
  apart), so each is one published total and no months are counted twice.
  Rolling totals are never added up.

The change is a rate ratio of two counts over equal exposures (12 months each),
with its exact conditional 95% interval and p-value
(:func:`crimeplan.stats.rate_ratio.rate_ratio_intervals`). Forces are many
tests at once, so the verdict ("significant rise", "significant fall", "no
significant change") is taken after Benjamini–Hochberg false-discovery-rate
control across the forces compared (:func:`crimeplan.stats.fdr.benjamini_hochberg_adjusted`),
at q < 0.05, as the engine does for the areas of a level. The interval is each
force's own (not adjusted).

A force gets no figure when:

* **incomplete data** — either quarter end is not *complete* for the force in
  the coverage model (``warehouse/coverage.py``: absent, e.g. June, September
  and December before 2007, when only March year-ends were published, or
  partial); the coverage reason is given;
* **not comparable** — a window's total is negative (the publisher's
  adjustments can make a small offence group's rolling total negative), no
  selected offence is published for that quarter end, or the selection takes
  some of the burglary categories across their April 2017 redefinition
  (Domestic and Non-domestic burglary became Residential and Non-residential
  burglary, which draw the line elsewhere: sheds and garages moved); the
  reason is given.

British Transport Police and the national fraud bodies (Action Fraud, CIFAS,
UK Finance) have no force area: they are listed as left out, with why. "All
offences" is total recorded crime excluding fraud: the forces' own "Fraud
offences" are left out too, because their recording moved to Action Fraud
between 2011 and 2014 (a force's fraud total falls to zero by 2014), which
would otherwise show as a fall in crime.
"""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from datetime import date
from typing import Iterable

import duckdb
import numpy as np

from crimeplan import ATTRIBUTION
from crimeplan.errors import CrimeplanError
from crimeplan.measures.cubes import Compiler
from crimeplan.measures.periods import FIRST_YEAR, LAST_YEAR
from crimeplan.stats.fdr import benjamini_hochberg_adjusted
from crimeplan.stats.rate_ratio import SIGNIFICANT_FALL, SIGNIFICANT_RISE, NO_SIGNIFICANT_CHANGE, rate_ratio_intervals
from crimeplan.warehouse.coverage import COMPLETE

DATASET = "home_office_pfa_crime"
CONFIDENCE = 0.95
FDR_Q = 0.05
INCOMPLETE = "incomplete data"
NOT_COMPARABLE = "not comparable"
OK = "ok"
ALL_OFFENCES = "All offences"
ALL_OFFENCES_LABEL = "All offences (total recorded crime excluding fraud)"
FRAUD_OFFENCES = "Fraud offences"
ALL_BURGLARY = "All burglary"
# April 2017: burglary split afresh (residential / non-residential replace domestic / non-domestic).
BURGLARY_CATEGORIES = ("Domestic burglary", "Non-domestic burglary", "Residential burglary", "Non-residential burglary")
BURGLARY_SCHEMES = {"before April 2017": ("Domestic burglary", "Non-domestic burglary"),
                    "from April 2017": ("Residential burglary", "Non-residential burglary")}
BTP = "British Transport Police"
LEFT_OUT_REASONS = {
    BTP: "polices the railways of England, Wales and Scotland: no force area to compare",
    "fraud": "a national fraud reporting body (fraud reported to it is not recorded by a force area)",
}
_PERIOD = re.compile(r"(\d{4})-(\d{2})")
_MONTHS = ("March", "June", "September", "December")


class ForcesError(CrimeplanError):
    """A parameter the comparison cannot use (a period that is no quarter end, overlapping windows, an unknown offence)."""


# --- parameters ------------------------------------------------------------------------------------


def parse_quarter_end(text: str | date, what: str = "period") -> date:
    """'2018-12' (or a date) → the quarter end 2018-12-31; ForcesError unless it is a quarter end."""
    if isinstance(text, date):
        year, month = text.year, text.month
    else:
        m = _PERIOD.fullmatch(str(text).strip())
        if not m:
            raise ForcesError(f"{what} {text!r}: expected a quarter end as YYYY-MM, e.g. 2018-12")
        year, month = int(m.group(1)), int(m.group(2))
    if month not in (3, 6, 9, 12):
        raise ForcesError(f"{what} {text!r}: not a quarter end; the month must be 03, 06, 09 or 12 "
                          "(the table gives 12-month totals at quarter ends)")
    if not FIRST_YEAR <= year <= LAST_YEAR:  # and so a year-earlier baseline never reaches year 0
        raise ForcesError(f"{what} {text!r}: a quarter end must lie between {FIRST_YEAR} and {LAST_YEAR}")
    return date(year, month, calendar.monthrange(year, month)[1])


def _label(d: date) -> str:
    return f"{d:%Y-%m}"


def _window_text(d: date) -> str:
    return f"the 12 months to {calendar.month_name[d.month]} {d.year}"


def _months_between(later: date, earlier: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def _key(name: str) -> str:
    """A force name reduced for matching: 'Metropolitan Police Service' and 'Metropolitan Police' agree."""
    words = re.sub(r"[^a-z0-9 ]", " ", name.lower().replace("&", " and ")).split()
    return " ".join(w for w in words if w not in {"police", "service", "constabulary", "force"})


def resolve_force(name: str, forces: Iterable[str]) -> str:
    """The published force name for ``name`` (exact, case-insensitive, or without 'Police'/'Service'...)."""
    forces = list(forces)
    for match in (lambda f: f == name, lambda f: f.lower() == name.strip().lower(),
                  lambda f: _key(f) == _key(name)):
        found = [f for f in forces if match(f)]
        if len(found) == 1:
            return found[0]
    raise ForcesError(f"no territorial force {name!r} in the Home Office table; forces: {', '.join(sorted(forces))}")


def plan_force(con: duckdb.DuckDBPyConnection, name: str | None) -> str | None:
    """A plan's force ('Metropolitan Police Service') as the Home Office table names it, or None if it has none there."""
    if not name:
        return None
    forces = [f for (f,) in con.execute(
        """SELECT DISTINCT force FROM force_recorded_crime_current
           WHERE dataset = ? AND force <> ? AND NOT lower(region) LIKE 'fraud%'""", [DATASET, BTP]).fetchall()]
    try:
        return resolve_force(name, forces)
    except ForcesError:
        return None


def _selection(offence: str | Iterable[str] | None, available: list[str]) -> tuple[list[str], str]:
    """The published offence groups a selection stands for, and its label."""
    if offence is None or (isinstance(offence, str) and offence.strip().lower() in ("", "all", ALL_OFFENCES.lower())):
        return [o for o in available if o != FRAUD_OFFENCES], ALL_OFFENCES_LABEL
    asked = [offence] if isinstance(offence, str) else list(offence)
    if not asked:
        return [o for o in available if o != FRAUD_OFFENCES], ALL_OFFENCES_LABEL
    by_lower = {o.lower(): o for o in available}
    chosen: list[str] = []
    for a in asked:
        a = str(a).strip()
        if a.lower() in ("all", ALL_OFFENCES.lower()):
            return [o for o in available if o != FRAUD_OFFENCES], ALL_OFFENCES_LABEL
        if a.lower() == ALL_BURGLARY.lower():
            names = [o for o in BURGLARY_CATEGORIES if o in available]
        elif a.lower() in by_lower:
            names = [by_lower[a.lower()]]
        else:
            raise ForcesError(f"offence {a!r} is not in the Home Office table; offences: "
                              f"{', '.join(offence_options(available))}")
        chosen += [n for n in names if n not in chosen]
    label = ALL_BURGLARY if set(chosen) == set(BURGLARY_CATEGORIES) else " + ".join(chosen)
    return chosen, label


def offence_options(available: list[str]) -> list[str]:
    """What ``offence`` accepts: all offences, all burglary, and every published offence group."""
    return [ALL_OFFENCES, ALL_BURGLARY] + sorted(available)


# --- the comparison --------------------------------------------------------------------------------


def _rows(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        """SELECT force, region, offence, period_end, rolling_12m_offences FROM force_recorded_crime_current
           WHERE dataset = ?""",
        [DATASET],
    ).fetchall()


def _coverage(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, date], tuple[str, str]]:
    return {(s, p): (status, reason) for s, p, status, reason in con.execute(
        "SELECT series, period, status, reason FROM coverage WHERE dataset = ?", [DATASET]).fetchall()}


def forces_compared(
    con: duckdb.DuckDBPyConnection,
    offence: str | Iterable[str] | None = None,
    period_end: str | date | None = None,
    baseline_end: str | date | None = None,
    highlight: str | None = None,
) -> dict:
    """Every territorial force's trend and change for an offence (or several, or all), as JSON-safe data.

    ``period_end`` defaults to the latest quarter end published, ``baseline_end``
    to the same quarter end a year earlier; both are ``YYYY-MM`` quarter ends at
    least 12 months apart. ``highlight`` names a force (e.g. the plan's) to mark.
    Raises :class:`ForcesError` for a parameter it cannot use.
    """
    rows = _rows(con)
    if not rows:
        raise ForcesError(f"the Home Office recorded crime by police force area ({DATASET}) is not loaded: "
                          "crimeplan load rec-crime-pfa.csv")
    region_of: dict[str, str] = {}
    for force, region, *_ in rows:
        region_of.setdefault(force, region)
    left_out = sorted(f for f, r in region_of.items() if f == BTP or r.lower().startswith("fraud"))
    territorial = sorted(f for f in region_of if f not in left_out)
    kept = set(territorial)
    available = sorted({o for f, _, o, _, _ in rows if f in kept})
    periods = sorted({p for f, _, _, p, _ in rows if f in kept})
    first, last = periods[0], periods[-1]

    period = parse_quarter_end(period_end, "period") if period_end is not None else last
    if baseline_end is None:
        baseline = date(period.year - 1, period.month, calendar.monthrange(period.year - 1, period.month)[1])
    else:
        baseline = parse_quarter_end(baseline_end, "baseline")
    for what, d in (("period", period), ("baseline", baseline)):
        if not first <= d <= last:
            raise ForcesError(f"{what} {_label(d)}: the Home Office table covers quarter ends from {_label(first)} "
                              f"to {_label(last)}")
    if _months_between(period, baseline) < 12:
        raise ForcesError(f"baseline {_label(baseline)} must end at least 12 months before the period "
                          f"{_label(period)}: the 12 months to each would overlap (rolling totals share months)")
    chosen, label = _selection(offence, available)
    wanted = set(chosen)
    highlighted = resolve_force(highlight, territorial) if highlight else None

    # Totals of the selection per force and quarter end; the burglary categories and negatives kept aside.
    total: dict[tuple[str, date], int] = defaultdict(int)
    published: set[tuple[str, date]] = set()
    burglary: dict[tuple[str, date], dict[str, int]] = defaultdict(dict)
    negatives: dict[tuple[str, date], list[str]] = defaultdict(list)
    for force, _, off, p, value in rows:
        if force not in kept:
            continue
        if off in BURGLARY_CATEGORIES:
            burglary[(force, p)][off] = value
        if off in wanted:
            total[(force, p)] += value
            published.add((force, p))
            if value < 0:
                negatives[(force, p)].append(f"{off} {value:,}")
    partly_burglary = bool(wanted & set(BURGLARY_CATEGORIES)) and not set(BURGLARY_CATEGORIES) <= wanted
    coverage = _coverage(con)

    def problem(force: str, p: date) -> tuple[str, str] | None:
        """Why the 12 months to ``p`` give no figure for ``force`` (status, reason), or None."""
        status, reason = coverage.get((force, p), ("absent", f"no loaded file supplies {force}"))
        if status != COMPLETE:
            return INCOMPLETE, f"{_window_text(p)}: {status} ({reason})"
        if (force, p) not in published:
            return NOT_COMPARABLE, f"{_window_text(p)}: {label} is not published for that quarter end"
        if total[(force, p)] < 0:
            return NOT_COMPARABLE, (f"{_window_text(p)}: the published total is negative ({total[(force, p)]:,}), "
                                    "a publisher's adjustment rather than a count of offences")
        if partly_burglary:
            schemes = _schemes(burglary[(force, p)])
            if len(schemes) > 1:
                return NOT_COMPARABLE, (f"{_window_text(p)} straddle the April 2017 redefinition of burglary "
                                        "(both the old and the new categories hold offences): compare All burglary")
            if schemes and not wanted & set(BURGLARY_SCHEMES[next(iter(schemes))]):
                return NOT_COMPARABLE, (f"{_window_text(p)}: burglary was recorded as "
                                        f"{' and '.join(BURGLARY_SCHEMES[next(iter(schemes))])} then, not as the "
                                        "categories chosen: compare All burglary")
        return None

    trend_periods = sorted({p for (f, p) in coverage if f in kept} | set(periods))
    results = []
    for force in territorial:
        issues = [x for x in (problem(force, period), problem(force, baseline)) if x is not None]
        if partly_burglary and not issues and \
                _schemes(burglary[(force, period)]) != _schemes(burglary[(force, baseline)]):
            issues.append((NOT_COMPARABLE, "burglary was redefined in April 2017 between the two windows (Domestic "
                                           "and Non-domestic became Residential and Non-residential burglary): "
                                           "compare All burglary"))
        status = OK
        if issues:
            status = INCOMPLETE if any(s == INCOMPLETE for s, _ in issues) else NOT_COMPARABLE
        notes = [f"{_window_text(p)} include a negative published total ({', '.join(negatives[(force, p)])}), "
                 "a publisher's adjustment" for p in (period, baseline)
                 if negatives.get((force, p)) and total[(force, p)] >= 0]
        trend = []
        for p in trend_periods:
            why = problem(force, p)
            trend.append({"period": _label(p), "value": total[(force, p)] if why is None else None,
                          "status": "complete" if why is None else why[0]})
        results.append({
            "force": force, "region": region_of[force], "highlighted": force == highlighted, "status": status,
            "current": total[(force, period)] if status == OK else None,
            "baseline": total[(force, baseline)] if status == OK else None,
            "reason": "; ".join(r for _, r in issues), "notes": notes, "trend": trend,
        })

    # The rate ratios of the forces with figures, then FDR across them.
    ok = [r for r in results if r["status"] == OK]
    if ok:
        rr = rate_ratio_intervals(np.array([r["current"] for r in ok], dtype=float),
                                  np.array([r["baseline"] for r in ok], dtype=float), confidence=CONFIDENCE)
        q = benjamini_hochberg_adjusted(rr.p_value[None, :])[0]
        for i, r in enumerate(ok):
            significant = bool(q[i] < FDR_Q)
            rising = r["current"] > r["baseline"]
            r.update(
                ratio=_clean(rr.ratio[i]), change_pct=_clean(rr.change_pct[i]),
                change_low_pct=_clean(rr.change_low_pct[i]), change_high_pct=_clean(rr.change_high_pct[i]),
                p_value=_clean(rr.p_value[i]), q_value=_clean(q[i]), significant=significant,
                verdict=(SIGNIFICANT_RISE if rising else SIGNIFICANT_FALL) if significant else NO_SIGNIFICANT_CHANGE,
            )
    for r in results:
        if r["status"] != OK:
            r.update(ratio=None, change_pct=None, change_low_pct=None, change_high_pct=None, p_value=None,
                     q_value=None, significant=False, verdict=r["status"])
        r["trend"] = r.pop("trend")  # last: the long part

    summary = {v: sum(1 for r in results if r["verdict"] == v)
               for v in (SIGNIFICANT_RISE, SIGNIFICANT_FALL, NO_SIGNIFICANT_CHANGE, INCOMPLETE, NOT_COMPARABLE)}
    files = Compiler(con).provenance(DATASET, territorial, trend_periods[0], trend_periods[-1])
    notes = [
        "Rolling 12-month totals as the Home Office publishes them: the 12 months to each quarter end. The change "
        "compares two such totals that do not overlap; rolling totals are never added up.",
        "A force whose quarter end is not complete in the coverage model (absent or partial) gets 'incomplete "
        "data', never a figure: before 2007 only March year-ends were published.",
        "Burglary was redefined in April 2017 (Domestic and Non-domestic burglary became Residential and "
        "Non-residential burglary): across that date compare All burglary.",
    ]
    if label == ALL_OFFENCES_LABEL:
        notes.insert(1, "All offences leaves out Fraud offences: forces' fraud recording moved to Action Fraud "
                        "between 2011 and 2014, so a force's fraud total falls to zero.")
    return {
        "title": f"Forces compared: {label}",
        "dataset": DATASET,
        "offence": label,
        "offences": chosen,
        "offence_options": offence_options(available),
        "period": _label(period),
        "baseline": _label(baseline),
        "period_text": _window_text(period),
        "baseline_text": _window_text(baseline),
        "highlight": highlighted,
        "confidence": CONFIDENCE,
        "fdr_q": FDR_Q,
        "forces_compared": len(ok),
        "summary": summary,
        "forces": results,
        "left_out": [{"force": f, "region": region_of[f],
                      "reason": LEFT_OUT_REASONS[BTP] if f == BTP else LEFT_OUT_REASONS["fraud"]} for f in left_out],
        "quarter_ends": [_label(p) for p in trend_periods],
        "method": (f"Rate ratio of the {_window_text(period)[4:]} to the {_window_text(baseline)[4:]} with its exact "
                   "conditional 95% interval and p-value (Clopper–Pearson on the binomial split of the two counts, "
                   "central two-sided test); Benjamini–Hochberg false-discovery-rate control across the "
                   f"{len(ok)} forces compared; a change is significant at q < {FDR_Q:g}. The interval is each "
                   "force's own, not adjusted."),
        "notes": notes,
        "files": files,
        "source": {"dataset": DATASET, "label": "Home Office police recorded crime by police force area",
                   "files": files},
        "attribution": ATTRIBUTION,
    }


def _schemes(values: dict[str, int]) -> set[str]:
    """The burglary schemes (before or from April 2017) whose categories hold offences in a window."""
    return {scheme for scheme, names in BURGLARY_SCHEMES.items() if any(values.get(n) for n in names)}


def _clean(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


__all__ = ["ALL_BURGLARY", "ALL_OFFENCES", "DATASET", "ForcesError", "INCOMPLETE", "NOT_COMPARABLE",
           "forces_compared", "offence_options", "parse_quarter_end", "plan_force", "resolve_force"]
