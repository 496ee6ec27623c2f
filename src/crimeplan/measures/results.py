"""What the engine returns: figures with their uncertainty, verdict, RAG status and sources.

Every object has ``to_dict()`` giving the JSON documented in the README
(values rounded for display are never used in computation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from crimeplan import OGL_ATTRIBUTION, OS_ATTRIBUTION
from crimeplan.measures.areas import Area
from crimeplan.present import Rag, Status, Verdict, rag_for
from crimeplan.measures.periods import Latest, Period
from crimeplan.plan.schema import Measure

# The words live in crimeplan.present; these names are kept for the modules that read them.
RAG_TEXT = {r.value: r.text for r in Rag}  # RAG given by words as well as colour
STATUS_OK = Status.OK
# A source's figures for a period it does not publish at all, or publishes incompletely
# (partial or absent months inside its span: see warehouse/coverage.py) — never judged.
STATUS_MISSING = Status.MISSING
STATUS_INCOMPLETE = Status.INCOMPLETE
STATUS_NOT_RECORDED = Status.NOT_RECORDED
# A measure with no source giving a figure: no source has the period at all / some has it incompletely.
STATUS_NO_DATA = Status.NO_DATA
# The period complete, its baseline not: the period's figure is shown, unjudged.
STATUS_BASELINE_INCOMPLETE = Status.BASELINE_INCOMPLETE


def clean(value):
    """JSON-safe: NaN and infinities become None; numpy scalars become Python numbers."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    try:
        f = float(value)
    except (TypeError, ValueError):
        return value
    if math.isnan(f) or math.isinf(f):
        return None
    if isinstance(value, bool):
        return value
    return int(f) if f.is_integer() and abs(f) < 2**53 and not isinstance(value, float) else f


@dataclass
class SourceFigure:
    """One source's figures for one area: current and baseline values and the comparison."""

    dataset: str
    label: str
    status: str  # 'ok', 'missing months', 'incomplete data', 'not loaded', 'not available at this level'
    message: str = ""
    current: float | None = None
    baseline: float | None = None
    current_denominator: float | None = None  # a share's denominator, or a survey's sample size
    baseline_denominator: float | None = None
    change: float | None = None  # % for counts, rates and harm; percentage points for proportions
    change_unit: str = "%"
    low: float | None = None
    high: float | None = None
    p_value: float | None = None
    q_value: float | None = None  # Benjamini-Hochberg, across the areas of the level
    areas_tested: int = 1
    significant: bool | None = None
    verdict: str | None = None
    plain: str = ""
    files: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    interval_approximate: bool = False  # a survey's interval from sample sizes assumed from its declared design
    # statistic ratio: each period's ratio with its own 95% interval, and the group's searches (the numerator;
    # the reference group's are the denominator)
    current_interval: tuple | None = None
    baseline_interval: tuple | None = None
    current_numerator: float | None = None
    baseline_numerator: float | None = None

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "label": self.label,
            "status": self.status,
            "message": self.message,
            "current": clean(self.current),
            "baseline": clean(self.baseline),
            "current_denominator": clean(self.current_denominator),
            "baseline_denominator": clean(self.baseline_denominator),
            "change": clean(self.change),
            "change_unit": self.change_unit,
            "interval": [clean(self.low), clean(self.high)] if self.low is not None or self.high is not None else None,
            "interval_approximate": self.interval_approximate,
            **({"current_interval": [clean(x) for x in self.current_interval],
                "baseline_interval": [clean(x) for x in self.baseline_interval],
                "current_numerator": clean(self.current_numerator),
                "baseline_numerator": clean(self.baseline_numerator)} if self.current_interval is not None else {}),
            "p_value": clean(self.p_value),
            "q_value": clean(self.q_value),
            "areas_tested": self.areas_tested,
            "significant": self.significant,
            "verdict": self.verdict,
            "plain": self.plain,
            "files": self.files,
            "missing_months": self.missing,
            "notes": self.notes,
        }


@dataclass
class MeasureResult:
    """A measure for an area, period and comparison: the headline source and the others beside it."""

    measure: Measure
    priority: str | None
    objective: str | None
    area: Area
    period: Period
    baseline: Period
    comparison: str  # in words: "the baseline calendar year 2019"
    status: str
    message: str
    headline: SourceFigure | None
    alternatives: list[SourceFigure] = field(default_factory=list)
    would_supply: list[dict] = field(default_factory=list)  # sources with no data loaded
    notes: list[str] = field(default_factory=list)
    beside: "MeasureResult | None" = None  # for the latest months: the same months against the plan's baseline

    @property
    def rag(self) -> str:
        h = self.headline
        if h is not None and self.status == STATUS_OK and h.verdict == Verdict.EXACT and h.change is not None:
            # a headcount's change is real, not sampled: judged by its direction alone
            return rag_for(self.measure.aim, Verdict.RISE if h.change > 0 else Verdict.FALL if h.change < 0
                           else Verdict.NO_CHANGE)
        return rag_for(self.measure.aim, h.verdict if h and self.status == STATUS_OK else None)

    def to_dict(self) -> dict:
        m = self.measure
        h = self.headline
        return {
            "id": m.id,
            "title": m.title,
            "definition": m.definition,
            "priority": self.priority,
            "objective": self.objective,
            "statistic": m.statistic,
            "aim": m.aim,
            "unit": m.unit,
            "area": self.area.to_dict(),
            "period": self.period.label,
            "period_text": self.period.describe(),
            "baseline": self.baseline.label,
            "compared_with": self.comparison,
            "status": self.status,
            "message": self.message,
            "current": clean(h.current) if h else None,
            "baseline_value": clean(h.baseline) if h else None,
            "change": clean(h.change) if h else None,
            "change_unit": h.change_unit if h else None,
            "interval": [clean(h.low), clean(h.high)] if h and (h.low is not None or h.high is not None) else None,
            "interval_approximate": bool(h and h.interval_approximate),
            **({"current_interval": [clean(x) for x in h.current_interval],
                "baseline_interval": [clean(x) for x in h.baseline_interval]}
               if h is not None and h.current_interval is not None else {}),
            "p_value": clean(h.p_value) if h else None,
            "q_value": clean(h.q_value) if h else None,
            "significant": h.significant if h else None,
            "verdict": h.verdict if h else None,
            "rag": self.rag,
            "rag_text": RAG_TEXT[self.rag],
            "plain": h.plain if h else self.message,
            "source": h.to_dict() if h else None,
            "alternatives": [a.to_dict() for a in self.alternatives],
            "would_supply": self.would_supply,
            "notes": self.notes,
            **({"beside": self.beside.to_dict()} if self.beside is not None else {}),
        }


@dataclass
class Scorecard:
    plan_id: str
    plan_title: str
    area: Area
    period: Period | Latest
    baseline: Period | str  # a relative period's comparison before it is resolved: its words ('previous')
    comparison: str
    priorities: list[dict]  # {id, title, results: [MeasureResult]}

    def results(self) -> list[MeasureResult]:
        return [r for p in self.priorities for r in p["results"]]

    def to_dict(self) -> dict:
        files = {}
        for r in self.results():
            beside = r.beside
            for figure in ([r.headline] if r.headline else []) + r.alternatives + (
                    ([beside.headline] if beside.headline else []) + beside.alternatives if beside else []):
                for f in figure.files:
                    files[f["name"]] = f
        return {
            "plan": {"id": self.plan_id, "title": self.plan_title},
            "area": self.area.to_dict(),
            "period": self.period.label,
            "period_text": self.period.describe(),
            "baseline": self.baseline if isinstance(self.baseline, str) else self.baseline.label,
            "compared_with": self.comparison,
            "priorities": [
                {"id": p["id"], "title": p["title"], "measures": [r.to_dict() for r in p["results"]]}
                for p in self.priorities
            ],
            "sources": sorted(files.values(), key=lambda f: f["name"]),
            "attribution": f"{OGL_ATTRIBUTION} {OS_ATTRIBUTION}",
        }
