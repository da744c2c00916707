"""Dates at the edge of the calendar answer 400 (or a CommandError), never a traceback: a quote
for year 9999 (the booking horizon is a year) and a period whose next month does not exist."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from billing.models import RoyaltyStatement
from billing.selectors import benchmark_rows
from billing.services import period_bounds, rate_quote, royalty_statements_issue
from clients.services import BOOKING_HORIZON
from core import clock
from franchises.models import Franchise

QUOTES = "/api/v1/quotes/"
BENCHMARK = "/api/v1/reports/benchmark/"
YEAR_9999 = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)  # 02:00 on 1 January 10000 in Moscow


def _quote(franchise: Franchise, start: datetime) -> dict[str, Any]:
    return {"franchise": franchise.pk, "work_type": "loading", "conditions": "warm_indoor",
            "headcount": 4, "hours": "6", "start": start.isoformat()}


@pytest.mark.django_db
class TestQuoteStart:
    def test_a_quote_more_than_a_year_ahead_is_a_field_error(
        self, spb: Franchise, spb_api: APIClient
    ) -> None:
        for start in (YEAR_9999, clock.now() + BOOKING_HORIZON + timedelta(days=1)):
            response = spb_api.post(QUOTES, _quote(spb, start), format="json")
            assert response.status_code == 400, response.content
            assert "365 days" in response.json()["start"][0]

    def test_a_quote_within_the_year_is_priced(
        self, spb: Franchise, spb_api: APIClient
    ) -> None:
        start = clock.now() + BOOKING_HORIZON - timedelta(hours=1)
        response = spb_api.post(QUOTES, _quote(spb, start), format="json")
        assert response.status_code == 200, response.content
        assert response.json()["headcount"] == 4

    def test_a_start_with_no_local_time_is_a_field_error(self, spb: Franchise) -> None:
        """The first hours of year 1 have no local time west of UTC."""
        spb.timezone = "America/New_York"
        with pytest.raises(ValidationError) as caught:
            rate_quote(franchise=spb, work_type="loading", conditions="warm_indoor",
                       headcount=4, hours=6, start=datetime(1, 1, 1, 1, 0, tzinfo=UTC))
        assert list(caught.value.message_dict) == ["start"]


@pytest.mark.django_db
class TestPeriodYears:
    @pytest.mark.parametrize("period", ["9999-12", "3000-01"])
    def test_the_benchmark_of_a_period_beyond_the_books_is_a_400(
        self, hq_api: APIClient, spb: Franchise, period: str
    ) -> None:
        response = hq_api.get(BENCHMARK, {"period": period})
        assert response.status_code == 400, response.content
        assert "2000 to 2999" in response.json()["period"][0]

    def test_the_last_month_of_the_books_is_a_report(
        self, hq_api: APIClient, spb: Franchise
    ) -> None:
        response = hq_api.get(BENCHMARK, {"period": "2999-12"})
        assert response.status_code == 200, response.content
        assert [row["orders"] for row in response.json()["results"]] == [0]

    def test_the_command_says_why_instead_of_a_traceback(self, spb: Franchise) -> None:
        with pytest.raises(CommandError, match="YYYY-MM with a year from 2000 to 2999"):
            call_command("issue_royalty_statements", "--period", "9999-12")
        assert not RoyaltyStatement.objects.exists()

    def test_the_last_month_of_the_books_is_issued_and_due_the_month_after(
        self, spb: Franchise
    ) -> None:
        with clock.use_clock(lambda: datetime(3000, 1, 2, tzinfo=UTC)):
            (statement,) = royalty_statements_issue(period="2999-12")
        assert statement.due_on.isoformat() == "3000-01-15"

    @pytest.mark.parametrize("period", ["9999-12", "3000-01", "1999-12"])
    def test_the_services_refuse_it_too(self, spb: Franchise, period: str) -> None:
        for read in (lambda: period_bounds(period, spb.timezone),
                     lambda: benchmark_rows(period=period),
                     lambda: royalty_statements_issue(period=period)):
            with pytest.raises(ValidationError) as caught:
                read()
            assert list(caught.value.message_dict) == ["period"]

    def test_a_credit_for_a_period_beyond_the_books_is_a_field_error(
        self, hq_api: APIClient, spb: Franchise, spb_client: Any
    ) -> None:
        response = hq_api.post("/api/v1/credits/", {
            "franchise": spb.pk, "client": spb_client.pk, "period": "9999-12",
            "amount": "10.00", "reason": "typo",
        }, format="json")
        assert response.status_code == 400, response.content
        assert "period" in response.json()
