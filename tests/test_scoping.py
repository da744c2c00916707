"""Franchise scoping: another franchise's rows are simply not there (404), never 403."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from clients.models import Client, Lead, Site
from clients.services import client_create, lead_create, site_create
from core import clock
from dispatch.models import Order
from dispatch.services import order_place


@pytest.fixture
def nsk_world(nsk: Any, tomorrow_9am: Any) -> dict[str, Any]:
    client = client_create(name="Sibir Logistics", franchise=nsk, phone="+73832000001")
    site = site_create(client=client, address="Lenina 5, Novosibirsk", lat=55.03, lng=82.92)
    order = order_place(client=client, site=site, work_type="snow_clearing", headcount=4,
                        start=tomorrow_9am, hours=Decimal(5))
    lead = lead_create(contact_name="Petr", phone="+79131234567", address="Novosibirsk",
                       lat=55.03, lng=82.92, work_type="loading", headcount=3,
                       start=clock.now() + timedelta(days=1), hours=Decimal(4))
    assert lead.franchise == nsk
    return {"clients": client, "sites": site, "orders": order, "leads": lead}


@pytest.fixture
def spb_world(spb_order: Order, spb_client: Any, spb_site: Any, spb: Any) -> dict[str, Any]:
    lead = lead_create(contact_name="Anna", phone="+79211234567", address="Saint Petersburg",
                       lat=59.94, lng=30.31, work_type="moving", headcount=2,
                       start=clock.now() + timedelta(days=1), hours=Decimal(3))
    assert lead.franchise == spb
    return {"clients": spb_client, "sites": spb_site, "orders": spb_order, "leads": lead}


RESOURCES = ["clients", "sites", "orders", "leads"]
EDITABLE = ["clients", "sites", "orders"]


@pytest.mark.django_db
class TestOtherFranchiseIsInvisible:
    @pytest.mark.parametrize("resource", RESOURCES)
    def test_get_is_a_404(
        self, spb_api: APIClient, nsk_world: dict[str, Any], resource: str
    ) -> None:
        row = nsk_world[resource]
        response = spb_api.get(f"/api/v1/{resource}/{row.id}/")
        assert response.status_code == 404
        assert response.json() == spb_api.get(f"/api/v1/{resource}/987654/").json()

    @pytest.mark.parametrize("resource", EDITABLE)
    def test_patch_is_a_404_and_changes_nothing(
        self, spb_api: APIClient, nsk_world: dict[str, Any], resource: str
    ) -> None:
        row = nsk_world[resource]
        response = spb_api.patch(
            f"/api/v1/{resource}/{row.id}/", {"notes": "taken over"}, format="json"
        )
        assert response.status_code == 404
        row.refresh_from_db()
        assert row.notes == ""

    @pytest.mark.parametrize("resource", EDITABLE)
    def test_put_is_a_404(
        self, spb_api: APIClient, nsk_world: dict[str, Any], resource: str
    ) -> None:
        row = nsk_world[resource]
        response = spb_api.put(f"/api/v1/{resource}/{row.id}/", {"notes": "x"}, format="json")
        assert response.status_code == 404

    def test_delete_of_an_order_is_a_404(
        self, spb_api: APIClient, nsk_world: dict[str, Any]
    ) -> None:
        order = nsk_world["orders"]
        assert spb_api.delete(f"/api/v1/orders/{order.id}/").status_code == 404
        assert Order.objects.filter(pk=order.pk).exists()

    def test_leads_answer_patch_the_same_whoever_holds_them(
        self, spb_api: APIClient, spb_world: dict[str, Any], nsk_world: dict[str, Any]
    ) -> None:
        own = spb_api.patch(f"/api/v1/leads/{spb_world['leads'].id}/", {"notes": "x"})
        foreign = spb_api.patch(f"/api/v1/leads/{nsk_world['leads'].id}/", {"notes": "x"})
        assert foreign.status_code in (404, own.status_code)
        assert foreign.status_code != 403

    def test_order_offers_are_a_404(self, spb_api: APIClient, nsk_world: dict[str, Any]) -> None:
        order = nsk_world["orders"]
        assert spb_api.get(f"/api/v1/orders/{order.id}/offers/").status_code == 404

    def test_a_missing_id_and_a_foreign_id_look_the_same(
        self, spb_api: APIClient, nsk_world: dict[str, Any]
    ) -> None:
        foreign = spb_api.get(f"/api/v1/clients/{nsk_world['clients'].id}/")
        missing = spb_api.get("/api/v1/clients/987654/")
        assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())


@pytest.mark.django_db
class TestListsHoldOnlyOwnRows:
    @pytest.mark.parametrize("resource", RESOURCES)
    def test_list(
        self, spb_api: APIClient, nsk_api: APIClient, spb_world: dict[str, Any],
        nsk_world: dict[str, Any], resource: str,
    ) -> None:
        for api, world in ((spb_api, spb_world), (nsk_api, nsk_world)):
            body = api.get(f"/api/v1/{resource}/").json()
            assert body["count"] == 1
            assert [row["id"] for row in body["results"]] == [world[resource].id]

    @pytest.mark.parametrize("resource", ["clients", "orders", "leads"])
    def test_filtering_by_the_other_franchise_finds_nothing(
        self, spb_api: APIClient, spb_world: dict[str, Any], nsk_world: dict[str, Any],
        nsk: Any, resource: str,
    ) -> None:
        response = spb_api.get(f"/api/v1/{resource}/", {"franchise": nsk.id})
        assert response.status_code == 200
        assert response.json()["results"] == []

    def test_filtering_sites_by_the_other_franchises_client_finds_nothing(
        self, spb_api: APIClient, nsk_world: dict[str, Any]
    ) -> None:
        response = spb_api.get("/api/v1/sites/", {"client": nsk_world["clients"].id})
        assert response.status_code == 200
        assert response.json()["results"] == []

    def test_search_does_not_reach_other_franchises(
        self, spb_api: APIClient, nsk_world: dict[str, Any]
    ) -> None:
        body = spb_api.get("/api/v1/clients/", {"search": "Sibir"}).json()
        assert body["results"] == []
        by_phone = spb_api.get("/api/v1/clients/", {"phone": "+73832000001"}).json()
        assert by_phone["results"] == []


@pytest.mark.django_db
class TestReferencesAcrossFranchises:
    def test_order_for_another_franchises_client_does_not_exist(
        self, spb_api: APIClient, nsk_world: dict[str, Any], tomorrow_9am: Any
    ) -> None:
        body = {
            "client": nsk_world["clients"].id,
            "site": nsk_world["sites"].id,
            "work_type": "loading",
            "headcount": 2,
            "start": tomorrow_9am.isoformat(),
            "hours": "4",
        }
        response = spb_api.post("/api/v1/orders/", body, format="json")
        assert response.status_code == 400
        errors = response.json()
        assert "does not exist" in errors["client"][0]
        assert "Sibir" not in response.content.decode()
        assert Order.objects.count() == 1

    def test_site_for_another_franchises_client_does_not_exist(
        self, spb_api: APIClient, nsk_world: dict[str, Any]
    ) -> None:
        response = spb_api.post(
            "/api/v1/sites/",
            {"client": nsk_world["clients"].id, "address": "X", "lat": 55.0, "lng": 82.9},
            format="json",
        )
        assert response.status_code == 400
        assert "does not exist" in response.json()["client"][0]
        assert Site.objects.count() == 1

    def test_moving_own_order_onto_a_foreign_site_does_not_exist(
        self, spb_api: APIClient, spb_world: dict[str, Any], nsk_world: dict[str, Any]
    ) -> None:
        order = spb_world["orders"]
        response = spb_api.patch(
            f"/api/v1/orders/{order.id}/", {"site": nsk_world["sites"].id}, format="json"
        )
        assert response.status_code == 400
        assert "does not exist" in response.json()["site"][0]
        order.refresh_from_db()
        assert order.site == spb_world["sites"]

    def test_moving_own_site_to_a_foreign_client_does_not_exist(
        self, spb_api: APIClient, spb_world: dict[str, Any], nsk_world: dict[str, Any]
    ) -> None:
        site = spb_world["sites"]
        response = spb_api.patch(
            f"/api/v1/sites/{site.id}/", {"client": nsk_world["clients"].id}, format="json"
        )
        assert response.status_code == 400
        site.refresh_from_db()
        assert site.client == spb_world["clients"]


@pytest.mark.django_db
class TestHQSeesAll:
    @pytest.mark.parametrize("resource", RESOURCES)
    def test_lists_and_reads_everything(
        self, hq_api: APIClient, spb_world: dict[str, Any], nsk_world: dict[str, Any],
        resource: str,
    ) -> None:
        body = hq_api.get(f"/api/v1/{resource}/").json()
        assert {row["id"] for row in body["results"]} == {
            spb_world[resource].id, nsk_world[resource].id
        }
        for world in (spb_world, nsk_world):
            assert hq_api.get(f"/api/v1/{resource}/{world[resource].id}/").status_code == 200

    def test_hq_edits_any_franchises_client(
        self, hq_api: APIClient, nsk_world: dict[str, Any]
    ) -> None:
        client = nsk_world["clients"]
        response = hq_api.patch(f"/api/v1/clients/{client.id}/", {"notes": "VIP"}, format="json")
        assert response.status_code == 200
        client.refresh_from_db()
        assert client.notes == "VIP"


@pytest.mark.django_db
class TestForemanScope:
    def test_foreman_sees_no_clients_sites_or_leads_beyond_his_orders(
        self, foreman_api: APIClient, spb_world: dict[str, Any], nsk_world: dict[str, Any]
    ) -> None:
        for resource in RESOURCES:
            body = foreman_api.get(f"/api/v1/{resource}/").json()
            assert body["results"] == [], resource

    def test_foreman_sees_the_client_and_site_of_his_order(
        self, foreman_api: APIClient, spb_foreman: Any, spb_world: dict[str, Any]
    ) -> None:
        Order.objects.filter(pk=spb_world["orders"].pk).update(foreman=spb_foreman)
        assert foreman_api.get(f"/api/v1/clients/{spb_world['clients'].id}/").status_code == 200
        assert foreman_api.get(f"/api/v1/sites/{spb_world['sites'].id}/").status_code == 200
        assert foreman_api.get(f"/api/v1/leads/{spb_world['leads'].id}/").status_code == 404


@pytest.mark.django_db
def test_rows_are_still_there_for_their_owner(
    nsk_api: APIClient, nsk_world: dict[str, Any]
) -> None:
    assert Client.objects.count() == 1
    assert Lead.objects.count() == 1
    for resource in RESOURCES:
        assert nsk_api.get(f"/api/v1/{resource}/{nsk_world[resource].id}/").status_code == 200
