"""Hostile input to the server and the claims parser: every case is refused in words, quickly and in bounded memory.

The bombs are built here, small; each test fails if its guard is removed.
"""

from __future__ import annotations

import resource
import time

import pytest
from fastapi.testclient import TestClient

from crimeplan.claims import MAX_CLAIMS, parse_claims
from crimeplan.errors import CrimeplanError
from crimeplan.plan import MAX_DEPTH, MAX_NODES
from crimeplan.web import create_app
from crimeplan.web.app import MAX_BODY_BYTES, MAX_QUERY_BYTES, ResponseCache


def billion_laughs(levels: int = 9) -> str:
    """Anchors and aliases nine wide, ``levels`` deep: about 400 bytes that expand to 9**levels strings."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    lines.append(f"claims: *a{levels - 1}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def app(service):
    return create_app(service=service)


@pytest.fixture(scope="module")
def client(app):
    return TestClient(app)


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    text = billion_laughs()
    assert len(text) < 600
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(CrimeplanError, match=f"expand beyond {MAX_NODES:,} nodes"):
        parse_claims(text, "bomb.yaml")
    assert time.perf_counter() - started < 5  # a guard, not a benchmark: unguarded it runs for minutes
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: well under 200 MB


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 999, 5000])
def test_deep_nesting_is_refused_in_words_not_a_recursion_error(depth: int) -> None:
    with pytest.raises(CrimeplanError, match="nest"):  # ours, or libyaml's own "exceeded maximum nesting depth"
        parse_claims("claims: " + "[" * depth + "]" * depth, "deep.yaml")


def test_too_many_claims_are_refused() -> None:
    claim = ("  - {{id: c{i}, statement: s, measure: burglary, area: London, period: '2021', baseline: '2019', "
             "stated_change_pct: -10}}\n")
    text = "claims:\n" + "".join(claim.format(i=i) for i in range(MAX_CLAIMS + 1))
    with pytest.raises(CrimeplanError, match=f"at most {MAX_CLAIMS}"):
        parse_claims(text, "many.yaml")


def test_the_server_refuses_bombs_big_bodies_and_long_queries(client) -> None:
    r = client.post("/api/claims/check", content=billion_laughs().encode(), headers={"content-type": "application/yaml"})
    assert r.status_code == 422 and "expand beyond" in r.json()["detail"]
    r = client.post("/api/claims/check", content=b"claims: []\n" + b"#" * (MAX_BODY_BYTES + 1),
                    headers={"content-type": "application/yaml"})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]

    def chunks():  # no Content-Length: refused as it streams in
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"#" * 65536

    r = client.post("/api/claims/check", content=chunks(), headers={"content-type": "application/yaml"})
    assert r.status_code == 413
    r = client.get("/api/scorecard", params={"area": "x" * (MAX_QUERY_BYTES + 1)})
    assert r.status_code == 414


def test_junk_parameters_are_refused_by_the_api_and_never_cached(client, app) -> None:
    r = client.get("/api/scorecard", params={"area": "Hackney", "junk": "x" * 1000})
    assert r.status_code == 422 and "unknown parameter 'junk'" in r.json()["detail"]
    client.get("/area/E09000012")  # the page itself, cached
    cache = app.state.cache
    before = cache.bytes
    for i in range(30):
        assert client.get("/area/E09000012", params={"utm": f"{i}" + "x" * 1000}).status_code == 200
    assert cache.bytes == before  # a page ignores a parameter it does not read, and keeps no copy for it


def test_the_cache_counts_its_keys_bytes() -> None:
    cache = ResponseCache(10_000)
    cache.put(("/p", b"q" * 6000), (b"body", "text/plain"))
    assert cache.bytes == 6000 + 2 + 4
    cache.put(("/p", b"r" * 6000), (b"body", "text/plain"))
    assert cache.bytes == 6006 and cache.get(("/p", b"q" * 6000)) is None  # the first went: the bound holds


SERVE_MEMORY_BOUND_MIB = 1536  # the stated bound: crimeplan serve under the hostile mix below, warmed cache included


def _vm(pid: int, field: str) -> float:
    """VmHWM (peak since exec) or VmRSS (now) of a process, MiB."""
    for line in open(f"/proc/{pid}/status").read().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for process {pid}")


def test_serve_stays_within_its_memory_bound_under_the_hostile_mix(loaded_db, tmp_path) -> None:
    """`crimeplan serve` (warming the default period) under bombs, big bodies and thousands of requests with junk
    parameters: every one refused or answered, the server alive, its peak resident memory under the bound."""
    import socket
    import subprocess
    import sys
    from pathlib import Path

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(Path(sys.executable).with_name("crimeplan")), "serve", "--db", str(loaded_db),
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=base, timeout=120) as http:
            for _ in range(240):
                try:
                    http.get("/api/health")
                    break
                except httpx.TransportError:
                    assert server.poll() is None
                    time.sleep(0.5)
            while (warm := http.get("/api/health").json()["warm"])["done"] < warm["total"]:
                time.sleep(1)
            statuses: dict[int, int] = {}

            def note(r: httpx.Response) -> None:
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

            for _ in range(20):
                note(http.post("/api/claims/check", content=billion_laughs().encode(),
                               headers={"content-type": "application/yaml"}))
            for depth in (100, 999, 5000):
                note(http.post("/api/claims/check", content=("[" * depth + "]" * depth).encode(),
                               headers={"content-type": "application/yaml"}))
            for _ in range(5):
                note(http.post("/api/claims/check", content=b"#" * (50 << 20), headers={"content-type": "application/yaml"}))
            junk = "x" * (MAX_QUERY_BYTES - 100)
            for i in range(3000):
                note(http.get("/api/scorecard", params={"area": "Hackney", f"j{i}": junk}))  # 422, never cached
            for i in range(300):
                note(http.get("/area/E09000012", params={f"utm{i}": junk}))  # a page: rendered, never cached
            for i in range(200):
                note(http.get("/api/scorecard", params={"area": "x" * (60 << 10)}))  # 414
        assert server.poll() is None, "the server died"
        assert set(statuses) <= {200, 413, 414, 422}, statuses
        assert statuses[422] >= 3000 and statuses[413] == 5 and statuses[414] == 200 and statuses[200] == 300
        peak = _vm(server.pid, "VmHWM")
        assert peak < SERVE_MEMORY_BOUND_MIB, f"peak {peak:,.0f} MiB"
    finally:
        server.terminate()
        server.wait(timeout=30)
