"""Celery tasks for dispatch: thin wrappers that take ids and call services."""

import logging

from celery import shared_task

from core import clock

from .models import Order, Step
from .services import assignment_run, callout_start, wave_next
from .services.lifecycle import no_show_check, reminders_send, silence_check
from .services.steps import claimable, step_claim, step_finish, step_release, steps_close_missed

logger = logging.getLogger(__name__)


def _run_step(step: Step) -> None:
    kind = step.kind
    if kind == Step.Kind.ASSIGN:
        assignment_run(franchise_id=_key(step, step.franchise_id))
    elif kind == Step.Kind.WAVE:
        wave_next(order_id=_key(step, step.order_id))
    elif kind in (Step.Kind.REMINDER_EVENING, Step.Kind.REMINDER_FINAL):
        reminders_send(order_id=_key(step, step.order_id))
    elif kind == Step.Kind.SILENCE_CHECK:
        silence_check(order_id=_key(step, step.order_id))
    elif kind == Step.Kind.NO_SHOW_CHECK:
        no_show_check(order_id=_key(step, step.order_id))


def _key(step: Step, key: int | None) -> int:
    """The franchise (a batch) or order (any other step) the step runs for; every step of
    that kind has one."""
    if key is None:
        raise ValueError(f"Step {step.pk} ({step.kind}) names nothing to run for")
    return key


@shared_task(ignore_result=True)
def run_due_steps(limit: int = 200) -> int:
    """Periodic: run every step whose time has come, each exactly once.

    Steps far past their moment are closed as missed first (`steps_close_missed`); a step
    whose runner died is taken again once its lease has run out. Batch assignments go first,
    so acceptances are booked before reminders or no-show checks of the same moment look at
    the crews.
    """
    now = clock.now()
    steps_close_missed(now=now)
    due = list(
        Step.objects.filter(claimable(now), due_at__lte=now).order_by("due_at", "id")[:limit]
    )
    due.sort(key=lambda step: (step.kind != Step.Kind.ASSIGN, step.due_at, step.pk))
    ran = 0
    for step in due:
        if not step_claim(step.pk, now=now):
            continue
        try:
            _run_step(step)
        except Exception:
            logger.exception("step %s (%s) failed; it will be retried", step.pk, step.kind)
            step_release(step.pk)
            continue
        step_finish(step.pk, now=clock.now())
        ran += 1
    return ran


@shared_task(ignore_result=True)
def start_callout(order_id: int) -> None:
    order = Order.objects.filter(pk=order_id, status=Order.Status.DRAFT).first()
    if order is None:
        logger.info("order %s is not a draft any more; call-out not started", order_id)
        return
    callout_start(order=order)
