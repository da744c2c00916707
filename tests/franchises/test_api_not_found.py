"""An object outside the caller's franchise is a 404 on every method, as if it did not exist;
an object the caller can see but may not change is a 403."""

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from clients.services import client_create, site_create
from dispatch.models import Order
from dispatch.services import order_place
from franchises.models import Franchise

FRANCHISES = "/api/v1/franchises/"
ORDERS = "/api/v1/orders/"
MISSING = 987654


@pytest.mark.django_db
class TestFranchiseManagerOnFranchises:
    @pytest.mark.parametrize("method", ["patch", "put"])
    def test_writing_to_another_franchise_is_a_404_like_a_missing_one(
        self, spb_api: APIClient, nsk: Any, method: str
    ) -> None:
        write = getattr(spb_api, method)
        other = write(f"{FRANCHISES}{nsk.id}/", {"royalty_rate": "0.01"}, format="json")
        missing = write(f"{FRANCHISES}{MISSING}/", {"royalty_rate": "0.01"}, format="json")
        assert other.status_code == missing.status_code == 404
        assert other.json() == missing.json()
        nsk.refresh_from_db()
        assert nsk.royalty_rate == Decimal("0.15")

    def test_reading_another_franchise_is_a_404(self, spb_api: APIClient, nsk: Any) -> None:
        assert spb_api.get(f"{FRANCHISES}{nsk.id}/").status_code == 404

    def test_writing_to_its_own_franchise_stays_a_403(
        self, spb_api: APIClient, spb: Any
    ) -> None:
        response = spb_api.patch(f"{FRANCHISES}{spb.id}/", {"name": "Mine"}, format="json")
        assert response.status_code == 403
        spb.refresh_from_db()
        assert spb.name == "Saint Petersburg office"

    def test_creating_stays_a_403(self, spb_api: APIClient) -> None:
        response = spb_api.post(FRANCHISES, {"name": "Kazan office"}, format="json")
        assert response.status_code == 403
        assert not Franchise.objects.filter(name="Kazan office").exists()

    def test_foreman_on_franchises(self, foreman_api: APIClient, spb: Any, nsk: Any) -> None:
        other = foreman_api.patch(f"{FRANCHISES}{nsk.id}/", {"name": "X"}, format="json")
        own = foreman_api.patch(f"{FRANCHISES}{spb.id}/", {"name": "X"}, format="json")
        assert other.status_code == 404
        assert own.status_code == 403

    def test_hq_still_writes_and_gets_404_only_for_missing(
        self, hq_api: APIClient, nsk: Any
    ) -> None:
        response = hq_api.patch(f"{FRANCHISES}{nsk.id}/", {"name": "Sibir"}, format="json")
        assert response.status_code == 200, response.content
        missing = hq_api.patch(f"{FRANCHISES}{MISSING}/", {"name": "X"}, format="json")
        assert missing.status_code == 404

    def test_anonymous_is_a_401(self, anon_api: APIClient, spb: Any) -> None:
        assert anon_api.patch(f"{FRANCHISES}{spb.id}/", {}, format="json").status_code == 401


@pytest.fixture
def nsk_order(nsk: Any, tomorrow_9am: Any) -> Order:
    client = client_create(name="Sibir Logistics", franchise=nsk, phone="+73832000001")
    site = site_create(client=client, address="Lenina 5, Novosibirsk", lat=55.03, lng=82.92)
    return order_place(client=client, site=site, work_type="snow_clearing", headcount=4,
                       start=tomorrow_9am, hours=Decimal(5))


@pytest.mark.django_db
class TestForemanOnOrders:
    """Foremen read their own orders; writing to anyone else's is a 404, like reading it."""

    @pytest.mark.parametrize("method", ["patch", "put", "delete"])
    def test_writing_to_another_franchises_order_is_a_404_like_a_missing_one(
        self, foreman_api: APIClient, nsk_order: Order, method: str
    ) -> None:
        write = getattr(foreman_api, method)
        other = write(f"{ORDERS}{nsk_order.id}/", {"notes": "x"}, format="json")
        missing = write(f"{ORDERS}{MISSING}/", {"notes": "x"}, format="json")
        assert other.status_code == missing.status_code == 404
        assert other.json() == missing.json()
        nsk_order.refresh_from_db()
        assert nsk_order.notes == ""

    @pytest.mark.parametrize("action", ["callout", "cancel", "assign"])
    def test_an_action_on_an_order_it_cannot_see_is_a_404(
        self, foreman_api: APIClient, nsk_order: Order, spb_order: Order, action: str
    ) -> None:
        for order in (nsk_order, spb_order):  # spb_order is its franchise's, but not its own
            assert foreman_api.get(f"{ORDERS}{order.id}/").status_code == 404
            response = foreman_api.post(f"{ORDERS}{order.id}/{action}/", format="json")
            assert response.status_code == 404
        nsk_order.refresh_from_db()
        assert nsk_order.status == Order.Status.DRAFT

    def test_writing_to_its_own_order_stays_a_403(
        self, foreman_api: APIClient, spb_foreman: Any, spb_order: Order
    ) -> None:
        Order.objects.filter(pk=spb_order.pk).update(foreman=spb_foreman)
        assert foreman_api.get(f"{ORDERS}{spb_order.id}/").status_code == 200
        response = foreman_api.patch(f"{ORDERS}{spb_order.id}/", {"notes": "x"}, format="json")
        assert response.status_code == 403
        cancel = foreman_api.post(f"{ORDERS}{spb_order.id}/cancel/", format="json")
        assert cancel.status_code == 403
        spb_order.refresh_from_db()
        assert spb_order.notes == ""
        assert spb_order.status == Order.Status.DRAFT

    def test_creating_stays_a_403(
        self, foreman_api: APIClient, spb_client: Any, spb_site: Any
    ) -> None:
        response = foreman_api.post(ORDERS, {"client": spb_client.id}, format="json")
        assert response.status_code == 403
