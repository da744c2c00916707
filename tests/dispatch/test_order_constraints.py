"""Orders and offers keep their invariants in the database, whatever wrote the row."""

import secrets
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from core import clock
from dispatch.models import Offer, Order
from workers.models import Worker


def _refused(write: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


def _set(order: Order, **fields: Any) -> Any:
    return lambda: Order.objects.filter(pk=order.pk).update(**fields)


@pytest.mark.django_db
class TestOrderConstraints:
    def test_headcount_must_be_positive(self, spb_order: Order) -> None:
        _refused(_set(spb_order, headcount=0))

    def test_hours_must_be_positive(self, spb_order: Order) -> None:
        _refused(_set(spb_order, hours=0))

    def test_booking_target_covers_headcount(self, spb_order: Order) -> None:
        _refused(_set(spb_order, booking_target=spb_order.headcount - 1))

    def test_rates_are_not_negative(self, spb_order: Order) -> None:
        _refused(_set(spb_order, bill_rate=-1))
        _refused(_set(spb_order, pay_rate=-1))

    def test_unknown_status_is_refused(self, spb_order: Order) -> None:
        _refused(_set(spb_order, status="lost"))

    def test_two_open_orders_never_share_a_code(self, spb_order: Order) -> None:
        clone = Order.objects.get(pk=spb_order.pk)
        clone.pk = None
        _refused(clone.save)

    def test_a_closed_orders_code_may_be_used_again(self, spb_order: Order) -> None:
        Order.objects.filter(pk=spb_order.pk).update(status=Order.Status.CANCELLED)
        clone = Order.objects.get(pk=spb_order.pk)
        clone.pk = None
        clone.status = Order.Status.DRAFT
        clone.save()
        assert Order.objects.filter(code=spb_order.code).count() == 2


@pytest.mark.django_db
def test_one_offer_per_worker_and_order(spb_order: Order) -> None:
    worker = Worker.objects.create(name="Ivan", phone="+79000000001", skills=["loading"])

    def offer() -> Offer:
        return Offer.objects.create(
            order=spb_order, worker=worker, sent_at=clock.now(), token=secrets.token_hex(16)
        )

    offer()
    _refused(offer)
    assert spb_order.offers.count() == 1
