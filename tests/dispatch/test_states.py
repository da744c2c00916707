"""Orders' and offers' states change only through dispatch/states.py, by its tables."""

import re
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch import states
from dispatch.models import IllegalTransition, Offer, Order
from dispatch.services.lifecycle import order_cancel
from dispatch.services.onsite import order_complete

from .conftest import START, Desk

pytestmark = pytest.mark.django_db

ORDER_STATUSES = list(Order.Status)
OFFER_STATES = list(Offer.State)


def test_an_illegal_order_move_raises_and_writes_nothing(desk: Desk) -> None:
    order = desk.order()
    with pytest.raises(IllegalTransition, match="draft to completed"):
        states.order_move(order, to=Order.Status.COMPLETED, completed_at=START)
    order.refresh_from_db()
    assert (order.status, order.completed_at) == (Order.Status.DRAFT, None)


def test_a_move_through_a_status_checks_both_steps(desk: Desk) -> None:
    order = desk.order()
    # Draft may not go to in progress, so it may not pass through it either.
    with pytest.raises(IllegalTransition, match="draft to in_progress"):
        states.order_move(order, to=Order.Status.COMPLETED, via=Order.Status.IN_PROGRESS)
    called = desk.called()
    states.order_move(called, to=Order.Status.COMPLETED, via=Order.Status.IN_PROGRESS,
                      completed_at=START)
    called.refresh_from_db()
    assert (called.status, called.completed_at) == (Order.Status.COMPLETED, START)
    assert _statuses(called) == [Order.Status.DRAFT, Order.Status.CALLING,
                                 Order.Status.COMPLETED]


def _statuses(order: Order) -> list[str]:
    """The statuses the order was saved with, oldest first, repeats (other fields' saves)
    left out."""
    seen = order.history.order_by("history_id").values_list("status", flat=True)
    return [status for i, status in enumerate(seen) if i == 0 or seen[i - 1] != status]


def test_an_illegal_offer_move_raises(desk: Desk) -> None:
    desk.workers(1)
    order = desk.called(1)
    offer = order.offers.get()
    states.offer_move(offer, to=Offer.State.RELEASED, released_at=START)
    with pytest.raises(IllegalTransition, match="released to confirmed"):
        states.offer_move(offer, to=Offer.State.CONFIRMED)
    offer.refresh_from_db()
    assert offer.state == Offer.State.RELEASED


def test_the_bulk_move_refuses_rows_the_table_does_not_allow(desk: Desk) -> None:
    desk.workers(4)
    order = desk.called(2)
    offered, released, cancelled, standby = order.offers.order_by("id")
    states.offer_move(released, to=Offer.State.RELEASED, released_at=START)
    states.offer_move(cancelled, to=Offer.State.CANCELLED)
    states.offer_move(standby, to=Offer.State.STANDBY)

    moved = states.offers_move(order.offers.all(), to=Offer.State.CONFIRMED, confirmed_at=START)

    assert moved == 2
    after = dict(order.offers.values_list("id", "state"))
    assert after == {offered.pk: Offer.State.CONFIRMED, released.pk: Offer.State.RELEASED,
                     cancelled.pk: Offer.State.CANCELLED, standby.pk: Offer.State.CONFIRMED}
    assert Offer.objects.get(pk=released.pk).confirmed_at is None


def test_the_bulk_order_move_fills_only_calling_orders(desk: Desk) -> None:
    draft, calling = desk.order(), desk.called()
    moved = states.orders_move(Order.objects.filter(pk__in=[draft.pk, calling.pk]),
                               to=Order.Status.FILLED, filled_at=START)
    assert moved == 1
    assert dict(Order.objects.values_list("id", "status")) == {
        draft.pk: Order.Status.DRAFT, calling.pk: Order.Status.FILLED
    }


def test_every_target_is_reachable_and_the_first_states_are_not_targets() -> None:
    # Created as a draft and as offered; nothing moves back to those.
    assert states.sources(Order.TRANSITIONS, Order.Status.DRAFT) == []
    assert states.sources(Offer.TRANSITIONS, Offer.State.OFFERED) == []
    for status in ORDER_STATUSES[1:]:
        assert states.sources(Order.TRANSITIONS, status)
    for state in OFFER_STATES[1:]:
        assert states.sources(Offer.TRANSITIONS, state)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.sampled_from(OFFER_STATES), st.booleans()), max_size=8))
def test_random_offer_moves_follow_the_table(desk: Desk, steps: list[tuple[str, bool]]) -> None:
    if not Offer.objects.exists():
        desk.workers(1)
        desk.called(1)
    offer = Offer.objects.get()
    Offer.objects.filter(pk=offer.pk).update(state=Offer.State.OFFERED)  # each example anew
    offer.refresh_from_db()
    expected = Offer.State.OFFERED
    for to, bulk in steps:
        legal = to in Offer.TRANSITIONS[expected]
        if bulk:
            moved = states.offers_move(Offer.objects.filter(pk=offer.pk), to=to)
            assert moved == (1 if legal else 0)
        elif legal:
            states.offer_move(offer, to=to)
        else:
            with pytest.raises(IllegalTransition):
                states.offer_move(offer, to=to)
        if legal:
            expected = to
        offer.refresh_from_db()
        assert offer.state == expected


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.sampled_from(ORDER_STATUSES), st.booleans()), max_size=8))
def test_random_order_moves_follow_the_table(desk: Desk, steps: list[tuple[str, bool]]) -> None:
    order = Order.objects.first() or desk.order()
    Order.objects.filter(pk=order.pk).update(status=Order.Status.DRAFT)  # each example anew
    order.refresh_from_db()
    expected = Order.Status.DRAFT
    for to, bulk in steps:
        legal = to in Order.TRANSITIONS[expected]
        if bulk:
            assert states.orders_move(Order.objects.filter(pk=order.pk), to=to) == int(legal)
        elif legal:
            states.order_move(order, to=to)
        else:
            with pytest.raises(IllegalTransition):
                states.order_move(order, to=to)
        if legal:
            expected = to
        order.refresh_from_db()
        assert order.status == expected


def test_an_order_s_recorded_statuses_follow_the_table_through_its_life(
    desk: Desk, vclock: Any
) -> None:
    """Every status an order is saved with, read back from its history, is a legal step from
    the one before (completion passes through in progress unwritten when nobody checked in):
    a booked order completed, and a called one cancelled."""
    workers = desk.workers(3)
    booked = desk.book(desk.order(2), workers)
    cancelled = desk.called(1)
    order_cancel(order=cancelled)
    vclock.set(booked.ends_at)
    order_complete(order=booked)
    assert booked.status == Order.Status.FILLED  # by the batch's bulk move: no history row
    assert _statuses(booked) == [Order.Status.DRAFT, Order.Status.CALLING,
                                 Order.Status.COMPLETED]
    assert _statuses(cancelled) == [Order.Status.DRAFT, Order.Status.CALLING,
                                    Order.Status.CANCELLED]
    for order in (booked, cancelled):
        seen = _statuses(order)
        for before, after in pairwise(seen):
            direct = after in Order.TRANSITIONS[before]
            through_work = (Order.Status.IN_PROGRESS in Order.TRANSITIONS[before]
                            and after in Order.TRANSITIONS[Order.Status.IN_PROGRESS])
            assert direct or through_work, (before, after)


def test_no_module_writes_an_order_or_offer_state_but_the_owner() -> None:
    """An order's status and an offer's state are written only by dispatch/states.py: a bulk
    `.update(...)` or an assignment elsewhere would bypass the transition tables."""
    root = Path(__file__).resolve().parents[2]
    writes = re.compile(
        r"\.update\([^)]*\b(state=Offer\.State|status=Order\.Status)"
        r"|\.(state|status)\s*=\s*(Offer\.State|Order\.Status)\.",
        re.S,
    )
    offenders = [
        str(path.relative_to(root))
        for app in ("dispatch", "billing", "web", "demo", "messaging", "ratings", "workers",
                    "clients", "franchises", "core")
        for path in (root / app).rglob("*.py")
        if "migrations" not in path.parts and path.name != "states.py"
        and writes.search(path.read_text())
    ]
    assert offenders == []
