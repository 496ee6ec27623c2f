"""The quarterly performance report as a printed document: HTML, and a PDF printed from it by Chromium.

The figures come formatted by :mod:`crimeplan.present` (the same words as the scorecard and the pages),
charts are static SVG, and the PDF is A4 with page numbers, a table of contents with the page each
section starts on, bookmarks and tags (headings, tables, text — never text as images).

    >>> html = render_report(svc, pack)                                   # doctest: +SKIP
    >>> with PdfPrinter() as printer:                                     # doctest: +SKIP
    ...     pdf = report_pdf(svc, pack, printer)

The table of contents is filled in a second pass: the document is printed once, the page each section's
heading is on is read back from the PDF's bookmarks (pypdf), and it is printed again with those numbers (every
section starts a page, and the numbers take no more room than their placeholders, so nothing moves).
"""

from __future__ import annotations

import io
import os
import shutil
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from html import escape

from crimeplan import __version__
from crimeplan.errors import CrimeplanError
from crimeplan.present import NONE, beside_text, interval, measured, months_differ, number, ratio_text, signed
from crimeplan.core import Crimeplan
from crimeplan.web import views
from crimeplan.web.views import RAG, Links, status_text, template_environment

CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
PLACEHOLDER = "00"  # a table-of-contents page number before the second pass


class PrintError(CrimeplanError):
    """The PDF cannot be printed here (no Chromium, or Playwright missing)."""


def chromium_path() -> str:
    """The Chromium that prints: $CRIMEPLAN_CHROMIUM, else Debian's chromium on the PATH."""
    found = os.environ.get("CRIMEPLAN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not os.path.exists(found):
        raise PrintError("printing a PDF needs Chromium: install Debian's chromium (apt-get install -y chromium) "
                         "or set CRIMEPLAN_CHROMIUM to a Chromium binary; --format html needs nothing")
    return found


def report_model(svc: Crimeplan, pack: dict) -> dict:
    """The report's figures as printed (the template only places them): the Fairness, Victims and where-needed-most
    sections are the area page's own (:mod:`crimeplan.web.views`), their tables without the interactive charts."""
    each_months = months_differ({"priorities": pack["priorities"]})
    sections = [{"id": "summary", "title": "Summary"}]
    priorities = []
    for p in pack["priorities"]:
        rows = [_measure_row(m, each_months, svc, pack) for m in p["measures"]]
        priorities.append({**p, "rows": rows, "section": f"priority-{p['id']}"})
        sections.append({"id": f"priority-{p['id']}", "title": p["title"]})
    area_ = svc.area(pack["area"]["key"])
    links = Links(static=True, london_key=svc.engine.areas.top().key)
    period, baseline = pack["period"], pack["baseline"]
    fairness = views.fairness_section(svc, links, area_, period, baseline) if svc.has_fairness(area_.key) else None
    victims = views.victims_section(svc, links, area_, period) if svc.has_outcomes(area_.key) else None
    needs = views.needs_section(svc, links, area_, period, baseline)
    for key, title, present in (("fairness", "Fairness: stop and search", fairness),
                                ("victims", "Victims: what happened to the crimes", victims),
                                ("needs", "Where needed most: ward officers and Town Centre Teams", needs)):
        if present is not None:
            sections.append({"id": key, "title": title})
    sections.append({"id": "appendix", "title": "Appendix: sources and methods"})
    summary = pack["summary"]
    area = pack["area"]
    subject = f"{area['name']}" + (f" ({area['level_name']})" if area["level"] != "london" else "")
    return {
        "title": f"{pack['plan']['title']}: performance report, {subject}",
        "plan": pack["plan"], "area": area, "subject": subject, "quarter": pack["quarter"],
        "period_text": pack["period_text"], "compared_with": pack["compared_with"], "edition": pack["edition"],
        "sections": sections, "each_months": each_months,
        "rag_words": [{"key": k, **v} for k, v in RAG.items()],
        "rag_rows": [{"title": r["title"], "counts": [r["counts"][k] for k in RAG]} for r in summary["rag"]],
        "rag_totals": [summary["rag_all"][k] for k in RAG],  # each measure once, though it serves two priorities
        "significant": [{"priority": m["priority"], "title": m["title"], "months": m["period_text"],
                         "change": _change(m), "verdict": m["verdict"], "rag": _assessment(m)}
                        for m in summary["significant"]],
        "signals": summary["signals"],
        "claims": [{"statement": c["statement"], "verdict": c["verdict"], "plain": c["plain"]}
                   for c in summary["claims"]],
        "priorities": priorities, "fairness": fairness, "victims": victims, "needs": needs,
        "sources": pack["sources"], "methods": pack["methods"], "small_numbers": pack["small_numbers"],
        "attribution": pack["attribution"], "version": __version__, "placeholder": PLACEHOLDER,
    }


def _assessment(m: dict) -> dict:
    """A measure's RAG as printed; a monitored measure (no target direction) judged is 'monitored', not 'not
    assessed'."""
    if m["status"] == "ok" and m["aim"] == "monitor":
        return {**RAG["grey"], "word": "monitored, no target direction"}
    return RAG[m["rag"]]


def _change(m: dict) -> str:
    """A measure's change with its 95% interval, withheld as published."""
    withheld = m.get("suppressed") or {}
    if "change" in withheld:
        return withheld["change"]
    unit = m["change_unit"] or "%"
    text = signed(m["change"], unit)
    if m["interval"]:
        text += f" ({'approximate: ' if m.get('interval_approximate') else ''}{interval(*m['interval'], unit)})"
    return text


def _figure(m: dict, field: str, interval_field: str) -> str:
    """'now' or 'before' as printed: the count or share, its n, withheld as published."""
    shown = number(m[field], m["statistic"])
    if m["statistic"] == "ratio":
        shown = ratio_text(m[field], m.get(interval_field))
    shown = (m.get("suppressed") or {}).get(field, shown)
    n = views.n_text(m["statistic"], m.get("source"), "current" if field == "current" else "baseline")
    return f"{shown} ({n})" if n else shown


def _measure_row(m: dict, each_months: bool, svc: Crimeplan, pack: dict) -> dict:
    ok = m["status"] == "ok"
    figure_only = m["status"] == "baseline incomplete"
    area = pack["area"]
    spark = (views.measure_spark(svc, m["id"], area["level"], area["code"], pack["period"], pack["baseline"])
             if ok or figure_only else None)
    return {
        "title": m["title"], "unit": m["unit"], "months": m["period_text"] if each_months and measured(m) else "",
        "now": _figure(m, "current", "current_interval") if ok or figure_only else NONE,
        "before": _figure(m, "baseline_value", "baseline_interval") if ok else NONE,
        "change": _change(m) if ok else NONE,
        "verdict": m["verdict"] or "",
        "rag": _assessment(m), "note": "" if ok else status_text(m["status"], m["message"]),
        "plain": m["plain"] if ok else "",
        "beside": beside_text(m) or "", "source": (m.get("source") or {}).get("label", ""), "spark": spark,
    }


def render_report(svc: Crimeplan, pack: dict) -> str:
    """The report as one self-contained HTML document (inline CSS and SVG: nothing fetched)."""
    return template_environment().get_template("report.html").render(**report_model(svc, pack))


class PdfPrinter:
    """One Chromium for many reports (a report each borough costs a page, not a browser).

    Playwright's sync API refuses a thread running an asyncio loop (a server's, a notebook's, another Playwright's),
    so the browser lives in a thread of its own and every call goes through it.
    """

    def __init__(self) -> None:
        self._playwright = self._browser = None
        self._thread = None

    def __enter__(self) -> "PdfPrinter":
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crimeplan-pdf")
        try:
            self._thread.submit(self._start).result()
        except BaseException:
            self._thread.shutdown()
            raise
        return self

    def _start(self) -> None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:  # pragma: no cover - a runtime dependency
            raise PrintError("printing a PDF needs Playwright for Python (pip install playwright)") from None
        executable = chromium_path()
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(executable_path=executable, headless=True,
                                                             args=CHROMIUM_ARGS)
        except Exception as exc:
            self._playwright.stop()
            raise PrintError(f"Chromium ({executable}) did not start: {exc}") from None

    def __exit__(self, *exc) -> None:
        def stop() -> None:
            if self._browser is not None:
                self._browser.close()
            if self._playwright is not None:
                self._playwright.stop()
        try:
            self._thread.submit(stop).result()
        finally:
            self._thread.shutdown()

    def _print(self, html: str, footer: str) -> bytes:
        return self._thread.submit(self._print_here, html, footer).result()

    def _print_here(self, html: str, footer: str) -> bytes:
        page = self._browser.new_page()
        try:
            page.set_content(html, wait_until="load")
            return page.pdf(
                format="A4", print_background=True, tagged=True, outline=True, display_header_footer=True,
                header_template="<span></span>",
                footer_template=('<div style="font-size:8px;width:100%;padding:0 14mm;display:flex;'
                                 'justify-content:space-between;color:#444"><span>' + escape(footer) + '</span>'
                                 '<span>page <span class="pageNumber"></span> of <span class="totalPages"></span>'
                                 '</span></div>'),
                margin={"top": "14mm", "bottom": "16mm", "left": "14mm", "right": "14mm"})
        finally:
            page.close()

    def pdf(self, html: str, sections: list[dict], footer: str = "") -> bytes:
        """``html`` printed, its table of contents numbered with the page each section (id, title) starts on."""
        first = self._print(html, footer)
        numbered = html
        for s, page in zip(sections, section_pages(first, [s["title"] for s in sections])):
            numbered = numbered.replace(f'data-toc="{s["id"]}">{PLACEHOLDER}<',
                                        f'data-toc="{s["id"]}">{page if page else NONE}<', 1)
        return self._print(numbered, footer) if numbered != html else first


def section_pages(pdf: bytes, headings: list[str]) -> list[int | None]:
    """The page (from 1) each heading is on, from the printed PDF's bookmarks (Chromium makes one per heading);
    None for a heading with none. The first bookmark of a title wins: the contents list is not a heading."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    pages: dict[str, int] = {}

    def walk(items) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
                continue
            # NFKC: Chromium may set 'fi', 'ffi' as ligatures, which come back as one character each.
            title = " ".join(unicodedata.normalize("NFKC", item.title).split())
            pages.setdefault(title, reader.get_destination_page_number(item) + 1)

    walk(reader.outline)
    return [pages.get(" ".join(heading.split())) for heading in headings]


def report_pdf(svc: Crimeplan, pack: dict, printer: PdfPrinter | None = None) -> bytes:
    """The report as an A4 PDF (a printer given is reused; else one is started for it)."""
    model = report_model(svc, pack)
    html = template_environment().get_template("report.html").render(**model)
    footer = f"{model['subject']} · {model['quarter'] or model['period_text']} · crimeplan"
    if printer is not None:
        return printer.pdf(html, model["sections"], footer)
    with PdfPrinter() as own:
        return own.pdf(html, model["sections"], footer)


__all__ = ["PdfPrinter", "PrintError", "render_report", "report_model", "report_pdf", "section_pages"]
