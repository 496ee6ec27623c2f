"""The default period's pages and answers rendered before anyone asks for them.

A page costs some milliseconds of one core to render; fifty people opening fifty different ward pages at once
would each wait for the forty-nine before them. So ``crimeplan serve`` renders what the plan's default period
shows — every published area's page, scorecard, outcomes and details, every measure's page — once per edition,
in a background thread, into the response cache: a ward page nobody has asked for yet is then a cache hit. A
load that swaps a new warehouse in (``Crimeplan.refresh``) empties the cache and starts the warming again.
Requests for other periods are rendered on request, as before.
"""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import urlsplit

from crimeplan.core import Crimeplan
from crimeplan.web.publish import published_areas


def warm_paths(svc: Crimeplan) -> list[str]:
    """The URLs the default period's pages link to, each as a browser or client asks for it."""
    paths = ["/", "/claims", "/sources", "/forces", "/api/plan", "/api/edition", "/api/areas", "/api/scorecard"]
    if svc.outcome_funnel_loaded():
        paths.append("/forces/outcomes")
    paths += [f"/measure/{m.id}" for m in svc.plan.measures]
    for area in published_areas(svc):
        paths += [f"/area/{area.key}", f"/api/areas/{area.key}", f"/api/scorecard?area={area.key}"]
        if svc.has_outcomes(area.key):
            paths.append(f"/api/areas/{area.key}/outcomes")
    return list(dict.fromkeys(paths))


class Warmer:
    """Renders :func:`warm_paths` through the app itself (so the handlers fill the cache exactly as a request
    would), one at a time on a thread of its own; :meth:`start` again begins anew (a new edition)."""

    def __init__(self, app, service: Crimeplan) -> None:
        self.app = app
        self.service = service
        self.done = 0
        self.total = 0
        self.failed: list[str] = []
        self._generation = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            self._generation += 1
            generation = self._generation
            self.done, self.total, self.failed = 0, 0, []
        self._thread = threading.Thread(target=self._run, args=(generation,), name="crimeplan-warm", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._generation += 1  # the running pass sees it and ends after its current page

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current pass (tests, benchmarks); True when it finished."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def status(self) -> dict:
        return {"done": self.done, "total": self.total, "failed": len(self.failed)}

    def _run(self, generation: int) -> None:
        paths = warm_paths(self.service)
        with self._lock:
            if generation != self._generation:
                return
            self.total = len(paths)
        asyncio.run(self._render(paths, generation))

    async def _render(self, paths: list[str], generation: int) -> None:
        for path in paths:
            if generation != self._generation:
                return
            status = await self._get(path)
            if status != 200:
                self.failed.append(f"{path}: {status}")
            self.done += 1

    async def _get(self, url: str) -> int:
        parts = urlsplit(url)
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": parts.path, "raw_path": parts.path.encode(), "root_path": "",
                 "query_string": parts.query.encode(), "headers": [(b"host", b"crimeplan-warm")],
                 "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 0)}
        status = 0

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app(scope, receive, send)
        return status
