"""Appeals against a recorded no-show."""

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from config import clock
from ratings.model import EventKind
from ratings.models import RatingEvent
from ratings.services import worker_ratings_recompute

from ..models import Appeal, Offer
from .notify import notify_workers

# A worker may appeal within this long after the shift's end (market practice: about 5 days).
APPEAL_WINDOW = timedelta(days=5)


@transaction.atomic
def appeal_open(*, offer: Offer, text: str = "", now: Any = None) -> Appeal | None:
    """Record a worker's appeal of a no-show; None when there is nothing to appeal (no
    no-show on that order, or the window has passed). A second appeal returns the first."""
    now = now or clock.now()
    if offer.attendance != Offer.Attendance.NO_SHOW:
        return None
    if now > offer.order.ends_at + APPEAL_WINDOW:
        return None
    try:
        with transaction.atomic():
            return Appeal.objects.create(offer=offer, text=text[:1000], created_at=now)
    except IntegrityError:
        return Appeal.objects.get(offer=offer)


@transaction.atomic
def appeal_decide(*, appeal: Appeal, reverse: bool, decided_by: Any, notes: str = "") -> Appeal:
    """Uphold or reverse a no-show. A reversal restates the worker's rating and reliability
    as if the no-show never happened; either way the worker is told by SMS."""
    appeal = Appeal.objects.select_for_update(of=("self",)).select_related(
        "offer", "offer__worker", "offer__order", "offer__order__franchise", "offer__order__site"
    ).get(pk=appeal.pk)
    if appeal.status != Appeal.Status.PENDING:
        raise ValidationError({"status": [f"This appeal was already decided ({appeal.status})."]})
    now = clock.now()
    offer, order, worker = appeal.offer, appeal.offer.order, appeal.offer.worker
    appeal.status = Appeal.Status.REVERSED if reverse else Appeal.Status.UPHELD
    appeal.decided_at, appeal.decided_by, appeal.notes = now, decided_by, notes
    appeal.save(update_fields=["status", "decided_at", "decided_by", "notes"])
    if reverse:
        RatingEvent.objects.filter(
            worker=worker, order_ref=order.pk, kind=EventKind.NO_SHOW, reversed_at__isnull=True
        ).update(reversed_at=now, note="reversed on appeal")
        Offer.objects.filter(pk=offer.pk).update(attendance=Offer.Attendance.EXCUSED)
        worker_ratings_recompute(worker=worker)
    notify_workers(
        order, [(worker.pk, str(worker.phone), worker.language)],
        "appeal_reversed" if reverse else "appeal_upheld", "appeal",
    )
    return appeal
