"""Geocoding: turning an address into a point.

The `Geocoder` protocol, `OfflineGeocoder` (the bundled gazetteer of the demo cities plus explicit
coordinates) and `NominatimGeocoder` (geopy's real client behind its rate limiter), chosen by name
with `build_geocoder`. Pure: no Django import; configuration comes in as arguments (see
`build_geocoder`), so the same code serves services, Celery tasks, the simulator and tests.
"""

from __future__ import annotations

import inspect
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, runtime_checkable

from geopy.adapters import RequestsAdapter, URLLibAdapter
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

from .gazetteer import Gazetteer, bundled_gazetteer
from .points import GeoPoint

# `GeocodeResult.source` values.
SOURCE_GAZETTEER = "gazetteer"
SOURCE_COORDINATES = "coordinates"
SOURCE_NOMINATIM = "nominatim"


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


# --- The offline geocoder ---------------------------------------------------------------------

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
        self.gazetteer = gazetteer if gazetteer is not None else bundled_gazetteer()

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
    factory: Callable[..., Any] = URLLibAdapter  # no retries of its own
    if RequestsAdapter.is_available:
        factory = partial(RequestsAdapter, max_retries=0)
    return factory


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

_BACKENDS: dict[str, Callable[..., Geocoder]] = {
    "offline": OfflineGeocoder, "nominatim": NominatimGeocoder,
}
_built: dict[tuple[Any, ...], Geocoder] = {}
_built_lock = threading.Lock()


def _options(backend: Callable[..., Geocoder]) -> set[str]:
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
