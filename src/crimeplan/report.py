"""Flat text outputs (CSV) of the engine's results, shared by the CLI, the API and the site."""

from __future__ import annotations

import csv
import io

from crimeplan.measures.results import Rag

SCORECARD_COLUMNS = [
    "priority", "measure", "title", "area_code", "area_name", "period", "baseline", "status", "current",
    "baseline_value", "change", "change_unit", "interval_low", "interval_high", "p_value", "q_value", "verdict",
    "rag", "source_dataset", "source_files", "alternatives", "message", "current_n", "baseline_n",
]


def _v(entry: dict, field: str, value=None):
    """A cell: the figure, or how it is shown when withheld ('<10', 'withheld': crimeplan.disclosure)."""
    return (entry.get("suppressed") or {}).get(field, entry.get(field) if value is None else value)


def _withheld_or(entry: dict, field: str, value):
    """``value``, or the marker it is shown by when ``field`` is withheld (an interval's ends: one marker)."""
    return (entry.get("suppressed") or {}).get(field, value)


def scorecard_rows(data: dict) -> list[dict]:
    rows = []
    for p in data["priorities"]:
        for m in p["measures"]:
            low, high = m["interval"] or (None, None)
            src = m["source"] or {}
            rows.append({
                "priority": p["id"], "measure": m["id"], "title": m["title"],
                "area_code": data["area"]["code"], "area_name": data["area"]["name"],
                "period": m["period"], "baseline": m["baseline"], "status": m["status"], "current": _v(m, "current"),
                "baseline_value": _v(m, "baseline_value"), "change": _v(m, "change"), "change_unit": m["change_unit"],
                "interval_low": _withheld_or(m, "interval", low), "interval_high": _withheld_or(m, "interval", high),
                "p_value": _v(m, "p_value"), "q_value": _v(m, "q_value"),
                "verdict": m["verdict"], "rag": m["rag"], "source_dataset": src.get("dataset"),
                "source_files": "; ".join(f["name"] for f in src.get("files", [])),
                "alternatives": "; ".join(f"{a['label']}: {_v(a, 'change')}" for a in m["alternatives"]),
                "message": m["message"],
                # a share's denominators: no share without its n
                "current_n": src.get("current_denominator"), "baseline_n": src.get("baseline_denominator"),
            })
    return rows


def scorecard_csv(data: dict) -> str:
    return rows_csv(scorecard_rows(data), SCORECARD_COLUMNS, footer=data.get("attribution"))


def series_rows(data: dict) -> list[dict]:
    rows = []
    for source in data["sources"]:
        for point in source.get("points", []):
            rows.append({"measure": data["measure"], "area_code": data["area"]["code"], "source": source["dataset"],
                         "period": point["period"], "value": _v(point, "value"), "n": point.get("n"),
                         "lower": point.get("lower"),
                         "centre": point.get("centre"), "upper": point.get("upper"), "signal": point.get("signal") or "",
                         "months": point.get("months"), "complete": point.get("complete")})
    return rows


def series_csv(data: dict) -> str:
    return rows_csv(series_rows(data), ["measure", "area_code", "source", "period", "value", "n", "lower", "centre",
                                        "upper", "signal", "months", "complete"])


HOTSPOT_COLUMNS = ["measure", "level", "period", "key", "code", "name", "parent", "parent_code", "value", "numerator",
                   "denominator", "neighbours", "z", "p", "q", "classification", "note"]


def hotspot_rows(data: dict) -> list[dict]:
    """Every area of the level: those tested with their Gi* figures, then those left out with the reason."""
    common = {"measure": data["measure"], "level": data["level"], "period": data["period"]}
    rows = [{**common, **a, "numerator": _v(a, "numerator"), "value": _v(a, "value")} for a in data["areas"]]
    rows += [{**common, "key": a["key"], "code": a["code"], "name": a["name"], "parent": a["parent"],
              "parent_code": a["parent_code"], "classification": "not tested", "note": a["reason"]}
             for a in data["left_out"]]
    return rows


def hotspots_csv(data: dict) -> str:
    return rows_csv(hotspot_rows(data), HOTSPOT_COLUMNS, footer=data.get("attribution"))


FORCES_COLUMNS = ["offence", "period", "baseline", "force", "region", "highlighted", "status", "current", "baseline_value",
                  "ratio", "change_pct", "change_low_pct", "change_high_pct", "p_value", "q_value", "verdict", "reason",
                  "source_files"]


def forces_rows(data: dict) -> list[dict]:
    """Every territorial force compared (``measures.forces.forces_compared``), one row each, then those left out."""
    common = {"offence": data["offence"], "period": data["period"], "baseline": data["baseline"],
              "source_files": "; ".join(f"{f['name']} (edition {f['edition']})" for f in data["files"])}
    rows = [{**common, **f, "baseline_value": f["baseline"], "baseline": data["baseline"]} for f in data["forces"]]
    rows += [{**common, "force": x["force"], "region": x["region"], "highlighted": False, "status": "left out",
              "verdict": "left out", "reason": x["reason"]} for x in data["left_out"]]
    return rows


def forces_csv(data: dict) -> str:
    return rows_csv(forces_rows(data), FORCES_COLUMNS, footer=data.get("attribution"))


OUTCOMES_COLUMNS = ["area", "code", "period", "crime_types", "within_months", "status", "group", "crimes", "reached",
                    "share", "low", "high"]


def outcomes_csv(data: dict) -> str:
    """An area's outcome mix, one row per group (a cohort that is not final: one row saying why)."""
    base = {"area": data["area"]["name"], "code": data["area"]["code"], "period": data["period"],
            "crime_types": "; ".join(data["crime_types"]), "within_months": data["within_months"],
            "status": data["status"]}
    rows = [base | g for g in data["groups"]] or [base | {"group": data.get("message", "")}]
    return rows_csv(rows, OUTCOMES_COLUMNS, footer=data.get("attribution"))


FUNNEL_COLUMNS = ["force", "crimes", "reached", "unknown", "share", "position", "position_overdispersed",
                  "low_95", "high_95", "low_99_8", "high_99_8", "group", "first", "last", "edition", "target"]


def funnel_csv(data: dict) -> str:
    """Forces on the outcome funnel, one row each, with their limits at their number of crimes."""
    base = {"group": data["group"], "first": data["first"], "last": data["last"], "edition": data["file"]["edition"],
            "target": data["target"]}
    return rows_csv(_with_limits(data["forces"], base), FUNNEL_COLUMNS, footer=data.get("attribution"))


AREAS_FUNNEL_COLUMNS = ["key", "code", "name", "parent", "crimes", "reached", "share", "position",
                        "position_overdispersed", "low_95", "high_95", "low_99_8", "high_99_8", "group", "level",
                        "period", "within_months", "target"]


def areas_funnel_csv(data: dict) -> str:
    """The areas of a level on the outcome funnel, one row each, with their limits at their number of crimes."""
    base = {k: data[k] for k in ("group", "level", "period", "within_months")} | {"target": data.get("target")}
    rows = _with_limits(data["areas"], base) or [base | {"name": f"{data['status']}: {data['message']}"}]
    return rows_csv(rows, AREAS_FUNNEL_COLUMNS, footer=data.get("attribution"))


def _with_limits(rows: list[dict], base: dict) -> list[dict]:
    return [base | r | {"low_95": r["limits"]["95%"][0], "high_95": r["limits"]["95%"][1],
                        "low_99_8": r["limits"]["99.8%"][0], "high_99_8": r["limits"]["99.8%"][1]} for r in rows]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    """A text cell a spreadsheet would run as a formula ('=HYPERLINK(…)', '+1', '@SUM') starts with an apostrophe
    (OWASP's CSV injection advice); numbers and other text are written as they are."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS):
        value = "'" + value
    # A carriage return is not quoted by the writer (its line ends are "\n"), and would end the row
    # in a reader: written as the line break it stands for, which is quoted.
    return value.replace("\r\n", "\n").replace("\r", "\n")


def rows_csv(rows: list[dict], columns: list[str], footer: str | None = None) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
    if footer:
        out.write(f"# {footer}\n")
    return out.getvalue()


PRIORITIES_COLUMNS = ["measure", "level", "within", "period", "by", "rank", "rank_low", "rank_high", "p_top", "standing",
                      "key", "code", "name", "parent", "value", "total", "residents", "hotspot"]


def priorities_rows(data: dict) -> list[dict]:
    """Every area ranked, then those left out with the reason."""
    common = {"measure": data["measure"], "level": data["level"], "period": data["period"], "by": data.get("by"),
              "within": (data["within"] or {}).get("code")}
    rows = [{**common, **a} for a in data["areas"]]
    rows += [{**common, "key": a["key"], "code": a["code"], "name": a["name"], "standing": "not ranked: " + a["reason"]}
             for a in data["left_out"]]
    return rows


def priorities_csv(data: dict) -> str:
    return rows_csv(priorities_rows(data), PRIORITIES_COLUMNS, footer=data.get("attribution"))


CONCENTRATION_COLUMNS = ["measure", "level", "within", "period", "statistic", "areas", "value", "low", "high", "chance"]


def concentration_csv(data: dict) -> str:
    """The Gini coefficient and the top shares, one row each, with intervals and the chance value."""
    common = {"measure": data["measure"], "level": data["level"], "period": data["period"],
              "within": (data["within"] or {}).get("code")}
    rows = []
    if data.get("gini"):
        g = data["gini"]
        rows.append({**common, "statistic": "gini", "areas": data["areas_ranked"], "value": g["value"],
                     "low": g["interval"][0], "high": g["interval"][1], "chance": g["chance"]})
    for t in data.get("top") or []:
        rows.append({**common, "statistic": f"share in the top {t['fraction'] * 100:g}%", "areas": t["areas"],
                     "value": t["share"], "low": t["interval"][0], "high": t["interval"][1], "chance": t["chance"]})
    return rows_csv(rows, CONCENTRATION_COLUMNS, footer=data.get("attribution"))


FAIRNESS_COLUMNS = ["area", "code", "level", "period", "ethnicity", "group", "residents", "searches", "per_1000",
                    "ratio_to_white", "low", "high", "q_value", "verdict", "searches_with_outcome", "arrests",
                    "arrest_share", "arrest_difference_pp", "difference_low_pp", "difference_high_pp",
                    "outcome_verdict", "not_stated", "area_searches"]


def _or_marker(cell: dict, field: str):
    """A cell's figure, or its small-numbers marker ('<10', 'withheld') where it is withheld."""
    value = cell.get(field)
    return (cell.get("suppressed") or {}).get(field) if value is None else value


def fairness_csv(data: dict) -> str:
    """A fairness table (``crimeplan fairness``): one row per area, ethnicity recorded and group."""
    rows = []
    areas = data["areas"] if "areas" in data else [data["figures"]] if data.get("figures") else []
    for a in areas:
        for kind, field, groups in (("officer-defined", "officer", data["groups"]),
                                    ("self-defined", "self", data["self_groups"])):
            for group in groups:
                c = a[field][group]
                o = a["outcomes"].get(group, {}) if field == "officer" else {}
                low, high = c.get("interval") or (None, None)
                d_low, d_high = o.get("interval_pp") or (None, None)
                rows.append({
                    "area": a["name"], "code": a["code"], "level": data["level"], "period": data["period"],
                    "ethnicity": kind, "group": group, "residents": c["residents"],
                    "searches": _or_marker(c, "searches"), "per_1000": _or_marker(c, "per_1000"),
                    "ratio_to_white": _or_marker(c, "ratio"), "low": low, "high": high,
                    "q_value": _or_marker(c, "q_value"), "verdict": c.get("verdict"),
                    "searches_with_outcome": _or_marker(o, "searches"), "arrests": _or_marker(o, "arrests"),
                    "arrest_share": o.get("share"), "arrest_difference_pp": o.get("difference_pp"),
                    "difference_low_pp": d_low, "difference_high_pp": d_high, "outcome_verdict": o.get("verdict"),
                    "not_stated": _or_marker(a, "not_stated" if field == "officer" else "self_not_stated"),
                    "area_searches": a["searches"],
                })
    return rows_csv(rows, FAIRNESS_COLUMNS, footer=data.get("attribution"))


# --- every area x measure of a level, in one tidy table (crimeplan export) -------------------------------

EXPORT_COLUMNS = [
    "level", "area_code", "area_name", "parent_code", "parent_name", "priority", "measure", "title", "unit",
    "statistic", "aim", "period", "baseline", "status", "value", "baseline_value", "change", "change_unit",
    "interval_low", "interval_high", "p_value", "q_value", "verdict", "rag", "rag_text", "value_n", "baseline_n",
    "source_dataset", "source", "source_files", "source_editions", "note",
]
EXPORT_DEFINITIONS = {
    "level": "the level of the areas (borough, ward, bcu …)",
    "area_code": "the area's code (GSS, or crimeplan's key for a BCU)", "area_name": "the area's name",
    "parent_code": "the code of the area it lies in", "parent_name": "the name of the area it lies in",
    "priority": "the plan's priority the measure serves", "measure": "the measure's id in the plan",
    "title": "the measure's title", "unit": "what the value counts", "statistic": "count, rate, harm, proportion …",
    "aim": "down, up or monitor: the direction the plan wants", "period": "the period of the value",
    "baseline": "the period it is compared with", "status": "ok, or why there is no comparison",
    "value": "the measure in the period (empty: unknown, or withheld as a small count of people)",
    "baseline_value": "the measure in the baseline period", "change": "the change from the baseline, in change_unit",
    "change_unit": "% (relative change) or pp (percentage points)",
    "interval_low": "the change's 95% interval, lower end", "interval_high": "the change's 95% interval, upper end",
    "p_value": "the change's p value", "q_value": "its false-discovery-rate q value across the level's areas",
    "verdict": "significant rise, significant fall or no significant change (after FDR control)",
    "rag": "green, amber, red or grey against the plan's aim", "rag_text": "the RAG status in words",
    "value_n": "a share's denominator in the period (the n)", "baseline_n": "a share's denominator in the baseline",
    "source_dataset": "the dataset of the headline source", "source": "the headline source",
    "source_files": "the files its figures come from", "source_editions": "their editions",
    "note": "the figure in plain words, or why there is none",
}


def export_rows(tables: list[tuple[str, dict]], areas: list[dict]) -> list[dict]:
    """The rows of ``crimeplan export``: each (priority, level table) gives one row per area, withheld cells as
    they are published ('<10'); a measure with no figures at the level gives each of ``areas`` a row saying why."""
    rows = []
    for priority, t in tables:
        src = t.get("source") or {}
        files = src.get("files") or []
        for a in t["areas"] or areas:
            low, high = a.get("interval") or (None, None)
            rows.append({
                "level": t["level"], "area_code": a["code"], "area_name": a["name"], "parent_code": a.get("parent_code"),
                "parent_name": a.get("parent_name"), "priority": priority, "measure": t["measure"],
                "title": t["title"], "unit": t["unit"], "statistic": t["statistic"], "aim": t["aim"],
                "period": t["period"], "baseline": t["baseline"],
                "status": t["status"] if t["status"] != "ok" else (
                    "ok" if a.get("current") is not None or "current" in (a.get("suppressed") or {}) else "no figure"),
                "value": _v(a, "current"), "baseline_value": _v(a, "baseline_value"), "change": _v(a, "change"),
                "change_unit": t.get("change_unit"), "interval_low": _withheld_or(a, "interval", low),
                "interval_high": _withheld_or(a, "interval", high), "p_value": _v(a, "p_value"),
                "q_value": _v(a, "q_value"),
                "verdict": a.get("verdict"), "rag": getattr(a.get("rag"), "value", a.get("rag")) or Rag.GREY.value,
                "rag_text": a.get("rag_text") or Rag.GREY.text,  # no figures at the level: not assessed
                "value_n": _v(a, "current_denominator"), "baseline_n": _v(a, "baseline_denominator"),
                "source_dataset": src.get("dataset"), "source": src.get("label"),
                "source_files": "; ".join(f["name"] for f in files),
                "source_editions": "; ".join(str(f.get("edition") or "") for f in files),
                "note": a.get("plain") or t.get("message") or "",
            })
    return rows


def export_csv(rows: list[dict], attribution: str) -> str:
    return rows_csv(rows, EXPORT_COLUMNS, footer=attribution)


def export_xlsx(rows: list[dict], about: list[tuple[str, str]], attribution: str) -> bytes:
    """A workbook: the figures (header frozen, filters on) and a README sheet (what the export is, every column's
    definition, the licence)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "figures"
    sheet.append(EXPORT_COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_cell(row.get(c)) for c in EXPORT_COLUMNS])
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    readme = book.create_sheet("README")
    readme.append(["crimeplan export"])
    readme["A1"].font = Font(bold=True)
    for key, value in about:
        readme.append([key, _cell(value)])
    readme.append([])
    readme.append(["column", "definition"])
    for c in EXPORT_COLUMNS:
        readme.append([c, EXPORT_DEFINITIONS[c]])
    readme.append([])
    readme.append(["licence", attribution])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_parquet(rows: list[dict], attribution: str) -> bytes:
    """The same table as Parquet: numbers as float64 (withheld cells, text such as '<10', as null with the marker
    in ``withheld``), the licence in the file's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    numeric = {"value", "baseline_value", "change", "interval_low", "interval_high", "p_value", "q_value",
               "value_n", "baseline_n"}
    columns = {}
    withheld = []
    for r in rows:
        marks = sorted(c for c in numeric if isinstance(r.get(c), str))
        withheld.append("; ".join(f"{c}: {r[c]}" for c in marks) or None)
    for c in EXPORT_COLUMNS:
        values = [r.get(c) for r in rows]
        if c in numeric:
            columns[c] = pa.array([None if isinstance(v, str) or v is None else float(v) for v in values], pa.float64())
        else:
            columns[c] = pa.array([None if v is None else str(v) for v in values], pa.string())
    columns["withheld"] = pa.array(withheld, pa.string())
    table = pa.table(columns).replace_schema_metadata({"licence": attribution, "columns": str(EXPORT_DEFINITIONS)})
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


EXPORT_FORMATS = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  "parquet": "application/vnd.apache.parquet"}


def export_file(rows: list[dict], fmt: str, about: list[tuple[str, str]], attribution: str) -> bytes:
    """The export in one of EXPORT_FORMATS, as bytes."""
    if fmt == "csv":
        return export_csv(rows, attribution).encode("utf-8")
    if fmt == "xlsx":
        return export_xlsx(rows, about, attribution)
    if fmt == "parquet":
        return export_parquet(rows, attribution)
    raise ValueError(f"format {fmt!r}: expected one of {', '.join(EXPORT_FORMATS)}")
