"""The areas a plan speaks of: London, BCUs, boroughs, wards (2022 and 2014), LSOAs — found by code or name."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import duckdb

from crimeplan.errors import CrimeplanError
from crimeplan.measures.cubes import LEVELS

LEVEL_ORDER = ["london", "bcu", "borough", "ward", "ward2014", "lsoa"]
LEVEL_NAMES = {
    "london": "London",
    "bcu": "Basic Command Unit",
    "borough": "borough",
    "ward": "ward (2022 boundaries)",
    "ward2014": "ward (2014 boundaries)",
    "lsoa": "LSOA",
}


class UnknownArea(CrimeplanError):
    pass


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    level: str  # a plan level: london, bcu, borough, ward, ward2014, lsoa
    parent_code: str | None
    parent_name: str | None

    @property
    def key(self) -> str:
        """Unique across levels: the 2014 City of London 'ward' shares the borough's code."""
        return self.code if self.level != "ward2014" else f"ward2014:{self.code}"

    def to_dict(self) -> dict:
        return {**asdict(self), "key": self.key, "level_name": LEVEL_NAMES[self.level]}


class Areas:
    """Every area of the loaded geography, by level, searchable by code or name."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._by_level: dict[str, list[Area]] = {level: [] for level in LEVEL_ORDER}
        plan_level = {(name, v): level for level, (name, vintages) in LEVELS.items() for v in vintages}
        rows = con.execute(
            """SELECT a.level, a.vintage, a.code, a.name, a.parent_code, p.name
               FROM area_current a
               LEFT JOIN area_current p ON p.level = a.parent_level AND p.code = a.parent_code
                AND p.vintage = CASE WHEN a.parent_level IN ('london', 'bcu', 'borough') THEN '' ELSE a.vintage END
               ORDER BY a.level, a.code"""
        ).fetchall()
        seen = set()
        for level, vintage, code, name, parent_code, parent_name in rows:
            plan = plan_level.get((level, vintage))
            if plan is None or (plan, code) in seen:
                continue
            seen.add((plan, code))
            self._by_level[plan].append(Area(code, name, plan, parent_code, parent_name))
        self._by_key = {a.key: a for areas in self._by_level.values() for a in areas}

    def level(self, level: str) -> list[Area]:
        if level not in self._by_level:
            raise UnknownArea(f"unknown level {level!r}; expected one of {', '.join(LEVEL_ORDER)}")
        return self._by_level[level]

    def all(self) -> list[Area]:
        return [a for level in LEVEL_ORDER for a in self._by_level[level]]

    def london(self) -> Area:
        if not self._by_level["london"]:
            raise UnknownArea("no geography is loaded: load the boundary files (e.g. ../shared/data/geography)")
        return self._by_level["london"][0]

    def get(self, text: str | None) -> Area:
        """An area from its code ('E09000012', 'EA', 'ward2014:E05000405') or name ('Hackney')."""
        if text is None or not text.strip():
            return self.london()
        t = text.strip()
        if t in self._by_key:
            return self._by_key[t]
        for level in ("borough", "bcu", "ward", "lsoa", "ward2014", "london"):
            for a in self._by_level[level]:
                if a.code.lower() == t.lower():
                    return a
        named = [a for a in self.all() if a.name.lower() == t.lower()]
        if len(named) == 1:
            return named[0]
        if named:
            # Prefer a borough to a ward of the same name, a 2022 ward to a 2014 one.
            for level in LEVEL_ORDER:
                same = [a for a in named if a.level == level]
                if len(same) == 1:
                    return same[0]
            choices = "; ".join(f"{a.key} ({a.name}, {a.parent_name})" for a in named[:10])
            raise UnknownArea(f"{text!r} names several areas; give a code: {choices}")
        raise UnknownArea(f"no area {text!r}; expected a code (E09000012, EA, E05013570, E01000001) or a name (Hackney)")

    def search(self, text: str, limit: int = 20) -> list[Area]:
        """Areas whose name or code contains ``text`` (case-insensitive), larger areas first."""
        t = text.strip().lower()
        if not t:
            return []
        starts = [a for a in self.all() if a.name.lower().startswith(t) or a.code.lower() == t]
        contains = [a for a in self.all() if t in a.name.lower() and a not in starts]
        return (starts + contains)[:limit]

    def find(self, search: str | None = None, level: str | None = None) -> list[Area]:
        """Areas matching ``search`` (as ``search``, up to 10,000), of ``level``; either may be left out.

        With both, the matches outside the level are dropped (an unknown level then finds nothing);
        with ``level`` alone, an unknown level raises UnknownArea.
        """
        if search:
            found = self.search(search, limit=10_000)
            return [a for a in found if a.level == level] if level else found
        return self.level(level) if level else self.all()

    def children(self, area: Area) -> list[Area]:
        """The areas one level down: London → BCUs, BCU → boroughs, borough → wards (2022)."""
        below = {"london": "bcu", "bcu": "borough", "borough": "ward"}.get(area.level)
        if below is None:
            return []
        return [a for a in self._by_level[below] if a.parent_code == area.code]

    def ancestors(self, area: Area) -> list[Area]:
        out = []
        current = area
        while current.parent_code:
            parent_level = {"ward": "borough", "ward2014": "borough", "lsoa": "borough", "borough": "bcu", "bcu": "london"}[current.level]
            parent = next((a for a in self._by_level[parent_level] if a.code == current.parent_code), None)
            if parent is None:
                break
            out.append(parent)
            current = parent
        return list(reversed(out))
