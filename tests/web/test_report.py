"""crimeplan report: a borough's performance report printed to PDF carries the API's figures, and is a document
(A4, tagged, numbered pages, a table of contents with the pages its sections start on, the licence)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from crimeplan.cli import app

runner = CliRunner()
MINUS = "\u2212"
BOROUGH = "Camden"


def _count(value: float) -> str:
    """A count or rate as the test expects it printed: thousands separated, whole from 100 up."""
    return f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:,.1f}"


def _signed(value: float, unit: str) -> str:
    text = f"{abs(value):.1f}"
    sign = "" if float(text) == 0 else ("+" if value > 0 else MINUS)
    return f"{sign}{text}{'pp' if unit == 'pp' else '%'}"


@pytest.fixture(scope="module")
def printed(loaded_db, tmp_path_factory, browser, artifacts, poppler):  # browser: printed beside a running Playwright
    """Camden's report as PDF (the latest months), its text in layout, and its pages as images for the record."""
    out = tmp_path_factory.mktemp("report") / "camden.pdf"
    result = runner.invoke(app, ["report", "--area", BOROUGH, "--format", "pdf", "--out", str(out),
                                 "--db", str(loaded_db)])
    assert result.exit_code == 0, result.output
    text = subprocess.run([poppler("pdftotext"), "-layout", str(out), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = artifacts / "report-camden"
    shutil.rmtree(pages, ignore_errors=True)
    pages.mkdir()
    subprocess.run([poppler("pdftoppm"), "-r", "60", "-png", str(out), str(pages / "page")], check=True)
    info = subprocess.run([poppler("pdfinfo"), str(out)], capture_output=True, text=True, check=True).stdout
    return {"pdf": out, "text": text, "info": info, "images": sorted(pages.glob("page-*.png"))}


def test_the_boroughs_pdf_carries_the_apis_figures(printed, client) -> None:
    card = client.get("/api/scorecard", params={"area": BOROUGH}).json()
    assert card["period"] == "latest"
    lines = printed["text"].splitlines()
    checked = 0
    for priority in card["priorities"]:
        for m in priority["measures"]:
            if m["status"] != "ok" or m["statistic"] not in ("count", "rate") or m.get("suppressed"):
                continue
            # The row's first line: the title's first word, now, before, and the change with its interval.
            now, before = _count(m["current"]), _count(m["baseline_value"])
            change = _signed(m["change"], m["change_unit"])
            low, high = (_signed(x, m["change_unit"]) for x in m["interval"])
            row = re.compile(rf"{re.escape(m['title'].split()[0])}.*\s{re.escape(now)}\s+{re.escape(before)}\s+"
                             rf"{re.escape(change)} \({re.escape(low)} to {re.escape(high)}\)")
            assert any(row.search(line) for line in lines), (m["id"], now, before, change, low, high)
            checked += 1
    assert checked >= 10  # Camden's counts are measured: a report of blanks would pass nothing here


def test_the_pdf_is_an_accessible_a4_document_with_numbered_pages_and_contents(printed) -> None:
    info, text = printed["info"], printed["text"]
    assert "Tagged:          yes" in info and "(A4)" in info
    n = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert n >= 6 and len(printed["images"]) == n
    assert f"page 1 of {n}" in text and f"page {n} of {n}" in text
    contents = text.split("Contents", 1)[1].split("\f", 1)[0]
    numbered = dict(re.findall(r"^\s*(\S.*?)\s{2,}page (\d+|—)\s*$", contents, re.M))
    assert {"Summary", "Reducing and preventing violence", "Appendix: sources and methods"} <= set(numbered)
    assert "—" not in numbered.values() and "00" not in numbered.values(), numbered
    pages = text.split("\f")
    for title, page in numbered.items():  # each section starts the page the contents say
        assert pages[int(page) - 1].lstrip().startswith(title), (title, page)
    assert "Open Government Licence" in pages[-2] or "Open Government Licence" in pages[-1]


def test_the_report_says_what_it_covers_and_refuses_what_it_cannot_be(loaded_db, tmp_path) -> None:
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", "--area", BOROUGH, "--quarter", "2025-Q4", "--format", "html",
                                 "--out", str(out), "--db", str(loaded_db)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "performance report, 2025-Q4" in html and "The 12 months to December 2025" in html
    assert "<svg class=\"spark\"" in html and "<script" not in html  # static charts; nothing to run
    refused = runner.invoke(app, ["report", "--area", BOROUGH, "--quarter", "2025", "--db", str(loaded_db)])
    assert refused.exit_code != 0 and "expected a quarter such as 2025-Q4" in refused.output
    ward = runner.invoke(app, ["report", "--area", "E05013570", "--db", str(loaded_db)])
    assert ward.exit_code != 0 and "performance report is for London" in ward.output


def test_the_report_page_passes_axe(client, browser, axe) -> None:
    html = client.get("/report/E09000007.html").text
    page = browser.new_page()
    try:
        page.set_content(html)
        assert axe(page) == []
    finally:
        page.close()
