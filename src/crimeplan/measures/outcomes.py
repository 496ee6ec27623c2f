"""What happens after a crime is recorded: an area's outcome mix at equal follow-up, and forces compared.

Two questions, two forms of data.police.uk's outcomes:

- :func:`outcome_mix` — of the crimes recorded in an area in a period (a cohort), the
  share reaching each outcome group within N months of the crime's month, from the
  outcomes files (each outcome with the month it was recorded, linked by Crime ID:
  ``crime_outcome``). A cohort without N months of outcomes loaded is not final.
- :func:`forces_funnel` — every force of one street-file edition by the share of its
  crimes whose *last* outcome (``Last outcome category``, as of that edition) is in a
  group, on a funnel plot (``stats.funnel``). The street files carry no outcome dates:
  all forces' crimes of the same months from the same edition have had the same time,
  which is what makes them comparable; recent months' crimes have had less, so the
  figure is that edition's, never a final one.

The groups are the catalogue's (``groups`` of the outcome fields), never Python's.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from crimeplan import ATTRIBUTION
from crimeplan.catalogue import load_catalogue
from crimeplan.errors import CrimeplanError
from crimeplan.measures.periods import Latest, Period, month_index, month_of
from crimeplan.plan.schema import DEFAULT_FOLLOW_UP_MONTHS, OutcomeSource
from crimeplan.stats.aalen_johansen import aalen_johansen
from crimeplan.stats.funnel import funnel
from crimeplan.stats.survey import wilson_interval

OUTCOMES = "police_uk_outcomes"
STREET = "police_uk_street"
STATUS_UNKNOWN = "status unavailable"  # the catalogue's group for 'Status update unavailable': not an outcome
OPEN = "under investigation"  # a status, not an outcome: a crime under investigation is still open
NOT_OUTCOMES = (STATUS_UNKNOWN, OPEN)
MAX_UNKNOWN_SHARE = 0.10  # a force whose last outcome is unknown for more of its crimes is left off the funnel
CURVE_POINTS = 60
FUNNEL_METHOD = (
    "Funnel plot (Spiegelhalter 2005, Statistics in Medicine 24:1185-1202): each force's share against its number of "
    "crimes, with exact binomial 95% and 99.8% limits around the share of all the forces' crimes together (the "
    "binomial quantiles, interpolated between whole counts). A force outside the 99.8% limits differs from the "
    "others by more than chance would give 1 time in 500; the limits say nothing of why (recording practice, crime "
    "mix, or investigation).")


class OutcomesError(CrimeplanError):
    """An outcomes question that cannot be answered as asked (an unknown group, crime type or edition)."""


def outcome_groups(dataset: str = OUTCOMES, field: str = "outcome_type") -> dict[str, tuple[str, ...]]:
    """The catalogue's outcome groups, in its order: group -> the published categories."""
    return dict(load_catalogue().dataset(dataset).groups[field])


# --- an area's cohort ------------------------------------------------------------------------------

def longest_follow_up(compiler, force: str | None) -> int | None:
    """The most months of follow-up the loaded outcomes files of ``force`` allow, where a file declares a limit
    (catalogue ``outcome_follow_up_months``); None when none does (as far as the loaded months reach)."""
    limits = [reach for reach, _ in compiler.outcome_reach(OUTCOMES, [force] if force else None).values()]
    finite = [int(x) for x in limits if x != float("inf")]
    return min(finite) if finite else None


def outcome_mix(engine, area, period: Period, crime_types: list[str] | None = None, within: int | None = None,
                force: str | None = None) -> dict:
    """Of ``area``'s crimes of ``crime_types`` recorded in ``period``, the share reaching each outcome group within
    ``within`` months of the crime's month, with Wilson 95% intervals; 'not final' when the follow-up is not loaded.

    Defaults: the plan's force, every crime type it has outcomes for, and the standard follow-up
    (DEFAULT_FOLLOW_UP_MONTHS) or the most the loaded files allow when that is less.
    """
    from crimeplan.measures.engine import Engine

    force, crime_types, within, limit = _cohort(engine, crime_types, within, force)
    groups = outcome_groups()
    out = {"area": area.to_dict(), "period": period.label, "period_text": period.describe(),
           "crime_types": crime_types, "force": force, "within_months": within, "longest_follow_up": limit,
           "groups": [], "attribution": ATTRIBUTION, "follow_up": _follow_up_text(within)}

    def cube_of(names: list[str]):
        return _cohort_cube(engine, names, crime_types, force, within, area.level)

    outcomes = [g for g in groups if g not in NOT_OUTCOMES]
    any_outcome = cube_of(outcomes)
    period = _concrete(engine, period, any_outcome)
    out.update(period=period.label, period_text=period.describe())
    missing = any_outcome.missing(period)
    out["files"] = engine.compiler.provenance(OUTCOMES, any_outcome.series, period.start, period.end)
    if missing:
        status, message = Engine._gap(any_outcome, "data.police.uk outcomes", any_outcome.span(), missing)
        not_final = any("not final" in any_outcome.gaps.get(m, "") for m in missing)
        out.update(status="not final" if not_final else status, message=message, crimes=None)
        return out
    i = any_outcome.index().get(area.code)
    crimes = float(any_outcome.totals([period], "second")[0][i]) if i is not None else float("nan")
    if np.isnan(crimes):  # the force's files do not cover the area: unknown, never 0
        out.update(status="not covered", message=f"{area.name}: {_not_covered(engine, area, force)}", crimes=None)
        return out
    if not crimes:
        out.update(status="no crimes", message=f"no {', '.join(crime_types)} with a Crime ID recorded in "
                                               f"{area.name} in {period.describe()}", crimes=0)
        return out
    rows = [(g, cube_of([g])) for g in outcomes]
    reached_any = float(any_outcome.totals([period])[0][i])
    rows_out = [_share_row(g, float(c.totals([period])[0][i]), crimes) for g, c in rows]
    rows_out.append(_share_row(f"no outcome within {within} months" if within else "no outcome in the month recorded",
                               crimes - reached_any, crimes))
    out.update(status="ok", message="", crimes=crimes, groups=rows_out,
               note="a crime can reach more than one group (closed with no suspect, then charged when one is "
                    "found): the shares need not add up to 100%",
               time_to_outcome=time_to_outcome(engine, area, period, crime_types, force))
    return out


AJ_METHOD = ("Aalen-Johansen cumulative incidence (Aalen and Johansen 1978, Scandinavian Journal of Statistics "
             "5:141-150): the share of the crimes reaching each outcome group first by each month since the crime's "
             "month, the other groups competing and crimes still open at the end of their loaded follow-up censored; "
             "95% limits from Greenwood's variance on the log(-log) scale; a crime reaching two groups in the same "
             "month counts in the first of the catalogue's order (charged or summonsed first)")


def time_to_outcome(engine, area, period: Period, crime_types: list[str], force: str | None) -> dict:
    """The cumulative share of ``area``'s crimes of ``period`` reaching each outcome group first, by months since the
    crime (Aalen–Johansen), each crime followed as far as the loaded outcomes reach for its month."""
    groups = [g for g in outcome_groups() if g not in NOT_OUTCOMES]
    months, first = _first_outcomes(engine, area.level, period, crime_types, force).get(
        area.code, (np.zeros(0, np.int64), np.zeros(0)))
    series = [force] if force else None
    follow = engine.compiler.follow_up_months(OUTCOMES, series, sorted(set(months.tolist())))
    reach = np.array([follow[m] for m in months], dtype=np.int64) if months.size else np.zeros(0, np.int64)
    followed = reach >= 0
    out = {"method": AJ_METHOD, "groups": [], "crimes": int(followed.sum()), "not_followed": int((~followed).sum())}
    if not followed.any():
        return out | {"months": [], "at_risk": []}
    reach, first = reach[followed], first[followed]
    lag = np.where(np.isnan(first), -1, first // 100).astype(np.int64)
    rank = np.where(np.isnan(first), -1, first % 100).astype(np.int64)
    happened = (lag >= 0) & (lag <= reach)
    width = int(reach.max()) + 1
    events = np.zeros((len(groups), width))
    np.add.at(events, (rank[happened], lag[happened]), 1)
    censored = np.bincount(reach[~happened], minlength=width).astype(float)
    ci = aalen_johansen(events, censored)
    curves = []
    for k, g in enumerate(groups):
        curves.append({"group": g, "incidence": (ci.incidence[k] * 100).tolist(), "low": (ci.low[k] * 100).tolist(),
                       "high": (ci.high[k] * 100).tolist()})
    charged = curves[0]["incidence"] if groups[0] == "charged or summonsed" else None
    median = None
    if charged and charged[-1] > 0:  # half of the charges within the follow-up came by this month
        median = next(t for t, v in enumerate(charged) if v >= charged[-1] / 2)
    return out | {"months": ci.times.tolist(), "at_risk": ci.at_risk.tolist(), "groups": curves,
                  "open": (ci.survival * 100).tolist(), "median_months_to_charge": median,
                  "median_note": ("the month by which half of the charges reached within the follow-up had come "
                                  "(a charge after the follow-up is not seen)")}


def _first_outcomes(engine, level: str, period: Period, crime_types: list[str], force: str | None) -> dict:
    """Each area of ``level`` -> (each of its crimes' month index, its first outcome as lag * 100 + group rank, NaN
    for none yet): read for the whole level in one query, once per period (every area page asks for its own)."""
    def read() -> dict:
        groups = [g for g in outcome_groups() if g not in NOT_OUTCOMES]
        members = outcome_groups()
        types = [t for g in groups for t in members[g]]
        ranks = [k for k, g in enumerate(groups) for _ in members[g]]
        where, params = engine.compiler.rollup_filter(level)
        rows = engine.con.execute(
            f"""SELECT r.code, (year(min(c.month)) * 12 + month(min(c.month)) - 1)::INTEGER,
                       min(greatest(c.lag_months, 0) * 100 + list_extract(?, list_position(?, c.outcome_type)))
                           FILTER (WHERE c.outcome_type IS NOT NULL AND list_contains(?, c.outcome_type))
                FROM crime_outcome c
                JOIN area_rollup r ON r.unit_level = c.unit_level AND r.unit_vintage = c.unit_vintage
                                  AND r.unit_code = c.unit_code
                WHERE {where} AND (? IS NULL OR c.reported_by = ?) AND list_contains(?, c.crime_type)
                  AND c.month BETWEEN ? AND ?
                GROUP BY r.code, c.crime_id ORDER BY r.code""",
            [ranks, types, types, *params, force, force, crime_types, period.start, period.end],
        ).fetchnumpy()
        codes, months, first = (rows[name] for name in rows)
        codes = np.asarray(codes, dtype=object)
        months = np.asarray(months, dtype=np.int64)
        first = np.ma.filled(np.ma.asarray(first, dtype=float), np.nan)
        names, starts = np.unique(codes, return_index=True)  # the rows come sorted by code
        ends = [*starts[1:], codes.size]
        return {name: (months[a:b], first[a:b]) for name, a, b in zip(names, starts, ends)}

    return engine.compiler.once(("first_outcomes", level, period.label, tuple(crime_types), force), read)


_SOURCES: dict[tuple, OutcomeSource] = {}


def _concrete(engine, period: Period | Latest, cohort) -> Period:
    """A relative period (latest) as the latest months whose crimes have had the whole follow-up (the cohort's
    last complete month): outcomes compared at equal follow-up, never on crimes too recent to have any."""
    if not isinstance(period, Latest):
        return period
    span = cohort.span()
    return engine.resolve_at(period, span[1] if span else None)


def _cohort(engine, crime_types: list[str] | None, within: int | None, force: str | None):
    """A cohort's force, crime types and follow-up, defaults filled in: the plan's force, every crime type it has
    outcomes for, the standard follow-up or the most the loaded files allow when that is less; unknown types refused.
    Returns (force, crime types, within, the longest follow-up the files allow or None)."""
    force = force or engine.plan.force
    known = engine.compiler.once(("outcome_crime_types", force), lambda: outcome_crime_types(engine.con, force))
    crime_types = list(crime_types) if crime_types else sorted(known)
    limit = longest_follow_up(engine.compiler, force)
    if within is None:
        within = DEFAULT_FOLLOW_UP_MONTHS if limit is None else min(DEFAULT_FOLLOW_UP_MONTHS, limit)
    unknown = [t for t in crime_types if t not in known]
    if unknown:
        raise OutcomesError(f"no crimes of type {', '.join(map(repr, unknown))} with outcomes"
                            f"{f' reported by {force}' if force else ''}; types with outcomes: "
                            f"{', '.join(sorted(known)) or 'none loaded'}")
    return force, crime_types, within, limit


def _cohort_cube(engine, names: list[str], crime_types: list[str], force: str | None, within: int, level: str):
    """The cube of a level's crimes reaching any of the outcome groups ``names`` within ``within`` months (its
    second: the crimes). One source per question, so the engine builds each level's cube once."""
    key = (tuple(names), tuple(crime_types), force, within)
    if key not in _SOURCES:
        _SOURCES[key] = OutcomeSource(dataset=OUTCOMES, outcome_groups=names, crime_types=crime_types,
                                      force=force, within_months=within)
    return engine.cube(_SOURCES[key], level, "proportion")


def _not_covered(engine, area, force: str | None) -> str:
    """Why an area has no cohort: another force polices it (the City of London), or the files hold none of it."""
    if area.code in engine.compiler.other_force_areas(area.level):
        names = " or ".join(o["name"] for o in engine.geography.other_forces)
        return f"policed by {names}, not {force}: the few crimes {force} records there are no cohort of it"
    return f"{force or 'no force'} publishes no crimes for it"


def _follow_up_text(within: int) -> str:
    return (f"crimes followed for {within} months: an outcome counts when it was recorded within {within} months of "
            f"the month the crime was recorded" if within else
            "crimes followed for the month they were recorded: an outcome counts when it was recorded in the same "
            "month as the crime")


def _share_row(group: str, reached: float, crimes: float) -> dict:
    interval = wilson_interval(reached / crimes, crimes)
    return {"group": group, "crimes": crimes, "reached": reached, "share": reached / crimes * 100,
            "low": interval.low * 100, "high": interval.high * 100}


def outcome_crime_types(con, force: str | None) -> set[str]:
    """The crime types with outcomes: any of their crimes linked to an outcome (an outcomes file cut down to some
    types, like the Met's burglary extract, leaves the others' crimes with none: their shares would read 0%)."""
    return {t for (t,) in con.execute(
        """SELECT DISTINCT crime_type FROM crime_outcome
           WHERE outcome_type IS NOT NULL AND (? IS NULL OR reported_by = ?)""", [force, force]).fetchall()}


# --- forces compared ---------------------------------------------------------------------------------

def street_editions(con) -> list[dict]:
    """The loaded street files with the forces and months each holds, most forces first."""
    rows = con.execute(
        """SELECT f.file_id, f.name, f.edition, f.sha256, count(DISTINCT s.reported_by), min(s.month), max(s.month)
           FROM street_crime s JOIN files f USING (file_id) WHERE s.dataset = ?
           GROUP BY ALL ORDER BY 5 DESC, f.edition DESC, f.name""", [STREET]).fetchall()
    return [{"file_id": r[0], "name": r[1], "edition": r[2], "sha256": r[3], "forces": r[4],
             "first": r[5].strftime("%Y-%m"), "last": r[6].strftime("%Y-%m")} for r in rows]


def forces_funnel(con, group: str = "no suspect identified", edition: str | None = None,
                  first: date | None = None, last: date | None = None, highlight: str | None = None) -> dict:
    """Every force of one street file, by the share of its crimes whose last outcome (as of the file's edition) is
    in ``group``, on a funnel plot. The months default to those every force of the file has."""
    groups = outcome_groups(STREET, "last_outcome_category")
    if group not in groups or group == STATUS_UNKNOWN:
        raise OutcomesError(f"{group!r} is not an outcome group; expected one of "
                            f"{', '.join(repr(g) for g in groups if g != STATUS_UNKNOWN)}")
    files = street_editions(con)
    if edition is not None:
        files = [f for f in files if f["edition"] == edition]
        if not files:
            raise OutcomesError(f"no street file of edition {edition!r} is loaded; editions: "
                                f"{', '.join(sorted({f['edition'] for f in street_editions(con)})) or 'none'}")
    if not files:
        raise OutcomesError("no data.police.uk street files are loaded")
    chosen = files[0]
    rows = con.execute(
        """SELECT reported_by, month,
                  count(*) FILTER (WHERE crime_id IS NOT NULL AND list_contains(?, last_outcome_category)),
                  count(*) FILTER (WHERE crime_id IS NOT NULL AND last_outcome_category IS NOT NULL
                                     AND NOT list_contains(?, last_outcome_category)),
                  count(*) FILTER (WHERE crime_id IS NOT NULL AND (last_outcome_category IS NULL
                                                                   OR list_contains(?, last_outcome_category))),
                  count(*) FILTER (WHERE crime_id IS NULL)
           FROM (SELECT * FROM street_crime WHERE file_id = ? AND dataset = ?
                 -- a row repeated (the same Crime ID, month and crime type) is one crime: its first row counts
                 QUALIFY crime_id IS NULL OR row_number() OVER (
                     PARTITION BY reported_by, month, crime_type, crime_id ORDER BY part_id, line) = 1)
           GROUP BY ALL""",
        [list(groups[group]), list(groups[STATUS_UNKNOWN]), list(groups[STATUS_UNKNOWN]), chosen["file_id"], STREET],
    ).fetchall()
    by_force: dict[str, dict[int, tuple[int, int, int]]] = {}
    without_id: dict[str, int] = {}
    for force, month, reached, known, unknown, no_id in rows:  # known: a last outcome given (reached among them)
        by_force.setdefault(force, {})[month_index(month)] = (reached, known, unknown)
        without_id[force] = without_id.get(force, 0) + no_id
    file_months = sorted({m for months in by_force.values() for m in months})
    common = _longest_run(set.intersection(*(set(m) for m in by_force.values())))
    lo = month_index(first) if first else (common[0] if common else file_months[0])
    hi = month_index(last) if last else (common[-1] if common else file_months[-1])
    if lo > hi or lo < file_months[0] or hi > file_months[-1]:
        raise OutcomesError(f"{chosen['name']} holds crimes of {chosen['first']} to {chosen['last']}; asked for "
                            f"{month_of(lo):%Y-%m} to {month_of(hi):%Y-%m}")
    wanted = list(range(lo, hi + 1))
    # The coverage model's verdict on each force's months: a partial month (half a month's crimes) would be judged.
    incomplete: dict[str, list[str]] = {}
    for force, period, status, reason in con.execute(
            """SELECT series, period, status, reason FROM coverage
               WHERE dataset = ? AND status <> 'complete' AND period BETWEEN ? AND ? ORDER BY period""",
            [STREET, month_of(lo), month_of(hi)]).fetchall():
        incomplete.setdefault(force, []).append(f"{period:%Y-%m} {status} ({reason})")
    compared, left_out = [], []
    for force in sorted(by_force):
        months = by_force[force]
        lacking = [m for m in wanted if m not in months]
        if lacking:
            left_out.append({"force": force, "reason": f"the file lacks its crimes of {_months(lacking)}: its cohort "
                                                       f"would not be the other forces'"})
            continue
        if force in incomplete:
            left_out.append({"force": force, "reason": "its months are not all complete: " + "; ".join(incomplete[force])})
            continue
        reached = sum(months[m][0] for m in wanted)
        known = sum(months[m][1] for m in wanted)
        unknown = sum(months[m][2] for m in wanted)
        if known + unknown == 0:
            left_out.append({"force": force, "reason": f"none of its {without_id[force]:,} records in the file has "
                                                       f"a Crime ID (anti-social behaviour has none; crimes should), "
                                                       f"so none can carry an outcome"})
            continue
        if known == 0 or unknown > MAX_UNKNOWN_SHARE * (known + unknown):
            left_out.append({"force": force, "reason": f"no outcome is known for {unknown:,} of its "
                                                       f"{known + unknown:,} crimes ({unknown / (known + unknown):.0%}: "
                                                       f"no last outcome given, or 'Status update unavailable'), "
                                                       f"more than the {MAX_UNKNOWN_SHARE:.0%} a share of the known "
                                                       f"ones can stand for"})
            continue
        compared.append({"force": force, "crimes": known, "reached": reached, "unknown": unknown})
    if len(compared) < 2:
        raise OutcomesError(f"fewer than two forces of {chosen['name']} can be compared in {month_of(lo):%Y-%m} to "
                            f"{month_of(hi):%Y-%m}: " + "; ".join(f"{x['force']}: {x['reason']}" for x in left_out))
    for c in compared:
        c["highlighted"] = c["force"] == highlight
    placed = _place(compared)
    return {
        "group": group, "categories": list(groups[group]), "dataset": STREET,
        "file": {k: chosen[k] for k in ("name", "edition", "sha256")},
        "first": f"{month_of(lo):%Y-%m}", "last": f"{month_of(hi):%Y-%m}", **placed, "highlight": highlight,
        "forces": sorted(compared, key=lambda c: -c["share"]), "left_out": left_out,
        "method": FUNNEL_METHOD, "attribution": ATTRIBUTION,
        "notes": [
            f"the last outcome of each crime as of the {chosen['edition']} edition of the street files: crimes of "
            f"recent months have had less time to reach an outcome, so this is that edition's figure, not a final "
            f"one; every force's crimes are of the same months ({month_of(lo):%Y-%m} to {month_of(hi):%Y-%m}) from "
            f"the same edition, so the forces compare at equal follow-up",
            "the denominator is each force's crimes with a Crime ID and a known last outcome: crimes with no last "
            "outcome given or 'Status update unavailable' are counted apart (unknown), never as outcomes; a force "
            f"whose outcome is unknown for more than {MAX_UNKNOWN_SHARE:.0%} of its crimes is left out; a crime "
            "listed twice (the same Crime ID, month and crime type) counts once",
            _dispersion_text(placed, "forces"),
        ],
    }


AREA_MIN_CRIMES = 10  # an area with fewer crimes in the cohort is left off its level's funnel: its share says little
AREA_FUNNEL_GROUP = "charged or summonsed"


def with_highlight(funnel: dict, key: str | None) -> dict:
    """A funnel of areas with ``key``'s area marked: a copy, so that the funnel is computed once per level and
    period, not once per area page."""
    return funnel | {"highlight": key, "areas": [a | {"highlighted": a["key"] == key} for a in funnel["areas"]]}


def areas_funnel(engine, level: str, period: Period, group: str = AREA_FUNNEL_GROUP,
                 crime_types: list[str] | None = None, within: int | None = None, force: str | None = None,
                 highlight: str | None = None) -> dict:
    """Every area of ``level`` by the share of its crimes of ``period`` reaching ``group`` within ``within`` months,
    on a funnel plot, ``highlight`` (an area's key) marked. Every area's crimes are of the same months and followed
    for the same time, so they compare at equal follow-up; a period without that follow-up loaded is 'not final'
    and no area is placed."""
    return with_highlight(_areas_funnel(engine, level, period, group, crime_types, within, force), highlight)


def _areas_funnel(engine, level: str, period: Period, group: str, crime_types: list[str] | None,
                  within: int | None, force: str | None) -> dict:
    from crimeplan.measures.engine import Engine

    outcomes = [g for g in outcome_groups() if g not in NOT_OUTCOMES]
    if group not in outcomes:
        raise OutcomesError(f"{group!r} is not an outcome group; expected one of "
                            f"{', '.join(repr(g) for g in outcomes)}")
    force, crime_types, within, limit = _cohort(engine, crime_types, within, force)
    areas = engine.areas.level(level)
    any_outcome = _cohort_cube(engine, outcomes, crime_types, force, within, level)
    period = _concrete(engine, period, any_outcome)
    out = {"group": group, "categories": list(outcome_groups()[group]), "dataset": OUTCOMES, "level": level,
           "level_name": engine.geography.plural(level), "period": period.label, "period_text": period.describe(),
           "crime_types": crime_types, "force": force, "within_months": within, "longest_follow_up": limit,
           "follow_up": _follow_up_text(within), "highlight": None, "areas": [], "left_out": [],
           "files": engine.compiler.provenance(OUTCOMES, any_outcome.series, period.start, period.end),
           "method": FUNNEL_METHOD.replace("force", "area"), "attribution": ATTRIBUTION}
    missing = any_outcome.missing(period)
    if missing:
        status, message = Engine._gap(any_outcome, "data.police.uk outcomes", any_outcome.span(), missing)
        not_final = any("not final" in any_outcome.gaps.get(m, "") for m in missing)
        return out | {"status": "not final" if not_final else status, "message": message}
    index = any_outcome.index()
    crimes = any_outcome.totals([period], "second")[0]
    reached = _cohort_cube(engine, [group], crime_types, force, within, level).totals([period])[0]
    compared, left_out = [], []
    for area in areas:
        i = index.get(area.code)
        n = float(crimes[i]) if i is not None else float("nan")
        row = {"key": area.key, "code": area.code, "name": area.name, "parent": area.parent_name}
        if np.isnan(n):  # the force's files do not cover the area: unknown, never 0
            left_out.append(row | {"reason": _not_covered(engine, area, force)})
        elif n < AREA_MIN_CRIMES:
            left_out.append(row | {"crimes": n, "reason": f"{n:,.0f} crimes, fewer than the "
                                                          f"{AREA_MIN_CRIMES} a share needs to say anything"})
        else:
            compared.append(row | {"crimes": n, "reached": float(reached[i]), "highlighted": False})
    if len(compared) < 2 or not 0 < sum(c["reached"] for c in compared) < sum(c["crimes"] for c in compared):
        return out | {"status": "too few", "left_out": left_out,
                      "message": f"{len(compared)} {out['level_name']} with {AREA_MIN_CRIMES} crimes or more"
                                 f"{'' if len(compared) < 2 else f', and every one or none {group}'}: no funnel"}
    placed = _place(compared)
    return out | placed | {
        "status": "ok", "message": "", "areas": sorted(compared, key=lambda c: -c["share"]), "left_out": left_out,
        "notes": [
            f"the crimes ({', '.join(crime_types)}) recorded in each of the {out['level_name']} in "
            f"{period.describe()}: "
            f"{out['follow_up']}; every area's crimes are of the same months and followed for the same time, so "
            f"they compare at equal follow-up",
            f"the denominator is each area's crimes with a Crime ID; an area with fewer than {AREA_MIN_CRIMES} is "
            f"left out, and so is one the force's files do not cover",
            _dispersion_text(placed, out["level_name"]),
        ]}


def _place(rows: list[dict]) -> dict:
    """Each row's share, z-score, limits at its n and position on the funnel of all the rows (their ``reached`` of
    their ``crimes``), written into the rows; returns the target, the overdispersion and the funnel's curve."""
    f = funnel([r["reached"] for r in rows], [r["crimes"] for r in rows])
    for k, r in enumerate(rows):
        r.update(share=f.share[k] * 100, z=float(f.z[k]), position=f.position[k],
                 position_overdispersed=f.position_overdispersed[k],
                 limits={name: [float(low[k] * 100), float(high[k] * 100)] for name, (low, high) in f.limits.items()})
    sizes = [r["crimes"] for r in rows]
    grid = np.unique(np.geomspace(max(1, min(sizes) / 2), max(sizes) * 1.1, CURVE_POINTS).round())
    return {"target": f.target * 100, "phi": f.phi, "overdispersion_p": f.overdispersion_p,
            "overdispersed": bool(f.overdispersion_p < 0.05),
            "curve": {"n": grid.tolist(), **{name: {"low": (low * 100).tolist(), "high": (high * 100).tolist()}
                                             for name, (low, high) in f.curve(grid).items()}}}


def _dispersion_text(placed: dict, what: str) -> str:
    if not placed["overdispersed"]:
        return f"the {what} vary no more than the binomial limits allow (overdispersion φ = {placed['phi']:.2f})"
    p = placed["overdispersion_p"]
    return (f"the {what} vary more than the binomial limits allow (overdispersion φ = {placed['phi']:.1f}, p "
            f"{'< 0.001' if p < 0.001 else f'= {p:.3f}'}): many lie outside them, and each one's position is also "
            f"given against the limits widened by √φ (Spiegelhalter's multiplicative overdispersion), fairer to "
            f"{what} that differ for reasons of recording")


def _longest_run(months: set[int]) -> list[int]:
    """The longest run of consecutive months (the latest of equal runs): a cohort has no holes."""
    best: list[int] = []
    run: list[int] = []
    for m in sorted(months):
        run = run + [m] if run and m == run[-1] + 1 else [m]
        if len(run) >= len(best):
            best = run
    return best


def _months(months: list[int]) -> str:
    from crimeplan.present import months_text

    return months_text([month_of(m) for m in months])
