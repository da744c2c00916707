"""`lat`/`lng` given as null read like leaving them out: the site (or lead) is geocoded."""

from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from clients.models import Lead, Site
from core import clock

SITES = "/api/v1/sites/"
LEADS = "/api/v1/leads/"
KUPCHINO = "Kupchino, Saint Petersburg"


@pytest.mark.django_db
class TestSiteWithNullCoordinates:
    def test_both_null_is_geocoded_like_omitted(
        self, spb_api: APIClient, spb_client: Any
    ) -> None:
        omitted = spb_api.post(SITES, {"client": spb_client.id, "address": KUPCHINO},
                               format="json")
        nulls = spb_api.post(
            SITES, {"client": spb_client.id, "address": KUPCHINO, "lat": None, "lng": None},
            format="json",
        )
        assert nulls.status_code == 201, nulls.content
        assert omitted.status_code == 201, omitted.content
        body = nulls.json()
        assert (body["lat"], body["lng"]) == (omitted.json()["lat"], omitted.json()["lng"])
        assert body["lat"] == pytest.approx(59.83)
        assert body["lng"] == pytest.approx(30.38)

    def test_both_null_with_an_unknown_address_is_an_address_error(
        self, spb_api: APIClient, spb_client: Any
    ) -> None:
        response = spb_api.post(
            SITES, {"client": spb_client.id, "address": "Nowhere street 1, Atlantis",
                    "lat": None, "lng": None},
            format="json",
        )
        assert response.status_code == 400
        assert set(response.json()) == {"address"}

    @pytest.mark.parametrize(
        ("given", "null_field"),
        [({"lat": None, "lng": 30.2}, "lat"), ({"lat": 59.9, "lng": None}, "lng")],
    )
    def test_one_null_beside_a_number_is_a_field_error(
        self, spb_api: APIClient, spb_client: Any, given: dict[str, Any], null_field: str
    ) -> None:
        response = spb_api.post(
            SITES, {"client": spb_client.id, "address": KUPCHINO, **given}, format="json"
        )
        assert response.status_code == 400
        assert null_field in response.json()
        assert not Site.objects.filter(client=spb_client).exists()

    def test_patch_with_a_new_address_and_null_coordinates_geocodes_it(
        self, spb_api: APIClient, spb_site: Any
    ) -> None:
        response = spb_api.patch(
            f"{SITES}{spb_site.id}/",
            {"address": "Avtovo, Saint Petersburg", "lat": None, "lng": None}, format="json",
        )
        assert response.status_code == 200, response.content
        assert response.json()["lat"] != 59.87
        spb_site.refresh_from_db()
        assert (spb_site.lat, spb_site.lng) == (response.json()["lat"], response.json()["lng"])

    def test_patch_with_only_null_coordinates_changes_nothing(
        self, spb_api: APIClient, spb_site: Any
    ) -> None:
        response = spb_api.patch(
            f"{SITES}{spb_site.id}/", {"lat": None, "lng": None}, format="json"
        )
        assert response.status_code == 200, response.content
        assert (response.json()["lat"], response.json()["lng"]) == (59.87, 30.42)

    def test_patch_with_one_null_beside_a_number_is_a_field_error(
        self, spb_api: APIClient, spb_site: Any
    ) -> None:
        response = spb_api.patch(
            f"{SITES}{spb_site.id}/", {"lat": None, "lng": 30.5}, format="json"
        )
        assert response.status_code == 400
        assert "lat" in response.json()
        spb_site.refresh_from_db()
        assert (spb_site.lat, spb_site.lng) == (59.87, 30.42)


@pytest.mark.django_db
class TestLeadWithNullCoordinates:
    def _lead(self, **extra: Any) -> dict[str, Any]:
        return {
            "contact_name": "Anna", "phone": "+79211234567", "address": KUPCHINO,
            "work_type": "moving", "headcount": 2, "hours": "3",
            "start": (clock.now() + timedelta(days=1)).isoformat(), **extra,
        }

    def test_both_null_is_geocoded_like_omitted(self, hq_api: APIClient, spb: Any) -> None:
        response = hq_api.post(LEADS, self._lead(lat=None, lng=None), format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["lat"] == pytest.approx(59.83)
        assert body["lng"] == pytest.approx(30.38)

    def test_one_null_beside_a_number_is_a_field_error(self, hq_api: APIClient) -> None:
        response = hq_api.post(LEADS, self._lead(lat=59.9, lng=None), format="json")
        assert response.status_code == 400
        assert "lng" in response.json()
        assert not Lead.objects.exists()
