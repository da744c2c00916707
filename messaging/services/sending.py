"""Sending: a queued row goes through the configured gateway at most once.

A row is claimed with a conditional UPDATE before sending, so two workers (or a task and the
sweeper) never send the same row twice. Transient failures put the row back with a backoff;
permanent ones fail it at once.
"""

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from django.conf import settings
from django.db import connections, router
from django.db.models import Exists, OuterRef

from core import clock, hooks

from .. import ratelimit, sql
from ..gateways import GatewayError, SmsGateway, build_gateway
from ..models import Direction, Message, OptOut, Status
from ..segments import estimate_cost
from .optouts import opt_out_record

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _PhoneOptOut(TypedDict):
    phone_opted_out: bool


# A row left in `sending` (its worker died mid-call) is retried after this long
# (settings.SMS_SENDING_LEASE_SECONDS). The provider may have accepted it: that rare case
# delivers twice rather than never.
STUCK_SENDING_AFTER = timedelta(seconds=settings.SMS_SENDING_LEASE_SECONDS)


_gateways: dict[tuple[str, ...], SmsGateway] = {}


def _gateway() -> SmsGateway:
    """One gateway (and so one HTTP session) per process and configuration: at 20,000 SMS an
    hour a fresh TLS handshake per message is wasted time."""
    config = (
        settings.SMS_BACKEND,
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_FROM_NUMBER,
        settings.TWILIO_MESSAGING_SERVICE_SID,
        settings.TWILIO_API_BASE,
    )
    if config not in _gateways:
        _gateways[config] = build_gateway(
            settings.SMS_BACKEND,
            account_sid=settings.TWILIO_ACCOUNT_SID or None,
            auth_token=settings.TWILIO_AUTH_TOKEN or None,
            from_number=settings.TWILIO_FROM_NUMBER or None,
            messaging_service_sid=settings.TWILIO_MESSAGING_SERVICE_SID or None,
            api_base=settings.TWILIO_API_BASE or None,
        )
    return _gateways[config]


def _sender_key() -> str:
    return settings.TWILIO_MESSAGING_SERVICE_SID or settings.TWILIO_FROM_NUMBER or "default"


def _status_callback_url() -> str | None:
    if not settings.PUBLIC_BASE_URL:
        return None
    return settings.PUBLIC_BASE_URL.rstrip("/") + "/webhooks/twilio/status/"


def _claim(message_id: int, *, now: Any) -> bool:
    return (
        Message.objects.filter(pk=message_id, direction=Direction.OUT, status=Status.QUEUED)
        .update(status=Status.SENDING, next_attempt_at=now + STUCK_SENDING_AFTER)
        == 1
    )


def _backoff(attempts: int) -> timedelta:
    # Exponential with full jitter: 2, 4, 8 ... seconds, capped at ten minutes.
    ceiling = min(600.0, 2.0**attempts)
    return timedelta(seconds=ceiling / 2 + random.random() * ceiling / 2)


@dataclass(frozen=True)
class SendOutcome:
    message_id: int
    status: str
    retry_at: Any = None


def message_send(*, message_id: int) -> SendOutcome:
    """Send one queued outbound row through the configured gateway, at most once.

    Transient failures put the row back in the queue with a backoff; permanent ones (invalid
    or opted-out number) fail it at once. A provider refusal for an opted-out recipient also
    records the opt-out, so we stop trying that number everywhere.
    """
    now = clock.now()
    if not _claim(message_id, now=now):
        status = Message.objects.filter(pk=message_id).values_list("status", flat=True).first()
        return SendOutcome(message_id, status or "missing")
    (message,) = _claimed_rows([message_id])
    outcome, accepted = _attempt(message)
    if accepted is not None:
        _record_sent([accepted])
    return outcome


# Rows `messages_send` claims, and writes back once sent, together. A status callback that
# overtakes its row's write finds no sid and changes nothing (the later ones still apply):
# a few sends' time, tens of milliseconds, against the second or more Twilio takes to call.
SEND_CHUNK = 10


def messages_send(*, message_ids: list[int]) -> list[SendOutcome]:
    """`message_send` for many rows (a wave's offers, a batch's confirmations), the same rules
    for each, with the database work shared: `SEND_CHUNK` rows are claimed by one UPDATE,
    read by one SELECT and, once the provider accepted them, marked sent by one UPDATE, where
    one at a time took three statements and two commits a message. Rows another task already
    claimed (or sent) are skipped; the outcomes are those of the rows claimed here."""
    outcomes = []
    for start in range(0, len(message_ids), SEND_CHUNK):
        claimed = _claim_many(message_ids[start : start + SEND_CHUNK], now=clock.now())
        accepted = []
        for message in _claimed_rows(claimed):
            outcome, sent = _attempt(message)
            outcomes.append(outcome)
            if sent is not None:
                accepted.append(sent)
        _record_sent(accepted)
    return outcomes


def _claim_many(message_ids: list[int], *, now: Any) -> list[int]:
    """Move the still-queued rows among `message_ids` to `sending`; returns those moved."""
    if not message_ids:
        return []
    connection = connections[router.db_for_write(Message)]
    # UPDATE ... RETURNING came with the same SQLite release (3.35) as INSERT ... RETURNING.
    if not connection.features.can_return_rows_from_bulk_insert:
        return [pk for pk in message_ids if _claim(pk, now=now)]
    statement = sql.claim_many(connection.alias, len(message_ids))
    lease = connection.ops.adapt_datetimefield_value(now + STUCK_SENDING_AFTER)
    with connection.cursor() as cursor:
        cursor.execute(
            statement, [Status.SENDING, lease, *message_ids, Direction.OUT, Status.QUEUED]
        )
        return sorted(row[0] for row in cursor.fetchall())


def _claimed_rows(message_ids: list[int]) -> "list[WithAnnotations[Message, _PhoneOptOut]]":
    """The claimed rows, each with whether its number opted out (read in the same query)."""
    if not message_ids:
        return []
    return list(
        Message.objects.annotate(
            phone_opted_out=Exists(OptOut.objects.filter(phone=OuterRef("phone")))
        ).filter(pk__in=message_ids).order_by("id")
    )


@dataclass(frozen=True)
class _Accepted:
    """A message the provider took: what `_record_sent` writes."""

    message: Message
    provider_sid: str
    sent_at: Any
    segments: int | None


def _attempt(
    message: "WithAnnotations[Message, _PhoneOptOut]",
) -> tuple[SendOutcome, _Accepted | None]:
    """One claimed row through the gateway. A failure is written here; an acceptance is
    returned for the caller to write (with others, or alone)."""
    if message.phone_opted_out:
        _finish(message, Status.FAILED, error_code=21610, error="Recipient opted out (STOP).")
        return SendOutcome(message.pk, Status.FAILED), None
    if settings.SMS_BACKEND == "twilio" and not ratelimit.acquire(
        sender=_sender_key(),
        segments=message.segments,
        per_second=settings.SMS_SENDER_RATE_PER_SECOND,
        redis_url=settings.REDIS_URL,
    ):
        return _requeue(message, attempts=message.attempts, error="Sender busy (rate limit)."), None
    try:
        result = _gateway().send(
            to=message.phone,
            body=message.body,
            status_callback=_status_callback_url(),
            validity_period=message.validity_period,
        )
    except GatewayError as exc:
        # A timeout after the request left (exc.maybe_sent) is retried too: Twilio takes no
        # idempotency key, and a rare duplicate offer costs less than a lost one.
        attempts = message.attempts + 1
        if exc.permanent or attempts >= settings.SMS_MAX_SEND_ATTEMPTS:
            if exc.recipient_opted_out:
                opt_out_record(phone=message.phone, keyword="carrier")
            _finish(message, Status.FAILED, error_code=exc.code, error=exc.message)
            delivery_failed(message.pk)
            return SendOutcome(message.pk, Status.FAILED), None
        return _requeue(message, attempts=attempts, error=exc.message, code=exc.code), None
    accepted = _Accepted(message, result.provider_sid, clock.now(), result.segments or None)
    return SendOutcome(message.pk, Status.SENT), accepted


def _record_sent(accepted: list[_Accepted]) -> None:
    """Mark rows the provider accepted as sent, with their sids, in one statement. Only a row
    still `sending` moves on: a status callback may have raced ahead. The sid is stored
    either way: by this update, or by the next when the row moved on."""
    if not accepted:
        return
    connection = connections[router.db_for_write(Message)]
    price = settings.SMS_PRICE_PER_SEGMENT
    if connection.vendor == "postgresql":
        moved = _record_sent_together(connection, accepted)
    else:
        messages = []
        for sent in accepted:
            message = sent.message
            message.status = Status.SENT
            message.provider_sid = sent.provider_sid
            message.sent_at = sent.sent_at
            message.attempts += 1
            message.next_attempt_at = None
            message.error_message = ""
            if sent.segments:
                message.segments = sent.segments
                message.cost_estimate = estimate_cost(sent.segments, price)
            messages.append(message)
        count = Message.objects.filter(status=Status.SENDING).bulk_update(messages, SENT_FIELDS)
        # Which rows moved is not told; the sid update below changes only those that did not.
        moved = {sent.message.pk for sent in accepted} if count == len(accepted) else set()
    for sent in accepted:
        if sent.message.pk not in moved:
            Message.objects.filter(pk=sent.message.pk, provider_sid__isnull=True).update(
                provider_sid=sent.provider_sid
            )


SENT_FIELDS = ["status", "provider_sid", "sent_at", "attempts", "next_attempt_at",
               "error_message", "segments", "cost_estimate"]


def _record_sent_together(connection: Any, accepted: list[_Accepted]) -> set[int]:
    """PostgreSQL: `_record_sent`'s updates as one statement; returns the ids it moved."""
    price = settings.SMS_PRICE_PER_SEGMENT
    params = [
        Status.SENT,
        [sent.message.pk for sent in accepted],
        [sent.provider_sid for sent in accepted],
        [sent.sent_at for sent in accepted],
        [sent.segments for sent in accepted],
        [estimate_cost(sent.segments, price) if sent.segments else None for sent in accepted],
        Status.SENDING,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql.record_sent(connection.alias), params)
        return {row[0] for row in cursor.fetchall()}


def _requeue(
    message: Message, *, attempts: int, error: str, code: int | None = None
) -> SendOutcome:
    retry_at = clock.now() + _backoff(attempts)
    Message.objects.filter(pk=message.pk, status=Status.SENDING).update(
        status=Status.QUEUED,
        attempts=attempts,
        next_attempt_at=retry_at,
        error_code=code,
        error_message=error[:300],
    )
    return SendOutcome(message.pk, Status.QUEUED, retry_at)


def _finish(message: Message, status: str, *, error_code: int | None, error: str) -> None:
    Message.objects.filter(pk=message.pk, status=Status.SENDING).update(
        status=status,
        error_code=error_code,
        error_message=error[:300],
        next_attempt_at=None,
        attempts=message.attempts + 1,
    )


def delivery_failed(message_id: int) -> None:
    """Tell the app that sent it (`core.hooks.delivery_failures`) that a message finally failed."""
    message = Message.objects.get(pk=message_id)
    handler = hooks.delivery_failures.get(message.purpose)
    if handler is not None:
        handler(message)
