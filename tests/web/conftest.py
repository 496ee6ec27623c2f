"""Fixtures for the web tests: the service over the all-data warehouse, a test client, a published
site, a `crimeplan serve` process, and Debian's chromium driven by Playwright.

Browser tests never skip in CI (CI=true): a missing chromium or Playwright fails them there. Elsewhere
they skip with a message saying how to install chromium (`make test` installs it with apt-get).
"""

from __future__ import annotations

import os
import socket
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def service(loaded_db: Path):
    from crimeplan.core import Crimeplan

    return Crimeplan.open(loaded_db)


@pytest.fixture(scope="session")
def client(service):
    from fastapi.testclient import TestClient

    from crimeplan.web import create_app

    with TestClient(create_app(service=service)) as c:
        yield c


@pytest.fixture(scope="session")
def published_site(service, tmp_path_factory: pytest.TempPathFactory):
    """The whole static site, published once per session."""
    from crimeplan.web.publish import publish

    out = tmp_path_factory.mktemp("published") / "site"
    report = publish(out, service=service)
    return report


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium through Playwright (headless; never `playwright install`)."""
    problem = None
    if not Path(CHROMIUM).exists():
        problem = (f"{CHROMIUM} not found: install Debian's chromium (`apt-get install -y chromium`, "
                   "which `make test` does when it can)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = problem or "Playwright for Python is not installed (pip install -e '.[dev]')"
    if problem:
        if in_ci():
            pytest.fail(problem)
        pytest.skip(problem)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


# WCAG 2.2 AA: the axe-core rules tagged for levels A and AA of WCAG 2.0, 2.1 and 2.2.
WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="session")
def axe():
    """``axe(page)``: axe-core's WCAG 2.2 AA violations on the page as it is now, one line per rule.

    axe-core's script (Deque, MPL-2.0) comes inside the axe-playwright-python package, a dev dependency:
    nothing is fetched. Without it the tests skip, except in CI, where they fail.
    """
    try:
        from importlib.resources import files

        source = files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")
    except (ImportError, FileNotFoundError) as exc:
        problem = f"axe-core not available ({exc}): pip install -e '.[dev]' installs axe-playwright-python"
        if in_ci():
            pytest.fail(problem)
        pytest.skip(problem)

    def violations(page) -> list[str]:
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.add_script_tag(content=source)
        result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA_TAGS)
        return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
                for v in result["violations"]]

    return violations


@pytest.fixture(scope="session")
def poppler():
    """``poppler(tool)``: the path of poppler's pdftotext, pdftoppm or pdfinfo (`make test` installs poppler-utils);
    without it the tests skip, except in CI, where they fail."""
    def find(tool: str) -> str:
        found = shutil.which(tool)
        if found is None:
            problem = f"{tool} not found: install poppler-utils (`apt-get install -y poppler-utils`, as `make test` does)"
            if in_ci():
                pytest.fail(problem)
            pytest.skip(problem)
        return found

    return find


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(loaded_db: Path):
    """`crimeplan serve` in a subprocess on a free port of 127.0.0.1; yields its base URL."""
    yield from _serve(loaded_db, None, "serve.log")


@pytest.fixture(scope="session")
def merseyside_server(loaded_db: Path):
    """`crimeplan serve --plan merseyside` (the second shipped plan: a force, its local authorities, no map)."""
    yield from _serve(loaded_db, "merseyside", "serve-merseyside.log")


def _serve(loaded_db: Path, plan: str | None, log_name: str):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    log = ARTIFACTS / log_name
    ARTIFACTS.mkdir(exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "crimeplan.cli", "serve", "--host", "127.0.0.1",
                                 "--port", str(port), "--db", str(loaded_db), *(["--plan", plan] if plan else [])],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"crimeplan serve exited with {proc.returncode}: {log.read_text()}")
            try:
                if httpx.get(f"{base}/api/edition", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"crimeplan serve did not answer within 90 s: {log.read_text()}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
