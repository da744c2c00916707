"""Changing an order once it is under way: what may still change, and a full update that
repeats the current values."""

from datetime import timedelta
from typing import Any

from rest_framework.test import APIClient

from billing.models import InvoiceLine
from dispatch.models import Order
from tests.dispatch.conftest import START, Desk
from tests.dispatch.test_onsite import END, complete, worked

URL = "/api/v1/orders/"
WRITABLE = ["client", "site", "franchise", "foreman", "work_type", "headcount", "start", "hours",
            "bill_rate", "pay_rate", "overbook_policy", "foremen_needed", "notes"]


def test_a_completed_orders_bill_rate_is_fixed_by_its_invoice(
    desk: Desk, spb_api: APIClient
) -> None:
    order, _ = worked(desk, spb_api)
    desk.at(END + timedelta(minutes=30))
    assert complete(spb_api, order).status_code == 200
    rates = set(InvoiceLine.objects.filter(order=order).values_list("rate", flat=True))

    response = spb_api.patch(f"{URL}{order.id}/", {"bill_rate": "500.00"}, format="json")

    assert response.status_code == 400
    assert "bill_rate" in response.json()
    order.refresh_from_db()
    assert {order.bill_rate} == rates
    assert spb_api.patch(f"{URL}{order.id}/", {"notes": "Gate 4"},
                         format="json").status_code == 200


def test_a_full_update_of_a_started_order_repeating_its_start_is_fine(
    desk: Desk, spb_api: APIClient
) -> None:
    order, _ = worked(desk, spb_api)
    desk.at(START + timedelta(hours=2))
    current = spb_api.get(f"{URL}{order.id}/").json()
    body: dict[str, Any] = {field: current[field] for field in WRITABLE} | {"notes": "Gate 4"}

    response = spb_api.put(f"{URL}{order.id}/", body, format="json")

    assert response.status_code == 200, response.content
    assert Order.objects.get(pk=order.pk).notes == "Gate 4"


def test_calling_out_a_completed_order_says_it_is_completed(
    desk: Desk, spb_api: APIClient
) -> None:
    order, _ = worked(desk, spb_api)
    desk.at(END + timedelta(minutes=30))
    complete(spb_api, order)
    response = spb_api.post(f"{URL}{order.id}/callout/")
    assert response.status_code == 400
    assert response.json()["status"] == ["A completed order is not called out."]


def test_completing_a_cancelled_order_says_it_is_cancelled(
    desk: Desk, spb_api: APIClient
) -> None:
    order = desk.called(2)
    assert spb_api.post(f"{URL}{order.id}/cancel/").status_code == 200
    response = spb_api.post(f"{URL}{order.id}/complete/")
    assert response.status_code == 400
    assert response.json() == {"status": ["A cancelled order cannot be completed."]}
