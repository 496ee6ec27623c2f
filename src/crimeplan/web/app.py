"""The web dashboard and JSON API: FastAPI over the same Python API the command line uses.

    crimeplan serve --host 127.0.0.1 --port 8000

Handlers validate their parameters (through :class:`~crimeplan.core.Crimeplan`)
and hand over to the page models in ``views.py`` or to the engine's own JSON;
they compute nothing. Everything the pages need — Plotly's JavaScript included —
is served from here, so the dashboard works with no internet.

Responses to GET requests are kept in a bounded cache keyed by path and query:
the warehouse is opened read-only and does not change while serving.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections import OrderedDict
from enum import Enum
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs

from fastapi import FastAPI, Path as PathParam, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from starlette.routing import Match
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from crimeplan import ATTRIBUTION, __version__
from crimeplan.errors import CrimeplanError
from crimeplan.measures.periods import ANY_SYNTAX as SYNTAX
from crimeplan.plan.schema import Plan
from crimeplan.report import EXPORT_FORMATS, areas_funnel_csv, fairness_csv, forces_csv, funnel_csv, priorities_csv, scorecard_csv
from crimeplan.web import views
from crimeplan.core import SERIES_BY, BadParameter, NotFound, Crimeplan, WarehouseBusy, dumps
from crimeplan.web.warm import Warmer

RESPONSE_CACHE_BYTES = 256 * 1024 * 1024  # a few thousand pages
HTML = "text/html; charset=utf-8"
JSON = "application/json"
CSV = "text/csv; charset=utf-8"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

SeriesBy = Enum("SeriesBy", {name: name for name in SERIES_BY}, type=str)

AREA_HELP = "An area code (E09000012, EA, E05013570, ward2014:E05000405) or name (Hackney); default London."
PERIOD_HELP = f"{SYNTAX}; default the plan's (latest: the 12 months to the latest month each measure's source covers)."
OFFENCE_HELP = ("An offence group as the Home Office publishes it (Robbery), 'All burglary', or 'All offences' "
                "(the default: total recorded crime excluding fraud); repeat to add several.")
QUARTER_REPORT_HELP = "A quarter, e.g. 2025-Q4 (the 12 months to its end); default the latest months."
REPORT_FORMATS = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}
QUARTER_HELP = "A quarter end as YYYY-MM; default the latest (2018-12)."
QUARTER_BASELINE_HELP = "A quarter end at least 12 months before the period; default a year before it."
HIGHLIGHT_HELP = "A force to mark; default the plan's (the Metropolitan Police for the London plan)."
BASELINE_HELP = ("A baseline of the plan (2019, FY2019-20), previous, year-earlier, or a period; default: for the latest "
                 "months the 12 months before (the plan's baseline beside), for any other period the plan's.")


class ResponseCache:
    """LRU of response bodies, bounded in bytes; thread-safe. Values are ``(body, media_type)``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.generation = 0  # emptied for a new edition: an answer computed before then is not kept
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    @staticmethod
    def _size(key, value) -> int:
        """An entry's bytes: its body and its key (path and query string), which a client chooses."""
        return len(value[0]) + sum(len(part) for part in key)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = 0
            self.generation += 1

    def put(self, key, value: tuple[bytes, str], generation: int | None = None) -> None:
        """Keep ``value``, unless the cache was emptied since ``generation`` (read before computing it): an
        answer from the edition before would otherwise outlive it."""
        with self._lock:
            if generation is not None and generation != self.generation:
                return
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= self._size(key, old)
            self._items[key] = value
            self.bytes += self._size(key, value)
            while self.bytes > self.max_bytes and len(self._items) > 1:
                gone, body = self._items.popitem(last=False)
                self.bytes -= self._size(gone, body)


class CachedResponses:
    """ASGI middleware answering a GET already answered from the response cache, before routing.

    The handlers fill the cache (see ``cached`` in :func:`create_app`); a repeated request
    then costs a dictionary look-up, which is what keeps latency low under many clients.
    """

    def __init__(self, app, cache: ResponseCache, service: Crimeplan, on_refresh: Callable[[], None] | None = None) -> None:
        self.app = app
        self.cache = cache
        self.service = service
        self.on_refresh = on_refresh  # after a new edition is opened and the cache emptied (warm it again)

    async def __call__(self, scope, receive, send) -> None:
        # A load has swapped a new warehouse in: reopen it (off the event loop) and forget every answer.
        if scope["type"] == "http" and self.service.changed():
            try:
                # The cache is emptied inside the refresh, before the new file counts as opened: a request
                # that no longer sees a change never meets an answer from the edition before.
                if await run_in_threadpool(self.service.refresh, self.cache.clear):
                    if self.on_refresh is not None:
                        self.on_refresh()
            except WarehouseBusy as exc:
                body = dumps({"detail": str(exc)})
                await send({"type": "http.response.start", "status": 503,
                            "headers": [(b"content-type", b"application/json"), (b"retry-after", b"60"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        if scope["type"] == "http" and scope["method"] == "GET":
            hit = self.cache.get((scope["path"], scope["query_string"]))
            if hit is not None:
                body, media_type = hit
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", media_type.encode("latin-1")),
                                        (b"content-length", str(len(body)).encode("latin-1"))]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


MAX_BODY_BYTES = int(os.environ.get("CRIMEPLAN_MAX_BODY_BYTES", 2_000_000))  # a claims file: a few kB
MAX_QUERY_BYTES = 2048


class BoundedRequests:
    """ASGI middleware: a query string over MAX_QUERY_BYTES is refused (414), a body over MAX_BODY_BYTES (413),
    by its Content-Length or as it streams in, before any handler reads it."""

    def __init__(self, app, max_body: int = MAX_BODY_BYTES, max_query: int = MAX_QUERY_BYTES) -> None:
        self.app, self.max_body, self.max_query = app, max_body, max_query

    @staticmethod
    async def _refuse(send, status: int, message: str) -> None:
        body = dumps({"detail": message})
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > self.max_query:
            await self._refuse(send, 414, f"the query string is longer than {self.max_query:,} bytes")
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await self._refuse(send, 413, f"the request body is larger than {self.max_body:,} bytes")
            return
        seen = 0

        async def bounded_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, bounded_receive, send)
        except _TooLarge:
            await self._refuse(send, 413, f"the request body is larger than {self.max_body:,} bytes")


class _TooLarge(Exception):
    pass


class AttributionHeader:
    """ASGI middleware: every /api/ response names the data's licence in a header too (lists have no room for it)."""

    HEADER = (b"x-data-attribution", ATTRIBUTION.replace("©", "(c)").encode("ascii"))  # headers are ASCII

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def send_with_header(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self.HEADER]}
            await send(message)

        await self.app(scope, receive, send_with_header)


def create_app(db: str | Path | None = None, plan: str | Path | Plan | None = None,
               service: Crimeplan | None = None, warm: bool = False) -> FastAPI:
    """The dashboard over the warehouse ``db`` (default: $CRIMEPLAN_DB or ./crimeplan.duckdb), read-only.

    ``warm``: render the default period's pages and answers in the background once started, and again after
    each new edition (``crimeplan serve`` does; see ``web/warm.py``)."""
    svc = service or Crimeplan.open(db, plan)
    env = views.template_environment()
    static_files = views.static_files()
    plotly_js = Path(str(views.plotly_js_path()))
    cache = ResponseCache(RESPONSE_CACHE_BYTES)
    london_key = svc.engine.areas.top().key

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        if app.state.warmer is not None:
            app.state.warmer.start()
        yield
        if app.state.warmer is not None:
            app.state.warmer.stop()

    app = FastAPI(
        title="crimeplan",
        version=__version__,
        summary="A Police and Crime Plan's measures, computed from official data with honest statistics.",
        description=("Every figure carries its 95% interval, verdict, RAG status and the source files it comes "
                     "from. Unknown areas and measures give 404 with a message; parameters that cannot be "
                     "understood give 422 with the parser's message. Contains public sector information "
                     "licensed under the Open Government Licence v3.0."),
        docs_url=None, redoc_url=None,  # the stock docs pages load scripts from a CDN; /api lists the endpoints
        lifespan=lifespan,
    )
    app.state.service = svc
    app.state.cache = cache
    warmer = app.state.warmer = Warmer(app, svc) if warm else None
    app.add_middleware(CachedResponses, cache=cache, service=svc, on_refresh=warmer.start if warmer else None)
    app.add_middleware(AttributionHeader)  # also on responses from the cache
    app.add_middleware(BoundedRequests)  # outermost: nothing reads an oversized request

    # --- helpers ---------------------------------------------------------------------------------

    def links(period: str, baseline: str) -> views.Links:
        query = {"period": period if period != svc.period(None) else None,
                 "baseline": baseline if baseline != svc.baseline(period, None) else None}
        return views.Links(static=False, london_key=london_key, query=query)

    @functools.cache
    def default_links() -> views.Links:
        """The links of pages without a period chooser: the plan's default period and baseline (built once)."""
        return links(svc.period(None), svc.baseline(svc.period(None), None))

    def chosen(period: str | None, baseline: str | None) -> tuple[str, str]:
        p = svc.period(period)
        return p, svc.baseline(p, baseline)

    def render(template: str, model: dict) -> bytes:
        return env.get_template(template).render(**model).encode("utf-8")

    async def cached(request: Request, media_type: str, produce: Callable[[], bytes]) -> Response:
        # Only requests naming the parameters an endpoint reads are kept: junk parameters would
        # each make a new entry. The API refuses them; a page ignores them, uncached.
        route = request.scope.get("route")
        known = {p.alias for p in route.dependant.query_params} if route is not None else None
        unknown = sorted(set(request.query_params) - known) if known is not None else []
        # The API, and the reports (each uncached request would print a PDF again), refuse them.
        if unknown and request.url.path.startswith(("/api/", "/report/")):
            raise BadParameter(f"unknown parameter {unknown[0]!r}; this endpoint reads "
                               f"{', '.join(sorted(known)) or 'none'}")
        if unknown:
            return Response(content=await run_in_threadpool(produce), media_type=media_type)
        key = (request.scope["path"], request.scope["query_string"])
        hit = cache.get(key)
        if hit is None:
            generation = cache.generation
            hit = (await run_in_threadpool(produce), media_type)
            cache.put(key, hit, generation)
        return Response(content=hit[0], media_type=hit[1])

    def error_response(request: Request, status: int, message: str, extra: dict | None = None,
                       headers: dict | None = None) -> Response:
        if request.url.path.startswith("/api") or request.url.path == "/openapi.json":
            return JSONResponse({"detail": message, **(extra or {})}, status_code=status, headers=headers)
        model = views.error_page(svc, default_links(), status, message)
        return Response(render("error.html", model), status_code=status, media_type=HTML, headers=headers)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return error_response(request, 404, str(exc))

    @app.exception_handler(BadParameter)
    async def bad_request(request: Request, exc: BadParameter) -> Response:
        return error_response(request, 422, str(exc))

    @app.exception_handler(CrimeplanError)
    async def crimeplan_error(request: Request, exc: CrimeplanError) -> Response:
        problems = getattr(exc, "problems", None)
        return error_response(request, 422, str(exc), {"problems": problems} if problems else None)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        words = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg')}"
                          for e in exc.errors())
        return error_response(request, 422, words)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if exc.status_code != 404 else f"there is no page at {request.url.path}"
        headers = exc.headers
        if exc.status_code == 405:  # Allow: every method of the path, not only the first route's (GET and POST)
            methods = {m for route in app.router.routes if getattr(route, "methods", None)
                       and route.matches(request.scope)[0] != Match.NONE for m in route.methods}
            headers = {**(headers or {}), "Allow": ", ".join(sorted(methods))}
        return error_response(request, exc.status_code, str(message), headers=headers)

    # --- pages -----------------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def plan_page(request: Request, period: str | None = None, baseline: str | None = None) -> Response:
        def produce() -> bytes:
            p, b = chosen(period, baseline)
            return render("plan.html", views.plan_page(svc, links(p, b), p, b))
        return await cached(request, HTML, produce)

    @app.get("/area/{key}", include_in_schema=False)
    async def area_page(request: Request, key: str, period: str | None = None, baseline: str | None = None,
                        map: str | None = None, colour: str | None = None, wards: str | None = None) -> Response:
        def produce() -> bytes:
            area = svc.area(key)
            p, b = chosen(period, baseline)
            if map is not None:
                svc.measure(map)
            svc.map_colour(colour)
            svc.ward_set(wards)
            return render("area.html", views.area_page(svc, links(p, b), area, p, b, map, colour, wards))
        return await cached(request, HTML, produce)

    @app.get("/measure/{measure_id}", include_in_schema=False)
    async def measure_page(request: Request, measure_id: str, area: str | None = None, period: str | None = None,
                           baseline: str | None = None) -> Response:
        def produce() -> bytes:
            found = svc.area(area)
            svc.measure(measure_id)
            p, b = chosen(period, baseline)
            return render("measure.html", views.measure_page(svc, links(p, b), measure_id, found, p, b))
        return await cached(request, HTML, produce)

    @app.get("/claims", include_in_schema=False)
    async def claims_page(request: Request) -> Response:
        def produce() -> bytes:
            shipped = svc.shipped_claims()
            model = views.claims_page(svc, default_links(), shipped.checks, shipped.text, shipped.name)
            return render("claims.html", model)
        return await cached(request, HTML, produce)

    @app.post("/claims", include_in_schema=False)
    async def claims_form(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
        text = (form.get("claims") or [""])[0]

        def produce() -> tuple[int, bytes]:
            status, model = views.claims_form_page(svc, default_links(), text)
            return status, render("claims.html", model)

        status, body = await run_in_threadpool(produce)
        return Response(body, status_code=status, media_type=HTML)

    @app.get("/sources", include_in_schema=False)
    async def sources_page(request: Request) -> Response:
        return await cached(request, HTML, lambda: render("sources.html", views.sources_page(svc, default_links())))

    @app.get("/forces", include_in_schema=False)
    async def forces_page(request: Request, offence: list[str] | None = Query(None), period: str | None = None,
                          baseline: str | None = None, highlight: str | None = None) -> Response:
        def produce() -> bytes:
            data = svc.forces(tuple(offence or ()), period, baseline, highlight)
            query = {"offence": offence[0] if offence and len(offence) == 1 else None, "period": period,
                     "baseline": baseline, "highlight": highlight}
            return render("forces.html", views.forces_page(svc, default_links(), data, query))
        return await cached(request, HTML, produce)

    @app.get("/forces/outcomes", include_in_schema=False)
    async def outcome_funnel_page(request: Request, group: str | None = None, edition: str | None = None,
                                  first: str | None = Query(None, alias="from"), last: str | None = Query(None, alias="to"),
                                  highlight: str | None = None) -> Response:
        def produce() -> bytes:
            data = svc.outcome_funnel(group, edition, first, last, highlight)
            query = {"group": group, "edition": edition, "from": first, "to": last, "highlight": highlight}
            return render("outcome_funnel.html", views.outcome_funnel_page(svc, default_links(), data, query))
        return await cached(request, HTML, produce)

    @app.get("/search", include_in_schema=False)
    async def search_page(request: Request, q: str = "") -> Response:
        return await cached(request, HTML, lambda: render("search.html", views.search_page(svc, default_links(), q)))

    @app.get("/api", include_in_schema=False)
    async def api_page(request: Request) -> Response:
        return await cached(request, HTML,
                            lambda: render("api.html", views.api_page(svc, default_links(), app.openapi())))

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        headers = {"Cache-Control": "public, max-age=86400"}
        if name == "plotly.min.js":
            return FileResponse(plotly_js, media_type=STATIC_TYPES[".js"], headers=headers)
        if name not in static_files:
            raise NotFound(f"no static file {name!r}")
        return Response(static_files[name], media_type=STATIC_TYPES.get(Path(name).suffix, "application/octet-stream"),
                        headers=headers)

    # --- JSON API --------------------------------------------------------------------------------

    def scorecard_of(area: str | None, period: str | None, baseline: str | None) -> dict:
        found = svc.area(area)  # the area first, then the period: a request wrong in both gets the 404
        p, b = chosen(period, baseline)
        return svc.scorecard(found.key, p, b)

    def series_of(measure_id: str, area: str | None, by: SeriesBy) -> dict:
        found = svc.area(area)  # the area first, then the measure, as for the scorecard
        return svc.series(svc.measure(measure_id).id, found.key, by.value)

    @app.get("/api/plan", summary="The plan", tags=["plan"],
             description="Priorities, objectives, measures (with their sources and levels), baselines and defaults.")
    async def api_plan(request: Request) -> Response:
        return await cached(request, JSON, lambda: dumps(svc.plan_dict()))

    @app.get("/api/scorecard", summary="Scorecard for an area", tags=["figures"],
             description="Every measure of the plan for an area, period and baseline: current and baseline values, "
                         "change with its 95% interval, p and q values, verdict, RAG, plain words and source files. "
                         "The JSON of `crimeplan scorecard --format json`.")
    async def api_scorecard(request: Request, area: str | None = Query(None, description=AREA_HELP),
                            period: str | None = Query(None, description=PERIOD_HELP),
                            baseline: str | None = Query(None, description=BASELINE_HELP)) -> Response:
        return await cached(request, JSON, lambda: dumps(scorecard_of(area, period, baseline)))

    @app.get("/api/scorecard.csv", summary="Scorecard as CSV", tags=["figures"])
    async def api_scorecard_csv(request: Request, area: str | None = Query(None, description=AREA_HELP),
                                period: str | None = Query(None, description=PERIOD_HELP),
                                baseline: str | None = Query(None, description=BASELINE_HELP)) -> Response:
        return await cached(request, CSV, lambda: scorecard_csv(scorecard_of(area, period, baseline)).encode("utf-8"))

    @app.get("/api/measures/{measure_id}/series", summary="A measure's series", tags=["figures"],
             description="Values over time for an area, per source, with SPC limits and signals on the monthly "
                         "series (the JSON of `crimeplan measure`).")
    async def api_series(request: Request, measure_id: str = PathParam(description="A measure id of the plan"),
                         area: str | None = Query(None, description=AREA_HELP),
                         by: SeriesBy = Query(SeriesBy.month, description="month, quarter, year or fy")) -> Response:
        return await cached(request, JSON, lambda: dumps(series_of(measure_id, area, by)))

    @app.get("/api/measures/{measure_id}/series.csv", summary="A measure's series as CSV", tags=["figures"])
    async def api_series_csv(request: Request, measure_id: str, area: str | None = Query(None, description=AREA_HELP),
                             by: SeriesBy = Query(SeriesBy.month)) -> Response:
        return await cached(request, CSV,
                            lambda: views.series_csv_text(series_of(measure_id, area, by)).encode("utf-8"))

    @app.get("/api/measures/{measure_id}/levels/{level}", summary="A measure for every area of a level",
             tags=["figures"],
             description="What a choropleth colours: each area's current and baseline values, change, interval, "
                         "verdict (after false-discovery-rate control across the level) and RAG.")
    async def api_levels(request: Request, measure_id: str, level: str,
                         period: str | None = Query(None, description=PERIOD_HELP),
                         baseline: str | None = Query(None, description=BASELINE_HELP)) -> Response:
        def produce() -> bytes:
            svc.measure(measure_id)
            p, b = chosen(period, baseline)
            return dumps(svc.levels(measure_id, svc.level(level), p, b))
        return await cached(request, JSON, produce)

    @app.get("/api/measures/{measure_id}/hotspots/{level}", summary="Hot and cold spots of a measure",
             tags=["figures"],
             description="Local Getis–Ord Gi* over every area of the level (binary queen contiguity, normal "
                         "p-values, Benjamini–Hochberg false discovery rate 5%): each area's value (counts and harm "
                         "per 1,000 residents, rates, shares), z, p and q values and classification (hot spot, cold "
                         "spot, not significant), the areas left out and why, the source files and the method's "
                         "references. A hot spot is a cluster of high values, not a significant change. The JSON of "
                         "`crimeplan hotspots --format json`.")
    async def api_hotspots(request: Request, measure_id: str = PathParam(description="A measure id of the plan"),
                           level: str = PathParam(description="borough, ward (2022 boundaries), ward2014 or lsoa"),
                           period: str | None = Query(None, description=PERIOD_HELP),
                           baseline: str | None = Query(None, description=BASELINE_HELP + " It only chooses the "
                                                        "source: the one the comparison's headline reads.")) -> Response:
        def produce() -> bytes:
            svc.measure(measure_id)
            svc.hotspot_level(level)
            p, b = chosen(period, baseline)
            return dumps(svc.hotspots(measure_id, level, p, b))
        return await cached(request, JSON, produce)

    @app.get("/api/areas", summary="Areas", tags=["areas"],
             description="Every area of the loaded geography, or those of a level, or those whose name contains q.")
    async def api_areas(request: Request, level: str | None = Query(None, description=f"one of {', '.join(svc.engine.geography.ids)}"),
                        q: str | None = Query(None, description="Text the name (or code) contains")) -> Response:
        return await cached(request, JSON, lambda: dumps(svc.areas(svc.level(level) if level else None, q)))

    @app.get("/api/areas/{key}", summary="An area", tags=["areas"],
             description="An area with its ancestors and its children (the level below).")
    async def api_area(request: Request, key: str = PathParam(description=AREA_HELP)) -> Response:
        return await cached(request, JSON, lambda: dumps(svc.area_detail(svc.area(key).key)))

    @app.get("/api/areas/{key}/children.geojson", summary="An area's children as GeoJSON", tags=["areas"],
             description="Simplified boundaries of the areas one level down (London → BCUs → boroughs → wards).")
    async def api_children(request: Request, key: str = PathParam(description=AREA_HELP)) -> Response:
        return await cached(request, "application/geo+json", lambda: dumps(svc.children_geojson(svc.area(key).key)))

    @app.get("/api/geojson/{level}", summary="Boundaries of a level", tags=["areas"])
    async def api_geojson(request: Request, level: str,
                          parent: str | None = Query(None, description="Only the areas within this parent (a code)")) -> Response:
        def produce() -> bytes:
            parent_code = svc.area(parent).code if parent else None
            return dumps(svc.geojson(svc.level(level), parent_code))
        return await cached(request, "application/geo+json", produce)

    @app.get("/api/areas/{key}/crime-mix", summary="Crime mix and harm", tags=["figures"],
             description="Recorded offences by category: counts and shares, and harm (CCHI days) beside them.")
    async def api_crime_mix(request: Request, key: str = PathParam(description=AREA_HELP),
                            period: str | None = Query(None, description=PERIOD_HELP)) -> Response:
        def produce() -> bytes:
            found = svc.area(key)
            return dumps(svc.crime_mix(found.key, svc.period(period)))
        return await cached(request, JSON, produce)

    @app.get("/api/measures/{measure_id}/concentration/{level}", summary="How concentrated a measure is",
             tags=["figures"],
             description="The share of a count, rate or harm measure held by the top 1%, 5% and 10% of a level's "
                         "areas (within an area, if given) and the Gini coefficient, each observed, corrected for the "
                         "concentration noise adds, with a 95% basic-bootstrap interval from simulated counts, and "
                         "beside its value if every area had the same rate per resident; the concentration curve; "
                         "the areas left out and why. The JSON of `crimeplan concentration --format json`.")
    async def api_concentration(request: Request, measure_id: str = PathParam(description="A count, rate or harm "
                                "measure of the plan"), level: str = PathParam(description="A level of the geography"),
                                area: str | None = Query(None, description="Only the areas within this one (default "
                                                         "the plan's whole area)."),
                                period: str | None = Query(None, description=PERIOD_HELP),
                                baseline: str | None = Query(None, description=BASELINE_HELP)) -> Response:
        def produce() -> bytes:
            p, b = chosen(period, baseline)
            return dumps(svc.concentration(svc.ranked_measure(measure_id), svc.level(level), p, b,
                                           svc.area_key(area)))
        return await cached(request, JSON, produce)

    def priorities_of(measure_id: str, level: str, area: str | None, period: str | None, baseline: str | None,
                      top: int | None, by: str) -> dict:
        p, b = chosen(period, baseline)
        return svc.priorities(svc.ranked_measure(measure_id), svc.level(level), p, b,
                              svc.area_key(area), top, by)

    @app.get("/api/measures/{measure_id}/priorities/{level}.csv", summary="Areas ranked, as CSV", tags=["figures"])
    async def api_priorities_csv(request: Request, measure_id: str, level: str,
                                 area: str | None = Query(None, description="Only the areas within this one."),
                                 period: str | None = Query(None, description=PERIOD_HELP),
                                 baseline: str | None = Query(None, description=BASELINE_HELP),
                                 top: int | None = Query(None, ge=1, le=10000),
                                 by: str = Query("rate", description="rate or total")) -> Response:
        def produce() -> bytes:
            return priorities_csv(priorities_of(measure_id, level, area, period, baseline, top, by)).encode("utf-8")
        return await cached(request, CSV, produce)

    @app.get("/api/measures/{measure_id}/priorities/{level}", summary="Areas ranked, with rank intervals",
             tags=["figures"],
             description="A level's areas (within an area, if given) ranked by a count, rate or harm measure per "
                         "1,000 residents (or in total): each rank with its 95% interval and its chance of being in "
                         "the top k from simulated counts (Goldstein and Spiegelhalter 1996), its standing, its Gi* "
                         "hot-spot class; the top k's share of the total; persistence (how many of the top k were the "
                         "top a year before, and before that). The JSON of `crimeplan priorities --format json`.")
    async def api_priorities(request: Request, measure_id: str = PathParam(description="A count, rate or harm "
                             "measure of the plan"), level: str = PathParam(description="A level of the geography"),
                             area: str | None = Query(None, description="Only the areas within this one."),
                             period: str | None = Query(None, description=PERIOD_HELP),
                             baseline: str | None = Query(None, description=BASELINE_HELP),
                             top: int | None = Query(None, ge=1, le=10000, description="How many areas are the top "
                                                     "(default 5% of those ranked, at least 3)."),
                             by: str = Query("rate", description="rate (per 1,000 residents) or total")) -> Response:
        return await cached(request, JSON, lambda: dumps(priorities_of(measure_id, level, area, period, baseline,
                                                                       top, by)))

    @app.get("/api/panels/{panel_id}", summary="A panel of the plan", tags=["figures"],
             description="Measures the plan shows side by side for every area of a level (the London plan: "
                         "county lines proxies by borough), with the plan's caveat: each area's count, rate per "
                         "1,000 residents, change against the baseline and verdict.")
    async def api_panel(request: Request, panel_id: str = PathParam(description="A panel id of the plan"),
                        area: str | None = Query(None, description="Only the areas within this one."),
                        period: str | None = Query(None, description=PERIOD_HELP),
                        baseline: str | None = Query(None, description=BASELINE_HELP)) -> Response:
        def produce() -> bytes:
            p, b = chosen(period, baseline)
            return dumps(svc.panel(panel_id, p, b, svc.area_key(area)))
        return await cached(request, JSON, produce)

    @app.get("/api/areas/{key}/needs", summary="Where an area's harm is needed most", tags=["figures"],
             description="For London, a BCU or a borough: its wards ranked by the plan's harm measure per resident "
                         "with rank intervals and persistence, and the concentration of that harm (what the area "
                         "page's 'Where needed most' section shows). For an area whose level ranks nothing: 404.")
    async def api_needs(request: Request, key: str = PathParam(description=AREA_HELP),
                        period: str | None = Query(None, description=PERIOD_HELP),
                        baseline: str | None = Query(None, description=BASELINE_HELP)) -> Response:
        def produce() -> bytes:
            found = svc.area(key)
            p, b = chosen(period, baseline)
            needs = svc.needs(found.key, p, b)
            if needs is None:
                ranking = [svc.geography.plural(lv.id) for lv in svc.geography.levels if lv.priorities_level]
                raise NotFound(f"{found.name} is a {found.level_name}: areas are ranked within "
                               f"{', '.join(ranking)} only")
            return dumps(needs)
        return await cached(request, JSON, produce)

    FAIRNESS_TEXT = ("Stop and search by ethnic group (officer-defined, and self-defined in the five Census groups): "
                     "searches per 1,000 residents of each group (Census 2021), the rate ratio to White with its "
                     "exact 95% interval (false-discovery-rate control across the areas below the force's), the "
                     "outcome test (arrests by group, difference to White with Newcombe's interval), the share with "
                     "no ethnicity and with no location, and, given a baseline, each ratio against the baseline's. "
                     "Counts of people below the plan's threshold read '<10'.")

    def fairness_level_of(level: str, area: str | None, period: str | None, baseline: str | None) -> dict:
        p = svc.period(period)
        b = svc.baseline(p, baseline) if baseline else None
        return svc.fairness_level(svc.level(level), p, b, svc.area_key(area))

    @app.get("/api/fairness/{level}.csv", summary="Stop and search by ethnic group, every area of a level, as CSV",
             tags=["figures"])
    async def api_fairness_level_csv(request: Request, level: str,
                                     area: str | None = Query(None, description="Only the areas within this one."),
                                     period: str | None = Query(None, description=PERIOD_HELP),
                                     baseline: str | None = Query(None, description=BASELINE_HELP)) -> Response:
        return await cached(request, CSV, lambda: fairness_csv(fairness_level_of(level, area, period, baseline))
                            .encode("utf-8"))

    @app.get("/api/fairness/{level}", summary="Stop and search by ethnic group, every area of a level",
             tags=["figures"], description=FAIRNESS_TEXT + " The JSON of `crimeplan fairness --level L --format json`.")
    async def api_fairness_level(request: Request, level: str = PathParam(description="A level of the geography"),
                                 area: str | None = Query(None, description="Only the areas within this one."),
                                 period: str | None = Query(None, description=PERIOD_HELP),
                                 baseline: str | None = Query(None, description=BASELINE_HELP)) -> Response:
        return await cached(request, JSON, lambda: dumps(fairness_level_of(level, area, period, baseline)))

    @app.get("/api/areas/{key}/fairness", summary="Stop and search by ethnic group in an area", tags=["figures"],
             description=FAIRNESS_TEXT + " With the breakdowns by legislation and object of search, and every area "
                         "of its level for the chart (what the area page's Fairness section shows). Where the files "
                         "do not cover the period completely, the latest twelve months they do, said in `note`. "
                         "The JSON of `crimeplan fairness --area A --format json`.")
    async def api_fairness(request: Request, key: str = PathParam(description=AREA_HELP),
                           period: str | None = Query(None, description=PERIOD_HELP),
                           baseline: str | None = Query(None, description=BASELINE_HELP)) -> Response:
        def produce() -> bytes:
            found = svc.area(key)
            p = svc.period(period)
            return dumps(svc.fairness(found.key, p, svc.baseline(p, baseline)))
        return await cached(request, JSON, produce)

    @app.get("/api/forces", summary="Forces compared", tags=["figures"],
             description="Every territorial police force of England and Wales (Home Office recorded crime by force "
                         "area): the rolling 12-month total at every quarter end, and the 12 months to a quarter end "
                         "against the 12 months to an earlier one, with the exact 95% interval of the rate ratio, p "
                         "and q values (false-discovery-rate control across forces) and a verdict; incomplete or "
                         "incomparable windows say why. British Transport Police and the fraud bodies are listed as "
                         "left out. The JSON of `crimeplan forces --format json`.")
    async def api_forces(request: Request, offence: list[str] | None = Query(None, description=OFFENCE_HELP),
                         period: str | None = Query(None, description=QUARTER_HELP),
                         baseline: str | None = Query(None, description=QUARTER_BASELINE_HELP),
                         highlight: str | None = Query(None, description=HIGHLIGHT_HELP)) -> Response:
        return await cached(request, JSON, lambda: dumps(svc.forces(tuple(offence or ()), period, baseline, highlight)))

    @app.get("/api/forces.csv", summary="Forces compared as CSV", tags=["figures"])
    async def api_forces_csv(request: Request, offence: list[str] | None = Query(None, description=OFFENCE_HELP),
                             period: str | None = Query(None, description=QUARTER_HELP),
                             baseline: str | None = Query(None, description=QUARTER_BASELINE_HELP),
                             highlight: str | None = Query(None, description=HIGHLIGHT_HELP)) -> Response:
        def produce() -> bytes:
            return forces_csv(svc.forces(tuple(offence or ()), period, baseline, highlight)).encode("utf-8")
        return await cached(request, CSV, produce)

    @app.get("/api/outcomes/forces", summary="Forces compared on an outcome (funnel plot)", tags=["figures"],
             description="Every force of one data.police.uk street-file edition (default the file holding most "
                         "forces): the share of its crimes of the same months whose last outcome, as of that edition, "
                         "is in an outcome group of the catalogue, with exact binomial 95% and 99.8% funnel limits "
                         "around the share of all forces (Spiegelhalter 2005), each force's position, the "
                         "overdispersion φ and positions allowing for it; forces lacking a month or most outcomes "
                         "are left out with the reason. The JSON of `crimeplan outcome-funnel --format json`.")
    async def api_outcome_funnel(request: Request,
                                 group: str | None = Query(None, description="An outcome group (default 'no suspect identified')."),
                                 edition: str | None = Query(None, description="The street files' edition, YYYY-MM."),
                                 first: str | None = Query(None, alias="from", description="The first crime month, YYYY-MM."),
                                 last: str | None = Query(None, alias="to", description="The last crime month, YYYY-MM."),
                                 highlight: str | None = Query(None, description=HIGHLIGHT_HELP)) -> Response:
        return await cached(request, JSON, lambda: dumps(svc.outcome_funnel(group, edition, first, last, highlight)))

    @app.get("/api/outcomes/forces.csv", summary="Forces compared on an outcome, as CSV", tags=["figures"])
    async def api_outcome_funnel_csv(request: Request, group: str | None = Query(None),
                                     edition: str | None = Query(None),
                                     first: str | None = Query(None, alias="from"), last: str | None = Query(None, alias="to"),
                                     highlight: str | None = Query(None, description=HIGHLIGHT_HELP)) -> Response:
        return await cached(request, CSV, lambda: funnel_csv(svc.outcome_funnel(group, edition, first, last,
                                                                                highlight)).encode("utf-8"))

    @app.get("/api/outcomes/areas", summary="Areas compared on an outcome (funnel plot)", tags=["figures"],
             description="Every area of a level (BCUs, boroughs, wards): the share of its data.police.uk crimes "
                         "recorded in the period reaching an outcome group within the follow-up the loaded outcomes "
                         "allow, with exact binomial 95% and 99.8% funnel limits around the share of all the areas "
                         "(Spiegelhalter 2005), each area's position, the overdispersion φ and positions allowing "
                         "for it; areas another force polices or with fewer than 10 crimes are left out with the "
                         "reason; a period without the follow-up loaded is 'not final' and places no area.")
    async def api_outcome_areas(request: Request,
                                level: str = Query("borough", description="The level compared (bcu, borough, ward)."),
                                period: str | None = Query(None, description=PERIOD_HELP),
                                group: str | None = Query(None, description="An outcome group (default 'charged or summonsed')."),
                                highlight: str | None = Query(None, description="An area to mark (key, code or name).")) -> Response:
        return await cached(request, JSON, lambda: dumps(svc.outcome_areas_funnel(level, svc.period(period), group,
                                                                                  highlight)))

    @app.get("/api/outcomes/areas.csv", summary="Areas compared on an outcome, as CSV", tags=["figures"])
    async def api_outcome_areas_csv(request: Request, level: str = Query("borough"), period: str | None = Query(None),
                                    group: str | None = Query(None), highlight: str | None = Query(None)) -> Response:
        return await cached(request, CSV, lambda: areas_funnel_csv(svc.outcome_areas_funnel(
            level, svc.period(period), group, highlight)).encode("utf-8"))

    @app.get("/api/areas/{key}/outcomes", summary="What happened to an area's crimes", tags=["figures"],
             description="Of an area's data.police.uk crimes recorded in a period (a cohort), the share reaching "
                         "each outcome group of the catalogue within a follow-up of N months after the crime's "
                         "month, with Wilson 95% intervals and the crimes (n); a cohort without N months of "
                         "outcomes loaded is 'not final' and says why. The JSON of `crimeplan outcomes`.")
    async def api_area_outcomes(request: Request, key: str,
                                period: str | None = Query(None, description=PERIOD_HELP),
                                crime_type: list[str] | None = Query(None, description="A data.police.uk crime type; repeat for several."),
                                within: int | None = Query(None, description="Months of follow-up (0 to 36).")) -> Response:
        def produce() -> bytes:
            found = svc.area(key)
            return dumps(svc.outcomes(found.key, svc.period(period), tuple(crime_type or ()), within))
        return await cached(request, JSON, produce)

    @app.get("/api/edition", summary="The data edition", tags=["plan"],
             description="The files supplying the current figures (name, dataset, edition, sha256, load time) and "
                         "the months each dataset covers.")
    async def api_edition(request: Request) -> Response:
        return await cached(request, JSON, lambda: dumps(svc.edition()))

    def export_route(fmt: str):
        async def api_export(request: Request, level: str = PathParam(description="borough, ward, bcu …"),
                             period: str | None = Query(None, description=PERIOD_HELP),
                             baseline: str | None = Query(None, description=BASELINE_HELP)) -> Response:
            def produce() -> bytes:
                p, b = chosen(period, baseline)
                return svc.export_file(svc.level(level), p, b, fmt)
            return await cached(request, EXPORT_FORMATS[fmt], produce)
        return api_export

    for fmt in EXPORT_FORMATS:
        app.get(f"/api/export/{{level}}.{fmt}", summary=f"Every area of a level × every measure, as {fmt.upper()}",
                tags=["figures"], name=f"api_export_{fmt}",
                description="One row per area and measure: value, baseline, change with its 95% interval, p and q "
                            "values, verdict, RAG, denominators, the source files and their editions (the figures "
                            "of the level tables; small counts of people withheld as published). XLSX adds a "
                            "README sheet of definitions and the licence. The file of `crimeplan export`.")(
            export_route(fmt))

    def report_route(fmt: str):
        async def performance_report(request: Request, key: str = PathParam(description="London, a BCU or a borough"),
                                     quarter: str | None = Query(None, description=QUARTER_REPORT_HELP)) -> Response:
            def produce() -> bytes:
                from crimeplan.web.printed import render_report, report_pdf

                pack = svc.performance_report(svc.area(key).key, quarter)
                return report_pdf(svc, pack) if fmt == "pdf" else render_report(svc, pack).encode("utf-8")
            return await cached(request, REPORT_FORMATS[fmt], produce)
        return performance_report

    for fmt in REPORT_FORMATS:
        # A document like the pages, not part of the JSON API (the pack's data: `crimeplan report --format json`).
        app.get(f"/report/{{key}}.{fmt}", include_in_schema=False, name=f"report_{fmt}")(report_route(fmt))

    @app.get("/api/health", summary="The server's state", tags=["plan"],
             description="The data edition served, and how far the server has got rendering the default period's "
                         "pages before anyone asks for them (null when it does not).")
    async def api_health(request: Request) -> Response:
        if request.query_params:
            raise BadParameter(f"unknown parameter {sorted(request.query_params)[0]!r}; this endpoint reads none")
        edition = await run_in_threadpool(svc.edition)
        return Response(dumps({"edition": edition["label"], "warm": warmer.status() if warmer else None}),
                        media_type=JSON)

    @app.get("/api/claims/check", summary="The example claims, checked", tags=["claims"])
    async def api_claims_example(request: Request) -> Response:
        return await cached(request, JSON, lambda: dumps(svc.shipped_claims().checks))

    @app.post("/api/claims/check", summary="Check a claims file", tags=["claims"],
              description="POST a claims file (YAML) as the request body. Each claim gets a verdict (supported, "
                          "approximately supported, not supported, unverifiable) in plain words. A file that does "
                          "not follow the format gets 422 listing each problem with its line, claim and field.",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/yaml": {"schema": {"type": "string"}},
                  "text/plain": {"schema": {"type": "string"}}}}})
    async def api_claims_check(request: Request) -> Response:
        raw = await request.body()
        if not raw.strip():
            raise BadParameter("the request body is empty: POST a claims file (YAML), e.g. "
                             "curl --data-binary @claims.yaml -H 'Content-Type: application/yaml' …/api/claims/check")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BadParameter(f"the claims file is not UTF-8 text (byte {exc.start})") from None
        checks = await run_in_threadpool(svc.claims_check, text, "the posted claims file")
        return Response(dumps(checks), media_type=JSON)

    app.openapi = lambda: honest_contract(app)
    return app


PROBLEM_SCHEMA = {
    "title": "Problem", "type": "object", "required": ["detail"],
    "properties": {"detail": {"type": "string", "description": "what is wrong, in words a user can act on"},
                   "problems": {"type": "array", "items": {"type": "string"},
                                "description": "a claims file's problems, each with its line, claim and field"}},
}
ERRORS = {
    "404": "No such area, measure, level or page (the message lists what there is)",
    "413": "The request body is larger than the server accepts",
    "414": "The query string is longer than the server accepts",
    "422": "A parameter that cannot be understood, or one the endpoint does not read",
    "503": "The warehouse is being loaded in place; try again (Retry-After)",
}
CONTENT_BY_SUFFIX = {".csv": ("text/csv", {"type": "string"}),
                     ".geojson": ("application/geo+json", {"type": "object"}),
                     ".xlsx": (EXPORT_FORMATS["xlsx"], {"type": "string", "format": "binary"}),
                     ".parquet": (EXPORT_FORMATS["parquet"], {"type": "string", "format": "binary"})}


def honest_contract(app: FastAPI) -> dict:
    """The OpenAPI schema as the API behaves: every error it can give with its real body (``{"detail": ...}``,
    not FastAPI's list of validation errors), CSV and GeoJSON under their own media types. Built once."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, summary=app.summary, description=app.description,
                         routes=app.routes)
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):  # not the body the API sends
        schemas.pop(name, None)
    problem = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in schema.get("paths", {}).items():
        suffix = next((s for s in CONTENT_BY_SUFFIX if path.endswith(s)), None)
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if suffix and "200" in responses:
                media, body = CONTENT_BY_SUFFIX[suffix]
                responses["200"]["content"] = {media: {"schema": body}}
            wanted = ["414", "422", "503"] + (["404"] if operation.get("parameters") else []) + \
                     (["413"] if method == "post" else [])
            for status in sorted(wanted):
                responses[status] = {"description": ERRORS[status], "content": problem}
    app.openapi_schema = schema
    return schema


__all__ = ["create_app"]
