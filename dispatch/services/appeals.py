"""Appeals against a recorded no-show."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core import clock
from ratings.models import RatingEvent
from ratings.scoring import EventKind
from ratings.services import worker_ratings_recompute
from workers.models import Worker

from ..event_notes import Note, note_write
from ..models import Appeal, Offer
from .notify import notify_workers

# A worker may appeal within this long after the shift's end (market practice: about 5 days).
APPEAL_WINDOW = timedelta(days=5)


@dataclass(frozen=True)
class AppealOpened:
    """What became of a worker's APPEAL: `appeal` is the appeal on that offer (a new one, the
    pending one, or the one already decided), None when there is none.
    `reason`: "opened", "pending" (appealed before, not decided yet), "decided" (see
    `appeal.status`), "no_no_show", "window_closed"."""

    appeal: Appeal | None
    reason: str


@transaction.atomic
def appeal_open(*, offer: Offer, text: str = "", now: Any = None) -> AppealOpened:
    """Record a worker's appeal of a no-show, once per offer, within the appeal window.

    An offer already appealed answers with that appeal, decided or not, whenever it is asked
    (the worker is told the decision again, not promised a new review)."""
    now = now or clock.now()
    earlier = Appeal.objects.filter(offer=offer).first()
    if earlier is not None:
        return _appeal_state(earlier)
    if offer.attendance != Offer.Attendance.NO_SHOW:
        return AppealOpened(None, "no_no_show")
    if now > offer.order.ends_at + APPEAL_WINDOW:
        return AppealOpened(None, "window_closed")
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(offer=offer, text=text[:1000], created_at=now)
    except IntegrityError:  # a second APPEAL racing the first
        return _appeal_state(Appeal.objects.get(offer=offer))
    return AppealOpened(appeal, "opened")


def _appeal_state(appeal: Appeal) -> AppealOpened:
    return AppealOpened(appeal, "pending" if appeal.status == Appeal.Status.PENDING else "decided")


@transaction.atomic
def appeal_decide(*, appeal: Appeal, reverse: bool, decided_by: Any, notes: str = "") -> Appeal:
    """Uphold or reverse a no-show. A reversal restates the worker's rating and reliability
    as if the no-show never happened, and lifts the suspension that no-show caused (see
    `worker_ratings_recompute`); either way the worker is told by SMS, and a reversal's text
    says whether they may take jobs again or a suspension still waits for a recruiter."""
    appeal = Appeal.objects.select_for_update(of=("self",)).select_related(
        "offer", "offer__worker", "offer__order", "offer__order__franchise", "offer__order__site"
    ).get(pk=appeal.pk)
    if appeal.status != Appeal.Status.PENDING:
        raise ValidationError({"status": [_("This appeal was already decided (%(status)s).")
                                          % {"status": appeal.status}]})
    now = clock.now()
    offer, order, worker = appeal.offer, appeal.offer.order, appeal.offer.worker
    appeal.status = Appeal.Status.REVERSED if reverse else Appeal.Status.UPHELD
    appeal.decided_at, appeal.decided_by, appeal.notes = now, decided_by, notes
    appeal.save(update_fields=["status", "decided_at", "decided_by", "notes"])
    key = "appeal_upheld"
    if reverse:
        RatingEvent.objects.filter(
            worker=worker, order_ref=order.pk, kind=EventKind.NO_SHOW, reversed_at__isnull=True
        ).update(reversed_at=now, note=note_write(Note.REVERSED_ON_APPEAL))
        Offer.objects.filter(pk=offer.pk).update(attendance=Offer.Attendance.EXCUSED)
        was_suspended = Worker.objects.get(pk=worker.pk).status == Worker.Status.SUSPENDED
        worker_ratings_recompute(worker=worker)
        status = Worker.objects.values_list("status", flat=True).get(pk=worker.pk)
        key = "appeal_reversed"
        if status == Worker.Status.SUSPENDED:
            key = "appeal_reversed_still_suspended"
        elif was_suspended:
            key = "appeal_reversed_reinstated"
    notify_workers(order, [(worker.pk, str(worker.phone), worker.language)], key, "appeal")
    return appeal
