"""The dashboard in a real browser: Debian's chromium, driven by Playwright, against `crimeplan serve`.

Opens the plan page and checks its numbers against the API; drills London → BCU → borough → ward by
clicking the map and the links; checks that the maps and charts are drawn, that nothing is logged as an
error and that nothing is requested from anywhere but 127.0.0.1. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from crimeplan.web.views import fmt_number, fmt_signed
from crimeplan.present import FUNNEL_POSITION_TEXT, rate_text

pytestmark = pytest.mark.browser


class Watcher:
    """Console errors, page errors, failed requests and requests leaving 127.0.0.1, for one page."""

    def __init__(self, page) -> None:
        self.problems: list[str] = []
        page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} ({r.failure})"))
        page.on("request", self._request)

    def _request(self, request) -> None:
        url = urlsplit(request.url)
        if url.scheme in ("data", "blob", "about", "file"):
            return
        if url.hostname != "127.0.0.1":
            self.problems.append(f"request off the machine: {request.url}")


def _charts_drawn(page) -> str:
    page.wait_for_function("document.body.dataset.charts === 'rendered' || document.body.dataset.charts === 'none'"
                           " || document.body.dataset.charts === 'failed'", timeout=60_000)
    return page.evaluate("document.body.dataset.charts")


def _click_map_area(page, code: str) -> str:
    """Click the map where the area ``code`` is drawn; fall back to Plotly's click event. Says which worked."""
    point = page.evaluate("""(code) => {
        for (const path of document.querySelectorAll('#map path.choroplethlocation')) {
            if (!path.__data__ || path.__data__.loc !== code) continue;
            const box = path.getBBox(), svg = path.ownerSVGElement, m = path.getScreenCTM();
            for (let i = 1; i < 24; i++) for (let j = 1; j < 24; j++) {
                const p = svg.createSVGPoint();
                p.x = box.x + box.width * i / 24; p.y = box.y + box.height * j / 24;
                if (path.isPointInFill(p)) { const s = p.matrixTransform(m); return [s.x, s.y]; }
            }
        }
        return null;
    }""", code)
    before = page.url
    if point is not None:
        page.mouse.move(point[0], point[1])
        page.mouse.click(point[0], point[1])
        try:
            page.wait_for_url(lambda url: url != before, timeout=20_000)  # a page computed cold can take seconds
            return "map region clicked"
        except Exception:  # noqa: BLE001 - fall back to Plotly's own event
            pass
    page.evaluate("""(code) => {
        const gd = document.getElementById('map');
        const trace = gd.data.find(t => t.locations.includes(code));
        const i = trace.locations.indexOf(code);
        gd.emit('plotly_click', {points: [{location: code, customdata: trace.customdata[i]}]});
    }""", code)
    page.wait_for_url(lambda url: url != before, timeout=10_000)
    return "plotly_click dispatched"


def _scorecard_on_page(page) -> dict[str, dict]:
    return page.evaluate("""() => {
        const out = {};
        for (const row of document.querySelectorAll('table.measures tr[data-status="ok"]')) {
            const cell = f => row.querySelector(`[data-field="${f}"]`);
            out[row.dataset.measure] = {
                current: JSON.parse(cell('current').dataset.value), current_text: cell('current').childNodes[0].textContent.trim(),
                change: JSON.parse(cell('change').dataset.value), change_text: cell('change').childNodes[0].textContent.trim(),
                rag: cell('rag').dataset.value, rag_text: cell('rag').innerText};
        }
        return out;
    }""")


def _check_numbers(page, api: dict) -> int:
    shown = _scorecard_on_page(page)
    measures = {m["id"]: m for p in api["priorities"] for m in p["measures"]}
    for mid, row in shown.items():
        m = measures[mid]
        assert row["current"] == m["current"] and row["change"] == m["change"], mid
        withheld = m.get("suppressed") or {}  # a small count of people shows its marker ('<10'), never a number
        assert row["current_text"] == withheld.get("current", fmt_number(m["current"], m["statistic"])), mid
        assert row["change_text"] == withheld.get("change", fmt_signed(m["change"], m["change_unit"])), mid
        assert row["rag"] == m["rag"], mid
        assert {"green": "on track", "amber": "no significant change", "red": "off track",
                "grey": "not assessed"}[m["rag"]] in row["rag_text"], mid  # RAG in words, not only colour
    assert set(shown) == {mid for mid, m in measures.items() if m["status"] == "ok"}
    return len(shown)


def test_plan_page_and_drill_down_from_london_to_a_ward(server, browser, artifacts) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = Watcher(page)

    # The plan page: the numbers are the API's, formatted; sparklines drawn.
    page.goto(f"{server}/")
    assert _charts_drawn(page) == "none"
    api = httpx.get(f"{server}/api/scorecard").json()
    assert _check_numbers(page, api) >= 15
    assert page.locator("svg.spark polyline.spark-cur").count() >= 15
    assert "Open Government Licence" in page.inner_text("#attribution")
    page.screenshot(path=str(artifacts / "1-plan.png"), full_page=True)

    # London: a map of the 13 BCUs, drawn, with the crime mix chart.
    page.click("#london-link")
    page.wait_for_url(f"{server}/area/E12000007")
    assert _charts_drawn(page) == "rendered"
    assert page.locator("#map path.choroplethlocation").count() >= 13
    assert page.locator("#mix-chart g.trace.bars").count() == 2
    page.screenshot(path=str(artifacts / "2-london.png"), full_page=False)

    # Click Central East on the map: its BCU page.
    how = _click_map_area(page, "CE")
    page.wait_for_url(f"{server}/area/CE")
    print(f"London → BCU: {how}")
    assert _charts_drawn(page) == "rendered"
    assert page.inner_text("h1") == "Central East Command Unit"
    assert page.locator("#map path.choroplethlocation").count() >= 2
    _check_numbers(page, httpx.get(f"{server}/api/scorecard", params={"area": "CE"}).json())
    page.screenshot(path=str(artifacts / "3-bcu-central-east.png"), full_page=False)

    # Follow the link to Hackney in the list beside the map.
    page.click("#area-list a:text-is('Hackney')")
    page.wait_for_url(f"{server}/area/E09000012")
    assert _charts_drawn(page) == "rendered"
    assert page.inner_text("h1") == "Hackney"
    wards = page.locator("#map path.choroplethlocation").count()
    assert wards >= 20
    assert "Trust in the Met" in page.inner_text("#trust")  # trust and confidence for the borough
    _check_numbers(page, httpx.get(f"{server}/api/scorecard", params={"area": "E09000012"}).json())
    page.screenshot(path=str(artifacts / "4-borough-hackney.png"), full_page=False)

    # Click a ward on the map: its page, outlined among its neighbours.
    children = httpx.get(f"{server}/api/areas/E09000012").json()["children"]
    ward = sorted(children, key=lambda a: a["name"])[0]
    how = _click_map_area(page, ward["code"])
    page.wait_for_url(f"{server}/area/{ward['code']}")
    print(f"borough → ward: {how}")
    assert _charts_drawn(page) == "rendered"
    assert page.inner_text("h1") == ward["name"]
    assert page.locator("#map path.choroplethlocation").count() >= wards
    assert page.locator("#area-list tr.here").count() == 1
    _check_numbers(page, httpx.get(f"{server}/api/scorecard", params={"area": ward["code"]}).json())
    assert "mps_ward_crime" in page.inner_text("#crime-mix") or page.locator("#mix-chart").count() == 1
    page.screenshot(path=str(artifacts / "5-ward.png"), full_page=True)

    # Up again through the breadcrumbs, and to a measure page with its series and control limits.
    page.click("nav.crumbs a:text-is('Hackney')")
    page.wait_for_url(f"{server}/area/E09000012")
    page.click("tr[data-measure='burglary'] th a")
    page.wait_for_url(f"{server}/measure/burglary?area=E09000012")
    assert _charts_drawn(page) == "rendered"
    assert page.locator("#chart-1 g.trace.scatter").count() >= 4  # series, upper, centre, lower
    assert page.locator("#csv-link").count() == 1
    page.screenshot(path=str(artifacts / "6-measure-burglary-hackney.png"), full_page=False)
    context.close()
    assert watch.problems == []


def test_search_claims_and_period_selection(server, browser, artifacts) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = Watcher(page)
    page.goto(f"{server}/")
    page.fill("#q", "Hackney")
    page.press("#q", "Enter")
    page.wait_for_url(f"{server}/search?q=Hackney")
    page.click("#search-results a:text-is('Hackney')")
    page.wait_for_url(f"{server}/area/E09000012")
    _charts_drawn(page)
    # choose another period and baseline: the page and the API agree
    page.fill("#period", "FY2021-22")
    page.select_option("#baseline", "FY2019-20")
    page.click(".selectors button")
    page.wait_for_url("**/area/E09000012?*period=FY2021-22*")
    _charts_drawn(page)
    assert "financial year 2021-22" in page.inner_text(".selectors")
    api = httpx.get(f"{server}/api/scorecard", params={"area": "E09000012", "period": "FY2021-22",
                                                       "baseline": "FY2019-20"}).json()
    _check_numbers(page, api)
    # the claims page explains each verdict in words
    page.goto(f"{server}/claims")
    claims = httpx.get(f"{server}/api/claims/check").json()
    assert page.locator("article.claim").count() == len(claims)
    for c in claims:
        text = page.inner_text(f"#claim-{c['id']}")
        assert c["verdict"] in text and c["plain"][:40] in text
    page.screenshot(path=str(artifacts / "7-claims.png"), full_page=False)
    context.close()
    assert watch.problems == []


def test_a_map_coloured_by_hot_spots(server, browser, artifacts) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = Watcher(page)
    page.goto(f"{server}/area/E09000012?period=2021&map=burglary")
    _charts_drawn(page)
    page.select_option("#map-colour", "hotspots")  # redraws the page coloured by Gi* classes
    page.wait_for_url("**/area/E09000012?*colour=hotspots*")
    assert _charts_drawn(page) == "rendered"
    api = httpx.get(f"{server}/api/measures/burglary/hotspots/ward", params={"period": "2021"}).json()
    expected = {a["code"]: a["classification"] for a in api["areas"] if a["parent_code"] == "E09000012"}
    shown = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#area-list tr[data-area]')]
        .map(row => [row.dataset.area, row.dataset.hotspot]))""")
    assert shown == expected and "hot spot" in shown.values()
    assert page.locator("#map path.choroplethlocation").count() >= len(expected)
    assert "hot spot" in page.evaluate("document.querySelector('#map .colorbar').textContent")  # labelled in words
    assert f"{api['hot_spots']} hot spots" in page.inner_text("#hotspot-summary")
    page.screenshot(path=str(artifacts / "8-hotspots-hackney.png"), full_page=False)
    context.close()
    assert watch.problems == []


@pytest.mark.parametrize("query", [{}, {"offence": "All burglary", "period": "2018-12", "baseline": "2015-12"},
                                   {"period": "2007-12", "baseline": "2006-12"}])
def test_the_forces_page(server, browser, artifacts, axe, query) -> None:
    """The forces page: its chart and table show the API's figures, the plan's force highlighted, and axe finds no
    WCAG 2.2 AA violation."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = Watcher(page)
    api = httpx.get(f"{server}/api/forces", params=query).json()
    if query:
        page.goto(f"{server}/forces")
        _charts_drawn(page)
        page.select_option("#offence", query.get("offence", "All offences"))
        page.select_option("#period", query["period"])
        page.select_option("#baseline", query["baseline"])
        page.click("#forces-form button")
        page.wait_for_url(f"**/forces?*baseline={query['baseline']}*")
    else:
        page.goto(f"{server}/forces")
    compared = [f for f in api["forces"] if f["status"] == "ok"]
    assert _charts_drawn(page) == ("rendered" if compared else "none")
    assert page.inner_text("h1") == "Forces compared"
    shown = page.evaluate("""() => Array.from(document.querySelectorAll('#forces-table tbody tr')).map(tr => ({
        force: tr.dataset.force, status: tr.dataset.status, here: tr.classList.contains('here'),
        current: JSON.parse(tr.querySelector('[data-field=current]').dataset.value),
        baseline: JSON.parse(tr.querySelector('[data-field=baseline]').dataset.value),
        change: JSON.parse(tr.querySelector('[data-field=change]').dataset.value),
        change_text: tr.querySelector('[data-field=change]').textContent,
        verdict: tr.querySelector('[data-field=verdict]').dataset.value}))""")
    assert len(shown) == len(api["forces"]) == 43
    by_force = {f["force"]: f for f in api["forces"]}
    for row in shown:
        f = by_force[row["force"]]
        assert (row["status"], row["current"], row["baseline"], row["change"], row["verdict"], row["here"]) == \
            (f["status"], f["current"], f["baseline"], f["change_pct"], f["verdict"], f["highlighted"])
        if f["status"] == "ok":
            assert fmt_signed(f["change_pct"], "%") in row["change_text"]
    assert [r["force"] for r in shown if r["here"]] == ["Metropolitan Police"] == \
        [f["force"] for f in api["forces"] if f["highlighted"]]
    if compared:
        # the chart: every force compared, sorted by change, the Met drawn apart (its own trace)
        traces = page.evaluate("""() => document.getElementById('forces-change').data.map(t => ({
            name: t.name, x: t.x, y: t.y, plus: t.error_x.array, minus: t.error_x.arrayminus}))""")
        plotted = {y.replace("<b>", "").replace("</b>", ""): (x, x + plus, x - minus)
                   for t in traces for x, y, plus, minus in zip(t["x"], t["y"], t["plus"], t["minus"])}
        assert set(plotted) == {f["force"] for f in compared}
        for f in compared:
            x, high, low = plotted[f["force"]]
            assert x == pytest.approx(f["change_pct"]) and low == pytest.approx(f["change_low_pct"])
            assert high == pytest.approx(f["change_high_pct"])
        highlighted = [t for t in traces if t["name"] == "highlighted"]
        assert highlighted and highlighted[0]["y"] == ["<b>Metropolitan Police</b>"]
        order = page.evaluate("document.getElementById('forces-change').layout.yaxis.categoryarray")
        changes = [by_force[n.replace("<b>", "").replace("</b>", "")]["change_pct"] for n in order]
        assert changes == sorted(changes)  # drawn bottom to top: the largest rise at the top
    assert "rec-crime-pfa.csv" in page.inner_text("#page-sources")
    assert "Open Government Licence" in page.inner_text("#attribution")
    assert axe(page) == []
    name = "default" if not query else f"{query['period']}-{query['baseline']}"
    page.screenshot(path=str(artifacts / f"forces-{name}.png"), full_page=True)
    context.close()
    assert watch.problems == []


def test_the_outcome_funnel_page_shows_the_apis_forces(server, browser, artifacts) -> None:
    """The funnel page: every force of the API in the table and on the chart at its n and share, with its position
    in words, the chart's limits the API's curve; choosing another group shows that group's figures."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = Watcher(page)
    page.goto(f"{server}/forces/outcomes")
    assert _charts_drawn(page) == "rendered"
    for group in ("no suspect identified", "charged or summonsed"):
        api = httpx.get(f"{server}/api/outcomes/forces", params={"group": group}).json()
        if group != "no suspect identified":
            page.select_option("#group", group)
            page.click("#funnel-form button")
            page.wait_for_url("**/forces/outcomes?group=*")
            assert _charts_drawn(page) == "rendered"
        shown = page.evaluate("""() => Array.from(document.querySelectorAll('#funnel-table tbody tr')).map(tr => ({
            force: tr.dataset.force, position: tr.dataset.position,
            crimes: JSON.parse(tr.querySelector('[data-field=crimes]').dataset.value),
            reached: JSON.parse(tr.querySelector('[data-field=reached]').dataset.value),
            share: JSON.parse(tr.querySelector('[data-field=share]').dataset.value),
            words: tr.querySelector('[data-field=position]').textContent}))""")
        assert len(shown) == len(api["forces"]) >= 25
        by_force = {f["force"]: f for f in api["forces"]}
        for row in shown:
            f = by_force[row["force"]]
            assert (row["crimes"], row["reached"], row["share"], row["position"]) == \
                (f["crimes"], f["reached"], f["share"], f["position"])
            assert row["words"] == FUNNEL_POSITION_TEXT[f["position"]]
        traces = page.evaluate("""() => document.getElementById('funnel').data.map(t => ({
            name: t.name, mode: t.mode, x: t.x, y: t.y}))""")
        # the chart carries shares and limits to a thousandth of a point
        points = {(x, y) for t in traces if t["mode"] == "markers" for x, y in zip(t["x"], t["y"])}
        assert points == {(f["crimes"], round(f["share"], 3)) for f in api["forces"]}
        limits = [t for t in traces if t["name"] == "95% limits"]
        assert sorted(t["y"] for t in limits) == sorted([[round(v, 3) for v in api["curve"]["95%"][side]]
                                                         for side in ("low", "high")])
        assert api["group"] in page.inner_text("h1")
    assert "national-street-2018-10_2019-02.zip" in page.inner_text("#page-sources")
    assert "Open Government Licence" in page.inner_text("#attribution")
    page.screenshot(path=str(artifacts / "outcome-funnel.png"), full_page=True)
    context.close()
    assert watch.problems == []


@pytest.mark.parametrize("path", ["/", "/area/E12000007", "/area/E09000012", "/measure/burglary", "/claims", "/forces",
                                  "/area/E09000012?period=2021&map=burglary&colour=hotspots"])
def test_pages_fit_a_phone(server, browser, artifacts, axe, path) -> None:
    """Nothing wider than a phone's screen; the tables that scroll sideways take keyboard focus (axe-core)."""
    context = browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    watch = Watcher(page)
    page.goto(f"{server}{path}")
    _charts_drawn(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{path} is {width} px wide at phone width"
    name = path.split("?")[0].strip("/").replace("/", "-") + ("-hotspots" if "hotspots" in path else "") or "plan"
    page.screenshot(path=str(artifacts / f"phone-{name}.png"), full_page=False)
    problems = list(watch.problems)
    found = axe(page)
    context.close()
    assert problems == []
    assert found == [], f"{path} at phone width: {len(found)} WCAG 2.2 AA violation(s):\n" + "\n".join(found)


# --- WCAG 2.2 AA: axe-core on every kind of page ------------------------------------------------------------------

def _post_claims(page) -> None:
    """Check the shipped claims again through the page's form."""
    page.click("#check-your-own button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("article.claim").count() > 0


def _post_broken_claims(page) -> None:
    """A claims file that cannot be read: the page says why."""
    page.fill("#claims-text", "- id: [unclosed\n")
    page.click("#check-your-own button[type=submit]")
    page.wait_for_selector("#claims-problems")


# Every kind of page `crimeplan serve` draws: (name, path, what to do on the page before axe runs).
SERVED_PAGES = [
    ("plan", "/", None),
    ("london", "/area/E12000007", None),
    ("bcu", "/area/EA", None),
    ("borough", "/area/E09000012", None),
    ("ward", "/area/E05013570", None),
    ("borough-2014-wards", "/area/E09000012?wards=2014", None),
    ("ward-2014", "/area/ward2014:E05000405", None),
    ("map-hotspots", "/area/E09000012?period=2021&map=burglary&colour=hotspots", None),
    ("map-current", "/area/E12000007?colour=current", None),
    ("measure", "/measure/burglary?area=E09000012", None),
    ("measure-london", "/measure/burglary", None),
    ("claims", "/claims", None),
    ("claims-posted", "/claims", _post_claims),
    ("claims-error", "/claims", _post_broken_claims),
    ("search", "/search?q=hack", None),
    ("sources", "/sources", None),
    ("api", "/api", None),
    ("forces", "/forces", None),
    ("outcome-funnel", "/forces/outcomes", None),
    ("not-found", "/area/NOWHERE", None),
]

# The second shipped plan (Merseyside): its plan page and the force's page (local authorities listed, no map).
MERSEYSIDE_PAGES = [("merseyside-plan", "/"), ("merseyside-force", "/area/merseyside")]

# The static site (`crimeplan publish`), opened from file://.
STATIC_PAGES = ["index.html", "area/E12000007.html", "area/EA.html", "area/E09000012.html", "area/E05013570.html",
                "measure/burglary.html", "claims.html", "search.html?q=hack", "sources.html", "api/index.html",
                "forces.html", "forces-outcomes.html"]


# Pages answered with an error status on purpose: the browser logs the status as a console error.
EXPECTED_STATUS = {"not-found": 404, "claims-error": 422}


def _axe_page(browser, artifacts, axe, url: str, name: str, action=None) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = Watcher(page)
    page.goto(url)
    if action:
        action(page)
    drawn = _charts_drawn(page)
    assert drawn in ("rendered", "none"), f"{url}: charts {drawn}"
    status = EXPECTED_STATUS.get(name)
    problems = [p for p in watch.problems if not (status and f"status of {status}" in p)]
    # no mode bar button that would send a chart off the machine (Plotly's "Share chart...")
    assert page.locator(".modebar-btn[data-title^='Share']").count() == 0
    found = axe(page)  # after the page's own problems: axe-core asks for the stylesheets itself (refused on file://)
    page.screenshot(path=str(artifacts / f"axe-{name}.png"), full_page=True)
    context.close()
    assert found == [], f"{url}: {len(found)} WCAG 2.2 AA violation(s):\n" + "\n".join(found)
    assert problems == []


@pytest.mark.parametrize(("name", "path", "action"), SERVED_PAGES, ids=[p[0] for p in SERVED_PAGES])
def test_axe_finds_no_violation_on_any_kind_of_page(server, browser, artifacts, axe, name, path, action) -> None:
    """axe-core's WCAG 2.0/2.1/2.2 A and AA rules pass on every kind of page, charts and maps drawn."""
    _axe_page(browser, artifacts, axe, f"{server}{path}", name, action)


@pytest.mark.parametrize(("name", "path"), MERSEYSIDE_PAGES, ids=[p[0] for p in MERSEYSIDE_PAGES])
def test_axe_finds_no_violation_on_the_second_plan(merseyside_server, browser, artifacts, axe, name, path) -> None:
    _axe_page(browser, artifacts, axe, f"{merseyside_server}{path}", name)


@pytest.mark.parametrize("path", STATIC_PAGES)
def test_axe_finds_no_violation_on_the_static_site(published_site, browser, artifacts, axe, path) -> None:
    url = (published_site.out_dir / path.split("?")[0]).as_uri() + ("?" + path.split("?")[1] if "?" in path else "")
    name = "static-" + path.split("?")[0].removesuffix(".html").replace("/", "-")
    _axe_page(browser, artifacts, axe, url, name)


def test_an_area_page_works_from_the_keyboard(server, browser, artifacts) -> None:
    """Tab through a borough's page: every visible link and control is reached, in turn, and each shows a focus ring
    (at least 2 px) inside the window; the skip link comes first."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = Watcher(page)
    page.goto(f"{server}/area/E09000012")
    assert _charts_drawn(page) == "rendered"
    expected = page.evaluate("""() => {
        const all = document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary,'
                                              + ' [tabindex]:not([tabindex="-1"])');
        let n = 0;
        for (const el of all) {
            if (el.disabled || !el.checkVisibility({visibilityProperty: true})) continue;
            el.dataset.kb = String(n++);
        }
        return n;
    }""")
    reached, whats, unringed, outside = [], [], [], []
    for _ in range(expected + 20):
        page.keyboard.press("Tab")
        info = page.evaluate("""() => {
            const el = document.activeElement;
            if (!el || el === document.body) return null;
            const s = getComputedStyle(el), r = el.getBoundingClientRect();
            return {kb: el.dataset.kb ?? null, what: el.outerHTML.slice(0, 100),
                    ring: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none',
                    inside: r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth};
        }""")
        if info is None or (reached and info["kb"] == reached[0]):
            break  # out of the page, or round again
        reached.append(info["kb"])
        whats.append(info["what"])
        if not info["ring"]:
            unringed.append(info["what"])
        if not info["inside"]:
            outside.append(info["what"])
    page.keyboard.press("Shift+Tab")
    page.screenshot(path=str(artifacts / "keyboard-last-stop.png"), full_page=False)
    missed = page.evaluate("""(reached) => [...document.querySelectorAll('[data-kb]')]
        .filter(el => !reached.includes(el.dataset.kb)).map(el => el.outerHTML.slice(0, 100))""", reached)
    context.close()
    assert 'class="skip"' in whats[0], whats[:3]
    assert missed == [], f"{len(missed)} of {expected} links and controls never reached by Tab: {missed[:10]}"
    assert None not in reached, [w for k, w in zip(reached, whats) if k is None][:10]  # only what was expected
    assert unringed == [] and outside == []
    assert watch.problems == []


def test_a_boroughs_where_needed_most_section_shows_the_apis_figures(server, browser, artifacts) -> None:
    """The Town Centre Team and ward officer view: Westminster's top wards, their rank intervals, the top's share of
    the harm and the concentration table, read from the page and compared with /api/areas/{key}/needs."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = Watcher(page)
    page.goto(f"{server}/area/E09000033")
    assert _charts_drawn(page) == "rendered"
    page.locator("#needs").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "needs-westminster.png"), full_page=False)
    api = httpx.get(f"{server}/api/areas/E09000033/needs", timeout=60).json()
    ranked = api["priorities"]
    assert ranked["status"] == "ok" and ranked["level"] == "ward"
    rows = page.evaluate("""() => [...document.querySelectorAll('#needs-table tbody tr')].map(tr =>
        [...tr.children].map(c => c.innerText.trim()))""")
    shown = [a for a in ranked["areas"] if a["rank_low"] <= ranked["top"]]
    assert len(rows) == len(shown) > 0
    for row, a in zip(rows, shown):
        rank = f"{a['rank']} ({a['rank_low']} to {a['rank_high']})"
        assert row[0] == rank and row[1] == a["name"] and row[2] == fmt_number(a["value"])
        assert row[4] == a["standing"]
    share = ranked["top_share"]
    text = page.locator("#needs").inner_text()
    assert f"{share['corrected'] * 100:.1f}% ({share['interval'][0] * 100:.1f}% to {share['interval'][1] * 100:.1f}%)" in text
    top5 = api["concentration"]["top"][1]
    cells = page.evaluate("""() => [...document.querySelectorAll('#concentration-table tbody tr')].map(tr =>
        [...tr.children].map(c => c.innerText.trim()))""")
    assert cells[1][2] == f"{top5['share'] * 100:.1f}%"
    assert page.locator("#concentration-chart .main-svg").count() > 0  # the curve is drawn
    page.goto(f"{server}/area/EA")
    assert page.locator("#panel-county-lines-proxies table tbody tr").count() == len(
        httpx.get(f"{server}/api/panels/county-lines-proxies?area=EA", timeout=60).json()["areas"])
    assert not watch.problems, watch.problems
    context.close()


def test_a_boroughs_fairness_section_shows_the_apis_figures(server, browser, artifacts) -> None:
    """Lambeth's Fairness section: every group's residents, searches, rate and rate ratio, the boroughs' chart and
    table, and the outcome test, read from the page and compared with /api/areas/{key}/fairness."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = Watcher(page)
    page.goto(f"{server}/area/E09000022?period=FY2023-24")
    assert _charts_drawn(page) == "rendered"
    page.locator("#fairness").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "fairness-lambeth.png"), full_page=False)
    api = httpx.get(f"{server}/api/areas/E09000022/fairness?period=FY2023-24", timeout=60).json()
    assert api["status"] == "ok" and api["period"] == "FY2023-24"
    rows = page.evaluate("""() => [...document.querySelectorAll('#fairness-table tbody tr')].map(tr =>
        [...tr.children].map(c => c.innerText.trim()))""")
    assert [r[0] for r in rows] == api["groups"]
    for row, group in zip(rows, api["groups"]):
        c = api["figures"]["officer"][group]
        assert row[1] == fmt_number(c["residents"]) and row[2] == fmt_number(c["searches"])
        assert row[3] == rate_text(c["per_1000"])
        if group != "White":
            assert row[4] == f"{c['ratio']:.2f} ({c['interval'][0]:.2f} to {c['interval'][1]:.2f})"
            assert row[5] == c["verdict"]
    boroughs = page.evaluate("""() => [...document.querySelectorAll('#fairness-areas-table tbody tr')].map(tr =>
        [tr.dataset.code, ...[...tr.children].map(c => c.innerText.trim())])""")
    by_code = {r["code"]: r for r in api["siblings"]["areas"]}
    assert len(boroughs) == len(by_code) == 32
    for code, name, searches, rate, ratio, verdict in boroughs:
        black = by_code[code]["officer"]["Black"]
        assert name == by_code[code]["name"] and verdict == (black["verdict"] or "")
        if black["ratio"] is not None:
            assert ratio == f"{black['ratio']:.2f} ({black['interval'][0]:.2f} to {black['interval'][1]:.2f})"
    arrests = page.evaluate("""() => [...document.querySelectorAll('#fairness-outcomes-table tbody tr')].map(tr =>
        [...tr.children].map(c => c.innerText.trim()))""")
    black = api["figures"]["outcomes"]["Black"]
    assert arrests[1][2] == fmt_number(black["arrests"]) and arrests[1][3] == f"{black['share'] * 100:.1f}%"
    assert page.locator("#fairness-chart .main-svg").count() > 0 and page.locator("#fairness-map .main-svg").count() > 0
    assert "Knowles, Persico and Todd" in page.locator("#fairness").inner_text()
    assert not watch.problems, watch.problems
    context.close()
