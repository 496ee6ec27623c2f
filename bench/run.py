"""crimeplan benchmarks: `make bench` runs them and writes bench/RESULTS.md.

Every measurement runs in a fresh subprocess so that its wall time and peak RSS
(from wait4) are its own, and every baseline is measured in the same run on the
same machine. Each case runs --repeat times; the median is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"


@dataclass
class Measurement:
    name: str
    seconds: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)
    records: int | None = None
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rss(self) -> float:
        return max(self.peak_rss_mb)


def run_case(name: str, code: str, repeat: int, setup: str = "", records: int | None = None, note: str = "") -> Measurement:
    """Run ``code`` in a fresh Python ``repeat`` times; time the code itself, after ``setup``.

    The child reports its own timing of ``code`` (so interpreter start-up and
    imports are excluded for every case alike) and wait4 gives its peak RSS.
    """
    m = Measurement(name, records=records, note=note)
    script = "import time, json, sys\n" + textwrap.dedent(setup) + (
        "\n__t = time.perf_counter()\n" + textwrap.dedent(code) + "\nprint(json.dumps({'seconds': time.perf_counter() - __t}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for _ in range(repeat):
        with tempfile.TemporaryFile("w+") as out:
            proc = subprocess.Popen([sys.executable, "-c", script], stdout=out, env=env)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            text = out.read()
        if proc.returncode != 0:
            raise SystemExit(f"benchmark case {name!r} failed (exit {proc.returncode}):\n{text}")
        m.seconds.append(json.loads(text.strip().splitlines()[-1])["seconds"])
        m.peak_rss_mb.append(usage.ru_maxrss / 1024)
    return m


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    import duckdb
    import pandas
    import pyarrow

    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pyarrow": pyarrow.__version__,
        "pandas": pandas.__version__,
    }


# --- sections -------------------------------------------------------------------------------------

STREET_COLUMNS = {
    "Crime ID": "VARCHAR", "Month": "VARCHAR", "Reported by": "VARCHAR", "Falls within": "VARCHAR",
    "Longitude": "DOUBLE", "Latitude": "DOUBLE", "Location": "VARCHAR", "LSOA code": "VARCHAR",
    "LSOA name": "VARCHAR", "Crime type": "VARCHAR", "Last outcome category": "VARCHAR", "Context": "VARCHAR",
}


def load_case(name: str, db: Path, paths: list[Path], records: int, repeat: int) -> Measurement:
    """``crimeplan load`` of ``paths`` into a fresh warehouse ``db``; the first path must hold ``records`` rows."""
    return run_case(
        name,
        f"""
        wh = Warehouse.open({str(db)!r})
        report = wh.load({[str(p) for p in paths]!r})
        first = next(f for f in report.files if f.path.endswith({paths[0].name!r}))
        assert first.read == {records}, first
        wh.close()
        """,
        repeat,
        setup=f"""
        import os
        for p in ({str(db)!r}, {str(db)!r} + '.wal'):
            if os.path.exists(p): os.remove(p)
        from crimeplan.warehouse import Warehouse
        """,
        records=records,
    )


def bench_load(data: Path, repeat: int, work: Path) -> list[str]:
    """Loading the national street zip into a fresh warehouse, against two baselines."""
    zip_path = data / "police-uk" / "national-street-2018-10_2019-02.zip"
    records = 1_771_502
    db = work / "load.duckdb"
    crimeplan = load_case("crimeplan load (zip → warehouse, validated, with provenance)", db, [zip_path], records, repeat)
    pandas_case = run_case(
        "baseline (a): pandas read_csv of every member, concat, to_parquet",
        f"""
        frames = []
        with zipfile.ZipFile({str(zip_path)!r}) as z:
            for name in z.namelist():
                if name.endswith('.csv'):
                    with z.open(name) as f:
                        frames.append(pd.read_csv(f))
        df = pd.concat(frames, ignore_index=True)
        assert len(df) == {records}, len(df)
        df.to_parquet({str(work / 'pandas.parquet')!r})
        """,
        repeat,
        setup="import zipfile\nimport pandas as pd\n",
        records=records,
    )
    extracted = work / "extracted"
    unzip = run_case(
        "baseline (b) part 1: decompress the zip to disk",
        f"""
        with zipfile.ZipFile({str(zip_path)!r}) as z:
            z.extractall({str(extracted)!r})
        """,
        repeat,
        setup=f"import zipfile, shutil\nshutil.rmtree({str(extracted)!r}, ignore_errors=True)\n",
    )
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in STREET_COLUMNS.items()) + "}"
    floor_db = work / "floor.duckdb"
    duck = run_case(
        "baseline (b) part 2: DuckDB typed read_csv of the extracted CSVs into a table",
        f"""
        con = duckdb.connect({str(floor_db)!r})
        con.execute(\"\"\"CREATE TABLE street AS SELECT * FROM read_csv({str(extracted / '*' / '*.csv')!r},
            header = true, quote = '"', escape = '"', columns = {columns})\"\"\")
        n = con.execute('SELECT count(*) FROM street').fetchone()[0]
        assert n == {records}, n
        con.close()
        """,
        repeat,
        setup=f"""
        import os, duckdb
        for p in ({str(floor_db)!r}, {str(floor_db)!r} + '.wal'):
            if os.path.exists(p): os.remove(p)
        """,
        records=records,
    )
    floor = unzip.median + duck.median
    rows = [
        _row(crimeplan), _row(pandas_case), _row(unzip), _row(duck),
        f"| baseline (b) total: decompress + DuckDB (the floor) | {floor:.2f} | {records / floor:,.0f} | {max(unzip.rss, duck.rss):,.0f} |",
    ]
    speedup = pandas_case.median / crimeplan.median
    ratio = crimeplan.median / floor
    verdicts = [
        f"- crimeplan vs pandas (a): **{speedup:.1f}x faster** (target ≥ 2x: {'met' if speedup >= 2 else 'NOT met'}).",
        f"- crimeplan vs the floor (b): **{ratio:.2f}x** its time (target ≤ 1.5x: {'met' if ratio <= 1.5 else 'NOT met'}).",
        f"- crimeplan peak RSS: **{crimeplan.rss:,.0f} MB** (target < 1,024 MB: {'met' if crimeplan.rss < 1024 else 'NOT met'}).",
    ]
    return [
        "## Loading the national street zip (issue 2)",
        "",
        f"Input: `{zip_path.name}` ({zip_path.stat().st_size / 1e6:.1f} MB zipped, 203 CSVs, {records:,} records). "
        "Each case runs in a fresh process into a fresh warehouse / output; times exclude interpreter start-up and imports.",
        "crimeplan's load includes what the baselines do not: validation of every row (months, coordinates, LSOA codes, "
        "crime types), line numbers, provenance, edition slices and the sha256 of the file.",
        "Baseline (b) must name the quote character: DuckDB's sniffer otherwise mis-parses quoted Locations with commas "
        "in some members (28 records land in the wrong columns).",
        "",
        "| case | median s | records/s | peak RSS MB |",
        "|---|---:|---:|---:|",
        *rows,
        "",
        *verdicts,
        "",
    ]


def _row(m: Measurement) -> str:
    rate = f"{m.records / m.median:,.0f}" if m.records else "—"
    runs = ", ".join(f"{s:.2f}" for s in m.seconds)
    return f"| {m.name} (runs: {runs}) | {m.median:.2f} | {rate} | {m.rss:,.0f} |"


def loaded_warehouse(data: Path, work: Path) -> Path:
    """A warehouse holding all the real data, loaded once per bench run (not timed)."""
    db = work / "all.duckdb"
    if not db.exists():
        sys.path.insert(0, str(ROOT / "src"))
        from crimeplan.warehouse import Warehouse

        with Warehouse.open(db) as wh:
            wh.load([data])
    return db


SCORECARD_SETUP = """
import duckdb
from datetime import date
from crimeplan.measures import Engine
from crimeplan.measures.periods import periods_covering
con = duckdb.connect({db!r}, read_only=True)
PERIODS = periods_covering(date(2019, 1, 1), date(2023, 12, 1))
"""

# The engine: every measure of the plan valid at the level, every area, every period, vs a year earlier.
SCORECARD_ENGINE = """
engine = Engine(con)
results = 0
pairs = [(period, period.year_earlier()) for period in PERIODS]
for level in ("borough", "ward"):
    for m in engine.plan.measures:
        if level in m.levels:
            for figures in engine.evaluate_many(m, level, pairs):
                results += sum(len(f.areas) for f in figures if f.status == "ok")
"""

# The same numbers for the count-shaped sources (recorded crime, data.police.uk crimes; outcome shares are
# crime cohorts read from crime_outcome since schema 6, not monthly counts),
# first with the engine, then with pandas as an analyst would write it: the long monthly table and the
# rollup as DataFrames, merged and grouped per measure, then masked and grouped per period. Both use the
# same statistics functions, so the comparison is of the data handling.
SUBSET = """
from crimeplan.geography import load_geography
from crimeplan.measures.cubes import reaches
from crimeplan.plan.schema import RecordedCrimeSource, StreetCrimeSource
KINDS = (RecordedCrimeSource, StreetCrimeSource)
def subset(plan, level):
    geography = load_geography(plan.geography)
    for m in plan.measures:
        if level in m.levels and m.statistic in ("count", "proportion"):
            for source in m.sources:
                if isinstance(source, KINDS) and reaches(geography, source, level):
                    yield m, source
"""

SCORECARD_ENGINE_SUBSET = """
engine = Engine(con)
out = {}
pairs = [(period, period.year_earlier()) for period in PERIODS]
for level in ("borough", "ward"):
    for m, source in subset(engine.plan, level):
        for (period, base), figures in zip(pairs, engine.evaluate_many(m, level, pairs)):
            f = next(x for x in figures if x.source is source)
            out[(level, m.id, source.dataset, getattr(source, "scheme", None), period.label)] = f
"""

SCORECARD_PANDAS = """
import numpy as np
import pandas as pd
from crimeplan.plan import load_plan
from crimeplan.stats import benjamini_hochberg, proportion_changes, rate_ratio_intervals
plan = load_plan()
monthly = con.execute("SELECT * FROM monthly_counts").df()
rollup = con.execute("SELECT * FROM area_rollup").df()
supplied = con.execute("SELECT dataset, series, period FROM current_slices").df()
LEVEL = {"borough": ("borough", [""]), "ward": ("ward", ["2022"])}
NATIVE = {"mps_borough_crime": "borough", "mps_ward_crime": "ward", "police_uk_street": "lsoa", "police_uk_outcomes": "lsoa"}
areas_of = {level: sorted(rollup[(rollup.level == name) & rollup.vintage.isin(v)].code.unique())
            for level, (name, v) in LEVEL.items()}
# every area of the level, including those with nothing recorded
areas_of = {level: sorted(set(codes) | set(con.execute("SELECT code FROM area_current WHERE level = ? AND list_contains(?, vintage)", [LEVEL[level][0], LEVEL[level][1]]).df().code))
            for level, codes in areas_of.items()}
out = {}
for level in ("borough", "ward"):
    name, vintages = LEVEL[level]
    up = rollup[(rollup.level == name) & rollup.vintage.isin(vintages)]
    for m, source in subset(plan, level):
        if isinstance(source, RecordedCrimeSource):
            rows = monthly[(monthly.dataset == source.dataset) & (monthly.variant == source.scheme)]
            keys = rows.major + " / " + rows.category
            majors = [a for a, b in source.categories if b == "*"]
            pairs = [f"{a} / {b}" for a, b in source.categories if b != "*"]
            rows = rows[rows.major.isin(majors) | keys.isin(pairs)]
            series = [f"{ {'borough': 'borough', 'ward': 'ward'}[NATIVE[source.dataset]] }:{source.scheme}"]
            rows = rows.assign(num=rows["count"], den=rows["count"])
        else:
            rows = monthly[monthly.dataset == source.dataset]
            if source.force:
                rows = rows[rows.variant == source.force]
            hit = rows.category.isin(source.crime_types)
            rows = rows[hit].assign(num=lambda d: d["count"], den=lambda d: d["count"])
            series = [source.force] if source.force else None
        merged = rows.merge(up, on=["unit_level", "unit_vintage", "unit_code"])
        by_month = merged.groupby(["code", "month"])[["num", "den"]].sum().reset_index()
        have = supplied[supplied.dataset == source.dataset]
        if series:
            have = have[have.series.isin(series)]
        months_have = set(pd.to_datetime(have.period))
        areas = areas_of[level]
        # an area the source never mentions is not covered by it: unknown, not zero
        uncovered = ~pd.Index(areas).isin(by_month.code.unique())
        for period in PERIODS:
            base = period.year_earlier()
            key = (level, m.id, source.dataset, getattr(source, "scheme", None), period.label)
            def totals(p):
                months = pd.date_range(str(p.start), str(p.end), freq="MS")
                if not all(x in months_have for x in months):
                    return None
                mask = (by_month.month >= pd.Timestamp(p.start)) & (by_month.month <= pd.Timestamp(p.end))
                sums = by_month[mask].groupby("code")[["num", "den"]].sum().reindex(areas, fill_value=0)
                sums[uncovered] = np.nan
                return sums
            cur, old = totals(period), totals(base)
            if cur is None or old is None:
                out[key] = None
                continue
            if m.statistic == "count":
                stats = rate_ratio_intervals(cur.num.to_numpy(), old.num.to_numpy(), period.n_months, base.n_months)
                change = stats.change_pct
                # nothing in either period: not a test (and not counted in the FDR family)
                p = np.where(cur.num.to_numpy() + old.num.to_numpy() > 0, stats.p_value, np.nan)
            else:
                stats = proportion_changes(cur.num.to_numpy(), cur.den.to_numpy(), old.num.to_numpy(), old.den.to_numpy())
                change, p = stats.difference_pp, stats.p_value
                # a share from too few records is not tested: under 50 records in either period
                too_few = (cur.den.to_numpy() < 50) | (old.den.to_numpy() < 50)
                p = np.where(too_few, np.nan, p)
            tested = ~np.isnan(p)
            q = np.full(len(p), np.nan)
            if tested.sum() > 1:
                q[tested] = benjamini_hochberg(p[tested].tolist()).adjusted
            out[key] = pd.DataFrame({"current": cur.num.to_numpy(), "change": change, "p": p, "q": q}, index=areas)
"""


def bench_scorecard(data: Path, repeat: int, work: Path) -> list[str]:
    """Every borough and 2022 ward, every period of 2019-2023, against pandas doing the same sums."""
    db = loaded_warehouse(data, work)
    setup = SCORECARD_SETUP.format(db=str(db)) + SUBSET
    full = run_case("crimeplan: every measure x every borough and ward x every period 2019-2023", SCORECARD_ENGINE, repeat, setup=setup)
    engine_subset = run_case("crimeplan: count-shaped measures only (the pandas subset)", SCORECARD_ENGINE_SUBSET, repeat, setup=setup)
    pandas_subset = run_case("pandas: the same count-shaped measures", SCORECARD_PANDAS, repeat, setup=setup)
    agree = run_case("check: both give the same numbers", SCORECARD_ENGINE_SUBSET + SCORECARD_PANDAS.replace("out = {}", "ref = out\nout = {}") + CHECK_AGREEMENT, 1, setup=setup)
    size = _scorecard_size(db)
    speedup = pandas_subset.median / engine_subset.median
    return [
        "## The full scorecard for every borough and ward over all periods (issue 3)",
        "",
        f"{size}. Each period is compared with the same period a year earlier; results below London are",
        "judged after Benjamini-Hochberg control across the areas of the level. Times exclude start-up and imports,",
        "include opening the plan and building every cube from the warehouse.",
        "",
        "| case | median s | peak RSS MB |",
        "|---|---:|---:|",
        *[f"| {m.name} (runs: {', '.join(f'{x:.2f}' for x in m.seconds)}) | {m.median:.2f} | {m.rss:,.0f} |"
          for m in (full, engine_subset, pandas_subset)],
        "",
        f"- Full scorecard: **{full.median:.2f} s** (target < 2 s: {'met' if full.median < 2 else 'NOT met'}).",
        f"- Same numbers, crimeplan vs pandas: **{speedup:.1f}x faster** (target ≥ 5x: {'met' if speedup >= 5 else 'NOT met'}).",
        f"- The two implementations agree on every current value, change, p-value and q-value ({agree.note or 'checked'}).",
        "",
    ]


CHECK_AGREEMENT = """
import math
checked = 0
for key, figure in ref.items():
    frame = out.get(key)
    if figure.status != "ok":
        assert frame is None, key
        continue
    assert frame is not None, key
    for column, values in (("current", figure.current if figure.change_unit == "%" else None), ("change", figure.change), ("p", figure.p_value), ("q", figure.q_value)):
        if values is None:
            continue
        a, b = np.asarray(values, dtype=float), frame[column].to_numpy(dtype=float)
        assert np.allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True), (key, column)
    checked += 1
assert checked > 100, checked
"""


def _scorecard_size(db: Path) -> str:
    sys.path.insert(0, str(ROOT / "src"))
    import duckdb
    from datetime import date

    from crimeplan.measures import Engine
    from crimeplan.measures.periods import periods_covering

    con = duckdb.connect(str(db), read_only=True)
    engine = Engine(con)
    periods = periods_covering(date(2019, 1, 1), date(2023, 12, 1))
    parts = []
    for level in ("borough", "ward"):
        measures = [m for m in engine.plan.measures if level in m.levels]
        parts.append(f"{len(engine.compiler.areas(level))} {level} areas x {len(measures)} measures")
    con.close()
    return f"Workload: ({' + '.join(parts)}) x {len(periods)} periods (years, financial years, quarters, months, rolling 12 months, years to date)"


# --- the dashboard: API latency under concurrent clients, and publishing the static site (issue 5) ---

WEB_CASES = [
    ("scorecard JSON, London (`/api/scorecard`)", "/api/scorecard"),
    ("scorecard JSON, a ward (`/api/scorecard?area=E05013570`)", "/api/scorecard?area=E05013570"),
    ("ward page (`/area/E05013570`)", "/area/E05013570"),
]
WEB_CLIENTS = (1, 50)
WEB_MAX_REQUESTS = {1: 1000, 50: 5000}  # per case; each case also stops after WEB_MAX_SECONDS
WEB_MAX_SECONDS = 30.0
WEB_TARGET_P95_MS = 100.0
WEB_OTHER_PERIOD = "2022"  # a period other than the plan's default, for pages rendered on request


def _rss_mib(pid: int) -> float:
    """A process's resident memory now (MiB), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _load(base: str, path: str | list[str], clients: int, limit: int, seconds: float) -> dict:
    """``clients`` concurrent keep-alive connections issue requests until ``limit`` or ``seconds``.

    A small asyncio HTTP/1.1 client on one thread: it spends microseconds per request, so the
    latencies are the server's, not the load generator's.
    """
    import asyncio
    from urllib.parse import urlsplit

    host, port = urlsplit(base).hostname, urlsplit(base).port
    paths = [path] if isinstance(path, str) else list(path)
    requests = [f"GET {p} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode() for p in paths]
    latencies: list[float] = []
    errors: list[str] = []
    issued = 0

    async def client(deadline: float) -> None:
        nonlocal issued
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while issued < limit and time.perf_counter() < deadline:
                request = requests[issued % len(requests)]
                issued += 1
                started = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                length = next(int(h.split(":", 1)[1]) for h in lines if h.lower().startswith("content-length:"))
                body = await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                if not lines[0].split()[1] == "200" or not body:
                    errors.append(lines[0])
        finally:
            writer.close()

    async def run() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(client(started + seconds) for _ in range(clients)))
        return time.perf_counter() - started

    wall = asyncio.run(run())
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000

    return {"requests": len(ordered), "errors": len(errors), "p50": pct(0.50), "p95": pct(0.95),
            "max": ordered[-1] * 1000, "rps": len(ordered) / wall, "wall": wall}


def bench_web(data: Path, repeat: int, work: Path) -> list[str]:
    """`crimeplan serve` on 127.0.0.1: latency at 1 and 50 concurrent clients; `crimeplan publish` timed."""
    import httpx

    db = loaded_warehouse(data, work)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    log = work / "serve.log"
    with open(log, "w") as out:
        serve_started = time.monotonic()
        server = subprocess.Popen([sys.executable, "-m", "crimeplan.cli", "serve", "--host", "127.0.0.1",
                                   "--port", str(port), "--db", str(db)], stdout=out, stderr=subprocess.STDOUT, env=env)
    rows, cold, verdicts = [], [], []
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise SystemExit(f"crimeplan serve exited: {log.read_text()}")
            try:
                if httpx.get(f"{base}/api/edition", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"crimeplan serve did not start: {log.read_text()}")
            time.sleep(0.3)
        # The server renders the default period first (in the background); measured once it has.
        deadline = time.monotonic() + 900
        while (warm := httpx.get(f"{base}/api/health", timeout=30).json()["warm"])["done"] < warm["total"]:
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not finish rendering the default period: {warm}")
            time.sleep(1)
        warm_seconds = time.monotonic() - serve_started
        for name, path in WEB_CASES:  # another period's first request computes; later ones come from the cache
            other = f"{path}{'&' if '?' in path else '?'}period={WEB_OTHER_PERIOD}"
            started = time.perf_counter()
            assert httpx.get(base + other, timeout=120).status_code == 200, other
            cold.append(f"| {name}, period {WEB_OTHER_PERIOD} | {(time.perf_counter() - started) * 1000:,.0f} |")
            for _ in range(20):
                httpx.get(base + path, timeout=30)
        for name, path in WEB_CASES:
            for clients in WEB_CLIENTS:
                r = _load(base, path, clients, WEB_MAX_REQUESTS[clients], WEB_MAX_SECONDS)
                rows.append(f"| {name} | {clients} | {r['requests']:,} | {r['errors']} | {r['p50']:.1f} | {r['p95']:.1f} "
                            f"| {r['max']:.1f} | {r['rps']:,.0f} |")
                if clients == 50:
                    met = r["p95"] < WEB_TARGET_P95_MS and r["errors"] == 0
                    verdicts.append(f"- {name}: p95 **{r['p95']:.1f} ms** at 50 clients "
                                    f"(target < {WEB_TARGET_P95_MS:.0f} ms: {'met' if met else 'NOT met'}).")
        # URLs no client has asked for: the default period's (rendered at start, before anyone asks) and another
        # period's (rendered on request), each once, the kinds interleaved.
        keys = [a["key"] for a in httpx.get(f"{base}/api/areas", params={"level": "ward"}, timeout=60).json()]
        asked = {p.split("=")[-1] for _, p in WEB_CASES} | {p.rsplit("/", 1)[-1] for _, p in WEB_CASES}
        keys = [k for k in keys if k not in asked]
        never = [p for k in keys for p in (f"/area/{k}", f"/api/scorecard?area={k}", f"/api/areas/{k}/outcomes")]
        r = _load(base, never, 50, len(never), 120.0)
        uncached = [(f"| never requested, the default period: {len(keys):,} wards' pages, scorecards and outcomes, "
                     f"once each (rendered before anyone asks) | 50 | {r['requests']:,} | {r['errors']} "
                     f"| {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} | {r['rps']:,.0f} |")]
        met = r["p95"] < WEB_TARGET_P95_MS and r["errors"] == 0
        verdicts.append(f"- never-requested URLs of the default period: p95 **{r['p95']:.1f} ms** at 50 clients "
                        f"(target < {WEB_TARGET_P95_MS:.0f} ms: {'met' if met else 'NOT met'}).")
        other = [f"/area/{k}?period={WEB_OTHER_PERIOD}" for k in keys]
        httpx.get(base + other[0], timeout=120)  # the level's figures for that period are computed by the first
        r = _load(base, other[1:], 50, len(other) - 1, 120.0)
        uncached.append(f"| never requested, another period: every other ward's page for {WEB_OTHER_PERIOD}, once "
                        f"each (rendered on request) | 50 | {r['requests']:,} | {r['errors']} | {r['p50']:.1f} "
                        f"| {r['p95']:.1f} | {r['max']:.1f} | {r['rps']:,.0f} |")
        rss = _rss_mib(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    site = work / "site"
    report_file = work / "publish.json"
    publish = run_case(
        "crimeplan publish: the whole static site (open the warehouse, render, write)",
        f"""
        report = publish({str(site)!r}, db={str(db)!r})
        open({str(report_file)!r}, 'w').write(json.dumps(report.to_dict()))
        """,
        min(repeat, 3),
        setup=f"import shutil\nshutil.rmtree({str(site)!r}, ignore_errors=True)\nfrom crimeplan.web.publish import publish\n",
    )
    written = json.loads(report_file.read_text())
    areas = ", ".join(f"{n} {level}" for level, n in written["areas"].items())
    return [
        "## The dashboard: API latency and publishing the static site (issue 5)",
        "",
        f"`crimeplan serve` over the all-data warehouse, on 127.0.0.1, in its own process (uvicorn, one worker); the "
        f"load comes from this process: an asyncio HTTP/1.1 client holding one keep-alive connection per client. "
        f"Each case stops after "
        f"{WEB_MAX_REQUESTS[1]:,} (1 client) or {WEB_MAX_REQUESTS[50]:,} (50 clients) requests or "
        f"{WEB_MAX_SECONDS:.0f} s. Before measuring, each URL is requested 20 times; the server keeps computed "
        "responses (the data does not change between loads).",
        "",
        "| first request of another period (rendered on request) | ms |",
        "|---|---:|",
        *cold,
        "",
        "| case | clients | requests | errors | p50 ms | p95 ms | max ms | requests/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        *uncached,
        "",
        *verdicts,
        "",
        f"The server renders the default period's pages and answers in the background when it starts (and again "
        f"after a load swaps a new warehouse in): here done {warm_seconds:.0f} s after it was started, "
        f"{warm['total']:,} URLs; its resident memory after the run: {rss:,.0f} MiB. The last row is a page of "
        f"another period nobody has asked for: rendered on request, with fifty clients each waiting for the pages "
        f"before theirs (the ward level's figures for the period computed by the first request, not timed).",
        "",
        f"Publishing: {written['pages']:,} pages ({areas}; {written['measures']} measures), {written['json_files']:,} "
        f"JSON files, {written['bytes'] / 1e6:,.0f} MB, in a fresh process.",
        "",
        "| case | median s | peak RSS MB |",
        "|---|---:|---:|",
        f"| {publish.name} (runs: {', '.join(f'{x:.1f}' for x in publish.seconds)}) | {publish.median:.1f} | {publish.rss:,.0f} |",
        "",
    ]


# --- national scale: the national street zip replayed as 1 to 10 years of months, every force (issue 10) ---

NATIONAL_YEARS = (1, 5, 10)
NATIONAL_LAST = (2019, 2)  # the synthetic months end where the real zip does


def synthetic_national_zip(source: Path, years: int, dest: Path) -> tuple[int, int]:
    """The national street zip replayed as ``years`` x 12 months: month j takes the real month j mod 5.

    Each member is rewritten with its new month (file name and Month column), so it is what
    data.police.uk would publish for that month; the forces a real month lacks (Lancashire and
    Northumbria in 2018-10) are absent from every month replayed from it. Returns (members, records).
    """
    import zipfile

    with zipfile.ZipFile(source) as z:
        by_month: dict[str, list[str]] = {}
        for name in z.namelist():
            if name.endswith("-street.csv"):
                by_month.setdefault(name.split("/")[0], []).append(name)
        real = sorted(by_month)
        last = NATIONAL_LAST[0] * 12 + NATIONAL_LAST[1] - 1
        first = last - years * 12 + 1
        members = records = 0
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
            for j in range(years * 12):
                y, m = divmod(first + j, 12)
                target, src = f"{y}-{m + 1:02d}", real[j % len(real)]
                for name in by_month[src]:
                    body = z.read(name).replace(f",{src},".encode(), f",{target},".encode())
                    out.writestr(name.replace(src, target), body)
                    members += 1
                    records += body.count(b"\n") - 1
    return members, records


NATIONAL_SCORECARD = """
import duckdb
from crimeplan.measures import Engine
from crimeplan.plan import parse_plan, plan_path
con = duckdb.connect({db!r}, read_only=True)
forces = con.execute("SELECT code, name FROM derived_area WHERE level = 'pfa' ORDER BY code").fetchall()
text = plan_path('merseyside').read_text(encoding='utf-8')
results = areas = 0
for code, name in forces:
    plan = parse_plan(text.replace('Merseyside Police', name).replace('area: merseyside', f'area: {{code}}'), code)
    engine = Engine(con, plan)
    for level in ('force', 'local_authority', 'lsoa'):
        areas += len(engine.compiler.areas(level))
        for figures in engine.level_scorecard(level, {period!r}, 'previous').values():
            results += sum(len(f.areas) for f in figures if f.status == 'ok')
assert results > 0, results
"""


def bench_national(data: Path, repeat: int, work: Path) -> list[str]:
    """Load time, warehouse size and a full scorecard for every force, local authority and LSOA, 1 to 10 years."""
    source = data / "police-uk" / "national-street-2018-10_2019-02.zip"
    extras = [data / "geography" / "census2021-ts021-lsoa.csv", data / "harm"]
    rows = []
    for years in NATIONAL_YEARS:
        zip_path = work / f"national-{years}y.zip"
        started = time.perf_counter()
        members, records = synthetic_national_zip(source, years, zip_path)
        built = time.perf_counter() - started
        db = work / f"national-{years}y.duckdb"
        # the big cases run once: a 10-year load is a minute and the size of the warehouse is the point
        times = repeat if years == 1 else 1
        load = load_case(f"load {years} year(s)", db, [zip_path, *extras], records, times)
        size = sum(p.stat().st_size for p in work.glob(f"national-{years}y.duckdb*"))
        y, m = NATIONAL_LAST
        quarter = f"{y - (m < 3)}-Q{4 if m < 3 else (m // 3)}"  # the last whole quarter of the span
        score = run_case(f"scorecard {years} year(s)", NATIONAL_SCORECARD.format(db=str(db), period=quarter), times)
        rows.append((years, members, records, zip_path.stat().st_size, built, load, size, score))
        print(f"bench: national {years} year(s): {records:,} records, built in {built:.0f} s, load {load.median:.1f} s, "
              f"scorecard {score.median:.1f} s", flush=True)
        zip_path.unlink()
    first = rows[0]
    lines = [
        "## National scale: every force, local authority and LSOA, 1 to 10 years of months (issue 10)",
        "",
        f"Input: `{source.name}` (the street files of 41 forces for 5 months) replayed as 1, 5 and 10 years of months "
        f"ending {NATIONAL_LAST[0]}-{NATIONAL_LAST[1]:02d}, built at bench time (month j takes the real month j mod 5; "
        "file names and the Month column rewritten; not timed), loaded into a fresh warehouse with Census 2021 "
        "TS021 residents and the CCHI weights. The scorecard is the Merseyside plan (15 measures) written for each force in turn, "
        f"evaluated for every area of its force, local authority and LSOA levels: the quarter {quarter} against the quarter before. "
        "The 5- and 10-year cases run once.",
        "",
        "| years | members | records | zip MB | load s | records/s | load peak RSS MB | warehouse MB | scorecard s | scorecard peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for years, members, records, zipped, built, load, size, score in rows:
        lines.append(f"| {years} | {members:,} | {records:,} | {zipped / 1e6:,.0f} | {load.median:.1f} | "
                     f"{records / load.median:,.0f} | {load.rss:,.0f} | {size / 1e6:,.0f} | {score.median:.1f} | {score.rss:,.0f} |")
    last = rows[-1]
    lines += [
        "",
        f"- From 1 to {last[0]} years ({last[2] / first[2]:.1f}x the records): load time x{last[5].median / first[5].median:.1f}, "
        f"warehouse size x{last[6] / first[6]:.1f}, scorecard time x{last[7].median / first[7].median:.1f}.",
        "",
    ]
    return lines

PLACEMENT_SETUP = """
import shutil, duckdb, numpy as np, shapely
shutil.copy({db!r}, {copy!r})
con = duckdb.connect({copy!r})
from crimeplan.warehouse.derived import refresh_stop_search_points
"""

PLACEMENT_NAIVE = """
xy = con.execute("SELECT longitude, latitude FROM stop_search_current WHERE longitude IS NOT NULL").fetchnumpy()
for level in ("lsoa", "ward"):
    shapes = shapely.from_wkb([g for (g,) in con.execute(
        "SELECT geometry_wkb FROM area_geometry_current WHERE level = ? AND vintage = (SELECT max(vintage) FROM "
        "area_geometry_current WHERE level = ?) ORDER BY code", [level, level]).fetchall()])
    hit = shapely.STRtree(shapes).query(shapely.points(xy["longitude"], xy["latitude"]), predicate="intersects")
"""


def bench_placement(data: Path, repeat: int, work: Path) -> list[str]:
    """Placing every stop and search in the loaded LSOAs and wards (issue 11), against placing every search."""
    db = loaded_warehouse(data, work)
    setup = PLACEMENT_SETUP.format(db=str(db), copy=str(work / "placement.duckdb"))
    searches = _count(db, "SELECT count(*) FROM stop_search_current")
    ours = run_case("crimeplan: every distinct location placed once (LSOA and ward), stored",
                    "refresh_stop_search_points(con)", repeat, setup=setup, records=searches)
    naive = run_case("baseline: every search's point placed (STRtree query per search, not stored)", PLACEMENT_NAIVE,
                     repeat, setup=setup, records=searches)
    return [
        "## Placing stop and search in the geography (issue 11)",
        "",
        f"{searches:,} searches (the Met's and the City of London's), placed by point in polygon in the 4,994 2021 "
        "LSOAs and the 704 2022 wards, at every load that changes them.",
        "",
        "| case | median s | peak RSS MB |",
        "|---|---:|---:|",
        *[f"| {m.name} (runs: {', '.join(f'{x:.2f}' for x in m.seconds)}) | {m.median:.2f} | {m.rss:,.0f} |"
          for m in (ours, naive)],
        "",
        f"- Placement: **{ours.median:.2f} s** (target < 3 s: {'met' if ours.median < 3 else 'NOT met'}); "
        f"{naive.median / ours.median:.1f}x faster than placing every search.",
        "",
    ]


OUTCOMES_SETUP = """
from datetime import date
from crimeplan.measures import Engine
from crimeplan.measures.outcomes import time_to_outcome
from crimeplan.measures.periods import Period
engine = Engine.open({db!r})
london = engine.areas.get("E12000007")
every_month = Period("year", date(2018, 1, 1), date(2025, 2, 1))
"""

# Baseline: the same cumulative incidence as an analyst would write it with pandas, row by row to each crime's
# first outcome, from every crime_outcome row of London's burglaries.
OUTCOMES_PANDAS = """
import numpy as np
from crimeplan.measures.outcomes import outcome_groups
from crimeplan.stats.aalen_johansen import aalen_johansen
groups = [g for g in outcome_groups() if g != "status unavailable"]
rank = {t: k for k, g in enumerate(groups) for t in outcome_groups()[g]}
rows = engine.con.execute(\"\"\"SELECT c.crime_id, c.month, c.outcome_type, c.lag_months FROM crime_outcome c
    JOIN area_rollup r ON r.unit_level = c.unit_level AND r.unit_vintage = c.unit_vintage AND r.unit_code = c.unit_code
    WHERE r.level = 'london' AND c.crime_type = 'Burglary'\"\"\").df()
rows["rank"] = rows.outcome_type.map(rank)
firsts = rows.dropna(subset=["rank"]).sort_values(["lag_months", "rank"]).groupby("crime_id").first()
crimes = rows[rows.outcome_type.isna()].set_index("crime_id")
follow = engine.compiler.follow_up_months("police_uk_outcomes", ["Metropolitan Police Service"],
    sorted({m.year * 12 + m.month - 1 for m in crimes.month}))
reach = crimes.month.map(lambda m: follow[m.year * 12 + m.month - 1])
lag = firsts.lag_months.reindex(crimes.index)
hit = lag.notna() & (lag <= reach)
events = np.zeros((len(groups), int(reach.max()) + 1))
for crime, k in firsts.loc[hit[hit].index, "rank"].items():
    events[int(k), int(lag[crime])] += 1
censored = np.bincount(reach[~hit].astype(int), minlength=events.shape[1]).astype(float)
aalen_johansen(events, censored)
"""


def bench_outcomes(data: Path, repeat: int, work: Path) -> list[str]:
    """Time to outcome (Aalen–Johansen) for every Met burglary of the extract (issue 12)."""
    db = loaded_warehouse(data, work)
    setup = OUTCOMES_SETUP.format(db=str(db))
    crimes = _count(db, "SELECT count(*) FROM crime_outcome WHERE outcome_type IS NULL AND crime_type = 'Burglary'")
    ours = run_case("crimeplan: time_to_outcome, London, every month 2018-01 to 2025-02",
                    "time_to_outcome(engine, london, every_month, ['Burglary'], 'Metropolitan Police Service')",
                    repeat, setup=setup, records=crimes)
    pandas = run_case("pandas: the same curves from every row", OUTCOMES_PANDAS, repeat, setup=setup, records=crimes)
    return [
        "## Time to outcome for every Met burglary (issue 12)",
        "",
        f"{crimes:,} burglaries with a Crime ID, each linked to its outcomes (crime_outcome); each crime's first "
        "outcome, its follow-up and the Aalen–Johansen curves of every outcome group.",
        "",
        "| case | median s | peak RSS MB |",
        "|---|---:|---:|",
        *[f"| {m.name} (runs: {', '.join(f'{x:.2f}' for x in m.seconds)}) | {m.median:.2f} | {m.rss:,.0f} |"
          for m in (ours, pandas)],
        "",
        f"- Time to outcome: **{ours.median:.2f} s** (target < 1 s: {'met' if ours.median < 1 else 'NOT met'}); "
        f"{pandas.median / ours.median:.1f}x faster than pandas.",
        "",
    ]


REPORT_CHILD = """
import json, sys, time
from crimeplan.core import Crimeplan
from crimeplan.web.printed import PdfPrinter, report_pdf
svc = Crimeplan.open({db!r})
out = {{}}
t = time.perf_counter()
with PdfPrinter() as printer:
    out["chromium_start"] = time.perf_counter() - t
    t = time.perf_counter()
    printer._print("<!doctype html><title>floor</title><p>one page</p>", "")
    out["floor"] = time.perf_counter() - t
    t = time.perf_counter()
    pdf = report_pdf(svc, svc.performance_report(svc.engine.areas.top().key, None), printer)
    out["london"] = time.perf_counter() - t
    out["london_bytes"] = len(pdf)
    out["boroughs"] = []
    for area in svc.engine.areas.level("borough"):
        t = time.perf_counter()
        pack = svc.performance_report(area.key, None)
        built = time.perf_counter() - t
        pdf = report_pdf(svc, pack, printer)
        out["boroughs"].append([area.name, built, time.perf_counter() - t, len(pdf)])
print(json.dumps(out))
"""


def bench_report(data: Path, repeat: int, work: Path) -> list[str]:
    """The performance report as PDF: London and every borough, one Chromium for all (issue 14)."""
    db = loaded_warehouse(data, work)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([sys.executable, "-c", REPORT_CHILD.format(db=str(db))], capture_output=True, text=True,
                          env=env)
    if proc.returncode != 0:
        raise SystemExit(f"report benchmark failed:\n{proc.stderr}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    # As a user runs it: a fresh process opening the warehouse, computing the borough level, starting Chromium.
    cli = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "crimeplan.cli", "report", "--area", "Hackney", "--db", str(db),
                        "--out", str(work / "hackney.pdf")], check=True, capture_output=True, env=env)
        cli.append(time.perf_counter() - started)
    totals = [b[2] for b in r["boroughs"]]
    built = [b[1] for b in r["boroughs"]]
    slowest = max(r["boroughs"], key=lambda b: b[2])
    median = statistics.median(totals)
    return [
        "## The performance report as PDF (issue 14)",
        "",
        "`crimeplan report --format pdf` for London and then every borough in one process, one Chromium printing "
        "them all (each report printed twice: the second pass numbers the table of contents). Cold: each borough's "
        "figures are computed for the first time when its report is built. Baseline in the same run: printing a "
        "one-page document (the floor of any PDF).",
        "",
        "| case | seconds |",
        "|---|---:|",
        f"| Chromium start (once) | {r['chromium_start']:.2f} |",
        f"| baseline: print a one-page document | {r['floor']:.2f} |",
        f"| London (figures, then PDF, {r['london_bytes'] / 1024:,.0f} KiB) | {r['london']:.2f} |",
        f"| a borough, median of {len(totals)} (figures {statistics.median(built):.2f} s of it) | {median:.2f} |",
        f"| the slowest borough ({slowest[0]}) | {slowest[2]:.2f} |",
        f"| all {len(totals)} boroughs | {sum(totals):.1f} |",
        f"| `crimeplan report --area Hackney` from a fresh process (median of {len(cli)}: start, open, the borough "
        f"level's figures, Chromium, print) | {statistics.median(cli):.2f} |",
        "",
        f"- A borough's PDF: **{median:.2f} s** median, {slowest[2]:.2f} s at most (target < 5 s: "
        f"{'met' if slowest[2] < 5 else 'NOT met'}).",
        "",
    ]


def _count(db: Path, sql: str) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


SECTIONS = {"load": bench_load, "scorecard": bench_scorecard, "web": bench_web, "national": bench_national,
            "placement": bench_placement, "outcomes": bench_outcomes, "report": bench_report}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("CRIMEPLAN_DATA", ROOT.parent / "shared" / "data")))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append")
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"no data folder at {args.data}; set CRIMEPLAN_DATA")
    work = ROOT / "bench" / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    info = machine()
    lines = [
        "# crimeplan benchmark results",
        "",
        "Written by `make bench` (bench/run.py). Baselines are measured in the same run, on the same machine.",
        "",
        "| machine | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in info.items()],
        f"| repeats per case | {args.repeat} (median reported) |",
        "",
    ]
    for name in args.only or SECTIONS:
        started = time.perf_counter()
        print(f"bench: {name} …", flush=True)
        lines += SECTIONS[name](args.data, args.repeat, work)
        print(f"bench: {name} done in {time.perf_counter() - started:.0f} s", flush=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(RESULTS.read_text())
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
