"""Periodic billing work, idempotent so it may run hourly."""

from celery import shared_task

from core import clock

from .services import previous_period, royalty_statements_issue, statements_mark_overdue


@shared_task(ignore_result=True)
def issue_due_statements() -> int:
    """Last month's royalty statements (once each), and overdue marks on unpaid ones."""
    today = clock.now().date()
    statements = royalty_statements_issue(period=previous_period(today))
    statements_mark_overdue(today=today)
    return len(statements)
