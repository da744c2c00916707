"""Withdrawals from a booking and standby promotion."""

from typing import Any

from django.db import transaction

from core import clock
from ratings.scoring import EventKind, classify_withdrawal
from ratings.services import rating_event_record, rating_params

from .. import states, texts
from ..event_notes import Note, note_write
from ..models import Offer, Order
from .callout import order_refill
from .notify import notify_workers, order_values


def standby_promote(*, order: Order, places: int, now: Any) -> int:
    """Call the best standby workers in to fill `places`; returns how many were called."""
    if places <= 0:
        return 0
    standby = list(
        Offer.objects.filter(order=order, state=Offer.State.STANDBY)
        .select_related("worker")
        .order_by("cost", "id")[:places]
    )
    if not standby:
        return 0
    states.offers_move(
        Offer.objects.filter(pk__in=[o.pk for o in standby]), to=Offer.State.CONFIRMED,
        confirmed_at=now,
    )
    notify_workers(
        order,
        [(o.worker_id, str(o.worker.phone), o.worker.language) for o in standby],
        "come_now",
        "standby_call",
    )
    return len(standby)


@transaction.atomic
def booking_withdraw(*, offer: Offer, now: Any = None, language: str = "ru") -> str:
    """A booked worker pulls out (CANCEL K7Q). The notice decides the penalty; a standby
    worker is called in their place. Returns the reply text."""
    now = now or clock.now()
    order = Order.objects.select_for_update(of=("self",)).select_related("franchise", "site").get(
        pk=offer.order_id
    )
    # Once attendance is taken there is nothing left to withdraw from: a no-show texting
    # CANCEL afterwards must not add a withdrawal penalty, nor leave the foreman's crew.
    changed = states.offers_move(
        Offer.objects.filter(pk=offer.pk, state__in=[Offer.State.CONFIRMED, Offer.State.STANDBY],
                             attendance__isnull=True),
        to=Offer.State.CANCELLED, released_at=now,
    )
    if not changed:
        return texts.render("no_open_offer", language)
    was_confirmed = offer.state == Offer.State.CONFIRMED
    kind = EventKind.CANCEL
    if was_confirmed:
        kind = classify_withdrawal(order.start - now, rating_params())
        rating_event_record(
            worker=offer.worker, kind=kind, order_ref=order.pk,
            note=note_write(Note.WITHDREW, code=order.code),
        )
        if order.status in (Order.Status.FILLED, Order.Status.CALLING):
            promoted = standby_promote(order=order, places=1, now=now)
            if not promoted:

                order_refill(order=order, now=now)
    late = was_confirmed and kind != EventKind.CANCEL
    return texts.render("withdrawn_late" if late else "withdrawn", language,
                        **order_values(order, language))
