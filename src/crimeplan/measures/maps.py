"""Area boundaries as GeoJSON for maps: simplified once per level, with each area's code, name and parent."""

from __future__ import annotations

import json

import duckdb
import shapely

from crimeplan import ATTRIBUTION
from crimeplan.geography import Geography

# Simplification in degrees (about 11 m north-south at London's latitude per 0.0001) is the
# geography's map_tolerance: enough detail for a choropleth at each level, a fraction of the bytes.


class Boundaries:
    """Simplified boundaries per level, cached."""

    def __init__(self, con: duckdb.DuckDBPyConnection, geography: Geography) -> None:
        self.con = con
        self.geography = geography
        self._features: dict[str, list[dict]] = {}

    def features(self, level: str) -> list[dict]:
        if level not in self._features:
            name, vintages = self.geography.table_level(level)
            rows = self.con.execute(
                """SELECT g.code, a.name, a.parent_code, g.geometry_wkb
                   FROM area_geometry_current g
                   JOIN area_current a ON a.level = g.level AND a.vintage = g.vintage AND a.code = g.code
                   WHERE g.level = ? AND list_contains(?, g.vintage) ORDER BY g.code""",
                [name, list(vintages)],
            ).fetchall()
            geometries = shapely.from_wkb([r[3] for r in rows])
            simplified = shapely.simplify(geometries, self.geography.level(level).map_tolerance, preserve_topology=True)
            seen: set[str] = set()
            features = []
            for (code, area_name, parent, _), geometry in zip(rows, simplified):
                if code in seen:  # an LSOA unchanged between 2011 and 2021 is drawn once
                    continue
                seen.add(code)
                features.append({
                    "type": "Feature",
                    "id": code,
                    "properties": {"code": code, "name": area_name, "parent": parent, "level": level},
                    "geometry": json.loads(shapely.to_geojson(shapely.set_precision(geometry, 1e-6))),
                })
            self._features[level] = features
        return self._features[level]

    def collection(self, level: str, parent: str | None = None) -> dict:
        """A FeatureCollection of a level's areas, optionally only those within ``parent``."""
        features = self.features(level)
        if parent is not None:
            features = [f for f in features if f["properties"]["parent"] == parent]
        # A foreign member (RFC 7946 §6.1): the boundaries are OS data under the OGL.
        return {"type": "FeatureCollection", "features": features, "attribution": ATTRIBUTION}
