"""Plotly figures (as plain JSON-ready dicts) and SVG sparklines for the pages.

The figures are drawn by Plotly's own JavaScript, served by crimeplan: maps use
``choropleth`` traces on a ``geo`` subplot with the basemap switched off and the
view fitted to the areas, so they need no map tiles and no internet. Colours are
colour-blind safe: Okabe–Ito for categories, viridis (sequential) and purple–orange
(diverging, centred on no change) for maps.
"""

from __future__ import annotations

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
             "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "grey": "#8c8c8c"}
VIRIDIS = "Viridis"
DIVERGING = [[0.0, "#5e3c99"], [0.25, "#b2abd2"], [0.5, "#f7f7f7"], [0.75, "#fdb863"], [1.0, "#e66101"]]  # PuOr
NO_DATA = "#d9d9d9"

# No "Share chart..." button: Plotly's would upload the chart to Plotly Cloud (and it is one more tab stop).
CONFIG = {"displaylogo": False, "responsive": True, "scrollZoom": False, "showSendToCloud": False,
          "modeBarButtonsToRemove": ["select2d", "lasso2d", "toImage", "sendChartToCloud"]}
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 13}
# WCAG 2.2 AA: the mode bar's icons at 7:1 on white (Plotly's default grey is 1.7:1, under the 3:1 for controls),
# the pressed one in blue (5:1); hover labels black on white, whatever the colour of the trace.
MODEBAR = {"color": "#595959", "activecolor": OKABE_ITO["blue"], "bgcolor": "rgba(255,255,255,0.85)"}
HOVERLABEL = {"bgcolor": "#ffffff", "font": {"color": "#000000"}}


def choropleth(collection: dict, rows: dict[str, dict], hrefs: dict[str, str | None], colour: str,
               colour_title: str, highlight: str | None = None) -> dict:
    """A map of ``collection``'s areas coloured by each row's ``colour`` key (``change`` or ``current``).

    ``rows`` maps a feature id to its figures and hover text; areas without a
    figure are drawn in grey. Each area carries its page's address (customdata),
    which the page's script follows on click.
    """
    codes = [f["id"] for f in collection["features"]]
    with_value = [c for c in codes if rows.get(c, {}).get(colour) is not None]
    data = []
    if with_value:
        z = [rows[c][colour] for c in with_value]
        trace = {
            "type": "choropleth", "geojson": collection, "featureidkey": "id", "locations": with_value, "z": z,
            "hovertext": [rows[c]["hover"] for c in with_value], "hoverinfo": "text",
            "customdata": [hrefs.get(c) for c in with_value], "name": colour_title,
            "marker": {"line": {"color": "#ffffff", "width": 0.8}},
            "colorbar": {"title": {"text": colour_title, "side": "right"}, "thickness": 14, "len": 0.8},
        }
        if colour == "change":
            reach = max(abs(v) for v in z) or 1
            trace.update(colorscale=DIVERGING, zmid=0, zmin=-reach, zmax=reach)
        else:
            trace.update(colorscale=VIRIDIS)
        data.append(trace)
    return _map_figure(collection, data, with_value, rows, hrefs, highlight)


def category_choropleth(collection: dict, rows: dict[str, dict], hrefs: dict[str, str | None],
                        categories: list[dict], title: str, highlight: str | None = None) -> dict:
    """A map of ``collection``'s areas coloured by category: each row's ``category`` is a ``key`` of ``categories``.

    ``categories`` (``key``, ``label``, ``colour``) are drawn in order as one discrete colour bar
    labelled in words; areas whose row has no category are drawn in grey.
    """
    index = {c["key"]: i for i, c in enumerate(categories)}
    codes = [f["id"] for f in collection["features"]]
    with_value = [c for c in codes if rows.get(c, {}).get("category") in index]
    data = []
    if with_value:
        n = len(categories)
        scale = []
        for i, c in enumerate(categories):  # a step per category: z = i maps to its colour alone
            scale += [[i / n, c["colour"]], [(i + 1) / n, c["colour"]]]
        data.append({
            "type": "choropleth", "geojson": collection, "featureidkey": "id", "locations": with_value,
            "z": [index[rows[c]["category"]] for c in with_value], "zmin": -0.5, "zmax": n - 0.5,
            "colorscale": scale, "hovertext": [rows[c]["hover"] for c in with_value], "hoverinfo": "text",
            "customdata": [hrefs.get(c) for c in with_value], "name": title,
            "marker": {"line": {"color": "#6b6b6b", "width": 0.6}},
            "colorbar": {"title": {"text": title, "side": "right"}, "thickness": 14, "len": 0.6,
                         "tickvals": list(range(n)), "ticktext": [c["label"] for c in categories]},
        })
    return _map_figure(collection, data, with_value, rows, hrefs, highlight)


def _map_figure(collection: dict, data: list[dict], with_value: list[str], rows: dict[str, dict],
                hrefs: dict[str, str | None], highlight: str | None) -> dict:
    """The map's figure: ``data`` plus the areas without a figure in grey and the highlighted area outlined."""
    codes = [f["id"] for f in collection["features"]]
    names = {f["id"]: f["properties"]["name"] for f in collection["features"]}
    shown = set(with_value)
    without = [c for c in codes if c not in shown]
    if without:
        data.append({
            "type": "choropleth", "geojson": collection, "featureidkey": "id", "locations": without,
            "z": [0] * len(without), "colorscale": [[0, NO_DATA], [1, NO_DATA]], "showscale": False,
            "hovertext": [rows.get(c, {}).get("hover") or f"{names[c]}: no figure" for c in without],
            "hoverinfo": "text", "customdata": [hrefs.get(c) for c in without], "name": "no figure",
            "marker": {"line": {"color": "#ffffff", "width": 0.8}},
        })
    if highlight in names:
        data.append({
            "type": "choropleth", "geojson": collection, "featureidkey": "id", "locations": [highlight], "z": [0],
            "colorscale": [[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]], "showscale": False,
            "hovertext": [rows.get(highlight, {}).get("hover") or names[highlight]], "hoverinfo": "text",
            "customdata": [hrefs.get(highlight)], "name": names[highlight],
            "marker": {"line": {"color": OKABE_ITO["black"], "width": 3}},
        })
    layout = {
        "geo": {"fitbounds": "locations", "visible": False, "projection": {"type": "mercator"},
                "bgcolor": "rgba(0,0,0,0)"},
        "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "height": 440, "dragmode": False,
        "paper_bgcolor": "rgba(0,0,0,0)", "font": FONT, "showlegend": False,
        "hoverlabel": HOVERLABEL, "modebar": MODEBAR,
    }
    return {"data": data, "layout": layout, "config": {**CONFIG, "scrollZoom": False}}


def series_chart(points: list[dict], unit: str, shaded: list[dict], by: str = "month") -> dict:
    """A measure's series (by month, or by year for a year-only source) with its SPC centre line and limits,
    and the periods compared shaded. A share's hover gives its denominator (the points' ``n``).

    ``shaded``: ``{"label", "first", "last", "colour"}`` month ranges (YYYY-MM) drawn behind the series.
    """
    x = [p["period"] for p in points]
    y = [p["value"] for p in points]
    when = "%{x|%Y}" if by == "year" else "%{x|%b %Y}"
    line = {"type": "scatter", "mode": "lines+markers", "x": x, "y": y, "name": unit,
            "line": {"color": OKABE_ITO["blue"], "width": 2}, "marker": {"size": 4},
            "hovertemplate": f"{when}: %{{y:,.1f}}<extra></extra>"}
    if any("n" in p for p in points):
        # (text, not customdata: customdata is a link target in these charts)
        line["text"] = [f"{p['n']:,.0f}" if p.get("n") is not None else "no" for p in points]
        line["hovertemplate"] = f"{when}: %{{y:,.1f}}% of %{{text}} records<extra></extra>"
    data = [line]
    limited = [p for p in points if p.get("upper") is not None]
    if limited:
        lx = [p["period"] for p in limited]
        for key, name, dash in (("upper", "upper control limit", "dash"), ("centre", "centre line", "solid"),
                                ("lower", "lower control limit", "dash")):
            data.append({"type": "scatter", "mode": "lines", "x": lx, "y": [p[key] for p in limited], "name": name,
                         "line": {"color": OKABE_ITO["black"] if key == "centre" else OKABE_ITO["grey"],
                                  "width": 1, "dash": dash, "shape": "hv"},
                         "hovertemplate": f"{name} %{{x|%b %Y}}: %{{y:,.1f}}<extra></extra>"})
        signals = [p for p in limited if p.get("signal")]
        if signals:
            data.append({"type": "scatter", "mode": "markers", "x": [p["period"] for p in signals],
                         "y": [p["value"] for p in signals], "name": "special-cause signal",
                         "marker": {"color": OKABE_ITO["vermillion"], "size": 10, "symbol": "triangle-up"},
                         "text": [p["signal"] for p in signals],
                         "hovertemplate": "%{x|%b %Y}: %{text}<extra></extra>"})
    shapes, annotations = [], []
    for s in shaded:
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": s["first"], "x1": s["last"], "y0": 0,
                       "y1": 1, "fillcolor": s["colour"], "opacity": 0.18, "line": {"width": 0}, "layer": "below"})
        annotations.append({"xref": "x", "yref": "paper", "x": s["first"], "y": 1, "xanchor": "left",
                            "yanchor": "bottom", "text": s["label"], "showarrow": False, "font": {"size": 11}})
    layout = {
        "height": 360, "margin": {"l": 56, "r": 12, "t": 28, "b": 40}, "font": FONT, "shapes": shapes,
        "annotations": annotations, "xaxis": {"type": "date"}, "yaxis": {"title": {"text": unit}, "rangemode": "tozero"},
        "legend": {"orientation": "h", "y": -0.18}, "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "#ffffff",
        "hovermode": "closest", "hoverlabel": HOVERLABEL, "modebar": MODEBAR,
    }
    return {"data": data, "layout": layout, "config": CONFIG}


def mix_chart(majors: list[dict]) -> dict:
    """Each offence group's share of offences beside its share of harm (CCHI days)."""
    names = [m["major"].capitalize() for m in majors][::-1]
    data = [
        {"type": "bar", "orientation": "h", "y": names, "x": [m["share_pct"] for m in majors][::-1],
         "name": "share of offences", "marker": {"color": OKABE_ITO["sky"]},
         "hovertemplate": "%{y}: %{x:.1f}% of offences<extra></extra>"},
        {"type": "bar", "orientation": "h", "y": names, "x": [m["harm_share_pct"] for m in majors][::-1],
         "name": "share of harm (CCHI)", "marker": {"color": OKABE_ITO["vermillion"]},
         "hovertemplate": "%{y}: %{x:.1f}% of harm<extra></extra>"},
    ]
    layout = {"barmode": "group", "height": 120 + 34 * len(majors), "font": FONT,
              "margin": {"l": 12, "r": 12, "t": 8, "b": 40}, "xaxis": {"title": {"text": "% of the area's total"},
                                                                      "ticksuffix": "%"},
              "yaxis": {"automargin": True}, "legend": {"orientation": "h", "y": -0.12 - 4 / (len(majors) + 4)},
              "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "#ffffff", "hoverlabel": HOVERLABEL}
    # Zooming a dozen bars helps no one: no mode bar, so no row of controls to tab through.
    return {"data": data, "layout": layout, "config": {**CONFIG, "displayModeBar": False}}


def concentration_chart(curve: dict, unit: str, plural: str) -> dict:
    """The concentration curve: the share of the total held by the top x% of areas, beside equal shares."""
    x = [a * 100 for a in curve["area_share"]]
    y = [m * 100 for m in curve["measure_share"]]
    data = [
        {"type": "scatter", "mode": "lines", "x": [0, 100], "y": [0, 100], "name": "every area the same total",
         "line": {"color": OKABE_ITO["grey"], "width": 1, "dash": "dash"}, "hoverinfo": "skip"},
        {"type": "scatter", "mode": "lines", "x": x, "y": y, "name": f"share of {unit}",
         "line": {"color": OKABE_ITO["vermillion"], "width": 2},
         "hovertemplate": f"top %{{x:.0f}}% of {plural}: %{{y:.1f}}% of the total<extra></extra>"},
    ]
    layout = {"height": 320, "font": FONT, "margin": {"l": 56, "r": 12, "t": 8, "b": 48},
              "xaxis": {"title": {"text": f"top % of {plural} (highest first)"}, "ticksuffix": "%", "range": [0, 100]},
              "yaxis": {"title": {"text": "% of the total"}, "ticksuffix": "%", "range": [0, 100]},
              "legend": {"orientation": "h", "y": -0.25}, "paper_bgcolor": "rgba(0,0,0,0)",
              "plot_bgcolor": "#ffffff", "hoverlabel": HOVERLABEL}
    return {"data": data, "layout": layout, "config": {**CONFIG, "displayModeBar": False}}


def change_chart(rows: list[dict], title: str) -> dict:
    """Each row's change (%) with its 95% interval as a horizontal dot-and-whisker chart, in the order given.

    ``rows``: ``{"name", "change", "low", "high", "highlighted", "verdict"}``, changes in per cent. The
    highlighted row is drawn in vermillion with a larger diamond and its name in bold; a line marks no change.
    """
    return _dot_interval(rows, "change", title, lambda v: f"{v:+.1f}%",
                         {"ticksuffix": "%", "zeroline": True, "zerolinecolor": "#000000", "zerolinewidth": 1.5})


def ratio_chart(rows: list[dict], title: str) -> dict:
    """Each row's rate ratio with its 95% interval, on a log scale with a line at 1 (no difference).

    ``rows``: ``{"name", "ratio", "low", "high", "highlighted", "verdict"}``.
    """
    return _dot_interval(rows, "ratio", title, lambda v: f"{v:.2f}", {"type": "log"}, reference=1.0)


def _dot_interval(rows: list[dict], field: str, title: str, shown, xaxis: dict, reference: float | None = None) -> dict:
    names = [f"<b>{r['name']}</b>" if r["highlighted"] else r["name"] for r in rows][::-1]
    ordered = rows[::-1]
    data = []
    for highlighted, colour, symbol, size, label in ((False, OKABE_ITO["blue"], "circle", 8, "95% interval"),
                                                     (True, OKABE_ITO["vermillion"], "diamond", 13, "highlighted")):
        picked = [i for i, r in enumerate(ordered) if bool(r["highlighted"]) == highlighted]
        if not picked:
            continue
        value = [ordered[i][field] for i in picked]
        data.append({
            "type": "scatter", "mode": "markers", "orientation": "h", "name": label,
            "y": [names[i] for i in picked], "x": value,
            "error_x": {"type": "data", "symmetric": False, "color": colour, "thickness": 1.5, "width": 3,
                        "array": [(ordered[i]["high"] if ordered[i]["high"] is not None else c) - c
                                  for i, c in zip(picked, value)],
                        "arrayminus": [c - ordered[i]["low"] for i, c in zip(picked, value)]},
            "marker": {"color": colour, "symbol": symbol, "size": size, "line": {"color": "#000000", "width": 0.5}},
            "text": [f"{ordered[i]['name']}: {shown(c)} (95% interval {shown(ordered[i]['low'])} to "
                     + ("no upper limit" if ordered[i]["high"] is None else shown(ordered[i]["high"]))
                     + f"), {ordered[i]['verdict']}" for i, c in zip(picked, value)],
            "hoverinfo": "text",
        })
    layout = {
        "height": 140 + 22 * len(rows), "font": FONT, "showlegend": False,
        "margin": {"l": 12, "r": 16, "t": 28, "b": 48},
        "xaxis": {"title": {"text": title}, "gridcolor": "#e5e5e5", **xaxis},
        "yaxis": {"automargin": True, "type": "category", "categoryorder": "array", "categoryarray": names,
                  "dtick": 1},
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "#ffffff", "hovermode": "closest",
        "hoverlabel": HOVERLABEL, "modebar": MODEBAR,
    }
    if reference is not None:
        layout["shapes"] = [{"type": "line", "xref": "x", "yref": "paper", "x0": reference, "x1": reference,
                             "y0": 0, "y1": 1, "line": {"color": "#000000", "width": 1.5}}]
    return {"data": data, "layout": layout, "config": CONFIG}


def sparkline(values: list[float | None], in_period: list[bool], in_baseline: list[bool],
              width: int = 120, height: int = 30) -> dict | None:
    """An SVG sparkline: the whole run faint, the baseline months grey, the current months dark.

    Returns polyline point strings in a ``width`` × ``height`` box, or None without two figures.
    """
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(known) < 2:
        return None
    low = min(v for _, v in known)
    high = max(v for _, v in known)
    span = (high - low) or 1.0
    n = max(len(values) - 1, 1)
    pad = 2

    def xy(i: int, v: float) -> str:
        return f"{pad + i * (width - 2 * pad) / n:.1f},{height - pad - (v - low) * (height - 2 * pad) / span:.1f}"

    last_i, last_v = known[-1]
    cx, cy = xy(last_i, last_v).split(",")
    return {
        "width": width, "height": height,
        "all": " ".join(xy(i, v) for i, v in known),
        "baseline": " ".join(xy(i, v) for i, v in known if in_baseline[i]),
        "current": " ".join(xy(i, v) for i, v in known if in_period[i]),
        "last_x": cx, "last_y": cy,
    }


__all__ = ["OKABE_ITO", "category_choropleth", "change_chart", "choropleth", "funnel_chart", "mix_chart", "series_chart",
           "sparkline", "time_to_outcome_chart"]


def funnel_chart(data: dict, rows: list[dict], label: str = "force", whole: str = "all forces",
                 x_title: str = "crimes with a known last outcome (log scale)", legend: str = "force") -> dict:
    """A funnel plot: each row's share against its number of crimes, with the 95% and 99.8% limits around the
    share of all the rows' crimes together (``measures.outcomes``: forces or the areas of a level); the highlighted
    row in vermillion. Limits are dashed (95%) and dotted (99.8%), so they differ by more than colour. ``label`` is
    the rows' name field, ``whole`` names the target line, ``legend`` the rows' markers."""
    curve, target = data["curve"], data["target"]
    curve = {"n": curve["n"], **{k: {side: [round(v, 3) for v in vs] for side, vs in v.items()}
                                  for k, v in curve.items() if k != "n"}}
    traces = [{"type": "scatter", "mode": "lines", "x": [curve["n"][0], curve["n"][-1]], "y": [target, target],
               "name": f"{whole} {target:.1f}%", "line": {"color": "#000000", "width": 1.5}, "hoverinfo": "skip"}]
    for name, dash in (("95%", "dash"), ("99.8%", "dot")):
        for side in ("low", "high"):
            traces.append({"type": "scatter", "mode": "lines", "x": curve["n"], "y": curve[name][side],
                           "name": f"{name} limits", "legendgroup": name, "showlegend": side == "low",
                           "line": {"color": "#595959", "width": 1.2, "dash": dash}, "hoverinfo": "skip"})
    for highlighted, colour, symbol, size, name in ((False, OKABE_ITO["blue"], "circle", 8, legend),
                                                    (True, OKABE_ITO["vermillion"], "diamond", 13, "highlighted")):
        picked = [f for f in rows if bool(f["highlighted"]) == highlighted]
        if not picked:
            continue
        traces.append({
            "type": "scatter", "mode": "markers", "name": name, "x": [f["crimes"] for f in picked],
            "y": [round(f["share"], 3) for f in picked],  # to the thousandth of a point: a page per ward holds them
            "marker": {"color": colour, "symbol": symbol, "size": size, "line": {"color": "#000000", "width": 0.5}},
            "text": [f"{f[label]}: {f['share']:.1f}% of {f['crimes']:,.0f} crimes, {f['position_text']}"
                     for f in picked],
            "hoverinfo": "text",
        })
    return {"data": traces, "layout": {
        "height": 460, "font": FONT, "showlegend": True, "legend": {"orientation": "h", "y": -0.18},
        "margin": {"l": 56, "r": 16, "t": 16, "b": 80},
        "xaxis": {"title": {"text": x_title}, "type": "log", "gridcolor": "#e5e5e5"},
        "yaxis": {"title": {"text": f"% {data['group']}"}, "ticksuffix": "%", "gridcolor": "#e5e5e5"},
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "#ffffff", "hovermode": "closest",
        "hoverlabel": HOVERLABEL, "modebar": MODEBAR,
    }, "config": CONFIG}


# Colours of at least 3:1 on white (WCAG 1.4.11), told apart by dash as well.
CURVE_COLOURS = [OKABE_ITO["vermillion"], OKABE_ITO["blue"], OKABE_ITO["green"], OKABE_ITO["black"], "#595959",
                 "#A6468A"]
CURVE_DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]


def time_to_outcome_chart(tto: dict) -> dict | None:
    """Cumulative share of the crimes reaching each outcome group first, by months since the crime's month, as
    steps (``measures.outcomes.time_to_outcome``); each group by colour and dash. None with fewer than two months:
    a curve needs a follow-up to draw."""
    months = tto.get("months") or []
    if len(months) < 2:
        return None
    traces = []
    for k, g in enumerate(c for c in tto["groups"] if max(c["incidence"]) > 0):
        traces.append({"type": "scatter", "mode": "lines", "x": months, "y": g["incidence"], "name": g["group"],
                       "line": {"shape": "hv", "color": CURVE_COLOURS[k % len(CURVE_COLOURS)],
                                "dash": CURVE_DASHES[k % len(CURVE_DASHES)], "width": 2},
                       "customdata": [[lo, hi] for lo, hi in zip(g["low"], g["high"])],
                       "hovertemplate": f"{g['group']}: %{{y:.1f}}% by month %{{x}} "
                                        f"(%{{customdata[0]:.1f}} to %{{customdata[1]:.1f}})<extra></extra>"})
    return {"data": traces, "layout": {
        "height": 400, "font": FONT, "showlegend": True, "legend": {"orientation": "h", "y": -0.22},
        "margin": {"l": 56, "r": 16, "t": 16, "b": 90},
        "xaxis": {"title": {"text": "months since the crime's month"}, "dtick": 1, "gridcolor": "#e5e5e5"},
        "yaxis": {"title": {"text": "% of the crimes reaching it first"}, "ticksuffix": "%", "rangemode": "tozero",
                  "gridcolor": "#e5e5e5"},
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "#ffffff", "hovermode": "closest",
        "hoverlabel": HOVERLABEL, "modebar": MODEBAR,
    }, "config": CONFIG}
