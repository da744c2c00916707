"""Joining the pool by SMS: `JOIN Ivan Petrov` from an unknown number makes an applicant."""

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from clients.services import site_create
from core import clock
from dispatch.models import Offer
from dispatch.services import callout_start, order_place
from messaging.models import Direction, Message
from messaging.services import InboundResult, inbound_receive
from workers.models import Worker
from workers.services import worker_update

NOW = datetime(2030, 3, 10, 9, 0, tzinfo=UTC)
_sids = itertools.count(1)

pytestmark = pytest.mark.django_db


def sms(phone: str, body: str) -> InboundResult:
    return inbound_receive(provider_sid=f"SMJOIN{next(_sids):026d}", sender=phone, body=body)


@pytest.fixture(autouse=True)
def vclock() -> Iterator[clock.VirtualClock]:
    virtual = clock.VirtualClock(NOW)
    with clock.use_clock(virtual):
        yield virtual


def test_join_from_an_unknown_number_makes_an_applicant() -> None:
    result = sms("+79161234567", "JOIN Ivan Petrov")

    worker = Worker.objects.get()
    assert worker.name == "Ivan Petrov"
    assert str(worker.phone) == "+79161234567"
    assert worker.status == Worker.Status.APPLICANT
    assert worker.vetted_at is None
    assert "Thanks, Ivan Petrov" in result.reply
    assert "interview" in result.reply
    assert result.message.worker == worker
    replies = Message.objects.filter(direction=Direction.OUT, phone="+79161234567")
    assert list(replies.values_list("body", flat=True)) == [result.reply]


def test_join_in_russian_is_answered_in_russian() -> None:
    result = sms("+79161234568", "join Иван Петров")
    worker = Worker.objects.get()
    assert worker.name == "Иван Петров"
    assert worker.language == Worker.Language.RU
    assert result.reply.startswith("Спасибо, Иван Петров")


@pytest.mark.parametrize("sender", ["900", "MEGAFON"])
def test_join_from_a_short_code_or_a_name_says_it_cannot_register_that_number(
    sender: str,
) -> None:
    result = sms(sender, "JOIN Ivan Petrov")
    assert result.reply == (
        "This number cannot be registered. Text JOIN and your name from your mobile."
    )
    assert not Worker.objects.exists()
    assert Message.objects.filter(direction=Direction.IN, phone=sender).count() == 1


def test_join_without_a_name_asks_for_it() -> None:
    result = sms("+79161234569", "JOIN")
    assert "JOIN" in result.reply
    assert "Ivan Petrov" in result.reply or "Иван Петров" in result.reply
    assert not Worker.objects.exists()
    assert Message.objects.filter(direction=Direction.IN, body="JOIN").count() == 1


def test_join_from_a_known_number_says_it_is_registered() -> None:
    known = Worker.objects.create(name="Pyotr Sidorov", phone="+79161234570",
                                  language=Worker.Language.EN)
    result = sms("+79161234570", "JOIN Somebody Else")
    assert "already registered" in result.reply
    assert "Pyotr Sidorov" in result.reply
    assert list(Worker.objects.values_list("name", flat=True)) == [known.name]


def test_joining_twice_makes_one_applicant() -> None:
    sms("+79161234571", "JOIN Ivan Petrov")
    second = sms("+79161234571", "JOIN Ivan Petrov")
    assert Worker.objects.count() == 1
    assert "Ivan Petrov" in second.reply
    assert "Thanks" not in second.reply


def test_an_applicant_never_gets_offers(spb_client: Any) -> None:
    site = site_create(client=spb_client, address="Sofiyskaya 6, Saint Petersburg",
                       lat=59.87, lng=30.42)
    sms("+79161234572", "JOIN Ivan Petrov")
    applicant = worker_update(worker=Worker.objects.get(), lat=59.871, lng=30.421,
                              skills=["loading", "general"])
    active = Worker.objects.create(
        name="Vetted", phone="+79161234573", lat=59.871, lng=30.421, skills=["loading"],
        status=Worker.Status.ACTIVE, vetted_at=NOW - timedelta(days=10),
    )
    order = order_place(client=spb_client, site=site, work_type="loading", headcount=1,
                        start=NOW + timedelta(hours=20), hours=Decimal(6))

    callout_start(order=order)

    offered = set(Offer.objects.filter(order=order).values_list("worker_id", flat=True))
    assert offered == {active.pk}
    assert not Message.objects.filter(worker=applicant, direction=Direction.OUT,
                                      purpose="offer").exists()
    assert Message.objects.filter(worker=active, direction=Direction.OUT).exists()
