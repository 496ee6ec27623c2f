"""The default period's pages rendered before anyone asks: a ward page nobody has requested is a cache hit, with
the same bytes as rendering it on request; other periods are rendered on request."""

from __future__ import annotations

from fastapi.testclient import TestClient

from crimeplan.web import create_app
from crimeplan.web.warm import warm_paths


def test_the_default_periods_pages_are_rendered_before_anyone_asks(service) -> None:
    app = create_app(service=service, warm=True)
    wards = [a.key for a in service.engine.areas.level("ward")]
    with TestClient(app) as client:  # starting the app starts the warming
        assert app.state.warmer.wait(900)
        warm = client.get("/api/health").json()["warm"]
        paths = warm_paths(service)
        assert warm == {"done": len(paths), "total": len(paths), "failed": 0}
        assert len(wards) >= 680 and all(f"/area/{w}" in paths and f"/api/scorecard?area={w}" in paths for w in wards)
        for path in (f"/area/{wards[-1]}", f"/api/scorecard?area={wards[-1]}", f"/api/areas/{wards[-1]}/outcomes"):
            key = (path.split("?")[0], path.partition("?")[2].encode())
            cached = app.state.cache.get(key)
            assert cached is not None, path  # nobody asked for it
            with TestClient(create_app(service=service)) as fresh:  # rendered on request, by another app
                assert fresh.get(path).content == cached[0], path
        other = f"/area/{wards[-1]}?period=2022"
        assert app.state.cache.get((f"/area/{wards[-1]}", b"period=2022")) is None  # only the default period
        assert client.get(other).status_code == 200
