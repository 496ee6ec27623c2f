"""`crimeplan publish`: the static site holds every page and the JSON behind it, with links that resolve."""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from crimeplan import OGL_ATTRIBUTION, OS_ATTRIBUTION
from crimeplan.plan import load_plan
from crimeplan.web.views import plotly_js_path


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.scripts: list[str] = []
        self._in_json = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src", "action") and value is not None:
                self.links.append((tag, name, value))
        self._in_json = tag == "script" and ("type", "application/json") in attrs

    def handle_data(self, data):
        if self._in_json:
            self.scripts.append(data)

    def handle_endtag(self, tag):
        self._in_json = False


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _resolves(page: Path, target: str, root: Path) -> bool:
    parts = urlsplit(target)
    if not parts.path:
        return True  # '#anchor' or '?q=' on the page itself
    resolved = (page.parent / unquote(parts.path)).resolve()
    return resolved.is_file() and root.resolve() in resolved.parents


def test_publish_writes_every_page(published_site) -> None:
    report = published_site
    root = report.out_dir
    assert report.areas == {"london": 1, "bcu": 13, "borough": 33, "ward": 704}
    measures = len(load_plan().measures)  # every measure of the plan gets a page
    assert report.measures == measures
    # areas, measures, plan + claims + sources + forces + outcome funnel + search + api index
    assert report.reports == 1 + 13 + 33  # London, the BCUs (and the City) and the boroughs
    assert report.pages == 751 + measures + 7 + report.reports
    for relative in ("index.html", "claims.html", "sources.html", "forces.html", "forces-outcomes.html", "search.html",
                     "api/index.html", "api/outcomes/forces.json", "api/outcomes/areas/ward.json",
                     "api/areas/E09000012/outcomes.json", "api/areas/E05013570/outcomes.json",
                     "area/E12000007.html", "area/EA.html", "area/E09000012.html", "area/E05013570.html",
                     "measure/burglary.html", "measure/burglary.csv", "measure/pas_trust_mps.html",
                     "static/crimeplan.css", "static/crimeplan.js", "static/areas.js"):
        assert (root / relative).is_file(), relative
    assert (root / "static" / "plotly.min.js").read_bytes() == plotly_js_path().read_bytes()
    assert not (root / "area" / "ward2014:E05000405.html").exists()  # 2014 wards: served, not published
    assert report.seconds > 0 and report.bytes > 0


def test_publish_writes_the_json_the_pages_use(published_site, service) -> None:
    root = published_site.out_dir
    funnel = json.loads((root / "api" / "outcomes" / "forces.json").read_text())
    assert funnel == json.loads(json.dumps(service.outcome_funnel(None, None, None, None, None)))
    period = service.period(None)
    for level in ("bcu", "borough", "ward"):  # the funnels the area pages draw, unmarked
        areas = json.loads((root / "api" / "outcomes" / "areas" / f"{level}.json").read_text())
        assert areas == json.loads(json.dumps(service.outcome_areas_funnel(level, period, None, None)))
    hackney = (root / "area" / "E09000012.html").read_text()
    assert 'href="../api/outcomes/areas/borough.json"' in hackney and "Hackney: <strong>" in hackney
    period, baseline = service.period(None), service.baseline(service.period(None), None)
    for key in ("E12000007", "EA", "E09000012", "E05013570"):
        card = json.loads((root / "api" / "scorecard" / f"{key}.json").read_text())
        assert card == json.loads(json.dumps(service.scorecard(key, period, baseline)))  # as the API gives it
        detail = json.loads((root / "api" / "areas" / f"{key}.json").read_text())
        assert detail["key"] == key
        mix = json.loads((root / "api" / "areas" / key / "crime-mix.json").read_text())
        assert mix["total"] == sum(c["count"] for c in mix["categories"])
    geo = json.loads((root / "api" / "areas" / "E12000007" / "children.geojson").read_text())
    assert len(geo["features"]) == 13
    levels = json.loads((root / "api" / "measures" / "burglary" / "levels" / "ward.json").read_text())
    assert len(levels["areas"]) == 704
    spots = json.loads((root / "api" / "measures" / "burglary" / "hotspots" / "ward.json").read_text())
    assert spots == json.loads(json.dumps(service.hotspots("burglary", "ward", period, baseline)))
    assert (root / "api" / "measures" / "burglary" / "hotspots" / "borough.json").is_file()
    series = json.loads((root / "api" / "measures" / "burglary" / "series.json").read_text())
    assert series["area"]["code"] == "E12000007" and series["sources"][0]["points"]
    checks = json.loads((root / "api" / "claims" / "check.json").read_text())
    assert checks and all(c["verdict"] for c in checks)
    assert len(json.loads((root / "api" / "areas.json").read_text())) == 751
    forces = json.loads((root / "api" / "forces.json").read_text())
    assert forces == json.loads(json.dumps(service.forces((), None, None, None)))
    assert (forces["period"], forces["baseline"], forces["highlight"]) == ("2018-12", "2017-12", "Metropolitan Police")
    index = (root / "static" / "areas.js").read_text()
    assert index.startswith("window.CRIMEPLAN_AREAS = ") and "Hackney" in index


def _sample(root: Path) -> list[Path]:
    pages = sorted(root.glob("*.html")) + [root / "api" / "index.html"] + sorted(root.glob("measure/*.html"))
    areas = sorted(root.glob("area/*.html"))
    wards = [p for p in areas if p.stem.startswith("E05")]
    return pages + [p for p in areas if not p.stem.startswith("E05")] + wards[:: len(wards) // 40]


def test_links_are_relative_and_resolve(published_site) -> None:
    root = published_site.out_dir
    checked = 0
    for page in _sample(root):
        parsed = _parse(page)
        for tag, attribute, target in parsed.links:
            if target.startswith(("http://", "https://")):
                # only links a reader may follow out (publishers' pages); never a resource
                assert tag == "a", (page, target)
                continue
            assert not target.startswith("/"), (page, target)  # relative: works from file:// and any host
            if target.startswith("data:"):
                continue
            assert _resolves(page, target, root), (page.relative_to(root), target)
            checked += 1
        # map areas link to their pages too (followed on click)
        for script in parsed.scripts:
            figure = json.loads(script)
            for trace in figure["data"]:
                for target in trace.get("customdata") or []:
                    if target is not None:
                        assert _resolves(page, target, root), (page.relative_to(root), target)
                        checked += 1
    assert checked > 5_000


def test_every_page_carries_the_attribution_and_edition(published_site, service) -> None:
    root = published_site.out_dir
    label = service.edition()["label"]
    for page in _sample(root):
        html = page.read_text(encoding="utf-8")
        assert OGL_ATTRIBUTION in html and OS_ATTRIBUTION in html, page
        assert label in html, page


def test_static_pages_show_the_same_figures_as_the_server(published_site, client) -> None:
    root = published_site.out_dir
    value = re.compile(r'data-measure="([a-z0-9_]+)" data-status="(\w[\w ]*)".*?data-value="([^"]*)"', re.S)
    for key in ("E12000007", "CE", "E09000012", "E05013570"):
        static = (root / "area" / f"{key}.html").read_text(encoding="utf-8")
        served = client.get(f"/area/{key}").text
        assert value.findall(static) == value.findall(served) and value.findall(static)
    assert value.findall((root / "index.html").read_text(encoding="utf-8")) == value.findall(client.get("/").text)


def test_the_published_forces_page(published_site, client) -> None:
    root = published_site.out_dir
    html = (root / "forces.html").read_text(encoding="utf-8")
    assert 'href="api/forces.json"' in html and 'id="forces-figure"' in html
    assert 'href="forces.html"' in (root / "index.html").read_text(encoding="utf-8")
    assert 'href="../forces.html"' in (root / "area" / "EA.html").read_text(encoding="utf-8")
    row = re.compile(r'<tr data-force="([^"]+)" data-status="(\w[\w ]*)".*?data-value="([^"]*)"', re.S)
    assert row.findall(html) == row.findall(client.get("/forces").text) and len(row.findall(html)) == 43
    assert ("Metropolitan Police", "ok", "835078") in row.findall(html)  # read from rec-crime-pfa.csv


def test_publish_replaces_an_earlier_site_but_refuses_nothing_else(tmp_path: Path, service) -> None:
    from crimeplan.web.publish import publish

    out = tmp_path / "site"
    (out / "static").mkdir(parents=True)
    (out / "index.html").write_text("old")
    (out / "stale.html").write_text("stale")
    report = publish(out, service=service)
    assert not (out / "stale.html").exists() and (out / "index.html").read_text() != "old"
    assert report.pages == 751 + len(load_plan().measures) + 7 + 47


def test_the_publish_command(loaded_db: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from crimeplan.cli import app

    result = CliRunner().invoke(app, ["publish", str(tmp_path / "site"), "--db", str(loaded_db)])
    assert result.exit_code == 0, result.output
    measures = len(load_plan().measures)
    assert (f"Wrote {751 + measures + 7 + 47} pages (1 london, 13 bcu, 33 borough, 704 ward; {measures} measures; "
            f"47 reports)") in result.output
    assert "index.html" in result.output and "Open Government Licence" in result.output
    assert (tmp_path / "site" / "area" / "E05013570.html").is_file()
    bad = CliRunner().invoke(app, ["publish", str(tmp_path / "other"), "--db", str(loaded_db),
                                   "--plan", str(tmp_path / "missing.yaml")])
    assert bad.exit_code == 1 and "missing.yaml" in bad.output


@pytest.mark.browser
def test_static_site_works_from_file_urls(published_site, browser, artifacts) -> None:
    """Opened from disk, with no server: the map draws and clicking an area opens its page."""
    root = published_site.out_dir.resolve()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: problems.append(f"request off disk: {r.url}")
            if not r.url.startswith(("file://", "data:")) else None)
    page.goto((root / "index.html").as_uri())
    page.wait_for_function("document.body.dataset.charts")
    page.click("#london-link")
    page.wait_for_url("**/area/E12000007.html")
    page.wait_for_function("document.body.dataset.charts === 'rendered'")
    assert page.locator("#map path.choroplethlocation").count() >= 13
    page.screenshot(path=str(artifacts / "static-london.png"), full_page=False)
    page.click("#area-list a:text-is('Central East Command Unit')")
    page.wait_for_url("**/area/CE.html")
    page.wait_for_function("document.body.dataset.charts === 'rendered'")
    page.goto((root / "search.html").as_uri() + "?q=hackney")
    page.wait_for_selector("#search-results li")
    assert "Hackney" in page.inner_text("#search-results")
    page.click("#search-results a:text-is('Hackney')")
    page.wait_for_url("**/area/E09000012.html")
    page.wait_for_function("document.body.dataset.charts === 'rendered'")
    page.screenshot(path=str(artifacts / "static-hackney.png"), full_page=False)
    page.close()
    assert problems == []


def test_the_site_publishes_no_small_count_of_people(published_site, service) -> None:
    """Every scorecard, level table and series file: no count of victims below 10 (they are '<10' or withheld)."""
    root = published_site.out_dir
    people = {m.id for m in service.plan.measures if m.unit in ("victims", "searches")}
    seen = withheld = 0
    for path in (root / "api" / "scorecard").glob("*.json"):
        card = json.loads(path.read_text())
        for m in (m for p in card["priorities"] for m in p["measures"] if m["id"] in people):
            for entry, fields in [(m, ("current", "baseline_value")), (m["source"] or {}, ("current", "baseline")),
                                  *[(a, ("current", "baseline")) for a in m["alternatives"]]]:
                for field in fields:
                    value = entry.get(field)
                    assert value is None or value >= 10, (path.name, m["id"], field, value)
                    seen += value is not None
            withheld += bool(m.get("suppressed"))
    for path in (root / "api" / "measures").glob("*/levels/*.json"):
        table = json.loads(path.read_text())
        if table["measure"] in people:
            for row in table["areas"]:
                assert row["current"] is None or row["current"] >= 10, (path, row["name"])
    for measure in people:
        path = root / "api" / "measures" / measure / "series.json"
        if path.exists():
            for source in json.loads(path.read_text())["sources"]:
                assert all(p["value"] is None or p["value"] >= 10 for p in source["points"]), measure
    assert seen and withheld  # London's counts are shown; the boroughs' small ones are not
    exported = 0
    for path in (root / "api" / "export").glob("*.csv"):  # the downloads: every area × measure of a level
        for row in csv.DictReader(line for line in path.read_text().splitlines() if not line.startswith("#")):
            if row["measure"] in people:
                for field in ("value", "baseline_value"):
                    assert row[field] in ("", "<10", "withheld") or float(row[field]) >= 10, (path.name, row)
                exported += 1
    assert exported


def test_the_static_site_shows_the_latest_months_and_each_areas_report(published_site) -> None:
    root = published_site.out_dir
    ward = (root / "area" / "E05013570.html").read_text(encoding="utf-8")
    assert "the latest 12 months each source covers" in ward and "the 12 months to March 2026" in ward
    borough = (root / "area" / "E09000012.html").read_text(encoding="utf-8")
    assert 'href="../report/E09000012.html"' in borough
    report = (root / "report" / "E09000012.html").read_text(encoding="utf-8")
    assert "Hackney (borough): performance report" in report and "Open Government Licence" in report
    assert not (root / "report" / "E05013570.html").exists()  # wards have no report
