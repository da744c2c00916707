"""Cancelling, reminding, checking silence and no-shows: the order's later life."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from core import clock
from ratings.scoring import EventKind
from ratings.services import rating_event_record

from .. import states
from ..event_notes import Note, note_write
from ..models import Offer, Order, Step
from ..overbooking import reweighted_probability, standby_to_call
from .attendance import standby_promote
from .callout import show_probabilities, urgent_wave
from .notify import notify_workers
from .steps import steps_cancel


def _people(offers: Any) -> list[tuple[int, str, str]]:
    return [(o.worker_id, str(o.worker.phone), o.worker.language) for o in offers]


@transaction.atomic
def order_cancel(*, order: Order) -> Order:
    """Cancel before the work starts; confirmed and standby workers are told."""
    now = clock.now()
    order = (
        Order.objects.select_for_update(of=("self",)).select_related("franchise", "site")
        .get(pk=order.pk)
    )
    if order.status == Order.Status.CANCELLED:
        return order
    if order.status not in (Order.Status.DRAFT, Order.Status.CALLING, Order.Status.FILLED):
        raise ValidationError({"status": [_("An order %(status)s cannot be cancelled.")
                                          % {"status": order.status}]})
    booked = list(
        order.offers.filter(state__in=[Offer.State.CONFIRMED, Offer.State.STANDBY])
        .select_related("worker")
    )
    # Offers still open or booked are cancelled; released and withdrawn ones stay as they are.
    states.offers_move(order.offers.all(), to=Offer.State.CANCELLED, released_at=now)
    states.order_move(order, to=Order.Status.CANCELLED, cancelled_at=now)
    steps_cancel(order=order)
    notify_workers(order, _people(booked), "cancelled", "cancellation")
    return order


def reminders_send(*, order_id: int) -> int:
    """Ask every confirmed worker to re-confirm (YES K7Q)."""
    order = Order.objects.select_related("franchise", "site").filter(pk=order_id).first()
    if order is None or order.status not in (Order.Status.FILLED, Order.Status.CALLING):
        return 0
    confirmed = order.offers.filter(state=Offer.State.CONFIRMED).select_related("worker")
    return notify_workers(order, _people(confirmed), "reminder", "reminder")


@transaction.atomic
def silence_check(*, order_id: int) -> int:
    """Confirmed workers who answered neither reminder get a standby worker called in beside
    them; the silent keep their place (they may still come)."""
    now = clock.now()
    order = (
        Order.objects.select_for_update(of=("self",)).select_related("franchise", "site")
        .filter(pk=order_id).first()
    )
    if order is None or order.status not in (Order.Status.FILLED, Order.Status.CALLING):
        return 0
    reminded = Step.objects.filter(
        order=order, kind__in=[Step.Kind.REMINDER_EVENING, Step.Kind.REMINDER_FINAL],
        done_at__isnull=False,
    ).exists()
    if not reminded:
        return 0
    if order.overbook_policy == Order.Policy.ADAPTIVE:
        return standby_promote(order=order, places=_standby_wanted(order, now), now=now)
    silent = order.offers.filter(state=Offer.State.CONFIRMED).filter(
        Q(reconfirmed_at__isnull=True)
    ).count()
    return standby_promote(order=order, places=silent, now=now)


def _standby_wanted(order: Order, now: Any) -> int:
    """Adaptive orders call standby only as far as the answers to the reminders say the crew
    needs: each booked worker's chance is reweighted by how the franchise's re-confirmed and
    silent bookings have turned up, and standby is added (best first) until the chance that
    the headcount shows reaches the show target."""
    fields = ("reconfirmed_at", "worker__reliability", "worker__shifts_completed",
              "worker__no_shows")
    crew = list(order.offers.filter(state=Offer.State.CONFIRMED).values_list(*fields))
    standby = list(
        order.offers.filter(state=Offer.State.STANDBY).order_by("cost", "id")
        .values_list(*fields)
    )
    people = [(reliability, shifts + no_shows)
              for _, reliability, shifts, no_shows in crew + standby]
    probabilities, rates = show_probabilities(order, people, now)
    crew_chances = [
        reweighted_probability(
            p, rates.reconfirmed if reconfirmed_at is not None else rates.silent, rates.base
        )
        for p, (reconfirmed_at, *_) in zip(probabilities, crew, strict=False)
    ]
    return standby_to_call(order.headcount, crew_chances, probabilities[len(crew):],
                           settings.DISPATCH["ADAPTIVE_SHOW_TARGET"])


def no_shows_mark(*, order: Order) -> int:
    """Mark every confirmed worker with no attendance, confirmed before the start, as a
    no-show, each with its rating event (the rating drops at once). Returns how many.

    The caller holds the order's row lock (`select_for_update`) in its transaction, as every
    writer of attendance does, so a worker is marked once: a second call finds them marked.
    Used by the no-show check at start + grace and by completion, which may come sooner.
    """
    # Standby workers called in at or after the start (by an earlier run of the check, or
    # for a withdrawal) are on their way: not no-shows yet.
    missing = list(
        order.offers.filter(state=Offer.State.CONFIRMED, attendance__isnull=True)
        .exclude(confirmed_at__gte=order.start)
        .select_related("worker")
    )
    marked = Offer.objects.filter(
        pk__in=[o.pk for o in missing], attendance__isnull=True
    ).update(attendance=Offer.Attendance.NO_SHOW)
    for offer in missing:
        rating_event_record(
            worker=offer.worker, kind=EventKind.NO_SHOW, order_ref=order.pk,
            note=note_write(Note.NO_SHOW, code=order.code),
        )
    return marked


@transaction.atomic
def no_show_check(*, order_id: int) -> int:
    """At start + grace: every confirmed worker not checked in is a no-show, once.

    The rating drops in the same transaction; standby workers are called for the gap.
    Safe to run twice: only offers with no attendance yet are marked.
    """
    now = clock.now()
    order = (
        Order.objects.select_for_update(of=("self",)).select_related("franchise", "site")
        .filter(pk=order_id).first()
    )
    if order is None or order.status in (
        Order.Status.CANCELLED, Order.Status.DRAFT, Order.Status.COMPLETED
    ):
        return 0
    marked = no_shows_mark(order=order)
    if order.status in (Order.Status.CALLING, Order.Status.FILLED):
        states.order_move(order, to=Order.Status.IN_PROGRESS)
    present = order.offers.filter(
        attendance__in=[Offer.Attendance.PRESENT, Offer.Attendance.LATE]
    ).count()
    on_the_way = order.offers.filter(
        state=Offer.State.CONFIRMED, attendance__isnull=True
    ).count()
    short = max(0, order.headcount - present - on_the_way)
    called = standby_promote(order=order, places=short, now=now)
    if short > called:

        urgent_wave(order=order, places=short - called, now=now)
    return marked


def order_due_soon(order: Order) -> bool:
    return order.start - clock.now() < timedelta(hours=1)
