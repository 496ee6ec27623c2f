"""The command line: a thin layer over the Python API (crimeplan.warehouse, crimeplan.fetch, …)."""

from __future__ import annotations

import json
import sys
import warnings
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from crimeplan import OGL_ATTRIBUTION
from crimeplan.config import data_dir, db_path
from crimeplan.errors import CrimeplanError
from crimeplan import disclosure
from crimeplan.present import (
    Rag, Status, gini_text, number, partial_period, persistence_text, rank_text, rate_text, ratio_text, share_text, signed,
    withheld_text, difference_text, located_text, survey_gaps_text, percent_text, FUNNEL_POSITION_TEXT,
    time_to_outcome_text, beside_text, measured, months_differ,
)

app = typer.Typer(
    help="crimeplan: a Police and Crime Plan as a living, checkable performance system.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(soft_wrap=True, emoji=False)  # long messages (file names, counts) stay on one line
err = Console(stderr=True, soft_wrap=True, emoji=False)

DbOption = typer.Option(None, "--db", help="Warehouse file (default: $CRIMEPLAN_DB or ./crimeplan.duckdb).")
PlanOption = typer.Option(None, "--plan", help="A plan file (default: the London plan shipped with crimeplan).")
PeriodOption = typer.Option(None, "--period", help="latest (the default), latest-quarter, latest-month, 2021, FY2021-22, 2021-06, 2021-Q2, rolling:2021-12, fytd:2021-10")


class TableOrJson(str, Enum):
    table = "table"
    json = "json"


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class SeriesBy(str, Enum):
    month = "month"
    quarter = "quarter"
    year = "year"
    fy = "fy"


RAG_ICONS = {r.value: f"{r.icon} {r.word}" for r in Rag}
RAG_STYLES = {"green": "green", "amber": "yellow", "red": "red", "grey": "dim"}


def _fail(exc: Exception) -> None:
    err.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(1)


class _RichLoadProgress:
    """Draws one progress bar per input from the loader's events."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = None

    def start(self, name: str, total_bytes: int) -> None:
        self.task = self.progress.add_task(name, total=max(total_bytes, 1))

    def advance(self, nbytes: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, nbytes)

    def finish(self, report) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[self.task].total)
            self.task = None
        name = Path(report.path).name
        if report.status == "loaded":
            self.progress.console.print(
                f"[green]loaded[/] {name}: read {report.read:,} = loaded {report.loaded:,} + rejected {report.rejected:,}"
                + (f"; {report.revisions:,} revisions" if report.revisions else "")
                + f" ({report.seconds:.1f} s)"
            )
            for part in report.parts:
                if part.encoding not in ("utf-8", "utf-8-sig"):
                    self.progress.console.print(f"  [yellow]{part.member or name}: read as {part.encoding}[/]")
        elif report.status == "unchanged":
            self.progress.console.print(f"[dim]unchanged[/] {name}: {report.message}")
        else:
            self.progress.console.print(f"[bold red]refused[/] {report.message}")


@app.command()
def load(
    paths: list[Path] = typer.Argument(..., help="Files, archive zips or folders of official data."),
    db: Optional[Path] = DbOption,
    format: TableOrJson = typer.Option(TableOrJson.table, "--format", help="Report as text or JSON."),
) -> None:
    """Load official files into the warehouse (each file in one transaction; loading twice changes nothing)."""
    from crimeplan.warehouse import Warehouse

    try:
        with Warehouse.open_for_loading(db, waiting=lambda words: err.print(f"[dim]{words}[/]")) as wh:
            if format is TableOrJson.json:
                report = wh.load(paths)
                print(json.dumps(report.to_dict(), indent=2, default=str))
            else:
                columns = [TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn()]
                with Progress(*columns, console=console, transient=True) as progress:
                    report = wh.load(paths, _RichLoadProgress(progress))
                for skipped in report.skipped:
                    console.print(f"[dim]skipped {skipped} (not a data file)[/]")
        if wh.swapped and format is not TableOrJson.json:
            console.print("[dim]the warehouse was open for reading (a running `crimeplan serve`?): loaded into a "
                          "copy and swapped in whole; a server picks the new data up with its next request[/]")
    except CrimeplanError as exc:
        _fail(exc)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def status(
    db: Optional[Path] = DbOption,
    format: TableOrJson = typer.Option(TableOrJson.table, "--format"),
) -> None:
    """What is loaded: per dataset, files, records read / loaded / rejected, month span and areas."""
    from crimeplan.warehouse import Warehouse

    try:
        with Warehouse.open(db, read_only=db_path(db).exists()) as wh:
            summary = wh.status()
    except CrimeplanError as exc:
        _fail(exc)
    if format is TableOrJson.json:
        print(json.dumps(summary, indent=2, default=str))
        return
    if console.width < WIDE_TABLE_COLUMNS:  # a narrow terminal: a line per dataset, not ten squeezed columns
        console.print(f"[bold]crimeplan warehouse {summary['warehouse']}[/]")
        for d in summary["datasets"]:
            span = f"{d['first_period']} to {d['last_period']}" if d["first_period"] else "no periods"
            gaps = [f"{len(d[k])} {w}" for k, w in (("missing_periods", "missing"), ("incomplete_periods", "incomplete"))
                    if d[k]]
            console.print(f"[bold]{d['dataset']}[/]: {len(d['files'])} file{'s' if len(d['files']) != 1 else ''}, "
                          f"{d['loaded']:,} loaded, {d['rejected']:,} rejected; {span}"
                          + (f"; {', '.join(gaps)} periods" if gaps else "")
                          + f"; {d['areas']:,} area{'s' if d['areas'] != 1 else ''}")
    else:
        _status_table(summary)
    from crimeplan.warehouse.coverage import problem_lines

    for d in summary["datasets"]:
        for line in problem_lines(d):
            console.print(f"  [yellow]{d['dataset']}[/]: {line}")
    console.print(
        f"{summary['rejects']:,} rejected rows (table 'rejects'), {summary['revisions']:,} revised values (table 'revisions')."
    )
    console.print(f"[dim]{OGL_ATTRIBUTION}[/]")


WIDE_TABLE_COLUMNS = 110  # below this the status table's columns are cut to '…'


def _status_table(summary: dict) -> None:
    table = Table(title=f"crimeplan warehouse {summary['warehouse']}", show_lines=False)
    for name, justify in [
        ("dataset", "left"), ("files", "right"), ("read", "right"), ("loaded", "right"), ("rejected", "right"),
        ("current", "right"), ("span", "left"), ("gaps", "right"), ("incomplete", "right"), ("areas", "right"),
    ]:
        table.add_column(name, justify=justify, no_wrap=name == "dataset")
    for d in summary["datasets"]:
        span = f"{d['first_period']} – {d['last_period']}" if d["first_period"] else "—"
        table.add_row(
            d["dataset"], str(len(d["files"])), f"{d['read']:,}", f"{d['loaded']:,}", f"{d['rejected']:,}",
            f"{d['current_records']:,}", span, str(len(d["missing_periods"])) if d["missing_periods"] else "",
            str(len(d["incomplete_periods"])) if d["incomplete_periods"] else "", f"{d['areas']:,}",
        )
    console.print(table)


@app.command()
def coverage(
    dataset: str = typer.Argument(..., help="A dataset id (see 'crimeplan status')."),
    series: Optional[str] = typer.Option(None, "--series", help="One series: a force, or a level and scheme (ward:new)."),
    area: Optional[str] = typer.Option(None, "--area", help="An area (code or name): its monthly count beside the coverage."),
    db: Optional[Path] = DbOption,
    plan: Optional[Path] = PlanOption,
    format: TableOrJson = typer.Option(TableOrJson.table, "--format"),
) -> None:
    """The coverage grid of a dataset: every period complete, partial, implausible or absent, and why."""
    from crimeplan.warehouse import coverage as coverage_model

    try:
        engine = _core(db, plan).engine
        if area is not None:
            found = engine.areas.get(area)
            level, vintages = engine.geography.table_level(found.level)
            rows = coverage_model.area_grid(engine.con, dataset, level, list(vintages), found.code)
        else:
            rows = coverage_model.grid(engine.con, dataset, series)
    except CrimeplanError as exc:
        _fail(exc)
    if not rows:
        _fail(CrimeplanError(f"no coverage for {dataset!r}{' series ' + series if series else ''}: is it loaded? "
                             "(crimeplan status lists the datasets)"))
    if format is TableOrJson.json:
        print(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title=f"coverage of {dataset}" + (f" in {area}" if area else ""))
    keys = ["period", "series", "status", "count" if area else "records", "reason"]
    for key in keys:
        table.add_column(key, justify="right" if key in ("count", "records") else "left")
    style = {"complete": "", "partial": "yellow", "implausible": "yellow", "absent": "red"}
    for r in rows:
        value = r["count" if area else "records"]
        period = r["period"] if area else (f"{r['period']:%Y}" if r["granularity"] == "year" else f"{r['period']:%Y-%m}")
        table.add_row(period, r["series"], f"[{style[r['status']]}]{r['status']}[/]" if style[r["status"]] else r["status"],
                      "—" if value is None else f"{value:,.0f}", r["reason"] or "")
    console.print(table)
    console.print(f"[dim]Rule: {coverage_model.RULE}.[/]")
    console.print(f"[dim]{OGL_ATTRIBUTION}[/]")


@app.command()
def sources(format: TableOrJson = typer.Option(TableOrJson.table, "--format")) -> None:
    """The catalogue: every dataset crimeplan reads, its publisher, official page, download address and licence."""
    from crimeplan.catalogue import load_catalogue

    try:
        catalogue = load_catalogue()
    except CrimeplanError as exc:
        _fail(exc)
    if format is TableOrJson.json:
        print(json.dumps(catalogue.to_dict(), indent=2, default=str))
        return
    table = Table(title="crimeplan sources", show_lines=True)
    for name in ("dataset", "publisher", "landing page / download", "licence"):
        table.add_column(name, overflow="fold")
    for d in catalogue.datasets:
        urls = [d.landing_page] + [f.url for f in d.files if f.url and f.url != d.landing_page]
        table.add_row(f"{d.id}\n[dim]{d.title}[/]", d.publisher, "\n".join(urls), d.licence)
    console.print(table)


@app.command()
def fetch(
    dest: Path = typer.Option(None, "--dest", help="Folder to download into (default: $CRIMEPLAN_DATA or ./data)."),
    mirror: Optional[str] = typer.Option(None, "--mirror", help="A folder or http(s) URL holding the same layout."),
    only: Optional[list[str]] = typer.Option(None, "--only", help="Dataset ids to fetch (repeatable)."),
    verify: bool = typer.Option(True, "--verify/--no-verify", help="Check sha256 against the catalogue."),
) -> None:
    """Download the catalogue's files from their official addresses (resumable, checksummed)."""
    from crimeplan.fetch import fetch as fetch_files

    dest = dest or data_dir() or Path("data")
    columns = [TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn()]
    tasks: dict[str, int] = {}
    with Progress(*columns, console=console, transient=True) as progress:

        def on_event(event: str, **info) -> None:
            path = str(info.get("path", ""))
            if event == "start":
                tasks[path] = progress.add_task(Path(path).name, total=info.get("total") or None,
                                                completed=info.get("completed", 0))
            elif event == "advance" and path in tasks:
                progress.advance(tasks[path], info.get("nbytes", 0))
            elif event in ("done", "skip", "error"):
                if path in tasks:
                    progress.remove_task(tasks.pop(path))
                style = {"done": "green", "skip": "dim", "error": "bold red"}[event]
                progress.console.print(f"[{style}]{event}[/] {path} {info.get('message', '')}")

        try:
            report = fetch_files(dest, mirror=mirror, only=only, progress=on_event, verify=verify)
        except CrimeplanError as exc:
            _fail(exc)
    if not report.ok:
        raise typer.Exit(1)
    console.print(f"Files are in {dest}; load them with: crimeplan load {dest}")


@app.command()
def reset(
    db: Optional[Path] = DbOption,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete the warehouse file."""
    from crimeplan.warehouse import reset as reset_warehouse

    path = db_path(db)
    if not path.exists():
        console.print(f"No warehouse at {path}; nothing to do.")
        return
    if not yes and sys.stdin.isatty() and not typer.confirm(f"Delete {path}?"):
        raise typer.Exit(1)
    reset_warehouse(path)
    console.print(f"Deleted {path}.")


@contextmanager
def _plan_warnings():
    """Show a plan that does not match the loaded data (Engine.open's PlanCheckWarning) once, on stderr."""
    from crimeplan.plan.check import PlanCheckWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PlanCheckWarning)
        try:
            yield
        finally:
            shown = set()
            for w in caught:
                if issubclass(w.category, PlanCheckWarning):
                    if str(w.message) not in shown:
                        shown.add(str(w.message))
                        err.print(f"[bold yellow]warning:[/] {escape(str(w.message))}", highlight=False)
                else:
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _core(db: Optional[Path], plan: Optional[Path]):
    """The façade every command asks (crimeplan.core.Crimeplan), as the web does: the same validation, the same errors."""
    from crimeplan.core import Crimeplan

    with _plan_warnings():
        return Crimeplan.open(db, plan)


def _comparison(core, period: Optional[str], baseline: Optional[str]) -> tuple[str, str]:
    p = core.period(period)
    return p, core.baseline(p, baseline)


def _emit(format: OutputFormat, data, to_csv, ensure_ascii: bool = True) -> bool:
    """Write ``data`` as JSON or CSV when ``format`` asks for it; False for the table (left to the caller)."""
    if format is OutputFormat.json:
        print(json.dumps(data, indent=2, ensure_ascii=ensure_ascii))
        return True
    if format is OutputFormat.csv:
        sys.stdout.write(to_csv(data))
        return True
    return False


def _fmt(value, unit: str | None = None, decimals: int = 0) -> str:
    """A change ('%', 'pp': crimeplan.present.signed, one decimal as on the pages) or a figure."""
    if unit in ("%", "pp"):
        return signed(value, unit)
    if value is None:
        return "—"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.{max(decimals, 1)}f}"


def _scorecard_cells(m: dict) -> dict:
    """A scorecard measure's figures as printed (now, baseline, change with its interval, assessment, source), or
    its note when it has no comparison."""
    withheld = m.get("suppressed") or {}  # small counts of people (crimeplan.disclosure)
    grey = f"[dim]{RAG_ICONS['grey']}[/]"
    now = _fmt(m["current"], decimals=1)
    if m["statistic"] == "ratio":  # a rate ratio between groups: with its own interval
        now = ratio_text(m["current"], m.get("current_interval"))
    now = withheld.get("current") or now
    if m["status"] == Status.BASELINE_INCOMPLETE:  # the period's figure alone: no change, no verdict
        return {"now": now, "base": "—", "change": "—", "assessment": grey, "source": "",
                "note": f"now {now}; {m['message']}"}
    if m["status"] != "ok":
        return {"now": "—", "base": "—", "change": "—", "assessment": grey, "source": "", "note": m["message"]}
    unit = m["change_unit"]
    low, high = m["interval"] or (None, None)
    change = withheld.get("change") or _fmt(m["change"], unit)
    if low is not None or high is not None:
        change += f" ({_fmt(low, unit)} to {_fmt(high, unit)})"
    rag = m["rag"]
    assessment = f"[{RAG_STYLES[rag]}]{RAG_ICONS[rag].split(' ', 1)[0]} {m['verdict'] or '—'}[/]"
    if rag in ("green", "red"):
        assessment += f" · [dim]{m['rag_text'].split(' (')[0]}[/]"
    elif m["aim"] == "monitor":
        assessment += " · [dim]monitored, no target direction[/]"
    base = _fmt(m["baseline_value"], decimals=1)
    if m["statistic"] == "ratio":
        base = ratio_text(m["baseline_value"], m.get("baseline_interval"))
    source = m["source"]["label"] + (f"; +{len(m['alternatives'])} other source(s)" if m["alternatives"] else "")
    return {"now": now, "base": withheld.get("baseline_value") or base, "change": change, "assessment": assessment,
            "source": source, "note": ""}


class ExportFormat(str, Enum):
    csv = "csv"
    xlsx = "xlsx"
    parquet = "parquet"


@app.command()
def export(
    level: str = typer.Option(..., "--level", help="borough, ward, bcu … (a level of the plan's geography)."),
    period: Optional[str] = PeriodOption,
    baseline: Optional[str] = typer.Option(None, "--baseline", help="A baseline of the plan, previous, year-earlier, or a period."),
    format: ExportFormat = typer.Option(ExportFormat.csv, "--format", help="csv, xlsx (with a README sheet) or parquet."),
    out: Optional[Path] = typer.Option(None, "--out", help="File to write (default for csv: standard output)."),
    db: Optional[Path] = DbOption,
    plan: Optional[Path] = PlanOption,
) -> None:
    """Every area of a level × every measure in one tidy table: value, baseline, change, interval, p, q, verdict,
    RAG, denominators, source files and editions."""
    try:
        core = _core(db, plan)
        p, b = _comparison(core, period, baseline)
        data = core.export_file(core.level(level), p, b, format.value)
    except CrimeplanError as exc:
        _fail(exc)
    if out is None:
        if format is not ExportFormat.csv:
            _fail(CrimeplanError(f"--format {format.value} writes a binary file: give --out FILE"))
        sys.stdout.write(data.decode("utf-8"))
        return
    out.write_bytes(data)
    console.print(f"wrote {out} ({len(data):,} bytes): the {core.geography.plural(level)} × the plan's measures, "
                  f"{p} against {b}")


class ReportFormat(str, Enum):
    pdf = "pdf"
    html = "html"
    json = "json"


@app.command()
def report(
    area: Optional[str] = typer.Option(None, "--area", help="London, a BCU or a borough (code or name; default London)."),
    quarter: Optional[str] = typer.Option(None, "--quarter", help="A quarter, e.g. 2025-Q4: the 12 months to its end "
                                          "(default: the latest months each measure's sources cover)."),
    format: ReportFormat = typer.Option(ReportFormat.pdf, "--format", help="pdf (A4, printed by Chromium), html or json."),
    out: Optional[Path] = typer.Option(None, "--out", help="File to write (default report-<area>-<quarter>.<format>)."),
    db: Optional[Path] = DbOption,
    plan: Optional[Path] = PlanOption,
) -> None:
    """A quarterly performance report: a one-page summary, a page per priority, Fairness, Victims, where needed
    most, and the sources and methods with the licence."""
    try:
        core = _core(db, plan)
        key = core.area(area).key
        pack = core.performance_report(key, quarter)
        if format is ReportFormat.json:
            data = json.dumps(pack, indent=2, ensure_ascii=False).encode("utf-8")
        else:
            from crimeplan.web.printed import render_report, report_pdf

            data = report_pdf(core, pack) if format is ReportFormat.pdf else render_report(core, pack).encode("utf-8")
    except CrimeplanError as exc:
        _fail(exc)
    out = out or Path(f"report-{key}-{pack['quarter'] or 'latest'}.{format.value}")
    out.write_bytes(data)
    console.print(f"wrote {out} ({len(data):,} bytes): {pack['area']['name']}, {pack['period_text']} compared with "
                  f"{pack['compared_with']}")


@app.command()
def scorecard(
    plan: Optional[Path] = PlanOption,
    area: Optional[str] = typer.Option(None, "--area", help="Area code or name (default: the plan's area)."),
    period: Optional[str] = PeriodOption,
    baseline: Optional[str] = typer.Option(None, "--baseline", help="A baseline of the plan (2019, FY2019-20), previous, year-earlier, or a period."),
    format: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    db: Optional[Path] = DbOption,
) -> None:
    """The plan's scorecard: every measure, its change against the baseline with its interval, verdict and RAG."""
    from crimeplan.report import scorecard_csv

    try:
        core = _core(db, plan)
        key = core.area(area).key
        p, b = _comparison(core, period, baseline)
        data = core.scorecard(key, p, b)
        fair = core.fairness_summary(key, p, b)
    except CrimeplanError as exc:
        _fail(exc)
    if format is OutputFormat.json:  # the scorecard, with the Fairness figures beside it
        data = {**data, "fairness": fair}
    if _emit(format, data, scorecard_csv):
        return
    console.print(f"[bold]{data['plan']['title']}[/]")
    console.print(f"{data['area']['name']} ({data['area']['level_name']}) — {data['period_text']} compared with {data['compared_with']}")
    narrow = console.width < WIDE_TABLE_COLUMNS  # a terminal of 80 columns: a few lines per measure, not a table
    each_months = months_differ(data)  # latest: each measure says which months it covers
    for priority in data["priorities"]:
        table = Table(title=priority["title"], title_justify="left", expand=False)
        table.add_column("measure (source)", ratio=3, overflow="fold")
        table.add_column("now", justify="right", no_wrap=True)
        table.add_column("base", justify="right", no_wrap=True)
        table.add_column("change (95% interval)", justify="right", ratio=2)
        table.add_column("assessment", ratio=2)
        if narrow:
            console.print(f"\n[bold]{priority['title']}[/]")
        for m in priority["measures"]:
            c = _scorecard_cells(m)
            months = f"{m['period_text']}: " if each_months and measured(m) else ""
            beside = beside_text(m)
            if narrow:
                console.print(f"[bold]{m['title']}[/] — {c['assessment']}")
                if c["note"]:
                    console.print(f"  [dim]{months}{c['note']}[/]")
                else:
                    console.print(f"  {months}now {c['now']}, before {c['base']}: change {c['change']}"
                                  if each_months else f"  now {c['now']}, baseline {c['base']}: change {c['change']}")
                    if beside:
                        console.print(f"  {beside}")
                    console.print(f"  [dim]{c['source']}[/]")
            else:
                under = "; ".join(x for x in (months.rstrip(": "), beside) if x)
                table.add_row(f"{m['title']}\n[dim]{c['note'] or c['source']}[/]" + (f"\n[dim]{under}[/]" if under else ""),
                              c["now"], c["base"], c["change"],
                              c["assessment"].replace(" · ", "\n"))
        if not narrow:
            console.print(table)
    if fair is not None:
        _print_fairness_summary(fair)
    if any(m.get("suppressed") for p in data["priorities"] for m in p["measures"]):
        console.print(f"[dim]{disclosure.rule_text(core.plan)}[/]")
    console.print("[dim]Changes: rate ratio with exact 95% interval (counts), delta method (harm), Newcombe (shares); "
                  "below the plan's own area, significance after false-discovery-rate control across the areas of the level.[/]")
    console.print(f"[dim]{data['attribution']}[/]")


@app.command()
def measure(
    measure_id: str = typer.Argument(..., help="A measure id of the plan (crimeplan measure --list shows them)."),
    area: Optional[str] = typer.Option(None, "--area"),
    by: SeriesBy = typer.Option(SeriesBy.month, "--by"),
    plan: Optional[Path] = typer.Option(None, "--plan"),
    format: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    db: Optional[Path] = DbOption,
) -> None:
    """A measure's series for an area, per source, with SPC limits and exceptions."""
    from crimeplan.report import series_csv

    try:
        core = _core(db, plan)
        data = core.series(core.measure(measure_id).id, core.area(area).key, by.value)
    except CrimeplanError as exc:
        _fail(exc)
    if _emit(format, data, series_csv):
        return
    console.print(f"[bold]{data['title']}[/] — {data['area']['name']} ({data['unit']}), by {data['by']}")
    for source in data["sources"]:
        if source["status"] != "ok":
            console.print(f"[dim]{source['label']}: {source['status']}[/]")
            continue
        for left_out in source.get("excluded") or []:
            console.print(f"[yellow]{source['label']}: {left_out['period']} left out, {left_out['reason']}[/]")
        spc = source.get("spc")
        table = Table(title=source["label"], title_justify="left")
        for name in ("period", "value") + (("lower", "upper", "signal") if spc else ()):
            table.add_column(name, justify="left" if name in ("period", "signal") else "right")
        for point in source["points"]:
            period = point["period"] if point.get("complete", True) else partial_period(point["period"], point["months"])
            row = [period, _fmt(point["value"], decimals=1)]
            if spc:
                row += [_fmt(point.get("lower"), decimals=1), _fmt(point.get("upper"), decimals=1), point.get("signal") or ""]
            table.add_row(*row)
        console.print(table)
        if spc:
            console.print(f"[dim]{spc['chart']} chart per day over the last {spc['months']} months "
                          f"(from {spc['first_period']}); limits shown as monthly counts. {spc.get('note') or ''}[/]")
    console.print(f"[dim]{OGL_ATTRIBUTION}[/]")


@app.command()
def hotspots(
    measure_id: str = typer.Argument(..., help="A measure id of the plan (burglary, robbery, crime_harm, …)."),
    level: Optional[str] = typer.Option(None, "--level", help="A level of the plan's geography hot spots are computed "
                                        "at (London: borough, ward, ward2014, lsoa; default the first that has many areas)"),
    period: Optional[str] = PeriodOption,
    baseline: Optional[str] = typer.Option(None, "--baseline", help="Chooses the source: the one the comparison with this baseline reads (default the plan's)."),
    plan: Optional[Path] = PlanOption,
    format: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    db: Optional[Path] = DbOption,
) -> None:
    """Hot and cold spots of a measure among every area of a level (Getis–Ord Gi*, FDR 5%)."""
    from crimeplan.report import hotspots_csv

    try:
        core = _core(db, plan)
        level = level or next(iter(core.geography.hotspot_levels[1:2] or core.geography.hotspot_levels), "")
        data = core.hotspots(core.measure(measure_id).id, core.hotspot_level(level), *_comparison(core, period, baseline))
    except CrimeplanError as exc:
        _fail(exc)
    if _emit(format, data, hotspots_csv, ensure_ascii=False):
        return
    console.print(f"[bold]{data['title']}[/] — hot and cold spots among {data['level_plural']}, {data['period_text']}")
    if data["status"] != "ok":
        console.print(f"[yellow]{data['status']}[/]: {data['message']}")
        console.print(f"[dim]{data['attribution']}[/]")
        raise typer.Exit(0)
    console.print(f"Value: {data['value']['definition']}.")
    console.print(f"Source: {data['source']['label']} ({', '.join(f['name'] for f in data['source']['files'])}).")
    for kind, order in (("hot spot", -1), ("cold spot", 1)):
        found = sorted((a for a in data["areas"] if a["classification"] == kind), key=lambda a: order * a["z"])
        if not found:
            continue
        table = Table(title=f"{len(found)} {kind}s", title_justify="left")
        for name, justify in (("area", "left"), ("in", "left"), (data["value"]["unit"], "right"),
                              ("z", "right"), ("q", "right")):
            table.add_column(name, justify=justify)
        for a in found:
            table.add_row(a["name"], a["parent"] or "", f"{a['value']:,.1f}", f"{a['z']:+.2f}",
                          "<0.001" if a["q"] < 0.001 else f"{a['q']:.3f}")
        console.print(table)
    console.print(f"[bold]{data['hot_spots']} hot spots, {data['cold_spots']} cold spots[/] among "
                  f"{data['areas_tested']:,} {data['level_plural']} tested; {len(data['left_out'])} left out "
                  "(no value: --format csv gives each with the reason).")
    method = data["method"]
    console.print(f"[dim]{method['statistic']}: {method['weights']}; p-values {method['p_value']}; "
                  f"{method['multiple_testing']}.[/]")
    for note in data["notes"]:
        console.print(f"[dim]{note}[/]")
    console.print(f"[dim]{data['note']}[/]")
    console.print(f"[dim]{data['attribution']}[/]")


SourceBaselineOption = typer.Option(None, "--baseline", help="Chooses the source: the one the comparison with this baseline reads (default the plan's).")
AreaWithinOption = typer.Option(None, "--area", help="Rank or measure only the areas within this one (a BCU, a "
                                 "borough: name, code or key; default the plan's whole area).")


@app.command()
def concentration(
    measure_id: str = typer.Argument(..., help="A count, rate or harm measure of the plan (crime_harm, burglary, …)."),
    level: Optional[str] = typer.Option(None, "--level", help="The level whose areas share the total (London: ward, "
                                        "lsoa, borough; default the level the plan's area ranks)."),
    area: Optional[str] = AreaWithinOption,
    period: Optional[str] = PeriodOption,
    baseline: Optional[str] = SourceBaselineOption,
    plan: Optional[Path] = PlanOption,
    format: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    db: Optional[Path] = DbOption,
) -> None:
    """How concentrated a measure is across areas: the share in the top 1%, 5% and 10% of them and the Gini
    coefficient, each with a 95% interval and the value equal rates would give."""
    from crimeplan.report import concentration_csv

    try:
        core = _core(db, plan)
        data = core.concentration(core.ranked_measure(measure_id), core.priorities_level(area, level),
                                  *_comparison(core, period, baseline), core.area_key(area))
    except CrimeplanError as exc:
        _fail(exc)
    if _emit(format, data, concentration_csv, ensure_ascii=False):
        return
    within = f" in {data['within']['name']}" if data["within"] else ""
    console.print(f"[bold]{data['title']}[/] — how concentrated among {data['level_plural']}{within}, "
                  f"{data['period_text']}")
    if data["status"] != "ok":
        console.print(f"[yellow]{data['status']}[/]: {data['message']}")
        console.print(f"[dim]{data['attribution']}[/]")
        raise typer.Exit(0)
    table = Table(title_justify="left")
    for name, justify in (("", "left"), ("areas", "right"), ("share of the total (95% interval)", "right"),
                          ("observed", "right"), ("if rates were equal", "right")):
        table.add_column(name, justify=justify)
    for t in data["top"]:
        table.add_row(f"top {t['fraction'] * 100:g}%", f"{t['areas']:,}", share_text(t["corrected"], t["interval"]),
                      share_text(t["share"]), share_text(t["chance"]))
    g = data["gini"]
    table.add_row("Gini coefficient", f"{data['areas_ranked']:,}", gini_text(g["corrected"], g["interval"]),
                  gini_text(g["value"]), gini_text(g["chance"]))
    console.print(table)
    console.print(f"Source: {data['source']['label']} ({', '.join(f['name'] for f in data['source']['files'])}); "
                  f"{len(data['left_out'])} {data['level_plural']} left out (no figure: --format csv gives why).")
    console.print(f"[dim]{data['method']}[/]")
    console.print(f"[dim]{data['attribution']}[/]")


@app.command()
def priorities(
    measure_id: str = typer.Argument(..., help="A count, rate or harm measure of the plan (crime_harm, burglary, …)."),
    level: Optional[str] = typer.Option(None, "--level", help="The level ranked (London: ward, lsoa, borough; "
                                        "default the level the area ranks)."),
    area: Optional[str] = AreaWithinOption,
    period: Optional[str] = PeriodOption,
    baseline: Optional[str] = SourceBaselineOption,
    top: Optional[int] = typer.Option(None, "--top", help="How many areas are 'the top' (default 5% of those "
                                      "ranked, at least 3)."),
    by: str = typer.Option("rate", "--by", help="rate (per 1,000 residents) or total."),
    plan: Optional[Path] = PlanOption,
    format: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    db: Optional[Path] = DbOption,
) -> None:
    """Where a measure is needed most: the areas ranked, each rank with its 95% interval, and how many of the top
    areas were the top a year before."""
    from crimeplan.report import priorities_csv

    try:
        core = _core(db, plan)
        data = core.priorities(core.ranked_measure(measure_id), core.priorities_level(area, level),
                               *_comparison(core, period, baseline), core.area_key(area), top, by)
    except CrimeplanError as exc:
        _fail(exc)
    if _emit(format, data, priorities_csv, ensure_ascii=False):
        return
    within = f" in {data['within']['name']}" if data["within"] else ""
    console.print(f"[bold]{data['title']}[/] — {data['level_plural']}{within} ranked, {data['period_text']}")
    if data["status"] != "ok":
        console.print(f"[yellow]{data['status']}[/]: {data['message']}")
        console.print(f"[dim]{data['attribution']}[/]")
        raise typer.Exit(0)
    shown = [a for a in data["areas"] if a["could_be_top"]]
    unit = f"{data['unit']} per 1,000 residents" if data["by"] == "rate" else data["unit"]
    table = Table(title=f"The top {data['top']} and those that could be", title_justify="left")
    for name, justify in (("rank (95% interval)", "left"), ("area", "left"), ("in", "left"), (unit, "right"),
                          ("standing", "left"), ("hot spot", "left")):
        table.add_column(name, justify=justify)
    for a in shown:
        table.add_row(rank_text(a["rank"], a["rank_low"], a["rank_high"]), a["name"], a["parent"] or "",
                      number(a["value"]), a["standing"], a["hotspot"] or "")
    console.print(table)
    t = data["top_share"]
    console.print(f"The top {t['areas']} hold {share_text(t['corrected'], t['interval'])} of the "
                  f"{data['level_plural']}' {data['unit']}{within} ({data['areas_ranked']:,} ranked, "
                  f"{len(data['left_out'])} left out).")
    for row in data["persistence"]:
        console.print(persistence_text(row, data["level_plural"]))
    if data["stay_on_top"]:
        console.print(f"In the top in every complete period: {', '.join(a['name'] for a in data['stay_on_top'])}.")
    console.print(f"Source: {data['source']['label']} ({', '.join(f['name'] for f in data['source']['files'])}).")
    console.print(f"[dim]{data['method']}[/]")
    if data["hotspots"]:
        console.print(f"[dim]{data['hotspots']}[/]")
    console.print(f"[dim]{data['attribution']}[/]")


def _fairness_heading(data: dict, title: str) -> bool:
    """A Fairness block's title, its note, and its status when it has no figures (False)."""
    console.print(f"[bold]{title}[/] — {data['period_text']} ({data['force_name']}, officer-defined ethnicity)")
    if data.get("note"):
        console.print(f"[yellow]{data['note']}[/]")
    if data["status"] != "ok":
        console.print(f"[yellow]{data['status']}[/]: {data['message']}")
        return False
    return True


def _print_fairness_summary(fair: dict) -> None:
    if _fairness_heading(fair, "Fairness of stop and search (`crimeplan fairness` for the whole table)"):
        _print_fairness_groups(fair)
    gaps = fair.get("trust_gaps")
    if gaps:
        table = Table(title=f"Trust by ethnic group (MOPAC PAS, {gaps['period_text']}): neighbourhoods where each "
                            f"group's positive answers are lower or higher than {gaps['reference_group']} "
                            f"respondents'", title_justify="left")
        table.add_column("question", ratio=3, overflow="fold")
        for group in gaps["groups"]:
            table.add_column(f"{group} respondents", ratio=2, overflow="fold")
        for question in gaps["questions"]:
            rows = {x["group"]: x for x in gaps["summary"] if x["question"] == question}
            table.add_row(question, *(survey_gaps_text(rows[g]) for g in gaps["groups"]))
        console.print(table)
        console.print(f"[dim]{gaps['caveat']}[/]")


def _print_fairness_groups(fair: dict) -> None:
    table = Table(title_justify="left")
    for name in ("group", "per 1,000 residents", "rate ratio to White (95%)", "verdict", "arrests",
                 "vs White (95%)"):
        table.add_column(name, overflow="fold")
    for g in fair["groups"]:
        withheld = g.get("suppressed") or {}
        ratio = ratio_text(g["ratio"], g["interval"]) if g["ratio"] is not None else withheld.get("ratio", "")
        arrests = (f"{g['arrest_share'] * 100:.1f}%" if g["arrest_share"] is not None
                   else withheld.get("arrest_arrests", ""))
        table.add_row(g["group"], rate_text(g["per_1000"]) if g["per_1000"] is not None else
                      withheld.get("per_1000", ""), ratio, g["verdict"] or "", arrests,
                      difference_text(g["arrest_difference_pp"], g["arrest_interval_pp"]))
    console.print(table)


@app.command()
def fairness(
    area: Optional[str] = typer.Option(None, "--area", help="An area (name, code or key; default the plan's area); "
                                       "with --level, only the areas within it."),
    level: Optional[str] = typer.Option(None, "--level", help="Every area of this level (London: bcu, borough, "
                                        "ward, lsoa) instead of one area."),
    period: Optional[str] = PeriodOption,
    baseline: Optional[str] = typer.Option(None, "--baseline", help="Also compare each rate ratio with this "
                                           "period's (a plan baseline, previous, year-earlier or a period)."),
    plan: Optional[Path] = PlanOption,
    format: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    db: Optional[Path] = DbOption,
) -> None:
    """Stop and search by ethnic group: searches per 1,000 residents of each group, the rate ratio to White with its
    95% interval, and the outcome test (arrests by group)."""
    from crimeplan.report import fairness_csv

    try:
        core = _core(db, plan)
        p = core.period(period)
        b = core.baseline(p, baseline) if baseline else None
        if level is not None:
            data = core.fairness_level(core.level(level), p, b, core.area_key(area))
        else:
            data = core.fairness(core.area(area).key, p, b)
    except CrimeplanError as exc:
        _fail(exc)
    if _emit(format, data, fairness_csv, ensure_ascii=False):
        return
    where = data["area"]["name"] if "area" in data else data["level_plural"] + (
        f" in {data['within']['name']}" if data.get("within") else "")
    if not _fairness_heading(data, f"Stop and search by ethnic group in {where}"):
        console.print(f"[dim]{data['attribution']}[/]")
        raise typer.Exit(0)
    rows = data["areas"] if "areas" in data else [data["figures"]]
    table = Table(title_justify="left")
    for name, justify in (("area", "left"), ("group", "left"), ("residents", "right"), ("searches", "right"),
                          ("per 1,000", "right"), ("ratio to White (95%)", "right"), ("verdict", "left"),
                          ("arrests", "right"), ("vs White (pp)", "right")):
        table.add_column(name, justify=justify, overflow="fold")
    for r in rows:
        for group in data["groups"]:
            c, o = r["officer"][group], r["outcomes"][group]
            diff = difference_text(o["difference_pp"], o["interval_pp"])
            table.add_row(r["name"] if group == data["groups"][0] else "", group, number(c["residents"]),
                          withheld_text(c, "searches", number), withheld_text(c, "per_1000", rate_text),
                          ratio_text(c["ratio"], c["interval"]) if c["ratio"] is not None
                          else withheld_text(c, "ratio", lambda v: ""), c["verdict"] or "",
                          withheld_text(o, "arrests", number) + ("" if o["share"] is None
                                                                 else f" ({o['share'] * 100:.1f}%)"), diff)
    console.print(table)
    located = data["located"]
    console.print(f"{located_text(located, data['force_name'])}: they count towards the force's whole area only.")
    for r in rows:
        stated = r.get("not_stated_share")
        console.print(f"{r['name']}: {withheld_text(r, 'searches', number)} searches, "
                      + (f"{stated * 100:.1f}% with no officer-defined ethnicity" if stated is not None
                         else "the share with no ethnicity recorded withheld (small numbers)") + ".")
        for group, c in (r.get("change") or {}).items():
            if c and "ratio_of_ratios" in c:
                console.print(f"  {group}/White against {data['baseline_text']}: ratio ×"
                              f"{ratio_text(c['ratio_of_ratios'], c['interval'])}, {c['verdict']}.")
    if data.get("baseline") and data.get("baseline_status") != "ok":
        console.print(f"[yellow]Against {data['baseline_text']}[/]: {data['baseline_status']}: "
                      f"{data['baseline_message']}")
    if data.get("linked_message"):
        console.print(f"[dim]{data['linked_message']}[/]")
    console.print(f"[dim]{data['method']}[/]")
    console.print(f"[dim]{data['outcome_caveat']}[/]")
    console.print(f"[dim]{data['small_numbers']}[/]")
    console.print(f"[dim]Source: {', '.join(f['name'] for f in data['files'])}.[/]")
    console.print(f"[dim]{data['attribution']}[/]")


@app.command()
def forces(
    offence: Optional[list[str]] = typer.Option(None, "--offence", help="An offence group as published (Robbery), "
                                                "'All burglary', or all offences (the default); repeat to add several."),
    period: Optional[str] = typer.Option(None, "--period", help="A quarter end, YYYY-MM (default the latest, 2018-12)."),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="A quarter end at least 12 months earlier "
                                           "(default a year before the period)."),
    highlight: Optional[str] = typer.Option(None, "--highlight", help="A force to mark (default the plan's force)."),
    plan: Optional[Path] = PlanOption,
    format: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    db: Optional[Path] = DbOption,
) -> None:
    """Every territorial police force: recorded crime in the 12 months to a quarter end against an earlier 12 months."""
    from crimeplan.report import forces_csv

    try:
        data = _core(db, plan).forces(tuple(offence or ()), period, baseline, highlight)
    except CrimeplanError as exc:
        _fail(exc)
    if _emit(format, data, forces_csv, ensure_ascii=False):
        return
    console.print(f"[bold]{data['title']}[/] — {data['period_text']} compared with {data['baseline_text']}")
    table = Table(title_justify="left")
    for name, justify in (("force", "left"), ("region", "left"), (data["period"], "right"), (data["baseline"], "right"),
                          ("change (95% interval)", "right"), ("q", "right"), ("verdict", "left")):
        table.add_column(name, justify=justify, no_wrap=name in ("force", "verdict"), overflow="fold")
    styles = {"significant rise": "red", "significant fall": "green", "no significant change": "",
              "incomplete data": "dim", "not comparable": "dim"}
    ordered = sorted(data["forces"], key=lambda f: (f["change_pct"] is None, -(f["change_pct"] or 0), f["force"]))
    for f in ordered:
        name = f"[bold]▶ {f['force']}[/]" if f["highlighted"] else f["force"]
        if f["status"] == "ok":
            pct = lambda v: "—" if v is None else f"{v:+.1f}%"  # noqa: E731
            change = f"{pct(f['change_pct'])} ({pct(f['change_low_pct'])} to {pct(f['change_high_pct'])})"
            q = "<0.001" if f["q_value"] < 0.001 else f"{f['q_value']:.3f}"
            verdict = f"[{styles[f['verdict']]}]{f['verdict']}[/]" if styles[f["verdict"]] else f["verdict"]
            table.add_row(name, f["region"], _fmt(f["current"]), _fmt(f["baseline"]), change, q, verdict)
        else:
            table.add_row(name, f["region"], "—", "—", "—", "—", f"[dim]{f['verdict']}[/]")
    console.print(table)
    for f in ordered:
        if f["status"] != "ok":
            console.print(f"[dim]{f['force']}, {f['verdict']}: {f['reason']}[/]")
    s = data["summary"]
    console.print(f"[bold]{s['significant rise']} significant rises, {s['significant fall']} significant falls[/], "
                  f"{s['no significant change']} no significant change among {data['forces_compared']} forces compared"
                  + (f"; {s['incomplete data']} incomplete data" if s["incomplete data"] else "")
                  + (f"; {s['not comparable']} not comparable" if s["not comparable"] else "") + ".")
    if data["highlight"]:
        console.print(f"▶ {data['highlight']} (highlighted).")
    _print_forces_footer(data, data["files"])


@app.command()
def outcomes(
    area: Optional[str] = typer.Option(None, "--area", help="An area name or code (default the plan's area)."),
    crime_type: Optional[list[str]] = typer.Option(None, "--crime-type", help="A data.police.uk crime type "
                                                   "(default every type with outcomes); repeat to add several."),
    period: Optional[str] = typer.Option(None, "--period", help="The months the crimes were recorded in "
                                         "(2024, FY2023-24, 2024-Q1, 2024-03; default the latest complete year)."),
    within: Optional[int] = typer.Option(None, "--within", help="Months of follow-up after the crime's month "
                                         "(default 6, or the most the loaded outcomes allow)."),
    plan: Optional[Path] = PlanOption,
    format: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    db: Optional[Path] = DbOption,
) -> None:
    """What happened to an area's crimes of a period: the share reaching each outcome group within the follow-up."""
    from crimeplan.report import outcomes_csv

    try:
        core = _core(db, plan)
        data = core.outcomes(core.area(area).key, core.period(period), tuple(crime_type or ()), within)
    except CrimeplanError as exc:
        _fail(exc)
    if _emit(format, data, outcomes_csv, ensure_ascii=False):
        return
    console.print(f"[bold]Outcomes of {', '.join(data['crime_types'])} recorded in {data['area']['name']}, "
                  f"{data['period_text']}[/] — {data['follow_up']}")
    if data["status"] != "ok":
        console.print(f"[yellow]{data['status']}[/]: {data['message']}")
    else:
        table = Table(title_justify="left")
        for name, justify in (("outcome group", "left"), ("crimes reaching it", "right"),
                              ("share (95% interval)", "right")):
            table.add_column(name, justify=justify)
        for g in data["groups"]:
            table.add_row(g["group"], f"{g['reached']:,.0f}", percent_text(g["share"], g["low"], g["high"]))
        console.print(table)
        console.print(f"n = {data['crimes']:,.0f} crimes with a Crime ID; {data['note']}.")
        tto = data["time_to_outcome"]
        if tto["months"]:
            console.print(time_to_outcome_text(tto))
            console.print(f"[dim]{tto['method']}.[/]")
    if data["longest_follow_up"] is not None:
        console.print(f"[dim]The loaded outcomes reach {data['longest_follow_up']} months after a crime's month "
                      f"(catalogue outcome_follow_up_months).[/]")
    console.print(f"[dim]Source: {', '.join(f['name'] for f in data['files']) or 'none'}.[/]")
    console.print(f"[dim]{data['attribution']}[/]")


@app.command("outcome-funnel")
def outcome_funnel(
    group: str = typer.Option("no suspect identified", "--group", help="An outcome group of the catalogue."),
    edition: Optional[str] = typer.Option(None, "--edition", help="The street files' edition, YYYY-MM (default the "
                                          "file holding most forces)."),
    first: Optional[str] = typer.Option(None, "--from", help="The first crime month, YYYY-MM (default the first "
                                        "month every force of the file has)."),
    last: Optional[str] = typer.Option(None, "--to", help="The last crime month, YYYY-MM."),
    highlight: Optional[str] = typer.Option(None, "--highlight", help="A force to mark (default the plan's force)."),
    plan: Optional[Path] = PlanOption,
    format: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    db: Optional[Path] = DbOption,
) -> None:
    """Forces compared on a funnel plot: the share of their crimes whose last outcome is in a group."""
    from crimeplan.report import funnel_csv

    try:
        data = _core(db, plan).outcome_funnel(group, edition, first, last, highlight)
    except CrimeplanError as exc:
        _fail(exc)
    if _emit(format, data, funnel_csv, ensure_ascii=False):
        return
    console.print(f"[bold]Crimes whose last outcome is '{data['group']}', by force[/] — crimes of {data['first']} to "
                  f"{data['last']}, as of the {data['file']['edition']} edition; all forces {data['target']:.1f}%")
    table = Table(title_justify="left")
    for name, justify in (("force", "left"), ("crimes", "right"), ("share", "right"), ("position", "left"),
                          ("allowing for overdispersion", "left")):
        table.add_column(name, justify=justify)
    for f in data["forces"]:
        name = f"[bold]▶ {f['force']}[/]" if f["highlighted"] else f["force"]
        table.add_row(name, f"{f['crimes']:,}", percent_text(f["share"]), FUNNEL_POSITION_TEXT[f["position"]],
                      FUNNEL_POSITION_TEXT[f["position_overdispersed"]])
    console.print(table)
    _print_forces_footer(data, [data["file"]])


def _print_forces_footer(data: dict, files: list[dict]) -> None:
    """What a comparison of forces ends with: the forces left out and why, the method, notes, files, attribution."""
    if data["left_out"]:
        console.print("Left out: " + "; ".join(f"{x['force']}: {x['reason']}" for x in data["left_out"]) + ".")
    console.print(f"[dim]{data['method']}[/]")
    for note in data["notes"]:
        console.print(f"[dim]{note}[/]")
    console.print(f"[dim]Source: {', '.join(f['name'] + ' (edition ' + f['edition'] + ')' for f in files)}.[/]")
    console.print(f"[dim]{data['attribution']}[/]")


@app.command()
def areas(
    level: Optional[str] = typer.Option(None, "--level", help="A level of the plan's geography (London: london, bcu, "
                                        "borough, ward, ward2014 or lsoa)."),
    search: Optional[str] = typer.Option(None, "--search", help="Names containing this text."),
    format: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    db: Optional[Path] = DbOption,
    plan: Optional[Path] = PlanOption,
) -> None:
    """List the areas of the plan's geography."""
    from crimeplan.report import rows_csv

    try:
        core = _core(db, plan)
        rows = core.areas(core.level(level) if level else None, search)
    except CrimeplanError as exc:
        _fail(exc)
    if format is OutputFormat.json:
        print(json.dumps(rows, indent=2))
    elif format is OutputFormat.csv:
        sys.stdout.write(rows_csv(rows, ["key", "code", "name", "level", "parent_code", "parent_name"]))
    else:
        table = Table(title=f"{len(rows):,} areas")
        for name in ("code", "name", "level", "in"):
            table.add_column(name)
        for a in rows:
            table.add_row(a["key"], a["name"], a["level_name"], a["parent_name"] or "")
        console.print(table)


claims_app = typer.Typer(help="Check published claims about the plan's measures against the data.", no_args_is_help=True)
app.add_typer(claims_app, name="claims")

VERDICT_STYLES = {"supported": "green", "approximately supported": "yellow", "not supported": "red", "unverifiable": "dim"}


@claims_app.command("check")
def claims_check(
    file: Optional[Path] = typer.Argument(None, help="A claims file (default: the examples shipped beside the plan)."),
    plan: Optional[Path] = PlanOption,
    format: TableOrJson = typer.Option(TableOrJson.table, "--format"),
    db: Optional[Path] = DbOption,
) -> None:
    """Check each claim: the figure from every source, a verdict, and whether the change is more than noise."""
    from crimeplan.claims import claims_file_for
    from crimeplan.plan import read_file

    try:
        core = _core(db, plan)
        engine = core.engine
        if file is None and plan is None:
            rows = core.shipped_claims().checks
        else:
            rows = core.claims_check(*read_file(file or claims_file_for(plan), "", "claims"))
    except CrimeplanError as exc:
        _fail(exc)
    if format is TableOrJson.json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"Claims checked against {engine.plan.title}", title_justify="left")
    table.add_column("claim", ratio=3, overflow="fold")
    table.add_column("stated", justify="right", no_wrap=True)
    table.add_column("computed (95% interval)", justify="right", ratio=2)
    table.add_column("verdict", ratio=2, overflow="fold")
    table.add_column("real change?", ratio=2, overflow="fold")
    for r in rows:
        unit = r["change_unit"]
        change = r["kind"] == "change"
        written = r["stated_as_written"].strip().removesuffix("%")
        stated = (written if written[:1] in "+-−" or float(r["stated_change_pct"]) == 0 else f"+{written}") \
            + ("pp" if unit == "pp" else "%") if change else written
        if r["verdict"] == "unverifiable":
            computed = "—"
        else:
            computed = signed(r["computed_change_pct"], unit) if change else _fmt(r["computed_value"], decimals=1)
            low, high = r["interval_pct"] or (None, None)
            if change and (low is not None or high is not None):
                computed += f"\n({_fmt(low, unit)} to {_fmt(high, unit)})"
            computed += f"\n[dim]{r['source']['label']}[/]"
        verdict = f"[{VERDICT_STYLES[r['verdict']]}]{r['verdict']}[/]"
        if r["sources_disagree"]:
            verdict += "\n[yellow]sources disagree[/]"
        for a in r["alternatives"]:
            figure = (f"{a['computed_change_pct']:+.1f}{'pp' if unit == 'pp' else '%'}"
                      if change and a["computed_change_pct"] is not None else _fmt(a["computed_value"], decimals=1))
            verdict += f"\n[dim]{a['label']}: {figure}, {a['verdict']}[/]"
        if r["verdict"] == "unverifiable":
            verdict += "\n[dim]" + "; ".join(f"{w['dataset']}: {w['reason']}" for w in r["would_supply"]) + "[/]"
        real = {True: "yes: " + (r["significance"] or ""), False: "no: within chance"}.get(r["significant"], "—")
        if r["significant"] is None and r["significance"] == "sample size unknown":
            real = "cannot say: sample size unknown"
        if r["significant"] is False and (r["areas_tested"] or 1) > 1 and (r["p_value"] or 1) < 0.05:
            real = f"no: not once {r['areas_tested']:,} areas are allowed for (FDR)"
        table.add_row(f"[bold]{r['id']}[/]\n{r['statement']}", stated, computed, verdict, real)
    console.print(table)
    for r in rows:
        console.print(f"[bold]{r['id']}[/]: {r['plain']}")
    console.print("[dim]Supported: rounds to the figure at the precision stated; approximately: within 2 points "
                  "(2% of a stated count). Real change: rate-ratio test (counts), Newcombe (shares); below the plan's "
                  "own area after false-discovery-rate control across the areas of the level.[/]")
    console.print(f"[dim]{OGL_ATTRIBUTION}[/]")


plan_app = typer.Typer(help="Plans: check a plan file against the loaded data.", no_args_is_help=True)
app.add_typer(plan_app, name="plan")


@plan_app.command("check")
def plan_check(
    plan: Optional[Path] = typer.Argument(None, help="A plan file (default: the London plan shipped with crimeplan)."),
    db: Optional[Path] = DbOption,
    format: TableOrJson = typer.Option(TableOrJson.table, "--format"),
) -> None:
    """Check the plan against the loaded data: every category, type, sheet, series, survey measure and force it names, and every level (exit 1 on an error)."""
    from crimeplan.plan import load_plan
    from crimeplan.plan.check import ERROR, check_plan
    from crimeplan.warehouse import Warehouse

    try:
        loaded = load_plan(plan)
        with Warehouse.open(db, read_only=True) as wh:
            result = check_plan(wh.con, loaded)
    except CrimeplanError as exc:
        _fail(exc)
    if format is TableOrJson.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        for p in result.problems:
            style = "bold red" if p.severity == ERROR else "yellow"
            where = f"{p.file}:{p.line}" if p.line else p.file
            console.print(f"{escape(where)}: [{style}]{p.severity}[/]: measure [bold]{escape(p.measure)}[/], "
                          f"{escape(p.field)}: {escape(p.message)}", highlight=False)
        style = "green" if result.ok else "bold red"
        console.print(f"[{style}]{escape(result.summary())}[/] ({len(loaded.measures)} measures, "
                      f"{sum(len(m.sources) for m in loaded.measures)} sources)", highlight=False)
    if not result.ok:
        raise typer.Exit(1)


# --- the web dashboard and the static site ---------------------------------------------------------


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    db: Optional[Path] = DbOption,
    plan: Optional[Path] = PlanOption,
    warm: bool = typer.Option(True, "--warm/--no-warm",
                              help="Render the default period's pages in the background, before anyone asks."),
) -> None:
    """Serve the dashboard and JSON API (maps, charts, a page per area; works with no internet)."""
    import uvicorn

    from crimeplan.web import create_app

    try:
        with _plan_warnings():
            web_app = create_app(db, plan, warm=warm)
    except CrimeplanError as exc:
        _fail(exc)
    console.print(f"crimeplan dashboard on [bold]http://{host}:{port}/[/] (JSON API at /api; Ctrl+C to stop)")
    uvicorn.run(web_app, host=host, port=port, log_level="warning")


@app.command()
def publish(
    out_dir: Path = typer.Argument(..., help="Folder to write the static site into (an earlier site there is replaced)."),
    db: Optional[Path] = DbOption,
    plan: Optional[Path] = PlanOption,
) -> None:
    """Write the dashboard as a static site: every area and measure page, and the JSON behind them."""
    from crimeplan.web.publish import publish as publish_site

    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeRemainingColumn()]
    try:
        with _plan_warnings(), Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("publishing", total=None)

            def on_page(what: str, done: int, total: int) -> None:
                progress.update(task, description=f"publishing {what}", completed=done, total=total)

            report = publish_site(out_dir, db=db, plan=plan, progress=on_page)
    except CrimeplanError as exc:
        _fail(exc)
    areas = ", ".join(f"{n} {level}" for level, n in report.areas.items())
    console.print(f"Wrote {report.pages:,} pages ({areas}; {report.measures} measures; {report.reports} reports), {report.json_files:,} JSON "
                  f"files and {report.other_files} others ({report.bytes / 1e6:,.0f} MB) to {out_dir} "
                  f"in {report.seconds:.1f} s.")
    console.print(f"Open {out_dir / 'index.html'} in a browser, or serve the folder with any web server.")
    console.print(f"[dim]{OGL_ATTRIBUTION}[/]")


if __name__ == "__main__":  # pragma: no cover
    app()
