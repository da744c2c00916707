"""Franchise scope on the orders and billing API: another franchise's rows are not named,
changed or probed, whatever the request says."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.models import Credit, RoyaltyStatement
from clients.services import client_create
from dispatch.models import Order

MISSING = 987654


@pytest.fixture
def nsk_client(nsk: Any) -> Any:
    return client_create(name="Sibir Logistics", franchise=nsk, phone="+73832000001")


@pytest.fixture
def nsk_statement(nsk: Any) -> RoyaltyStatement:
    return RoyaltyStatement.objects.create(
        franchise=nsk, period="2026-10", invoiced=0, credits=0, turnover=0, royalty_rate="0.15",
        royalty=0, monthly_fee=100, total=100, paid=0, currency="RUB", status="issued",
        issued_at="2026-11-01T00:00:00Z", due_on="2026-11-15",
    )


@pytest.mark.django_db
class TestOrders:
    def test_an_order_cannot_be_placed_for_another_franchise(
        self, spb_api: APIClient, spb_client: Any, spb_site: Any, nsk: Any, tomorrow_9am: Any
    ) -> None:
        response = spb_api.post("/api/v1/orders/", {
            "client": spb_client.id, "site": spb_site.id, "franchise": nsk.id,
            "work_type": "loading", "headcount": 2, "start": tomorrow_9am.isoformat(),
            "hours": "4",
        }, format="json")
        assert response.status_code == 400
        assert "franchise" in response.json()
        assert not Order.objects.exists()

    def test_without_a_franchise_the_order_is_the_callers(
        self, spb_api: APIClient, spb_client: Any, spb_site: Any, spb: Any, tomorrow_9am: Any
    ) -> None:
        response = spb_api.post("/api/v1/orders/", {
            "client": spb_client.id, "site": spb_site.id, "work_type": "loading",
            "headcount": 2, "start": tomorrow_9am.isoformat(), "hours": "4",
        }, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["franchise"] == spb.id

    @pytest.mark.parametrize("name", ["client", "franchise"])
    def test_filters_answer_alike_for_a_foreign_and_a_missing_id(
        self, spb_api: APIClient, spb_order: Any, nsk_client: Any, nsk: Any, name: str
    ) -> None:
        foreign = {"client": nsk_client.id, "franchise": nsk.id}[name]
        answers = [spb_api.get("/api/v1/orders/", {name: value}) for value in (foreign, MISSING)]
        assert [(a.status_code, a.json()["results"]) for a in answers] == [(200, [])] * 2


@pytest.mark.django_db
class TestBilling:
    def test_a_credit_is_for_a_client_of_its_own_franchise(
        self, hq_api: APIClient, spb: Any, nsk_client: Any
    ) -> None:
        response = hq_api.post("/api/v1/credits/", {
            "franchise": spb.id, "client": nsk_client.id, "period": "2026-11",
            "amount": "50.00", "reason": "goodwill",
        }, format="json")
        assert response.status_code == 400
        assert "client" in response.json()
        assert not Credit.objects.exists()

    def test_paying_another_franchises_statement_is_404_whatever_the_body(
        self, spb_api: APIClient, nsk_statement: RoyaltyStatement
    ) -> None:
        url = f"/api/v1/royalty-statements/{nsk_statement.id}/pay/"
        for body in ({}, {"amount": "abc"}, {"amount": "100.00", "paid_on": "2026-11-10"}):
            assert spb_api.post(url, body, format="json").status_code == 404
        nsk_statement.refresh_from_db()
        assert nsk_statement.paid == 0

    @pytest.mark.parametrize(
        "url", ["/api/v1/royalty-statements/", "/api/v1/invoice-lines/", "/api/v1/credits/",
                "/api/v1/rate-cards/"],
    )
    def test_filters_answer_alike_for_a_foreign_and_a_missing_franchise(
        self, spb_api: APIClient, nsk: Any, nsk_statement: RoyaltyStatement, url: str
    ) -> None:
        answers = [spb_api.get(url, {"franchise": value}) for value in (nsk.id, MISSING)]
        assert [(a.status_code, a.json()["results"]) for a in answers] == [(200, [])] * 2
