"""Fairness of stop and search: searches per resident of each ethnic group, set against White residents.

    >>> from crimeplan.measures.fairness import fairness                        # doctest: +SKIP
    >>> t = fairness(engine, "borough", "FY2023-24")                             # doctest: +SKIP
    >>> row = t["areas"][0]; row["officer"]["Black"]["ratio"], row["officer"]["Black"]["interval"]   # doctest: +SKIP

*Disproportionality.* For each area and ethnic group, the force's searches of
people of that group in the area per 1,000 of its residents of that group
(Census 2021, TS021), and the rate ratio of each group to White with its 95%
interval: the exact conditional interval for the ratio of two Poisson rates
(:mod:`crimeplan.stats.rate_ratio`, Clopper–Pearson on the binomial split of the
two counts). Below the force's whole area the ratios of each group are judged
with false-discovery-rate control across the areas (Benjamini–Hochberg, q = 0.05).
Officer-defined ethnicity (White, Black, Asian, Other) is the headline; the
self-defined ethnicity, gathered into the five Census groups (catalogue
``groups``), is shown beside it. Searches with no ethnicity recorded (or "not
stated") are in no group: their share is always stated.

*Is it getting better?* The ratio now against the ratio in the baseline period
(ratio of rate ratios, :mod:`crimeplan.stats.ratio_of_ratios`; the Census
residents cancel), where both periods are complete.

*Outcome test.* The share of each group's searches ending in arrest (catalogue
group ``arrest`` of the outcome), and the difference to White with Newcombe's
interval (:mod:`crimeplan.stats.survey`); the share whose outcome is linked to
the object of search where the force records it. See :data:`OUTCOME_TEST_CAVEAT`.

*Where.* data.police.uk gives each search a location, not an area: every distinct
location is placed once at load in the loaded 2021 LSOAs and 2022 wards by point in
polygon (``stop_search_point``). Wards take their searches from the ward
placement; LSOAs, boroughs, BCUs and the force's area from the LSOA placement,
rolled up as the residents are. Searches with no location count towards the force's
whole area only, and their share of the period's searches is stated; so do those
outside the loaded boundaries.

Every figure is for one complete period: a month the coverage model finds partial
or absent (the Met's file lacks 2019-03 to 2021-05) leaves the period "incomplete
data", naming the months, and below the force's area a month whose locations the
force did not publish leaves it "not recorded".

The Poisson model takes searches as independent events. People searched more than
once, and searches clustered in operations, make the real uncertainty larger than
the intervals shown: read an interval as the least uncertainty there is.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from crimeplan import ATTRIBUTION
from crimeplan.catalogue import load_catalogue
from crimeplan.errors import CrimeplanError
from crimeplan.measures.areas import Area
from crimeplan.measures.cubes import MIN_PLACED, placed_searches
from crimeplan.measures.engine import Engine
from crimeplan.measures.periods import Latest, Period, parse_period
from crimeplan.present import months_text
from crimeplan.stats.fdr import benjamini_hochberg
from crimeplan.stats.rate_ratio import rate_ratio_intervals
from crimeplan.stats.ratio_of_ratios import ratio_of_ratios
from crimeplan.stats.survey import proportion_changes

DATASET = "police_uk_stop_search"
REFERENCE_GROUP = "White"
OFFICER_GROUPS = ("White", "Black", "Asian", "Other")  # officer-defined: no Mixed
SELF_GROUPS = ("White", "Black", "Asian", "Mixed", "Other")
NOT_STATED = "not stated"
UNMAPPED = "unmapped"  # a published value the catalogue's groups do not list
FDR_Q = 0.05
BREAKDOWNS = {"legislation": "legislation", "object_of_search": "object of search"}

REFERENCES = [
    "Clopper, C. J. & Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated in the case of "
    "the binomial. Biometrika 26(4): 404-413 (the exact conditional interval for a ratio of Poisson rates).",
    "Altman, D. G. & Bland, J. M. (2003). Interaction revisited: the difference between two estimates. BMJ 326: 219.",
    "Newcombe, R. G. (1998). Interval estimation for the difference between independent proportions: comparison "
    "of eleven methods. Statistics in Medicine 17(8): 873-890.",
    "Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate. Journal of the Royal Statistical "
    "Society, Series B 57(1): 289-300.",
    "Knowles, J., Persico, N. & Todd, P. (2001). Racial bias in motor vehicle searches: theory and evidence. "
    "Journal of Political Economy 109(1): 203-229.",
]
METHOD = (
    "Searches of each ethnic group per 1,000 residents of that group (Census 2021, TS021). The rate ratio to White "
    "has an exact 95% interval for the ratio of two Poisson rates (Clopper and Pearson on the split of the two "
    "counts); below the force's whole area each group's ratios are judged with false-discovery-rate control across "
    "the areas (Benjamini and Hochberg). The intervals treat searches as independent: repeat searches of one person "
    "and operations make the real uncertainty larger. Residents are those of 2021; people searched need not live "
    "where they were searched (a town centre draws visitors), so a rate is per resident, not per person present."
)
OUTCOME_TEST_CAVEAT = (
    "The outcome test (Knowles, Persico and Todd 2001) asks whether searches of one group end in arrest less often "
    "than searches of White people: if officers searched everyone on the same evidence, the share of searches that "
    "find something should be about the same whatever the group, and a lower share for a group suggests it is "
    "searched on weaker grounds. It cannot prove or rule out bias: the groups may differ in what officers "
    "reasonably suspect them of (infra-marginality: the average arrest rate need not equal the rate at the margin "
    "where an officer decides to search), an arrest is not a find, and an outcome recorded can depend on the same "
    "judgement as the search."
)


class FairnessError(CrimeplanError):
    """A fairness question that cannot be asked (a level searches are not placed at, an area outside the force)."""


def _groups() -> tuple[dict[str, str], dict[str, str], set[str]]:
    search = load_catalogue().dataset(DATASET)
    return (search.group_of("officer_defined_ethnicity"), search.group_of("self_defined_ethnicity"),
            {v for v, g in search.group_of("outcome").items() if g == "arrest"})


class _Counts:
    """A force's searches in one period, by area of a level, ethnic group (officer-defined and self-defined),
    arrest, and the breakdowns; and its residents of each group."""

    def __init__(self, engine: Engine, level: str, period: Period, force: str) -> None:
        self.engine, self.level, self.period, self.force = engine, level, period, force
        officer_of, self_of, arrest = _groups()
        g = engine.geography
        top = level == g.top
        area_level, vintages = g.table_level(level)
        con = engine.con
        if top:
            unit_join, unit_where, unit = "", "", "'top'"
        else:  # the LSOA placement, rolled up as the residents are: one geography for numerator and denominator
            unit_join, _, _ = placed_searches(con, area_level, vintages)
            unit_where = "AND r.level = $area_level AND list_contains($vintages, r.vintage)"
            unit = "r.code"
        params = {"force": force, "first": period.start, "last": period.end}
        if not top:
            params |= {"area_level": area_level, "vintages": list(vintages)}
        rows = con.execute(
            f"""SELECT {unit}, s.officer_defined_ethnicity, s.self_defined_ethnicity, s.outcome,
                       s.outcome_linked_to_object_of_search, s.legislation, s.object_of_search, count(*)
                FROM stop_search_current s {unit_join}
                WHERE s.force = $force AND s.month BETWEEN $first AND $last {unit_where}
                GROUP BY ALL""",
            params,
        ).fetchall()
        self.unmapped: dict[str, int] = {}
        self.by_area: dict[str, dict] = {}
        top_code = engine.areas.level(g.top)[0].code
        for code, officer, self_defined, outcome, linked, legislation, obj, n in rows:
            code = top_code if top else code
            a = self.by_area.setdefault(code, _empty())
            o = self._group(officer_of, "officer-defined", officer, n)
            a["total"] += n
            a["officer"][o] = a["officer"].get(o, 0) + n
            key = self._group(self_of, "self-defined", self_defined, n)
            a["self"][key] = a["self"].get(key, 0) + n
            if outcome is not None:
                a["with_outcome"][o] = a["with_outcome"].get(o, 0) + n
                if outcome in arrest:
                    a["arrests"][o] = a["arrests"].get(o, 0) + n
            if linked is not None:
                a["linked_recorded"][o] = a["linked_recorded"].get(o, 0) + n
                if linked:
                    a["linked"][o] = a["linked"].get(o, 0) + n
            for field, value in (("legislation", legislation), ("object_of_search", obj)):
                cell = a[field].setdefault(value or "not recorded", {})
                cell[o] = cell.get(o, 0) + n
        # Residents of each Census group (the top level: only the areas the force polices).
        per_group = {grp: engine.compiler.group_residents(level, grp) for grp in SELF_GROUPS}
        self.residents = {}
        for i, code in enumerate(engine.compiler.areas(level)):
            cell = {grp: float(n[i]) for grp, n in per_group.items() if not np.isnan(n[i])}
            if cell:
                self.residents[code] = cell

    def _group(self, group_of: dict[str, str], what: str, value: str | None, n: int) -> str:
        """The group a published value is in: 'not stated' when empty, 'unmapped' (and counted) when the
        catalogue does not list it, so that a new spelling is seen, not silently dropped."""
        if value is None:
            return NOT_STATED
        group = group_of.get(value)
        if group is None:
            key = f"{what} {value!r}"
            self.unmapped[key] = self.unmapped.get(key, 0) + n
            return UNMAPPED
        return group


def _empty() -> dict:
    return {"total": 0, "officer": {}, "self": {}, "with_outcome": {}, "arrests": {}, "linked_recorded": {},
            "linked": {}, "legislation": {}, "object_of_search": {}}


def plan_force(engine: Engine, force: str | None = None) -> str:
    """The force whose searches a plan reads: as given, else its geography's main force, else its measures'."""
    if force:
        return force
    if engine.geography.main_force:
        return engine.geography.main_force
    for m in engine.plan.measures:
        for s in m.sources:
            if getattr(s, "kind", None) == "stop_search":
                return s.force
    raise FairnessError("the plan names no force whose stop and search to read (geography main_force)")


def _coverage(engine: Engine, force: str, period: Period, below_top: bool) -> tuple[str, str]:
    """('ok', '') for a period the force's file covers completely (with locations, below the top level)."""
    compiler = engine.compiler
    supplied = set(compiler.periods_supplied(DATASET, [force]))
    missing = [m for m in period.months if m not in supplied]
    if missing:
        gaps = compiler.gaps(DATASET, [force])
        reasons = sorted({gaps.get(m, "not supplied") for m in missing})
        return "incomplete data", (f"data.police.uk stop and search for {force} is not complete for "
                                   f"{months_text(missing)}: {'; '.join(reasons)}")
    if below_top:
        unrecorded = _unrecorded_months(engine, force, period, "latitude")
        if unrecorded:
            return "not recorded", (f"{force} did not publish the locations of its searches for "
                                    f"{months_text(unrecorded)}: they cannot be placed in areas")
        unplaced = [m for m, (located, placed) in sorted(compiler.placement_by_month(force).items())
                    if period.start <= m <= period.end and placed < MIN_PLACED * located]
        if unplaced:
            return "not placed", (f"most of {force}'s located searches in {months_text(unplaced)} fall outside the "
                                  f"loaded boundaries")
    return "ok", ""


def latest_complete_year(engine: Engine, force: str | None = None) -> Period | None:
    """The latest twelve months the force's stop-and-search files cover completely, with locations."""
    force = plan_force(engine, force)
    months = engine.compiler.periods_supplied(DATASET, [force])
    for last in reversed(months):
        p = parse_period(f"rolling:{last:%Y-%m}")
        if _coverage(engine, force, p, True)[0] == "ok":
            return p
    return None


def _located(engine: Engine, force: str, period: Period) -> dict:
    """How many of the period's searches carry a location, and how many of those fall outside the boundaries."""
    total, located = engine.con.execute(
        """SELECT count(*), count(*) FILTER (WHERE longitude IS NOT NULL AND latitude IS NOT NULL)
           FROM stop_search_current WHERE force = ? AND month BETWEEN ? AND ?""",
        [force, period.start, period.end]).fetchone()
    outside = engine.con.execute(
        """SELECT count(*) FROM stop_search_current s JOIN stop_search_point p
             ON p.longitude = s.longitude AND p.latitude = s.latitude AND p.level = 'lsoa'
           WHERE s.force = ? AND s.month BETWEEN ? AND ? AND p.code IS NULL""",
        [force, period.start, period.end]).fetchone()[0]
    return {"searches": total, "no_location": total - located,
            "no_location_share": (total - located) / total if total else None,
            "outside": outside, "outside_share": outside / total if total else None}


def _ratios(searches: dict[str, int], residents: dict[str, float], groups: tuple[str, ...]) -> dict[str, dict]:
    """Each group's rate per 1,000 and its rate ratio to White (exact conditional interval)."""
    out = {}
    ref_s, ref_r = searches.get(REFERENCE_GROUP, 0), residents.get(REFERENCE_GROUP, 0)
    for group in groups:
        s, r = searches.get(group, 0), residents.get(group, 0)
        cell = {"searches": s, "residents": r, "per_1000": s / r * 1000 if r > 0 else None,
                "ratio": None, "interval": None, "p_value": None, "q_value": None, "verdict": None}
        if group != REFERENCE_GROUP and r > 0 and ref_r > 0 and (s + ref_s) > 0:
            rr = rate_ratio_intervals(s, ref_s, r, ref_r)
            ratio, low, high = (float(x) for x in (rr.ratio, rr.low, rr.high))
            cell |= {"ratio": None if np.isnan(ratio) else ratio,
                     "interval": [low, None if np.isnan(high) else high],
                     "p_value": float(rr.p_value), "verdict": _higher_or_lower(str(rr.verdict))}
        out[group] = cell
    return out


def _higher_or_lower(verdict: str) -> str:
    return {"significant rise": "higher than White", "significant fall": "lower than White"}.get(
        verdict, "no significant difference from White")


def _unrecorded_months(engine: Engine, force: str, period: Period, field: str) -> list[date]:
    """The months of ``period`` whose ``field`` the force left unrecorded (warehouse field_coverage)."""
    return [p for (p,) in engine.con.execute(
        """SELECT period FROM field_coverage WHERE dataset = ? AND series = ? AND field = ?
           AND status = 'not recorded' AND period BETWEEN ? AND ? ORDER BY period""",
        [DATASET, force, field, period.start, period.end]).fetchall()]


def _outcomes(a: dict, linked_recorded: bool) -> dict[str, dict]:
    """Each officer-defined group's arrest share, with the difference to White (Newcombe)."""
    out = {}
    k_ref, n_ref = a["arrests"].get(REFERENCE_GROUP, 0), a["with_outcome"].get(REFERENCE_GROUP, 0)
    for group in OFFICER_GROUPS:
        k, n = a["arrests"].get(group, 0), a["with_outcome"].get(group, 0)
        cell = {"arrests": k, "searches": n, "share": k / n if n else None, "difference_pp": None,
                "interval_pp": None, "verdict": None,
                "linked": a["linked"].get(group, 0), "linked_recorded": a["linked_recorded"].get(group, 0)}
        if not linked_recorded:  # an empty or all-'no' field is not a find rate of 0%
            cell |= {"linked": None, "linked_recorded": None}
        cell["linked_share"] = cell["linked"] / cell["linked_recorded"] if cell["linked_recorded"] else None
        if group != REFERENCE_GROUP and n and n_ref:
            d = proportion_changes(k, n, k_ref, n_ref)
            cell |= {"difference_pp": float(d.difference_pp), "interval_pp": [float(d.low_pp), float(d.high_pp)],
                     "verdict": {"significant rise": "higher than White", "significant fall": "lower than White"}
                     .get(str(d.verdict), "no significant difference from White")}
        out[group] = cell
    return out


def _change(now: dict, before: dict, groups: tuple[str, ...]) -> dict[str, dict | None]:
    """Each group's rate ratio now against the baseline's (same residents: the Census counts cancel)."""
    out = {}
    for group in groups:
        if group == REFERENCE_GROUP:
            continue
        r = ratio_of_ratios(now["officer"].get(group, 0), now["officer"].get(REFERENCE_GROUP, 0),
                            before["officer"].get(group, 0), before["officer"].get(REFERENCE_GROUP, 0))
        counts = (now["officer"].get(group, 0), now["officer"].get(REFERENCE_GROUP, 0),
                  before["officer"].get(group, 0), before["officer"].get(REFERENCE_GROUP, 0))
        out[group] = None if r is None else {
            "_counts": counts,  # the four counts it rests on: for disclosure, never published
            "ratio_of_ratios": r.ratio, "interval": [r.low, r.high], "p_value": r.p_value,
            "verdict": {"significant rise": "the gap widened", "significant fall": "the gap narrowed"}.get(
                r.verdict, "no significant change in the ratio")}
    return out


def fairness(engine: Engine, level: str, period: Period | str, baseline: str | None = None,
             within: Area | None = None, force: str | None = None) -> dict:
    """Disproportionality and the outcome test for every area of ``level`` (within an area) over ``period``."""
    g = engine.geography
    if not g.has(level):
        raise FairnessError(f"unknown level {level!r}; levels: {', '.join(g.ids)}")
    period = period if isinstance(period, (Period, Latest)) else engine.period(period)
    force = plan_force(engine, force)
    if isinstance(period, Latest):  # the latest months the force's searches are all located in
        covered = latest_complete_year(engine, force)
        period = engine.resolve_at(period, covered.end if covered else None)
    top = level == g.top
    base = engine.against(period, baseline)[0] if baseline else None
    head = {
        "level": level, "level_name": g.name(level), "level_plural": g.plural(level), "force": force,
        "within": within.to_dict() if within is not None else None,
        "period": period.label, "period_text": period.describe(),
        "baseline": base.label if base else None, "baseline_text": base.describe() if base else None,
        "baseline_status": None, "baseline_message": "",
        "status": "ok", "message": "", "groups": list(OFFICER_GROUPS), "self_groups": list(SELF_GROUPS),
        "reference_group": REFERENCE_GROUP, "method": METHOD, "outcome_caveat": OUTCOME_TEST_CAVEAT,
        "references": REFERENCES, "fdr_q": FDR_Q, "located": None, "unmapped": {}, "areas": [], "left_out": [],
        "files": [], "attribution": ATTRIBUTION, "latest_complete": None, "linked_message": "",
        "force_name": g.main_force_name if force == g.main_force and g.main_force_name else force,
    }
    status, message = _coverage(engine, force, period, not top)
    if status != "ok":
        latest = latest_complete_year(engine, force)
        return head | {"status": status, "message": message, "latest_complete": latest.label if latest else None}
    counts = _Counts(engine, level, period, force)
    unlinked = _unrecorded_months(engine, force, period, "outcome_linked_to_object_of_search")
    linked_message = (f"Whether the outcome was linked to the object of search: not recorded by the force for "
                      f"{months_text(unlinked)}" if unlinked else "")
    head["linked_message"] = linked_message
    before = None
    if base is not None:
        b_status, b_message = _coverage(engine, force, base, not top)
        head |= {"baseline_status": b_status, "baseline_message": b_message}
        if b_status == "ok":
            before = _Counts(engine, level, base, force)
    areas = engine.areas.level(level)  # every area of the level: the FDR family, whatever is shown
    other = {(o["level"], o["code"]): o["name"] for o in g.other_forces}
    rows, left_out = [], []
    for a in areas:
        around = {(x.level, x.code) for x in [a, *engine.areas.ancestors(a)]}
        policed_by = next((name for k, name in other.items() if k in around), None)
        residents = counts.residents.get(a.code)
        if policed_by is not None:
            left_out.append({"key": a.key, "code": a.code, "name": a.name,
                             "reason": f"policed by {policed_by}: {head['force_name']}'s searches do not cover it"})
            continue
        if not residents:
            left_out.append({"key": a.key, "code": a.code, "name": a.name,
                             "reason": "no Census 2021 residents by ethnic group for it"})
            continue
        c = counts.by_area.get(a.code, _empty())
        row = {"key": a.key, "code": a.code, "name": a.name, "searches": c["total"],
               "residents": sum(residents.values()),
               "not_stated": c["officer"].get(NOT_STATED, 0),
               "not_stated_share": c["officer"].get(NOT_STATED, 0) / c["total"] if c["total"] else None,
               "self_not_stated": c["self"].get(NOT_STATED, 0),
               "self_not_stated_share": c["self"].get(NOT_STATED, 0) / c["total"] if c["total"] else None,
               "officer": _ratios(c["officer"], residents, OFFICER_GROUPS),
               "self": _ratios(c["self"], residents, SELF_GROUPS),
               "outcomes": _outcomes(c, not linked_message), "change": None}
        if before is not None:
            row["change"] = _change(c, before.by_area.get(a.code, _empty()), OFFICER_GROUPS)
        row["_counts"] = c
        rows.append(row)
    if not top:  # many areas tested at once: control the false discoveries, group by group
        for kind, groups in (("officer", OFFICER_GROUPS), ("self", SELF_GROUPS)):
            for group in (x for x in groups if x != REFERENCE_GROUP):
                cells = [r[kind][group] for r in rows]
                fdr = benjamini_hochberg([c["p_value"] for c in cells], FDR_Q)
                for c, q, rejected in zip(cells, fdr.adjusted, fdr.rejected):
                    c["q_value"] = q
                    if c["p_value"] is not None and not rejected:
                        c["verdict"] = ("no significant difference from White" if c["p_value"] >= FDR_Q else
                                        f"no significant difference from White once allowing for {fdr.n_tests} "
                                        f"{g.plural(level)} tested at once")
        for group in (x for x in OFFICER_GROUPS if x != REFERENCE_GROUP):  # the changes too, group by group
            cells = [r["change"][group] for r in rows if r.get("change") and r["change"].get(group)]
            fdr = benjamini_hochberg([c["p_value"] for c in cells], FDR_Q)
            for c, q, rejected in zip(cells, fdr.adjusted, fdr.rejected):
                c["q_value"] = q
                if not rejected:
                    c["verdict"] = ("no significant change in the ratio" if c["p_value"] >= FDR_Q else
                                    f"no significant change in the ratio once allowing for {fdr.n_tests} "
                                    f"{g.plural(level)} tested at once")
    if within is not None:  # shown: the areas within, judged as one of the level's areas
        inside = {a.code for a in areas if within.code in {x.code for x in engine.areas.ancestors(a)}}
        rows = [r for r in rows if r["code"] in inside]
        left_out = [x for x in left_out if x["code"] in inside]
    files = engine.compiler.provenance(DATASET, [force], period.start, period.end)
    if before is not None:
        files += [f for f in engine.compiler.provenance(DATASET, [force], base.start, base.end) if f not in files]
    return head | {"areas": rows, "left_out": left_out, "located": _located(engine, force, period),
                   "unmapped": counts.unmapped, "files": files}


def _field_break(force: str, field: str, period: Period) -> str:
    """Why a breakdown by ``field`` cannot be given for ``period`` (a declared recoding inside it), or ''."""
    b = load_catalogue().dataset(DATASET).field_break(force, field)
    return f"not comparable within the period: {b.reason}" if b and period.start < b.start <= period.end else ""


CHART_MIN_AREAS = 20  # the force's own page charts the first level below it with this many areas


def area_fairness(engine: Engine, area: Area, period: Period | str, baseline: str | None = None,
                  force: str | None = None, table_of=None) -> dict:
    """One area's figures (as in :func:`fairness` of its level) with breakdowns by legislation and object of
    search, and, for the chart, every area of its level (the force's own page: of the first level below with
    at least :data:`CHART_MIN_AREAS` areas, London's boroughs).

    ``table_of(level)`` gives :func:`fairness` of a level for this period and baseline (a caller's cache).
    """
    g = engine.geography
    table_of = table_of or (lambda level: fairness(engine, level, period, baseline, force=force))
    table = table_of(area.level)
    out = {k: v for k, v in table.items() if k not in ("areas", "left_out")}
    row = next((r for r in table["areas"] if r["code"] == area.code), None)
    out |= {"area": area.to_dict(), "figures": row, "breakdowns": {}, "siblings": None,
            "trust_by_group": trust_gaps(engine, area)}
    if table["status"] == "ok" and row is None:
        reason = next((x["reason"] for x in table["left_out"] if x["code"] == area.code), "not in the table")
        out |= {"status": "not covered", "message": f"{area.name}: {reason}"}
    if row is not None:
        c = row["_counts"]
        residents = {grp: cell["residents"] for grp, cell in row["officer"].items()}
        period_ = engine.period(table["period"])
        for field, words in BREAKDOWNS.items():
            broken = _field_break(force or table["force"], field, period_)
            if broken:
                out["breakdowns"][field] = {"title": words, "rows": [], "message": broken}
                continue
            out["breakdowns"][field] = {
                "title": words, "message": "",
                "rows": [{"value": value, "searches": sum(cells.values()),
                          "officer": _ratios(cells, residents, OFFICER_GROUPS)}
                         for value, cells in sorted(c[field].items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))],
            }
    chart_level = area.level
    if area.level == g.top:
        chart_level = g.child(area.level)
        while chart_level is not None and len(engine.areas.level(chart_level)) < CHART_MIN_AREAS:
            chart_level = g.child(chart_level)
    if chart_level is not None and table["status"] == "ok":
        chart = table if chart_level == area.level else table_of(chart_level)
        out["siblings"] = {"level": chart_level, "level_plural": g.plural(chart_level),
                           "status": chart["status"], "message": chart["message"],
                           "areas": chart["areas"], "left_out": chart["left_out"]}
    return out


def strip_counts(table: dict) -> dict:
    """The table without its working counts (for publication)."""
    for r in table.get("areas", []):
        r.pop("_counts", None)
    for r in ((table.get("siblings") or {}).get("areas") or []):
        r.pop("_counts", None)
    if table.get("figures"):
        table["figures"].pop("_counts", None)
    return table



PAS_GROUPS = "mopac_pas_neighbourhood_ethnic_group"
PAS_REFERENCE = "White British"
PAS_CAVEAT = (
    "MOPAC's Public Attitude Survey by ethnic group, pooled over the financial years 2015-16 to 2020-21, for its "
    "neighbourhoods (groups of wards). MOPAC gives no sample sizes for the groups, so these gaps carry sampling "
    "error that cannot be measured: a gap of a few points may be noise, and none is judged. Empty cells are "
    "figures MOPAC withheld for small samples. A borough has no figure of its own here: its neighbourhoods are "
    "listed, never averaged (their samples are unknown)."
)


def trust_gaps(engine: Engine, area: Area) -> dict:
    """The PAS by ethnic group in the neighbourhoods within an area: each group's share giving the positive
    answer, and the Black and Asian respondents' gap to White British respondents, in percentage points."""
    boroughs = {a.code for a in engine.areas.level("borough")} if engine.geography.has("borough") else set()
    within = {area.code} if area.code in boroughs else {
        b.code for b in engine.areas.level("borough") if area.code in {x.code for x in engine.areas.ancestors(b)}
    } if boroughs else set()
    rows = engine.con.execute(
        """SELECT area_code, area_name, measure, respondent_group, proportion, period_start, period_end
           FROM survey_measure_current WHERE dataset = ? AND area_level = 'neighbourhood' AND list_contains(?, area_code)
           ORDER BY area_name, measure, respondent_group""", [PAS_GROUPS, sorted(within)]).fetchall()
    out = {"dataset": PAS_GROUPS, "reference_group": PAS_REFERENCE, "groups": ["Black", "Asian"], "caveat": PAS_CAVEAT,
           "period_text": None, "neighbourhoods": [], "summary": [],
           "files": engine.compiler.provenance(PAS_GROUPS, [], date.min, date.max) if rows else []}
    if not rows:
        return out
    out["period_text"] = f"{rows[0][5]:%B %Y} to {rows[0][6]:%B %Y}, pooled"
    by: dict[tuple, dict] = {}
    for code, name, question, group, p, *_ in rows:
        # Published in whole per cent and stored as proportions: back to the published figure exactly.
        by.setdefault((code, name), {}).setdefault(question, {})[group] = None if p is None else round(p * 100, 9)
    questions = sorted({q for qs in by.values() for q in qs})
    for (code, name), qs in by.items():
        cells = []
        for q in questions:
            shares = qs.get(q, {})
            ref = shares.get(PAS_REFERENCE)
            cells.append({"question": q, "shares": shares,
                          "gaps": {g: (shares[g] - ref if shares.get(g) is not None and ref is not None else None)
                                   for g in out["groups"]}})
        out["neighbourhoods"].append({"borough_code": code, "name": name, "questions": cells})
    for k, q in enumerate(questions):
        for g in out["groups"]:
            gaps = [n["questions"][k]["gaps"][g] for n in out["neighbourhoods"] if n["questions"][k]["gaps"][g] is not None]
            out["summary"].append({"question": q, "group": g, "neighbourhoods": len(gaps),
                                   "lower": sum(1 for x in gaps if x < 0), "higher": sum(1 for x in gaps if x > 0),
                                   "median_gap": float(np.median(gaps)) if gaps else None})
    out["questions"] = questions
    return out
