"""A franchise user's clients are its own: naming another franchise is a field error, not
silently ignored. HQ may name any franchise, or none."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from clients.models import Client

CLIENTS = "/api/v1/clients/"


@pytest.mark.django_db
class TestClientFranchiseOnCreate:
    def test_another_franchise_is_a_400_on_franchise(
        self, spb_api: APIClient, spb: Any, nsk: Any
    ) -> None:
        response = spb_api.post(CLIENTS, {"name": "Hoff", "franchise": nsk.id}, format="json")
        assert response.status_code == 400
        assert set(response.json()) == {"franchise"}
        assert not Client.objects.filter(name="Hoff").exists()

    def test_another_franchise_reads_like_a_franchise_that_does_not_exist(
        self, spb_api: APIClient, nsk: Any
    ) -> None:
        other = spb_api.post(CLIENTS, {"name": "Hoff", "franchise": nsk.id}, format="json")
        missing = spb_api.post(CLIENTS, {"name": "Hoff", "franchise": 987654}, format="json")
        assert other.status_code == missing.status_code == 400
        assert other.json()["franchise"] == [
            message.replace("987654", str(nsk.id)) for message in missing.json()["franchise"]
        ]

    def test_null_franchise_is_a_400_for_a_franchise_user(
        self, spb_api: APIClient, spb: Any
    ) -> None:
        response = spb_api.post(CLIENTS, {"name": "Hoff", "franchise": None}, format="json")
        assert response.status_code == 400
        assert "franchise" in response.json()
        assert not Client.objects.filter(name="Hoff").exists()

    def test_own_franchise_given_or_omitted_is_fine(
        self, spb_api: APIClient, spb: Any
    ) -> None:
        given = spb_api.post(CLIENTS, {"name": "Hoff", "franchise": spb.id}, format="json")
        omitted = spb_api.post(CLIENTS, {"name": "Metro"}, format="json")
        assert given.status_code == omitted.status_code == 201
        assert given.json()["franchise"] == omitted.json()["franchise"] == spb.id

    def test_hq_may_name_any_franchise_or_none(
        self, hq_api: APIClient, spb: Any, nsk: Any
    ) -> None:
        for franchise in (spb.id, nsk.id, None):
            response = hq_api.post(
                CLIENTS, {"name": f"For {franchise}", "franchise": franchise}, format="json"
            )
            assert response.status_code == 201, response.content
            assert response.json()["franchise"] == franchise

    def test_hq_moves_a_client(self, hq_api: APIClient, spb_client: Any, nsk: Any) -> None:
        response = hq_api.patch(
            f"{CLIENTS}{spb_client.id}/", {"franchise": nsk.id}, format="json"
        )
        assert response.status_code == 200, response.content
        spb_client.refresh_from_db()
        assert spb_client.franchise == nsk
