"""Geographies as data: the levels a plan measures at, declared in YAML, not in Python.

A geography (``geographies/<id>.yaml``) declares its levels in order, largest
first: each level's name and plural, the area-table level and boundary
vintages it reads, its parent (and, where areas roll up by more than one path,
its parents), the level a map drills down to, whether hot spots and published
pages are made for it, how its boundaries are simplified, and whose residents
are its denominator. A plan names its geography; London's is one declaration,
and another force writes another::

    >>> from crimeplan.geography import load_geography
    >>> london = load_geography("london")
    >>> london.top, london.child("london"), london.plural("bcu")
    ('london', 'bcu', 'Basic Command Units')
    >>> london.reaches("lsoa", "ward2014"), london.reaches("borough", "ward")
    (True, False)

A dataset's reach follows from the level it is published at (the catalogue's
``native_level``): that level and every level above it. ``native`` maps a
catalogue level the geography does not have (a force-wide or region-wide
series) onto one it has.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crimeplan.errors import CrimeplanError, InputError


class GeographyError(InputError):
    """A geography file that does not validate."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GeoLevel(_Strict):
    id: str
    name: str  # "ward (2022 boundaries)"
    plural: str  # "wards"
    plural_long: str | None = None  # where the plural alone is ambiguous: "wards (2022 boundaries)"
    plural_short: str | None = None  # in running text where the level is clear: "BCUs"
    word: str  # how one area is called in a sentence: "ward"
    area_level: str  # the level in the area table (sources/geography.py, or derived)
    vintages: list[str] = Field(min_length=1)
    parent: str | None = None
    parents: list[str] | None = None  # every level it rolls up to directly (default: [parent])
    child: str | None = None  # the level a map of one of its areas shows
    map_tolerance: float = 0.0001  # boundary simplification for maps, in degrees
    hotspots: bool = False  # Gi* needs many areas with neighbours
    published: bool = False  # a page per area in the static site
    boundary_set: str | None = None  # the boundary vintage a user chooses by ("2014")
    alternative_to: str | None = None  # another boundary set of that level, shown on request
    key_prefix: str = ""  # where codes repeat across levels (the 2014 City 'ward' is the borough's code)
    # A rate above the source's own level counts only the residents of the areas below that the
    # source covers (the Met's files leave out the City); false where a source lists every crime
    # of its whole area (a force's street records), so that all its residents count.
    covered_residents: bool = True
    # A level whose one area list mixes two code sets (data.police.uk's LSOAs before and after the
    # 2021 codes): the newer set's codes are those this residents table lists; any other code is
    # of the older set. [older, newer] vintage names and the table: {vintages: [...], reference: ...}.
    mixed_code_sets: dict[str, Any] | None = None
    # The level an area's 'where needed most' list ranks (ward officers, Town Centre Teams): London's
    # boroughs and BCUs rank their wards.
    priorities_level: str | None = None
    residents: dict[str, Any]  # table: [{level, vintage, reference}] | sum_of: level | sum_of_table: {...}
    residents_text: str

    @property
    def up(self) -> list[str]:
        return list(self.parents) if self.parents is not None else ([self.parent] if self.parent else [])


class Geography(_Strict):
    id: str
    title: str
    native: dict[str, str] = Field(default_factory=dict)
    main_force: str | None = None  # the force whose figures a source naming none holds
    main_force_name: str | None = None  # in words: "the Met"
    other_forces: list[dict[str, str]] = Field(default_factory=list)  # {level, code, name}: policed by another force
    levels: list[GeoLevel] = Field(min_length=1)

    @model_validator(mode="after")
    def _links(self) -> "Geography":
        ids = [lv.id for lv in self.levels]
        if len(set(ids)) != len(ids):
            raise ValueError(f"level ids must be unique: {', '.join(ids)}")
        for lv in self.levels:
            for other in [*lv.up, lv.child, lv.alternative_to, lv.priorities_level]:
                if other is not None and other not in ids:
                    raise ValueError(f"level {lv.id!r} names unknown level {other!r}; levels: {', '.join(ids)}")
        for k, v in self.native.items():
            if v not in ids:
                raise ValueError(f"native {k!r} maps to unknown level {v!r}")
        return self

    # --- levels ---

    @property
    def ids(self) -> list[str]:
        return [lv.id for lv in self.levels]

    @property
    def top(self) -> str:
        return self.levels[0].id

    def level(self, level_id: str) -> GeoLevel:
        for lv in self.levels:
            if lv.id == level_id:
                return lv
        raise CrimeplanError(f"unknown level {level_id!r}; the {self.id} geography has: {', '.join(self.ids)}")

    def has(self, level_id: str) -> bool:
        return level_id in self.ids

    def name(self, level_id: str) -> str:
        return self.level(level_id).name

    def plural(self, level_id: str) -> str:
        return self.level(level_id).plural

    def plural_short(self, level_id: str) -> str:
        lv = self.level(level_id)
        return lv.plural_short or lv.plural

    def child(self, level_id: str) -> str | None:
        return self.level(level_id).child if self.has(level_id) else None

    def parent(self, level_id: str) -> str | None:
        return self.level(level_id).parent

    @property
    def hotspot_levels(self) -> tuple[str, ...]:
        return tuple(lv.id for lv in self.levels if lv.hotspots)

    @property
    def published_levels(self) -> tuple[str, ...]:
        return tuple(lv.id for lv in self.levels if lv.published)

    @property
    def boundary_sets(self) -> dict[str, str]:
        """Boundary sets a user can choose between for one level ("2022" → ward, "2014" → ward2014)."""
        return {lv.boundary_set: lv.id for lv in self.levels if lv.boundary_set}

    def table_level(self, level_id: str) -> tuple[str, tuple[str, ...]]:
        """(area-table level, vintages) of a level."""
        lv = self.level(level_id)
        return lv.area_level, tuple(lv.vintages)

    # --- reach ---

    def native_level(self, published_at: str | None) -> str | None:
        """The level of this geography a dataset published at ``published_at`` is native to (None: none)."""
        if published_at is None:
            return None
        level = self.native.get(published_at, published_at)
        return level if self.has(level) else None

    def above(self, level_id: str) -> set[str]:
        """The level and every level it rolls up to."""
        out, todo = set(), [level_id]
        while todo:
            lv = todo.pop()
            if lv not in out:
                out.add(lv)
                todo.extend(self.level(lv).up)
        return out

    def reaches(self, published_at: str | None, level_id: str) -> bool:
        native = self.native_level(published_at)
        return native is not None and level_id in self.above(native)


@lru_cache(maxsize=None)
def load_geography(name: str) -> Geography:
    """A shipped geography by id ('london', 'police_uk'), or a YAML file by path."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        text, source = path.read_text(encoding="utf-8"), str(path)
    else:
        try:
            text = resources.files("crimeplan.geographies").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
        except FileNotFoundError:
            shipped = sorted(p.name.removesuffix(".yaml") for p in resources.files("crimeplan.geographies").iterdir()
                             if p.name.endswith(".yaml"))
            raise CrimeplanError(f"unknown geography {name!r}; shipped: {', '.join(shipped)}") from None
        source = f"geographies/{name}.yaml"
    try:
        return Geography.model_validate(yaml.safe_load(text))
    except ValidationError as exc:
        error = exc.errors()[0]
        raise GeographyError(source, f"{'.'.join(map(str, error['loc']))}: {error['msg']}") from None


__all__ = ["GeoLevel", "Geography", "GeographyError", "load_geography"]
