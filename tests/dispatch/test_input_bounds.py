"""Inputs at the edge of what the database and the calendar hold answer 400, never 500: a
start in year 9999 (orders start at most a year ahead), worker ids beyond any integer key,
and a database that refuses a value no serializer caught."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError
from rest_framework.test import APIClient

from clients.models import Lead
from clients.services import BOOKING_HORIZON
from core import clock
from core.api import exception_handler
from dispatch.models import Order
from dispatch.services import order_place
from dispatch.services.notify import local_time
from tests.dispatch.conftest import START, Desk

ORDERS = "/api/v1/orders/"
YEAR_9999 = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)  # 02:00 on 1 January 10000 in Moscow


def _order_body(client: Any, site: Any, start: datetime) -> dict[str, Any]:
    return {"client": client.id, "site": site.id, "work_type": "loading", "headcount": 2,
            "start": start.isoformat(), "hours": "6"}


@pytest.mark.django_db
class TestOrderStart:
    def test_a_start_more_than_a_year_ahead_is_a_field_error(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        for start in (YEAR_9999, clock.now() + BOOKING_HORIZON + timedelta(minutes=1)):
            response = spb_api.post(ORDERS, _order_body(desk.client, desk.site, start),
                                    format="json")
            assert response.status_code == 400, response.content
            assert "365 days" in response.json()["start"][0]
        assert not Order.objects.exists()

    def test_a_start_just_inside_a_year_is_priced_and_placed(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        start = clock.now() + BOOKING_HORIZON
        response = spb_api.post(ORDERS, _order_body(desk.client, desk.site, start),
                                format="json")
        assert response.status_code == 201, response.content
        assert Decimal(response.json()["bill_rate"]) > 0

    def test_the_service_refuses_it_too(self, desk: Desk) -> None:
        with pytest.raises(ValidationError) as caught:
            order_place(client=desk.client, site=desk.site, work_type="loading",
                        headcount=2, start=YEAR_9999, hours=Decimal(6))
        assert list(caught.value.message_dict) == ["start"]

    def test_moving_a_draft_to_year_9999_is_refused_and_the_callout_still_works(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order = desk.order(2)
        desk.workers(3)
        response = spb_api.patch(f"{ORDERS}{order.pk}/", {"start": YEAR_9999.isoformat()},
                                 format="json")
        assert response.status_code == 400, response.content
        assert "365 days" in response.json()["start"][0]

        response = spb_api.post(f"{ORDERS}{order.pk}/callout/")
        assert response.status_code == 200, response.content
        assert response.json()["start"] == START.isoformat().replace("+00:00", "Z")
        assert response.json()["counts"]["invited"] == 3

    def test_an_order_stored_in_year_9999_still_gets_its_texts(self, desk: Desk) -> None:
        """Orders stored before starts were bounded: past the calendar in local time, the
        text gives the UTC time rather than failing."""
        order = desk.order(2)
        Order.objects.filter(pk=order.pk).update(start=YEAR_9999, ends_at=YEAR_9999)
        order.refresh_from_db()
        assert local_time(order, order.start) == "31.12 23:00"
        assert local_time(order, START, with_date=False) == "09:00"


@pytest.mark.django_db
class TestLeadAccept:
    def test_a_lead_stored_for_year_9999_is_refused_not_a_500(
        self, vclock: Any, spb: Any, spb_api: APIClient
    ) -> None:
        """Leads stored before starts were bounded become no order, with the reason."""
        lead = Lead.objects.create(
            contact_name="Anna", phone="+79215551122", address="Sofiyskaya 6", lat=59.87,
            lng=30.42, work_type="loading", headcount=4, start=YEAR_9999, hours=Decimal(6),
            status=Lead.Status.OFFERED, franchise=spb, routed_at=clock.now(),
        )
        response = spb_api.post(f"/api/v1/leads/{lead.pk}/accept/")
        assert response.status_code == 400, response.content
        assert "365 days" in response.json()["start"][0]
        assert not Order.objects.exists()
        lead.refresh_from_db()
        assert lead.status == Lead.Status.OFFERED


def _booked(desk: Desk) -> tuple[Order, list[Any]]:
    crew = desk.workers(2)
    order = desk.book(desk.order(2), crew)
    desk.at(START)
    return order, crew


@pytest.mark.django_db
class TestWorkerIds:
    @pytest.mark.parametrize("action", ["attendance", "feedback"])
    @pytest.mark.parametrize("worker_id", [10**20, 2**63, 2**31])
    def test_an_id_beyond_any_integer_key_is_a_field_error(
        self, desk: Desk, spb_api: APIClient, action: str, worker_id: int
    ) -> None:
        order, _ = _booked(desk)
        entry = {"worker": worker_id, "status": "present", "score": 5, "source": "foreman"}
        response = spb_api.post(f"{ORDERS}{order.pk}/{action}/", [entry], format="json")
        assert response.status_code == 400, response.content
        assert response.json() == {
            "0": {"worker": [f"Ensure this value is less than or equal to {2**31 - 1}."]}}

    def test_the_largest_id_is_simply_not_on_the_crew(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, crew = _booked(desk)
        response = spb_api.post(f"{ORDERS}{order.pk}/attendance/", [
            {"worker": crew[0].pk, "status": "present"},
            {"worker": 2**31 - 1, "status": "present"},
        ], format="json")
        assert response.status_code == 400, response.content
        assert response.json() == {"worker": [f"Not on this crew: [{2**31 - 1}]."]}


def test_a_value_the_database_refuses_is_a_400() -> None:
    response = exception_handler(DataError("integer out of range"), {})
    assert response is not None
    assert response.status_code == 400
    assert "out of the range" in response.data["detail"][0]
