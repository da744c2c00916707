"""Territories: GeoJSON (Multi)Polygons in [lng, lat] order, tested with shapely.

Pure: no ORM. Parsed shapes are cached by the JSON's text, since the same few hundred
territories are tested against every lead.
"""

import json
import math
from functools import lru_cache
from typing import Any

from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity


class TerritoryError(ValueError):
    """The territory is not a valid GeoJSON Polygon or MultiPolygon."""


def _check_ring(ring: Any, where: str) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        raise TerritoryError(f"{where}: a ring needs at least 4 positions.")
    for position in ring:
        if (
            not isinstance(position, list | tuple)
            or len(position) < 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in position)
        ):
            raise TerritoryError(f"{where}: each position is [lng, lat] numbers.")
        lng, lat = position[0], position[1]
        if not (math.isfinite(lng) and math.isfinite(lat)):
            raise TerritoryError(f"{where}: coordinates must be finite.")
        if not (-180 <= lng <= 180 and -90 <= lat <= 90):
            raise TerritoryError(f"{where}: [{lng}, {lat}] is outside [lng, lat] range.")
    if list(ring[0][:2]) != list(ring[-1][:2]):
        raise TerritoryError(f"{where}: a ring must end where it starts.")


def _check_polygon(rings: Any, where: str) -> None:
    if not isinstance(rings, list) or not rings:
        raise TerritoryError(f"{where}: a polygon is a list of rings.")
    for index, ring in enumerate(rings):
        _check_ring(ring, f"{where} ring {index}")


@lru_cache(maxsize=2048)
def _parse_text(text: str) -> BaseGeometry:
    data = json.loads(text)
    kind = data.get("type")
    coordinates = data.get("coordinates")
    if kind == "Polygon":
        _check_polygon(coordinates, "Polygon")
    elif kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            raise TerritoryError("MultiPolygon: coordinates are a list of polygons.")
        for index, polygon in enumerate(coordinates):
            _check_polygon(polygon, f"MultiPolygon polygon {index}")
    else:
        raise TerritoryError("A territory is a GeoJSON object of type Polygon or MultiPolygon.")
    geometry = shape(data)
    if not geometry.is_valid:
        raise TerritoryError(f"The territory is not a valid shape: {explain_validity(geometry)}.")
    if geometry.area <= 0:
        raise TerritoryError("The territory has no area.")
    return geometry


def parse_territory(geojson: Any) -> BaseGeometry:
    """The shapely geometry of a GeoJSON Polygon/MultiPolygon dict; TerritoryError if invalid."""
    if not isinstance(geojson, dict):
        raise TerritoryError("A territory is a GeoJSON object, not a string or a list.")
    try:
        text = json.dumps(geojson, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise TerritoryError("The territory is not JSON.") from exc
    return _parse_text(text)


def territory_contains(geojson: Any, *, lat: float, lng: float) -> bool:
    """Whether the point lies inside (or on the border of) the territory."""
    return parse_territory(geojson).covers(Point(lng, lat))


def territories_overlap(a: Any, b: Any) -> bool:
    """Whether two territories share area; sharing only a border is not an overlap."""
    first, second = parse_territory(a), parse_territory(b)
    return first.intersects(second) and first.intersection(second).area > 0
