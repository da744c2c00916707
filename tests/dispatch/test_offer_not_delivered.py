"""An offer SMS that Twilio reports as failed moves on to the next candidate: the worker never
saw it, so the order should not wait for their answer."""

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client as HttpClient

from dispatch.models import Offer
from messaging.models import Direction, Message, Status
from tests.fakes.twilio_server import FakeTwilio

from .conftest import Desk, set_dispatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def twilio(fake_twilio: FakeTwilio, settings: Any) -> FakeTwilio:
    """The fake Twilio, with the public address its signed status callbacks are posted to."""
    settings.PUBLIC_BASE_URL = "http://testserver"
    return fake_twilio


@pytest.fixture
def sending(django_capture_on_commit_callbacks: Any) -> Any:
    """Run what waits for the commit (the outbox's send tasks) as the block ends."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _report(twilio: FakeTwilio, sid: str, status: str, code: int | None = None) -> Any:
    callback = twilio.delivery_report(sid, status, code)
    return HttpClient().post(urlsplit(callback.url).path, callback.params,
                             HTTP_X_TWILIO_SIGNATURE=callback.signature)


def _offered(order: Any) -> set[int]:
    return set(order.offers.values_list("worker_id", flat=True))


def test_a_failed_offer_sms_is_withdrawn_and_the_next_candidate_offered(
    desk: Desk, twilio: FakeTwilio, settings: Any, sending: Any
) -> None:
    set_dispatch(settings, WAVE_RADII_KM=[10.0])
    near = desk.workers(3, km=1)
    further = desk.workers(6, km=5)
    with sending():
        order = desk.called(1)
    first_wave = _offered(order)
    assert first_wave
    assert first_wave < {w.pk for w in near + further}
    phones = {str(w.phone): w.pk for w in near + further}
    sent = [m for m in twilio.messages if phones.get(m.to) in first_wave]
    assert len(sent) == len(first_wave)
    dead = sent[0]

    with sending():
        response = _report(twilio, dead.sid, "failed", 30005)

    assert response.status_code == 204
    failed_worker = phones[dead.to]
    assert Offer.objects.get(order=order, worker_id=failed_worker).state == Offer.State.CANCELLED
    newcomers = _offered(order) - first_wave
    assert len(newcomers) == 1
    [newcomer] = newcomers
    assert [m.to for m in twilio.messages if phones.get(m.to) == newcomer] != []
    row = Message.objects.get(provider_sid=dead.sid)
    assert (row.status, row.error_code) == (Status.FAILED, 30005)

    # Twilio may post the same final status again: nothing more happens.
    _report(twilio, dead.sid, "failed", 30005)
    assert len(_offered(order) - first_wave) == 1


def test_a_delivered_offer_or_an_answered_one_is_left_alone(
    desk: Desk, twilio: FakeTwilio, settings: Any, sending: Any
) -> None:
    set_dispatch(settings, WAVE_RADII_KM=[10.0])
    desk.workers(8, km=2)
    with sending():
        order = desk.called(1)
    first_wave = _offered(order)
    offer = order.offers.select_related("worker").first()
    desk.reply(offer.worker, f"НЕТ {order.code}")
    sid = Message.objects.get(order=order, worker=offer.worker, direction=Direction.OUT,
                              purpose="offer").provider_sid

    _report(twilio, sid, "undelivered", 30003)

    assert _offered(order) == first_wave
    assert desk.offer(order, offer.worker).response == Offer.Response.DECLINED
