"""Territories: parsing, containment and overlap of GeoJSON (Multi)Polygons."""

import json
import math

import pytest

from core.geo import (
    TerritoryError,
    parse_territory,
    territories_overlap,
    territory_contains,
)


def box(min_lng: float, min_lat: float, max_lng: float, max_lat: float) -> list[list[float]]:
    return [
        [min_lng, min_lat],
        [max_lng, min_lat],
        [max_lng, max_lat],
        [min_lng, max_lat],
        [min_lng, min_lat],
    ]


SQUARE = {"type": "Polygon", "coordinates": [box(30, 59, 31, 60)]}


def test_territory_contains_uses_geojson_lng_lat_order() -> None:
    assert territory_contains(SQUARE, lat=59.5, lng=30.5)
    assert not territory_contains(SQUARE, lat=30.5, lng=59.5)  # lat/lng swapped
    assert not territory_contains(SQUARE, lat=59.5, lng=31.5)


def test_territory_border_counts_as_inside() -> None:
    assert territory_contains(SQUARE, lat=59.0, lng=30.5)
    assert territory_contains(SQUARE, lat=60.0, lng=31.0)


def test_territory_hole_is_outside() -> None:
    with_hole = {
        "type": "Polygon",
        "coordinates": [box(30, 59, 31, 60), box(30.4, 59.4, 30.6, 59.6)],
    }
    assert not territory_contains(with_hole, lat=59.5, lng=30.5)
    assert territory_contains(with_hole, lat=59.1, lng=30.1)


def test_territory_multipolygon() -> None:
    two_islands = {
        "type": "MultiPolygon",
        "coordinates": [[box(30, 59, 31, 60)], [box(32, 59, 33, 60)]],
    }
    assert territory_contains(two_islands, lat=59.5, lng=30.5)
    assert territory_contains(two_islands, lat=59.5, lng=32.5)
    assert not territory_contains(two_islands, lat=59.5, lng=31.5)


def test_territory_altitude_is_allowed_and_ignored() -> None:
    ring = [[*position, 12.0] for position in box(30, 59, 31, 60)]
    assert territory_contains({"type": "Polygon", "coordinates": [ring]}, lat=59.5, lng=30.5)


def test_parsed_territories_are_cached() -> None:
    copy = json.loads(json.dumps(SQUARE))
    assert parse_territory(SQUARE) is parse_territory(copy)


@pytest.mark.parametrize(
    ("territory", "message"),
    [
        ('{"type": "Polygon"}', "GeoJSON object, not str"),
        ({"type": "Point", "coordinates": [30, 59]}, "got type 'Point'"),
        ({"type": "Feature", "geometry": SQUARE}, "pass its geometry"),
        ({"coordinates": [box(30, 59, 31, 60)]}, "got type None"),
        ({"type": "Polygon", "coordinates": []}, "non-empty list of rings"),
        ({"type": "Polygon", "coordinates": [[[30, 59], [31, 59], [30, 59]]]}, "at least 4"),
        (
            {"type": "Polygon", "coordinates": [[[30, 59], [31, 59], [31, 60], [30, 60]]]},
            "not closed",
        ),
        (
            {"type": "Polygon", "coordinates": [[[30, 59], [200, 59], [31, 60], [30, 59]]]},
            r"longitude 200\.0 is outside",
        ),
        (
            {"type": "Polygon", "coordinates": [[[59, 95], [60, 95], [60, 96], [59, 95]]]},
            r"latitude 95\.0 is outside",
        ),
        (
            {"type": "Polygon", "coordinates": [[[30, 59], ["31", 59], [31, 60], [30, 59]]]},
            "must be numbers",
        ),
        (
            {"type": "Polygon", "coordinates": [[[30, 59], [True, 59], [31, 60], [30, 59]]]},
            "must be numbers",
        ),
        (
            {"type": "Polygon", "coordinates": [[[30, 59], [math.nan, 59], [31, 60], [30, 59]]]},
            "finite",
        ),
        (
            {"type": "Polygon", "coordinates": [[30, 59, 31, 60, 30, 59, 1, 2]]},
            "expected a position",
        ),
        (
            # A bow tie: the ring crosses itself.
            {
                "type": "Polygon",
                "coordinates": [[[30, 59], [31, 60], [31, 59], [30, 60], [30, 59]]],
            },
            "not a valid shape: Self-intersection",
        ),
        (
            {"type": "Polygon", "coordinates": [[[30, 59], [31, 59], [32, 59], [30, 59]]]},
            "not a valid shape|no area",
        ),
        ({"type": "MultiPolygon", "coordinates": []}, "non-empty list of polygons"),
        (
            {
                "type": "MultiPolygon",
                "coordinates": [[box(30, 59, 31, 60)], [box(30.5, 59, 31.5, 60)]],
            },
            "not a valid shape",
        ),
    ],
)
def test_invalid_territories_raise_with_a_clear_message(territory: object, message: str) -> None:
    with pytest.raises(TerritoryError, match=message):
        parse_territory(territory)  # type: ignore[arg-type]


def test_territory_error_is_a_value_error() -> None:
    assert issubclass(TerritoryError, ValueError)


@pytest.mark.parametrize(
    ("other", "overlaps"),
    [
        (box(30.5, 59.5, 31.5, 60.5), True),  # shares a quarter
        (box(30.2, 59.2, 30.8, 59.8), True),  # lies inside
        (box(31, 59, 32, 60), False),  # shares the eastern border
        (box(31, 60, 32, 61), False),  # shares one corner
        (box(33, 59, 34, 60), False),  # far away
    ],
)
def test_territories_overlap_needs_shared_area(other: list, overlaps: bool) -> None:
    territory = {"type": "Polygon", "coordinates": [other]}
    assert territories_overlap(SQUARE, territory) is overlaps
    assert territories_overlap(territory, SQUARE) is overlaps


def test_territories_overlap_with_multipolygons() -> None:
    islands = {
        "type": "MultiPolygon",
        "coordinates": [[box(28, 59, 29, 60)], [box(30.9, 59, 32, 60)]],
    }
    assert territories_overlap(SQUARE, islands)


def test_territories_overlap_rejects_invalid_input() -> None:
    with pytest.raises(TerritoryError):
        territories_overlap(SQUARE, {"type": "Polygon", "coordinates": []})




def test_a_strip_across_the_180th_meridian_must_be_split() -> None:
    # Chukotka straddles 180: as one polygon it would read as the rest of the world.
    across = {"type": "Polygon",
              "coordinates": [[[179, 64], [-179, 64], [-179, 66], [179, 66], [179, 64]]]}
    with pytest.raises(TerritoryError, match="split there into a MultiPolygon"):
        parse_territory(across)
    split = {"type": "MultiPolygon", "coordinates": [
        [[[179, 64], [180, 64], [180, 66], [179, 66], [179, 64]]],
        [[[-180, 64], [-179, 64], [-179, 66], [-180, 66], [-180, 64]]],
    ]}
    assert territory_contains(split, lat=65, lng=-179.5)
    assert not territory_contains(split, lat=65, lng=0)
