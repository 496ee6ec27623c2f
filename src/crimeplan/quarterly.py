"""The quarterly performance report of an area: what MOPAC, the Police and Crime Committee and a borough's
community safety partnership take to their meetings.

Composed only from the façade's answers (:class:`crimeplan.core.Crimeplan`), so every figure in it is the
figure the API, the dashboard and the scorecard give — small counts of people withheld as there:

    >>> from crimeplan.core import Crimeplan                                  # doctest: +SKIP
    >>> svc = Crimeplan.open("crimeplan.duckdb")                              # doctest: +SKIP
    >>> pack = performance_report(svc, "Hackney", "2025-Q4")                  # doctest: +SKIP
    >>> [p["title"] for p in pack["priorities"]][0]                           # doctest: +SKIP
    'Reducing and preventing violence'

A quarter stands for the 12 months to its end (the rolling year a quarterly pack reports), compared with the
12 months before and, beside it, the plan's baseline; with no quarter, the latest months each measure's
sources cover. The summary counts RAG statuses per priority, lists the measures whose change is significant,
the SPC signals raised in the quarter's months and the public claims checked about the area.
"""

from __future__ import annotations

from crimeplan import disclosure
from crimeplan.core import BadParameter, Crimeplan
from crimeplan.measures.periods import Latest, PeriodError, month_of, parse_any_period, parse_period
from crimeplan.present import Rag, Status, Verdict

METHODS = [
    ("Changes in counts", "the ratio of the two periods' rates with its exact 95% interval (conditional binomial); "
                          "harm by the delta method; shares of records by Newcombe's hybrid score interval"),
    ("Significance below London", "after Benjamini–Hochberg false-discovery-rate control (5%) across the areas of "
                                  "the level, as on the dashboard"),
    ("Incomplete data", "a period with a month missing, partial or not recorded is never compared: its figure is "
                        "shown without a change, or not at all"),
    ("SPC signals", "Western Electric rules on a Laney u′ chart of the last 36 months (daily rates, "
                    "overdispersion allowed for)"),
    ("Harm", "the Cambridge Crime Harm Index: each offence weighted by the days of imprisonment its starting "
             "sentence carries"),
]


def report_period(quarter: str | None) -> tuple[str, str | None]:
    """The period a report covers and its quarter ('2025-Q4' → the 12 months to December 2025); no quarter: the
    latest months. BadParameter for anything but a quarter."""
    try:
        q = parse_any_period(quarter or "latest")
    except PeriodError as exc:
        raise BadParameter(f"quarter {quarter!r}: {exc}") from None
    if isinstance(q, Latest) and q.kind == "latest":
        return "latest", None
    if isinstance(q, Latest) or q.kind != "quarter":
        raise BadParameter(f"quarter {quarter!r}: expected a quarter such as 2025-Q4")
    return f"rolling:{q.end:%Y-%m}", q.label


def performance_report(svc: Crimeplan, key: str, quarter: str | None = None) -> dict:
    """An area's report for ``quarter`` (or the latest months): the summary, one section per priority, and the
    sources and methods (the printed report adds the area page's Fairness, Victims and where-needed-most
    sections, :mod:`crimeplan.web.printed`)."""
    area = svc.area(key)
    period, quarter_label = report_period(quarter)
    period = svc.period(period)
    baseline = svc.baseline(period, "previous")
    card = svc.scorecard(area.key, period, baseline)
    rag_rows, significant, signals, priorities, seen = [], [], [], [], set()
    totals, counted = {r.value: 0 for r in Rag}, set()
    for p in card["priorities"]:
        counts = {r.value: 0 for r in Rag}
        measured = []
        for m in p["measures"]:
            if m["status"] == Status.NOT_AT_LEVEL:
                continue
            counts[m["rag"]] += 1
            measured.append(m)
            listed = m["id"] in seen  # a measure serving two priorities is listed once, under the first
            seen.add(m["id"])
            if m["status"] == Status.OK and m["verdict"] in (Verdict.RISE, Verdict.FALL) and not listed:
                significant.append({**m, "priority": p["title"]})
            if m["status"] == Status.OK and not listed:
                signals += _quarter_signals(svc, m, area.key)
        summary = next((x.summary for x in svc.plan.priorities if x.id == p["id"]), None)
        rag_rows.append({"id": p["id"], "title": p["title"], "counts": counts})
        for m in p["measures"]:  # all priorities: each measure once, though it serves two
            if m["status"] != Status.NOT_AT_LEVEL and m["id"] not in counted:
                counted.add(m["id"])
                totals[m["rag"]] += 1
        priorities.append({"id": p["id"], "title": p["title"], "summary": summary, "measures": measured,
                           "not_measured": [m["title"] for m in p["measures"] if m["status"] == Status.NOT_AT_LEVEL]})
    return {
        "plan": card["plan"], "area": card["area"], "period": card["period"], "period_text": card["period_text"],
        "quarter": quarter_label, "baseline": card["baseline"], "compared_with": card["compared_with"],
        "plan_baseline": svc.plan.default_baseline, "edition": svc.edition(),
        "summary": {"rag": rag_rows, "rag_all": totals, "significant": significant, "signals": signals,
                    "claims": _claims_about(svc, area)},
        "priorities": priorities,
        "sources": card["sources"], "methods": METHODS, "small_numbers": disclosure.rule_text(svc.plan),
        "attribution": card["attribution"],
    }


def _quarter_signals(svc: Crimeplan, m: dict, key: str) -> list[dict]:
    """The SPC signals the measure's headline source raised in the last three months of the period compared."""
    series = svc.series(m["id"], key, "month")
    head = m["source"]["dataset"] if m.get("source") else None
    end = parse_period(m["period"]).last
    months = {f"{month_of(end - k):%Y-%m}" for k in range(3)}
    out = []
    for s in series["sources"]:
        if s["dataset"] != head or not s.get("spc"):
            continue
        for sig in s["spc"].get("signals", []):
            if sig["period"] in months:
                out.append({"measure": m["id"], "title": m["title"], "source": s["label"], "month": sig["period"],
                            "side": sig["side"], "description": sig["description"]})
        break
    return out


def _claims_about(svc: Crimeplan, area) -> list[dict]:
    """The plan's shipped claims about the area or a place within it, as checked."""
    out = []
    for c in svc.shipped_claims().checks:
        where = svc.area(c["area"]["key"])
        if where.code == area.code or area.code in {x.code for x in svc.engine.areas.ancestors(where)}:
            out.append(c)
    return out


__all__ = ["METHODS", "performance_report", "report_period"]
