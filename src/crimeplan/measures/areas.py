"""The areas a plan speaks of — the levels of its geography (London: London, BCUs, boroughs, wards on
2022 and 2014 boundaries, LSOAs) — found by code or name."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import duckdb

from crimeplan.errors import CrimeplanError
from crimeplan.geography import Geography


class UnknownArea(CrimeplanError):
    pass


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    level: str  # a level of the plan's geography (London: london, bcu, borough, ward, ward2014, lsoa)
    parent_code: str | None
    parent_name: str | None
    level_name: str = ""  # the level in words: "ward (2022 boundaries)"
    key_prefix: str = ""  # where codes repeat across levels: the 2014 City of London 'ward' is the borough's code

    @property
    def key(self) -> str:
        """Unique across levels."""
        return f"{self.key_prefix}{self.code}"

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("key_prefix")
        return {**data, "key": self.key}


class Areas:
    """Every area of the loaded geography, by level, searchable by code or name."""

    def __init__(self, con: duckdb.DuckDBPyConnection, geography: Geography, home: str | None = None) -> None:
        self.geography = geography
        self.home = home  # the plan's own area (its code), the default one
        self.order = geography.ids
        self._by_level: dict[str, list[Area]] = {level: [] for level in self.order}
        plan_level = {(lv.area_level, v): lv for lv in geography.levels for v in lv.vintages}
        rows = con.execute(
            """SELECT a.level, a.vintage, a.code, a.name, a.parent_code, p.name
               FROM area_all a
               LEFT JOIN area_all p ON p.level = a.parent_level AND p.code = a.parent_code
                AND p.vintage = CASE WHEN a.parent_level IN ('london', 'bcu', 'borough') THEN '' ELSE a.vintage END
               ORDER BY a.level, a.code"""
        ).fetchall()
        within = None
        if home is not None:  # the plan's area and the areas in it, as the compiler counts them
            within = set(con.execute(
                "SELECT unit_level, unit_vintage, unit_code FROM area_rollup WHERE level = ? AND code = ?",
                [geography.table_level(geography.top)[0], home],
            ).fetchall())
        seen = set()
        for level, vintage, code, name, parent_code, parent_name in rows:
            lv = plan_level.get((level, vintage))
            if lv is None or (lv.id, code) in seen or (within is not None and (level, vintage, code) not in within):
                continue
            seen.add((lv.id, code))
            self._by_level[lv.id].append(Area(code, name, lv.id, parent_code, parent_name, lv.name, lv.key_prefix))
        self._by_key = {a.key: a for areas in self._by_level.values() for a in areas}

    def level(self, level: str) -> list[Area]:
        if level not in self._by_level:
            raise UnknownArea(f"unknown level {level!r}; expected one of {', '.join(self.order)}")
        return self._by_level[level]

    def all(self) -> list[Area]:
        return [a for level in self.order for a in self._by_level[level]]

    def top(self) -> Area:
        """The plan's whole area (London, Merseyside): its area of the geography's top level."""
        areas = self._by_level[self.geography.top]
        home = next((a for a in areas if a.code == self.home), None) if self.home else (areas[0] if areas else None)
        if home is None:
            raise UnknownArea(f"the plan's area {self.home or ''} is not among the loaded "
                              f"{self.geography.plural(self.geography.top)}: load the geography's files "
                              "(e.g. ../shared/data/geography) or the data it is derived from")
        return home

    def get(self, text: str | None) -> Area:
        """An area from its code ('E09000012', 'EA', 'ward2014:E05000405') or name ('Hackney')."""
        if text is None or not text.strip():
            return self.top()
        t = text.strip()
        if t in self._by_key:
            return self._by_key[t]
        # Alternative boundary sets last: a plain code means the current boundaries.
        for level in sorted(self.order, key=lambda lv: self.geography.level(lv).alternative_to is not None):
            for a in self._by_level[level]:
                if a.code.lower() == t.lower():
                    return a
        named = [a for a in self.all() if a.name.lower() == t.lower()]
        if len(named) == 1:
            return named[0]
        if named:
            # Prefer a borough to a ward of the same name, a 2022 ward to a 2014 one.
            for level in self.order:
                same = [a for a in named if a.level == level]
                if len(same) == 1:
                    return same[0]
            choices = "; ".join(f"{a.key} ({a.name}, {a.parent_name})" for a in named[:10])
            raise UnknownArea(f"{text!r} names several areas; give a code: {choices}")
        examples = [areas[0] for level in self.order
                    if (areas := self._by_level[level]) and not self.geography.level(level).alternative_to]
        codes = ", ".join(a.code for a in examples) or "…"
        name = examples[min(2, len(examples) - 1)].name if examples else "…"
        raise UnknownArea(f"no area {text!r}; expected a code ({codes}) or a name ({name})")

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
        """The areas one level down (the geography's ``child``): London → BCUs, BCU → boroughs, borough → wards."""
        below = self.geography.child(area.level)
        if below is None:
            return []
        return [a for a in self._by_level[below] if a.parent_code == area.code]

    def ancestors(self, area: Area) -> list[Area]:
        out = []
        current = area
        while current.parent_code:
            parent_level = self.geography.parent(current.level)
            if parent_level is None:
                break
            parent = next((a for a in self._by_level[parent_level] if a.code == current.parent_code), None)
            if parent is None:
                break
            out.append(parent)
            current = parent
        return list(reversed(out))
