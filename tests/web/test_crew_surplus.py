"""The crew page once the headcount is present: who goes home with the show-up fee, sending
them home by SMS, and keeping one at the client's request.

An order for 2 with three booked (tests/web/test_crew.py's `crewed`): when all three come,
the last to arrive is beyond the headcount.
"""

import html
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from billing.models import InvoiceLine, PayLine
from dispatch.models import Order
from franchises.services import franchise_save
from messaging.models import Message
from tests.dispatch.conftest import START, Desk
from tests.web.test_crew import card_of, crewed, desk, logged_in, mark, url
from workers.models import Worker

pytestmark = pytest.mark.django_db

__all__ = ["desk"]  # the fixture, imported for these tests


def _all_came(desk: Desk, foreman: Any) -> tuple[Order, list[Worker], Any]:
    desk.franchise.show_up_fee = Decimal(450)
    franchise_save(franchise=desk.franchise)
    order, crew = crewed(desk, foreman=foreman)
    browser = logged_in(foreman)
    for minutes, worker in enumerate(crew):
        desk.at(START - timedelta(minutes=20 - minutes))
        assert mark(browser, order, worker, "present").status_code == 302
    return order, crew, browser


def page(response: Any) -> str:
    return html.unescape(response.content.decode())


def _act(browser: Any, order: Order, worker: Worker, action: str) -> Any:
    return browser.post(url(order), {"worker": worker.pk, "action": action}, follow=True)


def test_the_page_says_who_goes_home_once_the_headcount_is_present(
    desk: Desk, spb_foreman: Any
) -> None:
    desk.franchise.show_up_fee = Decimal(450)
    franchise_save(franchise=desk.franchise)
    order, crew = crewed(desk, foreman=spb_foreman)
    browser = logged_in(spb_foreman)
    desk.at(START - timedelta(minutes=20))
    mark(browser, order, crew[0], "present")
    mark(browser, order, crew[1], "present")
    assert "goes home" not in page(browser.get(url(order)))

    desk.at(START - timedelta(minutes=5))
    text = page(mark(browser, order, crew[2], "present", follow=True))
    assert "The 2 ordered are present. Going home with the show-up fee of 450 RUB" in text
    assert f'<a href="#worker-{crew[2].pk}">{crew[2].name}</a>' in text
    assert text.count("Send home (SMS: fee 450 RUB)") == 1
    assert text.count('value="keep"') == 1


def test_sending_home_texts_the_fee_once_and_the_books_pay_it(
    desk: Desk, spb_foreman: Any, spb_user: Any
) -> None:
    order, (first, second, last), browser = _all_came(desk, spb_foreman)

    text = page(_act(browser, order, last, "send_home"))
    assert f"{last.name} is sent home: an SMS tells them the show-up fee of 450 RUB" in text
    assert "sent home at" in text
    assert "Send home (SMS" not in text
    _act(browser, order, last, "send_home")  # a second tap
    assert desk.texts(order, "sent_home") == {last.pk: [
        f"{order.code}: the crew is complete, please go home. Show-up fee: 450. Thanks"]}

    desk.at(order.ends_at + timedelta(minutes=10))
    assert logged_in(spb_user).post(url(order), {"action": "complete"}).status_code == 302
    assert set(InvoiceLine.objects.filter(order=order).values_list("worker_id", flat=True)) == {
        first.pk, second.pk}
    fee = PayLine.objects.get(order=order, worker=last)
    assert (fee.kind, fee.amount) == ("show_up_fee", Decimal(450))


def test_one_of_the_headcount_is_not_sent_home(desk: Desk, spb_foreman: Any) -> None:
    order, (first, *_), browser = _all_came(desk, spb_foreman)
    # The refusal is on the card of the worker it concerns.
    card = card_of(page(_act(browser, order, first, "send_home")), first)
    assert f"{first.name}: not recorded." in card
    assert f"{first.name} is one of the 2 the client ordered" in card
    assert not Message.objects.filter(order=order, purpose="sent_home").exists()


def test_keeping_one_at_the_clients_request_bills_and_pays_them(
    desk: Desk, spb_foreman: Any, spb_user: Any
) -> None:
    order, (_, _, last), browser = _all_came(desk, spb_foreman)
    text = page(_act(browser, order, last, "keep"))
    assert f"{last.name} stays, kept at the client's request" in text
    assert "Going home" not in text
    assert 'value="unkeep"' in text
    assert desk.offer(order, last).kept is True

    desk.at(order.ends_at + timedelta(minutes=10))
    logged_in(spb_user).post(url(order), {"action": "complete"})
    lines = dict(InvoiceLine.objects.filter(order=order).values_list("worker_id", "basis"))
    assert len(lines) == 3
    assert lines[last.pk] == "kept"
    assert not PayLine.objects.filter(order=order, kind="show_up_fee").exists()


def test_taking_the_mark_back_sends_them_home_again(desk: Desk, spb_foreman: Any) -> None:
    order, (_, _, last), browser = _all_came(desk, spb_foreman)
    _act(browser, order, last, "keep")
    text = page(_act(browser, order, last, "unkeep"))
    assert f"{last.name} is no longer kept" in text
    assert "Going home with the show-up fee" in text
    assert desk.offer(order, last).kept is False


def test_a_worker_who_did_not_come_cannot_be_kept(desk: Desk, spb_foreman: Any) -> None:
    order, crew = crewed(desk, foreman=spb_foreman)
    desk.at(START)
    card = card_of(page(_act(logged_in(spb_foreman), order, crew[0], "keep")), crew[0])
    assert "Only a worker checked in on this order can be kept" in card
    assert desk.offer(order, crew[0]).kept is False
    assert desk.offer(order, crew[0]).attendance is None
