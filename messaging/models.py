"""Every SMS in and out, and the numbers that asked not to be texted."""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Direction(models.TextChoices):
    IN = "in", _("Inbound")
    OUT = "out", _("Outbound")


class Encoding(models.TextChoices):
    GSM7 = "GSM-7", "GSM-7"
    UCS2 = "UCS-2", "UCS-2"


class Status(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    UNDELIVERED = "undelivered", _("Undelivered")
    FAILED = "failed", _("Failed")
    RECEIVED = "received", _("Received")


# A message's status only moves forward along this order; a final status never changes.
STATUS_RANK = {
    Status.QUEUED: 0,
    Status.SENDING: 1,
    Status.SENT: 2,
    Status.DELIVERED: 3,
    Status.UNDELIVERED: 3,
    Status.FAILED: 3,
    Status.RECEIVED: 3,
}
FINAL_STATUSES = frozenset({Status.DELIVERED, Status.UNDELIVERED, Status.FAILED, Status.RECEIVED})


class Message(models.Model):
    """One SMS. Outbound rows are the outbox: written in the caller's transaction, sent later."""

    franchise_scope = "order__franchise"
    foreman_scope = "order__foreman"

    direction = models.CharField(max_length=3, choices=Direction.choices)
    # Free text: inbound senders may be short codes or alphanumeric names, not only E.164.
    phone = models.CharField(max_length=64, db_index=True)
    body = models.TextField(blank=True)
    encoding = models.CharField(max_length=5, choices=Encoding.choices)
    segments = models.PositiveSmallIntegerField(default=1)
    cost_estimate = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal(0))
    status = models.CharField(max_length=12, choices=Status.choices)
    provider_sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    error_code = models.IntegerField(null=True, blank=True)
    error_message = models.CharField(max_length=300, blank=True)
    # What the text is (offer, confirmation, reply...), for reports and the simulator.
    purpose = models.CharField(max_length=40, blank=True)
    worker = models.ForeignKey(
        "workers.Worker", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    order = models.ForeignKey(
        "dispatch.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    in_reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    # Inbound: the command the grammar read, and whether a handler acted on it.
    command = models.CharField(max_length=20, blank=True)
    # Inbound: the webhook's fields that did not have their real format (a sid that is not a
    # provider sid, a sender that is neither a number nor a name), as received but cleaned.
    raw = models.JSONField(default=dict, blank=True)
    # Outbound: seconds the offer is useful; past it the carrier drops it instead of delivering.
    validity_period = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweeper's scan: outbound rows still queued whose attempt is due.
            models.Index(
                fields=["next_attempt_at"],
                name="message_outbox_due",
                condition=Q(direction="out", status="queued"),
            ),
            models.Index(fields=["worker", "-created_at"]),
            models.Index(fields=["order", "-created_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(direction__in=["in", "out"]), name="message_direction_valid"
            ),
            models.CheckConstraint(
                condition=Q(encoding__in=["GSM-7", "UCS-2"]), name="message_encoding_valid"
            ),
            models.CheckConstraint(
                condition=~Q(direction="in") | Q(status="received"),
                name="message_inbound_is_received",
            ),
        ]

    def __str__(self) -> str:
        arrow = "<-" if self.direction == Direction.IN else "->"
        return f"{arrow} {self.phone}: {self.body[:40]}"


class OptOut(models.Model):
    """A number that texted STOP: nothing of any kind is sent to it until it opts back in."""

    phone = models.CharField(max_length=64, unique=True)
    opted_out_at = models.DateTimeField()
    keyword = models.CharField(max_length=20, blank=True)

    def __str__(self) -> str:
        return self.phone
