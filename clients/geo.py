"""Geography for dispatch: points, distances, geocoding and franchise territories.

Pure: no Django import. Configuration comes in as arguments (see `build_geocoder`), so the same
code serves services, Celery tasks, the simulator and tests.

Everything here shares one idea of a point (`GeoPoint`: WGS-84 degrees, latitude first) and one
sphere (R = 6371.009 km, the radius of geopy's `great_circle`, which the optimiser's contract
names), so a distance computed in a query prefilter, in numpy and in the optimiser agree:

- distances: `great_circle_km` for one pair, `haversine_km_vec` for many, `bounding_box` for the
  indexed latitude/longitude prefilter that comes before them;
- geocoding: the `Geocoder` protocol, `OfflineGeocoder` (the bundled gazetteer of the demo cities
  plus explicit coordinates) and `NominatimGeocoder` (geopy's real client behind its rate limiter),
  chosen by name with `build_geocoder`;
- a rough territory for each demo city (`city_territory`), validated by
  `franchises.territory`, where territories are parsed and tested.
"""

from __future__ import annotations

import inspect
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from geopy.adapters import RequestsAdapter, URLLibAdapter
from geopy.distance import EARTH_RADIUS, great_circle
from geopy.exc import (
    GeocoderAuthenticationFailure,
    GeocoderInsufficientPrivileges,
    GeocoderParseError,
    GeocoderQueryError,
    GeocoderQuotaExceeded,
    GeocoderServiceError,
    GeocoderTimedOut,
    GeocoderUnavailable,
    GeopyError,
)
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim

from franchises.territory import parse_territory

__all__ = [
    "EARTH_RADIUS_KM",
    "SOURCE_COORDINATES",
    "SOURCE_GAZETTEER",
    "SOURCE_NOMINATIM",
    "City",
    "GeoPoint",
    "GeocodeResult",
    "Geocoder",
    "GeocodingError",
    "NominatimGeocoder",
    "OfflineGeocoder",
    "bounding_box",
    "build_geocoder",
    "cities",
    "city_territory",
    "great_circle_km",
    "haversine_km_vec",
]

# geopy's own constant, so our numpy distances and geopy's great_circle use the same sphere.
EARTH_RADIUS_KM: float = float(EARTH_RADIUS)

GAZETTEER_PATH = Path(__file__).with_name("data") / "gazetteer.json"

# `GeocodeResult.source` values.
SOURCE_GAZETTEER = "gazetteer"
SOURCE_COORDINATES = "coordinates"
SOURCE_NOMINATIM = "nominatim"


# --- Points --------------------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class GeocodeResult:
    """What a geocoder found: the point, a human-readable name, and where it came from.

    `source` is one of SOURCE_GAZETTEER, SOURCE_COORDINATES or SOURCE_NOMINATIM.
    """

    point: GeoPoint
    display_name: str
    source: str


class GeocodingError(Exception):
    """The geocoder could not answer.

    `transient` is True when asking again later may succeed (timeout, service down, rate limited,
    5xx): a task should retry with backoff. False means the query or the configuration is at fault
    (bad request, refused credentials, an unreadable answer): retrying will not help.
    "Not found" is not an error: geocoders return None for it.
    """

    def __init__(self, message: str, transient: bool) -> None:
        # Both go to args so the exception pickles (Celery results, multiprocessing).
        super().__init__(message, transient)
        self.message = message
        self.transient = transient

    def __str__(self) -> str:
        return self.message


@runtime_checkable
class Geocoder(Protocol):
    """Turns an address into a point.

    Returns None when nothing matches; raises GeocodingError when it cannot tell (service down,
    bad query). Implementations are safe to share between threads.
    """

    def geocode(self, query: str) -> GeocodeResult | None: ...


# --- Distances -----------------------------------------------------------------------------------


def great_circle_km(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance in km on the R = 6371.009 km sphere (geopy's `great_circle`).

    About 6 µs a call; for many pairs use `haversine_km_vec`. Within ~0.5 % of the WGS-84
    geodesic, which is far below the uncertainty of a geocoded address.
    """
    return float(great_circle((a.lat, a.lng), (b.lat, b.lng)).km)


def haversine_km_vec(
    lat1: float, lng1: float, lat2: npt.ArrayLike, lng2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Distances in km from one point (lat1, lng1) to many (arrays lat2, lng2), in degrees.

    Same sphere as `great_circle_km` (they agree to ~1e-9 relative). The arrays broadcast like any
    numpy operation; the result has their broadcast shape. Inputs are not validated (this is the
    inner loop of candidate ranking): pass finite degrees.
    """
    lat2_rad = np.radians(np.asarray(lat2, dtype=np.float64))
    lng2_rad = np.radians(np.asarray(lng2, dtype=np.float64))
    lat1_rad = math.radians(lat1)
    half_dlat = (lat2_rad - lat1_rad) / 2.0
    half_dlng = (lng2_rad - math.radians(lng1)) / 2.0
    h = np.sin(half_dlat) ** 2 + math.cos(lat1_rad) * np.cos(lat2_rad) * np.sin(half_dlng) ** 2
    # Rounding can push h a hair above 1 for antipodal points; arcsin would return NaN.
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


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


# --- The gazetteer and the offline geocoder ---------------------------------------------------

_NOT_WORD = re.compile(r"[\W_]+")


def _normalise(text: str) -> str:
    """Case-folded, the letter yo read as ye, punctuation and runs of spaces made one space.

    "Санкт-Петербург", "санкт  петербург" and "Санкт-Петербург." all become "санкт петербург";
    "Толмачёво" and "Толмачево" are the same word, as Russians often write it without the dots.
    """
    return " ".join(_NOT_WORD.sub(" ", text.casefold().replace("\u0451", "\u0435")).split())


_NUMBER = r"[+-]?\d{1,3}(?:[.,]\d+)?"
# "59.93, 30.31", "59.93 30.31", "59,93 30,31" (Russian decimal comma), "59.93;30.31",
# "59.93°, 30.31°". Latitude first, as people and geopy write it; the whole query must be the pair,
# so a house number next to a street is never read as a coordinate.
_COORDINATES = re.compile(
    rf"^\s*(?P<lat>{_NUMBER})\s*°?\s*(?:[,;]\s*|\s+)(?P<lng>{_NUMBER})\s*°?\s*$"
)


def _explicit_point(query: str) -> GeoPoint | None:
    """The point when the query is just "lat, lng"; GeocodingError when those are out of range."""
    match = _COORDINATES.match(query)
    if match is None:
        return None
    lat = float(match["lat"].replace(",", "."))
    lng = float(match["lng"].replace(",", "."))
    try:
        return GeoPoint(lat, lng)
    except ValueError as exc:
        raise GeocodingError(f"Coordinates out of range in {query!r}: {exc}", False) from exc


# Suffixes people put after a district's name, and spellings of the adjective's ending ("-ский"
# is written -sky, -skiy, -skii...). They are generated so the JSON lists each district once.
_DISTRICT_WORDS_RU = ("район", "р-н")
_DISTRICT_WORDS_EN = ("district", "rayon", "raion")
_ENDING_VARIANTS = ("y", "iy", "ii", "yy", "yi", "ij")

# Specificity: an area (Kupchino) beats a district (Frunzensky District) beats a city.
_LEVEL = {"city": 1, "district": 2, "area": 3}


@dataclass(frozen=True, slots=True)
class City:
    """A demo city of the bundled gazetteer: names, centre, IANA time zone and rough territory."""

    key: str
    name_ru: str
    name_en: str
    point: GeoPoint
    timezone: str
    territory_ring: tuple[tuple[float, float], ...]  # closed ring of (lng, lat)

    def territory(self) -> dict[str, Any]:
        """A fresh GeoJSON Polygon (the caller may change it; the gazetteer stays as it was)."""
        return {"type": "Polygon", "coordinates": [[list(p) for p in self.territory_ring]]}


@dataclass(frozen=True, slots=True)
class _Place:
    key: str
    kind: str  # city | district | area
    city: City
    name_ru: str
    name_en: str
    point: GeoPoint
    requires_city: bool

    def display_name(self, language: str) -> str:
        if language == "en":
            parts = [self.name_en, self.city.name_en, "Russia"]
        else:
            parts = [self.name_ru, self.city.name_ru, "Россия"]
        return ", ".join(parts[1:] if self.kind == "city" else parts)


def _district_aliases(stem_ru: str, stem_en: str) -> Iterable[str]:
    for word in _DISTRICT_WORDS_RU:
        yield f"{stem_ru} {word}"
        yield f"{word} {stem_ru}"
    stems = {stem_en}
    if stem_en.endswith("y"):
        stems.update(stem_en[:-1] + ending for ending in _ENDING_VARIANTS)
    for stem in stems:
        for word in _DISTRICT_WORDS_EN:
            yield f"{stem} {word}"


class Gazetteer:
    """The bundled list of places and the matching rules of the offline geocoder."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.cities: tuple[City, ...] = ()
        self._aliases: dict[tuple[str, ...], list[_Place]] = {}
        cities: list[City] = []
        try:
            for entry in data["cities"]:
                city = City(
                    key=entry["key"],
                    name_ru=entry["ru"],
                    name_en=entry["en"],
                    point=GeoPoint(entry["lat"], entry["lng"]),
                    timezone=entry["timezone"],
                    territory_ring=tuple(
                        (float(lng), float(lat))
                        for lng, lat in entry["territory"]["coordinates"][0]
                    ),
                )
                parse_territory(city.territory())  # a broken bundled territory fails at load
                cities.append(city)
                self._add(
                    _Place(city.key, "city", city, city.name_ru, city.name_en, city.point, False),
                    [city.name_ru, city.name_en, *entry.get("aliases", ())],
                )
                for district in entry.get("districts", ()):
                    place = _Place(
                        district["key"],
                        "district",
                        city,
                        f"{district['ru']} район",
                        f"{district['en']} District",
                        GeoPoint(district["lat"], district["lng"]),
                        False,
                    )
                    self._add(
                        place,
                        [
                            *_district_aliases(district["ru"], district["en"]),
                            *district.get("aliases", ()),
                        ],
                    )
                for area in entry.get("areas", ()):
                    place = _Place(
                        area["key"],
                        "area",
                        city,
                        area["ru"],
                        area["en"],
                        GeoPoint(area["lat"], area["lng"]),
                        bool(area.get("requires_city", False)),
                    )
                    self._add(place, [area["ru"], area["en"], *area.get("aliases", ())])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"The gazetteer is malformed: {exc!r}") from exc
        self.cities = tuple(cities)
        self._longest_alias = max((len(alias) for alias in self._aliases), default=0)

    def _add(self, place: _Place, names: Iterable[str]) -> None:
        for name in names:
            tokens = tuple(_normalise(name).split())
            if tokens:
                bucket = self._aliases.setdefault(tokens, [])
                if place not in bucket:
                    bucket.append(place)

    def match(self, query: str) -> _Place | None:
        """The place a free-text query most specifically names, or None.

        Every run of whole words of the query is looked up among the aliases. Among the places
        found, ranked best first:
        1. places in a city the query also names (when it names any): "Кировский район,
           Новосибирск" is Novosibirsk's, not Saint Petersburg's Kirovsky District;
        2. the more specific kind: area over district over city;
        3. the longer alias, so "Saint Petersburg" beats a stray "Moscow" in "Moscow Avenue".
        If the best rank holds two different places (a "Central District" with no city), it is
        ambiguous and the next rank is tried; areas whose names are common words (requires_city)
        count only with their city.
        """
        tokens = _normalise(query).split()
        found: dict[int, tuple[_Place, int]] = {}
        for start in range(len(tokens)):
            for end in range(start + 1, min(len(tokens), start + self._longest_alias) + 1):
                alias = tuple(tokens[start:end])
                for place in self._aliases.get(alias, ()):
                    length = len(" ".join(alias))
                    if id(place) not in found or found[id(place)][1] < length:
                        found[id(place)] = (place, length)
        named_cities = {place.city.key for place, _ in found.values() if place.kind == "city"}
        ranked: dict[tuple[bool, int, int], list[_Place]] = {}
        for place, length in found.values():
            in_named_city = place.city.key in named_cities
            if place.requires_city and not in_named_city:
                continue
            rank = (in_named_city or not named_cities, _LEVEL[place.kind], length)
            ranked.setdefault(rank, []).append(place)
        for rank in sorted(ranked, reverse=True):
            if len(ranked[rank]) == 1:
                return ranked[rank][0]
        return None

    def city(self, name: str) -> City:
        """The city with this name or alias (any language, case, punctuation); KeyError if none."""
        for place in self._aliases.get(tuple(_normalise(name).split()), ()):
            if place.kind == "city":
                return place.city
        known = ", ".join(city.name_en for city in self.cities)
        raise KeyError(f"No city {name!r} in the gazetteer; known: {known}")


@cache
def _bundled_gazetteer() -> Gazetteer:
    with GAZETTEER_PATH.open(encoding="utf-8") as file:
        return Gazetteer(json.load(file))


def cities() -> tuple[City, ...]:
    """The demo cities of the bundled gazetteer, in its order."""
    return _bundled_gazetteer().cities


def city_territory(name: str) -> dict[str, Any]:
    """A rough GeoJSON Polygon around a demo city, found by any of its names ("СПб", "Kazan").

    A fresh dict each call. KeyError for a city the gazetteer does not know.
    """
    return _bundled_gazetteer().city(name).territory()


class OfflineGeocoder:
    """Geocodes from the bundled gazetteer, without any network.

    A query that is just a coordinate pair ("59.93, 30.31", latitude first) gives that point
    (GeocodingError, not transient, when it is out of range). Otherwise the most specific named
    place wins (see `Gazetteer.match`): "Kupchino, Saint Petersburg" gives Kupchino's centre,
    "ул. Ленина 5, Новосибирск" the centre of Novosibirsk (the gazetteer has no streets, so the
    point is only as precise as the smallest place named). None when nothing is recognised.
    `language` ("ru" or "en") picks the language of display names.
    """

    def __init__(self, *, language: str = "ru", gazetteer: Gazetteer | None = None) -> None:
        if language not in {"ru", "en"}:
            raise ValueError(f"language must be 'ru' or 'en', got {language!r}")
        self.language = language
        self.gazetteer = gazetteer if gazetteer is not None else _bundled_gazetteer()

    def geocode(self, query: str) -> GeocodeResult | None:
        """See the class docstring. A blank query is a caller's mistake: GeocodingError."""
        if not query or not query.strip():
            raise GeocodingError("Nothing to geocode: the address is blank.", False)
        point = _explicit_point(query)
        if point is not None:
            return GeocodeResult(point, f"{point.lat:.6f}, {point.lng:.6f}", SOURCE_COORDINATES)
        place = self.gazetteer.match(query)
        if place is None:
            return None
        return GeocodeResult(place.point, place.display_name(self.language), SOURCE_GAZETTEER)


# --- Nominatim -----------------------------------------------------------------------------------

DEFAULT_USER_AGENT = "crewdispatch-geocoder/0.1"
_MAX_RETRIES_LIMIT = 5


def _is_transient(error: GeocoderServiceError) -> bool:
    """Whether asking again later may succeed, from geopy's exception (and HTTP status)."""
    if isinstance(error, GeocoderTimedOut | GeocoderUnavailable | GeocoderQuotaExceeded):
        return True  # includes 503/504 (geopy maps them to TimedOut), 429 and refused connections
    if isinstance(
        error,
        GeocoderQueryError
        | GeocoderAuthenticationFailure
        | GeocoderInsufficientPrivileges
        | GeocoderParseError,
    ):
        return False  # 400, 401, 403, or an answer that is not Nominatim's JSON
    # A plain GeocoderServiceError: 500, 502 and other statuses, or a lower-level failure.
    status = getattr(error.__cause__, "status_code", None)
    return status is None or status >= 500


def _adapter_factory() -> Callable[..., Any]:
    """geopy's HTTP adapter without retries of its own.

    geopy's requests adapter retries each request twice inside urllib3, read timeouts included,
    so one call could take three timeouts before the rate limiter even saw an error. Retries are
    counted in one place only: the rate limiter's `max_retries`.
    """
    if RequestsAdapter.is_available:
        return partial(RequestsAdapter, max_retries=0)
    return URLLibAdapter  # no retries of its own


class NominatimGeocoder:
    """Geocodes with geopy's real `Nominatim` client, behind geopy's `RateLimiter`.

    - `domain`, `scheme`: the server (`NOMINATIM_DOMAIN`, `NOMINATIM_SCHEME`); `domain` is a host
      with an optional port and path, without scheme.
    - `user_agent`: the public server's usage policy requires one that names the application.
    - `timeout`: seconds per HTTP request.
    - `min_delay_seconds`: the least time between two requests of this instance. The public server
      allows one request a second for a whole application, hence the default 1.0; use 0 for a
      self-hosted server. The limiter is per instance, so per process: with several processes on
      the public server, self-host or keep the geocoding in one queue.
    - `max_retries` (0-5, default 1): extra attempts after a transient failure, `error_wait_seconds`
      apart (never less than `min_delay_seconds`). The worst case for one call is therefore
      (max_retries + 1) x timeout + max_retries x error_wait_seconds: 11 s with the defaults.
      Permanent errors (a bad query, refused credentials) are never retried; longer patience
      belongs to the caller's task retries with backoff, not to a request thread.
    - `cache_size`: answers (found or not found) kept in memory per normalised query; 0 disables.
      Errors are never cached.

    Returns None when Nominatim finds nothing; raises GeocodingError (with `transient`) otherwise.
    """

    def __init__(
        self,
        domain: str = "nominatim.openstreetmap.org",
        scheme: str = "https",
        user_agent: str = DEFAULT_USER_AGENT,
        timeout: float = 5,
        min_delay_seconds: float = 1.0,
        *,
        max_retries: int = 1,
        error_wait_seconds: float = 1.0,
        cache_size: int = 256,
    ) -> None:
        domain = domain.strip().strip("/")
        if not domain or "://" in domain:
            raise ValueError(
                f"Nominatim domain must be a host[:port][/path] without scheme, got {domain!r}; "
                "give the scheme separately (NOMINATIM_SCHEME)."
            )
        scheme = scheme.strip().lower()
        if scheme not in {"http", "https"}:
            raise ValueError(f"Nominatim scheme must be 'http' or 'https', got {scheme!r}")
        timeout = float(timeout)
        min_delay_seconds = float(min_delay_seconds)
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        if not min_delay_seconds >= 0:
            raise ValueError(f"min_delay_seconds must be >= 0, got {min_delay_seconds}")
        max_retries = int(max_retries)
        if not 0 <= max_retries <= _MAX_RETRIES_LIMIT:
            raise ValueError(
                f"max_retries must be within 0..{_MAX_RETRIES_LIMIT}, got {max_retries}"
            )
        self.domain = domain
        self.scheme = scheme
        self._client = Nominatim(
            domain=domain,
            scheme=scheme,
            user_agent=user_agent,
            timeout=timeout,
            adapter_factory=_adapter_factory(),
        )
        self._limited: Callable[[str], Any] = RateLimiter(
            self._ask,
            min_delay_seconds=min_delay_seconds,
            max_retries=max_retries,
            # geopy asserts error_wait_seconds >= min_delay_seconds; the limit must hold on retries.
            error_wait_seconds=max(float(error_wait_seconds), min_delay_seconds),
            # The default swallows the last error and returns None, which would turn an outage
            # into "address not found" and cache it. We want the error.
            swallow_exceptions=False,
        )
        self._cache_size = max(0, int(cache_size))
        self._cache: OrderedDict[str, GeocodeResult | None] = OrderedDict()
        self._cache_lock = threading.Lock()

    def _ask(self, query: str) -> Any:
        """One request. Transient geopy errors propagate (the rate limiter retries them); permanent
        ones become GeocodingError, which the limiter does not retry."""
        try:
            return self._client.geocode(query, exactly_one=True)
        except GeocoderServiceError as exc:
            if _is_transient(exc):
                raise
            raise GeocodingError(f"Nominatim refused the query: {exc}", False) from exc
        except (TypeError, ValueError) as exc:  # a result without usable coordinates
            raise GeocodingError(f"Nominatim answered something unreadable: {exc}", False) from exc

    def geocode(self, query: str) -> GeocodeResult | None:
        """See the class docstring. A blank query is a caller's mistake: GeocodingError."""
        if not query or not query.strip():
            raise GeocodingError("Nothing to geocode: the address is blank.", False)
        key = " ".join(query.casefold().split())
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        try:
            location = self._limited(query)
        except GeocoderServiceError as exc:
            raise GeocodingError(
                f"Nominatim at {self.domain} did not answer: {exc}", _is_transient(exc)
            ) from exc
        except GeopyError as exc:
            raise GeocodingError(f"Nominatim could not be used: {exc}", False) from exc
        result = None
        if location is not None:
            try:
                point = GeoPoint(location.latitude, location.longitude)
            except (TypeError, ValueError) as exc:
                raise GeocodingError(f"Nominatim gave an impossible point: {exc}", False) from exc
            result = GeocodeResult(point, location.address or query, SOURCE_NOMINATIM)
        if self._cache_size:
            with self._cache_lock:
                self._cache[key] = result
                self._cache.move_to_end(key)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return result


# --- Choosing a geocoder -------------------------------------------------------------------------

_BACKENDS: dict[str, type] = {"offline": OfflineGeocoder, "nominatim": NominatimGeocoder}
_built: dict[tuple[Any, ...], Geocoder] = {}
_built_lock = threading.Lock()


def _options(backend: type) -> set[str]:
    return set(inspect.signature(backend).parameters)


def build_geocoder(name: str, **config: Any) -> Geocoder:
    """The geocoder called `name` ("offline" or "nominatim", the GEOCODER setting).

    `config` may hold the options of every backend at once (settings pass the Nominatim ones
    whatever GEOCODER says); each backend takes its own and ignores the others'. An option no
    backend knows, or an unknown name, raises ValueError.

    Identical calls return the same instance, so that one process shares one rate limiter and one
    answer cache however often a service asks for the geocoder.
    """
    backend = _BACKENDS.get(name.strip().lower()) if isinstance(name, str) else None
    if backend is None:
        raise ValueError(
            f"Unknown geocoder {name!r} (setting GEOCODER): choose one of "
            f"{', '.join(sorted(_BACKENDS))}."
        )
    known = set().union(*(_options(each) for each in _BACKENDS.values()))
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(f"Unknown geocoder option(s) {', '.join(unknown)}; known: {sorted(known)}")
    own = _options(backend)
    options = {key: value for key, value in config.items() if key in own}
    try:
        cache_key: tuple[Any, ...] | None = (backend, tuple(sorted(options.items())))
        hash(cache_key)
    except TypeError:
        cache_key = None  # unhashable option values: build a fresh one
    if cache_key is None:
        return backend(**options)
    with _built_lock:
        if cache_key not in _built:
            _built[cache_key] = backend(**options)
        return _built[cache_key]
