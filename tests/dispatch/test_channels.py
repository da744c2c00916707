"""The link and voice reply channels."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from core import clock
from dispatch.models import Offer
from dispatch.services import callout_start, order_place
from messaging.models import Message
from workers.models import Worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def calling_order(spb: Any, spb_client: Any, spb_site: Any) -> Any:
    spb.reply_channels = ["sms", "link", "voice"]
    spb.save()
    for number in range(3):
        Worker.objects.create(
            name=f"Worker {number}", phone=f"+7911000100{number}", status="active",
            skills=["loading"], lat=59.87 + number * 0.001, lng=30.42, language="ru",
            vetted_at=clock.now() - timedelta(days=30),
        )
    order = order_place(
        client=spb_client, site=spb_site, work_type="loading", headcount=2,
        start=clock.now() + timedelta(days=1), hours=Decimal(6),
    )
    return callout_start(order=order)


def test_offer_sms_carries_the_one_tap_link(calling_order: Any) -> None:
    offer = calling_order.offers.first()
    text = Message.objects.get(purpose="offer", worker=offer.worker).body
    assert f"/o/{offer.token}" in text


def test_the_link_page_accepts_once(client: Any, calling_order: Any) -> None:
    offer = calling_order.offers.first()
    page = client.get(f"/o/{offer.token}")
    assert page.status_code == 200
    assert calling_order.code in page.content.decode()
    answer = client.post(f"/o/{offer.token}", {"answer": "accept"})
    assert answer.status_code == 200
    assert "Принято" in answer.content.decode()
    offer.refresh_from_db()
    assert offer.response == Offer.Response.ACCEPTED
    again = client.post(f"/o/{offer.token}", {"answer": "decline"})
    offer.refresh_from_db()
    assert offer.response == Offer.Response.ACCEPTED
    assert "Ответ уже получен" in again.content.decode()


def test_an_unknown_token_is_404_and_a_bad_answer_400(client: Any, calling_order: Any) -> None:
    assert client.get("/o/not-a-token").status_code == 404
    offer = calling_order.offers.first()
    assert client.post(f"/o/{offer.token}", {"answer": "maybe"}).status_code == 400
    offer.refresh_from_db()
    assert offer.response is None


def _signed(client: Any, settings: Any, path: str, params: dict[str, str]) -> Any:
    settings.TWILIO_AUTH_TOKEN = "voice-token"
    signature = RequestValidator("voice-token").compute_signature(
        f"http://testserver{path}", params
    )
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_the_call_back_line_reads_the_offer_and_takes_a_key(
    client: Any, settings: Any, calling_order: Any
) -> None:
    offer = calling_order.offers.select_related("worker").first()
    phone = str(offer.worker.phone)
    menu = _signed(client, settings, "/webhooks/twilio/voice/", {"CallSid": "CA1", "From": phone})
    assert menu.status_code == 200
    body = menu.content.decode()
    assert "<Gather" in body
    assert calling_order.code in body
    follow_up = f"/webhooks/twilio/voice/?offer={offer.token}"
    answer = _signed(client, settings, follow_up, {"CallSid": "CA1", "From": phone, "Digits": "2"})
    assert "<Say" in answer.content.decode()
    offer.refresh_from_db()
    assert offer.response == Offer.Response.DECLINED


def test_the_call_back_line_checks_the_signature(
    client: Any, settings: Any, calling_order: Any
) -> None:
    settings.TWILIO_AUTH_TOKEN = "voice-token"
    response = client.post("/webhooks/twilio/voice/", {"CallSid": "CA1", "From": "+79110001000"},
                           HTTP_X_TWILIO_SIGNATURE="bad")
    assert response.status_code == 403


def test_an_unknown_caller_is_told_how_to_register(client: Any, settings: Any, db: Any) -> None:
    response = _signed(client, settings, "/webhooks/twilio/voice/",
                       {"CallSid": "CA2", "From": "+79995550000"})
    assert "JOIN" in response.content.decode()


def test_a_key_press_against_an_earlier_answer_changes_nothing(
    client: Any, settings: Any, calling_order: Any
) -> None:
    offer = calling_order.offers.select_related("worker").first()
    phone = str(offer.worker.phone)
    follow_up = f"/webhooks/twilio/voice/?offer={offer.token}"
    _signed(client, settings, follow_up, {"CallSid": "CA3", "From": phone, "Digits": "1"})

    again = _signed(client, settings, follow_up, {"CallSid": "CA4", "From": phone, "Digits": "2"})

    assert again.status_code == 200
    assert "CANCEL" in again.content.decode()
    offer.refresh_from_db()
    assert offer.response == Offer.Response.ACCEPTED
