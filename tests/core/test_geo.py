"""core.geo: points, distances, the offline gazetteer, Nominatim through geopy.

Pure: no Django, no network (Nominatim is a local fake server driven by geopy's real client).
"""

# Russian addresses are the point of these tests; Cyrillic that looks Latin is intended.

from __future__ import annotations

import json
import math
import pickle
from itertools import pairwise

import numpy as np
import pytest
from geopy.distance import great_circle
from hypothesis import given, settings
from hypothesis import strategies as st

from core import geo
from core.geo import GeocodingError, GeoPoint, territories_overlap, territory_contains
from tests.fakes.nominatim_server import FakeNominatim

latitudes = st.floats(min_value=-90, max_value=90, allow_nan=False)
longitudes = st.floats(min_value=-180, max_value=180, allow_nan=False)


# --- GeoPoint --------------------------------------------------------------------------------


def test_geopoint_stores_floats_and_is_frozen() -> None:
    point = GeoPoint(59, 30)
    assert (point.lat, point.lng) == (59.0, 30.0)
    assert isinstance(point.lat, float)
    with pytest.raises(AttributeError):
        point.lat = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("lat", "lng", "error"),
    [
        (91, 0, ValueError),
        (-90.0001, 0, ValueError),
        (0, 180.5, ValueError),
        (math.nan, 0, ValueError),
        (0, math.inf, ValueError),
        ("59.9", 30, TypeError),
        (True, 30, TypeError),
        (None, 30, TypeError),
    ],
)
def test_geopoint_rejects_impossible_points(lat: object, lng: object, error: type) -> None:
    with pytest.raises(error):
        GeoPoint(lat, lng)  # type: ignore[arg-type]


def test_geocoding_error_keeps_transient_through_pickle() -> None:
    error = pickle.loads(pickle.dumps(GeocodingError("service down", transient=True)))
    assert error.transient is True
    assert str(error) == "service down"


# --- Offline geocoder --------------------------------------------------------------------------

SPB = GeoPoint(59.9386, 30.3141)
NOVOSIBIRSK = GeoPoint(55.0084, 82.9357)
CHELNY = GeoPoint(55.7436, 52.3958)
KUPCHINO = GeoPoint(59.83, 30.38)
PRIMORSKY = GeoPoint(60.0, 30.25)


@pytest.fixture(scope="module")
def offline() -> geo.OfflineGeocoder:
    return geo.OfflineGeocoder()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Санкт-Петербург", SPB),
        ("Saint Petersburg", SPB),
        ("St Petersburg", SPB),
        ("St. Petersburg", SPB),
        ("saint-petersburg", SPB),
        ("SPb", SPB),
        ("СПб", SPB),
        ("Питер", SPB),
        ("г. Санкт-Петербург, ул. Садовая, д. 10", SPB),
        ("г.Санкт-Петербург,ул.Садовая", SPB),
        ("Новосибирск", NOVOSIBIRSK),
        ("Novosibirsk", NOVOSIBIRSK),
        ("НОВОСИБИРСК", NOVOSIBIRSK),
        ("Набережные Челны", CHELNY),
        ("Naberezhnye Chelny", CHELNY),
        ("Наб. Челны, пр. Мира 1", CHELNY),
        ("Казань", GeoPoint(55.7963, 49.1088)),
        ("Moscow", GeoPoint(55.7558, 37.6173)),
        ("Екатеринбург", GeoPoint(56.8389, 60.6057)),
        ("Ekaterinburg", GeoPoint(56.8389, 60.6057)),
    ],
)
def test_offline_finds_cities_by_any_common_name(
    offline: geo.OfflineGeocoder, query: str, expected: GeoPoint
) -> None:
    result = offline.geocode(query)
    assert result is not None
    assert result.point == expected
    assert result.source == geo.SOURCE_GAZETTEER


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Приморский район", PRIMORSKY),
        ("Приморский р-н", PRIMORSKY),
        ("Primorsky District", PRIMORSKY),
        ("Primorskiy rayon, Saint Petersburg", PRIMORSKY),
        ("Купчино", KUPCHINO),
        ("Kupchino", KUPCHINO),
        ("Академгородок", GeoPoint(54.848, 83.1)),
        ("Akademgorodok, Novosibirsk", GeoPoint(54.848, 83.1)),
        ("Автозаводский район, Набережные Челны", GeoPoint(55.745, 52.435)),
        ("Васильевский остров", GeoPoint(59.941, 30.25)),
    ],
)
def test_offline_finds_districts_and_areas_in_both_languages(
    offline: geo.OfflineGeocoder, query: str, expected: GeoPoint
) -> None:
    result = offline.geocode(query)
    assert result is not None
    assert result.point == expected


@pytest.mark.parametrize(
    "query",
    [
        "Kupchino, Saint Petersburg",
        "Санкт-Петербург, Купчино, ул. Белы Куна 3",
        "Купчино, Фрунзенский район, Санкт-Петербург",
    ],
)
def test_offline_the_most_specific_place_wins(offline: geo.OfflineGeocoder, query: str) -> None:
    result = offline.geocode(query)
    assert result is not None
    assert result.point == KUPCHINO
    assert result.display_name == "Купчино, Санкт-Петербург, Россия"


def test_offline_a_shared_district_name_is_resolved_by_the_city(
    offline: geo.OfflineGeocoder,
) -> None:
    nsk = offline.geocode("Кировский район, Новосибирск")
    spb = offline.geocode("Kirovsky district, St Petersburg")
    assert nsk is not None
    assert spb is not None
    assert nsk.point == GeoPoint(54.964, 82.895)
    assert spb.point == GeoPoint(59.879, 30.262)
    # Without a city the name is ambiguous (three cities have a Central District): not a guess.
    assert offline.geocode("Центральный район") is None


def test_offline_common_word_areas_need_their_city(offline: geo.OfflineGeocoder) -> None:
    assert offline.geocode("Новый город") is None
    new_city = offline.geocode("Новый город, Набережные Челны")
    assert new_city is not None
    assert new_city.point == GeoPoint(55.743, 52.41)


def test_offline_a_named_city_outweighs_an_area_of_another(offline: geo.OfflineGeocoder) -> None:
    result = offline.geocode("Kupchino street 5, Moscow")
    assert result is not None
    assert result.point == GeoPoint(55.7558, 37.6173)


def test_offline_reads_yo_as_ye_and_ignores_case(offline: geo.OfflineGeocoder) -> None:
    points = {offline.geocode(q).point for q in ("Толмачёво", "Толмачево", "ТОЛМАЧЕВО")}  # type: ignore[union-attr]
    assert points == {GeoPoint(55.0126, 82.6507)}


@pytest.mark.parametrize(
    "query", ["59.93, 30.31", "59.93 30.31", "59.93,30.31", "59,93 30,31", " 59.93° ; 30.31° "]
)
def test_offline_accepts_explicit_coordinates(offline: geo.OfflineGeocoder, query: str) -> None:
    result = offline.geocode(query)
    assert result is not None
    assert result.point == GeoPoint(59.93, 30.31)
    assert result.source == geo.SOURCE_COORDINATES


@given(lat=latitudes, lng=longitudes)
def test_offline_explicit_coordinates_round_trip(lat: float, lng: float) -> None:
    result = geo.OfflineGeocoder().geocode(f"{lat:.6f}, {lng:.6f}")
    assert result is not None
    assert result.point == GeoPoint(float(f"{lat:.6f}"), float(f"{lng:.6f}"))


def test_offline_out_of_range_coordinates_are_a_bad_query(offline: geo.OfflineGeocoder) -> None:
    with pytest.raises(GeocodingError) as caught:
        offline.geocode("95.1, 30.3")
    assert caught.value.transient is False


@pytest.mark.parametrize("query", ["Atlantis", "ул. Ленина 5", "Paris, France", "12"])
def test_offline_unknown_is_none(offline: geo.OfflineGeocoder, query: str) -> None:
    assert offline.geocode(query) is None


def test_offline_blank_query_is_a_bad_query(offline: geo.OfflineGeocoder) -> None:
    with pytest.raises(GeocodingError) as caught:
        offline.geocode("   ")
    assert caught.value.transient is False


def test_offline_display_names_in_english() -> None:
    result = geo.OfflineGeocoder(language="en").geocode("Приморский район")
    assert result is not None
    assert result.display_name == "Primorsky District, Saint Petersburg, Russia"


def _bundled() -> dict:
    return json.loads(geo.GAZETTEER_PATH.read_text(encoding="utf-8"))


def test_every_bundled_place_is_found_by_its_own_names(offline: geo.OfflineGeocoder) -> None:
    """No alias in the data shadows another place: each entry geocodes to itself."""
    for city in _bundled()["cities"]:
        queries: list[tuple[str, dict]] = [(city["ru"], city), (city["en"], city)]
        for district in city["districts"]:
            queries.append((f"{district['ru']} район, {city['ru']}", district))
            queries.append((f"{district['en']} district, {city['en']}", district))
        for area in city["areas"]:
            suffix = f", {city['ru']}" if area.get("requires_city") else ""
            queries.append((area["ru"] + suffix, area))
            queries.append((area["en"] + suffix.replace(city["ru"], city["en"]), area))
        for query, entry in queries:
            result = offline.geocode(query)
            assert result is not None, query
            assert result.point == GeoPoint(entry["lat"], entry["lng"]), query


# --- Nominatim through geopy -------------------------------------------------------------------

UA = "crewdispatch-tests/1.0 (ops@example.invalid)"


def nominatim(fake: FakeNominatim, **options: object) -> geo.NominatimGeocoder:
    settings = {"min_delay_seconds": 0, "timeout": 2, "error_wait_seconds": 0, "user_agent": UA}
    settings.update(options)
    return geo.NominatimGeocoder(domain=fake.domain, scheme="http", **settings)  # type: ignore[arg-type]


def test_nominatim_found_parses_string_coordinates() -> None:
    with FakeNominatim(
        {"Kupchino": {"lat": 59.8297, "lng": 30.3756, "display_name": "Купчино, Санкт-Петербург"}}
    ) as fake:
        result = nominatim(fake).geocode("Kupchino")
    assert result is not None
    assert result.point == GeoPoint(59.8297, 30.3756)
    assert result.display_name == "Купчино, Санкт-Петербург"
    assert result.source == geo.SOURCE_NOMINATIM
    [request] = fake.requests
    assert request.path == "/search"
    assert request.params == {"q": "Kupchino", "format": "json", "limit": "1"}


def test_nominatim_not_found_is_none() -> None:
    with FakeNominatim({"Kupchino": (59.83, 30.38)}) as fake:
        assert nominatim(fake).geocode("Atlantis") is None


def test_nominatim_sends_the_configured_user_agent() -> None:
    with FakeNominatim() as fake:
        nominatim(fake).geocode("anything")
    assert fake.requests[0].user_agent == UA


def test_nominatim_answers_are_cached_per_normalised_query() -> None:
    with FakeNominatim({"Kupchino": (59.83, 30.38)}) as fake:
        geocoder = nominatim(fake)
        first = geocoder.geocode("Kupchino")
        second = geocoder.geocode("  kupchino ")
        assert geocoder.geocode("Atlantis") is None
        assert geocoder.geocode("atlantis") is None
    assert first == second
    assert fake.queries == ["Kupchino", "Atlantis"]


@pytest.mark.parametrize(
    ("status", "transient"),
    [(503, True), (504, True), (502, True), (500, True), (429, True), (400, False), (403, False)],
)
def test_nominatim_http_errors_map_to_transient_or_not(status: int, transient: bool) -> None:
    with FakeNominatim() as fake:
        fake.fail_next(status, times=5)
        with pytest.raises(GeocodingError) as caught:
            nominatim(fake, max_retries=0).geocode("Kupchino")
    assert caught.value.transient is transient
    assert len(fake.requests) == 1


def test_nominatim_retries_a_transient_error_a_bounded_number_of_times() -> None:
    with FakeNominatim({"Kupchino": (59.83, 30.38)}) as fake:
        fake.fail_next(503)
        assert nominatim(fake, max_retries=1).geocode("Kupchino") is not None
        assert len(fake.requests) == 2

        fake.fail_next(503, times=10)
        with pytest.raises(GeocodingError) as caught:
            nominatim(fake, max_retries=2).geocode("Kupchino")
        assert caught.value.transient is True
        assert len(fake.requests) == 2 + 3  # the first try and two retries, then it gives up


def test_nominatim_does_not_retry_a_bad_query() -> None:
    with FakeNominatim() as fake:
        fake.fail_next(400, times=5)
        with pytest.raises(GeocodingError) as caught:
            nominatim(fake, max_retries=3).geocode("Kupchino")
    assert caught.value.transient is False
    assert len(fake.requests) == 1


def test_nominatim_errors_are_not_cached() -> None:
    with FakeNominatim({"Kupchino": (59.83, 30.38)}) as fake:
        geocoder = nominatim(fake, max_retries=0)
        fake.fail_next(503)
        with pytest.raises(GeocodingError):
            geocoder.geocode("Kupchino")
        assert geocoder.geocode("Kupchino") is not None


def test_nominatim_timeout_is_transient_and_tried_once_per_attempt() -> None:
    with FakeNominatim({"Kupchino": (59.83, 30.38)}, delay=2.0) as fake:
        with pytest.raises(GeocodingError) as caught:
            nominatim(fake, timeout=0.2, max_retries=0).geocode("Kupchino")
        # geopy's HTTP adapter would otherwise retry read timeouts on its own, silently.
        assert len(fake.requests) == 1
    assert caught.value.transient is True


def test_nominatim_server_down_is_transient() -> None:
    with FakeNominatim() as fake:
        domain = fake.domain
    geocoder = geo.NominatimGeocoder(
        domain=domain, scheme="http", user_agent=UA, min_delay_seconds=0, max_retries=0
    )
    with pytest.raises(GeocodingError) as caught:
        geocoder.geocode("Kupchino")
    assert caught.value.transient is True


def test_nominatim_rate_limiter_spaces_requests() -> None:
    delay = 0.2
    with FakeNominatim({"a": (1, 1)}) as fake:
        geocoder = nominatim(fake, min_delay_seconds=delay)
        for query in ("a", "b", "c", "d"):
            geocoder.geocode(query)
    times = [request.received_at for request in fake.requests]
    assert len(times) == 4
    # Arrival times jitter by a few milliseconds around the limiter's own clock.
    assert all(later - earlier >= delay - 0.03 for earlier, later in pairwise(times))


def test_nominatim_blank_query_is_a_bad_query() -> None:
    with FakeNominatim() as fake:
        with pytest.raises(GeocodingError) as caught:
            nominatim(fake).geocode("")
        assert fake.requests == []
    assert caught.value.transient is False


@pytest.mark.parametrize(
    "options",
    [
        {"domain": "https://nominatim.example.com"},
        {"domain": ""},
        {"scheme": "ftp"},
        {"timeout": 0},
        {"min_delay_seconds": -1},
        {"max_retries": 50},
    ],
)
def test_nominatim_rejects_bad_configuration(options: dict) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (each case has its own message)
        geo.NominatimGeocoder(**{"user_agent": UA, **options})


# --- build_geocoder ------------------------------------------------------------------------

SETTINGS_LIKE = {
    "domain": "nominatim.example.com",
    "scheme": "https",
    "user_agent": UA,
    "timeout": 5.0,
    "min_delay_seconds": 1.0,
}


def test_build_geocoder_offline_ignores_nominatim_options() -> None:
    geocoder = geo.build_geocoder("offline", **SETTINGS_LIKE)
    assert isinstance(geocoder, geo.OfflineGeocoder)
    assert isinstance(geocoder, geo.Geocoder)


def test_build_geocoder_nominatim_and_reuse() -> None:
    geocoder = geo.build_geocoder(" Nominatim ", **SETTINGS_LIKE)
    assert isinstance(geocoder, geo.NominatimGeocoder)
    assert geocoder.domain == "nominatim.example.com"
    # One instance per configuration, so the process shares one rate limiter.
    assert geo.build_geocoder("nominatim", **SETTINGS_LIKE) is geocoder


def test_build_geocoder_unknown_name() -> None:
    with pytest.raises(ValueError, match=r"Unknown geocoder 'google'.*nominatim, offline"):
        geo.build_geocoder("google")


def test_build_geocoder_unknown_option() -> None:
    with pytest.raises(ValueError, match="domian"):
        geo.build_geocoder("nominatim", domian="x")


# --- Distances -----------------------------------------------------------------------------


def test_great_circle_km_is_geopys() -> None:
    a, b = SPB, NOVOSIBIRSK
    assert geo.great_circle_km(a, b) == pytest.approx(
        great_circle((a.lat, a.lng), (b.lat, b.lng)).km
    )
    assert geo.great_circle_km(a, b) == pytest.approx(3125, rel=0.01)
    assert geo.EARTH_RADIUS_KM == 6371.009


@settings(max_examples=200)
@given(
    origin=st.tuples(latitudes, longitudes),
    others=st.lists(st.tuples(latitudes, longitudes), min_size=1, max_size=20),
)
def test_haversine_vec_agrees_with_geopy_great_circle(
    origin: tuple[float, float], others: list[tuple[float, float]]
) -> None:
    lats = np.array([lat for lat, _ in others])
    lngs = np.array([lng for _, lng in others])
    distances = geo.haversine_km_vec(origin[0], origin[1], lats, lngs)
    assert distances.shape == (len(others),)
    for distance, other in zip(distances, others, strict=True):
        expected = great_circle(origin, other).km
        # 1e-6 relative; 1 mm absolute for coincident points, where relative error is meaningless.
        assert math.isclose(distance, expected, rel_tol=1e-6, abs_tol=1e-6)


def test_haversine_vec_known_values() -> None:
    distances = geo.haversine_km_vec(0.0, 0.0, [0.0, 0.0, 90.0], [0.0, 180.0, 0.0])
    half = math.pi * geo.EARTH_RADIUS_KM
    np.testing.assert_allclose(distances, [0.0, half, half / 2], rtol=1e-12)


@settings(max_examples=300)
@given(
    lat=latitudes,
    lng=longitudes,
    radius_km=st.floats(min_value=0, max_value=3000, allow_nan=False),
    fraction=st.floats(min_value=0, max_value=1),
    bearing=st.floats(min_value=0, max_value=360, exclude_max=True),
)
def test_bounding_box_holds_every_point_within_the_radius(
    lat: float, lng: float, radius_km: float, fraction: float, bearing: float
) -> None:
    centre = GeoPoint(lat, lng)
    min_lat, max_lat, min_lng, max_lng = geo.bounding_box(centre, radius_km)
    inside = great_circle(kilometers=radius_km * fraction).destination((lat, lng), bearing)
    assert min_lat <= inside.latitude <= max_lat
    assert min_lng <= inside.longitude <= max_lng


def test_bounding_box_is_tight_away_from_poles_and_antimeridian() -> None:
    min_lat, max_lat, min_lng, max_lng = geo.bounding_box(SPB, 10)
    degrees_lat = math.degrees(10 / geo.EARTH_RADIUS_KM)
    assert max_lat - min_lat == pytest.approx(2 * degrees_lat, rel=1e-6)
    # At 60° N a degree of longitude is half as long: the box is about twice as wide in degrees.
    assert max_lng - min_lng == pytest.approx(
        2 * degrees_lat / math.cos(math.radians(SPB.lat)), rel=1e-3
    )


def test_bounding_box_near_a_pole_or_the_antimeridian_spans_all_longitudes() -> None:
    assert geo.bounding_box(GeoPoint(89.95, 10), 20)[2:] == (-180.0, 180.0)
    assert geo.bounding_box(GeoPoint(89.95, 10), 20)[1] == 90.0
    assert geo.bounding_box(GeoPoint(64.7, 179.95), 20)[2:] == (-180.0, 180.0)


def test_bounding_box_rejects_negative_radius() -> None:
    with pytest.raises(ValueError, match="radius_km"):
        geo.bounding_box(SPB, -1)


# --- The demo cities' territories -------------------------------------------------------------


def test_city_territory_by_any_name_and_a_fresh_copy() -> None:
    territory = geo.city_territory("СПб")
    assert territory == geo.city_territory("Saint Petersburg")
    assert territory["type"] == "Polygon"
    territory["coordinates"].clear()
    assert geo.city_territory("Питер")["coordinates"]


def test_city_territory_unknown_city() -> None:
    with pytest.raises(KeyError, match="Atlantis"):
        geo.city_territory("Atlantis")


def test_every_demo_city_and_place_lies_in_its_city_territory() -> None:
    for city in _bundled()["cities"]:
        territory = geo.city_territory(city["en"])
        for place in [city, *city["districts"], *city["areas"]]:
            assert territory_contains(territory, lat=place["lat"], lng=place["lng"]), place


def test_demo_city_territories_do_not_overlap() -> None:
    territories = [city.territory() for city in geo.cities()]
    assert len(territories) >= 3
    for index, first in enumerate(territories):
        for second in territories[index + 1 :]:
            assert not territories_overlap(first, second)


def test_demo_cities_carry_time_zones() -> None:
    zones = {city.name_en: city.timezone for city in geo.cities()}
    assert zones["Saint Petersburg"] == "Europe/Moscow"
    assert zones["Novosibirsk"] == "Asia/Novosibirsk"
    assert zones["Naberezhnye Chelny"] == "Europe/Moscow"
