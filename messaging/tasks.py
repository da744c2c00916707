"""Celery tasks: thin wrappers that take ids and call a service."""

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True, acks_late=True)
def send_message(message_id: int) -> str:
    """Send one outbox row. Safe to run twice: the row is claimed before sending, and a
    transient failure re-queues the row with a due time instead of retrying in the broker
    (a Redis countdown longer than its visibility timeout would be delivered again)."""
    outcome = services.message_send(message_id=message_id)
    logger.debug("message %s: %s", message_id, outcome.status)
    return outcome.status


@shared_task(ignore_result=True, acks_late=True)
def send_messages(message_ids: list[int]) -> int:
    """Send a batch of outbox rows (a wave of offers), claimed and written back a few at a
    time (`services.messages_send`); rows another task took are skipped."""
    outcomes = services.messages_send(message_ids=message_ids)
    return sum(outcome.status == "sent" for outcome in outcomes)


@shared_task(ignore_result=True)
def sweep_outbox() -> int:
    """Periodic: hand queued rows whose task was lost, or whose retry is due, to send_message."""
    return services.outbox_sweep()
