"""A measure across every area of a level: the figures a choropleth colours, the trajectories sparklines draw.

Both read the engine's level evaluation (one query per source and level,
cached), so a map of 704 wards costs what one ward's scorecard costs, and each
area's figures are exactly those :meth:`Engine.result` gives it.

    >>> from crimeplan.measures.levels import level_table           # doctest: +SKIP
    >>> table = level_table(engine, "burglary", "borough", "2021", "2019")   # doctest: +SKIP
    >>> table["areas"][0]["verdict"]                                 # doctest: +SKIP
    'significant fall'
"""

from __future__ import annotations

import numpy as np

from crimeplan import ATTRIBUTION
from crimeplan.measures.engine import Engine, LevelFigures
from crimeplan.measures.periods import Latest, Period, month_of, parse_period
from crimeplan.measures.results import RAG_TEXT, STATUS_BASELINE_INCOMPLETE, STATUS_OK, clean, rag_for
from crimeplan.plan.schema import Measure, OutcomeSource, Plan, StopSearchSource, SurveySource

# A sparkline spans the months compared; beyond this it is cut to the most recent months.
MAX_TRAJECTORY_MONTHS = 72


def _resolve(engine: Engine, measure: Measure | str, level: str, period: Period | Latest | str | None,
             baseline: str | None):
    """The measure, and the period as counted for it at ``level`` (latest resolved), with its comparison."""
    measure = engine.plan.measure(measure) if isinstance(measure, str) else measure
    period = period if isinstance(period, (Period, Latest)) else engine.period(period)
    concrete, against = engine.resolve(period, measure, level), baseline or engine.default_baseline(period)
    base, comparison = engine.against(concrete, against)
    return measure, concrete, base, comparison, against


def headline_figures(engine: Engine, measure: Measure, level: str, period: Period, base: Period) -> LevelFigures | None:
    """The source :meth:`Engine.result` takes as headline at this level: the first judged, else the first whose
    period is complete though its baseline is not (its figures without a change)."""
    if level not in measure.levels:
        return None
    figures = engine.evaluate(measure, level, period, base)
    return next((f for f in figures if f.status == STATUS_OK),
                next((f for f in figures if f.status == STATUS_BASELINE_INCOMPLETE), None))


def level_table(engine: Engine, measure: Measure | str, level: str, period: Period | str | None = None,
                baseline: str | None = None) -> dict:
    """Every area of ``level``: the measure's current and baseline values, change, interval, verdict and RAG.

    What a choropleth colours and its table lists. The status and message are the
    level's (the same for every area); below London the verdicts are judged after
    false-discovery-rate control across the level's areas, as in the scorecard.
    """
    measure, period, base, comparison, against = _resolve(engine, measure, level, period, baseline)
    areas = engine.areas.level(level)
    out = {
        "measure": measure.id, "title": measure.title, "unit": measure.unit, "aim": measure.aim,
        "statistic": measure.statistic, "level": level, "period": period.label, "period_text": period.describe(),
        "baseline": base.label, "compared_with": comparison, "status": "not available at this level",
        "message": "", "source": None, "change_unit": None, "areas": [], "attribution": ATTRIBUTION,
    }
    if not areas:
        out["message"] = f"no {level} areas are loaded"
        return out
    # The level's status and message are those of any of its areas' results.
    first = engine.result(measure, areas[0], period, against)
    out["status"], out["message"] = first.status, first.message
    head = headline_figures(engine, measure, level, period, base)
    if head is None or first.status not in (STATUS_OK, STATUS_BASELINE_INCOMPLETE):
        return out
    by_code = {a.code: a for a in areas}
    rows = []
    for i, code in enumerate(head.areas):
        area = by_code.get(code)
        if area is None:
            continue
        f = head.figure(i)
        rag = rag_for(measure.aim, f.verdict)
        rows.append({
            "key": area.key, "code": area.code, "name": area.name, "parent_code": area.parent_code,
            "parent_name": area.parent_name, "current": clean(f.current), "baseline_value": clean(f.baseline),
            "change": clean(f.change), "interval": [clean(f.low), clean(f.high)] if f.low is not None or f.high is not None else None,
            "p_value": clean(f.p_value), "q_value": clean(f.q_value), "significant": f.significant,
            "verdict": f.verdict, "rag": rag, "rag_text": RAG_TEXT[rag], "plain": f.plain,
            # a share's denominators: never a bare %
            **({"current_denominator": clean(f.current_denominator), "baseline_denominator": clean(f.baseline_denominator)}
               if measure.statistic == "proportion" else {}),
            # a ratio's counts of people: read by disclosure to withhold small ones, never published
            **({"_counts": [clean(f.current_numerator), clean(f.current_denominator), clean(f.baseline_numerator),
                            clean(f.baseline_denominator)]} if measure.statistic == "ratio" else {}),
        })
    out["areas"] = rows
    out["source"] = {"dataset": head.source.dataset, "label": head.label, "files": head.files, "notes": head.notes}
    out["change_unit"] = head.change_unit
    return out


def trajectories(engine: Engine, measure: Measure | str, level: str, period: Period | str | None = None,
                 baseline: str | None = None) -> dict:
    """The headline source's monthly values for every area of ``level`` over the months compared.

    From the earlier of the two periods' starts to the later one's end (at most
    :data:`MAX_TRAJECTORY_MONTHS`), one value per month — the same values
    :meth:`Engine.series` gives by month (counts; shares and survey estimates in %),
    ``None`` where the source supplies no figure. For sparklines.
    """
    measure, period, base, _, _ = _resolve(engine, measure, level, period, baseline)
    out = {"measure": measure.id, "level": level, "source": None, "dataset": None, "months": [],
           "in_period": [], "in_baseline": [], "values": {}}
    head = headline_figures(engine, measure, level, period, base)
    if head is None:
        return out
    cube = engine.cube(head.source, level, measure.statistic)
    last = max(period.last, base.last)
    first = max(min(period.first, base.first), last - MAX_TRAJECTORY_MONTHS + 1)
    columns = np.arange(first, last + 1) - cube.first
    inside = (columns >= 0) & (columns < cube.value.shape[1])
    safe = np.clip(columns, 0, cube.value.shape[1] - 1)
    available = inside & cube.available[safe]
    values = cube.value[:, safe].astype(float)
    if isinstance(head.source, SurveySource):
        values = values * 100
    elif measure.statistic == "proportion" and isinstance(head.source, (OutcomeSource, StopSearchSource)):
        with np.errstate(divide="ignore", invalid="ignore"):
            values = values / cube.second[:, safe] * 100
    elif measure.statistic == "ratio":
        exposure = (engine.compiler.group_residents(level, head.source.ratio.reference)
                    / engine.compiler.group_residents(level, head.source.ratio.group))
        with np.errstate(divide="ignore", invalid="ignore"):
            values = values / cube.second[:, safe] * exposure[:, None]
    values[:, ~available] = np.nan
    index = cube.index()
    months = [month_of(int(m)) for m in range(first, last + 1)]
    out.update(
        source=head.label, dataset=head.source.dataset,
        months=[f"{m:%Y-%m}" for m in months],
        in_period=[period.first <= m <= period.last for m in range(first, last + 1)],
        in_baseline=[base.first <= m <= base.last for m in range(first, last + 1)],
        values={a.code: clean(values[index[a.code]].tolist()) if a.code in index else [None] * len(months)
                for a in engine.areas.level(level)},
    )
    return out


def survey_measures(plan: Plan) -> list[Measure]:
    """The plan's measures read from a survey (trust and confidence), in plan order."""
    return [m for m in plan.measures if any(isinstance(s, SurveySource) for s in m.sources)]


def crime_mixes(engine: Engine, level: str, period: Period | str | None = None) -> dict[str, dict]:
    """:meth:`Engine.crime_mixes`: every area's crime mix at once."""
    return engine.crime_mixes(level, period)


def latest_twelve_months(engine: Engine, level: str) -> Period | None:
    """The most recent twelve months a recorded-crime file covers at ``level`` (the most local file first)."""
    return engine.latest_recorded(level)


def crime_mixes_latest(engine: Engine, level: str, period: Period | str | None = None) -> dict[str, dict]:
    """Each area's crime mix for ``period``; where no file covers it, for the latest twelve months one does.

    Ward recorded crime is published for recent months only, so a ward's mix for an
    older period falls back to its most recent year (``period`` says which was used,
    ``requested_period`` what was asked for, and the note says why).
    """
    period = period if isinstance(period, (Period, Latest)) else engine.period(period)
    mixes = crime_mixes(engine, level, period)
    period = parse_period(next(iter(mixes.values()))["period"]) if mixes else period  # latest: as resolved
    fallback = None
    if any(m["dataset"] is None for m in mixes.values()):
        latest = latest_twelve_months(engine, level)
        fallback = crime_mixes(engine, level, latest) if latest and latest != period else None
    out = {}
    for code, mix in mixes.items():
        if mix["dataset"] is None and fallback and fallback[code]["dataset"] is not None:
            mix = {**fallback[code], "note": (f"no recorded-crime file covers {mix['period_text']} for this area; "
                                              f"shown for {fallback[code]['period_text']}. {fallback[code]['note']}")}
        out[code] = {**mix, "requested_period": period.label}
    return out


__all__ = ["crime_mixes", "crime_mixes_latest", "headline_figures", "latest_twelve_months", "level_table",
           "survey_measures", "trajectories"]
