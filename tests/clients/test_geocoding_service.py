"""`clients.services.address_geocode` with GEOCODER=nominatim, through geopy's real client
against a local fake Nominatim server."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from clients.models import GeocodeCache, Site
from clients.services import address_geocode
from tests.fakes.nominatim_server import FakeNominatim

KUPCHINO = "Kupchino, Saint Petersburg"


@pytest.fixture
def nominatim(settings: Any, db: Any) -> Iterator[FakeNominatim]:
    places = {
        KUPCHINO: {"lat": 59.8297, "lng": 30.3758, "display_name": "Купчино, Санкт-Петербург"},
        "Lenina 5, Novosibirsk": (55.0302, 82.9204),
    }
    with FakeNominatim(places) as fake:
        settings.GEOCODER = "nominatim"
        settings.NOMINATIM_DOMAIN = fake.domain
        settings.NOMINATIM_SCHEME = "http"
        settings.NOMINATIM_MIN_DELAY_SECONDS = 0
        settings.NOMINATIM_MAX_RETRIES = 0
        yield fake


def _address_errors(excinfo: Any) -> str:
    return " ".join(excinfo.value.message_dict["address"])


class TestFound:
    def test_found_address_is_cached_and_not_asked_again(
        self, nominatim: FakeNominatim, settings: Any
    ) -> None:
        point = address_geocode(address=KUPCHINO)
        assert (point.lat, point.lng) == pytest.approx((59.8297, 30.3758))
        assert nominatim.queries == [KUPCHINO]
        request = nominatim.requests[0]
        assert request.path == "/search"
        assert request.params["format"] == "json"
        assert request.user_agent == settings.NOMINATIM_USER_AGENT

        cached = GeocodeCache.objects.get()
        assert cached.found
        assert cached.source == "nominatim"
        assert (cached.lat, cached.lng) == pytest.approx((59.8297, 30.3758))
        assert cached.display_name == "Купчино, Санкт-Петербург"

        again = address_geocode(address="  kupchino,   SAINT Petersburg ")
        assert (again.lat, again.lng) == (point.lat, point.lng)
        assert len(nominatim.requests) == 1
        assert GeocodeCache.objects.count() == 1

    def test_a_cached_answer_is_used_without_asking(self, nominatim: FakeNominatim) -> None:
        GeocodeCache.objects.create(
            query="lenina 5, novosibirsk", source="nominatim", found=True, lat=55.1, lng=82.8
        )
        point = address_geocode(address="Lenina 5, Novosibirsk")
        assert (point.lat, point.lng) == (55.1, 82.8)
        assert nominatim.requests == []


class TestNotFound:
    def test_unknown_address_is_an_address_error(self, nominatim: FakeNominatim) -> None:
        with pytest.raises(ValidationError) as excinfo:
            address_geocode(address="Nowhere 1, Atlantis")
        assert set(excinfo.value.message_dict) == {"address"}
        assert "could not be found" in _address_errors(excinfo)
        assert nominatim.queries == ["Nowhere 1, Atlantis"]

    def test_not_found_is_remembered(self, nominatim: FakeNominatim) -> None:
        for _ in range(2):
            with pytest.raises(ValidationError):
                address_geocode(address="Nowhere 1, Atlantis")
        assert len(nominatim.requests) == 1
        assert GeocodeCache.objects.get().found is False

    def test_a_very_long_address_is_handled(self, nominatim: FakeNominatim) -> None:
        with pytest.raises(ValidationError) as excinfo:
            address_geocode(address="Straße " * 60)
        assert "address" in excinfo.value.message_dict


class TestServiceDown:
    def test_503_says_the_geocoder_is_unavailable(self, nominatim: FakeNominatim) -> None:
        nominatim.fail_next(503, times=5)
        with pytest.raises(ValidationError) as excinfo:
            address_geocode(address=KUPCHINO)
        message = _address_errors(excinfo)
        assert "unavailable" in message
        assert "lat" in message
        assert not GeocodeCache.objects.exists()

    def test_a_passing_outage_is_retried(self, nominatim: FakeNominatim, settings: Any) -> None:
        settings.NOMINATIM_MAX_RETRIES = 1
        nominatim.fail_next(503)
        point = address_geocode(address=KUPCHINO)
        assert point.lat == pytest.approx(59.8297)
        assert nominatim.queries == [KUPCHINO, KUPCHINO]

    def test_an_outage_is_not_remembered_as_not_found(self, nominatim: FakeNominatim) -> None:
        nominatim.fail_next(503)
        with pytest.raises(ValidationError):
            address_geocode(address=KUPCHINO)
        point = address_geocode(address=KUPCHINO)
        assert point.lat == pytest.approx(59.8297)
        assert GeocodeCache.objects.get().found

    def test_nothing_listening_says_unavailable(self, settings: Any, db: Any) -> None:
        with FakeNominatim() as fake:
            domain = fake.domain
        settings.GEOCODER = "nominatim"
        settings.NOMINATIM_DOMAIN = domain
        settings.NOMINATIM_SCHEME = "http"
        settings.NOMINATIM_MIN_DELAY_SECONDS = 0
        settings.NOMINATIM_MAX_RETRIES = 0
        with pytest.raises(ValidationError) as excinfo:
            address_geocode(address="Somewhere 1, Tver")
        assert "unavailable" in _address_errors(excinfo)


class TestThroughTheAPI:
    def test_site_without_coordinates_gets_the_servers_point(
        self, nominatim: FakeNominatim, spb_api: APIClient, spb_client: Any
    ) -> None:
        response = spb_api.post(
            "/api/v1/sites/", {"client": spb_client.id, "address": KUPCHINO}, format="json"
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["lat"], body["lng"]) == pytest.approx((59.8297, 30.3758))
        assert nominatim.queries == [KUPCHINO]

    def test_site_with_coordinates_does_not_ask(
        self, nominatim: FakeNominatim, spb_api: APIClient, spb_client: Any
    ) -> None:
        response = spb_api.post(
            "/api/v1/sites/",
            {"client": spb_client.id, "address": KUPCHINO, "lat": 59.9, "lng": 30.3},
            format="json",
        )
        assert response.status_code == 201
        assert nominatim.requests == []

    def test_site_during_an_outage_is_a_400_not_a_500(
        self, nominatim: FakeNominatim, spb_api: APIClient, spb_client: Any
    ) -> None:
        nominatim.fail_next(503, times=5)
        response = spb_api.post(
            "/api/v1/sites/", {"client": spb_client.id, "address": KUPCHINO}, format="json"
        )
        assert response.status_code == 400
        assert "unavailable" in " ".join(response.json()["address"])
        assert not Site.objects.filter(client=spb_client).exists()
