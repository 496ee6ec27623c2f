"""Page models: the engine's results turned into what the templates print.

Shared by the server (``app.py``) and the static site (``publish.py``), so both
render the same pages. Every number is formatted here, every link is built by
:class:`Links` (absolute paths when serving, relative paths in the static site,
so that it works from ``file://`` and from any static host); templates only loop
and print.
"""

from __future__ import annotations

import json
from datetime import date
from importlib import resources
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from crimeplan import OGL_ATTRIBUTION, OS_ATTRIBUTION, __version__
from crimeplan.claims import APPROXIMATE_POINTS, APPROXIMATE_RELATIVE
from crimeplan.present import (
    AIM_TEXT, MINUS, Rag, Status, gini_text, interval, number, persistence_text, rank_text, rate_text, ratio_text, share_text,
    signed, withheld_text, change_text, difference_text, fairness_headline, located_text, survey_gap_text,
    percent_text, time_to_outcome_text, FUNNEL_POSITION_TEXT, a_or_an, beside_text, measured, months_differ,
)
from crimeplan import disclosure
from crimeplan.errors import CrimeplanError
from crimeplan.measures.areas import Area
from crimeplan.measures.levels import survey_measures
from crimeplan.measures.periods import LATEST, is_previous, month_index, month_of, parse_period, periods_covering
from crimeplan.web import charts
from crimeplan.core import MAP_COLOURS, Crimeplan
from crimeplan.warehouse.coverage import RULE as COVERAGE_RULE

CCHI_REFERENCE = ("Harm weights: Sherman, Neyroud and Neyroud (2016), The Cambridge Crime Harm Index, "
                  "Policing 10(3).")
# RAG by icon and word as well as colour (colour-blind readers, screen readers, print): crimeplan.present.
RAG = {r.value: {"icon": r.icon, "word": r.word, "css": f"rag-{r.value}"} for r in Rag}
CLAIM_VERDICTS = {
    "supported": {"icon": "✓", "css": "claim-supported"},
    "approximately supported": {"icon": "≈", "css": "claim-approx"},
    "not supported": {"icon": "✗", "css": "claim-not"},
    "unverifiable": {"icon": "?", "css": "claim-unverifiable"},
}
# What each verdict means, for the legend of the claims page (the thresholds are the checker's own).
CLAIM_VERDICT_MEANINGS = {
    "supported": "the computed figure rounds to the stated one",
    "approximately supported": (f"within {APPROXIMATE_POINTS:g} points of a stated change or share, or "
                                f"{APPROXIMATE_RELATIVE:.0%} of a stated count"),
    "not supported": "further away",
    "unverifiable": "no loaded data gives the figure for that area and period (the check says which dataset would)",
}
PASTED_CLAIMS = "the claims you pasted"
# The measure a map is coloured by unless the reader picks another: the broadest with figures.
MAP_PREFERENCE = ("crime_harm", "total_recorded_crime", "burglary", "robbery")
SHADE_BASELINE = charts.OKABE_ITO["grey"]
SHADE_PERIOD = charts.OKABE_ITO["sky"]


# --- formatting -----------------------------------------------------------------------------------


def fmt_number(value: float | None, statistic: str | None = None) -> str:
    return number(value, statistic)


def fmt_signed(value: float | None, unit: str | None) -> str:
    """A change in a table: one decimal, a true minus, '%' or 'pp' (crimeplan.present.signed)."""
    return signed(value, unit or "%")


def fmt_interval(interval_: list | None, unit: str | None) -> str:
    return interval(*interval_, unit or "%") if interval_ else ""


def json_script(data) -> Markup:
    """JSON safe to place inside <script type="application/json">."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _month_start(label: str) -> str:
    """The first day of a series point's period: '2020-03' (a month) or '2020' (a year-only source's year)."""
    return f"{label}-01-01" if len(label) == 4 else f"{label}-01"


def _with_denominator(text: str, n: float | None, row: dict) -> str:
    """A share with its n ('36.2% of 1,204'); other figures (no denominator key in the row) as they are."""
    if "current_denominator" not in row:
        return text
    return f"{text} of {fmt_number(n)}" if n is not None else text


def _within(label: str, period) -> bool:
    """Whether a series point's month, or calendar year, lies inside ``period``."""
    first = month_index(date.fromisoformat(_month_start(label)))
    last = first + (11 if len(label) == 4 else 0)
    return period.first <= first and last <= period.last


# --- links ----------------------------------------------------------------------------------------


class Links:
    """Where pages are. Server: absolute paths keeping the chosen period; static: paths relative to the page."""

    def __init__(self, static: bool, london_key: str, depth: int = 0, query: dict | None = None) -> None:
        self.static = static
        self.london_key = london_key
        self.prefix = "../" * depth if static else "/"
        self.query = {k: v for k, v in (query or {}).items() if v}

    def _q(self, **extra) -> str:
        params = {**self.query, **{k: v for k, v in extra.items() if v}}
        return f"?{urlencode(params)}" if params else ""

    @property
    def home(self) -> str:
        return (self.prefix + "index.html") if self.static else "/" + self._q()

    def area(self, key: str) -> str | None:
        if self.static:
            return None if ":" in key else f"{self.prefix}area/{key}.html"
        return f"/area/{quote(key, safe=':')}{self._q()}"

    def measure(self, measure_id: str, area_key: str | None = None) -> str | None:
        london = area_key in (None, self.london_key)
        if self.static:
            return f"{self.prefix}measure/{measure_id}.html" if london else None
        return f"/measure/{measure_id}{self._q(area=None if london else area_key)}"

    def series_csv(self, measure_id: str, area_key: str) -> str | None:
        if self.static:
            return f"{self.prefix}measure/{measure_id}.csv" if area_key == self.london_key else None
        return f"/api/measures/{measure_id}/series.csv" + (f"?area={quote(area_key, safe=':')}" if area_key != self.london_key else "")

    def needs_csv(self, area_key: str, needs: dict) -> str:
        """The ranked list of an area's 'where needed most' section, as CSV."""
        if self.static:
            return f"{self.prefix}area/{area_key}-priorities.csv"
        p = needs["priorities"]
        query = {"period": p["period"], **({"baseline": self.query["baseline"]} if self.query.get("baseline") else {}),
                 **({"area": area_key} if p["within"] else {})}
        return f"/api/measures/{p['measure']}/priorities/{p['level']}.csv?{urlencode(query)}"

    def export(self, level: str, fmt: str) -> str:
        """Every area of a level × every measure (crimeplan export), for the chosen period (static: the default)."""
        if self.static:
            return f"{self.prefix}api/export/{level}.{fmt}"
        return f"/api/export/{level}.{fmt}{self._q()}"

    def report(self, area_key: str, fmt: str) -> str:
        """An area's performance report (crimeplan report): the static site carries it as HTML only."""
        if self.static:
            return f"{self.prefix}report/{area_key}.html"
        return f"/report/{quote(area_key, safe=':')}.{fmt}"

    def panel_json(self, panel_id: str, area_key: str) -> str:
        if self.static:
            return self.api_json(f"panels/{panel_id}/{area_key}")
        within = "" if area_key == self.london_key else f"&area={quote(area_key, safe=':')}"
        return f"/api/panels/{panel_id}?{urlencode(self.query)}{within}".replace("?&", "?").rstrip("?")

    def fairness_json(self, area_key: str) -> str:
        if self.static:
            return self.api_json(f"areas/{area_key}/fairness")
        return f"/api/areas/{quote(area_key, safe=':')}/fairness{self._q()}"

    def needs_json(self, area_key: str) -> str:
        if self.static:
            return self.api_json(f"areas/{area_key}/needs")
        return f"/api/areas/{quote(area_key, safe=':')}/needs{self._q()}"

    @property
    def claims(self) -> str:
        return self.prefix + "claims.html" if self.static else "/claims"

    @property
    def sources(self) -> str:
        return self.prefix + "sources.html" if self.static else "/sources"

    @property
    def forces(self) -> str:
        return self.prefix + "forces.html" if self.static else "/forces"

    def forces_json(self, query: dict | None = None) -> str:
        """The figures of the forces page: live for the choices made, or the static site's file (the default)."""
        if self.static:
            return self.api_json("forces")
        params = {k: v for k, v in (query or {}).items() if v}
        return "/api/forces" + (f"?{urlencode(params, doseq=True)}" if params else "")

    @property
    def outcome_funnel(self) -> str:
        return self.prefix + "forces-outcomes.html" if self.static else "/forces/outcomes"

    def outcome_funnel_json(self, query: dict | None = None) -> str:
        """The figures of the outcome funnel page: live for the choices made, or the static site's file."""
        if self.static:
            return self.api_json("outcomes/forces")
        params = {k: v for k, v in (query or {}).items() if v}
        return "/api/outcomes/forces" + (f"?{urlencode(params, doseq=True)}" if params else "")

    def outcome_areas_json(self, level: str, period: str, highlight: str) -> str:
        """The areas of a level on the outcome funnel: live (the area marked), or the static site's file."""
        if self.static:
            return self.api_json(f"outcomes/areas/{level}")
        return "/api/outcomes/areas?" + urlencode({"level": level, "period": period, "highlight": highlight})

    @property
    def search(self) -> str:
        return self.prefix + "search.html" if self.static else "/search"

    @property
    def api(self) -> str:
        return self.prefix + "api/index.html" if self.static else "/api"

    def hotspots_json(self, measure_id: str, level: str, period: str, baseline: str) -> str:
        """A measure's hot spots at a level: live for any period, or the static site's file (its default period)."""
        if self.static:
            return self.api_json(f"measures/{measure_id}/hotspots/{level}")
        return f"/api/measures/{measure_id}/hotspots/{level}?{urlencode({'period': period, 'baseline': baseline})}"

    def static_file(self, name: str) -> str:
        return f"{self.prefix}static/{name}"

    def api_json(self, path: str) -> str:
        """An API document: served live, or written beside the pages (``api/...json``)."""
        return f"{self.prefix}api/{path}.json" if self.static else f"/api/{path}"


# --- shared parts ---------------------------------------------------------------------------------


def _files(*lists: list[dict]) -> list[dict]:
    seen: dict[str, dict] = {}
    for files in lists:
        for f in files or []:
            seen.setdefault(f["name"], f)
    return [{"name": f["name"], "edition": f.get("edition"), "sha": (f.get("sha256") or "")[:12]}
            for f in sorted(seen.values(), key=lambda f: f["name"])]


def base_model(svc: Crimeplan, links: Links, title: str, files: list[dict], breadcrumbs: list[dict] | None = None) -> dict:
    """What every page carries: the data edition, the source files of its figures, the attributions."""
    edition = svc.edition()
    files_title = "Source files of the figures on this page"
    if not files:  # a page without figures of its own names the edition's files
        files, files_title = _files(edition["files"]), "Source files of this data edition"
    return {
        "files_title": files_title,
        "title": title,
        "site_title": svc.plan.title,
        "links": links,
        "static": links.static,
        "edition": {"label": edition["label"], "files": len(edition["files"]), "last_period": edition["last_period"]},
        "files": files,
        "attribution": [OGL_ATTRIBUTION, OS_ATTRIBUTION, CCHI_REFERENCE],
        "small_numbers": disclosure.rule_text(svc.plan),
        "version": __version__,
        "breadcrumbs": breadcrumbs or [],
        "charts": [],
        "london_href": links.area(links.london_key),
        "home": home_words(svc),
        "page": "",
    }


NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}


def home_words(svc: Crimeplan) -> dict:
    """The plan's area and its geography in words, for the navigation and headings (London, Merseyside)."""
    geography, areas = svc.geography, svc.engine.areas
    top = areas.top()
    child = geography.child(top.level)
    below = [lv for lv in geography.ids if lv != top.level and not geography.level(lv).alternative_to][:3]
    words = [geography.level(lv).word for lv in reversed(below)]  # finest first: ward, borough, Basic Command Unit
    within = [a for a in areas.level(below[-2] if len(below) > 1 else below[0]) if top in areas.ancestors(a)] if below else []
    n = len(svc.plan.priorities)
    return {
        "name": svc.plan.area_name,
        "map_label": f"{svc.plan.area_name} map",
        "by_child": f"by {geography.name(child)}" if child else "",
        "search_label": f"Find {a_or_an(words[0])} or {words[1]}" if len(words) > 1 else f"Find {a_or_an(words[0])}" if words else "Find",
        "search_title": ("Find " + a_or_an(words[0]) + "".join(f", {w}" for w in words[1:-1]) + (f" or {words[-1]}" if len(words) > 1 else "")
                         if words else "Find an area"),
        "search_example": within[0].name if within else "",
        "priorities": f"the {NUMBER_WORDS.get(n, str(n))} priorit{'y' if n == 1 else 'ies'}",
    }


def _tested(table: dict | None, default: int) -> int:
    """How many areas of a level table were tested (those with a p-value): what FDR control runs across."""
    if not table or not table.get("areas"):
        return default
    return sum(1 for r in table["areas"] if r.get("p_value") is not None) or default


def selectors(svc: Crimeplan, links: Links, period: str, baseline: str, action: str, hidden: dict | None = None) -> dict:
    """The period and baseline chooser: suggestions from the months the loaded data covers."""
    edition = svc.edition()
    p = svc.engine.period(period)
    _, comparison = svc.engine.against(p, baseline)
    if is_previous(baseline) and p.n_months == 12:
        comparison += f" and, beside it, the plan's baseline ({svc.plan.default_baseline})"
    options = []
    if edition["last_period"]:
        firsts = [c["first_period"] for c in edition["coverage"] if c["first_period"] >= "2010-01"]
        first = date.fromisoformat(min(firsts) + "-01") if firsts else date(2010, 1, 1)
        last = date.fromisoformat(edition["last_period"] + "-01")
        options = [q.label for q in periods_covering(first, last, ("year", "fy"))]
        options = sorted(set(options), key=lambda t: (parse_period(t).end, t), reverse=True)
        options.insert(0, f"rolling:{last:%Y-%m}")
    options = [*LATEST, *options]
    if period not in options:
        options.insert(0, period)
    baselines = [{"value": b.id, "label": b.label} for b in svc.plan.baselines]
    baselines += [{"value": "previous", "label": "the previous period" + (
                      ", with the plan's baseline beside" if period in LATEST else "")},
                  {"value": "year-earlier", "label": "the same period a year earlier"}]
    launch = svc.plan.launch_period
    launch_href = None
    if launch and not links.static and (period, baseline) != (launch, svc.plan.default_baseline):
        launch_href = f"{action}?{urlencode({**{k: v for k, v in (hidden or {}).items() if v}, 'period': launch, 'baseline': svc.plan.default_baseline})}"
    return {
        "launch": {"href": launch_href, "text": f"{parse_period(launch).describe()} against the baseline "
                                                 f"{svc.engine.against(parse_period(launch), None)[0].describe()}"}
        if launch_href else None,
        "action": action, "period": period, "baseline": baseline, "period_options": options,
        "baseline_options": baselines, "hidden": [{"name": k, "value": v} for k, v in (hidden or {}).items() if v],
        "period_text": p.describe(), "compared_with": comparison,
        "syntax": "latest, latest-quarter, latest-month, 2021, FY2021-22, 2021-06, 2021-Q2, rolling:2021-12, fytd:2021-10",
    }


def rag_model(rag: str) -> dict:
    return {"key": rag, **RAG[rag]}


def _shown(entry: dict, field: str, text: str) -> str:
    """A figure as formatted, or how it is shown when withheld (crimeplan.disclosure: '<10', 'withheld')."""
    return (entry.get("suppressed") or {}).get(field, text)


def measure_row(m: dict, links: Links, area_key: str, spark: dict | None) -> dict:
    """One measure of a scorecard as a table row."""
    ok = m["status"] == "ok"
    unit = m["change_unit"]
    if "interval" in (m.get("suppressed") or {}):
        interval = m["suppressed"]["interval"]
    elif m["interval"]:
        interval = ("approximate: " if m.get("interval_approximate") else "") + fmt_interval(m["interval"], unit)
    elif m["verdict"] == "samples overlap":
        interval = "no interval: the two estimates share interviews"
    elif m["verdict"] == "sample size unknown":
        interval = "no interval: the survey's sample size is not published"
    else:
        interval = ""
    source = m["source"]
    if source:
        source_label = source["label"]
    elif m["would_supply"]:
        source_label = "would come from: " + "; ".join(w["label"] or w["dataset"] for w in m["would_supply"])
    else:
        source_label = ""
    return {
        "id": m["id"], "title": m["title"], "href": links.measure(m["id"], area_key), "unit": m["unit"],
        "aim": AIM_TEXT[m["aim"]], "ok": ok, "status": m["status"],
        "current_only": m["status"] == Status.BASELINE_INCOMPLETE,  # the period's figure, its baseline unusable
        "status_text": status_text(m["status"], m["message"]),
        "current": m["current"],
        "current_text": _shown(m, "current", fmt_number(m["current"], m["statistic"])),
        "current_n": n_text(m["statistic"], source, "current"),
        "baseline": m["baseline_value"],
        "baseline_text": _shown(m, "baseline_value", fmt_number(m["baseline_value"], m["statistic"])),
        "baseline_n": n_text(m["statistic"], source, "baseline"),
        "change": m["change"], "change_text": _shown(m, "change", fmt_signed(m["change"], unit) if ok else "—"),
        "interval_text": interval, "verdict": m["verdict"] or m["status"], "rag": rag_model(m["rag"]),
        "plain": m["plain"], "source_label": source_label,
        "alternatives": [
            {"label": a["label"], "current_text": _shown(a, "current", fmt_number(a["current"], m["statistic"])),
             "current_n": n_text(m["statistic"], a, "current"),
             "change_text": _shown(a, "change", fmt_signed(a["change"], a["change_unit"])),
             "verdict": a["verdict"] or a["status"], "plain": _shown(a, "plain", a["plain"] or a["message"])}
            for a in m["alternatives"]
        ],
        "spark": spark,
        "months_text": m["period_text"] if measured(m) else "",
        "beside_text": beside_text(m),
    }


def n_text(statistic: str, figure: dict | None, which: str) -> str:
    """A share's denominator (and, for outcomes, the crimes its records belong to): no share without its n."""
    if statistic != "proportion" or not figure or figure.get(which) is None:
        return ""
    n, crimes = figure.get(f"{which}_denominator"), figure.get(f"{which}_crimes")
    if n is None:
        return "n not published"
    return f"n = {n:,.0f}" + (f" records for {crimes:,.0f} crimes" if crimes is not None else "")


def status_text(status: str, message: str) -> str:
    """'no data loaded: mps_… would supply it', without saying the status twice."""
    if not message:
        return status
    return message if message.startswith(status) else f"{status}: {message}"


def measure_spark(svc: Crimeplan, measure_id: str, level: str, code: str, period: str, baseline: str) -> dict | None:
    t = svc.trajectories(measure_id, level, period, baseline)
    values = t["values"].get(code)
    if not values:
        return None
    line = charts.sparkline(values, t["in_period"], t["in_baseline"])
    if line is None:
        return None
    line["label"] = (f"{t['source']}: monthly values {t['months'][0]} to {t['months'][-1]}; "
                     "baseline months in grey, the current period in blue")
    return line


def scorecard_section(svc: Crimeplan, links: Links, area: Area, period: str, baseline: str) -> dict:
    """The plan's measures for an area, by priority, with sparklines and a RAG tally."""
    card = svc.scorecard(area.key, period, baseline)
    priorities = []
    tally = {k: 0 for k in RAG}
    for p in card["priorities"]:
        rows, unmeasured = [], []
        for m in p["measures"]:
            if m["status"] == "not available at this level":
                unmeasured.append({"id": m["id"], "title": m["title"], "href": links.measure(m["id"], links.london_key)})
                continue
            spark = measure_spark(svc, m["id"], area.level, area.code, period, baseline) if m["status"] == "ok" else None
            rows.append(measure_row(m, links, area.key, spark))
            tally[m["rag"]] += 1
        summary = next((x.summary for x in svc.plan.priorities if x.id == p["id"]), None)
        priorities.append({"id": p["id"], "title": p["title"], "summary": summary, "rows": rows,
                           "unmeasured": unmeasured})
    return {
        "card": card, "priorities": priorities, "period_text": card["period_text"],
        "each_months": months_differ(card), "baseline_heading": "Before" if card["period"] in LATEST else "Baseline",
        "compared_with": card["compared_with"], "level_plural": svc.geography.plural(area.level),
        "tally": [{"count": tally[k], **rag_model(k)} for k in RAG],
        "hint": period_hint(svc, links, card, area),
    }


def period_hint(svc: Crimeplan, links: Links, card: dict, area: Area) -> dict | None:
    """When measures lack figures for the period chosen, the latest year the missing data does cover."""
    if links.static:
        return None
    gaps: dict[str, int] = {}
    for p in card["priorities"]:
        for m in p["measures"]:
            if m["status"] in ("no data for this period", "incomplete data"):
                for a in m["alternatives"]:
                    gaps[a["dataset"]] = gaps.get(a["dataset"], 0) + 1
    if not gaps:
        return None
    coverage = {c["dataset"]: c for c in svc.edition()["coverage"]}
    dataset = max(gaps, key=lambda d: gaps[d])
    c = coverage.get(dataset)
    if c is None:
        return None
    first, last = parse_period(c["first_period"]), parse_period(c["last_period"])
    if last.first - first.first + 1 < 24:
        return None
    period = f"rolling:{c['last_period']}"
    hint_links = Links(False, links.london_key, query={"period": period, "baseline": "year-earlier"})
    return {"count": gaps[dataset], "dataset": dataset, "first": c["first_period"], "last": c["last_period"],
            "text": f"the 12 months to {parse_period(c['last_period']).describe()} compared with the year before",
            "href": hint_links.area(area.key)}


# --- maps -----------------------------------------------------------------------------------------


# Hot-spot classes in words, icons and an Okabe–Ito pair (vermillion / blue) with a pale grey between.
HOTSPOT_CLASSES = {
    "hot spot": {"icon": "▲", "colour": charts.OKABE_ITO["vermillion"], "css": "hs-hot"},
    "cold spot": {"icon": "▼", "colour": charts.OKABE_ITO["blue"], "css": "hs-cold"},
    "not significant": {"icon": "○", "colour": "#f0f0f0", "css": "hs-none"},
    "not tested": {"icon": "–", "colour": charts.NO_DATA, "css": "hs-untested"},
}


def map_section(svc: Crimeplan, links: Links, area: Area, period: str, baseline: str, measure_id: str | None = None,
                colour: str | None = None, hidden: dict | None = None, wards: str | None = None) -> dict | None:
    """A choropleth of the level below ``area`` (for a ward: the wards around it), with a list of the areas.

    A borough's wards are the 2022 set unless ``wards='2014'`` asks for the 2014 boundaries.
    """
    geography = svc.geography
    level = geography.child(area.level)
    highlight = None
    alternative = geography.boundary_sets.get(wards or "")
    if level is not None and alternative is not None and geography.level(alternative).alternative_to == level:
        level = alternative  # another boundary set of the same level, on request (the 2014 wards)
        collection = svc.geojson(level, area.code)
        title = f"{geography.level(level).word.capitalize()}s in {area.name} ({wards} boundaries)"
    elif level is not None:
        collection = svc.children_geojson(area.key)
        title = f"{geography.plural(level).capitalize()} in {area.name}"
    elif area.parent_code and geography.level(area.level).parent is not None:
        level = area.level
        collection = svc.geojson(level, area.parent_code)
        highlight = area.code
        title = f"{area.name} (outlined) among the {geography.plural(level)} of {area.parent_name}"
    else:
        return None
    no_boundaries = ""
    if not collection["features"]:
        # No boundaries loaded (a force's geography derived from data.police.uk): the areas, listed, no map.
        members = (svc.engine.areas.children(area) if level == geography.child(area.level)
                   else [a for a in svc.engine.areas.level(level) if a.parent_code == area.parent_code])
        if not members:
            return None
        collection = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": a.code, "geometry": None, "properties": {"code": a.code, "name": a.name}}
            for a in members]}
        no_boundaries = (f"No boundaries are loaded for {geography.plural(level)}, so there is no map: "
                         "the figures are in the table.")
        colour = None if colour == "hotspots" else colour
    candidates = [m for m in svc.plan.measures if level in m.levels]
    table = None
    if measure_id is not None and any(m.id == measure_id for m in candidates):
        table = svc.levels(measure_id, level, period, baseline)
    else:
        ordered = sorted(candidates, key=lambda m: MAP_PREFERENCE.index(m.id) if m.id in MAP_PREFERENCE else len(MAP_PREFERENCE))
        for m in ordered:
            table = svc.levels(m.id, level, period, baseline)
            if table["status"] == "ok":
                break
    areas = {a.code: a for a in svc.engine.areas.level(level)}
    codes = [f["id"] for f in collection["features"]]
    keys = {c: areas[c].key if c in areas else c for c in codes}
    hrefs = {c: links.area(keys[c]) for c in codes}
    rows: dict[str, dict] = {}
    unit = None
    if table is not None:
        measure = svc.measure(table["measure"])
        unit = table["change_unit"]
        for r in table["areas"]:
            if r["code"] not in hrefs:
                continue
            change = _shown(r, "change", fmt_signed(r["change"], unit))
            current_text = _shown(r, "current", _with_denominator(fmt_number(r["current"], measure.statistic),
                                                                  r.get("current_denominator"), r))
            baseline_text = _shown(r, "baseline_value", _with_denominator(fmt_number(r["baseline_value"],
                                                                                     measure.statistic),
                                                                          r.get("baseline_denominator"), r))
            hover = (f"<b>{r['name']}</b><br>{table['title']}: {current_text}"
                     f" (baseline {baseline_text})<br>change {change}"
                     f"<br>{RAG[r['rag']]['icon']} {r['verdict'] or 'no comparison'}")
            rows[r["code"]] = {**r, "hover": hover, "current_text": current_text,
                               "baseline_text": baseline_text,
                               "change_text": change,
                               "interval_text": _shown(r, "interval", fmt_interval(r["interval"], unit)),
                               "rag_model": rag_model(r["rag"])}
    has_change = any(r.get("change") is not None for r in rows.values())
    hotspot_levels = geography.hotspot_levels
    colours = [k for k in MAP_COLOURS if k != "hotspots" or level in hotspot_levels]
    unavailable = ""
    if colour == "hotspots" and (level not in hotspot_levels or table is None):
        unavailable = (f"Hot spots are computed for {', '.join(geography.plural(lv) for lv in hotspot_levels)}, not for "
                       f"{geography.plural(level)}: Gi* compares each area with its neighbours and needs many areas.")
        colour = None
    colour = colour if colour in colours else ("change" if has_change else "current")
    if table is not None:
        colour_title = (f"change ({'pp' if unit == 'pp' else '%'})" if colour == "change"
                        else svc.measure(table["measure"]).unit)
    else:
        colour_title = ""
    spots = None
    if no_boundaries:
        figure = None
    elif colour == "hotspots":
        found = svc.hotspots(table["measure"], level, period, baseline)
        spots = hotspot_rows(found, {f["id"]: f["properties"]["name"] for f in collection["features"]},
                             geography.plural(level))
        figure = charts.category_choropleth(
            collection, spots["rows"], hrefs,
            [{"key": k, "label": k, "colour": HOTSPOT_CLASSES[k]["colour"]}
             for k in ("cold spot", "not significant", "hot spot")],
            "Gi* (FDR 5%)", highlight)
    else:
        figure = charts.choropleth(collection, rows, hrefs, colour, colour_title, highlight)
    listing = []
    for f in sorted(collection["features"], key=lambda f: f["properties"]["name"]):
        c = f["id"]
        r = rows.get(c)
        item = {
            "code": c, "key": keys[c], "name": f["properties"]["name"], "href": hrefs[c], "current": c == highlight,
            "value": r["current"] if r else None, "current_text": r["current_text"] if r else "—",
            "baseline_text": r["baseline_text"] if r else "—", "change_text": r["change_text"] if r else "—",
            "interval_text": r["interval_text"] if r else "", "verdict": (r["verdict"] or "no comparison") if r else "no figure",
            "rag": r["rag_model"] if r else rag_model("grey"),
        }
        if spots is not None:
            item.update(spots["rows"][c])
        listing.append(item)
    model = {
        "title": title, "level_name": geography.name(level), "no_boundaries": no_boundaries,
        "figure": json_script(figure) if figure is not None else None,
        "figure_id": "map-figure", "measure": table["measure"] if table else None,
        "measure_title": table["title"] if table else None, "status": table["status"] if table else None,
        "message": status_text(table["status"], table["message"]) if table else "", "colour": colour,
        "controls": True,
        "ward_sets": ([{"value": k, "label": f"{k} boundaries", "selected": v == level}
                       for k, v in geography.boundary_sets.items()]
                      if geography.child(area.level) in geography.boundary_sets.values() else []),
        "colour_options": [{"value": k, "label": MAP_COLOURS[k], "selected": k == colour} for k in colours],
        "colour_text": ({"change": f"change against {table['compared_with']}", "current": "value now",
                         "hotspots": "hot spots, Getis–Ord Gi*"}[colour]
                        + f"; {table['period_text']}") if table else "",
        "baseline_heading": "Before" if table and is_previous(baseline) else "Baseline",
        "unavailable": unavailable,
        "hidden": [{"name": k, "value": v} for k, v in (hidden or {}).items() if v],
        "source": table["source"]["label"] if table and table["source"] else None,
        "files": table["source"]["files"] if table and table["source"] else [],
        "options": [{"value": m.id, "label": m.title} for m in candidates],
        "areas": listing, "hotspots": None,
        "note": (f"Below {svc.plan.area_name}, a change counts as significant only after false-discovery-rate control "
                 f"across all {_tested(table, len(areas))} {geography.plural(level)} with figures."),
    }
    if spots is not None:
        legend = [{**HOTSPOT_CLASSES[k], "label": k, "count": sum(1 for a in listing if a["hs"]["label"] == k)}
                  for k in HOTSPOT_CLASSES]
        model.update(
            hotspots={**spots["summary"], "legend": legend,
                      "legend_title": f"The {len(listing)} {geography.plural(level)} on this map:",
                      "api_href": links.hotspots_json(table["measure"], level, period, baseline)},
            source=spots["summary"]["source"], files=spots["files"], note=spots["summary"]["note"],
        )
    return model


def hotspot_rows(found: dict, names: dict[str, str], level_plural: str) -> dict:
    """Hot-spot results (``Crimeplan.hotspots``) as rows for the areas on the map (``names``: code → name) and words.

    Each row holds what the map colours (``category``, ``hover``) and the table prints; an
    area left out of the analysis gets the reason instead. The analysis itself ran over the
    whole level, not only the areas shown.
    """
    unit = (found["value"] or {}).get("unit", "")
    statistic = "proportion" if found["statistic"] == "proportion" else None
    tested = {a["code"]: a for a in found["areas"]}
    left_out = {a["code"]: a for a in found["left_out"]}
    rows = {}
    for code, name in names.items():
        a = tested.get(code)
        if a is None:
            other = left_out.get(code)
            reason = other["reason"] if other else (found["message"] or "no figure")
            rows[code] = {"category": None, "hs": {**HOTSPOT_CLASSES["not tested"], "label": "not tested"},
                          "hs_value_text": "—", "z_text": "—", "q_text": "—", "hs_note": reason,
                          "hover": f"<b>{name}</b><br>not tested: {reason}"}
            continue
        cls = HOTSPOT_CLASSES[a["classification"]]
        value_text = _shown(a, "value", fmt_number(a["value"], statistic) if statistic else _fmt_rate(a["value"]))
        z_text = "—" if a["z"] is None else f"{a['z']:+.2f}".replace("-", MINUS)
        q_text = _fmt_p(a["q"])
        rows[code] = {
            "category": a["classification"],
            "hs": {**cls, "label": a["classification"]}, "hs_value_text": value_text, "z_text": z_text,
            "q_text": q_text, "hs_note": a["note"] or "",
            "hover": (f"<b>{a['name']}</b><br>{found['title']}: {value_text} {unit}<br>Gi* z = {z_text}, q = {q_text}"
                      f"<br>{cls['icon']} {a['classification']}"),
        }
    if found["status"] == "ok":
        summary = (f"Getis–Ord Gi* over all {found['areas_in_analysis']:,} {level_plural} with a value "
                   f"({found['value']['unit']}, {found['period_text']}): {found['hot_spots']} hot spots and "
                   f"{found['cold_spots']} cold spots among the {found['areas_tested']:,} tested, after "
                   "false-discovery-rate control at 5%.")
    else:
        summary = status_text(found["status"], found["message"])
    return {
        "rows": rows, "files": (found["source"] or {}).get("files", []),
        "summary": {
            "text": summary, "note": found["note"], "value": (found["value"] or {}).get("definition", ""),
            "unit": unit, "left_out": len(found["left_out"]), "notes": found["notes"],
            "references": found["method"]["references"],
            "method": f"{found['method']['weights']}; p-values {found['method']['p_value']}; "
                      f"{found['method']['multiple_testing']}.",
            "source": (found["source"] or {}).get("label"),
        },
    }


def _fmt_rate(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"


def _fmt_p(value: float | None) -> str:
    if value is None:
        return "—"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


# --- crime mix, harm and trust --------------------------------------------------------------------


def crime_mix_section(svc: Crimeplan, area: Area, period: str, baseline: str) -> dict:
    mix = svc.crime_mix(area.key, period)
    card = svc.scorecard(area.key, period, baseline)
    harm_rows = [m for p in card["priorities"] for m in p["measures"] if m["statistic"] == "harm"]
    harm = [{"title": m["title"], "unit": m["unit"], "current_text": fmt_number(m["current"]),
             "change_text": fmt_signed(m["change"], m["change_unit"]) if m["status"] == "ok" else "—",
             "plain": m["plain"], "rag": rag_model(m["rag"])} for m in harm_rows[:1]]
    if not mix["categories"]:
        return {"available": False, "note": mix["note"], "harm": harm, "files": []}
    majors = [{
        "major": m["major"], "count_text": fmt_number(m["count"]), "share_text": f"{m['share_pct']:.1f}%",
        "harm_share_text": f"{m['harm_share_pct']:.1f}%" if m["harm_share_pct"] is not None else "—",
    } for m in mix["majors"]]
    categories = [{
        "major": c["major"], "category": c["category"], "count_text": fmt_number(c["count"]),
        "share_text": f"{c['share_pct']:.1f}%", "weight_text": fmt_number(c["weight_days"]),
        "harm_share_text": f"{c['harm_share_pct']:.1f}%" if c["harm_share_pct"] is not None else "—",
    } for c in mix["categories"]]
    return {
        "available": True, "period_text": mix["period_text"], "fallback": mix["period"] != mix["requested_period"],
        "total_text": fmt_number(mix["total"]), "harm_total_text": fmt_number(mix["harm_days"]),
        "majors": majors, "categories": categories, "note": mix["note"], "dataset": mix["dataset"],
        "figure": json_script(charts.mix_chart(mix["majors"])), "figure_id": "mix-figure",
        "files": mix["files"], "harm": harm,
    }


def trust_section(svc: Crimeplan, links: Links, area: Area, period: str, baseline: str) -> dict | None:
    """Trust and confidence (the survey's measures): the borough's own figures, or its boroughs' for a BCU."""
    survey = survey_measures(svc.plan)
    if not survey:
        return None
    survey_levels = {lv for m in survey for lv in m.levels}
    child = svc.geography.child(area.level)
    if area.level not in survey_levels and child in survey_levels:  # a BCU: its boroughs' figures
        tables = [svc.levels(m.id, child, period, baseline) for m in survey]
        boroughs = [a for a in svc.engine.areas.children(area)]
        rows = []
        for b in boroughs:
            cells = []
            for t in tables:
                r = next((x for x in t["areas"] if x["code"] == b.code), None)
                cells.append({"current_text": fmt_number(r["current"], "proportion") if r else "—",
                              "change_text": fmt_signed(r["change"], t["change_unit"]) if r else "—"})
            rows.append({"name": b.name, "href": links.area(b.key), "cells": cells})
        return {"kind": "grid", "columns": [m.title for m in survey], "rows": rows,
                "note": (f"The survey is published for {', '.join(svc.geography.plural(lv) for lv in sorted(survey_levels))}, "
                         f"not for {svc.geography.plural(area.level)}: the {svc.geography.plural(child)} of {area.name}."),
                "files": [f for t in tables if t["source"] for f in t["source"]["files"]]}
    about = area
    note = ""
    if area.level not in survey_levels:  # the nearest area above that the survey is published for
        about = next((a for a in reversed(svc.engine.areas.ancestors(area)) if a.level in survey_levels), None)
        if about is None:
            return None
        note = (f"The survey is published for {svc.geography.plural(about.level)}, not "
                f"{svc.geography.plural(area.level)}: the figures are {about.name}'s.")
    card = svc.scorecard(about.key, period, baseline)
    ids = {m.id for m in survey}
    chosen = [m for p in card["priorities"] for m in p["measures"] if m["id"] in ids]
    rows = [measure_row(m, links, about.key, None) for m in chosen]
    return {"kind": "rows", "about": about.name, "about_href": links.area(about.key), "rows": rows, "note": note,
            "files": [f for m in chosen if m["source"] for f in m["source"]["files"]]}


def panel_sections(svc: Crimeplan, links: Links, area: Area, period: str, baseline: str) -> list[dict]:
    """The plan's panels (county lines proxies by borough) for the areas below this one."""
    out = []
    for panel_id in svc.panels_for(area.key):
        data = svc.panel(panel_id, period, baseline, None if area.level == svc.geography.top else area.key)
        columns = [{"title": m["title"], "unit": m["unit"], "ok": m["status"] == "ok",
                    "status": status_text(m["status"], m["message"])} for m in data["measures"]]
        rows = [{"name": r["name"], "href": links.area(r["key"]),
                 "cells": [{"current_text": _shown(c, "current", fmt_number(c["current"])),
                            "rate_text": rate_text(c["per_1000"]) if c["per_1000"] is not None else "",
                            "change_text": fmt_signed(c["change"], m["change_unit"]) if c["change"] is not None else "",
                            "rag": rag_model(c["rag"]), "verdict": c["verdict"] or "",
                            "no_change": (c["change"] is None and c["current"] is not None
                                          and "change" not in (c.get("suppressed") or {}))}
                           for c, m in zip(r["cells"], data["measures"])]} for r in data["areas"]]
        out.append({"id": panel_id, "title": data["title"], "caveat": data["caveat"], "columns": columns,
                    "period_text": data["period_text"], "compared_with": data["compared_with"],
                    "rows": rows, "level_plural": svc.geography.plural(data["level"]),
                    "json_href": links.panel_json(panel_id, area.key),
                    "files": [f for m in data["measures"] for f in m["files"]]})
    return out


def needs_section(svc: Crimeplan, links: Links, area: Area, period: str, baseline: str) -> dict | None:
    """Where needed most (ward officers, Town Centre Teams): the top areas by harm per resident with rank
    intervals and persistence, and how concentrated the harm is, for an area whose level ranks its areas."""
    needs = svc.needs(area.key, period, baseline)
    if needs is None:
        return None
    ranked, conc = needs["priorities"], needs["concentration"]
    model = {"ok": ranked["status"] == "ok", "status": status_text(ranked["status"], ranked["message"]),
             "note": needs["note"], "title": ranked["title"], "plural": ranked["level_plural"],
             "word": svc.geography.level(needs["level"]).word,
             "period_text": ranked["period_text"], "csv_href": links.needs_csv(area.key, needs),
             "json_href": links.needs_json(area.key), "figure": None, "figure_id": "concentration-figure",
             "files": ranked["source"]["files"] if ranked["source"] else []}
    if not model["ok"]:
        return model
    top = ranked["top"]
    unit = f"{ranked['unit']} per 1,000 residents" if ranked["by"] == "rate" else ranked["unit"]
    shown = [a for a in ranked["areas"] if a["could_be_top"]]
    model.update(
        top=top, unit=unit, unit_heading=unit[:1].upper() + unit[1:], ranked=ranked["areas_ranked"], left_out=len(ranked["left_out"]),
        rows=[{"rank_text": rank_text(a["rank"], a["rank_low"], a["rank_high"]), "name": a["name"],
               "href": links.area(a["key"]), "value_text": fmt_number(a["value"]), "total_text": fmt_number(a["total"]),
               "standing": a["standing"], "sure": a["rank_high"] <= top, "hotspot": a["hotspot"] or "not computed",
               "p_top_text": f"{a['p_top'] * 100:.0f}%"} for a in shown],
        top_share_text=share_text(ranked["top_share"]["corrected"], ranked["top_share"]["interval"]),
        persistence=[persistence_text(r, ranked["level_plural"]) for r in ranked["persistence"]],
        stay=[{"name": a["name"], "href": links.area(a["key"])} for a in ranked["stay_on_top"]],
        method=ranked["method"], hotspots_note=ranked["hotspots"],
    )
    if conc["status"] == "ok":
        model["concentration"] = {
            "rows": [{"label": f"top {t['fraction'] * 100:g}% ({t['areas']:,} "
                               f"{svc.geography.level(needs['level']).word if t['areas'] == 1 else ranked['level_plural']})",
                      "share_text": share_text(t["corrected"], t["interval"]), "observed_text": share_text(t["share"]),
                      "chance_text": share_text(t["chance"])} for t in conc["top"]],
            "gini_text": gini_text(conc["gini"]["corrected"], conc["gini"]["interval"]),
            "gini_chance_text": gini_text(conc["gini"]["chance"]), "method": conc["method"],
        }
        model["figure"] = json_script(charts.concentration_chart(conc["curve"], ranked["unit"], ranked["level_plural"]))
    return model


def _ratio_cell(c: dict) -> dict:
    """A group's figures as the Fairness tables print them ('<10' / 'withheld' where small numbers withhold them)."""
    return {"residents_text": fmt_number(c["residents"]),
            "searches_text": withheld_text(c, "searches", fmt_number),
            "rate_text": withheld_text(c, "per_1000", rate_text),
            "ratio_text": (ratio_text(c["ratio"], c["interval"]) if c.get("ratio") is not None
                           else withheld_text(c, "ratio", lambda v: "")),
            "verdict": c.get("verdict") or ""}


def _pp(value: float | None) -> str:
    return "withheld by MOPAC" if value is None else f"{value:.0f}%"


def _trust_by_group(gaps: dict | None) -> dict | None:
    """The PAS by ethnic group in an area's neighbourhoods: each group's share and its gap to White British."""
    if not gaps or not gaps["neighbourhoods"]:
        return None
    rows = []
    for n in gaps["neighbourhoods"]:
        for k, q in enumerate(n["questions"]):
            rows.append({"neighbourhood": n["name"] if k == 0 else "", "question": q["question"],
                         "reference": _pp(q["shares"].get(gaps["reference_group"])),
                         "groups": [{"share": _pp(q["shares"].get(g)),
                                     "gap": survey_gap_text(q["gaps"][g])}
                                    for g in gaps["groups"]]})
    summary = [{**x, "median_text": survey_gap_text(x["median_gap"])} for x in gaps["summary"]]
    return {"rows": rows, "groups": gaps["groups"], "reference": gaps["reference_group"], "summary": summary,
            "period_text": gaps["period_text"], "caveat": gaps["caveat"], "count": len(gaps["neighbourhoods"]),
            "files": gaps["files"]}


def fairness_section(svc: Crimeplan, links: Links, area: Area, period: str, baseline: str) -> dict | None:
    """Fairness of stop and search (the plan's second priority): searches per resident of each ethnic group
    against White residents, the outcome test, the breakdowns, and every area of the level on a chart and map."""
    if not svc.fairness_covered():
        return None
    data = svc.fairness(area.key, period, baseline)
    model = {"ok": data["status"] == "ok", "status": status_text(data["status"], data["message"]),
             "note": data["note"], "period_text": data["period_text"], "force": data["force_name"],
             "json_href": links.fairness_json(area.key), "files": data["files"], "method": data["method"],
             "outcome_caveat": data["outcome_caveat"], "small_numbers": data.get("small_numbers", ""),
             "references": data["references"], "figure": None, "figure_id": "fairness-figure",
             "map_figure": None, "map_figure_id": "fairness-map-figure",
             "trust": _trust_by_group(data.get("trust_by_group"))}
    if not model["ok"]:
        return model
    f = data["figures"]
    black, white = f["officer"]["Black"], f["officer"][data["reference_group"]]
    model.update(
        groups=[{"group": g, **_ratio_cell(f["officer"][g])} for g in data["groups"]],
        self_groups=[{"group": g, **_ratio_cell(f["self"][g])} for g in data["self_groups"]],
        searches_text=withheld_text(f, "searches", fmt_number),
        not_stated_text=("withheld (small numbers)" if f["not_stated_share"] is None
                         else f"{f['not_stated_share'] * 100:.1f}%"),
        self_not_stated_text=("withheld (small numbers)" if f["self_not_stated_share"] is None
                              else f"{f['self_not_stated_share'] * 100:.1f}%"),
        located_text=located_text(data["located"], data["force_name"]),
        top=area.level == svc.geography.top,
        headline=fairness_headline(black, white),
        outcomes=[{"group": g, "searches_text": withheld_text(o, "searches", fmt_number),
                   "arrests_text": withheld_text(o, "arrests", fmt_number),
                   "share_text": share_text(o["share"]) if o["share"] is not None else "withheld",
                   "difference_text": difference_text(o["difference_pp"], o["interval_pp"]),
                   "verdict": o["verdict"] or ""}
                  for g, o in f["outcomes"].items()],
        linked_message=data["linked_message"],
        changes=[{"group": g, "text": change_text(c)} for g, c in (f.get("change") or {}).items()],
        baseline_text=data["baseline_text"],
        baseline_status=(status_text(data["baseline_status"], data["baseline_message"])
                         if data.get("baseline_status") not in (None, "ok") else ""),
        breakdowns=[{"title": b["title"], "message": b.get("message", ""),
                     "rows": [{"value": r["value"], "searches_text": withheld_text(r, "searches", fmt_number),
                               "black": _ratio_cell(r["officer"]["Black"])} for r in b["rows"]]}
                    for b in data["breakdowns"].values()],
    )
    sib = data.get("siblings")
    if sib and sib["status"] == "ok":
        plural = sib["level_plural"]
        rows = []
        for r in sorted(sib["areas"], key=lambda r: -(r["officer"]["Black"].get("ratio") or 0)):
            c = r["officer"]["Black"]
            rows.append({"name": r["name"], "code": r["code"], "href": links.area(r["key"]), **_ratio_cell(c),
                         "ratio": c.get("ratio"), "low": (c.get("interval") or [None])[0],
                         "high": (c.get("interval") or [None, None])[1], "highlighted": r["code"] == area.code})
        drawn = [r for r in rows if r["ratio"] is not None]
        model["siblings"] = {"plural": plural, "word": svc.geography.level(sib["level"]).word, "rows": rows,
                             "left_out": sib["left_out"]}
        if drawn:
            model["figure"] = json_script(charts.ratio_chart(drawn, "Black/White search rate ratio (log scale)"))
            collection = svc.geojson(sib["level"], None)
            if collection["features"]:
                hover = {r["code"]: {"current": r["ratio"], "hover": f"{r['name']}: {r['ratio_text']}"}
                         for r in drawn}
                model["map_figure"] = json_script(charts.choropleth(
                    collection, hover, {r["code"]: r["href"] for r in rows}, "current", "Black/White ratio",
                    area.code if area.level == sib["level"] else None))
    return model


# --- pages ----------------------------------------------------------------------------------------


def plan_page(svc: Crimeplan, links: Links, period: str, baseline: str) -> dict:
    london = svc.engine.areas.top()
    section = scorecard_section(svc, links, london, period, baseline)
    model = base_model(svc, links, svc.plan.title, _files(section["card"]["sources"]))
    model.update(
        page="plan", plan={"title": svc.plan.title, "publisher": svc.plan.publisher, "url": svc.plan.url,
                           "summary": svc.plan.summary, "start": svc.plan.start, "end": svc.plan.end},
        selectors=selectors(svc, links, period, baseline, "/"), scorecard=section,
        london_href=links.area(london.key), api_href=links.api_json("scorecard" if not links.static else f"scorecard/{london.key}"),
    )
    return model


def area_page(svc: Crimeplan, links: Links, area: Area, period: str, baseline: str, map_measure: str | None = None,
              colour: str | None = None, wards: str | None = None) -> dict:
    section = scorecard_section(svc, links, area, period, baseline)
    the_map = map_section(svc, links, area, period, baseline, map_measure, colour, links.query, wards)
    mix = crime_mix_section(svc, area, period, baseline)
    trust = trust_section(svc, links, area, period, baseline)
    needs = needs_section(svc, links, area, period, baseline)
    fair = fairness_section(svc, links, area, period, baseline) if svc.has_fairness(area.key) else None
    victims = victims_section(svc, links, area, period) if svc.has_outcomes(area.key) else None
    panels = panel_sections(svc, links, area, period, baseline)
    crumbs = [{"name": a.name, "href": links.area(a.key)} for a in svc.engine.areas.ancestors(area)]
    files = _files(section["card"]["sources"], mix["files"], the_map["files"] if the_map else [],
                   trust["files"] if trust else [], needs["files"] if needs else [],
                   fair["files"] if fair else [], victims["files"] if victims else [], *[p["files"] for p in panels])
    model = base_model(svc, links, f"{area.name} — {area.level_name}", files, crumbs + [{"name": area.name, "href": None}])
    model.update(
        page="area", area=area.to_dict(),
        parent_href=(links.area(area.parent_code)
                     if area.parent_code and not svc.geography.level(area.level).alternative_to else None),
        # The period form carries the map's choices as the map took them: a colouring this level
        # cannot have (hot spots of BCUs) is not asked for again, hint and all, with every new period.
        selectors=selectors(svc, links, period, baseline, f"/area/{quote(area.key, safe=':')}",
                            {"map": map_measure, "colour": the_map["colour"] if colour and the_map else None,
                             "wards": wards}),
        scorecard=section, map=the_map, mix=mix, trust=trust, needs=needs, fairness=fair, victims=victims,
        panels=panels,
        api_href=links.api_json(f"scorecard/{area.key}" if links.static else f"scorecard?area={area.key}"),
        downloads=export_downloads(svc, links, area),
        report_links=([{"format": "PDF", "href": links.report(area.key, "pdf")}] if not links.static else [])
        + [{"format": "HTML, to print", "href": links.report(area.key, "html")}] if svc.has_report(area.key) else [],
    )
    if the_map and the_map["figure"]:
        model["charts"].append(the_map["figure_id"])
    if mix["available"]:
        model["charts"].append(mix["figure_id"])
    if needs and needs["figure"]:
        model["charts"].append(needs["figure_id"])
    if victims and victims["curves"]:
        model["charts"].append(victims["curves"]["figure_id"])
    if victims and (victims["areas_funnel"] or {}).get("figure"):
        model["charts"].append(victims["areas_funnel"]["figure_id"])
    for figure, figure_id in ((fair or {}).get("figure"), "fairness-figure"), ((fair or {}).get("map_figure"),
                                                                                "fairness-map-figure"):
        if figure:
            model["charts"].append(figure_id)
    return model


EXPORT_FORMAT_NAMES = {"csv": "CSV", "xlsx": "Excel (XLSX)", "parquet": "Parquet"}


def export_downloads(svc: Crimeplan, links: Links, area: Area) -> list[dict]:
    """Every figure of the area's level and of the level below, one table each (the static site: published levels)."""
    levels = [area.level] if area.level != svc.geography.top else []
    child = svc.geography.child(area.level)
    if child:
        levels.append(child)
    if links.static:
        levels = [lv for lv in levels if lv in svc.geography.published_levels]
    return [{"level_name": svc.geography.plural(lv),
             "links": [{"format": name, "href": links.export(lv, fmt)} for fmt, name in EXPORT_FORMAT_NAMES.items()]}
            for lv in levels]


def measure_page(svc: Crimeplan, links: Links, measure_id: str, area: Area, period: str, baseline: str) -> dict:
    measure = svc.measure(measure_id)
    card = svc.scorecard(area.key, period, baseline)
    result = next(m for p in card["priorities"] for m in p["measures"] if m["id"] == measure.id)
    row = measure_row(result, links, area.key, None)
    p, base = parse_period(result["period"]), parse_period(result["baseline"])  # as counted (latest: resolved)
    sources = []
    series_message = ""
    if area.level in measure.levels:
        series = svc.series(measure.id, area.key, "month")
        shaded = [{"label": "baseline", "first": f"{base.start:%Y-%m-%d}", "last": f"{month_of(base.last + 1):%Y-%m-%d}",
                   "colour": SHADE_BASELINE},
                  {"label": "current", "first": f"{p.start:%Y-%m-%d}", "last": f"{month_of(p.last + 1):%Y-%m-%d}",
                   "colour": SHADE_PERIOD}]
        for i, s in enumerate(series["sources"]):
            withheld = bool(s["points"]) and all((p.get("suppressed") or {}).get("value") for p in s["points"])
            if s["status"] != "ok" or not s["points"] or withheld:  # nothing to draw: say why, not an empty chart
                sources.append({"label": s["label"], "dataset": s["dataset"], "ok": False,
                                "status": (s.get("note") or s["status"]) if withheld else s["status"],
                                "excluded": s.get("excluded") or []})
                continue
            points = [{**pt, "period": _month_start(pt["period"])} for pt in s["points"]]
            figure = charts.series_chart(points, measure.unit, shaded, s["by"])
            spc = s.get("spc")
            sources.append({
                "label": s["label"], "dataset": s["dataset"], "ok": True, "first": s["first"], "last": s["last"],
                "excluded": s.get("excluded") or [], "by": s["by"], "note": s.get("note") or "",
                "period_word": "Year" if s["by"] == "year" else "Month",
                "figure": json_script(figure), "figure_id": f"series-figure-{i}",
                "files": _files(s["files"]), "files_raw": s["files"],
                "spc": {"text": (f"{spc['chart']} chart per day over the last {spc['months']} months (from "
                                 f"{spc['first_period']}); limits shown as monthly counts."),
                        "note": spc.get("note") or "",
                        "signals": [{"period": g["period"], "description": g["description"]} for g in spc["signals"]]}
                if spc else None,
                "share": any("n" in pt for pt in s["points"]),
                "rows": [{"period": pt["period"],
                          "value_text": _shown(pt, "value", fmt_number(pt["value"], measure.statistic)),
                          "n_text": fmt_number(pt.get("n")) if "n" in pt else "",
                          "lower_text": fmt_number(pt.get("lower")) if pt.get("lower") is not None else "",
                          "centre_text": fmt_number(pt.get("centre")) if pt.get("centre") is not None else "",
                          "upper_text": fmt_number(pt.get("upper")) if pt.get("upper") is not None else "",
                          "signal": pt.get("signal") or "",
                          "in_baseline": _within(pt["period"], base), "in_period": _within(pt["period"], p)}
                         for pt in reversed(s["points"])],
            })
    else:
        series_message = f"{measure.title} is not measured at {area.level_name} level (levels: {', '.join(measure.levels)})."
    the_map = map_section(svc, links, area, period, baseline, measure.id, None,
                          {**links.query, "area": None if area.key == links.london_key else area.key})
    crumbs = [{"name": a.name, "href": links.area(a.key)} for a in svc.engine.areas.ancestors(area)]
    if the_map:
        the_map["controls"] = False  # coloured by this page's measure
    crumbs += [{"name": area.name, "href": links.area(area.key)}, {"name": measure.title, "href": None}]
    files = _files(*(s.get("files_raw", []) for s in sources), (result["source"] or {}).get("files", []),
                   *[a["files"] for a in result["alternatives"]])
    model = base_model(svc, links, f"{measure.title} — {area.name}", files, crumbs)
    model.update(
        page="measure",
        measure={"id": measure.id, "title": measure.title, "definition": measure.definition, "unit": measure.unit,
                 "aim": AIM_TEXT[measure.aim], "statistic": measure.statistic, "notes": measure.notes,
                 "levels": ", ".join(svc.geography.name(lv) for lv in measure.levels)},
        area=area.to_dict(), area_href=links.area(area.key), row=row, sources=sources,
        series_message=series_message, map=the_map,
        csv_href=links.series_csv(measure.id, area.key) if area.level in measure.levels else None,
        selectors=selectors(svc, links, period, baseline, f"/measure/{measure.id}",
                            {"area": None if area.key == links.london_key else area.key}),
        api_href=(None if area.level not in measure.levels
                  else links.api_json(f"measures/{measure.id}/series") if links.static
                  else f"/api/measures/{measure.id}/series?area={quote(area.key, safe=':')}"),
    )
    model["charts"] += [s["figure_id"] for s in sources if s.get("ok")]
    if the_map and the_map["figure"]:
        model["charts"].append(the_map["figure_id"])
    return model


def claims_page(svc: Crimeplan, links: Links, checks: list[dict], claims_text: str, name: str,
                problems: list[str] | None = None) -> dict:
    rows = []
    for c in checks:
        unit = c["change_unit"]
        stated = (fmt_signed(c["stated_change_pct"], unit) if c["kind"] == "change"
                  else fmt_number(c["stated_value"], c["measure"]["statistic"]))
        computed = (fmt_signed(c["computed_change_pct"], unit) if c["kind"] == "change"
                    else fmt_number(c["computed_value"], c["measure"]["statistic"]))
        area_key = c["area"]["key"]
        statistic = c["measure"]["statistic"]
        interval = fmt_interval(c["interval_pct"], unit)
        if c["verdict"] == "unverifiable":
            computed = "no figure"
        elif c["kind"] == "change":
            computed += (f" (95% interval {interval})" if interval else "") + \
                f"; now {fmt_number(c['current'], statistic)}, baseline {fmt_number(c['baseline'], statistic)}"
        elif c["computed_change_pct"] is not None:
            computed += (f"; against the baseline ({fmt_number(c['baseline'], statistic)}) that is "
                         f"{fmt_signed(c['computed_change_pct'], unit)}" + (f" (95% interval {interval})" if interval else ""))
        rows.append({
            "id": c["id"], "statement": c["statement"], "claim_source": c["claim_source"],
            "verdict": c["verdict"], **CLAIM_VERDICTS.get(c["verdict"], {"icon": "?", "css": "claim-unverifiable"}),
            "plain": c["plain"], "measure": c["measure"]["title"], "measure_href": links.measure(c["measure"]["id"], area_key),
            "area": c["area"]["name"], "area_href": links.area(area_key), "period_text": c["period_text"],
            "compared_with": c["compared_with"], "stated_text": c["stated_as_written"] or stated,
            "computed_text": computed,
            "significance": c["significance"] or "", "source": c["source"]["label"] if c["source"] else "",
            "sources_disagree": c["sources_disagree"], "reason": c["unverifiable_reason"] or "",
            "alternatives": [{"label": a.get("label"), "verdict": a.get("verdict"),
                              "computed_text": fmt_signed(a.get("computed_change_pct"), unit) if c["kind"] == "change"
                              else fmt_number(a.get("computed_value"), c["measure"]["statistic"])}
                             for a in c["alternatives"]],
        })
    tally = {}
    for r in rows:
        tally[r["verdict"]] = tally.get(r["verdict"], 0) + 1
    files = _files(*[c["source"]["files"] for c in checks if c["source"]])
    model = base_model(svc, links, "Claims check", files)
    model.update(page="claims", checks=rows, claims_text=claims_text, claims_name=name, problems=problems or [],
                 tally=[{"verdict": v, "count": n, **CLAIM_VERDICTS.get(v, {})} for v, n in tally.items()],
                 legend=[{"verdict": v, "icon": CLAIM_VERDICTS[v]["icon"], "meaning": meaning}
                         for v, meaning in CLAIM_VERDICT_MEANINGS.items()],
                 api_href=links.api_json("claims/check") if links.static else "/api/claims/check")
    return model


def claims_form_page(svc: Crimeplan, links: Links, text: str) -> tuple[int, dict]:
    """The claims page for claims pasted into its form: 200 with them checked, or 422 listing the file's problems."""
    try:
        checks = svc.claims_check(text, PASTED_CLAIMS)
    except CrimeplanError as exc:
        problems = getattr(exc, "problems", None) or [str(exc)]
        return 422, claims_page(svc, links, [], text, PASTED_CLAIMS, problems)
    return 200, claims_page(svc, links, checks, text, PASTED_CLAIMS)


def sources_page(svc: Crimeplan, links: Links) -> dict:
    edition = svc.edition()
    from crimeplan.catalogue import load_catalogue

    catalogue = {d.id: d for d in load_catalogue().datasets}
    files = []
    for f in edition["files"]:
        datasets = [catalogue.get(d.strip()) for d in (f["dataset"] or "").split(",")]
        d = next((x for x in datasets if x is not None), None)
        files.append({**f, "sha": f["sha256"][:12], "publisher": d.publisher if d else "",
                      "landing_page": d.landing_page if d else ""})
    model = base_model(svc, links, "Data sources", _files(edition["files"]))
    model.update(page="sources", edition_full=edition, source_files=files, coverage=edition["coverage"],
                 coverage_rule=COVERAGE_RULE)
    return model


VERDICT_STYLE = {
    "significant rise": {"icon": "▲", "css": "fv-rise"},
    "significant fall": {"icon": "▼", "css": "fv-fall"},
    "no significant change": {"icon": "●", "css": "fv-none"},
    "incomplete data": {"icon": "○", "css": "fv-na"},
    "not comparable": {"icon": "○", "css": "fv-na"},
}


def forces_page(svc: Crimeplan, links: Links, data: dict, query: dict | None = None) -> dict:
    """Every territorial force: the change of the 12 months to a quarter end (chart and table) and its trend."""
    query = query or {}
    compared = sorted((f for f in data["forces"] if f["status"] == "ok"),
                      key=lambda f: (-(f["change_pct"] if f["change_pct"] is not None else float("inf")), f["force"]))
    others = sorted((f for f in data["forces"] if f["status"] != "ok"), key=lambda f: f["force"])
    period_index = data["quarter_ends"].index(data["period"])
    baseline_index = data["quarter_ends"].index(data["baseline"])
    rows = []
    for f in compared + others:
        values = [p["value"] for p in f["trend"]]
        spark = charts.sparkline(values, [i == period_index for i in range(len(values))],
                                 [i == baseline_index for i in range(len(values))])
        if spark:
            known = [p for p in f["trend"] if p["value"] is not None]
            spark["label"] = (f"{f['force']}: rolling 12-month totals at each quarter end, {known[0]['period']} to "
                              f"{known[-1]['period']}")
        interval = ""
        if f["status"] == "ok":
            interval = fmt_interval([f["change_low_pct"], f["change_high_pct"]], "%")
        rows.append({
            "force": f["force"], "region": f["region"], "highlighted": f["highlighted"], "status": f["status"],
            "current": f["current"], "baseline": f["baseline"], "change": f["change_pct"],
            "current_text": fmt_number(f["current"]), "baseline_text": fmt_number(f["baseline"]),
            "change_text": fmt_signed(f["change_pct"], "%") if f["status"] == "ok" else "—",
            "interval_text": interval, "q_text": _fmt_p(f["q_value"]), "p_text": _fmt_p(f["p_value"]),
            "verdict": f["verdict"], **VERDICT_STYLE[f["verdict"]], "reason": f["reason"], "notes": f["notes"],
            "spark": spark,
        })
    figure = charts.change_chart(
        [{"name": f["force"], "change": f["change_pct"], "low": f["change_low_pct"], "high": f["change_high_pct"],
          "highlighted": f["highlighted"], "verdict": f["verdict"]} for f in compared if f["change_pct"] is not None],
        f"change, {data['period_text'][4:]} against {data['baseline_text'][4:]} (95% interval)")
    model = base_model(svc, links, data["title"], _files(data["files"]))
    s = data["summary"]
    model.update(
        page="forces", forces=data, rows=rows, figure=json_script(figure), figure_id="forces-figure",
        has_chart=bool(compared),
        chosen={"offence": query.get("offence") or "", "period": data["period"], "baseline": data["baseline"],
                "highlight": query.get("highlight") or ""},
        offence_options=[{"value": o, "selected": o.lower() == (query.get("offence") or "All offences").lower()}
                         for o in data["offence_options"]],
        quarter_ends=list(reversed(data["quarter_ends"])),
        tally=[{"verdict": v, "count": s[v], **VERDICT_STYLE[v]} for v in VERDICT_STYLE if s[v]],
        api_href=links.forces_json(query), action=links.forces,
    )
    if compared:
        model["charts"].append("forces-figure")
    return model


def victims_section(svc: Crimeplan, links: Links, area: Area, period: str) -> dict:
    """What happened to the area's crimes of the period: each outcome group's share with its interval and n, at the
    follow-up the loaded outcomes allow, the time to a first outcome (in words, and as curves where the follow-up
    runs beyond the crime's own month), the areas of its level on a funnel plot with the area marked, and the
    forces' funnel."""
    data = svc.outcomes(area.key, period, (), None)
    out = {"status": data["status"], "message": data.get("message", ""), "follow_up": data["follow_up"],
           "crime_types": ", ".join(data["crime_types"]), "period_text": data["period_text"], "files": data["files"],
           "funnel_href": links.outcome_funnel, "api_href": links.api_json(f"areas/{area.key}/outcomes"),
           "rows": [], "curves_text": "", "curves": None, "areas_funnel": None}
    if data["status"] != "ok":
        return out
    out["crimes_text"] = fmt_number(data["crimes"])
    out["note"] = data["note"]
    out["rows"] = [{"group": g["group"], "reached_text": fmt_number(g["reached"]),
                    "share_text": percent_text(g["share"], g["low"], g["high"])} for g in data["groups"]]
    out["curves_text"] = time_to_outcome_text(data["time_to_outcome"])
    curves = charts.time_to_outcome_chart(data["time_to_outcome"])
    if curves:
        out["curves"] = {"figure": json_script(curves), "figure_id": "outcome-curves-figure"}
    level = area.level if area.level != svc.geography.top else svc.geography.child(area.level)
    if level is not None:
        out["areas_funnel"] = areas_funnel_section(svc, links, level, period, area)
    return out


def areas_funnel_section(svc: Crimeplan, links: Links, level: str, period: str, area: Area) -> dict:
    """The areas of ``level`` on the outcome funnel, ``area`` marked where it is one of them, its position in words."""
    data = svc.outcome_areas_funnel(level, period, None, area.key)
    out = {"status": data["status"], "message": data["message"], "group": data["group"],
           "level_name": data["level_name"], "level_word": svc.geography.level(level).word,
           "left_out": len(data["left_out"]),
           "api_href": links.outcome_areas_json(level, period, area.key)}
    if data["status"] != "ok":
        return out
    rows = [{**a, "position_text": FUNNEL_POSITION_TEXT[a["position"]],
             "position_overdispersed_text": FUNNEL_POSITION_TEXT[a["position_overdispersed"]],
             "share_text": percent_text(a["share"]), "crimes_text": fmt_number(a["crimes"]),
             "reached_text": fmt_number(a["reached"]), "href": links.area(a["key"])} for a in data["areas"]]
    mine = next((r for r in rows if r["highlighted"]), None)
    tally: dict[str, int] = {}
    for r in rows:
        tally[r["position"]] = tally.get(r["position"], 0) + 1
    out.update(
        rows=rows, target_text=percent_text(data["target"]), compared=len(rows), notes=data["notes"],
        mine=mine, figure=json_script(charts.funnel_chart(data, rows, "name", f"all {data['level_name']}",
                                                          "crimes recorded (log scale)", out["level_word"])),
        figure_id="areas-funnel-figure",
        tally=[{"position": FUNNEL_POSITION_TEXT[p], "count": tally[p]} for p in FUNNEL_POSITION_TEXT if p in tally])
    return out


def outcome_funnel_page(svc: Crimeplan, links: Links, data: dict, query: dict | None = None) -> dict:
    """Forces compared on the share of crimes whose last outcome is in a group: the funnel plot and its table."""
    rows = [{**f, "position_text": FUNNEL_POSITION_TEXT[f["position"]],
             "position_overdispersed_text": FUNNEL_POSITION_TEXT[f["position_overdispersed"]],
             "share_text": percent_text(f["share"]), "crimes_text": fmt_number(f["crimes"]),
             "reached_text": fmt_number(f["reached"]), "unknown_text": fmt_number(f["unknown"]),
             "limits_95_text": f"{percent_text(f['limits']['95%'][0])} to {percent_text(f['limits']['95%'][1])}",
             "limits_998_text": f"{percent_text(f['limits']['99.8%'][0])} to {percent_text(f['limits']['99.8%'][1])}"}
            for f in data["forces"]]
    figure = charts.funnel_chart(data, rows)
    tally = {}
    for r in rows:
        tally[r["position"]] = tally.get(r["position"], 0) + 1
    model = base_model(svc, links, f"Forces compared: {data['group']}",
                       _files([{"name": data["file"]["name"], "edition": data["file"]["edition"],
                                "sha256": data["file"]["sha256"]}]))
    model.update(
        page="outcome-funnel", funnel=data, rows=rows, figure=json_script(figure), figure_id="funnel-figure",
        highlight_shown=any(r["highlighted"] for r in rows),
        target_text=percent_text(data["target"]),
        tally=[{"position": FUNNEL_POSITION_TEXT[p], "count": tally[p]} for p in FUNNEL_POSITION_TEXT if p in tally],
        groups=[g for g in svc.outcome_group_names()], chosen={"group": data["group"]},
        api_href=links.outcome_funnel_json((query or {})), action=links.outcome_funnel,
    )
    model["charts"].append("funnel-figure")
    return model


def search_page(svc: Crimeplan, links: Links, q: str) -> dict:
    found = svc.areas(None, q.strip()) if q.strip() else []
    results = [{"name": a["name"], "level_name": a["level_name"], "parent": a["parent_name"], "href": links.area(a["key"]),
                "key": a["key"]} for a in found[:200]]
    model = base_model(svc, links, f"Search: {q}" if q else "Search", [])
    model.update(page="search", q=q, results=results, more=max(len(found) - 200, 0))
    return model


def error_page(svc: Crimeplan, links: Links, status: int, message: str) -> dict:
    model = base_model(svc, links, {404: "Not found", 422: "Cannot understand the request"}.get(status, "Error"), [])
    model.update(page="error", status=status, message=message)
    return model


def api_page(svc: Crimeplan, links: Links, openapi: dict) -> dict:
    endpoints = []
    for path, methods in openapi.get("paths", {}).items():
        for method, op in methods.items():
            params = [{"name": p["name"], "where": p["in"], "required": p.get("required", False),
                       "description": p.get("description", "")} for p in op.get("parameters", [])]
            endpoints.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                              "description": op.get("description", ""), "params": params})
    model = base_model(svc, links, "JSON API", [])
    model.update(page="api", endpoints=endpoints, openapi_href="/openapi.json")
    return model


def series_csv_text(series: dict) -> str:
    """A series as CSV (the CLI's columns), ending with the attribution."""
    from crimeplan.report import series_csv

    return series_csv(series) + f"# {OGL_ATTRIBUTION} {OS_ATTRIBUTION}\n"


def static_api_page(svc: Crimeplan, links: Links, files: list[tuple[str, str]]) -> dict:
    """The static site's index of its JSON files (the server's API, written out for the default period)."""
    model = base_model(svc, links, "JSON files", [])
    endpoints = [{"method": "GET", "path": path, "summary": summary, "description": "", "params": []}
                 for path, summary in files]
    model.update(page="api", endpoints=endpoints, openapi_href=None)
    return model


# --- rendering ------------------------------------------------------------------------------------


def template_environment() -> Environment:
    return Environment(loader=PackageLoader("crimeplan.web", "templates"), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True, auto_reload=False)


def static_files() -> dict[str, bytes]:
    """The site's own static files (CSS, scripts) by name."""
    folder = resources.files("crimeplan.web").joinpath("static")
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def plotly_js_path():
    """Plotly's bundled JavaScript, from the installed plotly package (never from a CDN)."""
    return resources.files("plotly").joinpath("package_data", "plotly.min.js")
