"""Money after the work: invoice and pay lines at completion, royalty statements, payments."""

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from billing.models import InvoiceLine, PayLine, RateCard, RoyaltyPayment, RoyaltyStatement
from billing.services import (
    order_invoice,
    royalty_statements_issue,
    statement_pay,
    statements_mark_overdue,
)
from billing.tasks import issue_due_statements
from core import clock
from dispatch.models import Order
from dispatch.services.onsite import order_complete
from franchises.models import Franchise
from franchises.services import franchise_save

from .conftest import LATE, NO_SHOW, PRESENT, Books

STATEMENTS = "/api/v1/royalty-statements/"
INVOICE_LINES = "/api/v1/invoice-lines/"
PAY_LINES = "/api/v1/pay-lines/"
# 22:30 UTC on 31 October is 01:30 on 1 November in Moscow: November's turnover.
OCTOBER_NIGHT = datetime(2026, 10, 31, 22, 30, tzinfo=UTC)


def _results(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def _statement(franchise: Franchise, period: str = "2026-11") -> RoyaltyStatement:
    return RoyaltyStatement.objects.get(franchise=franchise, period=period)


@pytest.fixture
def month(books: Books, spb: Franchise, nsk: Franchise, hq_api: APIClient) -> dict[str, Any]:
    """November 2026 at both offices, with hand-computed figures.

    Saint Petersburg (15 %, fee 5000): an order at 233.33/h (4 workers: 7.5 h, 6 h late,
    the full 8 h shift, a no-show) -> 1749.98 + 1399.98 + 1866.64 = 5016.60; a credit of
    99.90 -> turnover 4916.70; royalty 737.505 -> 737.51 (half-up); total 5737.51. An
    October order does not count. Novosibirsk (15 %, no fee): one worker, 4 h x 300 = 1200.
    """
    spb.monthly_fee = Decimal(5000)
    franchise_save(franchise=spb)
    spb_client = books.client(spb)
    nsk_client = books.client(nsk, "Siberian furniture")
    november = books.worked(
        spb_client, start=OCTOBER_NIGHT, hours=8, bill_rate="233.33", pay_rate="101.11",
        attendance=[(PRESENT, "7.5"), (LATE, "6"), (PRESENT, None), (NO_SHOW, None)],
    )
    october = books.worked(
        spb_client, start=datetime(2026, 10, 20, 6, 0, tzinfo=UTC), hours=4,
        bill_rate="220", pay_rate="100", attendance=[(PRESENT, None)],
    )
    siberian = books.worked(
        nsk_client, start=datetime(2026, 11, 10, 2, 0, tzinfo=UTC), hours=4,
        bill_rate="300", pay_rate="120", attendance=[(PRESENT, None)],
    )
    response = hq_api.post("/api/v1/credits/", {
        "franchise": spb.pk, "client": spb_client.pk, "period": "2026-11", "amount": "99.90",
        "reason": "a broken pallet",
    }, format="json")
    assert response.status_code == 201, response.content
    books.clock.set(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    return {"november": november, "october": october, "siberian": siberian,
            "spb_client": spb_client}


@pytest.mark.django_db
class TestLinesAtCompletion:
    def test_hours_times_rates_to_the_cent(self, month: dict[str, Any]) -> None:
        order = month["november"]
        lines = list(InvoiceLine.objects.filter(order=order).order_by("worker_id"))
        assert [line.hours for line in lines] == [Decimal("7.5"), Decimal("6.0"), Decimal(8)]
        assert [line.amount for line in lines] == [
            Decimal("1749.98"), Decimal("1399.98"), Decimal("1866.64")]
        assert {line.rate for line in lines} == {Decimal("233.33")}
        assert {(line.client_id, line.franchise_id, line.currency) for line in lines} == {
            (order.client_id, order.franchise_id, "RUB")}
        pay = list(PayLine.objects.filter(order=order).order_by("worker_id"))
        assert [line.worker_id for line in pay] == [line.worker_id for line in lines]
        assert [line.amount for line in pay] == [
            Decimal("758.33"), Decimal("606.66"), Decimal("808.88")]
        assert {line.rate for line in pay} == {Decimal("101.11")}

    def test_no_show_earns_and_bills_nothing(self, month: dict[str, Any]) -> None:
        order = month["november"]
        no_show = order.offers.get(attendance="no_show").worker_id
        assert not InvoiceLine.objects.filter(order=order, worker_id=no_show).exists()
        assert not PayLine.objects.filter(order=order, worker_id=no_show).exists()

    def test_the_period_is_the_month_of_the_start_in_local_time(
        self, month: dict[str, Any]
    ) -> None:
        assert set(InvoiceLine.objects.filter(order=month["november"])
                   .values_list("period", flat=True)) == {"2026-11"}
        assert set(PayLine.objects.filter(order=month["november"])
                   .values_list("period", flat=True)) == {"2026-11"}
        assert set(InvoiceLine.objects.filter(order=month["october"])
                   .values_list("period", flat=True)) == {"2026-10"}

    @pytest.mark.parametrize(
        ("office", "start", "period"),
        [
            ("spb", datetime(2026, 10, 31, 20, 30, tzinfo=UTC), "2026-10"),  # 23:30 Moscow
            ("spb", datetime(2026, 10, 31, 21, 0, tzinfo=UTC), "2026-11"),  # midnight
            ("nsk", datetime(2026, 10, 31, 16, 30, tzinfo=UTC), "2026-10"),  # 23:30 UTC+7
            ("nsk", datetime(2026, 10, 31, 17, 30, tzinfo=UTC), "2026-11"),  # 00:30 UTC+7
        ],
    )
    def test_the_month_follows_the_franchise_time_zone(
        self, books: Books, request: Any, office: str, start: datetime, period: str
    ) -> None:
        franchise = request.getfixturevalue(office)
        order = books.worked(books.client(franchise), start=start, hours=4, bill_rate="200",
                             pay_rate="100", attendance=[(PRESENT, None)])
        line = InvoiceLine.objects.get(order=order)
        assert line.period == period
        assert PayLine.objects.get(order=order).period == period
        assert (line.hours, line.amount) == (Decimal(4), Decimal("800.00"))

    def test_completing_twice_writes_no_duplicate(self, month: dict[str, Any]) -> None:
        order = month["november"]
        before = (InvoiceLine.objects.count(), PayLine.objects.count())
        again = order_complete(order=order)
        assert again.status == Order.Status.COMPLETED
        order_invoice(order=order)
        assert (InvoiceLine.objects.count(), PayLine.objects.count()) == before
        assert InvoiceLine.objects.filter(order=order).count() == 3

    def test_completing_through_the_api_twice_writes_no_duplicate(
        self, books: Books, spb: Franchise, spb_api: APIClient
    ) -> None:
        order, workers = books.staffed(books.client(spb), start=OCTOBER_NIGHT, headcount=2,
                                       bill_rate="210", pay_rate="95")
        books.clock.set(order.start + timedelta(minutes=5))
        response = spb_api.post(f"/api/v1/orders/{order.pk}/attendance/", [
            {"worker": workers[0].pk, "status": "present", "hours": "5.5"},
            {"worker": workers[1].pk, "status": "present"},
        ], format="json")
        assert response.status_code == 200, response.content
        books.clock.set(order.ends_at)
        for _ in range(2):
            response = spb_api.post(f"/api/v1/orders/{order.pk}/complete/")
            assert response.status_code == 200, response.content
        amounts = sorted(InvoiceLine.objects.filter(order=order).values_list("amount", flat=True))
        assert amounts == [Decimal("1155.00"), Decimal("1680.00")]  # 5.5 h and 8 h x 210
        assert PayLine.objects.filter(order=order).count() == 2


@pytest.mark.django_db
class TestRoyaltyStatements:
    def test_fifteen_percent_of_turnover_plus_the_fee(self, month: dict[str, Any],
                                                       spb: Franchise) -> None:
        royalty_statements_issue(period="2026-11")
        statement = _statement(spb)
        assert statement.invoiced == Decimal("5016.60")
        assert statement.credits == Decimal("99.90")
        assert statement.turnover == Decimal("4916.70")
        assert statement.royalty_rate == Decimal("0.15")
        assert statement.royalty == Decimal("737.51")
        assert statement.monthly_fee == Decimal("5000.00")
        assert statement.total == Decimal("5737.51")
        assert (statement.paid, statement.status) == (Decimal(0), "issued")
        assert statement.due_on == date(2026, 12, 15)
        assert statement.issued_at == clock.now()

    def test_each_franchise_has_its_own_figures(self, month: dict[str, Any], nsk: Franchise,
                                                spb: Franchise) -> None:
        royalty_statements_issue(period="2026-11")
        statement = _statement(nsk)
        assert (statement.invoiced, statement.credits, statement.turnover) == (
            Decimal("1200.00"), Decimal(0), Decimal("1200.00"))
        assert (statement.royalty, statement.total) == (Decimal("180.00"), Decimal("180.00"))
        october = royalty_statements_issue(period="2026-10")
        assert {s.franchise_id: s.turnover for s in october} == {
            spb.pk: Decimal("880.00"), nsk.pk: Decimal(0)}

    def test_the_command_twice_gives_one_statement_per_franchise(
        self, month: dict[str, Any], spb: Franchise, nsk: Franchise, hq_franchise: Franchise
    ) -> None:
        first = io.StringIO()
        call_command("issue_royalty_statements", "--period", "2026-11", stdout=first)
        figures = list(RoyaltyStatement.objects.order_by("franchise_id").values())
        second = io.StringIO()
        call_command("issue_royalty_statements", "--period", "2026-11", stdout=second)
        assert list(RoyaltyStatement.objects.order_by("franchise_id").values()) == figures
        assert sorted(s["franchise_id"] for s in figures) == sorted([spb.pk, nsk.pk])
        assert first.getvalue() == second.getvalue()
        assert "2 statements for 2026-11" in first.getvalue()
        assert "5737.51" in first.getvalue()

    @pytest.mark.parametrize(
        "period", ["2026-13", "2026-00", "26-11", "2026/11", "november", "2026-1", "",
                   "2026-1 ", "2026-+1", "1999-12", "2026-11-01"],
    )
    def test_a_bad_period_is_a_command_error(self, spb: Franchise, period: str) -> None:
        with pytest.raises(CommandError, match="YYYY-MM"):
            call_command("issue_royalty_statements", "--period", period, stdout=io.StringIO())
        assert not RoyaltyStatement.objects.exists()

    def test_inactive_franchises_get_no_statement(self, month: dict[str, Any],
                                                  nsk: Franchise) -> None:
        nsk.is_active = False
        franchise_save(franchise=nsk)
        statements = royalty_statements_issue(period="2026-11")
        assert nsk.pk not in {s.franchise_id for s in statements}


@pytest.mark.django_db
class TestPayments:
    @pytest.fixture
    def issued(self, month: dict[str, Any]) -> list[RoyaltyStatement]:
        assert clock.now().date() == date(2026, 12, 1)
        return royalty_statements_issue(period="2026-11")

    def _pay(self, api: APIClient, statement: RoyaltyStatement, amount: str,
             paid_on: str = "2026-12-01") -> Any:
        return api.post(f"{STATEMENTS}{statement.pk}/pay/",
                        {"amount": amount, "paid_on": paid_on}, format="json")

    def test_partial_payments_add_up_until_paid(
        self, issued: list[RoyaltyStatement], spb: Franchise, spb_api: APIClient,
        hq_api: APIClient,
    ) -> None:
        statement = _statement(spb)
        first = self._pay(spb_api, statement, "2000.00")
        assert first.status_code == 200, first.content
        assert (first.json()["paid"], first.json()["status"]) == ("2000.00", "issued")
        second = self._pay(hq_api, statement, "3000.00")
        assert (second.json()["paid"], second.json()["status"]) == ("5000.00", "issued")
        last = self._pay(spb_api, statement, "737.51")
        assert (last.json()["paid"], last.json()["status"]) == ("5737.51", "paid")
        statement.refresh_from_db()
        assert (statement.paid, statement.status) == (Decimal("5737.51"), "paid")
        assert RoyaltyPayment.objects.filter(statement=statement).count() == 3
        assert self._pay(spb_api, statement, "0.01").status_code == 400

    def test_overpayment_is_refused(self, issued: list[RoyaltyStatement], spb: Franchise,
                                    spb_api: APIClient) -> None:
        statement = _statement(spb)
        assert self._pay(spb_api, statement, "5737.52").status_code == 400
        self._pay(spb_api, statement, "5000.00")
        response = self._pay(spb_api, statement, "737.52")
        assert response.status_code == 400
        assert "amount" in response.json()
        statement.refresh_from_db()
        assert (statement.paid, statement.status) == (Decimal("5000.00"), "issued")

    @pytest.mark.parametrize("amount", ["0", "0.00", "-5", "abc", "0.001"])
    def test_a_payment_must_be_a_positive_amount(
        self, issued: list[RoyaltyStatement], spb: Franchise, spb_api: APIClient, amount: str
    ) -> None:
        response = self._pay(spb_api, _statement(spb), amount)
        assert response.status_code == 400
        assert "amount" in response.json()
        assert not RoyaltyPayment.objects.exists()

    def test_a_payment_date_in_the_future_is_refused(
        self, issued: list[RoyaltyStatement], spb: Franchise, spb_api: APIClient
    ) -> None:
        response = self._pay(spb_api, _statement(spb), "10.00", paid_on="2026-12-02")
        assert response.status_code == 400
        assert "paid_on" in response.json()

    def test_a_franchise_cannot_pay_or_see_another_franchise_statement(
        self, issued: list[RoyaltyStatement], spb: Franchise, nsk: Franchise,
        nsk_api: APIClient,
    ) -> None:
        theirs = _statement(spb)
        assert self._pay(nsk_api, theirs, "10.00").status_code == 404
        assert nsk_api.get(f"{STATEMENTS}{theirs.pk}/").status_code == 404
        assert nsk_api.get(f"{STATEMENTS}{theirs.pk}/lines/").status_code == 404
        assert [row["franchise"] for row in _results(nsk_api.get(STATEMENTS))] == [nsk.pk]
        own = self._pay(nsk_api, _statement(nsk), "180.00")
        assert (own.status_code, own.json()["status"]) == (200, "paid")
        theirs.refresh_from_db()
        assert theirs.paid == Decimal(0)

    def test_hq_sees_every_statement(self, issued: list[RoyaltyStatement], hq_api: APIClient,
                                     spb: Franchise, nsk: Franchise) -> None:
        rows = _results(hq_api.get(STATEMENTS, {"period": "2026-11"}))
        assert {row["franchise"] for row in rows} == {spb.pk, nsk.pk}
        mine = next(row for row in rows if row["franchise"] == spb.pk)
        assert (mine["turnover"], mine["royalty"], mine["total"]) == (
            "4916.70", "737.51", "5737.51")


@pytest.mark.django_db
class TestOverdue:
    def test_unpaid_after_the_due_date_is_overdue(self, month: dict[str, Any], spb: Franchise,
                                                  nsk: Franchise, hq_user: Any) -> None:
        royalty_statements_issue(period="2026-11")
        statement_pay(statement=_statement(nsk), amount=Decimal("180.00"),
                      paid_on=date(2026, 12, 1), recorded_by=hq_user)
        statement_pay(statement=_statement(spb), amount=Decimal("1000.00"),
                      paid_on=date(2026, 12, 1), recorded_by=hq_user)
        assert statements_mark_overdue(today=date(2026, 12, 15)) == 0
        assert _statement(spb).status == "issued"
        assert statements_mark_overdue(today=date(2026, 12, 16)) == 1
        assert _statement(spb).status == "overdue"
        assert _statement(nsk).status == "paid"
        # Paying the rest of an overdue statement settles it.
        statement_pay(statement=_statement(spb), amount=Decimal("4737.51"),
                      paid_on=date(2026, 12, 1), recorded_by=hq_user)
        assert _statement(spb).status == "paid"

    def test_the_monthly_task_issues_last_month_and_marks_overdue(
        self, month: dict[str, Any], spb: Franchise, nsk: Franchise
    ) -> None:
        first_of_december = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
        with clock.use_clock(lambda: first_of_december):
            issue_due_statements.delay()
        assert {s.period for s in RoyaltyStatement.objects.all()} == {"2026-11"}
        assert set(RoyaltyStatement.objects.values_list("status", flat=True)) == {"issued"}
        sixteenth = datetime(2026, 12, 16, 0, 5, tzinfo=UTC)
        with clock.use_clock(lambda: sixteenth):
            issue_due_statements.delay()
        assert RoyaltyStatement.objects.count() == 2
        assert _statement(spb).status == "overdue"
        assert _statement(spb).total == Decimal("5737.51")

    def test_a_statement_with_nothing_to_pay_is_never_overdue(
        self, books: Books, nsk: Franchise, spb: Franchise
    ) -> None:
        books.clock.set(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
        royalty_statements_issue(period="2026-11")
        empty = _statement(nsk)
        assert (empty.total, empty.status) == (Decimal("0.00"), "credit")
        statements_mark_overdue(today=date(2027, 3, 1))
        assert _statement(nsk).status == "credit"


@pytest.mark.django_db
class TestTrailAndExports:
    def test_the_statement_lists_its_invoice_lines(
        self, month: dict[str, Any], spb: Franchise, spb_api: APIClient
    ) -> None:
        royalty_statements_issue(period="2026-11")
        statement = _statement(spb)
        rows = _results(spb_api.get(f"{STATEMENTS}{statement.pk}/lines/"))
        expected = InvoiceLine.objects.filter(franchise=spb, period="2026-11")
        assert sorted(row["id"] for row in rows) == sorted(expected.values_list("pk", flat=True))
        assert len(rows) == 3
        assert sum(Decimal(row["amount"]) for row in rows) == statement.invoiced
        assert {row["order"] for row in rows} == {month["november"].pk}

    def test_invoice_csv_has_a_header_and_a_row_per_line_of_the_callers_franchise(
        self, month: dict[str, Any], spb: Franchise, spb_api: APIClient, nsk_api: APIClient,
        hq_api: APIClient,
    ) -> None:
        rows = _csv_rows(spb_api.get(f"{INVOICE_LINES}export/"))
        assert rows[0] == ["period", "client", "order", "date", "worker", "hours", "rate",
                           "amount", "currency", "basis", "note"]
        assert len(rows) == 1 + InvoiceLine.objects.filter(franchise=spb).count() == 5
        assert {row[2] for row in rows[1:]} == {month["november"].code, month["october"].code}
        november = _csv_rows(spb_api.get(f"{INVOICE_LINES}export/", {"period": "2026-11"}))
        assert sorted(row[7] for row in november[1:]) == ["1399.98", "1749.98", "1866.64"]
        theirs = _csv_rows(nsk_api.get(f"{INVOICE_LINES}export/"))
        assert [row[2] for row in theirs[1:]] == [month["siberian"].code]
        assert [row[7] for row in theirs[1:]] == ["1200.00"]
        assert len(_csv_rows(hq_api.get(f"{INVOICE_LINES}export/"))) == 1 + 5

    def test_pay_csv_is_scoped_the_same_way(
        self, month: dict[str, Any], spb: Franchise, spb_api: APIClient, nsk_api: APIClient
    ) -> None:
        rows = _csv_rows(spb_api.get(f"{PAY_LINES}export/", {"period": "2026-11"}))
        assert rows[0] == ["period", "worker", "phone", "order", "date", "hours", "rate",
                           "amount", "currency", "kind"]
        assert {row[9] for row in rows[1:]} == {"hours"}
        assert sorted(row[7] for row in rows[1:]) == ["606.66", "758.33", "808.88"]
        theirs = _csv_rows(nsk_api.get(f"{PAY_LINES}export/"))
        assert [(row[3], row[7]) for row in theirs[1:]] == [(month["siberian"].code, "480.00")]

    def test_a_franchise_sees_only_its_own_lines(
        self, month: dict[str, Any], spb: Franchise, nsk: Franchise, nsk_api: APIClient,
        hq_api: APIClient,
    ) -> None:
        mine = _results(nsk_api.get(INVOICE_LINES))
        assert {row["franchise"] for row in mine} == {nsk.pk}
        assert len(mine) == 1
        theirs = InvoiceLine.objects.filter(franchise=spb).first()
        assert nsk_api.get(f"{INVOICE_LINES}{theirs.pk}/").status_code == 404
        assert _results(nsk_api.get(INVOICE_LINES, {"franchise": spb.pk})) == []
        their_pay = PayLine.objects.filter(franchise=spb).first()
        assert nsk_api.get(f"{PAY_LINES}{their_pay.pk}/").status_code == 404
        assert {row["franchise"] for row in _results(nsk_api.get(PAY_LINES))} == {nsk.pk}
        assert len(_results(hq_api.get(INVOICE_LINES))) == 5


@pytest.mark.django_db
class TestQuotesAndRateCardsApi:
    URL = "/api/v1/quotes/"

    @pytest.fixture(autouse=True)
    def _a_week_before(self) -> Iterator[None]:
        """The operator quotes a week ahead: a quote, like an order, starts within a year."""
        with clock.use_clock(clock.VirtualClock(datetime(2030, 10, 9, 9, 0, tzinfo=UTC))):
            yield

    def _terms(self, franchise: Franchise, **changes: Any) -> dict[str, Any]:
        return {"franchise": franchise.pk, "work_type": "loading", "conditions": "warm_indoor",
                "headcount": 4, "hours": "6", "start": "2030-10-16T16:00:00Z", **changes}

    def test_night_is_judged_in_the_franchise_local_time(
        self, hq_api: APIClient, spb: Franchise, nsk: Franchise, settings: Any
    ) -> None:
        # Wednesday 16:00 UTC: 19:00 in Moscow, 23:00 in Novosibirsk.
        spb_quote = hq_api.post(self.URL, self._terms(spb), format="json").json()
        nsk_quote = hq_api.post(self.URL, self._terms(nsk), format="json").json()
        assert Decimal(spb_quote["bill_rate"]) == settings.DEFAULT_BILL_RATE
        assert Decimal(nsk_quote["bill_rate"]) == settings.DEFAULT_BILL_RATE * Decimal("1.2")
        assert Decimal(nsk_quote["pay_rate"]) == settings.DEFAULT_PAY_RATE * Decimal("1.2")

    def test_the_rate_card_sets_the_prices(self, hq_api: APIClient, spb: Franchise) -> None:
        card = hq_api.post("/api/v1/rate-cards/", {
            "franchise": spb.pk, "work_type": "loading", "bill_rate": "240.00",
            "pay_rate": "105.00", "min_hours": "5",
        }, format="json")
        assert card.status_code == 201, card.content
        body = hq_api.post(self.URL, self._terms(spb, conditions="outdoor", hours="3"),
                           format="json").json()
        assert (body["bill_rate"], body["pay_rate"]) == ("288.00", "126.00")
        assert (body["hours_billed"], body["total_bill"]) == ("5.0", "5760.00")

    def test_a_franchise_sets_only_its_own_rate_card(
        self, spb_api: APIClient, spb: Franchise, nsk: Franchise
    ) -> None:
        body = {"work_type": "loading", "bill_rate": "1.00", "pay_rate": "1.00"}
        response = spb_api.post("/api/v1/rate-cards/", {**body, "franchise": nsk.pk},
                                format="json")
        assert response.status_code == 400
        assert "franchise" in response.json()
        assert not RateCard.objects.exists()
        own = spb_api.post("/api/v1/rate-cards/", {**body, "franchise": spb.pk}, format="json")
        assert own.status_code == 201, own.content
        moved = spb_api.patch(f"/api/v1/rate-cards/{own.json()['id']}/",
                              {"franchise": nsk.pk}, format="json")
        assert moved.status_code == 400
        assert RateCard.objects.get().franchise == spb

    def test_a_franchise_quotes_only_for_itself(
        self, spb_api: APIClient, spb: Franchise, nsk: Franchise
    ) -> None:
        assert spb_api.post(self.URL, self._terms(spb), format="json").status_code == 200
        response = spb_api.post(self.URL, self._terms(nsk), format="json")
        assert response.status_code == 400
        assert "franchise" in response.json()
