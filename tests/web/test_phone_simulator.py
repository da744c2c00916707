"""The built-in phone (`/phone/`): HQ staff read what a number was sent and text back as it,
through the same inbound path as a real SMS."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.test import Client as Browser

from clients.services import site_create
from core import clock
from dispatch.models import Offer, Order
from messaging.models import Direction, Message
from tests.dispatch.conftest import NOW, Desk
from workers.models import Worker

pytestmark = pytest.mark.django_db

NOON_IN_MOSCOW = datetime(2030, 3, 10, 9, 0, tzinfo=UTC)


def _browser(user: Any) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


@pytest.fixture
def worker(db: Any) -> Worker:
    return Worker.objects.create(name="Ivan Petrov", phone="+79110000001", language="ru")


def test_the_page_opens_without_a_number(hq_user: Any) -> None:
    response = _browser(hq_user).get("/phone/")
    assert response.status_code == 200


def test_a_text_sent_from_the_page_goes_through_the_inbound_path(
    hq_user: Any, hq_franchise: Any, worker: Worker
) -> None:
    browser = _browser(hq_user)
    with clock.use_clock(lambda: NOON_IN_MOSCOW):
        sent = browser.post("/phone/", {"phone": "8 911 000-00-01", "body": "?"})
        assert sent.status_code == 302
        page = browser.get("/phone/", {"phone": "+79110000001"}).content.decode()

    (inbound,) = Message.objects.filter(direction=Direction.IN)
    assert (inbound.phone, inbound.body, inbound.worker) == ("+79110000001", "?", worker)
    reply = Message.objects.get(direction=Direction.OUT, in_reply_to=inbound)
    assert reply.body in page
    # Shown in HQ's time (Moscow), with the zone named.
    assert "12:00 MSK" in page


def test_the_page_is_for_hq_staff(spb_user: Any) -> None:
    assert _browser(spb_user).get("/phone/").status_code == 403


def test_an_empty_text_is_refused_next_to_the_field_and_nothing_is_stored(
    hq_user: Any, hq_franchise: Any, worker: Worker
) -> None:
    browser = _browser(hq_user)
    for body in ("", "   "):
        response = browser.post("/phone/", {"phone": "+79110000001", "body": body})
        assert response.status_code == 200
        page = response.content.decode()
        field = page[page.index('<div class="field invalid">'):page.index("</div>",
                                                                        page.index('id="phone-body"'))]
        assert 'id="phone-body"' in field
        assert "Type a text to send: an empty one is not sent." in field
        assert 'aria-invalid="true"' in field
    assert not Message.objects.exists()


def test_a_long_text_is_sent_whole_and_wraps_on_the_page(
    hq_user: Any, hq_franchise: Any, worker: Worker
) -> None:
    long_text = "ДА" + "А" * 300  # one word longer than any phone's screen
    browser = _browser(hq_user)
    with clock.use_clock(lambda: NOON_IN_MOSCOW):
        assert browser.post("/phone/", {"phone": "+79110000001",
                                        "body": long_text}).status_code == 302
        page = browser.get("/phone/", {"phone": "+79110000001"}).content.decode()
    inbound = Message.objects.get(direction=Direction.IN)
    assert inbound.body == long_text
    assert f'<p class="wrap">{long_text}</p>' in page
    # The stylesheet breaks a word too long for its cell rather than widen the page.
    css = (settings.BASE_DIR / "web/static/web/console.css").read_text()
    assert ".wrap { overflow-wrap: anywhere; white-space: pre-wrap; }" in css


class TestOrderInvitees:
    @pytest.fixture
    def called(self, spb: Any, spb_client: Any) -> Iterator[Order]:
        """An order called out to three workers, on the virtual clock."""
        virtual = clock.VirtualClock(NOW)
        with clock.use_clock(virtual):
            site = site_create(client=spb_client, address="Sofiyskaya 6, Saint Petersburg",
                               lat=59.87, lng=30.42)
            desk = Desk(franchise=spb, client=spb_client, site=site, virtual_clock=virtual)
            desk.workers(3)
            yield desk.called(2)

    def test_an_orders_code_lists_its_invitees_to_switch_between(
        self, hq_user: Any, called: Order
    ) -> None:
        order = called
        offers = list(Offer.objects.filter(order=order).select_related("worker"))
        assert len(offers) == 3
        browser = _browser(hq_user)
        page = browser.get("/phone/", {"order": order.code.lower()}).content.decode()
        invitees = page[page.index('id="phone-invitees"'):page.index("</ul>",
                                                                    page.index('id="phone-invitees"'))]
        for offer in offers:
            phone = str(offer.worker.phone)
            assert f'data-phone="{phone}"' in invitees
            assert f'href="?order={order.code}&amp;phone={quote(phone)}"' in invitees
            assert offer.worker.name in invitees

        first = str(offers[0].worker.phone)
        page = browser.get("/phone/", {"order": order.code, "phone": first}).content.decode()
        assert f'data-phone="{first}" aria-current="true"' in page
        offer_text = Message.objects.filter(phone=first, purpose="offer").get().body
        assert offer_text in page

        # A reply keeps the order's list open, and goes through the inbound path.
        sent = browser.post("/phone/", {"phone": first, "order": order.code,
                                        "body": f"ДА {order.code}"})
        assert sent["Location"] == f"/phone/?phone={quote(first)}&order={order.code}"
        offers[0].refresh_from_db()
        assert offers[0].response == Offer.Response.ACCEPTED

    def test_an_unknown_code_is_said_next_to_its_field(self, hq_user: Any, hq_franchise: Any
                                                       ) -> None:
        page = _browser(hq_user).get("/phone/", {"order": "ZZZ"}).content.decode()
        assert 'id="phone-order-error"><li>No order has the code ZZZ.</li>' in page
        assert 'value="ZZZ"' in page
