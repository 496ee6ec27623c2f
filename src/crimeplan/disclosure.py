"""Small numbers about people are not published: counts below the plan's threshold (10) read "<10".

A count of victims or of people searched that is small can identify someone: a
borough's two homicide victims in a year, the searches of one group in a ward.
Every output built for publication (the API, the pages, the static site, the
CSV files) passes through here; the analysis itself (changes, intervals, tests,
verdicts) uses the real counts, and only the figures that would reveal a small
count are withheld:

- a count below the threshold, and with it the change and interval computed
  from it (a change of −50% from 12 gives the 6 away), the sentence that states
  them, and a rate or value per resident (the residents are published);
- secondary suppression: where one area of a group (the boroughs of a BCU,
  the BCUs of London) or one month of a calendar year is withheld, the total
  published beside them would give it away by subtraction, so the next smallest
  of the group is withheld too.

Which measures count people, and the threshold, are the plan's (``small_numbers``:
``below``, ``units``): by default measures whose unit is "victims" or "searches".

    >>> cells = [{"code": "a", "current": 3.0}, {"code": "b", "current": 40.0}, {"code": "c", "current": 12.0}]
    >>> [c["code"] for c in secondary(cells, ["current"], below=10)]
    ['a', 'c']
"""

from __future__ import annotations

from typing import Iterable

from crimeplan.plan.schema import Measure, Plan



def counts_people(plan: Plan, measure: Measure) -> bool:
    """Whether the measure's figures are counts of people (victims, people searched)."""
    return measure.statistic in ("count", "rate") and measure.unit in plan.small_numbers.units


def rule_text(plan: Plan) -> str:
    below = plan.small_numbers.below
    return (f"Counts of people (victims, people searched) below {below} are not published, nor any figure that "
            f"would give one away (its change, its rate, or the one other figure of a group whose total is "
            f"shown); they read \"<{below}\". The changes and verdicts are still judged from the real counts.")


def small(value, below: int) -> bool:
    return value is not None and value < below


def secondary(cells: list[dict], fields: Iterable[str], below: int) -> list[dict]:
    """The cells to withhold in one group whose total is published: those below ``below`` in any field, and, where
    that is exactly one cell, the smallest other cell with a figure (so subtraction from the total cannot find it)."""
    fields = list(fields)
    chosen = [c for c in cells if any(small(c.get(f), below) for f in fields)]
    if len(chosen) == 1:
        others = [c for c in cells if c not in chosen and any(c.get(f) is not None for f in fields)]
        if others:
            chosen.append(min(others, key=lambda c: min(c.get(f) for f in fields if c.get(f) is not None)))
    return chosen


WITHHELD = "withheld"  # a figure withheld only because it would give a small one away (secondary, or derived)
_DERIVED = ("change", "interval", "plain")


def _withhold(entry: dict, field: str, marker: str, derived: Iterable[str] = _DERIVED) -> None:
    """Set ``field`` (and the figures computed from it) to None, recording how each is to be shown."""
    shown = entry.setdefault("suppressed", {})
    if field in entry:
        entry[field] = None
        shown[field] = marker
    for f in derived:
        if f in entry:
            entry[f] = None
            shown.setdefault(f, WITHHELD)


def scorecard(card: dict, plan: Plan, withheld: dict[str, set[str]] | None = None) -> dict:
    """A scorecard (one area) with its small counts of people withheld, in place.

    ``withheld``: per measure, the fields the area's level table withholds from it (secondary
    suppression among its siblings), so that its own page does not show what the table hides.
    """
    below = plan.small_numbers.below
    marker = f"<{below}"
    people = {m.id for m in plan.measures if counts_people(plan, m)}
    for p in card.get("priorities", []):
        for m in p["measures"]:
            if m["id"] not in people:
                continue
            also = (withheld or {}).get(m["id"], set())
            for entry, baseline in [(m, "baseline_value"), (m.get("source") or {}, "baseline"),
                                    *[(a, "baseline") for a in m.get("alternatives") or []]]:
                for field in ("current", baseline):
                    if small(entry.get(field), below):
                        _withhold(entry, field, marker)
                    elif entry is m and field in also:
                        _withhold(entry, field, WITHHELD)
            if m.get("suppressed"):
                m["plain"] = (f"Fewer than {below} {m['unit']} in a period compared, or a figure that would give "
                              f"such a count away: not published (small numbers about people); the assessment is "
                              f"made from the real counts.")
                m["suppressed"]["plain"] = m["plain"]
    return card


def level_table(table: dict, plan: Plan, parent_of: dict[str, str | None]) -> dict:
    """A level's figures with small counts of people withheld, and one more in each group of siblings."""
    measure = plan.measure(table["measure"])
    if not counts_people(plan, measure):
        return table
    below = plan.small_numbers.below
    groups: dict[str | None, list[dict]] = {}
    for row in table["areas"]:
        groups.setdefault(parent_of.get(row["code"]), []).append(row)
    for rows in groups.values():
        for field in ("current", "baseline_value"):
            for row in secondary(rows, [field], below):
                _withhold(row, field, f"<{below}" if small(row[field], below) else WITHHELD)
    return table


def withheld_fields(table: dict, code: str) -> set[str]:
    """The counts a level table withholds for one area ('current', 'baseline_value')."""
    row = next((r for r in table.get("areas", []) if r["code"] == code), None)
    return {f for f in ("current", "baseline_value") if row and f in (row.get("suppressed") or {})}


def per_area_values(values: dict[str, list], plan: Plan, measure: Measure, parent_of: dict[str, str | None],
                    months: list[str]) -> dict[str, list]:
    """Monthly values per area (sparklines) withheld where small, with secondary suppression within each year."""
    if not counts_people(plan, measure):
        return values
    return {code: _series_values(v, months, plan.small_numbers.below) for code, v in values.items()}


def _series_values(values: list, months: list[str], below: int) -> list:
    out = list(values)
    years: dict[str, list[dict]] = {}
    for i, (m, v) in enumerate(zip(months, values)):
        years.setdefault(m[:4], []).append({"i": i, "v": v})
    for cells in years.values():
        for c in secondary(cells, ["v"], below):
            out[c["i"]] = None
    return out


def series(data: dict, plan: Plan) -> dict:
    """A measure's series for one area with small monthly (or yearly) counts of people withheld."""
    measure = plan.measure(data["measure"])
    if not counts_people(plan, measure):
        return data
    below = plan.small_numbers.below
    for source in data.get("sources", []):
        points = source.get("points") or []
        years: dict[str, list[dict]] = {}
        for point in points:
            years.setdefault(point["period"][:4] if source.get("by") != "year" else "all", []).append(point)
        for cells in years.values():
            for point in secondary(cells, ["value"], below):
                _withhold(point, "value", f"<{below}" if small(point["value"], below) else WITHHELD,
                          ("lower", "centre", "upper"))
        if any(p.get("suppressed") for p in points):
            source.pop("spc", None)  # control limits around withheld months would give them away
    return data


def hotspots(data: dict, plan: Plan, parent_of: dict[str, str | None]) -> dict:
    """Hot spots with the small counts of people (and their rates) withheld."""
    measure = plan.measure(data["measure"])
    if not counts_people(plan, measure):
        return data
    below = plan.small_numbers.below
    groups: dict[str | None, list[dict]] = {}
    for row in data.get("areas", []):
        groups.setdefault(parent_of.get(row["code"]), []).append(row)
    for rows in groups.values():
        for row in secondary(rows, ["numerator"], below):
            _withhold(row, "numerator", f"<{below}" if small(row["numerator"], below) else WITHHELD, ("value",))
    return data


def claims(checks: list[dict], plan: Plan) -> list[dict]:
    """Checked claims with the small counts of people they computed withheld (the verdict stands)."""
    below = plan.small_numbers.below
    people = {m.id for m in plan.measures if counts_people(plan, m)}
    for check in checks:
        if (check.get("measure") or {}).get("id") not in people:
            continue
        for entry in [check, *(check.get("alternatives") or [])]:
            for field in ("current", "baseline"):
                if small(entry.get(field), below):
                    _withhold(entry, field, f"<{below}", ("computed_value", "computed_change_pct", "interval_pct"))
    return checks


__all__ = ["claims", "WITHHELD", "counts_people", "withheld_fields", "hotspots", "level_table", "per_area_values", "rule_text", "scorecard",
           "secondary", "series"]
