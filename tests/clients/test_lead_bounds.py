"""A lead the network could never serve is refused when the call centre enters it: a start
more than a year ahead (a typo in the year) and a crew larger than an order may have."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from clients.models import Lead
from clients.services import BOOKING_HORIZON, lead_create
from core import clock
from tests.clients.test_api import _lead

LEADS = "/api/v1/leads/"
YEAR_9999 = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)


@pytest.mark.django_db
class TestStart:
    def test_a_start_more_than_a_year_ahead_is_a_field_error(
        self, hq_api: APIClient, spb: Any
    ) -> None:
        for start in (YEAR_9999, clock.now() + BOOKING_HORIZON + timedelta(days=1)):
            response = hq_api.post(LEADS, _lead(start=start.isoformat()), format="json")
            assert response.status_code == 400, response.content
            assert "365 days" in response.json()["start"][0]
        assert not Lead.objects.exists()

    def test_a_start_just_inside_a_year_is_fine(self, hq_api: APIClient, spb: Any) -> None:
        start = clock.now() + BOOKING_HORIZON - timedelta(hours=1)
        response = hq_api.post(LEADS, _lead(start=start.isoformat()), format="json")
        assert response.status_code == 201, response.content
        assert response.json()["franchise"] == spb.id

    def test_the_service_refuses_it_too(self, db: Any) -> None:
        with pytest.raises(ValidationError) as caught:
            lead_create(contact_name="Anna", phone="+79215551122", address="Sofiyskaya 6",
                        lat=59.87, lng=30.42, work_type="loading", headcount=4,
                        start=YEAR_9999, hours=Decimal(6))
        assert "start" in caught.value.message_dict


@pytest.mark.django_db
class TestHeadcount:
    @pytest.mark.parametrize("headcount", [501, 1_000_000])
    def test_more_than_an_order_may_have_is_a_field_error(
        self, hq_api: APIClient, spb: Any, headcount: int
    ) -> None:
        response = hq_api.post(LEADS, _lead(headcount=headcount), format="json")
        assert response.status_code == 400, response.content
        assert "500" in response.json()["headcount"][0]
        assert not Lead.objects.exists()

    def test_the_largest_order_is_a_lead_that_can_be_accepted(
        self, hq_api: APIClient, spb_api: APIClient, spb: Any
    ) -> None:
        response = hq_api.post(LEADS, _lead(headcount=500), format="json")
        assert response.status_code == 201, response.content
        accepted = spb_api.post(f"{LEADS}{response.json()['id']}/accept/")
        assert accepted.status_code == 201, accepted.content
        assert accepted.json()["headcount"] == 500

    def test_the_service_refuses_it_too(self, db: Any) -> None:
        with pytest.raises(ValidationError) as caught:
            lead_create(contact_name="Anna", phone="+79215551122", address="Sofiyskaya 6",
                        lat=59.87, lng=30.42, work_type="loading", headcount=501,
                        start=clock.now() + timedelta(days=2), hours=Decimal(6))
        assert "headcount" in caught.value.message_dict
