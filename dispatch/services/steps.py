"""Timed steps: rows with a due time, claimed once and run by the periodic sweeper."""

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from core import clock

from ..models import Step


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


def step_claim(step_id: int, *, now: datetime) -> bool:
    """Claim a due step; True for exactly one caller however many try at once."""
    return (
        Step.objects.filter(pk=step_id, claimed_at__isnull=True, done_at__isnull=True)
        .update(claimed_at=now)
        == 1
    )


def step_finish(step_id: int, *, now: datetime) -> None:
    Step.objects.filter(pk=step_id).update(done_at=now)
