"""Royalty statements on the pages: recording a payment (from the dashboard, a statement's page
or HQ's books) through the service behind `POST royalty-statements/{id}/pay/`, and HQ's books
of a month."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import RoyaltyPayment, RoyaltyStatement
from billing.services import credit_give, royalty_statements_issue, statement_pay
from core import clock
from franchises.models import Franchise
from franchises.services import franchise_save, user_create
from tests.billing.conftest import PRESENT, Books

from .test_dashboard import (
    amount,
    assert_no_inline_code,
    attribute,
    logged_in,
    money_books,
    tag,
    tag_and_after,
    text,
)

pytestmark = pytest.mark.django_db

# 06:00 on 1 December in Saint Petersburg, 10:00 in Novosibirsk.
DECEMBER_FIRST = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def virtual() -> Iterator[clock.VirtualClock]:
    moment = clock.VirtualClock(datetime(2026, 10, 1, 9, 0, tzinfo=UTC))
    with clock.use_clock(moment):
        yield moment


@pytest.fixture
def november(virtual: clock.VirtualClock, hq_user: Any, hq_franchise: Franchise,
             spb: Franchise, nsk: Franchise) -> Books:
    """November's statements of both offices, issued on 1 December: Saint Petersburg owes
    800.00 x 15 % = 120.00 + a 1,000.00 fee = 1,120.00; Novosibirsk 1,200.00 x 15 % = 180.00."""
    books = money_books(hq_user, virtual, spb, nsk)
    spb.monthly_fee = Decimal(1000)
    franchise_save(franchise=spb)
    books.worked(books.client(spb), start=datetime(2026, 11, 10, 6, 0, tzinfo=UTC), hours=4,
                 bill_rate="200", pay_rate="100", attendance=[(PRESENT, None)])
    books.worked(books.client(nsk), start=datetime(2026, 11, 10, 2, 0, tzinfo=UTC), hours=4,
                 bill_rate="300", pay_rate="100", attendance=[(PRESENT, None)])
    books.clock.set(DECEMBER_FIRST)
    royalty_statements_issue(period="2026-11")
    return books


def _statement(franchise: Franchise) -> RoyaltyStatement:
    return RoyaltyStatement.objects.get(franchise=franchise, period="2026-11")


def _pay(browser: Any, statement: RoyaltyStatement, amount_typed: str, paid_on: str,
         **extra: Any) -> Any:
    prefix = f"pay-{statement.pk}"
    data = {f"{prefix}-amount": amount_typed, f"{prefix}-paid_on": paid_on,
            **extra.pop("data", {})}
    return browser.post(f"/statements/{statement.pk}/", data, **extra)


class TestRecordPayment:
    def test_a_franchise_pays_its_statement_from_its_dashboard(
        self, november: Books, spb: Franchise, spb_user: Any,
    ) -> None:
        statement = _statement(spb)
        assert statement.total == Decimal("1120.00")
        browser = logged_in(spb_user)
        page = text(browser.get("/dashboard/"))
        form = tag(page, f"pay-{statement.pk}")
        assert f'hx-post="/statements/{statement.pk}/"' in form
        assert attribute(page, f"pay-{statement.pk}-amount", "value") == "1120.00"
        assert attribute(page, f"pay-{statement.pk}-paid_on", "value") == "2026-12-01"
        assert "local date (MSK)" in page
        next_path = attribute(page, f"pay-{statement.pk}-next", "value")

        response = _pay(browser, statement, "1 000,50", "2026-12-01",
                        data={f"pay-{statement.pk}-next": next_path}, follow=True)

        page = text(response)
        assert response.redirect_chain == [("/dashboard/", 302)]
        assert ("Payment of 1000.50 RUB recorded on the November 2026 statement of Saint "
                "Petersburg office: Issued.") in page
        row = tag(page, f"statement-{statement.pk}")
        assert 'data-paid="1000.50"' in row
        assert 'data-outstanding="119.50"' in row
        assert 'data-status="issued"' in row
        payment = RoyaltyPayment.objects.get()
        assert (payment.amount, payment.paid_on, payment.recorded_by) == (
            Decimal("1000.50"), datetime(2026, 12, 1).date(), spb_user)

        page = text(_pay(browser, statement, "119.50", "2026-12-01", follow=True))
        assert 'data-status="paid"' in tag(page, f"statement-{statement.pk}")
        assert f'id="pay-{statement.pk}"' not in page  # nothing left to pay
        assert _statement(spb).status == RoyaltyStatement.Status.PAID

    def test_through_htmx_a_payment_reloads_the_page_it_came_from(
        self, november: Books, spb: Franchise, hq_user: Any,
    ) -> None:
        statement = _statement(spb)
        response = _pay(logged_in(hq_user), statement, "20", "2026-12-01",
                        data={f"pay-{statement.pk}-next": "/books/?month=2026-11"},
                        HTTP_HX_REQUEST="true")
        assert response.status_code == 204
        assert response["HX-Redirect"] == "/books/?month=2026-11"
        assert _statement(spb).paid == Decimal(20)

    @pytest.mark.parametrize(("field", "typed", "message"), [
        ("amount", "abc", "Enter a number."),
        ("amount", "0", "greater than or equal to 0.01"),
        ("amount", "1120.01", "Only 1120.00 RUB is outstanding."),
        ("paid_on", "2026-12-02", "A payment date cannot be in the future."),
        ("paid_on", "2026-10-31", "cannot be dated before the month began"),
        ("paid_on", "2026-02-30", "Enter a valid date."),
        ("paid_on", "", "This field is required."),
    ])
    def test_a_refused_payment_says_why_next_to_the_field_and_writes_nothing(
        self, *, november: Books, spb: Franchise, spb_user: Any, field: str, typed: str,
        message: str,
    ) -> None:
        statement = _statement(spb)
        values = {"amount": "100", "paid_on": "2026-12-01", field: typed}
        browser = logged_in(spb_user)
        whole = _pay(browser, statement, values["amount"], values["paid_on"])
        fragment = _pay(browser, statement, values["amount"], values["paid_on"],
                        HTTP_HX_REQUEST="true")
        for response in (whole, fragment):
            assert response.status_code == 200
            page = text(response)
            assert message in tag_and_after(page, f"pay-{statement.pk}-{field}-error")
            assert f'value="{typed}"' in tag(page, f"pay-{statement.pk}-{field}") or not typed
        assert "<html" in text(whole)
        assert text(fragment).lstrip().startswith("<form")
        assert not RoyaltyPayment.objects.exists()
        assert (_statement(spb).paid, _statement(spb).status) == (Decimal(0), "issued")

    def test_the_books_form_is_answered_in_its_own_compact_shape(
        self, november: Books, spb: Franchise, hq_user: Any,
    ) -> None:
        statement = _statement(spb)
        response = _pay(logged_in(hq_user), statement, "5000", "2026-12-01",
                        data={"layout": "compact"}, HTTP_HX_REQUEST="true")
        form = tag(text(response), f"pay-{statement.pk}")
        assert "compact" in form
        assert "Only 1120.00 RUB is outstanding." in text(response)

    def test_the_paid_on_date_is_the_franchises_own(
        self, november: Books, spb: Franchise, nsk: Franchise, nsk_user: Any,
        spb_user: Any,
    ) -> None:
        """20:00 UTC on 1 December is already 03:00 on the 2nd in Novosibirsk, and still
        23:00 on the 1st in Saint Petersburg."""
        november.clock.set(datetime(2026, 12, 1, 20, 0, tzinfo=UTC))
        siberian = _statement(nsk)
        page = text(logged_in(nsk_user).get("/dashboard/"))
        assert attribute(page, f"pay-{siberian.pk}-paid_on", "value") == "2026-12-02"
        assert "local date (UTC+07)" in page
        response = _pay(logged_in(nsk_user), siberian, "180", "2026-12-02")
        assert response.status_code == 302
        assert _statement(nsk).status == RoyaltyStatement.Status.PAID
        refused = _pay(logged_in(spb_user), _statement(spb), "10", "2026-12-02")
        assert "cannot be in the future" in text(refused)

    def test_another_franchises_statement_is_not_found(
        self, november: Books, nsk: Franchise, spb_user: Any,
    ) -> None:
        siberian = _statement(nsk)
        browser = logged_in(spb_user)
        assert browser.get(f"/statements/{siberian.pk}/").status_code == 404
        assert _pay(browser, siberian, "10", "2026-12-01").status_code == 404
        assert not RoyaltyPayment.objects.exists()

    def test_foremen_and_recruiters_are_refused(self, november: Books, spb: Franchise,
                                                spb_foreman: Any) -> None:
        recruiter = user_create(username="rec", password="pw-12345", role="recruiter",
                                franchise=spb)
        statement = _statement(spb)
        for user in (spb_foreman, recruiter):
            browser = logged_in(user)
            assert browser.get(f"/statements/{statement.pk}/").status_code == 403
            assert _pay(browser, statement, "10", "2026-12-01").status_code == 403
        assert not RoyaltyPayment.objects.exists()

    def test_the_way_back_stays_on_this_site(self, november: Books, spb: Franchise,
                                             spb_user: Any) -> None:
        statement = _statement(spb)
        response = _pay(logged_in(spb_user), statement, "10", "2026-12-01",
                        data={f"pay-{statement.pk}-next": "https://evil.example/"})
        assert response["Location"] == f"/statements/{statement.pk}/"

    def test_the_statements_page_lists_its_payments(self, november: Books, spb: Franchise,
                                                    spb_user: Any, hq_user: Any) -> None:
        statement = _statement(spb)
        statement_pay(statement=statement, amount=Decimal("300"),
                      paid_on=datetime(2026, 12, 1).date(), recorded_by=hq_user)
        page = text(logged_in(spb_user).get(f"/statements/{statement.pk}/"))
        assert "Royalty statement November 2026: Saint Petersburg office" in page
        assert "300.00 · 1 Dec 2026" in page
        assert 'data-outstanding="820.00"' in page
        assert_no_inline_code(page)


class TestBooks:
    def test_only_hq_keeps_the_books(self, november: Books, spb_user: Any,
                                     spb_foreman: Any) -> None:
        for user in (spb_user, spb_foreman):
            assert logged_in(user).get("/books/").status_code == 403

    def test_the_last_months_statements_with_payments_and_credits(
        self, november: Books, spb: Franchise, nsk: Franchise, hq_user: Any,
    ) -> None:
        statement_pay(statement=_statement(nsk), amount=Decimal("180"),
                      paid_on=datetime(2026, 12, 1).date(), recorded_by=hq_user)
        client = spb.clients.get()
        credit = credit_give(franchise=spb, client=client, period="2026-11",
                             amount=Decimal("10"), reason="a dent")
        browser = logged_in(hq_user)
        page = text(browser.get("/books/"))
        assert "Royalty statements, November 2026" in page
        assert amount(page, "books-total") == Decimal("1300.00")
        assert amount(page, "books-paid") == Decimal("180.00")
        assert amount(page, "books-outstanding") == Decimal("1120.00")
        spb_row = tag(page, f"statement-{_statement(spb).pk}")
        assert 'data-status="issued"' in spb_row
        assert 'data-status="paid"' in tag(page, f"statement-{_statement(nsk).pk}")
        assert f'href="/dashboard/?franchise={spb.pk}&amp;month=2026-11"' in page
        assert "compact" in tag(page, f"pay-{_statement(spb).pk}")
        assert f'id="pay-{_statement(nsk).pk}"' not in page
        assert f'id="credit-{credit.pk}"' in page
        assert f'id="withdraw-credit-{credit.pk}"' in page
        assert_no_inline_code(page)

        unpaid = text(browser.get("/books/?month=2026-11&status=open"))
        assert re.findall(r'id="statement-(\d+)"', unpaid) == [str(_statement(spb).pk)]
        paid = text(browser.get("/books/?month=2026-11&status=paid"))
        assert re.findall(r'id="statement-(\d+)"', paid) == [str(_statement(nsk).pk)]
        october = text(browser.get("/books/?month=2026-10"))
        assert "No statements." in october

    def test_a_bad_month_is_said_next_to_the_picker(self, november: Books,
                                                    hq_user: Any) -> None:
        response = logged_in(hq_user).get("/books/?month=11.2026")
        assert response.status_code == 200
        page = text(response)
        assert "Pick a month" in page
        assert 'value="11.2026"' in page
        assert "Royalty statements, November 2026" in page

    def test_the_books_cost_the_same_queries_for_5_or_50_franchises(
        self, virtual: clock.VirtualClock, hq_user: Any, hq_franchise: Franchise,
    ) -> None:
        def network(count: int) -> int:
            for index in range(count - Franchise.objects.exclude(kind="hq").count()):
                franchise_save(franchise=Franchise(
                    name=f"Brand {index:02d}", kind=Franchise.Kind.BRAND_FRANCHISE,
                    monthly_fee=Decimal(100 + index)))
            RoyaltyPayment.objects.all().delete()
            RoyaltyStatement.objects.all().delete()
            virtual.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
            for statement in royalty_statements_issue(period="2026-11")[::3]:
                statement_pay(statement=statement, amount=Decimal(50),
                              paid_on=datetime(2026, 12, 1).date(), recorded_by=hq_user)
            browser = logged_in(hq_user)
            browser.get("/books/?month=2026-11")
            with CaptureQueriesContext(connection) as reading:
                page = text(browser.get("/books/?month=2026-11"))
            assert len(re.findall(r'id="statement-\d+"', page)) == count
            return len(reading)

        assert network(5) == network(50)
