"""Concurrency guarantees, proven on PostgreSQL (select_for_update does nothing on SQLite).

Each test releases many threads at once, each with its own database connection. The first
test shows the race a lock prevents: a read-then-write booking over-books when the bookers
read before any of them writes. The others show that the real services do not.
"""

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Sum

from dispatch.models import Offer, Order, Step
from dispatch.services import assignment_run
from messaging.models import Direction, Message
from messaging.services import inbound_receive
from workers.models import Worker

from .conftest import Desk, next_sid, run_together, set_dispatch

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CONFIRMED = Offer.State.CONFIRMED


def _order_for_five(desk: Desk, settings: Any, workers: int) -> tuple[Order, list[Worker]]:
    """An order for 4 at a ratio of 1.25 (booking target 5), offered to `workers` people."""
    # Cautious priors and a higher cap make wave 1 reach everyone in the test.
    set_dispatch(settings, MAX_OFFERS_PER_SLOT=20, PRIOR_ACCEPT_RATE=0.1)
    desk.franchise.booking_ratio = Decimal("1.25")
    desk.franchise.save()
    people = desk.workers(workers, km=2)
    order = desk.called(4)
    assert order.booking_target == 5
    assert len(desk.offered(order)) == workers
    return order, people


def _confirmed(order: Order) -> int:
    return Offer.objects.filter(order=order, state=CONFIRMED).count()


class TestWhyTheOrderIsLocked:
    def test_a_read_then_write_booking_over_books(self, desk: Desk, settings: Any) -> None:
        order, _ = _order_for_five(desk, settings, 20)
        offers = list(Offer.objects.filter(order=order).values_list("pk", flat=True))
        everyone_has_read = threading.Barrier(len(offers), timeout=30)

        def naive_confirm(index: int) -> None:
            with transaction.atomic():
                booked = Offer.objects.filter(order=order, state=CONFIRMED).count()
                # The interleaving the race allows: every booker reads before anyone writes.
                everyone_has_read.wait()
                if booked < order.booking_target:
                    Offer.objects.filter(pk=offers[index]).update(state=CONFIRMED)

        run_together(len(offers), naive_confirm)

        assert _confirmed(order) == 20  # four times the booking target

    def test_the_same_booking_under_the_order_lock_stops_at_the_target(
        self, desk: Desk, settings: Any
    ) -> None:
        order, _ = _order_for_five(desk, settings, 20)
        offers = list(Offer.objects.filter(order=order).values_list("pk", flat=True))

        def locked_confirm(index: int) -> bool:
            with transaction.atomic():
                Order.objects.select_for_update().get(pk=order.pk)
                booked = Offer.objects.filter(order=order, state=CONFIRMED).count()
                if booked >= order.booking_target:
                    return False
                Offer.objects.filter(pk=offers[index]).update(state=CONFIRMED)
                return True

        results = run_together(len(offers), locked_confirm)

        assert results.count(True) == 5
        assert _confirmed(order) == 5


class TestParallelReplies:
    def test_fifty_simultaneous_yes_replies_are_all_kept_and_five_are_booked(
        self, desk: Desk, settings: Any
    ) -> None:
        order, people = _order_for_five(desk, settings, 50)

        results = run_together(
            len(people),
            lambda i: inbound_receive(provider_sid=next_sid(), sender=str(people[i].phone),
                                      body=f"YES {order.code}"),
        )

        assert all(r.reply.startswith(f"Принято {order.code}.") for r in results)
        assert Message.objects.filter(direction=Direction.IN, order=order).count() == 50
        assert desk.counts(order)["accepted"] == 50
        assert not Offer.objects.filter(order=order, response__isnull=True).exists()
        workers = Worker.objects.filter(pk__in=[w.pk for w in people])
        assert workers.aggregate(answered=Sum("offers_answered"),
                                 accepted=Sum("offers_accepted")) == {
            "answered": 50, "accepted": 50,
        }
        assert set(workers.values_list("offers_accepted", flat=True)) == {1}
        assert Step.objects.filter(kind=Step.Kind.ASSIGN, franchise=desk.franchise,
                                   done_at__isnull=True).count() == 1

        desk.run_batch()

        order.refresh_from_db()
        assert order.status == Order.Status.FILLED
        assert _confirmed(order) == 5
        assert len(desk.told(order, "confirmation")) == 5
        assert len(desk.in_state(order, Offer.State.STANDBY)) == 1
        assert len(desk.in_state(order, Offer.State.RELEASED)) == 44


class TestParallelBatches:
    @pytest.mark.parametrize("batches", [2, 6])
    def test_batches_started_together_book_the_target_once(
        self, desk: Desk, settings: Any, batches: int
    ) -> None:
        order, people = _order_for_five(desk, settings, 12)
        for worker in people:
            desk.accept(worker, order)

        results = run_together(batches, lambda _: assignment_run(franchise_id=desk.franchise.pk))

        assert sum(r.confirmed for r in results) == 5
        assert _confirmed(order) == 5
        assert Message.objects.filter(order=order, purpose="confirmation").count() == 5
        assert Message.objects.filter(order=order, purpose="standby").count() == 1
        assert len(desk.told(order, "release")) == 6
        order.refresh_from_db()
        assert order.status == Order.Status.FILLED


class TestDuplicateDelivery:
    def test_the_same_message_sid_delivered_at_once_is_stored_and_acted_on_once(
        self, desk: Desk, settings: Any
    ) -> None:
        worker = desk.worker(2)
        order = desk.called(2)
        sid = next_sid()

        results = run_together(
            8,
            lambda _: inbound_receive(provider_sid=sid, sender=str(worker.phone),
                                      body=f"YES {order.code}"),
        )

        assert [r.duplicate for r in results].count(False) == 1
        assert len({r.reply for r in results}) == 1
        assert Message.objects.filter(direction=Direction.IN, provider_sid=sid).count() == 1
        assert Message.objects.filter(direction=Direction.OUT, purpose="reply").count() == 1
        worker.refresh_from_db()
        assert (worker.offers_answered, worker.offers_accepted) == (1, 1)
        assert desk.counts(order)["accepted"] == 1
