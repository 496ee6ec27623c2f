"""The one façade every output asks: the command line, the server, the static site.

    >>> from crimeplan.core import Crimeplan
    >>> core = Crimeplan.open("crimeplan.duckdb", "merseyside")            # doctest: +SKIP
    >>> p = core.period("rolling:2021-06"); b = core.baseline(p, "pre-pandemic")   # doctest: +SKIP
    >>> core.scorecard(core.area("Knowsley").key, p, b)["area"]["code"]    # doctest: +SKIP
    'la-knowsley'

One Engine per process, calls serialised, pure calls memoised.

A DuckDB connection must not be used by two threads at once, so every call into
the engine takes one lock. Between loads the data does not change, so the
calls that are pure functions of their parameters (scorecard, series, level
figures, trajectories, boundaries, crime mix, claims) are kept in a bounded LRU
cache: a repeated request costs a dictionary look-up, not a query. A load while
serving swaps a new warehouse file in; :meth:`Crimeplan.refresh` (the server
calls it before each request) reopens it and drops every cached answer.

Every method validates its inputs and raises :class:`NotFound` (unknown area or
measure: HTTP 404) or :class:`BadParameter` (malformed period, level, baseline:
HTTP 422), each with a message a user can act on. Inputs only ever reach SQL as
bound parameters, through the engine.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import warnings
from collections import OrderedDict
from functools import wraps
from pathlib import Path
from typing import Callable, NamedTuple

from crimeplan import ATTRIBUTION, disclosure
from crimeplan.config import db_path
from crimeplan.errors import CrimeplanError
from crimeplan.measures import Engine, UnknownArea
from crimeplan.measures.areas import Area
from crimeplan.measures.concentration import RANK_BY, concentration, priorities
from crimeplan.measures.edition import data_edition
from crimeplan.measures.fairness import DATASET as FAIRNESS_DATASET, plan_force as fairness_force, area_fairness, fairness, strip_counts
from crimeplan.measures.forces import ForcesError, forces_compared, plan_force
from crimeplan.measures.hotspots import hotspots
from crimeplan.measures.levels import (
    crime_mixes_latest, latest_twelve_months, level_table, survey_measures, trajectories,
)
from crimeplan.measures.maps import Boundaries
from crimeplan.measures.outcomes import (
    AREA_FUNNEL_GROUP, STATUS_UNKNOWN, STREET, OutcomesError, areas_funnel, forces_funnel, outcome_crime_types, outcome_groups, outcome_mix,
    with_highlight,
    street_editions,
)
from crimeplan.measures.periods import PeriodError, parse_period
from crimeplan.plan import load_plan
from crimeplan.plan.schema import Measure, Plan
from crimeplan.present import a_or_an
from crimeplan.report import EXPORT_FORMATS, export_file, export_rows

CACHE_SIZE = 1024  # results; the level evaluations behind them are cached by the engine
SERIES_BY = ("month", "quarter", "year", "fy")
# How a map can be coloured: the change, the value now, or Getis–Ord Gi* hot spots (levels with many areas).
MAP_COLOURS = {"change": "the change", "current": "the value now", "hotspots": "hot spots (Getis–Ord Gi*)"}


class NotFound(CrimeplanError):
    """An area or measure that does not exist (HTTP 404)."""


class WarehouseBusy(CrimeplanError):
    """The warehouse file is held by a load writing in place (HTTP 503: try again)."""


class BadParameter(CrimeplanError):
    """A parameter that cannot be understood (HTTP 422)."""


class ShippedClaims(NamedTuple):
    """The example claims shipped with the plan: the file's text and name, and the claims checked."""

    text: str
    name: str
    checks: list[dict]


def dumps(data) -> bytes:
    """JSON as the API and the static site write it: compact UTF-8, no NaN."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False, ensure_ascii=False).encode("utf-8")


def card_beside(card: dict, measure_id: str) -> bool:
    """Whether a scorecard's measure carries the comparison with the plan's baseline beside its own."""
    return any(m["id"] == measure_id and m.get("beside") is not None for p in card["priorities"] for m in p["measures"])


def _asked(compute, *args):
    """``compute(*args)``, its errors as the façade's: a question the data cannot answer is a BadParameter (422)."""
    try:
        return compute(*args)
    except NotFound:
        raise
    except CrimeplanError as exc:
        raise BadParameter(str(exc)) from None


def memoised(method):
    """Cache a Crimeplan method's result by its (already normalised) arguments.

    A hit takes only the cache's lock; a miss computes under the engine lock (re-entrant:
    memoised methods call each other), checking again first in case another thread
    computed the same while this one waited.
    """
    name = method.__name__

    @wraps(method)
    def wrapper(self: "Crimeplan", *args):
        key = (name, *args)
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        with self.lock:
            with self._cache_lock:
                if key in self._cache:
                    return self._cache[key]
            value = method(self, *args)
            with self._cache_lock:
                self._cache[key] = value
                if len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
            return value

    return wrapper


def _file_identity(path: Path | None) -> tuple | None:
    """Which file is at ``path`` and its state: a load swapping in a copy changes the inode, one in place the
    modification time."""
    try:
        st = os.stat(path) if path is not None else None
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size) if st else None


class Crimeplan:
    """What the server and the static site ask of the engine, validated and cached."""

    def __init__(self, engine: Engine, plan_file: str | Path | None = None, db: Path | None = None) -> None:
        self.plan_file = plan_file  # where the plan came from (None: the shipped London plan): its claims sit beside it
        self.plan: Plan = engine.plan
        self.db = db  # the warehouse file, when opened from one: a load that replaces it is picked up (refresh)
        self._opened = _file_identity(db)
        self.lock = threading.RLock()  # the engine's: one DuckDB connection, one thread at a time
        self._cache_lock = threading.Lock()
        self._cache: OrderedDict = OrderedDict()
        self._use(engine)

    def _use(self, engine: Engine) -> None:
        self.engine = engine
        self.boundaries = Boundaries(engine.con, engine.geography)
        self.geography = engine.geography

    @classmethod
    def open(cls, db: str | Path | None = None, plan: str | Path | Plan | None = None) -> "Crimeplan":
        plan_file = None if plan is None or isinstance(plan, Plan) else plan
        if plan_file is not None:
            plan = load_plan(plan_file)
        return cls(Engine.open(db, plan), plan_file, db_path(db))

    def changed(self) -> bool:
        """Whether the warehouse file is no longer the one opened (a stat: cheap enough for every request)."""
        return self.db is not None and _file_identity(self.db) != self._opened

    def refresh(self, forget: Callable[[], None] | None = None) -> bool:
        """Reopen the warehouse when a load has replaced or changed its file; True when it did (every cached
        answer is then dropped). A file gone leaves the edition in use as it is; one a load holds raises
        :class:`WarehouseBusy`."""
        if not self.changed():
            return False
        with self.lock:
            now = _file_identity(self.db)
            if now is None or now == self._opened:
                return False
            # DuckDB keeps one database per path in a process: the old one must be closed before the new file
            # can be opened at all. Every query runs under this lock, so no thread is reading from it now.
            self.engine.con.close()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the plan was checked when the server started
                    engine = Engine.open(self.db, self.plan)
            except CrimeplanError as exc:
                # A load writing in place took the file in the instant it was let go: the next request tries again.
                self._opened = None
                raise WarehouseBusy(f"the warehouse is being loaded; try again in a minute ({exc})") from None
            with self._cache_lock:
                self._use(engine)
                self._cache.clear()
                if forget is not None:  # the server's response cache: emptied before anyone sees the new file
                    forget()
                self._opened = now
            return True

    # --- inputs: validated, normalised ------------------------------------------------------------

    def area(self, key: str | None) -> Area:
        """An area by key, code or name; NotFound with the engine's message otherwise (no query: areas are in memory)."""
        try:
            return self.engine.areas.get(key)
        except UnknownArea as exc:
            raise NotFound(str(exc)) from None

    def area_key(self, key: str | None) -> str | None:
        """An area's key from any way of naming it (None stays None): one cache entry however it was named."""
        return self.area(key).key if key is not None else None

    def measure(self, measure_id: str) -> Measure:
        try:
            return self.plan.measure(measure_id)
        except KeyError as exc:
            raise NotFound(exc.args[0]) from None

    def period(self, text: str | None) -> str:
        """The period's canonical label (the plan's default when none is given)."""
        try:
            return self.engine.period(text).label
        except PeriodError as exc:
            raise BadParameter(str(exc)) from None

    def baseline(self, period: str, text: str | None) -> str:
        """The baseline as given (a plan baseline, previous, year-earlier or a period), checked."""
        parsed = self.engine.period(period)
        text = (text or self.engine.default_baseline(parsed)).strip()
        try:
            self.engine.against(parsed, text)
        except PeriodError as exc:
            raise BadParameter(
                f"{exc}; or a baseline of the plan ({', '.join(b.id for b in self.plan.baselines)}), "
                "previous or year-earlier"
            ) from None
        return text

    def level(self, level: str) -> str:
        """A level of the plan's geography (London: london, bcu, borough, ward, ward2014, lsoa)."""
        if not self.geography.has(level):
            raise BadParameter(f"level {level!r}: expected one of {', '.join(self.geography.ids)}")
        return level

    def hotspot_level(self, level: str) -> str:
        """A level hot spots are computed at (Gi* needs many neighbouring areas)."""
        if not self.geography.hotspot_levels:
            raise BadParameter(f"no hot spots in the {self.geography.id} geography: Gi* needs each area's "
                               "boundaries to find its neighbours, and none are declared for its levels")
        if level not in self.geography.hotspot_levels:
            raise BadParameter(f"hot spots are computed for {', '.join(self.geography.hotspot_levels)}, not {level!r}: Gi* compares "
                             "each area with its neighbours and needs many areas")
        return level

    def map_colour(self, colour: str | None) -> str | None:
        """How a map is to be coloured (None: its default)."""
        if colour not in (None, *MAP_COLOURS):
            raise BadParameter(f"colour {colour!r}: expected {', '.join(MAP_COLOURS)}")
        return colour

    def ward_set(self, wards: str | None) -> str | None:
        """Which ward boundaries a borough's map shows (None: the 2022 wards)."""
        sets = self.geography.boundary_sets
        if wards not in (None, *sets):
            raise BadParameter(f"wards {wards!r}: expected {' or '.join(sets)} (the ward boundaries)")
        return wards

    # --- the plan and the data --------------------------------------------------------------------

    @memoised
    def plan_dict(self) -> dict:
        """The plan as data (priorities, objectives, measures with their sources), for the API."""
        data = self.plan.model_dump(mode="json")
        data["levels"] = [{"level": lv.id, "name": lv.name} for lv in self.geography.levels]
        data["survey_measures"] = [m.id for m in survey_measures(self.plan)]
        return data

    @memoised
    def edition(self) -> dict:
        return data_edition(self.engine.con)

    # --- areas ------------------------------------------------------------------------------------

    @memoised
    def areas(self, level: str | None, q: str | None) -> list[dict]:
        return [a.to_dict() for a in self.engine.areas.find(q, level)]

    @memoised
    def area_detail(self, key: str) -> dict:
        area = self.area(key)
        children = self.engine.areas.children(area)
        return {
            **area.to_dict(),
            "ancestors": [a.to_dict() for a in self.engine.areas.ancestors(area)],
            "children_level": self.geography.child(area.level),
            "children": [a.to_dict() for a in children],
        }

    @memoised
    def children_geojson(self, key: str) -> dict:
        """The boundaries of an area's children (London → BCUs → boroughs → wards)."""
        area = self.area(key)
        level = self.geography.child(area.level)
        if level is None:
            return {"type": "FeatureCollection", "features": []}
        return self.boundaries.collection(level, area.code)

    @memoised
    def geojson(self, level: str, parent: str | None) -> dict:
        return self.boundaries.collection(level, parent)

    # --- figures ----------------------------------------------------------------------------------

    # Everything below is published: small counts of people are withheld (crimeplan.disclosure); the
    # engine's own figures, from which every judgement is made, keep the real counts.

    def _parents(self, level: str) -> dict[str, str | None]:
        return {a.code: a.parent_code for a in self.engine.areas.level(level)}

    @memoised
    def scorecard(self, key: str, period: str, baseline: str) -> dict:
        area = self.area(key)
        card = self.engine.scorecard(area, period, baseline).to_dict()
        withheld = {}
        if area.level != self.geography.top:  # what the area's level table withholds among its siblings
            for m in self.plan.measures:
                if (disclosure.counts_people(self.plan, m) or disclosure.shares_of_people(self.plan, m)
                        or m.statistic == "ratio") and area.level in m.levels:
                    withheld[m.id] = disclosure.withheld_fields(self.levels(m.id, area.level, period, baseline),
                                                                area.code)
                    if card_beside(card, m.id):
                        withheld[("beside", m.id)] = disclosure.withheld_fields(
                            self.levels(m.id, area.level, period, self.plan.default_baseline), area.code)
        return disclosure.scorecard(card, self.plan, withheld)

    @memoised
    def series(self, measure_id: str, key: str, by: str) -> dict:
        try:
            return disclosure.series(self.engine.series(self.measure(measure_id), self.area(key), by), self.plan)
        except NotFound:
            raise
        except CrimeplanError as exc:  # a measure not measured at the area's level
            raise BadParameter(str(exc)) from None

    @memoised
    def levels(self, measure_id: str, level: str, period: str, baseline: str) -> dict:
        measure = self.measure(measure_id)
        table = level_table(self.engine, measure, level, period, baseline)
        also = set()
        if measure.statistic == "ratio" and table.get("status") == "ok":
            also = self._ratio_withheld(measure, level, period, baseline)
        return disclosure.level_table(table, self.plan, self._parents(level), also)

    def _ratio_withheld(self, measure: Measure, level: str, period: str, baseline: str) -> set[str]:
        """The areas whose ratio would give back a count the Fairness tables of either period withhold (a ratio,
        the reference group's count and the published residents give the group's count)."""
        ratio = measure.sources[0].ratio
        codes: set[str] = set()
        concrete = self.engine.resolve(self.engine.period(period), measure, level)
        for p in (concrete.label, self.engine.against(concrete, baseline)[0].label):
            table = self.fairness_level(level, p, None, None)
            for r in table.get("areas", []):
                cells = r["officer" if ratio.field == "officer_defined_ethnicity" else "self"]
                if any(cells.get(g, {}).get("searches") is None for g in (ratio.group, ratio.reference)):
                    codes.add(r["code"])
        return codes

    @memoised
    def export(self, level: str, period: str, baseline: str) -> list[dict]:
        """Every area of ``level`` × every measure of the plan at that level (in the plan's order): value, baseline,
        change, interval, p, q, verdict, RAG, denominators and source files, withheld cells as published; the
        figures of :meth:`levels`, so the same as each area's scorecard."""
        tables, seen = [], set()
        for priority, _objective, measure in self.plan.placements():
            if measure.id in seen or self.level(level) not in measure.levels:
                continue
            seen.add(measure.id)
            tables.append((priority.id, self.levels(measure.id, level, period, baseline)))
        areas = [{"code": a["code"], "name": a["name"], "parent_code": a.get("parent_code"),
                  "parent_name": a.get("parent_name")} for a in self.areas(level, None)]
        return export_rows(tables, areas)

    def export_file(self, level: str, period: str, baseline: str, fmt: str) -> bytes:
        """:meth:`export` as a CSV, XLSX (with a README sheet) or Parquet file."""
        if fmt not in EXPORT_FORMATS:
            raise BadParameter(f"format {fmt!r}: expected one of {', '.join(EXPORT_FORMATS)}")
        rows = self.export(level, period, baseline)
        edition = self.edition()
        about = [("plan", self.plan.title), ("level", self.geography.plural(level)), ("period", period),
                 ("compared with", baseline), ("rows", f"{len(rows):,} (every area of the level × every measure "
                                                       f"of the plan at that level)"),
                 ("data edition", edition["label"]),
                 ("small numbers", disclosure.rule_text(self.plan)),
                 ("made by", "crimeplan (open source): every figure traceable to the files named in its row")]
        return export_file(rows, fmt, about, ATTRIBUTION)

    @memoised
    def performance_report(self, key: str, quarter: str | None) -> dict:
        """An area's quarterly performance report (:mod:`crimeplan.quarterly`): London, a BCU or a borough."""
        from crimeplan.quarterly import performance_report

        area = self.area(key)
        if not self.has_report(key):
            raise BadParameter(f"a performance report is for {self.geography.name(self.geography.top)}, or an area of "
                               f"the two levels below it, not {a_or_an(area.level_name)}")
        return performance_report(self, area.key, quarter)

    @memoised
    def hotspots(self, measure_id: str, level: str, period: str, baseline: str) -> dict:
        """Getis–Ord Gi* hot and cold spots of a measure among every area of a level."""
        found = hotspots(self.engine, self.measure(measure_id), self.hotspot_level(level), period, baseline)
        return disclosure.hotspots(found, self.plan, self._parents(level))

    def ranked_measure(self, measure_id: str | None) -> str:
        """A measure whose concentration and ranking mean something (a count, rate or harm); default the plan's
        first harm measure (harm is what deployment weighs), else its first count."""
        if measure_id is not None:
            m = self.measure(measure_id)
            if m.statistic not in ("count", "rate", "harm"):
                raise BadParameter(f"{m.id} is a share: concentration and rankings are of counts, rates and harm")
            if disclosure.counts_people(self.plan, m):
                raise BadParameter(f"{m.id} counts people ({m.unit}): areas are not ranked by it, since a ranked "
                                   f"list would publish small numbers about people")
            return m.id
        for statistic in ("harm", "count"):
            for m in self.plan.measures:
                if m.statistic == statistic and not disclosure.counts_people(self.plan, m):
                    return m.id
        raise BadParameter("the plan has no count or harm measure to rank areas by")

    def priorities_level(self, key: str | None, level: str | None) -> str:
        """The level to rank within an area: as asked, else what its geography declares (London: wards)."""
        if level is not None:
            return self.level(level)
        area = self.area(key)
        chosen = self.geography.level(area.level).priorities_level
        if chosen is None:
            raise BadParameter(f"no level is declared to rank within a {area.level_name}: give --level")
        return chosen

    @memoised
    def concentration(self, measure_id: str, level: str, period: str, baseline: str, within: str | None) -> dict:
        """How concentrated a measure is across a level's areas (curve, Gini, top 1/5/10% shares)."""
        return _asked(concentration, self.engine, self.measure(measure_id), self.level(level), period, baseline,
                      self.area(within) if within is not None else None)

    @memoised
    def priorities(self, measure_id: str, level: str, period: str, baseline: str, within: str | None,
                   top: int | None, by: str) -> dict:
        """A level's areas (within an area) ranked by a measure, with rank intervals and persistence."""
        if by not in RANK_BY:
            raise BadParameter(f"by {by!r}: expected {' or '.join(RANK_BY)}")
        return _asked(priorities, self.engine, self.measure(measure_id), self.level(level), period, baseline,
                      self.area(within) if within is not None else None, top, by)

    def panels_for(self, key: str) -> list[str]:
        """The plan's panels an area's page shows: those of a level below the area's."""
        area = self.area(key)
        return [p.id for p in self.plan.panels
                if p.level != area.level and area.level in self.geography.above(p.level)]

    @memoised
    def panel(self, panel_id: str, period: str, baseline: str, within: str | None) -> dict:
        """A plan panel: its measures side by side for every area of its level (within an area), each as the
        count and, where residents are known, per 1,000 residents, with the change against the baseline."""
        panel = next((p for p in self.plan.panels if p.id == panel_id), None)
        if panel is None:
            raise NotFound(f"no panel {panel_id!r}; the plan's panels: {', '.join(p.id for p in self.plan.panels)}")
        inside = None
        if within is not None:
            parent = self.area(within)
            inside = {a.code for a in self.engine.areas.level(panel.level)
                      if parent.code in {x.code for x in self.engine.areas.ancestors(a)}}
        residents = dict(zip(self.engine.compiler.areas(panel.level), self.engine.population(panel.level)))
        tables = [self.levels(m, panel.level, period, baseline) for m in panel.measures]
        areas = [a for a in self.engine.areas.level(panel.level) if inside is None or a.code in inside]
        rows = []
        for a in areas:
            cells = []
            for t in tables:
                r = next((x for x in t["areas"] if x["code"] == a.code), None)
                people = residents.get(a.code)
                rate = (r["current"] / people * 1000 if r and r["current"] is not None and people and people > 0
                        else None)
                cells.append({"current": r["current"] if r else None, "per_1000": rate,
                              "suppressed": (r.get("suppressed") or {}) if r else {},
                              "change": r["change"] if r else None, "interval": r["interval"] if r else None,
                              "verdict": r["verdict"] if r else None, "rag": r["rag"] if r else "grey"})
            rows.append({"key": a.key, "code": a.code, "name": a.name,
                         "residents": residents.get(a.code), "cells": cells})
        return {"panel": panel.id, "title": panel.title, "caveat": panel.caveat, "level": panel.level,
                "within": self.area(within).to_dict() if within else None, "period": period, "baseline": baseline,
                "period_text": tables[0]["period_text"], "compared_with": tables[0]["compared_with"],
                "measures": [{"id": t["measure"], "title": t["title"], "unit": t["unit"], "status": t["status"],
                              "period": t["period"], "period_text": t["period_text"],
                              "message": t["message"], "change_unit": t["change_unit"],
                              "files": (t["source"] or {}).get("files", [])} for t in tables],
                "areas": rows, "attribution": tables[0]["attribution"]}

    @memoised
    def needs(self, key: str, period: str, baseline: str) -> dict | None:
        """Where an area's harm is needed most (ward officers, Town Centre Teams): its areas of the level its
        geography ranks, ranked by the plan's harm measure per resident, and how concentrated that harm is.

        None for an area whose level ranks nothing. Where no file covers ``period`` at that
        level (ward recorded crime is recent only), the latest twelve months one does, said so.
        """
        area = self.area(key)
        level = self.geography.level(area.level).priorities_level
        if level is None:
            return None
        measure = self.ranked_measure(None)
        within = None if area.level == self.geography.top else area.key
        ranked = self.priorities(measure, level, period, baseline, within, None, "rate")
        note = ""
        if ranked["status"] != "ok":
            latest = latest_twelve_months(self.engine, level)
            if latest is not None and latest.label != period:
                fallback = self.priorities(measure, level, latest.label, baseline, within, None, "rate")
                if fallback["status"] == "ok":
                    note = (f"No file covers {ranked['period_text']} for {self.geography.plural(level)}: shown for "
                            f"{fallback['period_text']}, the latest twelve months published.")
                    ranked = fallback
        around = {(a.level, a.code) for a in [area, *self.engine.areas.ancestors(area)]}
        other = next((o for o in self.geography.other_forces if (o["level"], o["code"]) in around), None)
        if other is not None and ranked["status"] != "ok":  # the City: the Met's files leave it out
            ranked = {**ranked, "status": "not covered",
                      "message": f"{area.name} is policed by {other['name']}; the files these rankings come from "
                                 f"({self.geography.main_force_name or 'the main force'}'s) do not cover it"}
        return {"area": area.to_dict(), "measure": measure, "level": level, "requested_period": period,
                "period": ranked["period"], "note": note, "priorities": ranked,
                "concentration": self.concentration(measure, level, ranked["period"], baseline, within)}

    def has_report(self, key: str) -> bool:
        """Whether an area has a performance report: the plan's whole area and the two levels below it."""
        return self.area(key).level in self._section_levels()

    def has_fairness(self, key: str) -> bool:
        """Whether an area has Fairness figures: the force's whole area and the two levels below it (London,
        BCUs, boroughs), when the force's stop-and-search files are loaded."""
        return self.area(key).level in self._section_levels() and self.fairness_covered()

    def _section_levels(self) -> set[str]:
        """The levels an area page's Fairness section reaches: the top and the two below."""
        return set(self._level_chain()[:3])

    def _level_chain(self) -> list[str]:
        """The geography's levels from the top down its chain of children (London: london, bcu, borough, ward)."""
        level, levels = self.geography.top, []
        while level is not None and level not in levels:
            levels.append(level)
            level = self.geography.child(level)
        return levels

    def fairness_summary(self, key: str, period: str, baseline: str) -> dict | None:
        """The Fairness figures a scorecard carries: each group's rate ratio to White with its interval and its
        arrest share (from :meth:`fairness`, small numbers withheld), and the PAS trust gaps of Black and Asian
        to White British respondents over the area's neighbourhoods (how many lower, how many higher, the
        median; described, not judged: MOPAC gives no group sample sizes), or None where the area has none."""
        if not self.has_fairness(key):
            return None
        f = self.fairness(key, period, baseline)
        out = {k: f.get(k) for k in ("status", "message", "note", "period", "period_text", "requested_period",
                                     "force_name", "reference_group", "method", "outcome_caveat", "files")}
        trust = f.get("trust_by_group") or {}
        out["trust_gaps"] = None if not trust.get("neighbourhoods") else {
            k: trust[k] for k in ("period_text", "reference_group", "groups", "questions", "caveat", "summary", "files")}
        row = f.get("figures")
        if f["status"] != "ok" or row is None:
            return out | {"groups": []}
        return out | {
            "searches": row["searches"], "not_stated_share": row["not_stated_share"],
            "no_location_share": (f.get("located") or {}).get("no_location_share"),
            "groups": [{"group": g, "per_1000": row["officer"][g]["per_1000"], "ratio": row["officer"][g]["ratio"],
                        "interval": row["officer"][g]["interval"], "verdict": row["officer"][g]["verdict"],
                        "arrest_share": row["outcomes"][g]["share"],
                        "arrest_difference_pp": row["outcomes"][g]["difference_pp"],
                        "arrest_interval_pp": row["outcomes"][g]["interval_pp"],
                        "arrest_verdict": row["outcomes"][g]["verdict"],
                        "suppressed": {**row["officer"][g].get("suppressed", {}),
                                       **{f"arrest_{k}": v for k, v in row["outcomes"][g].get("suppressed", {}).items()}}}
                       for g in f["groups"]],
        }

    @memoised
    def fairness_covered(self) -> bool:
        """Whether the plan's force has stop-and-search files loaded (the Fairness section is shown at all)."""
        try:
            force = fairness_force(self.engine, None)
        except CrimeplanError:
            return False
        return bool(self.engine.compiler.periods_supplied(FAIRNESS_DATASET, [force]))

    @memoised
    def _fairness_table(self, level: str, period: str, baseline: str | None, within: str | None) -> dict:
        """measures.fairness as computed (real counts): never published as it is, copied before disclosure."""
        return _asked(fairness, self.engine, self.level(level), period, baseline,
                      self.area(within) if within is not None else None)

    @memoised
    def fairness_level(self, level: str, period: str, baseline: str | None, within: str | None) -> dict:
        """Stop-and-search disproportionality and the outcome test for every area of a level (within an area)."""
        table = copy.deepcopy(self._fairness_table(level, period, baseline, within))
        return disclosure.fairness(strip_counts(table), self.plan, self._parents(level),
                                   self._fairness_withheld(table, [level]))

    def _fairness_withheld(self, table: dict, levels: list[str]) -> set[tuple[str, str]]:
        """The (area, group) search counts the baseline's own published tables withhold: a change against it
        must not give them back."""
        if table.get("baseline") is None or table.get("baseline_status") != "ok":
            return set()
        out = set()
        for level in dict.fromkeys(levels):
            for r in self.fairness_level(level, table["baseline"], None, None)["areas"]:
                out |= {(r["code"], g) for g, c in r["officer"].items() if c.get("searches") is None}
        return out

    @memoised
    def fairness(self, key: str, period: str, baseline: str | None) -> dict:
        """One area's fairness figures with their breakdowns and its siblings'; where the force's files do not
        cover ``period`` completely, the latest twelve months they do, said so."""
        area = self.area(key)

        def figures(period: str, baseline: str | None) -> dict:
            return copy.deepcopy(area_fairness(
                self.engine, area, period, baseline,
                table_of=lambda level: self._fairness_table(level, period, baseline, None)))

        found = figures(period, baseline)
        found["requested_period"], found["note"] = period, ""
        if found["status"] in ("incomplete data", "not recorded") and found.get("latest_complete"):
            latest = found["latest_complete"]
            if latest != period:
                fallback = figures(latest, None)
                if fallback["status"] == "not covered":  # another force's area: that, not the period, is why
                    found = {**fallback, "requested_period": period, "note": ""}
                elif fallback["status"] == "ok":
                    fallback["requested_period"] = period
                    fallback["note"] = (f"{found['message']}. Shown for {fallback['period_text']}, the latest "
                                        f"twelve months the files cover completely.")
                    found = fallback
        parents = self._parents(area.level)
        levels = [area.level]
        if found.get("siblings"):
            parents |= self._parents(found["siblings"]["level"])
            levels.append(found["siblings"]["level"])
        return disclosure.fairness(strip_counts(found), self.plan, parents, self._fairness_withheld(found, levels))

    @memoised
    def trajectories(self, measure_id: str, level: str, period: str, baseline: str) -> dict:
        measure = self.measure(measure_id)
        found = trajectories(self.engine, measure, level, period, baseline)
        found["values"] = disclosure.per_area_values(found["values"], self.plan, measure)
        return found

    def crime_mix(self, key: str, period: str) -> dict:
        """An area's crime mix (for the latest twelve months published if none covers ``period``)."""
        area = self.area(key)
        return self.crime_mixes(area.level, period)[area.code]

    @memoised
    def crime_mixes(self, level: str, period: str) -> dict[str, dict]:
        return crime_mixes_latest(self.engine, level, period)

    @memoised  # every engine query under the engine lock: a page asks this while another thread computes
    def forces_loaded(self) -> bool:
        from crimeplan.measures.forces import DATASET

        return bool(self.engine.compiler.periods_supplied(DATASET, None))

    @memoised
    def forces(self, offences: tuple[str, ...], period: str | None, baseline: str | None,
               highlight: str | None) -> dict:
        """Every territorial force compared (``measures.forces``); the plan's force highlighted unless another is named."""
        try:
            return forces_compared(self.engine.con, list(offences) or None, period or None, baseline or None,
                                   highlight or plan_force(self.engine.con, self.plan.force))
        except ForcesError as exc:
            raise BadParameter(str(exc)) from None

    # --- outcomes ---------------------------------------------------------------------------------

    @memoised
    def outcomes(self, key: str, period: str, crime_types: tuple[str, ...], within: int | None) -> dict:
        """An area's crimes of a period by outcome group, followed for ``within`` months (``measures.outcomes``)."""
        if within is not None and not 0 <= within <= 36:
            raise BadParameter(f"within must be a whole number of months from 0 to 36 (got {within})")
        try:
            return outcome_mix(self.engine, self.area(key), self.engine.period(period), list(crime_types), within)
        except OutcomesError as exc:
            raise BadParameter(str(exc)) from None

    def has_outcomes(self, key: str) -> bool:
        """Whether an area has a Victims section: the force's whole area and every level down its chain of children
        (the crimes are counted where they happened), when crimes of the plan's force are linked to outcomes."""
        return self.area(key).level in self._level_chain() and bool(self.outcome_crime_types())

    @memoised
    def outcome_crime_types(self) -> frozenset[str]:
        """The crime types of the plan's force with crimes linked to outcomes in the loaded data."""
        return frozenset(outcome_crime_types(self.engine.con, self.plan.force))

    def outcome_group_names(self) -> list[str]:
        """The outcome groups a funnel can compare (the catalogue's, less 'status unavailable')."""
        return [g for g in outcome_groups(STREET, "last_outcome_category") if g != STATUS_UNKNOWN]

    @memoised
    def outcome_funnel_loaded(self) -> bool:
        """Whether street files of two or more forces are loaded (a funnel of forces can be drawn)."""
        return any(f["forces"] > 1 for f in street_editions(self.engine.con))

    @memoised
    def outcome_funnel(self, group: str | None, edition: str | None, first: str | None, last: str | None,
                       highlight: str | None) -> dict:
        """Forces compared on the share of crimes whose last outcome is in ``group`` (a funnel plot)."""
        try:
            months = [parse_period(m).start if m else None for m in (first, last)]
            return forces_funnel(self.engine.con, group or "no suspect identified", edition or None, *months,
                                 highlight or self.plan.force)
        except (OutcomesError, PeriodError) as exc:
            raise BadParameter(str(exc)) from None

    def outcome_funnel_levels(self) -> list[str]:
        """The levels whose areas an outcome funnel compares: every level below the top down its chain."""
        return self._level_chain()[1:]

    def outcome_areas_funnel(self, level: str, period: str, group: str | None, highlight: str | None) -> dict:
        """Every area of a level compared on the share of its crimes of ``period`` reaching an outcome group within
        the follow-up the loaded outcomes allow (a funnel plot), ``highlight`` (an area's key or name) marked."""
        below = self.outcome_funnel_levels()
        if level not in below:
            raise BadParameter(f"level must be one of {', '.join(below)} (got {level!r})")
        key = self.area(highlight).key if highlight else None
        return with_highlight(self._outcome_areas_funnel(level, period, group or AREA_FUNNEL_GROUP), key)

    @memoised
    def _outcome_areas_funnel(self, level: str, period: str, group: str) -> dict:
        """The funnel of a level, computed once per period and group (each area's page marks itself on a copy)."""
        try:
            return areas_funnel(self.engine, level, self.engine.period(period), group)
        except (OutcomesError, PeriodError) as exc:
            raise BadParameter(str(exc)) from None

    # --- claims -----------------------------------------------------------------------------------

    @memoised
    def claims_check(self, text: str, name: str) -> list[dict]:
        """The claims in ``text`` (a claims file called ``name``) checked; ClaimsError if invalid."""
        from crimeplan.claims import check_claims, parse_claims

        claims = parse_claims(text, name, self.plan, self.engine.areas)
        return disclosure.claims([c.to_dict() for c in check_claims(self.engine, claims)], self.plan)

    @memoised
    def shipped_claims(self) -> ShippedClaims:
        """The examples shipped with the plan, checked once for the claims page and the API alike."""
        from crimeplan.claims import shipped_claims_text

        found = shipped_claims_text(self.plan_file)
        if found is None:
            return ShippedClaims("", "", [])
        text, name = found
        return ShippedClaims(text, name, self.claims_check(text, name))


__all__ = ["BadParameter", "MAP_COLOURS", "NotFound", "SERIES_BY", "Crimeplan", "ShippedClaims",
           "dumps"]
