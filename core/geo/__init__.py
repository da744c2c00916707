"""Geography: points and distances (`points`), franchise territories (`territories`), the
bundled gazetteer of the demo cities (`gazetteer`) and geocoders (`geocoding`). Pure: no Django.
The names other apps use are handed on here."""

from .gazetteer import GAZETTEER_PATH, City, Gazetteer, cities, city_territory
from .geocoding import (
    SOURCE_COORDINATES,
    SOURCE_GAZETTEER,
    SOURCE_NOMINATIM,
    Geocoder,
    GeocodeResult,
    GeocodingError,
    NominatimGeocoder,
    OfflineGeocoder,
    build_geocoder,
)
from .points import EARTH_RADIUS_KM, GeoPoint, bounding_box, great_circle_km, haversine_km_vec
from .territories import (
    TerritoryError,
    parse_territory,
    territories_overlap,
    territory_contains,
)

__all__ = [
    "EARTH_RADIUS_KM",
    "GAZETTEER_PATH",
    "SOURCE_COORDINATES",
    "SOURCE_GAZETTEER",
    "SOURCE_NOMINATIM",
    "City",
    "Gazetteer",
    "GeoPoint",
    "GeocodeResult",
    "Geocoder",
    "GeocodingError",
    "NominatimGeocoder",
    "OfflineGeocoder",
    "TerritoryError",
    "bounding_box",
    "build_geocoder",
    "cities",
    "city_territory",
    "great_circle_km",
    "haversine_km_vec",
    "parse_territory",
    "territories_overlap",
    "territory_contains",
]
