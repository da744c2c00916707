from celery import shared_task

from .routing import leads_reroute_expired


@shared_task(ignore_result=True)
def reroute_expired_leads() -> int:
    """Periodic: leads whose SLA passed go to the next candidate."""
    return leads_reroute_expired()
