"""Who sees the books, and what the accountants' CSV and the filters say (audit D #7, #8 and
the lower-severity items on CSV cells, payment dates and filters)."""

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.models import RoyaltyStatement
from billing.services import royalty_statements_issue
from franchises.models import Franchise
from workers.models import Worker

from .conftest import PRESENT, Books

# 18:30 UTC on 9 November is 01:30 on 10 November in Novosibirsk (UTC+7).
NSK_NIGHT = datetime(2026, 11, 9, 18, 30, tzinfo=UTC)
# 22:30 UTC on 30 November is 01:30 on 1 December in Saint Petersburg (UTC+3).
SPB_FIRST_OF_DECEMBER = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)


def _csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.content
    raw = response.content
    assert raw.startswith("\ufeff".encode())
    assert b"\r\n" in raw
    return list(csv.reader(io.StringIO(raw.decode("utf-8")[1:])))


@pytest.mark.django_db
class TestForemenDoNotSeeTheBooks:
    def test_the_benchmark_is_refused_to_a_foreman(
        self, foreman_api: APIClient, spb_api: APIClient, hq_api: APIClient, spb: Franchise
    ) -> None:
        url = "/api/v1/reports/benchmark/"
        assert foreman_api.get(url, {"period": "2026-11"}).status_code == 403
        mine = spb_api.get(url, {"period": "2026-11"})
        assert mine.status_code == 200
        assert [row["franchise"] for row in mine.json()["results"]] == [spb.pk]
        assert hq_api.get(url, {"period": "2026-11"}).status_code == 200

    def test_quotes_are_refused_to_a_foreman(
        self, foreman_api: APIClient, spb_api: APIClient, spb: Franchise, tomorrow_9am: Any
    ) -> None:
        terms = {"franchise": spb.pk, "work_type": "loading", "conditions": "warm_indoor",
                 "headcount": 3, "hours": "6", "start": tomorrow_9am.isoformat()}
        refused = foreman_api.post("/api/v1/quotes/", terms, format="json")
        assert refused.status_code == 403
        assert "bill_rate" not in refused.json()
        assert spb_api.post("/api/v1/quotes/", terms, format="json").status_code == 200


@pytest.mark.django_db
class TestExports:
    def test_the_date_is_the_local_day_the_order_started(
        self, books: Books, spb: Franchise, nsk: Franchise, hq_api: APIClient
    ) -> None:
        nsk_order = books.worked(books.client(nsk), start=NSK_NIGHT, hours=4, bill_rate="300",
                                 pay_rate="120", attendance=[(PRESENT, None)])
        spb_order = books.worked(books.client(spb), start=SPB_FIRST_OF_DECEMBER, hours=4,
                                 bill_rate="300", pay_rate="120", attendance=[(PRESENT, None)])

        invoice = _csv_rows(hq_api.get("/api/v1/invoice-lines/export/"))
        pay = _csv_rows(hq_api.get("/api/v1/pay-lines/export/"))

        by_order = {row[2]: (row[0], row[3]) for row in invoice[1:]}
        assert by_order == {nsk_order.code: ("2026-11", "2026-11-10"),
                            spb_order.code: ("2026-12", "2026-12-01")}
        assert {row[3]: (row[0], row[4]) for row in pay[1:]} == by_order

    def test_text_that_a_spreadsheet_would_run_as_a_formula_is_quoted(
        self, books: Books, spb: Franchise, hq_api: APIClient
    ) -> None:
        client = books.client(spb, "-2+3 Logistics")
        order = books.worked(client, start=datetime(2026, 11, 10, 6, 0, tzinfo=UTC), hours=4,
                             bill_rate="250", pay_rate="110",
                             attendance=[(PRESENT, None), (PRESENT, None), (PRESENT, None)])
        names = ['=HYPERLINK("http://x","click")', "@SUM(A1)", "Anna Sokolova"]
        crew = list(Worker.objects.filter(offers__order=order).order_by("pk"))
        for worker, name in zip(crew, names, strict=True):
            Worker.objects.filter(pk=worker.pk).update(name=name)

        pay = _csv_rows(hq_api.get("/api/v1/pay-lines/export/", {"order": order.pk}))
        invoice = _csv_rows(hq_api.get("/api/v1/invoice-lines/export/", {"order": order.pk}))

        assert [row[1] for row in pay[1:]] == [
            '\'=HYPERLINK("http://x","click")', "'@SUM(A1)", "Anna Sokolova"]
        assert [row[2] for row in pay[1:]] == [f"'{worker.phone}" for worker in crew]
        assert {row[1] for row in invoice[1:]} == {"'-2+3 Logistics"}
        assert [row[4] for row in invoice[1:]] == [
            '\'=HYPERLINK("http://x","click")', "'@SUM(A1)", "Anna Sokolova"]
        # Numbers stay numbers.
        assert [row[5:8] for row in invoice[1:]] == [["4.00", "250.00", "1000.00"]] * 3


@pytest.mark.django_db
class TestPaymentDate:
    def test_a_payment_dated_before_the_month_began_is_refused(
        self, books: Books, spb: Franchise, hq_api: APIClient
    ) -> None:
        spb.monthly_fee = 5000
        spb.save()
        books.clock.set(datetime(2026, 12, 1, 0, 10, tzinfo=UTC))
        royalty_statements_issue(period="2026-11")
        statement = RoyaltyStatement.objects.get(franchise=spb, period="2026-11")
        url = f"/api/v1/royalty-statements/{statement.pk}/pay/"

        for paid_on in ("0001-01-01", "2026-10-31"):
            response = hq_api.post(url, {"amount": "1.00", "paid_on": paid_on}, format="json")
            assert response.status_code == 400, response.content
            assert list(response.json()) == ["paid_on"]
        ok = hq_api.post(url, {"amount": "1.00", "paid_on": "2026-11-01"}, format="json")
        assert ok.status_code == 200, ok.content
        assert ok.json()["paid"] == "1.00"


@pytest.mark.django_db
class TestFilters:
    @pytest.mark.parametrize("url", ["/api/v1/invoice-lines/", "/api/v1/pay-lines/",
                                     "/api/v1/credits/", "/api/v1/royalty-statements/",
                                     "/api/v1/invoice-lines/export/",
                                     "/api/v1/pay-lines/export/"])
    @pytest.mark.parametrize("period", ["bogus", "2026-13", "2026-1", "9999-12"])
    def test_a_period_that_is_not_a_month_is_a_400(
        self, hq_api: APIClient, spb: Franchise, url: str, period: str
    ) -> None:
        response = hq_api.get(url, {"period": period})
        assert response.status_code == 400, response.content
        assert "period" in response.json()

    def test_pay_lines_filter_by_the_orders_client(
        self, books: Books, spb: Franchise, hq_api: APIClient
    ) -> None:
        lenta, ozon = books.client(spb), books.client(spb, "Ozon hub")
        start = datetime(2026, 11, 10, 6, 0, tzinfo=UTC)
        books.worked(lenta, start=start, hours=4, bill_rate="250", pay_rate="110",
                     attendance=[(PRESENT, None), (PRESENT, None)])
        theirs = books.worked(ozon, start=start, hours=4, bill_rate="250", pay_rate="110",
                              attendance=[(PRESENT, None)])

        for url in ("/api/v1/pay-lines/", "/api/v1/invoice-lines/"):
            response = hq_api.get(url, {"client": ozon.pk})
            assert response.status_code == 200
            assert [line["order"] for line in response.json()["results"]] == [theirs.pk]
        rows = _csv_rows(hq_api.get("/api/v1/pay-lines/export/", {"client": lenta.pk}))
        assert len(rows) == 1 + 2
        assert hq_api.get("/api/v1/pay-lines/", {"client": "x"}).status_code == 400
