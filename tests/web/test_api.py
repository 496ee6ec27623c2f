"""The JSON API and the pages, through FastAPI's test client, on the real data."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from crimeplan import OGL_ATTRIBUTION, OS_ATTRIBUTION
from crimeplan.claims import check_claims, load_claims, shipped_claims_text
from crimeplan.measures.levels import level_table


def _json(data):
    return json.loads(json.dumps(data))


def test_openapi_document_lists_the_endpoints(client) -> None:
    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    for path in ("/api/plan", "/api/scorecard", "/api/measures/{measure_id}/series",
                 "/api/measures/{measure_id}/levels/{level}", "/api/areas", "/api/areas/{key}",
                 "/api/areas/{key}/children.geojson", "/api/areas/{key}/crime-mix", "/api/geojson/{level}",
                 "/api/edition", "/api/measures/{measure_id}/hotspots/{level}", "/api/forces", "/api/forces.csv",
                 "/api/outcomes/forces", "/api/outcomes/forces.csv", "/api/areas/{key}/outcomes",
                 "/api/outcomes/areas", "/api/outcomes/areas.csv"):
        assert "get" in paths[path], path
    assert "post" in paths["/api/claims/check"]
    assert "application/yaml" in paths["/api/claims/check"]["post"]["requestBody"]["content"]
    scorecard_params = {p["name"] for p in paths["/api/scorecard"]["get"]["parameters"]}
    assert scorecard_params == {"area", "period", "baseline"}
    # the HTML index of the API lists the same endpoints, and needs no CDN (no Swagger UI)
    page = client.get("/api")
    assert page.status_code == 200 and "/api/measures/{measure_id}/series" in page.text
    assert client.get("/docs").status_code == 404


@pytest.mark.parametrize("area,period,baseline", [
    (None, None, None), ("EA", "2021", "2019"), ("Hackney", "FY2021-22", "FY2019-20"),
    ("E05013570", "2021", "2019"), ("ward2014:E05000405", "2021", "year-earlier"),
])
def test_scorecard_equals_the_engine(client, service, area, period, baseline) -> None:
    params = {k: v for k, v in {"area": area, "period": period, "baseline": baseline}.items() if v}
    response = client.get("/api/scorecard", params=params)
    assert response.status_code == 200, response.text
    expected = _json(service.engine.scorecard(area, period, baseline).to_dict())
    got = response.json()
    # Counts of people (victims) below 10, and what would give them away, are withheld (tests/test_disclosure.py):
    # those measures agree with the engine on their judgement, and on every figure the API does publish.
    people = {m.id for m in service.plan.measures if m.unit in ("victims", "searches")}
    for p_got, p_exp in zip(got["priorities"], expected["priorities"]):
        for m_got, m_exp in zip(p_got["measures"], p_exp["measures"]):
            if m_got["id"] in people and m_got.get("suppressed"):
                assert m_got["verdict"] == m_exp["verdict"] and m_got["p_value"] is None  # a p on small counts gives them
                for field in ("current", "baseline_value"):
                    assert m_got[field] in (None, m_exp[field])
                    assert m_got[field] is not None or m_exp[field] is None or field in m_got["suppressed"]
                m_got.clear(), m_exp.clear()
    assert got == expected
    assert got["attribution"] == f"{OGL_ATTRIBUTION} {OS_ATTRIBUTION}"


def test_series_and_levels_equal_the_engine(client, service) -> None:
    series = client.get("/api/measures/burglary/series", params={"area": "E09000012", "by": "quarter"})
    assert series.status_code == 200
    assert series.json() == _json(service.engine.series("burglary", "E09000012", "quarter"))
    levels = client.get("/api/measures/burglary/levels/borough", params={"period": "2021", "baseline": "2019"})
    assert levels.status_code == 200
    table = levels.json()
    assert table == _json(level_table(service.engine, "burglary", "borough", "2021", "2019"))
    assert len(table["areas"]) == 33
    # each area's figures are exactly its scorecard's
    for row in table["areas"][:5]:
        result = service.engine.result("burglary", row["code"], "2021", "2019").to_dict()
        assert (row["current"], row["change"], row["interval"], row["verdict"], row["rag"]) == (
            result["current"], result["change"], result["interval"], result["verdict"], result["rag"])
    csv = client.get("/api/measures/burglary/series.csv", params={"area": "E09000012"})
    assert csv.status_code == 200 and csv.text.startswith("measure,area_code,source,period,value")
    assert OGL_ATTRIBUTION in csv.text


def test_areas_search_detail_and_boundaries(client) -> None:
    bcus = client.get("/api/areas", params={"level": "bcu"}).json()
    assert len(bcus) == 13 and {"EA", "CE", "CP"} <= {a["code"] for a in bcus}
    found = client.get("/api/areas", params={"q": "hackney"}).json()
    assert found[0]["code"] == "E09000012"  # the borough comes first
    wards = client.get("/api/areas", params={"level": "ward"}).json()
    assert len(wards) == 704
    detail = client.get("/api/areas/E09000012").json()
    assert [a["level"] for a in detail["ancestors"]] == ["london", "bcu"]
    assert detail["children_level"] == "ward" and len(detail["children"]) > 10
    geo = client.get("/api/areas/E12000007/children.geojson")
    assert geo.status_code == 200 and geo.headers["content-type"].startswith("application/geo+json")
    collection = geo.json()
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == 13
    assert {f["id"] for f in collection["features"]} == {a["code"] for a in bcus}
    for f in collection["features"]:
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon") and f["properties"]["name"]
    boroughs = client.get("/api/geojson/borough", params={"parent": "CE"}).json()
    assert {f["properties"]["name"] for f in boroughs["features"]} == {"Hackney", "Tower Hamlets"}


def test_crime_mix_counts_add_up(client) -> None:
    mix = client.get("/api/areas/E09000012/crime-mix", params={"period": "2021"}).json()
    assert mix["dataset"] == "mps_borough_crime" and mix["period"] == "2021"
    assert sum(c["count"] for c in mix["categories"]) == mix["total"] > 0
    assert sum(m["count"] for m in mix["majors"]) == mix["total"]
    assert abs(sum(c["harm_share_pct"] for c in mix["categories"]) - 100) < 1e-6
    assert mix["files"]
    # ward recorded crime is published for recent months only: the latest year, said so
    ward = client.get("/api/areas/E05013570/crime-mix", params={"period": "2021"}).json()
    assert ward["requested_period"] == "2021" and ward["period"].startswith("rolling:")
    assert ward["dataset"] == "mps_ward_crime" and "no recorded-crime file covers" in ward["note"]


def test_unknown_codes_get_404_with_a_message(client) -> None:
    r = client.get("/api/scorecard", params={"area": "Atlantis"})
    assert r.status_code == 404 and "Atlantis" in r.json()["detail"]
    r = client.get("/api/measures/no_such_measure/series")
    assert r.status_code == 404 and "no_such_measure" in r.json()["detail"]
    r = client.get("/api/areas/E09999999")
    assert r.status_code == 404 and "E09999999" in r.json()["detail"]
    r = client.get("/api/areas/E09999999/children.geojson")
    assert r.status_code == 404
    page = client.get("/area/Atlantis")
    assert page.status_code == 404 and "Atlantis" in page.text and OGL_ATTRIBUTION in page.text
    assert client.get("/measure/no_such_measure").status_code == 404
    assert client.get("/no/such/page").status_code == 404


def test_a_series_the_source_does_not_cover_is_unknown_not_a_500(client) -> None:
    # A City of London ward: the Met's files do not cover it, so its values are unknown (never 0) and get no SPC limits.
    r = client.get("/api/measures/burglary/series", params={"area": "E05009297"})
    assert r.status_code == 200, r.text
    ward = next(s for s in r.json()["sources"] if s["dataset"] == "mps_ward_crime")
    assert ward["points"] and all(p["value"] is None for p in ward["points"]) and not ward.get("spc")


def test_bad_parameters_get_422_with_the_parsers_message(client) -> None:
    r = client.get("/api/scorecard", params={"period": "2021-13"})
    assert r.status_code == 422 and "month 13 is not a month" in r.json()["detail"]
    r = client.get("/api/scorecard", params={"period": "last summer"})
    assert r.status_code == 422 and "is not a period; expected" in r.json()["detail"]
    for far in ("0000", "rolling:0001-01", "9999-Q4", "FY0000-01"):  # were 500s (date arithmetic before year 1)
        r = client.get("/api/scorecard", params={"period": far})
        assert r.status_code == 422 and "must lie between 1900 and 2100" in r.json()["detail"], far
    for far in ("0000-03", "0001-03"):  # the forces' quarter ends, and their year-earlier baseline
        r = client.get("/api/forces", params={"period": far})
        assert r.status_code == 422 and "must lie between 1900 and 2100" in r.json()["detail"], far
    r = client.get("/api/scorecard", params={"period": "last summer"})
    assert r.status_code == 422 and "is not a period; expected" in r.json()["detail"]
    r = client.get("/api/scorecard", params={"baseline": "the good old days"})
    assert r.status_code == 422 and "previous or year-earlier" in r.json()["detail"]
    r = client.get("/api/measures/burglary/levels/county")
    assert r.status_code == 422 and "county" in json.dumps(r.json()["detail"])
    r = client.get("/api/measures/burglary/series", params={"by": "week"})
    assert r.status_code == 422
    r = client.get("/api/measures/pas_trust_mps/series", params={"area": "E05013570"})
    assert r.status_code == 422 and "not measured at ward level" in r.json()["detail"]
    page = client.get("/area/E09000012", params={"period": "FY2021"})
    assert page.status_code == 422 and "is not a period" in page.text
    assert client.get("/area/E09000012", params={"wards": "1999"}).status_code == 422
    assert client.get("/area/E09000012", params={"colour": "red"}).status_code == 422
    assert client.get("/area/E09000012", params={"map": "no_such_measure"}).status_code == 404


def test_no_sql_is_built_from_input(client) -> None:
    nasty = "E09000012'; DROP TABLE files; --"
    assert client.get("/api/scorecard", params={"area": nasty}).status_code == 404
    assert client.get("/api/areas", params={"q": nasty}).json() == []
    assert client.get(f"/api/areas/{nasty}").status_code == 404
    assert client.get("/api/edition").json()["files"]  # the warehouse is intact


def test_claims_check_posts_a_claims_file(client, service) -> None:
    text, name = shipped_claims_text()
    r = client.post("/api/claims/check", content=text.encode(), headers={"content-type": "application/yaml"})
    assert r.status_code == 200, r.text
    expected = [c.to_dict() for c in check_claims(service.engine, load_claims(None, service.plan, service.engine.areas))]
    got = r.json()
    assert [(c["id"], c["verdict"], c["computed_change_pct"]) for c in got] == \
        [(c["id"], c["verdict"], c["computed_change_pct"]) for c in _json(expected)]
    assert {c["verdict"] for c in got} >= {"supported", "not supported", "unverifiable"}
    assert all(c["plain"] for c in got)
    assert client.get("/api/claims/check").json() == got  # the shipped examples, by GET


def test_a_bad_claims_file_gets_422_naming_the_claim_and_field(client) -> None:
    bad = """plan: london-2022-25
claims:
  - id: homicide-typo
    statement: Homicides fell by 12%.
    measure: homicides_typo
    period: "2021"
    baseline: "2019"
    stated_change_pct: -12
  - id: burglary-words
    statement: Burglary fell a lot.
    measure: burglary
    period: "2021"
    baseline: "2019"
    stated_change_pct: lots
"""
    r = client.post("/api/claims/check", content=bad.encode(), headers={"content-type": "application/yaml"})
    assert r.status_code == 422
    problems = r.json()["problems"]
    assert any("homicide-typo" in p and "measure" in p and "line 5" in p for p in problems), problems
    assert any("burglary-words" in p and "stated_change_pct" in p for p in problems), problems
    assert client.post("/api/claims/check", content=b"").status_code == 422
    assert client.post("/api/claims/check", content=b"\xff\xfe claims").status_code == 422
    # the claims page's form says the same
    page = client.post("/claims", data={"claims": bad})
    assert page.status_code == 422 and "homicide-typo" in page.text and "stated_change_pct" in page.text


def test_the_claims_page_checks_pasted_claims(client) -> None:
    text, _ = shipped_claims_text()
    one = text.split("\n  - id: knife-u25-2021")[0]  # the header and the first claim
    page = client.post("/claims", data={"claims": one})
    assert page.status_code == 200
    assert page.text.count('<article class="claim') == 1 and 'id="claim-homicide-2021"' in page.text
    assert 'data-verdict="supported"' in page.text


PAGES = ["/", "/?period=FY2021-22&baseline=FY2019-20", "/area/E12000007", "/area/EA", "/area/CP", "/area/E09000012",
         "/area/E09000012?wards=2014&map=burglary&colour=current",
         "/area/E05013570", "/area/ward2014:E05000405", "/measure/burglary", "/measure/pas_trust_mps?area=E09000012",
         "/measure/homicide_offences?area=EA&period=2022&baseline=previous", "/measure/burglary?area=E05013570",
         "/measure/pas_trust_mps?area=E05013570", "/measure/knife_crime", "/claims", "/sources",
         "/search?q=Hackney", "/api", "/forces", "/forces?offence=All+burglary&period=2016-12&baseline=2015-12",
         "/forces?period=2007-12&baseline=2006-12", "/forces/outcomes", "/forces/outcomes?group=charged+or+summonsed"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_returns_200_with_attribution_and_sources(client, service, path) -> None:
    r = client.get(path)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert OGL_ATTRIBUTION in html and OS_ATTRIBUTION in html
    edition = service.edition()
    assert edition["label"] in html
    # no resource from the internet: scripts and styles are crimeplan's own
    assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', html)
    assert '/static/crimeplan.css' in html
    # the files behind the figures are named on the page (pages without figures: the edition's files)
    assert 'id="page-sources"' in html
    names = {unescape(n) for n in re.findall(r'<span class="source-file">([^<]+)</span>', html)}
    assert names and names <= {f["name"] for f in edition["files"]}


def test_the_outcome_endpoints_answer_as_the_facade_does(client, service) -> None:
    funnel = client.get("/api/outcomes/forces").json()
    assert funnel == service.outcome_funnel(None, None, None, None, None)
    assert funnel["group"] == "no suspect identified" and len(funnel["forces"]) >= 25
    csv_text = client.get("/api/outcomes/forces.csv").text
    assert csv_text.splitlines()[0].startswith("force,crimes,reached,unknown,share,position")
    assert len(csv_text.splitlines()) == len(funnel["forces"]) + 2  # the header, the forces, the attribution
    croydon = client.get("/api/areas/Croydon/outcomes", params={"period": "2019"}).json()
    assert croydon["status"] == "ok" and croydon["within_months"] == 0 and croydon["crimes"] > 2_500
    assert croydon == service.outcomes(service.area("Croydon").key, "2019", (), None)
    six = client.get("/api/areas/Croydon/outcomes", params={"period": "2019", "within": 6}).json()
    assert six["status"] == "not final" and "short of the 6 months' follow-up" in six["message"]
    for params, words in (({"within": 99}, "from 0 to 36"), ({"crime_type": "Robbery"}, "no crimes of type 'Robbery'")):
        r = client.get("/api/areas/Croydon/outcomes", params=params)
        assert r.status_code == 422 and words in r.json()["detail"]
    # The borough page's Victims section shows the API's figures, group by group.
    from crimeplan.present import FUNNEL_POSITION_TEXT, percent_text

    page = client.get("/area/Croydon", params={"period": "2019"}).text
    section = page[page.index('<section id="victims">'):]
    section = section[: section.index("</section>")]
    for g in croydon["groups"]:
        assert f'<tr data-group="{g["group"]}"><th scope="row">{g["group"]}</th>' in section
        assert percent_text(g["share"], g["low"], g["high"]) in section
    assert "n = 2,748 crimes with a Crime ID" in section and 'href="/forces/outcomes"' in section
    # The boroughs on the funnel, Croydon marked: in the API as the façade gives it, and on the page in words.
    boroughs = client.get("/api/outcomes/areas", params={"level": "borough", "period": "2019",
                                                         "highlight": "Croydon"}).json()
    assert boroughs == _json(service.outcome_areas_funnel("borough", "2019", None, "Croydon"))
    mine = next(a for a in boroughs["areas"] if a["highlighted"])
    assert mine["name"] == "Croydon" and (mine["crimes"], mine["reached"]) == (2748, 34)
    assert (f"Croydon: <strong>{percent_text(mine['share'])}</strong> of 2,748 crimes charged or summonsed, "
            f"{FUNNEL_POSITION_TEXT[mine['position']]} around the {percent_text(boroughs['target'])} of all 32 "
            f"boroughs compared") in section
    assert section.count("<tr") >= 33 and '<tr class="highlight"><th scope="row"><a href="/area/E09000008?period=2019">Croydon' in section
    table = client.get("/api/outcomes/areas.csv", params={"level": "ward", "period": "2019"}).text.splitlines()
    wards = client.get("/api/outcomes/areas", params={"level": "ward", "period": "2019"}).json()
    assert table[0].startswith("key,code,name,parent,crimes,reached,share,position") and len(table) == len(wards["areas"]) + 2
    for params, words in (({"level": "lsoa"}, "level must be one of bcu, borough, ward"),
                          ({"group": "status unavailable"}, "not an outcome group"),
                          ({"highlight": "Nowhere"}, "Nowhere")):
        r = client.get("/api/outcomes/areas", params=params)
        assert r.status_code in (404, 422) and words in r.json()["detail"], params
    r = client.get("/api/outcomes/forces", params={"group": "no suspect"})
    assert r.status_code == 422 and "'no suspect identified'" in r.json()["detail"]
    r = client.get("/api/outcomes/forces", params={"edition": "2030-01"})
    assert r.status_code == 422 and "edition '2030-01'" in r.json()["detail"]


def test_pages_show_the_apis_numbers(client) -> None:
    from crimeplan.web.views import fmt_number, fmt_signed

    html = client.get("/area/E09000012").text
    card = client.get("/api/scorecard", params={"area": "E09000012"}).json()
    shown = 0
    for m in (m for p in card["priorities"] for m in p["measures"] if m["status"] == "ok"):
        row = re.search(rf'<tr data-measure="{m["id"]}" data-status="ok">(.*?)</tr>', html, re.S).group(1)
        withheld = m.get("suppressed") or {}  # a small count of people: its marker, never a number
        current = withheld.get("current", fmt_number(m["current"], m["statistic"])).replace("<", "&lt;")
        assert f'data-value="{json.dumps(m["current"])}">{current}<' in row
        assert withheld.get("change", fmt_signed(m["change"], m["change_unit"])) in row
        shown += 1
    assert shown >= 10
    # the selectors keep the period when following links
    page = client.get("/area/EA", params={"period": "2022", "baseline": "previous"}).text
    assert 'href="/area/E09000002?period=2022&amp;baseline=previous"' in page


def test_the_2014_wards_on_request(client) -> None:
    page = client.get("/area/E09000012", params={"wards": "2014"}).text
    assert "Wards in Hackney (2014 boundaries)" in page
    assert 'href="/area/ward2014:E05009367?wards=2014"' not in page  # links carry the period, not the map's choice
    assert 'href="/area/ward2014:E05009367"' in page
    ward = client.get("/area/ward2014:E05009367")
    assert ward.status_code == 200 and "ward (2014 boundaries)" in ward.text.lower()
    found = client.get("/api/areas", params={"q": "Brownswood", "level": "ward2014"}).json()
    assert [a["key"] for a in found] == ["ward2014:E05009367"]


def test_plotly_is_served_locally(client) -> None:
    r = client.get("/static/plotly.min.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert len(r.content) > 1_000_000 and b"plotly" in r.content[:2000].lower()
    assert client.get("/static/crimeplan.js").status_code == 200
    assert client.get("/static/nothing.js").status_code == 404
    area = client.get("/area/E12000007").text
    assert '<script src="/static/plotly.min.js"></script>' in area


def test_concurrent_requests_share_one_engine_safely(client, service) -> None:
    """Many threads asking different questions at once: DuckDB is used by one thread at a time."""
    from concurrent.futures import ThreadPoolExecutor

    wards = [a.key for a in service.engine.areas.level("ward")[100:140]]
    urls = ([f"/api/scorecard?area={k}&period=FY2021-22&baseline=FY2019-20" for k in wards[:20]]
            + [f"/area/{k}?period=2022&baseline=previous" for k in wards[20:]]
            + [f"/api/measures/robbery/series?area={k}" for k in ("EA", "CE", "E09000012", "E09000030")])
    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(client.get, urls))
    assert [r.status_code for r in responses] == [200] * len(urls)
    for url, r in zip(urls[:20], responses[:20]):
        key = url.split("area=")[1].split("&")[0]
        assert r.json() == _json(service.engine.scorecard(key, "FY2021-22", "FY2019-20").to_dict())


@pytest.mark.parametrize("path", [
    "/api/scorecard?area=Hackney", "/api/measures/burglary/series?area=Hackney",
    "/api/measures/burglary/levels/borough", "/api/areas/EA/children.geojson", "/api/geojson/bcu",
    "/api/areas/E09000012/crime-mix", "/api/areas?level=bcu", "/api/areas/EA",
    "/api/measures/burglary/hotspots/borough?period=2021", "/api/forces?offence=Robbery",
])
def test_every_api_response_carries_the_licence(client, path) -> None:
    for _ in range(2):  # computed, then from the response cache
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["x-data-attribution"].startswith(OGL_ATTRIBUTION)
    body = response.json()
    if isinstance(body, dict) and path != "/api/areas/EA":
        assert OGL_ATTRIBUTION in body["attribution"]
        if "geojson" in path:
            assert OS_ATTRIBUTION in body["attribution"]


def test_hotspots_endpoint_equals_the_engine(client, service) -> None:
    from crimeplan.measures.hotspots import hotspots

    r = client.get("/api/measures/burglary/hotspots/ward", params={"period": "2021"})
    assert r.status_code == 200, r.text
    assert r.json() == _json(hotspots(service.engine, "burglary", "ward", "2021", "2019"))
    assert r.json()["hot_spots"] >= 1 and len(r.json()["areas"]) == 679
    assert client.get("/api/measures/burglary/hotspots/ward", params={"period": "2021"}).content == r.content  # cached
    params = client.get("/openapi.json").json()["paths"]["/api/measures/{measure_id}/hotspots/{level}"]["get"]["parameters"]
    assert {p["name"] for p in params} == {"measure_id", "level", "period", "baseline"}
    r = client.get("/api/measures/no_such_measure/hotspots/ward")
    assert r.status_code == 404 and "no_such_measure" in r.json()["detail"]
    for level in ("london", "bcu", "county"):
        r = client.get(f"/api/measures/burglary/hotspots/{level}")
        assert r.status_code == 422 and f"not '{level}'" in r.json()["detail"]
    r = client.get("/api/measures/burglary/hotspots/ward", params={"period": "2021-13"})
    assert r.status_code == 422 and "month 13 is not a month" in r.json()["detail"]
    r = client.get("/api/measures/pas_trust_mps/hotspots/ward")
    assert r.status_code == 200 and r.json()["status"] == "not available at this level"


def test_maps_offer_hot_spots_where_the_level_has_many_areas(client, service) -> None:
    plain = client.get("/area/E09000012", params={"period": "2021", "map": "burglary"})
    assert plain.status_code == 200
    assert '<option value="hotspots">hot spots (Getis–Ord Gi*)</option>' in plain.text
    assert "data-hotspot=" not in plain.text
    page = client.get("/area/E09000012", params={"period": "2021", "map": "burglary", "colour": "hotspots"})
    assert page.status_code == 200
    assert '<option value="hotspots" selected>hot spots (Getis–Ord Gi*)</option>' in page.text
    found = service.hotspots("burglary", "ward", "2021", "2019")
    hackney = {a["code"]: a["classification"] for a in found["areas"] if a["parent_code"] == "E09000012"}
    shown = dict(re.findall(r'<tr data-area="(E05\d+)" data-hotspot="([a-z ]+)"', page.text))
    assert shown == hackney and "hot spot" in shown.values()
    figure = json.loads(unescape(re.search(r'<script type="application/json" id="map-figure">(.*?)</script>',
                                           page.text, re.S).group(1)))
    [trace] = [t for t in figure["data"] if t.get("colorbar")]
    assert trace["colorbar"]["ticktext"] == ["cold spot", "not significant", "hot spot"]
    labels = trace["colorbar"]["ticktext"]
    assert {c: labels[z] for c, z in zip(trace["locations"], trace["z"])} == hackney
    assert all(("hot spot" in h) or ("cold spot" in h) or ("not significant" in h) for h in trace["hovertext"])
    assert f"{found['hot_spots']} hot spots and {found['cold_spots']} cold spots" in page.text
    assert "Getis, A. &amp; Ord, J. K. (1992)" in page.text
    # BCU pages map boroughs (Gi* over all 32); London's map of 13 BCUs offers no hot spots and says why.
    bcu = client.get("/area/EA", params={"period": "2021", "map": "burglary", "colour": "hotspots"})
    assert bcu.status_code == 200 and 'data-hotspot="not significant"' in bcu.text
    london = client.get("/area/E12000007", params={"colour": "hotspots"})
    assert london.status_code == 200 and '<option value="hotspots"' not in london.text
    assert "Hot spots are computed for" in london.text and "data-hotspot=" not in london.text
    # ... once: the period form asks for the colouring the map could show, not the hot spots again
    assert '<input type="hidden" name="colour" value="change">' in london.text
    assert '<input type="hidden" name="colour" value="hotspots">' in page.text
    # a ward's page: its borough's wards, the City's wards on the City's page shown as not tested
    city = client.get("/area/E09000001", params={"period": "2021", "map": "burglary", "colour": "hotspots"})
    assert city.status_code == 200 and city.text.count('data-hotspot="not tested"') == 25
    assert "City of London Police" in city.text
    assert re.search(r'data-class="not tested">.*?</span> <strong>25</strong>', city.text)  # the legend counts them


def test_forces_endpoint_equals_the_core_function(client, service) -> None:
    from crimeplan.measures.forces import forces_compared

    r = client.get("/api/forces")
    assert r.status_code == 200
    data = r.json()
    assert data == _json(forces_compared(service.engine.con, None, None, None, "Metropolitan Police"))
    met = next(f for f in data["forces"] if f["force"] == "Metropolitan Police")
    assert met["highlighted"] and (met["current"], met["baseline"]) == (835_078, 809_049)  # from the CSV
    params = [("offence", "Robbery"), ("offence", "Homicide"), ("period", "2018-12"), ("baseline", "2015-12"),
              ("highlight", "Kent")]
    several = client.get("/api/forces", params=params).json()
    assert several["offences"] == ["Robbery", "Homicide"] and several["baseline"] == "2015-12"
    assert several["highlight"] == "Kent"
    assert several == _json(forces_compared(service.engine.con, ["Robbery", "Homicide"], "2018-12", "2015-12", "Kent"))
    csv = client.get("/api/forces.csv").text.splitlines()
    assert csv[0].startswith("offence,period,baseline,force") and len(csv) == 1 + 43 + 4 + 1


@pytest.mark.parametrize("params, message", [
    ({"period": "2018-11"}, "not a quarter end"),
    ({"period": "2018-12", "baseline": "2018-06"}, "would overlap"),
    ({"baseline": "Christmas"}, "expected a quarter end as YYYY-MM"),
    ({"period": "2020-12"}, "covers quarter ends from 2003-03 to 2018-12"),
    ({"offence": "Burglary of sheds"}, "not in the Home Office table"),
    ({"highlight": "Gotham City Police"}, "no territorial force"),
])
def test_forces_bad_parameters_get_422_with_the_message(client, params, message) -> None:
    r = client.get("/api/forces", params=params)
    assert r.status_code == 422 and message in r.json()["detail"]
    page = client.get("/forces", params=params)
    assert page.status_code == 422 and message in unescape(page.text)


def test_the_forces_page_shows_the_apis_figures(client) -> None:
    from crimeplan.web.views import fmt_number, fmt_signed

    for query in ({}, {"offence": "Robbery", "period": "2018-12", "baseline": "2016-12"}):
        html = client.get("/forces", params=query).text
        data = client.get("/api/forces", params=query).json()
        for f in data["forces"]:
            row = re.search(rf'<tr data-force="{re.escape(f["force"])}" data-status="{f["status"]}"(.*?)</tr>', html,
                            re.S).group(1)
            assert f'data-value="{json.dumps(f["current"])}">{fmt_number(f["current"])}<' in row
            assert f'data-value="{json.dumps(f["baseline"])}">{fmt_number(f["baseline"])}<' in row
            assert f'data-value="{f["verdict"]}"' in row
            if f["status"] == "ok":
                assert fmt_signed(f["change_pct"], "%") in row
            assert ('class="here"' in row) == f["highlighted"]
        assert 'id="forces-figure"' in html and "rec-crime-pfa.csv" in html
        assert html.count('data-highlighted="true"') == 1 and "Metropolitan Police" in html
    assert 'href="/forces"' in client.get("/").text  # in the site navigation


def test_a_month_whose_fairness_changes_are_withheld_still_draws_its_pages(client) -> None:
    """Kingston upon Thames and its BCU for one month against the year before: many changes are withheld (small
    numbers); the pages and the API answer (a withheld change once broke the page with a 500)."""
    for path in ("/area/E09000021", "/area/EA"):
        page = client.get(path, params={"period": "2023-05", "baseline": "2022-05"})
        assert page.status_code == 200, path
        assert "Fairness: stop and search by ethnic group" in page.text
    data = client.get("/api/areas/E09000021/fairness", params={"period": "2023-05", "baseline": "2022-05"}).json()
    changes = [c for c in (data["figures"]["change"] or {}).values() if c]
    assert data["status"] == "ok" and any("withheld" in c for c in changes)


def test_with_no_period_every_output_shows_the_latest_months(client, service) -> None:
    """The default is `latest`: a ward's measures cover the 12 months to March 2026 (the ward file's last month)
    against the 12 before, with the same months against the plan's 2019 baseline beside them."""
    ward = client.get("/api/scorecard", params={"area": "E05013570"}).json()
    assert (ward["period"], ward["baseline"]) == ("latest", "previous")
    assert "beside it, the baseline calendar year 2019" in ward["compared_with"]
    measured = [m for p in ward["priorities"] for m in p["measures"] if m["status"] in ("ok", "baseline incomplete")]
    assert measured and {m["period"] for m in measured if m["id"] == "burglary"} == {"rolling:2026-03"}
    burglary = next(m for m in measured if m["id"] == "burglary")
    assert burglary["baseline"] == "rolling:2025-03" and burglary["period_text"] == "the 12 months to March 2026"
    beside = burglary["beside"]
    assert beside["period"] == "rolling:2026-03" and beside["baseline"] == "2019"
    # the ward file starts in 2024: 2019 cannot be compared, and the beside says so rather than show a change
    assert beside["status"] == "baseline incomplete" and beside["change"] is None
    page = client.get("/area/E05013570").text
    assert "the latest 12 months each source covers" in page and "the 12 months to March 2026" in page
    assert 'id="launch-comparison"' in page and "period=2021&amp;baseline=2019" in page
    launch = client.get("/api/scorecard", params={"area": "E09000012", "period": "2021", "baseline": "2019"}).json()
    assert all("beside" not in m for p in launch["priorities"] for m in p["measures"])  # nothing beside a baseline
    levels = client.get("/api/measures/burglary/levels/ward").json()
    assert levels["period"] == "rolling:2026-03" and levels["baseline"] == "rolling:2025-03"


def test_the_latest_months_differ_by_source_and_each_measure_says_which(client) -> None:
    london = client.get("/api/scorecard").json()
    periods = {m["id"]: m["period"] for p in london["priorities"] for m in p["measures"] if m["status"] == "ok"}
    assert len(set(periods.values())) > 1  # the borough files, the ward file, the survey and the homicide file
    page = client.get("/area/E12000007").text
    assert page.count('data-field="months"') == sum(  # a line per measure measured, saying which months
        1 for p in london["priorities"] for m in p["measures"] if m["status"] not in ("not available at this level",
                                                                                   "no data loaded"))


def test_a_quarter_or_a_month_of_the_latest_has_no_baseline_beside_and_a_fixed_period_keeps_the_plans(client) -> None:
    ward = client.get("/api/scorecard", params={"area": "E05013570", "period": "latest-quarter"}).json()
    burglary = next(m for p in ward["priorities"] for m in p["measures"] if m["id"] == "burglary")
    assert (burglary["period"], burglary["baseline"]) == ("2026-Q1", "2025-Q4")
    assert "beside" not in burglary and "beside it" not in ward["compared_with"]  # a quarter against a year: seasons
    month = client.get("/api/measures/burglary/levels/ward", params={"period": "latest-month"}).json()
    assert (month["period"], month["baseline"]) == ("2026-03", "2026-02")
    fixed = client.get("/api/scorecard", params={"area": "E09000012", "period": "2021"}).json()
    assert fixed["baseline"] == "2019" and fixed["compared_with"] == "the baseline calendar year 2019"
    previous = client.get("/api/scorecard", params={"area": "E09000012", "period": "2021", "baseline": "previous"}).json()
    robbery = next(m for p in previous["priorities"] for m in p["measures"] if m["id"] == "robbery")
    assert robbery["baseline"] == "2020" and robbery["beside"]["baseline"] == "2019"
    assert robbery["beside"]["current"] == robbery["current"]  # the same months, two comparisons
