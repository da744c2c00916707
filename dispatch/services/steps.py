"""Timed steps: rows with a due time, claimed under a lease and run by the periodic sweeper."""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from core import clock

from ..models import Step

logger = logging.getLogger(__name__)


def step_schedule(*, kind: str, due_at: datetime, order: Any = None, franchise: Any = None) -> Step:
    """Schedule a step; a batch assignment joins the franchise's pending one if there is one."""
    if kind == Step.Kind.ASSIGN:
        try:
            with transaction.atomic():
                return Step.objects.create(kind=kind, due_at=due_at, franchise=franchise)
        except IntegrityError:
            return Step.objects.get(kind=kind, franchise=franchise, done_at__isnull=True)
    return Step.objects.create(kind=kind, due_at=due_at, order=order, franchise=franchise)


def steps_cancel(*, order: Any) -> int:
    """Drop an order's pending steps (it was cancelled)."""
    return Step.objects.filter(order=order, done_at__isnull=True).update(done_at=clock.now())


def step_lease() -> timedelta:
    return timedelta(seconds=settings.STEP_LEASE_SECONDS)


def claimable(now: datetime) -> Q:
    """Pending steps nobody holds: never claimed, or claimed under a lease that has run out
    (a claim from before leases existed counts as leased for one lease from its claim)."""
    return Q(done_at__isnull=True) & (
        Q(claimed_at__isnull=True)
        | Q(lease_until__lte=now)
        | Q(lease_until__isnull=True, claimed_at__lte=now - step_lease())
    )


def step_claim(step_id: int, *, now: datetime) -> bool:
    """Claim a due step for one lease; True for exactly one caller however many try at once."""
    return (
        Step.objects.filter(claimable(now), pk=step_id)
        .update(claimed_at=now, lease_until=now + step_lease())
        == 1
    )


def step_release(step_id: int) -> None:
    """Give a step back after its run failed: the next sweep takes it again."""
    Step.objects.filter(pk=step_id, done_at__isnull=True).update(
        claimed_at=None, lease_until=None
    )


def step_finish(step_id: int, *, now: datetime) -> None:
    Step.objects.filter(pk=step_id).update(done_at=now, lease_until=None)


def steps_close_missed(*, now: datetime) -> int:
    """Close, unrun, every pending step further past its moment than STEP_STALE_AFTER, with a
    log line for each; returns how many were closed."""
    stale_before = now - timedelta(seconds=settings.STEP_STALE_AFTER)
    closed = 0
    stale = Step.objects.filter(claimable(now), due_at__lt=stale_before).order_by("due_at", "id")
    for step in stale.select_related("order")[:1000]:
        took = (
            Step.objects.filter(claimable(now), pk=step.pk)
            .update(done_at=now, missed=True, lease_until=None)
        )
        if took:
            closed += 1
            subject = f"order {step.order.code}" if step.order else f"franchise {step.franchise_id}"
            logger.warning(
                "step %s (%s of %s) was due at %s, %s ago: closed as missed, not run",
                step.pk, step.kind, subject, step.due_at.isoformat(),
                str(now - step.due_at).split(".")[0],
            )
    return closed
