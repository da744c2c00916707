"""Territories: GeoJSON (Multi)Polygons in [lng, lat] order, tested with shapely.

Pure: no ORM, no Django. A franchise's territory is validated here on save and tested
against every lead's site when the lead is routed.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity


class TerritoryError(ValueError):
    """A territory is not a valid GeoJSON Polygon or MultiPolygon; the message says where."""


# Overlaps below this many square degrees (about half a square metre at 60° N) are rounding
# slivers between borders drawn from different vertices, not shared ground.
_SLIVER_AREA_DEG2 = 1e-10
_TERRITORY_CACHE_SIZE = 1024
_territory_cache: OrderedDict[str, BaseGeometry] = OrderedDict()
_territory_cache_lock = threading.Lock()


def _position(value: Any, where: str) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) not in (2, 3):
        raise TerritoryError(f"{where}: expected a position [lng, lat], got {value!r}.")
    if not all(isinstance(c, int | float) and not isinstance(c, bool) for c in value):
        raise TerritoryError(f"{where}: coordinates must be numbers, got {value!r}.")
    try:
        lng, lat = float(value[0]), float(value[1])  # a third number (altitude) is allowed
    except OverflowError:  # an integer of hundreds of digits
        raise TerritoryError(f"{where}: coordinates must be finite, got {value!r}.") from None
    if not (math.isfinite(lng) and math.isfinite(lat)):
        raise TerritoryError(f"{where}: coordinates must be finite, got {value!r}.")
    if not -180.0 <= lng <= 180.0:
        raise TerritoryError(
            f"{where}: longitude {lng} is outside -180..180 (GeoJSON order is [lng, lat])."
        )
    if not -90.0 <= lat <= 90.0:
        raise TerritoryError(
            f"{where}: latitude {lat} is outside -90..90 (GeoJSON order is [lng, lat])."
        )
    return lng, lat


def _ring(value: Any, where: str) -> list[tuple[float, float]]:
    if not isinstance(value, list | tuple):
        raise TerritoryError(f"{where}: a ring is a list of positions.")
    if len(value) < 4:
        raise TerritoryError(
            f"{where}: a ring needs at least 4 positions (the last repeating the first), "
            f"got {len(value)}."
        )
    ring = [_position(item, f"{where} position {index}") for index, item in enumerate(value)]
    if ring[0] != ring[-1]:
        raise TerritoryError(
            f"{where}: the ring is not closed (the last position must repeat "
            f"the first: {list(ring[0])} vs {list(ring[-1])})."
        )
    return ring


def _polygon(value: Any, where: str) -> Polygon:
    if not isinstance(value, list | tuple) or not value:
        raise TerritoryError(f"{where}: a polygon is a non-empty list of rings.")
    rings = [_ring(item, f"{where} ring {index}") for index, item in enumerate(value)]
    return Polygon(rings[0], rings[1:])


def _build_territory(geojson: Mapping[str, Any]) -> BaseGeometry:
    kind = geojson.get("type")
    coordinates = geojson.get("coordinates")
    if kind == "Polygon":
        geometry: BaseGeometry = _polygon(coordinates, "Polygon")
    elif kind == "MultiPolygon":
        if not isinstance(coordinates, list | tuple) or not coordinates:
            raise TerritoryError("MultiPolygon: coordinates must be a non-empty list of polygons.")
        geometry = MultiPolygon(
            [
                _polygon(item, f"MultiPolygon polygon {index}")
                for index, item in enumerate(coordinates)
            ]
        )
    elif kind in {"Feature", "FeatureCollection", "GeometryCollection"}:
        raise TerritoryError(
            f"A territory is a GeoJSON Polygon or MultiPolygon geometry, got a {kind}; "
            "pass its geometry."
        )
    else:
        raise TerritoryError(
            f"A territory is a GeoJSON Polygon or MultiPolygon, got type {kind!r}."
        )
    parts = geometry.geoms if isinstance(geometry, MultiPolygon) else [geometry]
    for part in parts:
        west, _, east, _ = part.bounds
        if east - west > 180.0:
            # Meant as a strip across the 180th meridian, it would be read as a band round the
            # rest of the world.
            raise TerritoryError(
                "A polygon spans more than 180 degrees of longitude. A territory across the "
                "180th meridian must be split there into a MultiPolygon (RFC 7946)."
            )
    if not geometry.is_valid:
        raise TerritoryError(f"The territory is not a valid shape: {explain_validity(geometry)}.")
    if geometry.area <= 0:
        raise TerritoryError("The territory has no area.")
    return geometry


def parse_territory(geojson: Mapping[str, Any]) -> BaseGeometry:
    """The shapely geometry (lng as x, lat as y) of a GeoJSON Polygon or MultiPolygon.

    Checks: a JSON object of type Polygon or MultiPolygon; each ring closed and at least 4
    positions; each position [lng, lat] (an altitude may follow) of finite numbers in range; the
    shape valid (no self-intersection, holes inside) with positive area. Anything else raises
    TerritoryError with a message fit to show an operator. A polygon may not span more than
    180 degrees of longitude: one across the antimeridian must be split (RFC 7946).

    Parsed shapes are cached by a hash of their canonical JSON, since the same few hundred
    territories are tested against every lead. The result is shared: do not mutate it.
    """
    if not isinstance(geojson, Mapping):
        raise TerritoryError(f"A territory is a GeoJSON object, not {type(geojson).__name__}.")
    try:
        text = json.dumps(geojson, sort_keys=True, separators=(",", ":"), allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise TerritoryError(f"The territory is not plain JSON: {exc}.") from exc
    key = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    with _territory_cache_lock:
        cached = _territory_cache.get(key)
        if cached is not None:
            _territory_cache.move_to_end(key)
            return cached
    geometry = _build_territory(geojson)
    with _territory_cache_lock:
        _territory_cache[key] = geometry
        while len(_territory_cache) > _TERRITORY_CACHE_SIZE:
            _territory_cache.popitem(last=False)
    return geometry


def territory_contains(geojson: Mapping[str, Any], *, lat: float, lng: float) -> bool:
    """Whether the point lies in the territory; a point exactly on the border counts as inside,
    so a site on the line between two territories belongs to both rather than to neither."""
    return bool(parse_territory(geojson).covers(Point(lng, lat)))


def territories_overlap(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two territories share ground (an intersection with positive area).

    Sharing a border or a corner is not an overlap, nor is a rounding sliver below
    ~1e-10 square degrees. Raises TerritoryError when either is invalid.
    """
    first, second = parse_territory(a), parse_territory(b)
    if not first.intersects(second):
        return False
    return bool(first.intersection(second).area > _SLIVER_AREA_DEG2)
