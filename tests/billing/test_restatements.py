"""A month's royalty statement is issued once the month is over; what its turnover gains or
loses afterwards (an order completed after the month turned, an attendance correction, a
later credit) is carried into the next statement, once."""

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from billing.models import Credit, RoyaltyStatement
from billing.services import royalty_statements_issue
from dispatch.services.onsite import AttendanceEntry, attendance_record, order_complete
from franchises.models import Franchise

from .conftest import NO_SHOW, PRESENT, Books

# Moscow is UTC+3: November ends at 21:00 UTC on the 30th.
NOVEMBER_OVER = datetime(2026, 12, 1, 0, 10, tzinfo=UTC)
DECEMBER_OVER = datetime(2027, 1, 1, 0, 10, tzinfo=UTC)
JANUARY_OVER = datetime(2027, 2, 1, 0, 10, tzinfo=UTC)


def _spb(period: str, spb: Franchise) -> RoyaltyStatement:
    return RoyaltyStatement.objects.get(franchise=spb, period=period)


def _issue(books: Books, moment: datetime, period: str) -> None:
    books.clock.set(moment)
    royalty_statements_issue(period=period)


@pytest.mark.django_db
class TestOnlyAnEndedMonth:
    def test_the_current_month_is_refused(self, books: Books, spb: Franchise) -> None:
        books.clock.set(datetime(2026, 12, 6, 9, 0, tzinfo=UTC))
        with pytest.raises(CommandError, match="2026-12 has not ended yet"):
            call_command("issue_royalty_statements", "--period", "2026-12", stdout=io.StringIO())
        with pytest.raises(ValidationError):
            royalty_statements_issue(period="2027-01")
        assert not RoyaltyStatement.objects.exists()

    def test_a_month_is_issued_once_it_has_ended_in_the_franchises_time_zone(
        self, books: Books, spb: Franchise
    ) -> None:
        # 20:30 UTC on the 30th is 23:30 in Saint Petersburg: November is not over there.
        books.clock.set(datetime(2026, 11, 30, 20, 30, tzinfo=UTC))
        with pytest.raises(ValidationError):
            royalty_statements_issue(period="2026-11")
        _issue(books, NOVEMBER_OVER, "2026-11")
        assert _spb("2026-11", spb).issued_at == NOVEMBER_OVER


@pytest.mark.django_db
class TestLaterChangesAreCarried:
    def test_a_night_shift_completed_after_the_month_turned_is_billed_next_month(
        self, books: Books, spb: Franchise
    ) -> None:
        client = books.client(spb)
        # 20:00 to 04:00 in Saint Petersburg, starting on the last evening of November.
        order, crew = books.staffed(client, start=datetime(2026, 11, 30, 17, 0, tzinfo=UTC),
                                    headcount=2, hours=8, bill_rate="200", pay_rate="100")
        books.clock.set(order.start + timedelta(minutes=10))
        attendance_record(order=order, entries=[
            AttendanceEntry(worker.pk, PRESENT, None) for worker in crew])
        _issue(books, NOVEMBER_OVER, "2026-11")
        november = _spb("2026-11", spb)
        assert november.turnover == Decimal("0.00")

        books.clock.set(order.ends_at + timedelta(minutes=30))
        order_complete(order=order)
        _issue(books, DECEMBER_OVER, "2026-12")

        december = _spb("2026-12", spb)
        assert (december.invoiced, december.adjustment) == (Decimal(0), Decimal("3200.00"))
        assert (december.turnover, december.royalty) == (Decimal("3200.00"), Decimal("480.00"))
        assert december.total == december.royalty + december.monthly_fee

        _issue(books, JANUARY_OVER, "2027-01")
        assert _spb("2027-01", spb).adjustment == Decimal(0)  # carried once only

    def test_a_correction_after_the_statement_is_taken_off_the_next_one(
        self, books: Books, spb: Franchise, nsk: Franchise
    ) -> None:
        client = books.client(spb)
        order = books.worked(client, start=datetime(2026, 11, 28, 6, 0, tzinfo=UTC), hours=8,
                             bill_rate="200", pay_rate="100",
                             attendance=[(PRESENT, None), (PRESENT, None)])
        _issue(books, NOVEMBER_OVER, "2026-11")
        assert _spb("2026-11", spb).turnover == Decimal("3200.00")

        books.clock.set(NOVEMBER_OVER + timedelta(days=1))
        turned = order.offers.filter(attendance=PRESENT).order_by("worker_id").last()
        attendance_record(order=order, entries=[AttendanceEntry(turned.worker_id, NO_SHOW,
                                                                None)])
        _issue(books, DECEMBER_OVER, "2026-12")

        assert _spb("2026-12", spb).adjustment == Decimal("-1600.00")
        assert _spb("2026-11", spb).turnover == Decimal("3200.00")  # as issued
        assert RoyaltyStatement.objects.get(franchise=nsk, period="2026-12").adjustment == 0

    def test_a_credit_given_later_for_an_issued_month_lowers_the_next_statement(
        self, books: Books, spb: Franchise, hq_api: Any
    ) -> None:
        client = books.client(spb)
        books.worked(client, start=datetime(2026, 11, 20, 6, 0, tzinfo=UTC), hours=8,
                     bill_rate="200", pay_rate="100", attendance=[(PRESENT, None)])
        _issue(books, NOVEMBER_OVER, "2026-11")
        books.clock.set(datetime(2026, 12, 10, 9, 0, tzinfo=UTC))
        response = hq_api.post("/api/v1/credits/", {
            "franchise": spb.pk, "client": client.pk, "period": "2026-11",
            "amount": "150.00", "reason": "a broken pallet",
        }, format="json")
        assert response.status_code == 201, response.content
        assert Credit.objects.count() == 1

        _issue(books, DECEMBER_OVER, "2026-12")

        december = _spb("2026-12", spb)
        assert december.adjustment == Decimal("-150.00")
        assert december.royalty == Decimal("-22.50")
        statement = hq_api.get(f"/api/v1/royalty-statements/{december.pk}/").json()
        assert statement["adjustment"] == "-150.00"
