"""Rate-card factors and minimum hours stay in range, in the API and in the database, so a
quote is never negative (audit D #3)."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from billing.models import RateCard
from core import clock
from franchises.models import Franchise

CARDS = "/api/v1/rate-cards/"


def _card(franchise: Franchise, **changes: Any) -> dict[str, Any]:
    return {"franchise": franchise.pk, "work_type": "moving", "bill_rate": "200",
            "pay_rate": "100", **changes}


@pytest.mark.django_db
class TestRateCardBounds:
    @pytest.mark.parametrize(("field", "value"), [
        ("night_factor", "-1"), ("night_factor", "0"), ("night_factor", "5.01"),
        ("weekend_factor", "-2"), ("weekend_factor", "0.00"), ("weekend_factor", "99"),
        ("min_hours", "-4"), ("min_hours", "24.1"), ("min_hours", "999"),
    ])
    def test_an_out_of_range_value_is_a_field_error(
        self, spb_api: APIClient, spb: Franchise, field: str, value: str
    ) -> None:
        response = spb_api.post(CARDS, _card(spb, **{field: value}), format="json")
        assert response.status_code == 400, response.content
        assert list(response.json()) == [field]
        assert not RateCard.objects.exists()

    @pytest.mark.parametrize(("field", "value"), [
        ("night_factor", "-1"), ("weekend_factor", "0"), ("min_hours", "-4"),
        ("min_hours", "999"),
    ])
    def test_a_change_out_of_range_is_refused_and_the_card_kept(
        self, spb_api: APIClient, spb: Franchise, field: str, value: str
    ) -> None:
        card = spb_api.post(CARDS, _card(spb), format="json").json()
        response = spb_api.patch(f"{CARDS}{card['id']}/", {field: value}, format="json")
        assert response.status_code == 400, response.content
        assert list(response.json()) == [field]
        assert spb_api.get(f"{CARDS}{card['id']}/").json()[field] == card[field]

    @pytest.mark.parametrize(("field", "value"), [
        ("night_factor", "0.01"), ("night_factor", "5"), ("weekend_factor", "1"),
        ("min_hours", "0"), ("min_hours", "24"),
    ])
    def test_the_bounds_themselves_are_accepted(
        self, spb_api: APIClient, spb: Franchise, field: str, value: str
    ) -> None:
        response = spb_api.post(CARDS, _card(spb, **{field: value}), format="json")
        assert response.status_code == 201, response.content
        assert Decimal(response.json()[field]) == Decimal(value)

    @pytest.mark.parametrize(("field", "value"), [
        ("night_factor", Decimal(-1)), ("night_factor", Decimal(0)),
        ("weekend_factor", Decimal("5.5")), ("min_hours", Decimal(-1)),
        ("min_hours", Decimal(25)),
    ])
    def test_the_database_refuses_it_whatever_the_caller(
        self, spb: Franchise, field: str, value: Decimal
    ) -> None:
        with pytest.raises(IntegrityError), transaction.atomic():
            RateCard.objects.create(franchise=spb, work_type="moving", bill_rate=200,
                                    pay_rate=100, **{field: value})

    def test_a_weekend_night_quote_is_never_negative(
        self, spb_api: APIClient, spb: Franchise
    ) -> None:
        spb_api.post(CARDS, _card(spb, night_factor="-1"), format="json")
        with clock.use_clock(clock.VirtualClock(datetime(2026, 12, 6, 4, 0, tzinfo=UTC))):
            quote = spb_api.post("/api/v1/quotes/", {
                "franchise": spb.pk, "work_type": "moving", "conditions": "warm_indoor",
                "headcount": 3, "hours": "6", "start": "2026-12-12T20:00:00Z",
            }, format="json")
        assert quote.status_code == 200, quote.content
        assert Decimal(quote.json()["total_bill"]) > 0
