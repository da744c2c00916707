"""Points and distances on the Earth: pure maths, no Django, no network.

One idea of a point (`GeoPoint`: WGS-84 degrees, latitude first) and one sphere (R = 6371.009 km,
the radius of geopy's `great_circle`, which the optimiser's contract names), so a distance
computed in a query prefilter, in numpy and in the optimiser agree. The great-circle distance
is written once in Python, `haversine_km_vec` (`great_circle_km` is its one-pair form), and once
in SQL, workers.selectors.workers_near; tests/workers/test_geo_sql.py holds the two equal.
`bounding_box` gives the indexed latitude/longitude prefilter that comes before them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from geopy.distance import EARTH_RADIUS

# geopy's own constant, so our numpy distances and geopy's great_circle use the same sphere.
EARTH_RADIUS_KM: float = float(EARTH_RADIUS)


def _degrees(value: Any, name: str) -> float:
    # bool is an int and str converts with float(): both would hide a caller's mistake.
    if isinstance(value, bool | str | bytes):
        raise TypeError(f"{name} must be a number of degrees, got {type(value).__name__}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number of degrees, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {number}")
    return number


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A point on Earth in WGS-84 degrees: latitude in [-90, 90], longitude in [-180, 180].

    Latitude comes first, as in speech and in geopy; GeoJSON is the exception ([lng, lat]).
    Any real number (int, float, Decimal, numpy) is accepted and stored as float; NaN, infinities
    and out-of-range values raise ValueError, non-numbers TypeError.
    """

    lat: float
    lng: float

    def __post_init__(self) -> None:
        lat = _degrees(self.lat, "lat")
        lng = _degrees(self.lng, "lng")
        if not -90.0 <= lat <= 90.0:
            raise ValueError(f"lat must be within -90..90, got {lat}")
        if not -180.0 <= lng <= 180.0:
            raise ValueError(f"lng must be within -180..180, got {lng}")
        object.__setattr__(self, "lat", lat)
        object.__setattr__(self, "lng", lng)


# --- Distances -----------------------------------------------------------------------------------


def great_circle_km(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance in km on the R = 6371.009 km sphere (geopy's `great_circle`).

    `haversine_km_vec` for one pair; for many pairs call that. Within ~0.5 % of the WGS-84
    geodesic, which is far below the uncertainty of a geocoded address.
    """
    return float(haversine_km_vec(a.lat, a.lng, b.lat, b.lng))


def haversine_km_vec(
    lat1: npt.ArrayLike, lng1: npt.ArrayLike, lat2: npt.ArrayLike, lng2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Great-circle distances in km between (lat1, lng1) and (lat2, lng2), in degrees, element
    by element: one point against many (candidate ranking), or pairs (the optimiser).

    The haversine formula in its atan2 form, which keeps its precision for near-antipodal
    points too; agrees with geopy's `great_circle` to rounding. The arguments broadcast like
    any numpy operation; the result has their broadcast shape. Inputs are not validated (this
    is an inner loop): pass finite degrees.
    """
    phi1 = np.radians(np.asarray(lat1, dtype=np.float64))
    phi2 = np.radians(np.asarray(lat2, dtype=np.float64))
    half_dphi = 0.5 * (phi2 - phi1)
    half_dlambda = 0.5 * np.radians(
        np.asarray(lng2, dtype=np.float64) - np.asarray(lng1, dtype=np.float64)
    )
    h = np.sin(half_dphi) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(half_dlambda) ** 2
    # Rounding can push h a hair outside [0, 1] for antipodal points.
    h = np.clip(h, 0.0, 1.0)
    distances: npt.NDArray[np.float64] = (
        2.0 * EARTH_RADIUS_KM * np.arctan2(np.sqrt(h), np.sqrt(1.0 - h))
    )
    return distances


# A few millimetres of slack so a point exactly on the circle is never lost to rounding.
_BOX_MARGIN_RAD = 1e-9


def bounding_box(point: GeoPoint, radius_km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lng, max_lng) in degrees, holding every point within radius_km.

    Meant for a prefilter on indexed latitude/longitude columns (`lat__range`, `lng__range`)
    before an exact distance. On the sphere the box is tight: latitude spans lat ± r/R and
    longitude lng ± asin(sin(r/R) / cos(lat)), the widest the circle gets. Two deliberate
    over-approximations keep it one plain box:
    - when the circle reaches a pole, longitude is the whole -180..180 and latitude is clamped;
    - when it crosses the antimeridian, longitude is the whole -180..180 too (rather than two
      boxes), so callers never need an OR; such places are rare for this business.
    The box always holds the circle; its corners hold more, which the exact distance removes.
    """
    radius = float(radius_km)
    if not (math.isfinite(radius) and radius >= 0):
        raise ValueError(f"radius_km must be a finite number >= 0, got {radius_km!r}")
    angular = radius / EARTH_RADIUS_KM + _BOX_MARGIN_RAD
    lat = math.radians(point.lat)
    min_lat, max_lat = lat - angular, lat + angular
    if min_lat <= -math.pi / 2 or max_lat >= math.pi / 2:
        return (
            max(math.degrees(min_lat), -90.0),
            min(math.degrees(max_lat), 90.0),
            -180.0,
            180.0,
        )
    # Away from the poles cos(lat) > sin(angular), so the ratio is below 1; min() absorbs rounding.
    half_width = math.asin(min(1.0, math.sin(angular) / math.cos(lat)))
    min_lng = point.lng - math.degrees(half_width)
    max_lng = point.lng + math.degrees(half_width)
    if min_lng < -180.0 or max_lng > 180.0:
        min_lng, max_lng = -180.0, 180.0
    return math.degrees(min_lat), math.degrees(max_lat), min_lng, max_lng


