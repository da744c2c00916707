"""Retries that change nothing: `Idempotency-Key` on placing an order and on paying a
statement, as each role that may; and the console's order and payment forms sent twice."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client as Browser
from rest_framework.test import APIClient

from billing.models import RoyaltyPayment, RoyaltyStatement
from billing.services import royalty_statements_issue
from core import clock
from dispatch.models import Order
from franchises.models import IdempotentRequest
from franchises.services import franchise_save
from tests.dispatch.conftest import run_together

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"
NOW = datetime(2030, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def vclock() -> Any:
    virtual = clock.VirtualClock(NOW)
    with clock.use_clock(virtual):
        yield virtual


def order_body(client: Any, site: Any, **changes: Any) -> dict[str, Any]:
    return {"client": client.id, "site": site.id, "work_type": "loading", "headcount": 4,
            "start": (NOW + timedelta(days=1)).isoformat(), "hours": "6", **changes}


def place(api: APIClient, body: dict[str, Any], key: str | None) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return api.post(ORDERS, body, format="json", **headers)


@pytest.mark.usefixtures("vclock")
class TestPlacingOrders:
    @pytest.mark.parametrize("who", ["spb_api", "hq_api"])
    def test_the_same_key_and_body_place_one_order_and_answer_alike(
        self, who: str, request: Any, spb_client: Any, spb_site: Any, spb: Any
    ) -> None:
        api = request.getfixturevalue(who)
        body = order_body(spb_client, spb_site, franchise=spb.id)
        first = place(api, body, "call-4711")
        assert first.status_code == 201, first.content
        again = place(api, body, "call-4711")
        assert again.status_code == 201
        assert again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true"
        assert Order.objects.count() == 1

    def test_the_same_key_with_another_body_is_a_422(
        self, spb_api: APIClient, spb_client: Any, spb_site: Any
    ) -> None:
        assert place(spb_api, order_body(spb_client, spb_site), "k1").status_code == 201
        other = place(spb_api, order_body(spb_client, spb_site, headcount=5), "k1")
        assert other.status_code == 422
        assert "already used with a different request" in other.json()["detail"]
        assert list(Order.objects.values_list("headcount", flat=True)) == [4]

    def test_without_a_key_each_post_places_one(
        self, spb_api: APIClient, spb_client: Any, spb_site: Any
    ) -> None:
        body = order_body(spb_client, spb_site)
        place(spb_api, body, None)
        place(spb_api, body, None)
        assert Order.objects.count() == 2

    def test_keys_are_each_callers_own(
        self, spb_api: APIClient, hq_api: APIClient, spb_client: Any,
        spb_site: Any, spb: Any,
    ) -> None:
        body = order_body(spb_client, spb_site, franchise=spb.id)
        assert place(spb_api, body, "shared").status_code == 201
        assert place(hq_api, body, "shared").status_code == 201
        assert Order.objects.count() == 2

    def test_a_refused_request_leaves_the_key_unused(
        self, spb_api: APIClient, spb_client: Any, spb_site: Any
    ) -> None:
        bad = place(spb_api, order_body(spb_client, spb_site, headcount=0), "k2")
        assert bad.status_code == 400
        assert not IdempotentRequest.objects.exists()
        assert place(spb_api, order_body(spb_client, spb_site), "k2").status_code == 201

    def test_a_key_is_forgotten_after_the_settings_hours(
        self, vclock: Any, settings: Any, spb_api: APIClient, spb_client: Any, spb_site: Any
    ) -> None:
        settings.IDEMPOTENCY_KEY_HOURS = 2
        body = order_body(spb_client, spb_site)
        place(spb_api, body, "k3")
        vclock.advance(timedelta(hours=1))
        place(spb_api, body, "k3")
        assert Order.objects.count() == 1
        vclock.advance(timedelta(hours=1, minutes=1))
        assert place(spb_api, body, "k3").status_code == 201
        assert Order.objects.count() == 2

    def test_a_malformed_key_is_a_400(self, spb_api: APIClient, spb_client: Any,
                                      spb_site: Any) -> None:
        response = place(spb_api, order_body(spb_client, spb_site), "x" * 300)
        assert response.status_code == 400
        assert "Idempotency-Key" in response.json()
        assert not Order.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_identical_posts_at_the_same_instant_place_one_order(
    spb_user: Any, spb_client: Any, spb_site: Any
) -> None:
    body = order_body(spb_client, spb_site, start=(clock.now() + timedelta(days=1)).isoformat())

    def post(_: int) -> int:
        try:
            api = APIClient()
            api.force_authenticate(spb_user)
            return place(api, body, "double-click").status_code
        finally:
            connection.close()

    codes = run_together(4, post)
    assert codes == [201] * 4
    assert Order.objects.count() == 1


@pytest.fixture
def statement(spb: Any) -> RoyaltyStatement:
    """A November statement of the monthly fee alone: 5000 owed."""
    spb.monthly_fee = Decimal(5000)
    franchise_save(franchise=spb)
    with clock.use_clock(clock.VirtualClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))):
        royalty_statements_issue(period="2026-11")
    return RoyaltyStatement.objects.get(franchise=spb, period="2026-11")


@pytest.fixture
def december() -> Any:
    with clock.use_clock(clock.VirtualClock(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))) as c:
        yield c


class TestPayingStatements:
    def pay(self, api: APIClient, statement: RoyaltyStatement, amount: str, key: str) -> Any:
        return api.post(f"/api/v1/royalty-statements/{statement.pk}/pay/",
                        {"amount": amount, "paid_on": "2026-12-01"}, format="json",
                        HTTP_IDEMPOTENCY_KEY=key)

    @pytest.mark.parametrize("who", ["spb_api", "hq_api"])
    def test_a_retried_payment_records_once(self, statement: RoyaltyStatement, december: Any,
                                            who: str, request: Any) -> None:
        api = request.getfixturevalue(who)
        first = self.pay(api, statement, "2000.00", "pay-1")
        again = self.pay(api, statement, "2000.00", "pay-1")
        assert (first.status_code, again.status_code) == (200, 200)
        assert again.json() == first.json()
        assert first.json()["paid"] == "2000.00"
        assert RoyaltyPayment.objects.count() == 1
        statement.refresh_from_db()
        assert statement.paid == Decimal(2000)

    def test_the_same_key_with_another_amount_is_a_422(
        self, statement: RoyaltyStatement, december: Any, spb_api: APIClient
    ) -> None:
        self.pay(spb_api, statement, "2000.00", "pay-2")
        other = self.pay(spb_api, statement, "3000.00", "pay-2")
        assert other.status_code == 422
        assert RoyaltyPayment.objects.count() == 1

    def test_another_franchises_statement_stays_a_404(
        self, statement: RoyaltyStatement, december: Any, nsk_api: APIClient
    ) -> None:
        assert self.pay(nsk_api, statement, "1.00", "pay-3").status_code == 404


class TestConsoleForms:
    def test_the_order_form_sent_twice_places_one_order(
        self, vclock: Any, spb_user: Any, spb_client: Any, spb_site: Any
    ) -> None:
        browser = Browser()
        browser.force_login(spb_user)
        page = browser.get("/orders/new/").content.decode()
        assert 'name="form_key"' in page
        key = page.split('name="form_key" value="')[1].split('"')[0]
        form = {"phone": "+78125550101", "client": str(spb_client.pk),
                "site": str(spb_site.pk), "work_type": "loading", "headcount": "2",
                "start": "2030-03-11T09:00", "hours": "6", "overbook_policy": "fixed",
                "conditions": "warm_indoor", "action": "place", "form_key": key}
        first = browser.post("/orders/new/", form)
        assert first.status_code == 302
        second = browser.post("/orders/new/", form, follow=True)
        order = Order.objects.get()
        assert second.redirect_chain[-1][0] == f"/orders/{order.pk}/"
        assert f"This form was already sent: order {order.code} was made once." in (
            second.content.decode())
        # A fresh render is a fresh key: the next order is placed.
        fresh = browser.get("/orders/new/").content.decode()
        assert key not in fresh
        browser.post("/orders/new/", {**form, "form_key": uuid.uuid4().hex})
        assert Order.objects.count() == 2

    def test_the_payment_form_sent_twice_pays_once(
        self, statement: RoyaltyStatement, december: Any, spb_user: Any
    ) -> None:
        browser = Browser()
        browser.force_login(spb_user)
        page = browser.get(f"/statements/{statement.pk}/").content.decode()
        key = page.split('name="form_key" value="')[1].split('"')[0]
        form = {f"pay-{statement.pk}-amount": "1000.00",
                f"pay-{statement.pk}-paid_on": "2026-12-01", "form_key": key}
        browser.post(f"/statements/{statement.pk}/", form)
        again = browser.post(f"/statements/{statement.pk}/", form, follow=True)
        assert "This payment form was already sent" in again.content.decode()
        assert RoyaltyPayment.objects.count() == 1
