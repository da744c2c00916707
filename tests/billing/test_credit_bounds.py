"""A credit refunds invoiced work: it is for a month that has begun, never more than the
client was invoiced that month, and HQ can take back one given by mistake (audit D #1)."""

import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from rest_framework.test import APIClient

from billing.models import Credit, RoyaltyStatement
from billing.services import credit_give, royalty_statements_issue
from franchises.models import Franchise

from .conftest import PRESENT, Books

CREDITS = "/api/v1/credits/"
# 06:00 UTC is 09:00 in Saint Petersburg: one worker for 8 h at 200 is invoiced 1600.
NOVEMBER_SHIFT = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
NOVEMBER_OVER = datetime(2026, 12, 1, 0, 10, tzinfo=UTC)
DECEMBER_OVER = datetime(2027, 1, 1, 0, 10, tzinfo=UTC)


@pytest.fixture
def invoiced(books: Books, spb: Franchise) -> Any:
    """A Saint Petersburg client invoiced 1600.00 in November 2026 (clock: 20 November)."""
    client = books.client(spb)
    books.worked(client, start=NOVEMBER_SHIFT, hours=8, bill_rate="200", pay_rate="100",
                 attendance=[(PRESENT, None)])
    return client


def _give(api: APIClient, franchise: Franchise, client: Any, amount: str,
          period: str = "2026-11") -> Any:
    return api.post(CREDITS, {"franchise": franchise.pk, "client": client.pk, "period": period,
                              "amount": amount, "reason": "a broken pallet"}, format="json")


def _revenue(api: APIClient, franchise: Franchise) -> str:
    report = api.get("/api/v1/reports/benchmark/", {"period": "2026-11"}).json()
    (row,) = [row for row in report["results"] if row["franchise"] == franchise.pk]
    return row["revenue"]


@pytest.mark.django_db
class TestCreditBounds:
    def test_a_typo_credit_is_refused_and_the_revenue_stays(
        self, invoiced: Any, spb: Franchise, hq_api: APIClient
    ) -> None:
        response = _give(hq_api, spb, invoiced, "9999999999.99")

        assert response.status_code == 400, response.content
        assert "amount" in response.json()
        assert "1600.00" in response.json()["amount"][0]
        assert not Credit.objects.exists()
        assert _revenue(hq_api, spb) == "1600.00"

    def test_credits_add_up_to_at_most_what_the_client_was_invoiced(
        self, invoiced: Any, spb: Franchise, hq_api: APIClient
    ) -> None:
        assert _give(hq_api, spb, invoiced, "1000.00").status_code == 201
        over = _give(hq_api, spb, invoiced, "600.01")
        assert over.status_code == 400, over.content
        assert list(over.json()) == ["amount"]
        assert _give(hq_api, spb, invoiced, "600.00").status_code == 201
        assert _revenue(hq_api, spb) == "0.00"

    def test_a_client_invoiced_nothing_that_month_gets_no_credit(
        self, invoiced: Any, books: Books, spb: Franchise, hq_api: APIClient
    ) -> None:
        other = books.client(spb, "Ozon hub")
        response = _give(hq_api, spb, other, "1.00")
        assert response.status_code == 400
        assert "amount" in response.json()
        october = _give(hq_api, spb, invoiced, "1.00", period="2026-10")
        assert october.status_code == 400
        assert "amount" in october.json()

    def test_a_month_that_has_not_started_is_refused(
        self, invoiced: Any, spb: Franchise, hq_api: APIClient
    ) -> None:
        for period in ("2026-12", "2027-05"):
            response = _give(hq_api, spb, invoiced, "10.00", period=period)
            assert response.status_code == 400, response.content
            assert list(response.json()) == ["period"]
        assert not Credit.objects.exists()

    def test_the_client_must_still_be_the_franchises(
        self, invoiced: Any, spb: Franchise, nsk: Franchise, hq_api: APIClient
    ) -> None:
        response = _give(hq_api, nsk, invoiced, "10.00")
        assert response.status_code == 400
        assert "client" in response.json()


@pytest.mark.django_db
class TestWithdrawingACredit:
    def test_hq_takes_back_a_mistaken_credit_before_the_statement(
        self, invoiced: Any, books: Books, spb: Franchise, hq_api: APIClient
    ) -> None:
        credit = _give(hq_api, spb, invoiced, "1600.00").json()
        assert _revenue(hq_api, spb) == "0.00"

        assert hq_api.delete(f"{CREDITS}{credit['id']}/").status_code == 204

        assert hq_api.get(f"{CREDITS}{credit['id']}/").status_code == 404
        assert _revenue(hq_api, spb) == "1600.00"
        books.clock.set(NOVEMBER_OVER)
        royalty_statements_issue(period="2026-11")
        november = RoyaltyStatement.objects.get(franchise=spb, period="2026-11")
        assert (november.credits, november.turnover) == (Decimal(0), Decimal("1600.00"))

    def test_taking_back_a_credit_after_its_statement_raises_the_next_one(
        self, invoiced: Any, books: Books, spb: Franchise, hq_api: APIClient
    ) -> None:
        credit = _give(hq_api, spb, invoiced, "150.00").json()
        books.clock.set(NOVEMBER_OVER)
        royalty_statements_issue(period="2026-11")
        books.clock.set(datetime(2026, 12, 10, 9, 0, tzinfo=UTC))

        assert hq_api.delete(f"{CREDITS}{credit['id']}/").status_code == 204

        books.clock.set(DECEMBER_OVER)
        royalty_statements_issue(period="2026-12")
        november = RoyaltyStatement.objects.get(franchise=spb, period="2026-11")
        december = RoyaltyStatement.objects.get(franchise=spb, period="2026-12")
        assert (november.credits, november.turnover) == (Decimal("150.00"), Decimal("1450.00"))
        assert (december.adjustment, december.turnover) == (Decimal("150.00"),
                                                             Decimal("150.00"))

    def test_only_hq_takes_a_credit_back_and_nobody_edits_one(
        self, invoiced: Any, spb: Franchise, hq_api: APIClient, spb_api: APIClient,
        nsk_api: APIClient,
    ) -> None:
        credit = _give(hq_api, spb, invoiced, "100.00").json()
        url = f"{CREDITS}{credit['id']}/"
        assert spb_api.delete(url).status_code == 403
        assert nsk_api.delete(url).status_code == 404
        assert hq_api.patch(url, {"amount": "1.00"}, format="json").status_code == 405
        assert Credit.objects.get().amount == Decimal("100.00")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_credits_at_the_same_moment_cannot_both_fit(invoiced: Any, spb: Franchise) -> None:
    """Two finance clerks crediting 1000 of the client's 1600 at once: the client's lock
    makes them take turns, so the second sees the first and is refused."""
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def give() -> None:
        try:
            barrier.wait()
            credit_give(franchise=spb, client=invoiced, period="2026-11",
                        amount=Decimal(1000), reason="late crew")
            outcomes.append("given")
        except ValidationError as exc:
            outcomes.append(next(iter(exc.message_dict)))
        finally:
            connection.close()

    threads = [threading.Thread(target=give, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(outcomes) == ["amount", "given"]
    assert list(Credit.objects.values_list("amount", flat=True)) == [Decimal("1000.00")]
