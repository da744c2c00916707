"""Attendance corrected after completion: what the client is billed and the worker paid follow.

The foreman may correct attendance for a week after the end (CONTRACT §4); turnover is
confirmed hours x bill rate, so a worker turned no-show leaves the invoice, the statement's
turnover and the royalty, and a worker found present joins them.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from billing.models import InvoiceLine, PayLine
from billing.services import order_invoice, royalty_statements_issue
from dispatch.models import Offer, Order
from franchises.models import Franchise
from workers.models import Worker

from .conftest import NO_SHOW, PRESENT, Books

NOVEMBER_MORNING = datetime(2026, 11, 10, 6, 0, tzinfo=UTC)  # 09:00 in Saint Petersburg
DECEMBER_FIRST = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 06:00 in Saint Petersburg


def _completed(books: Books, franchise: Franchise, attendance: list[str], *, hours: Any = 8,
               bill_rate: str = "200", pay_rate: str = "100") -> tuple[Order, list[Worker]]:
    order, crew = books.staffed(books.client(franchise), start=NOVEMBER_MORNING,
                                headcount=len(attendance), hours=hours, bill_rate=bill_rate,
                                pay_rate=pay_rate)
    books.complete(order, [(worker, status, None) for worker, status in zip(
        crew, attendance, strict=True)])
    return order, crew


def _correct(api: APIClient, order: Order, entries: list[dict[str, Any]]) -> Any:
    return api.post(f"/api/v1/orders/{order.pk}/attendance/", entries, format="json")


def _invoiced(api: APIClient, order: Order) -> dict[int, tuple[str, str]]:
    """worker id -> (hours, amount) of the order's invoice lines, as the API lists them."""
    response = api.get("/api/v1/invoice-lines/", {"order": order.pk})
    assert response.status_code == 200, response.content
    return {line["worker"]: (line["hours"], line["amount"])
            for line in response.json()["results"]}


def _paid(order: Order) -> dict[int, Decimal]:
    return dict(PayLine.objects.filter(order=order).values_list("worker_id", "amount"))


@pytest.mark.django_db
class TestCorrectionsAfterCompletion:
    def test_a_worker_turned_no_show_is_no_longer_billed_or_paid(
        self, books: Books, spb: Franchise, spb_api: APIClient
    ) -> None:
        order, (stays, turned) = _completed(books, spb, [PRESENT, PRESENT])
        assert set(_invoiced(spb_api, order)) == {stays.pk, turned.pk}

        books.clock.set(order.ends_at + timedelta(days=3))
        response = _correct(spb_api, order, [{"worker": turned.pk, "status": "no_show"}])

        assert response.status_code == 200, response.content
        assert _invoiced(spb_api, order) == {stays.pk: ("8.00", "1600.00")}
        assert _paid(order) == {stays.pk: Decimal("800.00")}
        books.clock.set(DECEMBER_FIRST)  # November's statements, once November is over
        statement = {s.franchise_id: s for s in royalty_statements_issue(period="2026-11")}[
            spb.pk]
        assert (statement.turnover, statement.royalty) == (Decimal("1600.00"), Decimal("240.00"))

    def test_a_no_show_found_present_is_billed_for_the_shift(
        self, books: Books, spb: Franchise, spb_api: APIClient
    ) -> None:
        order, (came, found) = _completed(books, spb, [PRESENT, NO_SHOW])
        assert set(_invoiced(spb_api, order)) == {came.pk}

        books.clock.set(order.ends_at + timedelta(days=6))
        response = _correct(spb_api, order, [{"worker": found.pk, "status": "present"}])

        assert response.status_code == 200, response.content
        assert Offer.objects.get(order=order, worker=found).hours_worked == Decimal(8)
        assert _invoiced(spb_api, order) == {
            came.pk: ("8.00", "1600.00"), found.pk: ("8.00", "1600.00")}
        assert _paid(order) == {came.pk: Decimal("800.00"), found.pk: Decimal("800.00")}
        books.clock.set(DECEMBER_FIRST)  # November's statements, once November is over
        statement = {s.franchise_id: s for s in royalty_statements_issue(period="2026-11")}[
            spb.pk]
        assert statement.turnover == Decimal("3200.00")

    def test_corrected_hours_change_the_amounts(
        self, books: Books, spb: Franchise, spb_api: APIClient
    ) -> None:
        order, (shorter, untouched) = _completed(books, spb, [PRESENT, PRESENT],
                                                 bill_rate="233.33", pay_rate="101.11")
        books.clock.set(order.ends_at + timedelta(days=1))
        response = _correct(spb_api, order,
                            [{"worker": shorter.pk, "status": "present", "hours": "5.5"}])

        assert response.status_code == 200, response.content
        assert _invoiced(spb_api, order) == {
            shorter.pk: ("5.50", "1283.32"), untouched.pk: ("8.00", "1866.64")}
        assert _paid(order) == {shorter.pk: Decimal("556.11"), untouched.pk: Decimal("808.88")}

    def test_the_same_correction_twice_changes_nothing_more(
        self, books: Books, spb: Franchise, spb_api: APIClient
    ) -> None:
        order, (stays, turned, found) = _completed(books, spb, [PRESENT, PRESENT, NO_SHOW])
        books.clock.set(order.ends_at + timedelta(days=2))
        entries = [{"worker": turned.pk, "status": "no_show"},
                   {"worker": found.pk, "status": "late", "hours": "6"}]
        assert _correct(spb_api, order, entries).status_code == 200
        first = list(InvoiceLine.objects.filter(order=order).values())

        assert _correct(spb_api, order, entries).status_code == 200
        order_invoice(order=order)

        assert list(InvoiceLine.objects.filter(order=order).values()) == first
        assert _invoiced(spb_api, order) == {
            stays.pk: ("8.00", "1600.00"), found.pk: ("6.00", "1200.00")}
        assert set(_paid(order)) == {stays.pk, found.pk}

    def test_a_correction_after_the_week_is_refused_and_the_books_stay(
        self, books: Books, spb: Franchise, spb_api: APIClient
    ) -> None:
        order, (_, turned) = _completed(books, spb, [PRESENT, PRESENT])
        books.clock.set(order.ends_at + timedelta(days=7, minutes=1))
        response = _correct(spb_api, order, [{"worker": turned.pk, "status": "no_show"}])
        assert response.status_code == 400
        assert len(_invoiced(spb_api, order)) == 2

    def test_rewriting_the_lines_costs_the_same_queries_for_any_crew(
        self, books: Books, spb: Franchise
    ) -> None:
        """Lines added, changed and removed in a few queries, not a few per worker."""
        counts = []
        for size in (3, 7):
            order, crew = _completed(books, spb, [NO_SHOW] + [PRESENT] * (size - 1))
            Offer.objects.filter(order=order, worker=crew[0]).update(
                attendance=Offer.Attendance.PRESENT, hours_worked=Decimal(8))
            Offer.objects.filter(order=order, worker=crew[1]).update(
                attendance=Offer.Attendance.NO_SHOW, hours_worked=None)
            Offer.objects.filter(order=order, worker__in=crew[2:]).update(
                hours_worked=Decimal(5))
            with CaptureQueriesContext(connection) as queries:
                order_invoice(order=order)
            counts.append(len(queries))
            lines = dict(InvoiceLine.objects.filter(order=order)
                         .values_list("worker_id", "amount"))
            assert lines == {crew[0].pk: Decimal("1600.00"),
                             **{worker.pk: Decimal("1000.00") for worker in crew[2:]}}
        assert counts[0] == counts[1]
