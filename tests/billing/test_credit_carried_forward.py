"""A statement of zero or less is a credit, not a payment: it is issued as `credit` (never
`paid`, never overdue, nothing to pay), and what is below zero comes off the franchise's next
statement as `brought_forward`, once, however often statements are issued."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client as Browser
from rest_framework.test import APIClient

from billing.models import RoyaltyStatement
from billing.selectors import month_to_date
from billing.services import royalty_statements_issue, statements_mark_overdue
from franchises.models import Franchise

from .conftest import PRESENT, Books

pytestmark = pytest.mark.django_db

STATEMENTS = "/api/v1/royalty-statements/"


def at(books: Books, year: int, month: int, day: int = 1) -> None:
    books.clock.set(datetime(year, month, day, 9, 0, tzinfo=UTC))


def statement(franchise: Franchise, period: str) -> RoyaltyStatement:
    return RoyaltyStatement.objects.get(franchise=franchise, period=period)


@pytest.fixture
def credited_december(books: Books, spb: Franchise, hq_api: APIClient) -> Any:
    """Saint Petersburg (15 %, no fee) invoiced 1600 in November; in December HQ credits the
    client all of it. December's statement carries -1600 of turnover: royalty -240."""
    client = books.client(spb)
    books.worked(client, start=datetime(2026, 11, 20, 6, 0, tzinfo=UTC), hours=8,
                 bill_rate="200", pay_rate="100", attendance=[(PRESENT, None)])
    at(books, 2026, 12, 1)
    royalty_statements_issue(period="2026-11")
    assert statement(spb, "2026-11").total == Decimal("240.00")
    at(books, 2026, 12, 5)
    given = hq_api.post("/api/v1/credits/", {
        "franchise": spb.pk, "client": client.pk, "period": "2026-11", "amount": "1600.00",
        "reason": "the client's goods were damaged"}, format="json")
    assert given.status_code == 201, given.content
    at(books, 2027, 1, 1)
    royalty_statements_issue(period="2026-12")
    return client


class TestACreditMonth:
    def test_is_issued_as_a_credit_not_paid(self, credited_december: Any, spb: Franchise,
                                            spb_api: APIClient) -> None:
        december = statement(spb, "2026-12")
        assert (december.adjustment, december.royalty, december.total) == (
            Decimal("-1600.00"), Decimal("-240.00"), Decimal("-240.00"))
        assert (december.status, december.paid) == ("credit", Decimal(0))
        shown = spb_api.get(f"{STATEMENTS}{december.pk}/").json()
        assert (shown["status"], shown["total"], shown["carried_into"]) == (
            "credit", "-240.00", "")

    def test_has_nothing_to_pay_and_never_turns_overdue(
        self, credited_december: Any, spb: Franchise, spb_api: APIClient
    ) -> None:
        december = statement(spb, "2026-12")
        refused = spb_api.post(f"{STATEMENTS}{december.pk}/pay/",
                               {"amount": "1.00", "paid_on": "2027-01-01"}, format="json")
        assert refused.status_code == 400
        assert "Nothing is due on the 2026-12 statement" in refused.json()["amount"][0]
        statements_mark_overdue(today=date(2027, 6, 1))
        assert statement(spb, "2026-12").status == "credit"

    def test_the_page_shows_it_as_a_credit_without_a_payment_form(
        self, credited_december: Any, spb: Franchise, spb_user: Any
    ) -> None:
        browser = Browser()
        browser.force_login(spb_user)
        december = statement(spb, "2026-12")
        page = browser.get(f"/statements/{december.pk}/").content.decode()
        assert "Credit carried forward" in page
        assert f'id="pay-{december.pk}"' not in page


class TestTheNextStatements:
    def test_carry_the_credit_once_even_through_another_credit_month(
        self, books: Books, credited_december: Any, spb: Franchise, spb_api: APIClient
    ) -> None:
        # January: 1000 invoiced, royalty 150; less the 240 carried: -90, a credit again.
        books.worked(credited_december, start=datetime(2027, 1, 20, 6, 0, tzinfo=UTC),
                     hours=5, bill_rate="200", pay_rate="100", attendance=[(PRESENT, None)])
        at(books, 2027, 2, 1)
        royalty_statements_issue(period="2027-01")
        january = statement(spb, "2027-01")
        assert (january.royalty, january.brought_forward, january.total, january.status) == (
            Decimal("150.00"), Decimal("-240.00"), Decimal("-90.00"), "credit")
        assert statement(spb, "2026-12").carried_into == "2027-01"
        # February: 2000 invoiced, royalty 300; less the 90 carried: 210 to pay.
        books.worked(credited_december, start=datetime(2027, 2, 10, 6, 0, tzinfo=UTC),
                     hours=10, bill_rate="200", pay_rate="100", attendance=[(PRESENT, None)])
        at(books, 2027, 3, 1)
        royalty_statements_issue(period="2027-02")
        royalty_statements_issue(period="2027-02")  # issuing again carries nothing twice
        february = statement(spb, "2027-02")
        assert (february.brought_forward, february.total, february.status) == (
            Decimal("-90.00"), Decimal("210.00"), "issued")
        assert statement(spb, "2027-01").carried_into == "2027-02"
        # March: nothing invoiced and no fee: zero, a credit of nothing; nothing left to carry.
        at(books, 2027, 4, 1)
        royalty_statements_issue(period="2027-03")
        march = statement(spb, "2027-03")
        assert (march.brought_forward, march.total, march.status) == (
            Decimal(0), Decimal(0), "credit")
        shown = spb_api.get(f"{STATEMENTS}{february.pk}/").json()
        assert (shown["brought_forward"], shown["total"]) == ("-90.00", "210.00")

    def test_the_month_to_date_reckons_the_credit_as_the_statement_will(
        self, books: Books, credited_december: Any, spb: Franchise
    ) -> None:

        at(books, 2027, 1, 15)
        draft = month_to_date(franchise=spb, now=datetime(2027, 1, 15, 9, 0, tzinfo=UTC))
        assert (draft.brought_forward, draft.total) == (Decimal("-240.00"), Decimal("-240.00"))
