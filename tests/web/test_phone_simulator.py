"""The built-in phone (`/phone/`): HQ staff read what a number was sent and text back as it,
through the same inbound path as a real SMS."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client as Browser

from core import clock
from messaging.models import Direction, Message
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
