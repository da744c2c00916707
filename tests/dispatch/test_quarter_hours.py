"""Hours worked are payroll hours: to the quarter hour, and no more than the shift plus the
overtime setting; through the API as each role that takes attendance, and on the crew page."""

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from billing.models import InvoiceLine, PayLine
from dispatch.services.onsite import hours_refusal
from tests.dispatch.conftest import START, Desk
from tests.dispatch.test_onsite import END, attendance, booked, complete
from tests.web.test_crew import card_of, crewed, logged_in, mark, page

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["spb_api", "hq_api", "foreman_api"])
def taker(request: Any) -> APIClient:
    return request.getfixturevalue(request.param)


class TestTheApi:
    def test_seven_and_a_quarter_is_kept_billed_and_paid(
        self, desk: Desk, spb_api: APIClient, spb_foreman: Any
    ) -> None:
        order, confirmed, _ = booked(desk, foreman=spb_foreman)
        desk.at(START)
        response = attendance(spb_api, order, [
            {"worker": confirmed[0].pk, "status": "present", "hours": 7.25}])
        assert response.status_code == 200, response.content
        offer = desk.offer(order, confirmed[0])
        assert offer.hours_worked == Decimal("7.25")
        desk.at(END)
        assert complete(spb_api, order).status_code == 200
        line = InvoiceLine.objects.get(order=order, worker=confirmed[0])
        assert (line.hours, line.amount) == (Decimal("7.25"), Decimal("7.25") * line.rate)
        pay = PayLine.objects.get(order=order, worker=confirmed[0], kind="hours")
        assert pay.hours == Decimal("7.25")
        listed = spb_api.get("/api/v1/invoice-lines/", {"order": order.pk}).json()["results"]
        assert "7.25" in {row["hours"] for row in listed}

    def test_a_tenth_that_is_no_quarter_is_refused_with_the_reason(
        self, desk: Desk, taker: APIClient, spb_foreman: Any
    ) -> None:
        order, confirmed, _ = booked(desk, foreman=spb_foreman)
        desk.at(START)
        response = attendance(taker, order, [
            {"worker": confirmed[0].pk, "status": "present", "hours": 6},
            {"worker": confirmed[1].pk, "status": "present", "hours": "7.3"}])
        assert response.status_code == 400
        assert "quarter hour" in str(response.json()["hours"])
        assert "7.3 is not one" in str(response.json()["hours"])
        # All or nothing: the good entry is not written either.
        assert desk.offer(order, confirmed[0]).attendance is None

    def test_hours_beyond_the_shift_and_its_overtime_are_refused(
        self, desk: Desk, spb_api: APIClient, settings: Any
    ) -> None:
        settings.DISPATCH = {**settings.DISPATCH, "MAX_OVERTIME_HOURS": 2.0}
        order, confirmed, _ = booked(desk, hours=4)
        desk.at(START)
        refused = attendance(spb_api, order, [
            {"worker": confirmed[0].pk, "status": "present", "hours": 10}])
        assert refused.status_code == 400
        assert refused.json()["hours"] == [
            "10 hours is more than this 4-hour shift plus 2 hours of overtime allow "
            "(6 at most)."]
        assert desk.offer(order, confirmed[0]).hours_worked is None
        assert attendance(spb_api, order, [
            {"worker": confirmed[0].pk, "status": "present", "hours": 6}]).status_code == 200

    def test_hours_are_ignored_for_a_no_show(self, desk: Desk, spb_api: APIClient) -> None:
        order, confirmed, _ = booked(desk)
        desk.at(START + (END - START) / 2)
        assert attendance(spb_api, order, [
            {"worker": confirmed[0].pk, "status": "no_show", "hours": "7.3"}]).status_code == 200


class TestTheCrewPage:
    def test_a_quarter_is_taken_and_shown(self, desk: Desk, spb_foreman: Any) -> None:
        order, (worker, *_) = crewed(desk, foreman=spb_foreman)
        desk.at(START)
        browser = logged_in(spb_foreman)
        mark(browser, order, worker, "present", "7,25")
        assert desk.offer(order, worker).hours_worked == Decimal("7.25")
        card = card_of(page(browser.get(f"/crew/{order.pk}/")), worker)
        assert "7.25 h" in card

    def test_a_tenth_is_refused_on_the_card(self, desk: Desk, spb_foreman: Any) -> None:
        order, (worker, *_) = crewed(desk, foreman=spb_foreman)
        desk.at(START)
        response = mark(logged_in(spb_foreman), order, worker, "present", "7.3")
        card = card_of(page(response), worker)
        assert "Hours are counted to the quarter hour: 7.3 is not one" in card
        assert desk.offer(order, worker).attendance is None


@given(st.decimals(min_value=0, max_value=40, places=2))
@hypothesis_settings(max_examples=200)
def test_the_rule_takes_exactly_the_quarters_within_the_shift_and_overtime(
    hours: Decimal,
) -> None:
    refusal = hours_refusal(hours, shift_hours=Decimal(6))
    quarter = (hours * 4) == (hours * 4).to_integral_value()
    assert (refusal is None) == (quarter and hours <= Decimal(10))
