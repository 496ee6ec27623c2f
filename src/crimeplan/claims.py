"""Claims checking: published statements about a plan's measures, checked against the data.

    >>> from crimeplan.claims import load_claims, check_claims
    >>> from crimeplan.measures import Engine
    >>> engine = Engine.open("crimeplan.duckdb")                               # doctest: +SKIP
    >>> claims = load_claims(None, engine.plan, engine.areas)                  # doctest: +SKIP
    >>> [c.verdict for c in check_claims(engine, claims)][:2]                  # doctest: +SKIP
    ['supported', 'supported']

A claims file (YAML) lists ``claims:``; each claim names a measure of the plan,
an area, a period and (for a change) a baseline in the scorecard's period
syntax, and the figure as stated: ``stated_change_pct`` (``-13`` for "down
13%") or ``stated_value`` (``135`` for "135 homicides").

Verdicts, for each source of the measure that has data:

- ``supported``: the computed figure rounds to the stated one at the precision
  it was written with: ``-13`` covers -13.5 to -12.5, ``-13.0`` covers -13.05 to
  -12.95, ``-12.5`` covers -12.55 to -12.45;
- ``approximately supported``: within 2 points of a stated change (or of a
  stated share, which is itself a percentage), within 2% of a stated count,
  rate or harm value;
- ``not supported``: further away;
- ``unverifiable``: no loaded data gives the figure for that area and period;
  the check names the dataset that would, and why it does not (not loaded,
  months missing, not published at that level).

For proportion measures (shares of survey respondents, searches, outcomes) the
stated change is in percentage points. Whether a change is more than noise is
reported separately (``significant``), from the engine's comparison of the
headline source: the exact rate-ratio test for counts, Newcombe's interval for
shares, the delta method for harm; below London, after Benjamini-Hochberg
false-discovery-rate control across the areas of the level. A stated figure
can be accurate and still describe no real change; the check says so.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, field_validator

from crimeplan import OGL_ATTRIBUTION, OS_ATTRIBUTION
from crimeplan.errors import CrimeplanError
from crimeplan.measures.areas import Area, Areas, UnknownArea
from crimeplan.measures.periods import Period, PeriodError, comparison_period, parse_period
from crimeplan.measures.results import (
    STATUS_BASELINE_INCOMPLETE,
    STATUS_INCOMPLETE,
    STATUS_MISSING,
    STATUS_NOT_RECORDED,
    STATUS_OK,
    MeasureResult,
    SourceFigure,
    clean,
)
from crimeplan.plan import PlanError, load_yaml_with_lines, read_file
from crimeplan.present import Status, Verdict, number, signed
from crimeplan.plan import plan_path as resolve_plan_path
from crimeplan.plan.schema import Measure, Plan

SUPPORTED = "supported"
APPROXIMATELY_SUPPORTED = "approximately supported"
NOT_SUPPORTED = "not supported"
UNVERIFIABLE = "unverifiable"
VERDICTS = (SUPPORTED, APPROXIMATELY_SUPPORTED, NOT_SUPPORTED, UNVERIFIABLE)

APPROXIMATE_POINTS = 2.0  # for changes (% or percentage points) and stated shares
APPROXIMATE_RELATIVE = 0.02  # for stated counts, rates and harm values
_EPSILON = 1e-9  # the boundary itself counts: -12.5 rounds to -13 at 0 decimals here

SHIPPED_CLAIMS = "london_claims.yaml"
ATTRIBUTION = f"{OGL_ATTRIBUTION} {OS_ATTRIBUTION}"


class ClaimsError(PlanError):
    """A claims file that cannot be checked; every problem names the file, line, claim and field."""

    def __init__(self, file: str, problems: list[str]) -> None:
        self.file = file
        self.problems = [p if p.startswith(file) else f"{file}, {p}" for p in problems]
        CrimeplanError.__init__(
            self, f"{file} is not a valid claims file:\n" + "\n".join(f"  - {p}" for p in self.problems)
        )


# --- the file ------------------------------------------------------------------------------------


def _number(value: Any, name: str) -> Any:
    """A stated figure: a YAML number, or a string such as "-13", "-13%", "1,217" or "−13"."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected a number, e.g. {'-13 for a fall of 13%' if name == 'stated_change_pct' else '135'}")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("expected a finite number")
        return value
    if isinstance(value, str):
        try:
            d = Decimal(_number_text(value))
        except InvalidOperation:
            raise ValueError(
                f"{value!r} is not a number; expected e.g. "
                + ("-13 (a fall of 13%) or 4.5 (a rise of 4.5%)" if name == "stated_change_pct" else "135 or 1217")
            ) from None
        if not d.is_finite():
            raise ValueError("expected a finite number")
        return int(d) if d == d.to_integral_value() and d.as_tuple().exponent >= 0 else float(d)
    raise ValueError(f"expected a number, not {type(value).__name__}")


def _number_text(text: str) -> str:
    return text.strip().replace("−", "-").replace(",", "").replace("_", "").removesuffix("%").strip()


def decimals_of(text: str) -> int:
    """How many decimals a figure was written with: '-13' → 0, '-13.0' → 1, '-12.55' → 2."""
    try:
        exponent = Decimal(_number_text(text)).as_tuple().exponent
    except InvalidOperation:
        return 0
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _as_text(value):
    """YAML reads `period: 2021` (or `plan: 2022`) as a number; it is text all the same."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class Claim(BaseModel):
    """One published statement and the figure it states."""

    model_config = ConfigDict(extra="forbid")

    id: str
    statement: str  # the text as published
    source: str | None = None  # who said it, where, when
    measure: str  # a measure id of the plan
    area: str | None = None  # code or name; default: the plan's area
    period: str
    baseline: str | None = None  # required with stated_change_pct
    stated_change_pct: int | float | None = None  # % change; percentage points for proportion measures
    stated_value: int | float | None = None  # the figure for the period itself
    notes: str | None = None

    _line: int | None = PrivateAttr(default=None)
    _index: int | None = PrivateAttr(default=None)
    _stated_text: str | None = PrivateAttr(default=None)

    _text = field_validator("id", "period", "baseline", "area", "measure", mode="before")(_as_text)

    @field_validator("stated_change_pct", "stated_value", mode="before")
    @classmethod
    def _figure(cls, value, info):
        return _number(value, info.field_name)

    @property
    def kind(self) -> str:
        """'change' (stated_change_pct) or 'value' (stated_value)."""
        return "change" if self.stated_change_pct is not None else "value"

    @property
    def stated(self) -> float | None:
        value = self.stated_change_pct if self.kind == "change" else self.stated_value
        return None if value is None else float(value)

    @property
    def stated_text(self) -> str:
        """The stated figure as written (its precision decides 'supported')."""
        if self._stated_text is not None:
            return self._stated_text
        value = self.stated_change_pct if self.kind == "change" else self.stated_value
        return "" if value is None else str(value)

    @property
    def line(self) -> int | None:
        return self._line


class ClaimsFile(BaseModel):
    """A claims file: the plan it is about (optional) and its claims."""

    model_config = ConfigDict(extra="forbid")

    plan: str | None = None  # the id of the plan the claims are about
    claims: list[Claim]

    _file: str = PrivateAttr(default="<claims>")
    _lines: dict = PrivateAttr(default_factory=dict)

    _plan_text = field_validator("plan", mode="before")(_as_text)

    @property
    def file(self) -> str:
        return self._file

    def problems(self, plan: Plan, areas: Areas | None = None) -> list[str]:
        """Everything that stops the claims being checked against ``plan`` (and ``areas``), located."""
        out: list[str] = []
        if self.plan is not None and self.plan != plan.id:
            out.append(_located(self._lines, ("plan",), None, "plan",
                                f"the claims are about plan {self.plan!r} but are checked against plan {plan.id!r}"))
        measures = {m.id: m for m in plan.measures}
        baselines = {b.id: b.period for b in plan.baselines}
        seen: dict[str, int] = {}
        for position, claim in enumerate(self.claims):
            i = claim._index if claim._index is not None else position

            def problem(name: str, message: str) -> None:
                out.append(_located(self._lines, ("claims", i, name), claim.id, name, message))

            if claim.id in seen:
                problem("id", f"claim ids must be unique; {claim.id!r} is also claim {seen[claim.id] + 1}")
            seen.setdefault(claim.id, position)
            if claim.measure not in measures:
                problem("measure", f"unknown measure {claim.measure!r}; the plan's measures are: {', '.join(measures)}")
            period = None
            try:
                period = parse_period(claim.period)
            except PeriodError as exc:
                problem("period", str(exc))
            if claim.stated_change_pct is None and claim.stated_value is None:
                problem("stated_change_pct", "no stated figure: give stated_change_pct (the % change stated, "
                                             "e.g. -13 for 'down 13%') or stated_value (e.g. 135)")
            elif claim.stated_change_pct is not None and claim.stated_value is not None:
                problem("stated_value", "give one stated figure, not both stated_change_pct and stated_value")
            if claim.stated_change_pct is not None and claim.baseline is None:
                problem("baseline", "missing 'baseline': a stated change needs the period it is compared with "
                                    "(e.g. 2019, FY2019-20, year-earlier)")
            if claim.baseline is not None and period is not None:
                try:
                    comparison_period(period, claim.baseline, baselines)
                except PeriodError as exc:
                    more = (f", a baseline of the plan ({', '.join(baselines)}), previous or year-earlier"
                            if "is not a period" in str(exc) else "")
                    problem("baseline", f"{exc}{more}")
            if areas is not None:
                try:
                    areas.get(claim.area or plan.area)
                except UnknownArea as exc:
                    problem("area", str(exc))
        return out

    def check_against(self, plan: Plan, areas: Areas | None = None) -> None:
        problems = self.problems(plan, areas)
        if problems:
            raise ClaimsError(self._file, problems)


def _located(lines: dict, path: tuple, claim_id: str | None, field_name: str, message: str) -> str:
    """'line 14, claim 'knife-2021' field period: message' (the file name is added by ClaimsError)."""
    line = next((lines[path[:k]] for k in range(len(path), 0, -1) if path[:k] in lines), None)
    where = f"line {line}, " if line else ""
    if len(path) >= 2 and path[0] == "claims":
        where += (f"claim {claim_id!r}" if isinstance(claim_id, str) else f"claim {path[1] + 1}") + " "
    return f"{where}field {field_name}: {message}"


MAX_CLAIMS = 500  # each is a scorecard-sized computation: 10,000 took over two minutes
MAX_CLAIMS_CHARACTERS = 1_000_000


def parse_claims(text: str, name: str = "<claims>", plan: Plan | None = None, areas: Areas | None = None) -> ClaimsFile:
    """A claims file from its text, validated (against ``plan`` and ``areas`` when given)."""
    if len(text) > MAX_CLAIMS_CHARACTERS:
        raise ClaimsError(name, [f"not read: {len(text):,} characters; a claims file may hold at most "
                                 f"{MAX_CLAIMS_CHARACTERS:,} (split it)"])
    texts: dict[tuple, str] = {}  # each scalar as written: the stated figure's precision
    data, lines = load_yaml_with_lines(text, name, ClaimsError, texts)
    if isinstance(data, dict) and isinstance(data.get("claims"), list) and len(data["claims"]) > MAX_CLAIMS:
        raise ClaimsError(name, [f"line {lines.get(('claims',), 1)}, field claims: {len(data['claims']):,} claims; "
                                 f"at most {MAX_CLAIMS:,} are checked at once (split the file)"])
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list) or not data["claims"]:
        line = lines.get(("claims",), 1)
        raise ClaimsError(name, [f"line {line}, field claims: expected a mapping with a non-empty list under "
                                 "'claims:' (each claim: id, statement, measure, area, period, baseline, "
                                 "stated_change_pct or stated_value)"])
    problems: list[str] = []
    for key in data:
        if key not in ("plan", "claims"):
            problems.append(_located(lines, (key,), None, str(key), f"unknown field {key!r}; expected plan and claims"))
    claims: list[Claim] = []
    for i, item in enumerate(data["claims"]):
        claim_id = item.get("id") if isinstance(item, dict) else None
        claim_id = str(claim_id) if isinstance(claim_id, (str, int)) and not isinstance(claim_id, bool) else None
        if not isinstance(item, dict):
            problems.append(_located(lines, ("claims", i), None, "(claim)",
                                     "expected a mapping (id, statement, measure, period, …)"))
            continue
        try:
            claim = Claim.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors():
                loc = [p for p in err["loc"] if isinstance(p, str)][:1]
                where = loc[0] if loc else "(claim)"
                message = err["msg"].removeprefix("Value error, ")
                if err["type"] == "missing":
                    message = f"missing {where!r}; it is required"
                elif err["type"] == "extra_forbidden":
                    message = f"unknown field {where!r}; expected {', '.join(Claim.model_fields)}"
                problems.append(_located(lines, ("claims", i, where), claim_id, where, message))
            continue
        claim._line = lines.get(("claims", i))
        claim._index = i
        stated_key = "stated_change_pct" if claim.stated_change_pct is not None else "stated_value"
        claim._stated_text = texts.get(("claims", i, stated_key))
        claims.append(claim)
    plan_id = data.get("plan")
    if plan_id is not None and not isinstance(plan_id, str):
        problems.append(_located(lines, ("plan",), None, "plan", f"expected a plan id such as london-2022-25, not {plan_id!r}"))
        plan_id = None
    claims_file = ClaimsFile(plan=plan_id, claims=claims)
    claims_file._file = name
    claims_file._lines = lines
    if plan is not None:
        problems += claims_file.problems(plan, areas)
    if problems:
        raise ClaimsError(name, sorted(problems, key=_line_of))
    return claims_file


def _line_of(problem: str) -> int:
    match = re.match(r"line (\d+)", problem)
    return int(match.group(1)) if match else 0


def shipped_claims_text(plan_file: str | Path | None = None) -> tuple[str, str] | None:
    """The example claims beside a plan file (None: beside the London plan): (text, name); None if it has none."""
    if plan_file is None:
        return read_file(None, SHIPPED_CLAIMS, "claims")
    file = claims_beside(resolve_plan_path(plan_file))
    return read_file(file, SHIPPED_CLAIMS, "claims") if file.exists() else None


def claims_beside(plan_path: str | Path) -> Path:
    """Where a plan file's example claims live: 'plans/bristol.yaml' → 'plans/bristol_claims.yaml'."""
    p = Path(plan_path)
    return p.with_name(f"{p.stem}_claims{p.suffix or '.yaml'}")


def claims_file_for(plan_path: str | Path | None) -> Path | None:
    """The claims to check when none are named: those beside ``plan_path`` (None: the shipped examples).

    Raises CrimeplanError when a plan file is given and has no claims file beside it.
    """
    if plan_path is None:
        return None
    file = claims_beside(resolve_plan_path(plan_path))
    if not file.exists():
        raise CrimeplanError(f"no claims file given, and none beside the plan ({file})")
    return file


def load_claims(path: str | Path | None = None, plan: Plan | None = None, areas: Areas | None = None) -> ClaimsFile:
    """The claims in ``path`` (None: the examples shipped with the London plan), validated."""
    return parse_claims(*read_file(path, SHIPPED_CLAIMS, "claims"), plan, areas)


# --- the verdict ---------------------------------------------------------------------------------


def judge(computed: float | None, stated: float, stated_text: str, relative: bool = False) -> str:
    """The verdict on one computed figure against the stated one.

    Supported: within half a unit of the last decimal stated. Approximately
    supported: within 2 points, or 2% of the stated value when ``relative``
    (counts, rates, harm). Unverifiable when nothing was computed.
    """
    if computed is None or (isinstance(computed, float) and math.isnan(computed)):
        return UNVERIFIABLE
    gap = abs(computed - stated)
    if gap <= 0.5 * 10 ** -decimals_of(stated_text) + _EPSILON:
        return SUPPORTED
    allowed = APPROXIMATE_RELATIVE * abs(stated) if relative else APPROXIMATE_POINTS
    if gap <= allowed + _EPSILON:
        return APPROXIMATELY_SUPPORTED
    return NOT_SUPPORTED


@dataclass
class SourceCheck:
    """One source's figure for a claim, and its own verdict against the stated figure."""

    figure: SourceFigure
    computed: float | None  # the change (claims of change) or the value (claims of a value)
    verdict: str
    compared: bool  # whether the change against the baseline is reported (a value claim may have no baseline)

    @property
    def interval(self) -> list | None:
        """The 95% interval of the change, when the change is reported and has one."""
        f = self.figure
        return [clean(f.low), clean(f.high)] if self.compared and (f.low is not None or f.high is not None) else None

    def to_dict(self) -> dict:
        f = self.figure
        interval = self.interval
        return {
            "dataset": f.dataset,
            "label": f.label,
            "files": f.files,
            "current": clean(f.current),
            "baseline": clean(f.baseline) if self.compared else None,
            # a share's n: the records behind it (for outcomes, the crimes of the cohort)
            "current_denominator": clean(f.current_denominator),
            "baseline_denominator": clean(f.baseline_denominator) if self.compared else None,
            "computed_change_pct": clean(f.change) if self.compared else None,
            "computed_value": clean(f.current),
            "change_unit": f.change_unit,
            "interval_pct": interval,
            "p_value": clean(f.p_value) if self.compared else None,
            "q_value": clean(f.q_value) if self.compared else None,
            "significant": f.significant if self.compared else None,
            "verdict": self.verdict,
            "notes": f.notes,
        }


@dataclass
class ClaimCheck:
    """A claim checked: the verdict from the headline source, the others beside it, and significance apart."""

    claim: Claim
    measure: Measure
    area: Area
    period: Period
    baseline: Period | None
    comparison: str | None  # the baseline in words
    verdict: str
    result: MeasureResult
    source: SourceCheck | None = None  # the headline source
    alternatives: list[SourceCheck] = field(default_factory=list)
    would_supply: list[dict] = field(default_factory=list)  # when unverifiable: which dataset would, and why not
    not_compared: list[dict] = field(default_factory=list)  # other sources of the measure without a figure here
    reason: str = ""  # why unverifiable
    level_plural: str = "areas"  # the area's level in running text ("boroughs"), from the plan's geography
    plain: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def compared(self) -> bool:
        return self.baseline is not None

    @property
    def sources_disagree(self) -> bool:
        if self.source is None:
            return False
        return any(a.verdict not in (self.verdict, UNVERIFIABLE) for a in self.alternatives)

    @property
    def significant(self) -> bool | None:
        if self.source is None or not self.compared:
            return None
        return self.source.figure.significant

    @property
    def change_unit(self) -> str:
        return "pp" if self.measure.statistic == "proportion" else "%"

    def to_dict(self) -> dict:
        c, s = self.claim, self.source
        f = s.figure if s else None
        compared = bool(s and self.compared)
        return {
            "id": c.id,
            "statement": c.statement,
            "claim_source": c.source,
            "measure": {"id": self.measure.id, "title": self.measure.title, "statistic": self.measure.statistic,
                        "unit": self.measure.unit},
            "area": self.area.to_dict(),
            "period": self.period.label,
            "period_text": self.period.describe(),
            "baseline_period": self.baseline.label if self.baseline else None,
            "compared_with": self.comparison,
            "kind": c.kind,
            "stated_change_pct": clean(c.stated_change_pct),
            "stated_value": clean(c.stated_value),
            "stated_as_written": c.stated_text,
            "tolerance": {"supported": 0.5 * 10 ** -decimals_of(c.stated_text),
                          "approximately": (f"{APPROXIMATE_POINTS:g} points" if c.kind == "change"
                                            or self.measure.statistic == "proportion"
                                            else f"{APPROXIMATE_RELATIVE:.0%} of the stated value")},
            "change_unit": self.change_unit,
            "verdict": self.verdict,
            "computed_change_pct": clean(f.change) if compared else None,
            "computed_value": clean(f.current) if f else None,
            "current": clean(f.current) if f else None,
            "baseline": clean(f.baseline) if compared else None,
            "current_denominator": clean(f.current_denominator) if f else None,
            "baseline_denominator": clean(f.baseline_denominator) if compared else None,
            "interval_pct": s.interval if s else None,
            "significant": self.significant,
            "significance": (f.verdict if compared else None) if f else None,
            "p_value": clean(f.p_value) if compared else None,
            "q_value": clean(f.q_value) if compared else None,
            "areas_tested": f.areas_tested if compared else None,
            "source": {"dataset": f.dataset, "label": f.label, "files": f.files} if f else None,
            "alternatives": [a.to_dict() for a in self.alternatives],
            "sources_disagree": self.sources_disagree,
            "unverifiable_reason": self.reason or None,
            "would_supply": self.would_supply,
            "not_compared": self.not_compared,
            "plain": self.plain,
            "notes": self.notes,
            "attribution": ATTRIBUTION,
        }


# --- checking ------------------------------------------------------------------------------------


def check_claims(engine, claims: ClaimsFile | Iterable[Claim]) -> list[ClaimCheck]:
    """Every claim checked against the engine's warehouse and plan (raises ClaimsError on a bad claim)."""
    if not isinstance(claims, ClaimsFile):
        claims = ClaimsFile(claims=list(claims))
    claims.check_against(engine.plan, engine.areas)
    return [check_claim(engine, c) for c in claims.claims]


def check_claim(engine, claim: Claim) -> ClaimCheck:
    """One claim: the figure from every source that supplies the measure, and the verdicts."""
    measure = engine.plan.measure(claim.measure)
    area = engine.areas.get(claim.area or engine.plan.area)
    period = parse_period(claim.period)
    notes: list[str] = []
    if claim.baseline is not None:
        result = engine.result(measure, area, period, claim.baseline)
        baseline, comparison = result.baseline, result.comparison
        if claim.kind == "value" and result.status != STATUS_OK:
            # A stated value can still be checked when only the baseline is out of reach.
            alone = engine.result(measure, area, period, period.label)
            if alone.status == STATUS_OK:
                notes.append(f"the value is checked, but not the change against {comparison}: {result.message}")
                result, baseline, comparison = alone, None, None
    else:
        # No baseline: the engine is asked for the period against itself; only its value is used.
        result = engine.result(measure, area, period, period.label)
        baseline, comparison = None, None
    check = ClaimCheck(claim, measure, area, period, baseline, comparison, UNVERIFIABLE, result, notes=notes,
                       level_plural=engine.geography.plural_short(area.level))
    relative = claim.kind == "value" and measure.statistic != "proportion"

    def source_check(figure: SourceFigure) -> SourceCheck:
        computed = figure.change if claim.kind == "change" else figure.current
        return SourceCheck(figure, computed, judge(computed, claim.stated, claim.stated_text, relative),
                           check.compared)

    if result.status == STATUS_OK:
        checks = [source_check(f) for f in [result.headline, *result.alternatives]]
        usable = [c for c in checks if c.verdict != UNVERIFIABLE]
        if usable:
            # The engine's headline, unless it has no figure for this area (e.g. no count in either period).
            check.source = usable[0]
            check.alternatives = [c for c in checks if c is not check.source]
            check.verdict = check.source.verdict
            if check.source is not checks[0]:
                check.notes.append(f"the headline source gives no figure here: {_no_figure_reason(checks, claim, area)}")
            check.notes += list(check.source.figure.notes)
        else:
            check.reason = _no_figure_reason(checks, claim, area)
            check.would_supply = [{"dataset": c.figure.dataset, "label": c.figure.label, "reason": "no figure",
                                   "message": check.reason} for c in checks]
        check.not_compared = _not_compared(engine, measure, area, period, result)
    else:
        check.would_supply = _would_supply(measure, area, result)
        check.reason = _unverifiable_reason(measure, area, result, check.would_supply)
    check.plain = _plain(check)
    return check


def _no_figure_reason(checks: list[SourceCheck], claim: Claim, area: Area) -> str:
    f = checks[0].figure
    if claim.kind == "change" and f.current == 0 and f.baseline == 0:
        return f"{f.label} records none in either period in {area.name}, so there is no change to measure"
    if claim.kind == "change" and f.baseline == 0:
        return f"{f.label} records none in the baseline period in {area.name}, so a percentage change has no meaning"
    return f"{f.label} has no figure for {area.name}"


def _unverifiable_reason(measure: Measure, area: Area, result: MeasureResult, would: list[dict]) -> str:
    incomplete = [w for w in would if w["reason"] in (STATUS_INCOMPLETE, STATUS_NOT_RECORDED, STATUS_BASELINE_INCOMPLETE)]
    missing = [w for w in would if w["reason"] == STATUS_MISSING]
    absent = [w for w in would if w["reason"] == Status.SOURCE_NOT_LOADED]
    if incomplete:  # never a verdict from an incomplete period: name the months and why
        return f"{incomplete[0]['reason']}: " + "; ".join(f"{w['label']}: {w['message']}" for w in incomplete)
    if missing:
        text = "the loaded data lack months it needs: " + "; ".join(w["message"] for w in missing)
        if absent:
            text += "; " + "; ".join(_not_loaded_words(w) for w in absent)
        return text
    if absent:
        return "no loaded data supplies this measure; " + "; ".join(_not_loaded_words(w) for w in absent)
    return result.message


def _not_loaded_words(w: dict) -> str:
    details = [w["dataset"]] + [w[k] for k in ("publisher", "landing_page") if w.get(k)]
    return f"{w['label']} ({', '.join(details)}) would supply it"


def _would_supply(measure: Measure, area: Area, result: MeasureResult) -> list[dict]:
    """For an unverifiable claim: each dataset of the measure that would supply it, and why it does not."""
    out = []
    for w in result.would_supply:
        out.append({"dataset": w["dataset"], "label": w["label"], "reason": Status.SOURCE_NOT_LOADED, "message": w["message"],
                    "publisher": w.get("publisher"), "landing_page": w.get("landing_page")})
    gaps = ([result.headline] if result.status == STATUS_BASELINE_INCOMPLETE and result.headline else []) + [
        *result.alternatives]  # sources with months missing (a period complete but its baseline not, too)
    for gap in gaps:
        if gap.status != STATUS_OK:
            out.append({"dataset": gap.dataset, "label": gap.label, "reason": gap.status, "message": gap.message,
                        "missing_months": gap.missing})
    if not out:
        levels = ", ".join(measure.levels)
        for source in measure.sources:
            out.append({"dataset": source.dataset, "label": source.label or source.dataset,
                        "reason": "not at this level",
                        "message": f"{source.dataset} does not give {measure.title} at {area.level} level "
                                   f"(the measure is published for: {levels})"})
    return out


def _not_compared(engine, measure: Measure, area: Area, period: Period, result: MeasureResult) -> list[dict]:
    """The measure's other sources that give no figure here, and why (shown, never silently dropped)."""
    if area.level not in measure.levels:
        return []
    figures = engine.evaluate(measure, area.level, period, result.baseline)
    return [{"dataset": lf.source.dataset, "label": lf.label, "status": lf.status, "message": lf.message}
            for lf in figures if lf.status != STATUS_OK]


# --- in words ------------------------------------------------------------------------------------


def _signed(value: float | None, unit: str, decimals: int = 0) -> str:
    return signed(value, unit, decimals, "no upper limit")


def _count(value: float | None, proportion: bool = False) -> str:
    return number(value, "proportion" if proportion else None)


def _title(measure: Measure) -> str:
    t = measure.title
    return t[0].lower() + t[1:] if len(t) > 1 and not t[1].isupper() else t


def _stated_words(check: ClaimCheck) -> str:
    c, m = check.claim, check.measure
    where = f"{check.area.name}, {check.period.describe()}" + (f", against {check.comparison}" if check.comparison else "")
    text = _number_text(c.stated_text).lstrip("+-")
    if c.kind == "change":
        size = f"{text} percentage points" if m.statistic == "proportion" else f"{text}%"
        direction = "fell" if c.stated < 0 else "rose" if c.stated > 0 else "was unchanged"
        return f"The statement says {_title(m)} {direction}{' ' + size if c.stated else ''} ({where})"
    value = f"{text}%" if m.statistic == "proportion" else f"{_as_written(c.stated_text)} {m.unit}"
    return f"The statement gives {_title(m)} as {value} ({where})"


def _as_written(text: str) -> str:
    """A stated value as written, with thousands separators: '1217' → '1,217', '12.50' → '12.50'."""
    t = _number_text(text)
    try:
        d = Decimal(t)
    except InvalidOperation:
        return text
    places = decimals_of(t)
    return f"{d:,.{places}f}".replace("-", "−")


def _plain(check: ClaimCheck) -> str:
    """One paragraph a journalist can use: what was said, what the data show, the verdict, and whether it is noise."""
    said = _stated_words(check)
    if check.verdict == UNVERIFIABLE:
        return f"{said}; crimeplan cannot check it: {check.reason}."
    c, m, s = check.claim, check.measure, check.source
    f = s.figure
    unit = check.change_unit
    proportion = m.statistic == "proportion"
    if c.kind == "change":
        shows = f"{f.label} shows {_signed(f.change, unit, 1)} ({_count(f.baseline, proportion)} → {_count(f.current, proportion)})"
    else:
        shows = f"{f.label} shows {_count(f.current, proportion)}"
    gap = abs(s.computed - c.stated)
    gap_words = (f"{gap:.1f} points" if c.kind == "change" or proportion
                 else f"{gap / abs(c.stated):.1%}" if c.stated else f"{gap:,.1f}")
    verdict = {
        SUPPORTED: "supported as stated",
        APPROXIMATELY_SUPPORTED: f"approximately supported (within {gap_words} of the figure stated, "
                                 "but it does not round to it)",
        NOT_SUPPORTED: f"not supported ({gap_words} away from the figure stated)",
    }[check.verdict]
    if check.verdict == NOT_SUPPORTED and c.kind == "change" and judge(s.computed, -c.stated, c.stated_text) != NOT_SUPPORTED:
        verdict += "; the figure matches with the opposite sign (a fall is written as a negative number)"
    text = f"{said}; {shows}: {verdict}"
    if check.compared:
        text += _significance_words(check, f, unit, c.kind == "value")
    text += "."
    disagreeing = [a for a in check.alternatives if a.verdict not in (check.verdict, UNVERIFIABLE)]
    if disagreeing:
        others = "; ".join(
            f"{a.figure.label} shows "
            + (_signed(a.computed, unit, 1) if c.kind == "change" else _count(a.computed, proportion))
            + f" ({a.verdict})" for a in disagreeing)
        text += f" The sources disagree: {others}."
    for note in check.notes:
        if note.startswith(("the value is checked", "the headline source")):
            text += f" Note: {note}."
    return text


def _significance_words(check: ClaimCheck, f: SourceFigure, unit: str, value_claim: bool) -> str:
    change = f.change
    if change is None:
        return ""
    movement = "fall" if change < 0 else "rise" if change > 0 else "change"
    interval = ""
    if f.low is not None or f.high is not None:
        interval = (f" ({'approximate ' if f.interval_approximate else ''}95% interval {_signed(f.low, unit)} to "
                    f"{_signed(f.high, unit)})")
    lead = ""
    if value_claim:
        lead = f"; against {check.comparison} ({_count(f.baseline, unit == 'pp')}) that is {_signed(change, unit, 1)}"
    if f.verdict == Verdict.TOO_FEW:  # shown with its n, never tested (measures/engine.py)
        n = (f" ({_count(f.baseline_denominator, False)} records in the baseline, {_count(f.current_denominator, False)} now)"
             if f.current_denominator is not None and f.baseline_denominator is not None else "")
        return f"{lead}; too few records{n} to test whether the {movement} is more than chance"
    if f.verdict == Verdict.OVERLAP:
        return (f"{lead}; the two survey estimates pool some of the same interviews, so whether the {movement} is "
                "more than sampling error cannot be tested")
    if f.significant is None:
        return (f"{lead}; the survey's sample size is not published, so whether the {movement} is more than "
                "sampling error cannot be tested")
    several = f.areas_tested > 1  # below the plan's whole area, tested across its level
    supported = check.verdict in (SUPPORTED, APPROXIMATELY_SUPPORTED)
    if f.significant:
        tail = f"more than chance would explain{interval}"
        if several:
            tail += (f", even allowing for {f.areas_tested:,} {check.level_plural} tested at once "
                     "(false discovery rate control)")
        return f"{lead}, and the {movement} is {tail}" if not value_claim else f"{lead}, a {movement} {tail}"
    joint = "but" if supported else "and"
    if several and f.p_value is not None and f.p_value < 0.05:
        why = (f"is not significant once allowing for {f.areas_tested:,} {check.level_plural} tested at once "
               f"(false discovery rate control; on its own p = {f.p_value:.2g}; "
               f"{'approximate ' if f.interval_approximate else ''}95% interval "
               f"{_signed(f.low, unit)} to {_signed(f.high, unit)})")
    else:
        why = f"is within the range expected from chance{interval}"
    if value_claim:
        return f"{lead}, a {movement} that {why}, so not evidence of a real change"
    return f", {joint} the {movement} {why}, so it is not evidence of a real change"


__all__ = [
    "APPROXIMATELY_SUPPORTED", "Claim", "ClaimCheck", "ClaimsError", "ClaimsFile", "NOT_SUPPORTED", "SUPPORTED",
    "SourceCheck", "UNVERIFIABLE", "VERDICTS", "check_claim", "check_claims", "claims_beside", "claims_file_for",
    "decimals_of", "judge", "load_claims", "parse_claims",
]
