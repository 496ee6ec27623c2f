"""The dashboard as a static site: the same pages and JSON, written to a folder any static host can serve.

    crimeplan publish site        # then open site/index.html, or serve the folder

Pages are rendered by the same page models and templates as ``crimeplan serve``,
for the plan's default period and baseline, with links relative to each page so
that the site works from ``file://`` as well as from a web server. Written:

- ``index.html`` (the plan), ``claims.html``, ``sources.html``, ``forces.html``
  (every police force, all offences, the latest quarter end against a year earlier), ``search.html``
  (searches the list of areas in ``static/areas.js``, no server needed),
  ``api/index.html``;
- ``area/<code>.html`` for London, every BCU, every borough and every 2022
  ward (the 2014 wards and LSOAs are served by ``crimeplan serve`` only), and
  ``area/<code>-priorities.csv`` for those that rank their wards;
- ``measure/<id>.html`` and ``measure/<id>.csv`` for every measure, for London;
- the JSON behind them under ``api/`` (plan, edition, areas, each area's
  scorecard, children's boundaries and crime mix, each measure's London series
  and its figures for every level, its hot spots among boroughs and wards, the
  example claims checked);
- ``static/``: crimeplan's CSS and script, and Plotly's JavaScript copied
  from the installed plotly package.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from crimeplan.measures.areas import Area
from crimeplan.plan.schema import Plan
from crimeplan.report import priorities_csv
from crimeplan.web import views
from crimeplan.web.printed import render_report
from crimeplan.core import Crimeplan, dumps

STATIC_API = [
    ("api/plan.json", "The plan: priorities, objectives, measures, their sources and levels, baselines."),
    ("api/edition.json", "The data edition: the source files (name, dataset, edition, sha256) and months covered."),
    ("api/areas.json", "Every area published: key, code, name, level, parent."),
    ("api/areas/{key}.json", "An area with its ancestors and children."),
    ("api/areas/{key}/children.geojson", "The boundaries of an area's children (London, BCUs, boroughs)."),
    ("api/areas/{key}/crime-mix.json", "Recorded crime by category, with harm (CCHI days)."),
    ("api/scorecard/{key}.json", "The scorecard of an area for the default period and baseline."),
    ("api/measures/{id}/series.json", "A measure's monthly series for London, with SPC limits."),
    ("api/measures/{id}/levels/{level}.json", "A measure for every area of a level (what the maps colour)."),
    ("api/measures/{id}/hotspots/{level}.json", "Hot and cold spots of a measure among every borough or 2022 ward "
                                                "(Getis–Ord Gi*, FDR 5%)."),
    ("api/areas/{key}/needs.json", "Where an area's harm is needed most (London, BCUs, boroughs): its wards ranked "
                                   "by harm per resident with 95% rank intervals and persistence, and the "
                                   "concentration of the harm (top 1/5/10% shares, Gini)."),
    ("api/areas/{key}/fairness.json", "Stop and search by ethnic group (London, BCUs, boroughs): searches per "
                                      "1,000 residents of each group, the rate ratio to White with its 95% interval, "
                                      "the outcome test, breakdowns, and every area of the level."),
    ("api/panels/{id}/{key}.json", "A panel of the plan (county lines proxies by borough) for London or a BCU."),
    ("area/{key}-priorities.csv", "The same ranked list as CSV, every ward with its rank interval."),
    ("api/export/{level}.csv", "Every area of a level (BCUs, boroughs, 2022 wards) × every measure of the plan: value, "
                               "baseline, change, interval, p, q, verdict, RAG, denominators and source files; also "
                               ".xlsx (with a README sheet) and .parquet."),
    ("api/claims/check.json", "The example claims, checked."),
    ("api/forces.json", "Every territorial police force: recorded crime (all offences excluding fraud), the latest "
                        "12 months against the year before, with intervals, q values and trends."),
    ("api/areas/{key}/outcomes.json", "What happened to an area's crimes of the period (London, BCUs, boroughs, "
                                      "wards): each outcome group's share with its 95% interval and n at the "
                                      "follow-up the loaded outcomes allow, and the time to a first outcome."),
    ("api/outcomes/areas/{level}.json", "Every BCU, borough or ward on a funnel plot (Spiegelhalter 2005): the share "
                                        "of its crimes charged or summonsed at equal follow-up, with the 95% and "
                                        "99.8% limits and its position."),
    ("api/outcomes/forces.json", "Every force of the street files holding most forces on a funnel plot (Spiegelhalter "
                                 "2005): the share of its crimes whose last outcome is 'no suspect identified', with "
                                 "the 95% and 99.8% limits and its position."),
]


@dataclass
class PublishReport:
    out_dir: Path
    pages: int = 0
    json_files: int = 0
    other_files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    areas: dict[str, int] = field(default_factory=dict)
    measures: int = 0
    reports: int = 0  # areas with a performance report (report/<area>.html)

    def to_dict(self) -> dict:
        return {"out_dir": str(self.out_dir), "pages": self.pages, "json_files": self.json_files,
                "other_files": self.other_files, "bytes": self.bytes, "seconds": round(self.seconds, 2),
                "areas": self.areas, "measures": self.measures, "reports": self.reports}


class _Writer:
    def __init__(self, root: Path, report: PublishReport) -> None:
        self.root = root
        self.report = report

    def write(self, relative: str, data: bytes, kind: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.report.bytes += len(data)
        if kind == "page":
            self.report.pages += 1
        elif kind == "json":
            self.report.json_files += 1
        else:
            self.report.other_files += 1


def published_areas(svc: Crimeplan) -> list[Area]:
    """The plan's area, then every area of the published levels within it (London: every BCU, borough, 2022 ward)."""
    areas = svc.engine.areas
    home = areas.top()
    return [a for level in svc.geography.published_levels for a in areas.level(level)
            if a == home or home in areas.ancestors(a)]


def publish(out_dir: str | Path, service: Crimeplan | None = None, db: str | Path | None = None,
            plan: str | Path | Plan | None = None, progress: Callable[[str, int, int], None] | None = None) -> PublishReport:
    """Write the static site into ``out_dir`` (emptied first when it holds an earlier site).

    ``progress(what, done, total)`` is called as pages are written.
    """
    started = time.perf_counter()
    svc = service or Crimeplan.open(db, plan)
    out = Path(out_dir)
    if out.exists() and (out / "index.html").exists() and (out / "static").is_dir():
        shutil.rmtree(out)  # an earlier site: replace it whole, so no stale page survives
    out.mkdir(parents=True, exist_ok=True)
    report = PublishReport(out)
    w = _Writer(out, report)
    env = views.template_environment()
    london = svc.engine.areas.top()
    period = svc.period(None)
    baseline = svc.baseline(period, None)
    areas = published_areas(svc)
    measures = svc.plan.measures
    total = len(areas) + len(measures) + 4
    done = 0

    def step(what: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(what, done, total)

    def links(depth: int) -> views.Links:
        return views.Links(static=True, london_key=london.key, depth=depth)

    def page(relative: str, template: str, model: dict) -> None:
        w.write(relative, env.get_template(template).render(**model).encode("utf-8"), "page")

    def as_json(relative: str, data) -> None:
        w.write(relative, dumps(data), "json")

    # Static files: crimeplan's own, Plotly's bundle, and the search index.
    for name, data in views.static_files().items():
        w.write(f"static/{name}", data, "other")
    w.write("static/plotly.min.js", views.plotly_js_path().read_bytes(), "other")
    index = [[a.key, a.name, a.to_dict()["level_name"], a.parent_name or "", f"area/{a.key}.html"] for a in areas]
    w.write("static/areas.js", ("window.CRIMEPLAN_AREAS = " + json.dumps(index, ensure_ascii=False) + ";\n").encode("utf-8"),
            "other")

    # The plan, the claims, the sources, search and the API index.
    page("index.html", "plan.html", views.plan_page(svc, links(0), period, baseline))
    step("plan")
    shipped = svc.shipped_claims()
    page("claims.html", "claims.html", views.claims_page(svc, links(0), shipped.checks, shipped.text, shipped.name))
    as_json("api/claims/check.json", shipped.checks)
    step("claims")
    page("sources.html", "sources.html", views.sources_page(svc, links(0)))
    page("search.html", "search.html", views.search_page(svc, links(0), ""))
    if svc.forces_loaded():  # the Home Office table by force: a page only when it is loaded
        forces = svc.forces((), None, None, None)
        page("forces.html", "forces.html", views.forces_page(svc, links(0), forces))
        as_json("api/forces.json", forces)
    if svc.outcome_funnel_loaded():  # street files of several forces: forces compared on an outcome
        funnel = svc.outcome_funnel(None, None, None, None, None)
        page("forces-outcomes.html", "outcome_funnel.html", views.outcome_funnel_page(svc, links(0), funnel))
        as_json("api/outcomes/forces.json", funnel)
    step("sources")
    page("api/index.html", "api.html", views.static_api_page(svc, links(1), STATIC_API))
    as_json("api/plan.json", svc.plan_dict())
    as_json("api/edition.json", svc.edition())
    as_json("api/areas.json", [a.to_dict() for a in areas])
    for m in measures:
        for level in svc.geography.published_levels:
            if level in m.levels:
                as_json(f"api/measures/{m.id}/levels/{level}.json", svc.levels(m.id, level, period, baseline))
                if level in svc.geography.hotspot_levels:
                    as_json(f"api/measures/{m.id}/hotspots/{level}.json", svc.hotspots(m.id, level, period, baseline))
    for level in svc.geography.published_levels:  # every area × measure of a level: the downloads of its pages
        if level != svc.geography.top:
            for fmt in ("csv", "xlsx", "parquet"):
                w.write(f"api/export/{level}.{fmt}", svc.export_file(level, period, baseline, fmt), "other")
    if svc.has_outcomes(london.key):  # every level below the top on the outcome funnel
        for level in svc.outcome_funnel_levels():
            as_json(f"api/outcomes/areas/{level}.json", svc.outcome_areas_funnel(level, period, None, None))
    step("api")

    # Every area: its page, scorecard, detail, children's boundaries and crime mix.
    for area in areas:
        page(f"area/{area.key}.html", "area.html", views.area_page(svc, links(1), area, period, baseline))
        as_json(f"api/scorecard/{area.key}.json", svc.scorecard(area.key, period, baseline))
        as_json(f"api/areas/{area.key}.json", svc.area_detail(area.key))
        as_json(f"api/areas/{area.key}/crime-mix.json", svc.crime_mix(area.key, period))
        if svc.geography.child(area.level):
            w.write(f"api/areas/{area.key}/children.geojson", dumps(svc.children_geojson(area.key)), "json")
        for panel_id in svc.panels_for(area.key):
            as_json(f"api/panels/{panel_id}/{area.key}.json",
                    svc.panel(panel_id, period, baseline, None if area.level == svc.geography.top else area.key))
        needs = svc.needs(area.key, period, baseline)
        if needs is not None:
            as_json(f"api/areas/{area.key}/needs.json", needs)
            w.write(f"area/{area.key}-priorities.csv", priorities_csv(needs["priorities"]).encode("utf-8"), "other")
        if svc.has_fairness(area.key):
            as_json(f"api/areas/{area.key}/fairness.json", svc.fairness(area.key, period, baseline))
        if svc.has_outcomes(area.key):
            as_json(f"api/areas/{area.key}/outcomes.json", svc.outcomes(area.key, period, (), None))
        if svc.has_report(area.key):  # the performance report, to read or print from the browser
            w.write(f"report/{area.key}.html", render_report(svc, svc.performance_report(area.key, None)).encode("utf-8"),
                    "page")
            report.reports += 1
        report.areas[area.level] = report.areas.get(area.level, 0) + 1
        step(area.name)

    # Every measure, for London: page, CSV and series JSON.
    for m in measures:
        page(f"measure/{m.id}.html", "measure.html", views.measure_page(svc, links(1), m.id, london, period, baseline))
        if svc.geography.top in m.levels:
            series = svc.series(m.id, london.key, "month")
            as_json(f"api/measures/{m.id}/series.json", series)
            w.write(f"measure/{m.id}.csv", views.series_csv_text(series).encode("utf-8"), "other")
        report.measures += 1
        step(m.title)

    report.seconds = time.perf_counter() - started
    return report


__all__ = ["PublishReport", "publish", "published_areas"]
