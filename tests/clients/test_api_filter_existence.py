"""Filters on a related row never tell a franchise user which ids exist elsewhere: another
franchise's row and a row that does not exist answer the same way."""

from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from clients.services import client_create, site_create
from core import clock
from dispatch.services import order_place

MISSING = 987654


@pytest.fixture
def nsk_client(nsk: Any) -> Any:
    client = client_create(name="Sibir Logistics", franchise=nsk, phone="+73832000001")
    site_create(client=client, address="Lenina 5, Novosibirsk", lat=55.03, lng=82.92)
    return client


def _same_answer(api: APIClient, url: str, name: str, other: int) -> Any:
    foreign = api.get(url, {name: other})
    missing = api.get(url, {name: MISSING})
    assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())
    return foreign


@pytest.mark.django_db
class TestForeignAndMissingIdsAnswerAlike:
    def test_clients_by_franchise(self, spb_api: APIClient, spb_client: Any, nsk: Any) -> None:
        response = _same_answer(spb_api, "/api/v1/clients/", "franchise", nsk.id)
        assert response.status_code == 200
        assert response.json()["results"] == []

    def test_sites_by_client(
        self, spb_api: APIClient, spb_site: Any, nsk_client: Any
    ) -> None:
        response = _same_answer(spb_api, "/api/v1/sites/", "client", nsk_client.id)
        assert response.status_code == 200
        assert response.json()["results"] == []

    def test_leads_by_franchise(self, spb_api: APIClient, spb: Any, nsk: Any) -> None:
        response = _same_answer(spb_api, "/api/v1/leads/", "franchise", nsk.id)
        assert response.status_code == 200
        assert response.json()["results"] == []

    def test_own_rows_are_still_found(
        self, spb_api: APIClient, spb: Any, spb_site: Any, spb_client: Any
    ) -> None:
        clients = spb_api.get("/api/v1/clients/", {"franchise": spb.id}).json()["results"]
        assert [row["id"] for row in clients] == [spb_client.id]
        sites = spb_api.get("/api/v1/sites/", {"client": spb_client.id}).json()["results"]
        assert [row["id"] for row in sites] == [spb_site.id]

    def test_hq_filters_any_franchise(
        self, hq_api: APIClient, spb_client: Any, nsk_client: Any, nsk: Any
    ) -> None:
        rows = hq_api.get("/api/v1/clients/", {"franchise": nsk.id}).json()["results"]
        assert [row["id"] for row in rows] == [nsk_client.id]

    @pytest.mark.parametrize(
        ("url", "name"),
        [("/api/v1/clients/", "franchise"), ("/api/v1/sites/", "client"),
         ("/api/v1/leads/", "franchise")],
    )
    @pytest.mark.parametrize("value", ["abc", "1.5", "1e3"])
    def test_an_id_that_is_not_a_whole_number_is_a_400(
        self, spb_api: APIClient, url: str, name: str, value: str
    ) -> None:
        response = spb_api.get(url, {name: value})
        assert response.status_code == 400
        assert name in response.json()

    def test_messages_by_order(self, spb_api: APIClient, nsk_client: Any) -> None:
        order = order_place(client=nsk_client, site=nsk_client.sites.get(), work_type="loading",
                            headcount=2, start=clock.now() + timedelta(days=1), hours=4)
        response = _same_answer(spb_api, "/api/v1/messages/", "order", order.id)
        assert response.status_code == 200
        assert response.json()["results"] == []

