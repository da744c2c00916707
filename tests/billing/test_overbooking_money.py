"""The client pays for the crew it asked for; what over-booking costs is the franchise's.

An order for 10 that 12 came to bills 10 workers' hours: the surplus goes home with the
franchise's show-up fee, unless the client asked to keep them (then they are billed and paid
their hours); a standby worker who stayed ready and was never called gets the standby fee.
Corrections after completion restate all of it, once.
"""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from billing.models import InvoiceLine, PayLine
from billing.services import order_invoice, royalty_statements_issue
from dispatch.models import Offer, Order
from dispatch.services.attendance import booking_withdraw
from dispatch.services.onsite import (
    AttendanceEntry,
    attendance_record,
    order_complete,
    surplus_send_home,
)
from franchises.models import Franchise
from franchises.services import franchise_save
from messaging.models import Message
from workers.models import Worker

from .conftest import PRESENT, Books

# 09:00 in Saint Petersburg on a Wednesday: no night or weekend factor.
NOVEMBER_MORNING = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
DECEMBER_FIRST = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
JANUARY_FIRST = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)
BILL, PAY, SHOW_UP, STANDBY = Decimal(200), Decimal(100), Decimal(500), Decimal(300)

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(books: Books, spb: Franchise) -> Franchise:
    """Saint Petersburg books 12 for 10 (ratio 1.2); a thirteenth who says yes is standby."""
    spb.booking_ratio = Decimal("1.2")
    spb.show_up_fee, spb.standby_fee = SHOW_UP, STANDBY
    return franchise_save(franchise=spb)


def _ten_with_standby(books: Books, franchise: Franchise) -> tuple[Order, list[Worker],
                                                                   list[Worker]]:
    """An order for 10: 12 booked, 1 standby. Returns the order, the booked in the order
    they arrive on site, and the standby."""
    order, workers = books.staffed(books.client(franchise), start=NOVEMBER_MORNING,
                                   headcount=10, bill_rate=BILL, pay_rate=PAY, accepting=13)
    booked = set(order.offers.filter(state=Offer.State.CONFIRMED)
                 .values_list("worker_id", flat=True))
    standby = [w for w in workers if w.pk not in booked]
    assert len(booked) == 12
    assert len(standby) == 1
    return order, [w for w in workers if w.pk in booked], standby


def _arrive(books: Books, order: Order, workers: list[Worker], *, kept: set[int] = frozenset()
            ) -> None:
    """The foreman checks each one in as they arrive, a minute apart."""
    books.clock.set(order.start - timedelta(minutes=30))
    for worker in workers:
        books.clock.advance(timedelta(minutes=1))
        attendance_record(order=order, entries=[
            AttendanceEntry(worker.pk, PRESENT, kept=True if worker.pk in kept else None)])


def _complete(books: Books, order: Order) -> Order:
    books.clock.set(order.ends_at + timedelta(minutes=30))
    return order_complete(order=order)


def _lines(api: APIClient, resource: str, order: Order, **filters: Any) -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/{resource}/", {"order": order.pk, "page_size": 100, **filters})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _total(lines: list[dict[str, Any]]) -> Decimal:
    return sum((Decimal(line["amount"]) for line in lines), Decimal(0))


def _by_kind(lines: list[dict[str, Any]]) -> dict[str, set[int]]:
    kinds: dict[str, set[int]] = {}
    for line in lines:
        kinds.setdefault(line["kind"], set()).add(line["worker"])
    return kinds


class TestTheClientPaysForItsCrew:
    def test_ten_ordered_twelve_came_two_sent_home(
        self, books: Books, office: Franchise, spb_api: APIClient
    ) -> None:
        order, booked, standby = _ten_with_standby(books, office)
        _arrive(books, order, booked)
        _complete(books, order)

        invoiced = _lines(spb_api, "invoice-lines", order)
        assert {line["worker"] for line in invoiced} == {w.pk for w in booked[:10]}
        assert {(line["hours"], line["rate"], line["amount"], line["basis"])
                for line in invoiced} == {("8.00", "200.00", "1600.00", "headcount")}
        assert _total(invoiced) == 10 * 8 * BILL
        assert all("10 ordered" in line["note"] for line in invoiced)

        paid = _lines(spb_api, "pay-lines", order)
        assert _by_kind(paid) == {
            "hours": {w.pk for w in booked[:10]},
            "show_up_fee": {w.pk for w in booked[10:]},
            "standby_fee": {standby[0].pk},
        }
        fees = [line for line in paid if line["kind"] == "show_up_fee"]
        assert {(line["hours"], line["amount"]) for line in fees} == {("0.00", "500.00")}
        assert _total(paid) == 10 * 8 * PAY + 2 * SHOW_UP + STANDBY

    def test_one_of_the_two_kept_at_the_clients_request(
        self, books: Books, office: Franchise, spb_api: APIClient, foreman_api: APIClient,
        spb_foreman: Any,
    ) -> None:
        order, booked, standby = _ten_with_standby(books, office)
        Order.objects.filter(pk=order.pk).update(foreman=spb_foreman)
        _arrive(books, order, booked)
        extra, sent_home = booked[10], booked[11]
        # The client asks to keep one: the foreman marks it through the attendance API.
        response = foreman_api.post(f"/api/v1/orders/{order.pk}/attendance/",
                                    [{"worker": extra.pk, "status": "present", "kept": True}],
                                    format="json")
        assert response.status_code == 200, response.content
        assert response.json()[0]["kept"] is True
        _complete(books, order)

        invoiced = _lines(spb_api, "invoice-lines", order)
        assert len(invoiced) == 11
        assert _total(invoiced) == 11 * 8 * BILL
        [kept_line] = [line for line in invoiced if line["basis"] == "kept"]
        assert kept_line["worker"] == extra.pk
        assert "kept at the client's request" in kept_line["note"]
        paid = _lines(spb_api, "pay-lines", order)
        assert _by_kind(paid) == {
            "hours": {w.pk for w in booked[:11]},
            "show_up_fee": {sent_home.pk},
            "standby_fee": {standby[0].pk},
        }
        assert _total(paid) == 11 * 8 * PAY + SHOW_UP + STANDBY

    def test_where_more_worked_the_longest_hours_are_billed(
        self, books: Books, office: Franchise
    ) -> None:
        """Nobody sent home, two stayed all day: the client pays for ten, the ten longest
        shifts; the shortest two are the surplus, paid the show-up fee."""
        order, booked, _ = _ten_with_standby(books, office)
        _arrive(books, order, booked)
        attendance_record(order=order, entries=[
            AttendanceEntry(booked[0].pk, PRESENT, Decimal("5.5")),
            AttendanceEntry(booked[1].pk, PRESENT, Decimal(6)),
        ])
        _complete(books, order)
        billed = dict(InvoiceLine.objects.filter(order=order).values_list("worker_id", "hours"))
        assert set(billed) == {w.pk for w in booked[2:]}
        assert sum(billed.values()) == 80
        assert dict(PayLine.objects.filter(order=order, kind="show_up_fee")
                    .values_list("worker_id", "amount")) == {
            booked[0].pk: SHOW_UP, booked[1].pk: SHOW_UP}

    def test_a_full_crew_or_less_is_billed_whole_and_nobody_is_paid_a_show_up_fee(
        self, books: Books, office: Franchise
    ) -> None:
        order, booked, _ = _ten_with_standby(books, office)
        _arrive(books, order, booked[:9])
        _complete(books, order)
        assert InvoiceLine.objects.filter(order=order).count() == 9
        assert not PayLine.objects.filter(order=order, kind="show_up_fee").exists()


class TestStandby:
    def test_a_standby_worker_never_called_gets_the_standby_fee(
        self, books: Books, office: Franchise, spb_api: APIClient
    ) -> None:
        order, booked, (standby,) = _ten_with_standby(books, office)
        _arrive(books, order, booked[:10])
        _complete(books, order)
        [line] = _lines(spb_api, "pay-lines", order, kind="standby_fee")
        assert (line["worker"], line["hours"], line["rate"], line["amount"]) == (
            standby.pk, "0.00", "300.00", "300.00")
        assert not InvoiceLine.objects.filter(order=order, worker=standby).exists()

    def test_a_standby_worker_who_came_is_paid_the_hours_not_the_fee(
        self, books: Books, office: Franchise
    ) -> None:
        order, booked, (standby,) = _ten_with_standby(books, office)
        _arrive(books, order, [*booked[:9], standby])
        _complete(books, order)
        line = PayLine.objects.get(order=order, worker=standby)
        assert (line.kind, line.amount) == ("hours", 8 * PAY)

    def test_a_standby_worker_who_withdrew_gets_nothing(
        self, books: Books, office: Franchise
    ) -> None:
        order, booked, (standby,) = _ten_with_standby(books, office)
        booking_withdraw(offer=Offer.objects.get(order=order, worker=standby))
        _arrive(books, order, booked[:10])
        _complete(books, order)
        assert not PayLine.objects.filter(order=order, worker=standby).exists()

    def test_no_fee_set_no_fee_line(self, books: Books, office: Franchise) -> None:
        office.show_up_fee = office.standby_fee = Decimal(0)
        franchise_save(franchise=office)
        order, booked, _ = _ten_with_standby(books, office)
        _arrive(books, order, booked)
        _complete(books, order)
        assert set(PayLine.objects.filter(order=order).values_list("kind", flat=True)) == {
            "hours"}
        assert PayLine.objects.filter(order=order).count() == 10


class TestCorrectionsRestateItOnce:
    def test_an_attendance_correction_after_completion_restates_all_of_it_once(
        self, books: Books, office: Franchise, spb_api: APIClient
    ) -> None:
        """Completed: 10 billed, 2 sent home, 1 standby. November's statement is issued.
        Then the foreman corrects: one of the crew was a no-show, and the client had asked
        to keep one of the extras. Now 11 are billed (10 who stayed and the kept one), no
        show-up fee is due, the standby fee stands; December's statement carries the
        difference, once; the same correction again changes nothing."""
        order, booked, (standby,) = _ten_with_standby(books, office)
        _arrive(books, order, booked)
        _complete(books, order)
        books.clock.set(DECEMBER_FIRST)
        [november] = [s for s in royalty_statements_issue(period="2026-11")
                      if s.franchise_id == office.pk]
        assert november.turnover == 10 * 8 * BILL

        correction = [{"worker": booked[3].pk, "status": "no_show"},
                      {"worker": booked[11].pk, "status": "present", "kept": True}]
        books.clock.set(order.ends_at + timedelta(days=6))
        for _ in range(2):
            response = spb_api.post(f"/api/v1/orders/{order.pk}/attendance/", correction,
                                    format="json")
            assert response.status_code == 200, response.content
            order_invoice(order=order)

            invoiced = _lines(spb_api, "invoice-lines", order)
            assert _total(invoiced) == 11 * 8 * BILL
            assert {line["worker"] for line in invoiced} == {
                w.pk for w in booked if w != booked[3]}
            assert [line["worker"] for line in invoiced if line["basis"] == "kept"] == [
                booked[11].pk]
            paid = _lines(spb_api, "pay-lines", order)
            assert _by_kind(paid) == {
                "hours": {w.pk for w in booked if w != booked[3]},
                "standby_fee": {standby.pk},
            }
            assert len(paid) == 12
            assert _total(paid) == 11 * 8 * PAY + STANDBY

        books.clock.set(JANUARY_FIRST)
        [december] = [s for s in royalty_statements_issue(period="2026-12")
                      if s.franchise_id == office.pk]
        assert december.adjustment == 8 * BILL
        books.clock.set(JANUARY_FIRST + timedelta(days=31))
        [january] = [s for s in royalty_statements_issue(period="2027-01")
                     if s.franchise_id == office.pk]
        assert january.adjustment == 0

    def test_a_fee_line_turned_back_into_hours_takes_the_orders_rate(
        self, books: Books, office: Franchise
    ) -> None:
        order, booked, _ = _ten_with_standby(books, office)
        _arrive(books, order, booked)
        _complete(books, order)
        line = PayLine.objects.get(order=order, worker=booked[10])
        assert (line.kind, line.rate, line.amount) == ("show_up_fee", SHOW_UP, SHOW_UP)
        books.clock.set(order.ends_at + timedelta(days=1))
        attendance_record(order=order, entries=[
            AttendanceEntry(booked[10].pk, PRESENT, kept=True)])
        line.refresh_from_db()
        assert (line.kind, line.hours, line.rate, line.amount) == (
            "hours", Decimal(8), PAY, 8 * PAY)


class TestSentHome:
    def test_a_worker_sent_home_is_texted_the_fee_once_and_paid_it(
        self, books: Books, office: Franchise
    ) -> None:
        order, booked, _ = _ten_with_standby(books, office)
        _arrive(books, order, booked)
        assert surplus_send_home(order=order, worker_id=booked[11].pk) is True
        assert surplus_send_home(order=order, worker_id=booked[11].pk) is False
        [text] = Message.objects.filter(order=order, worker=booked[11], purpose="sent_home")
        assert "500р" in text.body
        assert order.code in text.body
        # A crew member leaves at noon: the worker sent home at nine did not work, so the
        # crew is short, and they are still paid the fee, not hours.
        attendance_record(order=order, entries=[AttendanceEntry(booked[0].pk, PRESENT,
                                                                Decimal(3))])
        _complete(books, order)
        offer = Offer.objects.get(order=order, worker=booked[11])
        assert offer.hours_worked is None
        assert PayLine.objects.get(order=order, worker=booked[11]).kind == "show_up_fee"
        assert PayLine.objects.get(order=order, worker=booked[10]).kind == "hours"
        assert InvoiceLine.objects.filter(order=order).count() == 10

    def test_one_of_the_headcount_is_not_sent_home(
        self, books: Books, office: Franchise
    ) -> None:


        order, booked, _ = _ten_with_standby(books, office)
        _arrive(books, order, booked[:11])
        with pytest.raises(ValidationError, match="one of the 10 the client ordered"):
            surplus_send_home(order=order, worker_id=booked[0].pk)
        with pytest.raises(ValidationError, match="checked in"):
            surplus_send_home(order=order, worker_id=booked[11].pk)
        assert not Message.objects.filter(order=order, purpose="sent_home").exists()
        assert not Offer.objects.filter(order=order, sent_home_at__isnull=False).exists()


class TestTheApi:
    def test_kept_on_a_no_show_is_a_400_and_writes_nothing(
        self, books: Books, office: Franchise, spb_api: APIClient
    ) -> None:
        order, booked, _ = _ten_with_standby(books, office)
        books.clock.set(order.start)
        response = spb_api.post(f"/api/v1/orders/{order.pk}/attendance/", [
            {"worker": booked[0].pk, "status": "present"},
            {"worker": booked[1].pk, "status": "no_show", "kept": True},
        ], format="json")
        assert response.status_code == 400
        assert "kept" in response.json()
        assert not Offer.objects.filter(order=order, attendance__isnull=False).exists()

    def test_kept_left_out_keeps_the_mark_and_false_takes_it_back(
        self, books: Books, office: Franchise, spb_api: APIClient
    ) -> None:
        order, booked, _ = _ten_with_standby(books, office)
        books.clock.set(order.start)
        url = f"/api/v1/orders/{order.pk}/attendance/"
        worker = booked[0].pk
        spb_api.post(url, [{"worker": worker, "status": "present", "kept": True}], format="json")
        response = spb_api.post(url, [{"worker": worker, "status": "late", "hours": "6"}],
                                format="json")
        assert response.json()[0]["kept"] is True
        response = spb_api.post(url, [{"worker": worker, "status": "late", "kept": False}],
                                format="json")
        assert response.json()[0]["kept"] is False
        assert spb_api.post(url, [{"worker": worker, "status": "present", "kept": "maybe"}],
                            format="json").status_code == 400

    def test_pay_lines_filter_by_kind_and_refuse_an_unknown_one(
        self, books: Books, office: Franchise, spb_api: APIClient
    ) -> None:
        order, booked, _ = _ten_with_standby(books, office)
        _arrive(books, order, booked)
        _complete(books, order)
        counts = {kind: len(_lines(spb_api, "pay-lines", order, kind=kind))
                  for kind in ("hours", "show_up_fee", "standby_fee")}
        assert counts == {"hours": 10, "show_up_fee": 2, "standby_fee": 1}
        response = spb_api.get("/api/v1/pay-lines/", {"kind": "bonus"})
        assert response.status_code == 400
        assert "kind" in response.json()
        kept = spb_api.get("/api/v1/invoice-lines/", {"order": order.pk, "basis": "kept"})
        assert kept.json()["count"] == 0

    def test_the_exports_carry_the_kind_and_the_basis(
        self, books: Books, office: Franchise, spb_api: APIClient
    ) -> None:
        order, booked, _ = _ten_with_standby(books, office)
        _arrive(books, order, booked, kept={booked[11].pk})
        _complete(books, order)

        def rows(resource: str) -> list[dict[str, str]]:
            response = spb_api.get(f"/api/v1/{resource}/export/", {"period": "2026-11"})
            assert response.status_code == 200
            return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))

        pay = rows("pay-lines")
        assert list(pay[0])[-1] == "kind"
        assert sorted(row["kind"] for row in pay).count("show_up_fee") == 1
        assert sorted(row["kind"] for row in pay).count("standby_fee") == 1
        fee = next(row for row in pay if row["kind"] == "show_up_fee")
        assert (fee["hours"], fee["amount"]) == ("0.00", "500.00")
        invoice = rows("invoice-lines")
        assert list(invoice[0])[-2:] == ["basis", "note"]
        kept = [row for row in invoice if row["basis"] == "kept"]
        assert len(kept) == 1
        assert len(invoice) == 11
        assert "kept at the client's request" in kept[0]["note"]
