"""The franchise's margin: billed - paid - fees, per order and over a month, on the order
page's and the dashboard's fragments and in the network benchmark. The royalty stays on
turnover."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client as Browser
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from billing.benchmarks import Money
from billing.selectors import month_money, order_books, orders_books
from billing.services import statement_figures
from dispatch.models import Order
from franchises.models import Franchise

from .conftest import PRESENT, Books
from .test_overbooking_money import (
    BILL,
    NOVEMBER_MORNING,
    PAY,
    SHOW_UP,
    STANDBY,
    _arrive,
    _complete,
    _ten_with_standby,
    office,
)

__all__ = ["office"]  # the fixture, imported for these tests

amounts = st.decimals(min_value=0, max_value=10**7, places=2)


class TestMoney:
    def test_a_worked_example(self) -> None:
        books = Money(orders=1, billed=Decimal(16000), paid=Decimal(8000),
                      show_up_fees=Decimal(1000), standby_fees=Decimal(300))
        assert books.overbooking_cost == Decimal(1300)
        assert books.margin == Decimal(6700)
        assert books.margin_per_order == Decimal("6700.00")

    def test_per_order_is_rounded_half_up_to_the_cent_and_none_without_orders(self) -> None:
        assert Money(orders=3, billed=Decimal(100)).margin_per_order == Decimal("33.33")
        assert Money(orders=3, billed=Decimal(200)).margin_per_order == Decimal("66.67")
        assert Money().margin_per_order is None
        assert Money().overbooking_cost_per_order is None

    @given(billed=amounts, paid=amounts, show_up=amounts, standby=amounts,
           orders=st.integers(min_value=1, max_value=500))
    def test_the_margin_and_the_fees_add_up_to_what_was_billed(
        self, billed: Decimal, paid: Decimal, show_up: Decimal, standby: Decimal, orders: int
    ) -> None:
        books = Money(orders=orders, billed=billed, paid=paid, show_up_fees=show_up,
                      standby_fees=standby)
        assert books.margin + books.paid + books.overbooking_cost == billed
        assert abs(books.margin_per_order * orders - books.margin) <= Decimal("0.005") * orders


@pytest.mark.django_db
class TestOrderAndMonth:
    def test_an_order_for_ten_that_twelve_came_to(self, books: Books, office: Franchise
                                                  ) -> None:
        order, booked, _ = _ten_with_standby(books, office)
        _arrive(books, order, booked, kept={booked[11].pk})
        _complete(books, order)
        figures = order_books(order=order)
        assert (figures.billed_workers, figures.kept, figures.sent_home, figures.standby) == (
            11, 1, 1, 1)
        assert figures.money.billed == 11 * 8 * BILL
        assert figures.money.paid == 11 * 8 * PAY
        assert figures.money.overbooking_cost == SHOW_UP + STANDBY
        assert figures.money.margin == 11 * 8 * (BILL - PAY) - SHOW_UP - STANDBY  # 8000
        # The royalty stays on turnover, the invoiced amount: not on the margin.
        month = statement_figures(franchise=office, period="2026-11")
        assert month["turnover"] == 11 * 8 * BILL

        html = render_to_string("billing/_order_money.html", {"order_books": figures})
        assert "11 workers: the 10 ordered and 1 kept at the client" in html
        assert "1 sent home beyond the headcount" in html
        assert "1 standby never called" in html
        assert "8000.00 RUB" in html

    def test_an_order_not_completed_shows_the_rule_not_figures(
        self, books: Books, office: Franchise
    ) -> None:
        order, _, _ = _ten_with_standby(books, office)
        figures = order_books(order=order)
        assert not figures.completed
        assert figures.money.margin_per_order is None
        html = render_to_string("billing/_order_money.html", {"order_books": figures})
        assert "at most the 10 ordered" in html
        assert "Margin" not in html

    def test_the_month_counts_completed_orders_by_their_local_start(
        self, books: Books, office: Franchise
    ) -> None:
        first, booked, _ = _ten_with_standby(books, office)
        _arrive(books, first, booked)
        _complete(books, first)
        # The office books 3 for 2: the third does not come.
        second, crew = books.staffed(books.client(office), start=NOVEMBER_MORNING
                                     + timedelta(days=1), headcount=2, bill_rate=BILL,
                                     pay_rate=PAY, accepting=3)
        books.complete(second, [(crew[0], PRESENT, None), (crew[1], PRESENT, "4")])
        books.staffed(books.client(office), start=NOVEMBER_MORNING + timedelta(days=2),
                      headcount=1, bill_rate=BILL, pay_rate=PAY, accepting=2)  # not completed

        month = month_money(franchise=office, period="2026-11")
        # First: billed 16000, paid 8000, fees 2 x 500 + 300. Second: billed 2400, paid 1200.
        assert month.orders == 2
        assert (month.billed, month.paid) == (Decimal(18400), Decimal(9200))
        assert (month.show_up_fees, month.standby_fees) == (2 * SHOW_UP, STANDBY)
        assert month.margin == Decimal(7900)
        assert month.margin_per_order == Decimal("3950.00")
        assert month_money(franchise=office, period="2026-10") == Money()

        html = render_to_string("billing/_month_money.html",
                                {"month_money": month, "currency": "RUB"})
        assert "3950.00 RUB" in html
        assert "show-up fees 1000.00, standby fees 300.00" in html

    def test_a_page_of_orders_costs_two_queries(self, books: Books, office: Franchise) -> None:
        orders = []
        for day in range(3):
            order, crew = books.staffed(books.client(office), start=NOVEMBER_MORNING
                                        + timedelta(days=day), headcount=2, bill_rate=BILL,
                                        pay_rate=PAY, accepting=3)
            books.complete(order, [(worker, PRESENT, None) for worker in crew[:2]])
            orders.append(order)
        page = list(Order.objects.filter(pk__in=[o.pk for o in orders])
                    .select_related("franchise"))
        with CaptureQueriesContext(connection) as queries:
            figures = orders_books(orders=page)
        assert len(queries) == 2
        assert {f.money.margin for f in figures.values()} == {2 * 8 * (BILL - PAY)}


@pytest.mark.django_db
@pytest.mark.usefixtures("hq_franchise")
def test_the_benchmark_carries_the_over_booking_cost_and_the_margin_per_order(
    books: Books, office: Franchise, hq_api: APIClient
) -> None:
    order, booked, _ = _ten_with_standby(books, office)
    _arrive(books, order, booked)
    _complete(books, order)
    response = hq_api.get("/api/v1/reports/benchmark/", {"period": "2026-11",
                                                         "ordering": "-overbooking_cost"})
    assert response.status_code == 200, response.content
    row: dict[str, Any] = response.json()["results"][0]
    assert row["franchise"] == office.pk
    # Two sent home at 500 and one standby at 300; 16000 billed - 8000 paid - 1300.
    assert (row["overbooking_cost"], row["margin_per_order"]) == ("1300.00", "6700.00")
    assert row["revenue"] == "16000.00"
    assert row["royalty"] == "2400.00"  # 15 % of turnover, not of the margin


@pytest.mark.django_db
def test_the_order_page_and_the_dashboard_show_the_margin(
    books: Books, office: Franchise, hq_user: Any
) -> None:
    order, booked, _ = _ten_with_standby(books, office)
    _arrive(books, order, booked, kept={booked[11].pk})
    _complete(books, order)
    browser = Browser()
    browser.force_login(hq_user)
    page = browser.get(f"/orders/{order.pk}/").content.decode()
    assert 'id="order-margin" data-amount="8000.00"' in page
    assert "Kept beyond the headcount at the client&#x27;s request" in page

    dashboard = browser.get(f"/dashboard/?franchise={office.pk}&period=2026-11")
    assert 'id="month-money" data-margin="8000.00"' in dashboard.content.decode()
