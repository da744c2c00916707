"""Delivery status callbacks: statuses only move forward, and a final one stays."""

from typing import Any

from ..models import FINAL_STATUSES, STATUS_RANK, Direction, Message, Status
from .optouts import opt_out_record
from .sending import delivery_failed

# Twilio's error codes have five digits; anything past a 32-bit column is not one of them.
MAX_ERROR_CODE = 2**31 - 1


# Twilio's delivery statuses mapped onto ours; `queued`/`accepted`/`scheduled` say nothing new.
PROVIDER_STATUS = {
    "queued": Status.SENT,
    "accepted": Status.SENT,
    "scheduled": Status.SENT,
    "sending": Status.SENT,
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "read": Status.DELIVERED,
    "undelivered": Status.UNDELIVERED,
    "failed": Status.FAILED,
    "canceled": Status.FAILED,
}


def message_status_update(*, provider_sid: str, provider_status: str, error_code: Any) -> bool:
    """Apply a delivery status callback; statuses only move forward, a final one stays.

    Returns True when the row changed. Unknown sids and stale callbacks change nothing.
    """
    status = PROVIDER_STATUS.get((provider_status or "").strip().lower())
    if status is None or not provider_sid:
        return False
    lower = [s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[status]]
    changes: dict[str, Any] = {"status": status}
    try:
        code = int(error_code) if error_code not in (None, "") else None
    except (TypeError, ValueError):
        code = None
    if code is not None and not 0 <= code <= MAX_ERROR_CODE:
        code = None  # not one of Twilio's codes, and no column could hold it
    if code is not None:
        changes["error_code"] = code
    updated = (
        Message.objects.filter(provider_sid=provider_sid, direction=Direction.OUT)
        .exclude(status__in=FINAL_STATUSES)
        .filter(status__in=lower)
        .update(**changes)
    )
    if updated and status in (Status.FAILED, Status.UNDELIVERED):
        message = Message.objects.get(provider_sid=provider_sid)
        if code == 21610:
            opt_out_record(phone=message.phone, keyword="carrier")
        delivery_failed(message.pk)
    return bool(updated)
