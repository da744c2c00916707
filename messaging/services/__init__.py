"""The verbs of the messaging layer, one module per area: the outbox (`outbox`), sending
through the gateway (`sending`), delivery status callbacks (`status`), inbound SMS
(`inbound`) and opt-outs (`optouts`). The names other apps use are handed on here."""

from .common import normalise_phone, provider_sid, sender_fields, storable
from .inbound import InboundResult, inbound_receive
from .optouts import is_opted_out, opt_in_record, opt_out_record
from .outbox import (
    INSERT_MANY_CHUNK,
    LOST_TASK_GRACE,
    MAX_HANDOVER_LEASE,
    QUEUED_LEASE,
    SmsItem,
    handover_lease,
    outbox_sweep,
    sms_queue,
    sms_queue_many,
)
from .sending import SEND_CHUNK, SendOutcome, message_send, messages_send
from .status import message_status_update

__all__ = [
    "INSERT_MANY_CHUNK",
    "LOST_TASK_GRACE",
    "MAX_HANDOVER_LEASE",
    "QUEUED_LEASE",
    "SEND_CHUNK",
    "InboundResult",
    "SendOutcome",
    "SmsItem",
    "handover_lease",
    "inbound_receive",
    "is_opted_out",
    "message_send",
    "message_status_update",
    "messages_send",
    "normalise_phone",
    "opt_in_record",
    "opt_out_record",
    "outbox_sweep",
    "provider_sid",
    "sender_fields",
    "sms_queue",
    "sms_queue_many",
    "storable",
]
