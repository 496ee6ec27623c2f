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

    >>> cells = [{"code": "a", "current": 3.0}, {"code": "b", "current": 40.0}, {"code": "c", "current": 12.0},
    ...          {"code": "d", "current": 60.0}]
    >>> [c["code"] for c in secondary(cells, ["current"], below=10)]
    ['a', 'c', 'b']

(3 alone would be 3 by subtraction; 3 and 12 withheld sum to 15, and a count of at least 10
beside it leaves the '<10' one 0 to 5; with 40 too, 55 leaves it anything from 0 to 9.)
"""

from __future__ import annotations

from typing import Iterable

from crimeplan.plan.schema import Measure, Plan



def counts_people(plan: Plan, measure: Measure) -> bool:
    """Whether the measure's figures are counts of people (victims, people searched)."""
    return measure.statistic in ("count", "rate") and measure.unit in plan.small_numbers.units


def shares_of_people(plan: Plan, measure: Measure) -> bool:
    """Whether the measure is a share of a count of people (searches ending in arrest): its numerator, its
    denominator and what is left of it are all counts of people."""
    return measure.statistic == "proportion" and any(u in measure.unit for u in plan.small_numbers.units)


def _share_counts(entry: dict, share: str, denominator: str) -> tuple[float | None, float | None]:
    """A share's numerator and what is left of its denominator, both counts (None when unknown)."""
    n, p = entry.get(denominator), entry.get(share)
    if n is None or p is None:
        return None, None
    k = round(p * n / 100)
    return k, n - k


def _small_share(entry: dict, below: int, share: str, denominator: str) -> bool:
    n, p = entry.get(denominator), entry.get(share)
    if n is None or p is None:
        return False
    k = round(p * n / 100)
    return small(n, below) or small(k, below) or small(n - k, below)


_SHARE_FIELDS = ("current", "baseline_value", "baseline", "current_denominator", "baseline_denominator",
                 "change", "interval", "p_value", "q_value")


def _withhold_share(entry: dict, below: int) -> None:
    for f in _SHARE_FIELDS:
        if entry.get(f) is not None:
            marker = f"<{below}" if f.endswith("denominator") and small(entry[f], below) else WITHHELD
            _withhold(entry, f, marker, ())


def _shares(m: dict, below: int, beside: bool = False) -> None:
    """A share of searches: where its numerator, denominator or remainder is small in either period, or its level
    table withholds it beside its siblings (``beside``), the shares, their n and the change are withheld from the
    measure and each of its sources (the verdict stands)."""
    entries = [m.get("source") or {}, *(m.get("alternatives") or [])]
    smalls = [e for e in entries if any(_small_share(e, below, s, d) for s, d in
                                        (("current", "current_denominator"), ("baseline", "baseline_denominator")))]
    if not smalls and not beside:
        return
    for entry in [m, *entries]:
        _withhold_share(entry, below)
    m["plain"] = (f"A share resting on fewer than {below} searches (or arrests, or searches without one) in a period "
                  f"compared: not published (small numbers about people); the assessment is made from the real "
                  f"counts.")


def rule_text(plan: Plan) -> str:
    below = plan.small_numbers.below
    return (f"Counts of people (victims, people searched) below {below} are not published, nor any figure that "
            f"would give one away (its change, its rate, or the one other figure of a group whose total is "
            f"shown); they read \"<{below}\", and a figure withheld only because it would give one away reads "
            f"\"withheld\". The changes and verdicts are still judged from the real counts.")


def small(value, below: int) -> bool:
    return value is not None and value < below


def secondary(cells: list[dict], fields: Iterable[str], below: int) -> list[dict]:
    """The cells to withhold in one group whose total is published: those below ``below`` in any field, then the
    smallest others until subtraction from the total cannot pin any of them down.

    A reader knows the withheld cells' sum ``S`` (the total less the cells shown), that each
    '<10' cell lies in 0..9 and that each other withheld cell is at least 10. With no such
    other cell, each '<10' cell could still be anything from 0 to 9 only if 9 ≤ S ≤ 9(k − 1)
    (two cells summing to 17 are 8 and 9); with some, only if S leaves 9 over them.
    """
    fields = list(fields)

    def value(c: dict) -> float | None:
        known = [c.get(f) for f in fields if c.get(f) is not None]
        return min(known) if known else None

    chosen = [c for c in cells if any(small(c.get(f), below) for f in fields)]
    # Cells already withheld for another reason (the other way of a two-way table) are withheld here
    # too, and one withheld cell alone is given back by subtraction.
    chosen += [c for c in cells if c not in chosen and c.get("_withheld")]
    if not chosen:
        return []
    others = sorted((c for c in cells if c not in chosen and value(c) is not None), key=value)
    while others and (not _protected(chosen, fields, below, value) or len(chosen) < 2):
        chosen.append(others.pop(0))
    return chosen


def _protected(chosen: list[dict], fields: list[str], below: int, value) -> bool:
    primary = [c for c in chosen if any(small(c.get(f), below) for f in fields)]
    total = sum(value(c) for c in chosen)
    extra = len(chosen) - len(primary)
    top = below - 1
    if extra == 0:
        return len(primary) >= 2 and top <= total <= top * (len(primary) - 1)
    return total - extra * below >= top


WITHHELD = "withheld"  # a figure withheld only because it would give a small one away (secondary, or derived)
# An exact test's p value on small counts pins them down as surely as the change does.
_DERIVED = ("change", "interval", "plain", "p_value", "q_value")


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
    ratios = {m.id for m in plan.measures if m.statistic == "ratio"}
    shares = {m.id for m in plan.measures if shares_of_people(plan, m)}
    for p in card.get("priorities", []):
        for m in p["measures"]:
            also = (withheld or {}).get(m["id"], set())
            also_beside = (withheld or {}).get(("beside", m["id"]), set())
            if m.get("beside") is not None and "current" in also | also_beside:
                # Both show the same months' figure: withheld among its siblings in one table, it is in both.
                also, also_beside = also | {"current"}, also_beside | {"current"}
            _scorecard_entry(m, below, marker, people, ratios, shares, also)
            if m.get("beside") is not None:  # the same months against the plan's baseline: the same rule
                _scorecard_entry(m["beside"], below, marker, people, ratios, shares, also_beside)
    return card


_RATIO_COUNTS = ("current_numerator", "current_denominator", "baseline_numerator", "baseline_denominator")


def _scorecard_entry(m: dict, below: int, marker: str, people: set, ratios: set, shares: set, also: set) -> None:
    """One measure of a scorecard, its small counts of people withheld in place (``also``: the fields its level
    table withholds)."""
    if m["id"] in ratios:
        _ratio(m, below, bool(also))
    if m["id"] in shares:
        _shares(m, below, bool(also))
    if m["id"] not in people:
        return
    for field in ("current", "baseline_value"):
        if small(m.get(field), below):
            _withhold(m, field, marker)
        elif field in also:
            _withhold(m, field, WITHHELD)
    entries = [m.get("source") or {}, *(m.get("alternatives") or [])]
    if m.get("suppressed") or any(small(e.get(f), below) for e in entries for f in ("current", "baseline")):
        # The same area's figures from its sources (the headline's, and the others') give the
        # withheld ones back: they go with them.
        for entry in [m, *entries]:
            for field in ("current", "baseline_value" if entry is m else "baseline"):
                if entry.get(field) is not None or entry is m:
                    if field not in (entry.get("suppressed") or {}):
                        _withhold(entry, field, marker if small(entry.get(field), below) else WITHHELD)
    if m.get("suppressed"):
        m["plain"] = (f"Fewer than {below} {m['unit']} in a period compared, or a figure that would give "
                      f"such a count away: not published (small numbers about people); the assessment is "
                      f"made from the real counts.")
        m["suppressed"]["plain"] = m["plain"]


def _ratio(m: dict, below: int, beside: bool = False) -> None:
    """A rate ratio between groups: the searches of each group it rests on are counts of people; where one is
    small (or its level table withholds it, ``beside``) it is withheld, and the ratios and change computed from
    it with it (the residents are published)."""
    for entry in [m.get("source") or {}, *(m.get("alternatives") or [])]:
        if any(small(entry.get(f), below) for f in _RATIO_COUNTS) or (beside and entry is m.get("source")):
            for f in _RATIO_COUNTS:
                if entry.get(f) is not None:
                    _withhold(entry, f, f"<{below}" if small(entry[f], below) else WITHHELD, ())
            for f in ("current", "baseline", "change", "interval", "current_interval", "baseline_interval",
                      "p_value", "q_value", "plain"):
                if entry.get(f) is not None:
                    entry[f] = None
                    entry.setdefault("suppressed", {})[f] = WITHHELD
            if entry is m.get("source"):
                for f in ("current", "baseline_value", "change", "interval", "current_interval",
                          "baseline_interval", "p_value", "q_value"):
                    if m.get(f) is not None:
                        _withhold(m, f, WITHHELD, ())
                m["plain"] = (f"A ratio resting on fewer than {below} searches of a group: not published (small "
                              f"numbers about people); the assessment is made from the real counts.")


def level_table(table: dict, plan: Plan, parent_of: dict[str, str | None], also: set[str] | None = None) -> dict:
    """A level's figures with small counts of people withheld, and one more in each group of siblings.

    ``also``: for a ratio, the areas whose counts another published table withholds (they go too)."""
    measure = plan.measure(table["measure"])
    below = plan.small_numbers.below
    if measure.statistic == "ratio":  # a ratio and its interval solve for small counts: withheld with them
        for row in table["areas"]:
            if any(small(c, below) for c in row.pop("_counts", None) or []) or row["code"] in (also or set()):
                for f in ("current", "baseline_value", "change", "interval", "p_value", "q_value", "plain"):
                    if row.get(f) is not None:
                        _withhold(row, f, WITHHELD, ())
        return table
    if shares_of_people(plan, measure):
        groups: dict[str | None, list[dict]] = {}
        for row in table["areas"]:
            row["_k"], row["_rest"] = _share_counts(row, "current", "current_denominator")
            row["_bk"], row["_brest"] = _share_counts(row, "baseline_value", "baseline_denominator")
            groups.setdefault(parent_of.get(row["code"]), []).append(row)
        # Each share's arrests, and its searches without one, add up to the parent's: small ones are withheld
        # with enough siblings that subtraction cannot give them back.
        for rows in groups.values():
            for field in ("_k", "_rest", "_bk", "_brest"):
                for row in secondary([{**r, "_row": r} for r in rows], [field], below):
                    row["_row"]["_hide"] = True
        for row in table["areas"]:
            if row.pop("_hide", False):
                _withhold_share(row, below)
            for f in ("_k", "_rest", "_bk", "_brest"):
                row.pop(f, None)
        return table
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


def per_area_values(values: dict[str, list], plan: Plan, measure: Measure) -> dict[str, list]:
    """Monthly values per area (sparklines): an area's whole line withheld where any month is small (months
    summed into the quarters, years and rolling totals published elsewhere would give a lone one back)."""
    if not counts_people(plan, measure):
        return values
    below = plan.small_numbers.below
    return {code: ([None] * len(v) if any(small(x, below) for x in v) else v) for code, v in values.items()}


def series(data: dict, plan: Plan) -> dict:
    """A measure's series for one area with small counts of people withheld.

    Withholding single months is undone by the quarters, years and rolling totals also
    published (a quarter of 33 with two months shown gives the third). So where any point of
    a series is small, every point of that series (and its control limits) is withheld, and the
    series says so: a coarser one (by year) may still be shown whole.
    """
    measure = plan.measure(data["measure"])
    below = plan.small_numbers.below
    if measure.statistic == "ratio":
        for source in data.get("sources", []):
            for point in source.get("points") or []:
                if any(small(c, below) for c in point.pop("_counts", None) or []):
                    _withhold(point, "value", WITHHELD, ())
        return data
    if shares_of_people(plan, measure):
        for source in data.get("sources", []):
            points = source.get("points") or []
            if any(_small_share(p, below, "value", "n") for p in points):
                for point in points:
                    for f in ("value", "n"):
                        if point.get(f) is not None:
                            _withhold(point, f, WITHHELD, ())
                source["note"] = ((source.get("note") + "; ") if source.get("note") else "") + (
                    f"some {source.get('by', 'month')}s rest on fewer than {below} searches, arrests or searches "
                    f"without one: not published at this granularity (small numbers about people)")
        return data
    if not counts_people(plan, measure):
        return data
    for source in data.get("sources", []):
        points = source.get("points") or []
        if any(small(p.get("value"), below) for p in points):
            for point in points:
                _withhold(point, "value", f"<{below}" if small(point["value"], below) else WITHHELD,
                          ("lower", "centre", "upper", "signal"))
            source.pop("spc", None)
            source["note"] = ((source.get("note") + "; ") if source.get("note") else "") + (
                f"some {source.get('by', 'month')}s hold fewer than {below} {measure.unit}: the counts are not "
                f"published at this granularity (small numbers about people)")
    return data


def hotspots(data: dict, plan: Plan, parent_of: dict[str, str | None]) -> dict:
    """Hot spots of a count of people: only each area's class is published where any area's count is small
    (its rate and its z and p values, with the published residents and weights, could be solved for the count)."""
    measure = plan.measure(data["measure"])
    if not counts_people(plan, measure):
        return data
    below = plan.small_numbers.below
    rows = data.get("areas", [])
    if any(small(r.get("numerator"), below) for r in rows):
        for row in rows:
            _withhold(row, "numerator", f"<{below}" if small(row["numerator"], below) else WITHHELD,
                      ("value", "z", "p", "q"))
    return data


def claims(checks: list[dict], plan: Plan) -> list[dict]:
    """Checked claims with the small counts of people they computed withheld (the verdict stands)."""
    below = plan.small_numbers.below
    people = {m.id for m in plan.measures if counts_people(plan, m)}
    for check in checks:
        if (check.get("measure") or {}).get("id") not in people:
            continue
        entries = [check, *(check.get("alternatives") or [])]
        # Below the plan's area a count may be one its level table withholds beside its siblings: a claim
        # about one area publishes none (its verdict stands); at the top, only the small ones are withheld.
        local = (check.get("area") or {}).get("parent_code") is not None
        if local or any(small(e.get(f), below) for e in entries for f in ("current", "baseline")):
            for entry in entries:
                for field in ("current", "baseline"):
                    if entry.get(field) is not None:
                        _withhold(entry, field, f"<{below}" if small(entry[field], below) else WITHHELD,
                                  ("computed_value", "computed_change_pct", "interval_pct", "p_value", "q_value"))
    return checks


__all__ = ["claims", "WITHHELD", "counts_people", "withheld_fields", "hotspots", "level_table", "per_area_values", "rule_text", "scorecard",
           "secondary", "series"]


# A fairness cell's figures computed from its count of people searched (crimeplan.measures.fairness).
_RATE_FIELDS = ("per_1000", "ratio", "interval", "p_value", "q_value")


def fairness(table: dict, plan: Plan, parent_of: dict[str, str | None],
             baseline_withheld: set[tuple[str, str]] | None = None) -> dict:
    """A stop-and-search fairness table (``measures.fairness``) with its small counts of people withheld.

    Each area's searches by group add up to its published total, and each group's searches in the
    areas of one parent add up to the parent's: a '<10' cell is protected both ways (secondary
    suppression, repeated until neither way can narrow one). A withheld count takes with it the
    figures that give it back: its rate per 1,000 and rate ratio (the residents are published), its
    interval and p value; a withheld White count takes every ratio of the area, whose denominator
    it is. Arrests, and searches without one, are protected both ways too, with their shares and
    differences. A change against the baseline (a ratio of ratios, whose interval solves for its four
    counts) is withheld where any of them is small or withheld in the baseline's own table
    (``baseline_withheld``: (area code, group) pairs). The breakdowns by legislation and object of
    search are protected the same way within the area.
    """
    below = plan.small_numbers.below
    marker = f"<{below}"
    rows = [r for r in table.get("areas", [])] + ([table["figures"]] if table.get("figures") else [])
    rows += list((table.get("siblings") or {}).get("areas") or [])
    rows = list({id(r): r for r in rows}.values())  # an area's own row may also be one of its siblings
    # An area's own total of searches: small ones withheld, protected among its siblings; every group of
    # an area whose total is withheld goes with it (they would add up to it).
    siblings: dict = {}
    for r in rows:
        siblings.setdefault(parent_of.get(r["code"]), []).append(r)
    for group in siblings.values():
        for r in secondary(group, ["searches"], below):
            r["_total"] = True
    for r in rows:
        if r.pop("_total", False):
            r.setdefault("suppressed", {})["searches"] = marker if small(r["searches"], below) else WITHHELD
            r["searches"] = None
            for kind in ("officer", "self"):
                for c in r[kind].values():
                    c["_withheld"] = True
            for f in ("not_stated_share", "self_not_stated_share"):
                r[f] = None
    for kind, groups in (("officer", table["groups"]), ("self", table["self_groups"])):
        stated = "not_stated" if kind == "officer" else "self_not_stated"
        for r in rows:  # the searches with no group recorded are a published cell of each row
            r[kind]["_not_stated"] = {"searches": r[stated]}
        _protect(rows, kind, [*groups, "_not_stated"], parent_of, below)
        for r in rows:
            cell = r[kind].pop("_not_stated")
            if cell.get("_withheld"):
                r[stated] = None
                r.setdefault("suppressed", {})[stated] = marker if small(cell["searches"], below) else WITHHELD
                r[f"{stated}_share"] = None
            reference = r[kind].get(table["reference_group"], {})
            for group in groups:
                c = r[kind][group]
                if c.get("_withheld") or reference.get("_withheld"):
                    _withhold_cell(c, below, rate_only=not c.get("_withheld"))
    # The outcome test: each group's arrests, and its searches without one, add up across the groups to the
    # area's (published by the arrest-share measure) and across sibling areas to the parent's.
    outcome_groups = list(table["groups"])
    for field, value in (("arrests", lambda c: c["arrests"]), ("_rest", lambda c: c["searches"] - c["arrests"])):
        for r in rows:
            for g in outcome_groups:
                c = r["outcomes"][g]
                c["_value"] = value(c)
                c["_withheld"] = c.get("_withheld") or r["officer"][g].get("searches") is None
            r["_outcomes"] = {g: {"searches": r["outcomes"][g]["_value"], "_withheld": r["outcomes"][g]["_withheld"]}
                              for g in outcome_groups}
        _protect(rows, "_outcomes", outcome_groups, parent_of, below)
        for r in rows:
            for g in outcome_groups:
                r["outcomes"][g]["_withheld"] = r["_outcomes"][g].get("_withheld", False)
            r.pop("_outcomes")
    for r in rows:
        for group, c in r["outcomes"].items():
            c.pop("_value", None)
            if c.pop("_withheld", False) or small(c.get("searches"), below):
                for f in ("arrests", "searches"):
                    if c.get(f) is not None:
                        c.setdefault("suppressed", {})[f] = marker if small(c[f], below) else WITHHELD
                        c[f] = None
                for f in ("share", "difference_pp", "interval_pp", "linked", "linked_recorded", "linked_share"):
                    c[f] = None
        if r.get("change"):
            for group, c in r["change"].items():
                if c is None:
                    continue
                counts = c.pop("_counts")
                hidden = (r["officer"][group].get("searches") is None
                          or r["officer"][table["reference_group"]].get("searches") is None
                          or (r["code"], group) in (baseline_withheld or set())
                          or (r["code"], table["reference_group"]) in (baseline_withheld or set()))
                if hidden or any(small(x, below) for x in counts):  # the change solves for the baseline's counts
                    r["change"][group] = {"withheld": WITHHELD}
    located = table.get("located")
    if located:
        for f in ("outside", "no_location"):
            if small(located.get(f), below):
                located[f] = None
                located[f"{f}_share"] = None
                located.setdefault("suppressed", {})[f] = marker
    table["unmapped"] = {k: (v if not small(v, below) else marker) for k, v in (table.get("unmapped") or {}).items()}
    for field, breakdown in (table.get("breakdowns") or {}).items():
        lines = breakdown["rows"]
        for line in lines:
            line["officer"]["_total"] = {"searches": line["searches"]}
        # Each line's groups add up to its total; each group's lines add up to the area's group count.
        _protect(lines, "officer", [*table["groups"], "_total"], {id(x): None for x in lines}, below, key=id)
        for line in lines:
            total = line["officer"].pop("_total")
            if total.get("_withheld"):
                line["searches"] = None
                line.setdefault("suppressed", {})["searches"] = marker if small(total["searches"], below) else WITHHELD
            reference = line["officer"].get(table["reference_group"], {})
            for group in table["groups"]:
                c = line["officer"][group]
                if c.get("_withheld") or reference.get("_withheld"):
                    _withhold_cell(c, below, rate_only=not c.get("_withheld"))
    for r in rows:
        for kind in ("officer", "self"):
            for c in r[kind].values():
                c.pop("_withheld", None)
    for breakdown in (table.get("breakdowns") or {}).values():
        for line in breakdown["rows"]:
            for c in line["officer"].values():
                c.pop("_withheld", None)
    table["small_numbers"] = rule_text(plan)
    return table


def _protect(rows: list[dict], kind: str, groups: list[str], parent_of: dict, below: int, key=None) -> None:
    """Mark ``_withheld`` on the cells (row[kind][group]['searches']) to withhold: small ones, then enough
    others in each row (the row's total is published) and in each group of sibling rows (the parent's is)."""
    key = key or (lambda r: r["code"])
    parents: dict = {}
    for r in rows:
        parents.setdefault(parent_of.get(key(r)), []).append(r)
    while True:
        before = sum(1 for r in rows for g in groups if r[kind][g].get("_withheld"))
        for r in rows:
            for c in secondary([r[kind][g] for g in groups], ["searches"], below):
                c["_withheld"] = True
        for siblings in parents.values():
            for g in groups:
                if g.startswith("_"):
                    continue
                for c in secondary([r[kind][g] for r in siblings], ["searches"], below):
                    c["_withheld"] = True
        if sum(1 for r in rows for g in groups if r[kind][g].get("_withheld")) == before:
            return


def _withhold_cell(cell: dict, below: int, rate_only: bool = False) -> None:
    """Withhold a cell's count and what is computed from it; ``rate_only``: only its ratio to the reference group
    (whose count is withheld): its own rate per 1,000 gives nothing its published count does not."""
    shown = cell.setdefault("suppressed", {})
    if not rate_only and cell.get("searches") is not None:
        shown["searches"] = f"<{below}" if small(cell["searches"], below) else WITHHELD
        cell["searches"] = None
    for f in (_RATE_FIELDS[1:] if rate_only else _RATE_FIELDS):
        if cell.get(f) is not None:
            cell[f] = None
            shown.setdefault(f, WITHHELD)
