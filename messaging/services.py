"""The verbs of the messaging layer: queue an SMS, send it, take one in, track its status.

Outbound SMS are rows first: `sms_queue` writes the row inside the caller's transaction (the
outbox) and only after commit asks Celery to send it. If the broker is down the row simply
waits; `outbox_sweep` finds it later. A row is claimed with a conditional UPDATE before
sending, so two workers (or a task and the sweeper) never send the same row twice.
"""

import functools
import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from core import clock, rows

from . import handlers, ratelimit, texts
from .gateways import GatewayError, SmsGateway, build_gateway
from .grammar import CommandKind, is_lone_yes, parse
from .models import FINAL_STATUSES, STATUS_RANK, Direction, Message, OptOut, Status
from .segments import count_segments, estimate_cost

logger = logging.getLogger(__name__)

# A new row's send task goes to the broker right after the commit, and the broker keeps it
# until a worker has run it (late acknowledgement). The sweeper leaves the row this long
# first: only a task lost between the commit and the broker (the process died) needs it, and
# behind a morning's backlog a shorter lease would only hand queued rows over again.
QUEUED_LEASE = timedelta(minutes=2)
# A row whose task the broker refused (it was down) is handed over again after this long.
LOST_TASK_GRACE = timedelta(seconds=30)
# A row the sweeper hands over gets a lease as long as it has already waited (doubling from
# LOST_TASK_GRACE), up to this: its earlier task is most likely still in the broker's queue,
# and each hand-over adds a task that finds the row already sent. A task that really was lost
# waits at most this long.
MAX_HANDOVER_LEASE = timedelta(minutes=4)
# A row left in `sending` (its worker died mid-call) is retried after this long. The
# provider may have accepted it: that rare case delivers twice rather than never.
STUCK_SENDING_AFTER = timedelta(minutes=10)
MAX_BODY_CHARS = 1600  # Twilio's own limit for one message
# Twilio's error codes have five digits; anything past a 32-bit column is not one of them.
MAX_ERROR_CODE = 2**31 - 1


def normalise_phone(raw: str) -> str:
    """E.164 when the text is a phone number; otherwise the sender as given (short codes,
    alphanumeric names). Never raises."""
    from phonenumber_field.phonenumber import PhoneNumber, to_python

    text = (raw or "").strip()
    try:
        number = to_python(text, region=settings.DEFAULT_PHONE_REGION)
    except Exception:
        return text[:64]
    # An empty text comes back as the empty string, not as a number or None.
    if isinstance(number, PhoneNumber) and number.is_valid():
        return number.as_e164
    return text[:64]


def is_opted_out(phone: str) -> bool:
    return OptOut.objects.filter(phone=phone).exists()


def _storable(text: str) -> str:
    # PostgreSQL text cannot hold NUL; keep the message and mark where the NUL was.
    return text.replace("\x00", "\ufffd")


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


def _enqueue(message_id: int) -> None:
    """Ask Celery to send the row now; if the broker is unreachable the sweeper will."""
    from .tasks import send_message

    try:
        send_message.apply_async((message_id,), retry=False)
    except Exception:
        logger.warning(
            "broker unavailable; message %s waits for the sweeper", message_id, exc_info=True
        )
        _refused([message_id])


def _refused(message_ids: list[int]) -> None:
    """The broker did not take these rows' task: the sweeper hands them over again soon."""
    Message.objects.filter(pk__in=message_ids, status=Status.QUEUED).update(
        next_attempt_at=clock.now() + LOST_TASK_GRACE
    )


def sms_queue(
    *,
    phone: str,
    body: str,
    purpose: str,
    worker: Any = None,
    order: Any = None,
    validity_period: int | None = None,
    in_reply_to: Message | None = None,
) -> Message | None:
    """Write an outbound SMS to the outbox; it is sent once the caller's transaction commits.

    Returns None, and writes nothing, when the number has opted out: nothing of any kind goes
    to a number that texted STOP.
    """
    phone = normalise_phone(phone)
    if validity_period is not None:
        # Twilio takes 1-36,000 seconds; an offer's useful life is clamped into that range.
        validity_period = min(max(int(validity_period), 1), 36000)
    if is_opted_out(phone):
        logger.info("not texting %s (%s): opted out", phone, purpose)
        return None
    body = _storable(body)[:MAX_BODY_CHARS]
    info = count_segments(body)
    now = clock.now()
    message = Message.objects.create(
        direction=Direction.OUT,
        phone=phone,
        body=body,
        encoding=info.encoding,
        segments=info.segments,
        cost_estimate=estimate_cost(info.segments, settings.SMS_PRICE_PER_SEGMENT),
        status=Status.QUEUED,
        purpose=purpose,
        worker=worker,
        order=order,
        in_reply_to=in_reply_to,
        validity_period=validity_period,
        created_at=now,
        next_attempt_at=now + QUEUED_LEASE,
    )
    transaction.on_commit(lambda: _enqueue(message.pk))
    return message


@dataclass(frozen=True)
class SmsItem:
    """One outbound SMS for `sms_queue_many`."""

    phone: str
    body: str
    purpose: str
    worker_id: int | None = None
    order_id: int | None = None
    validity_period: int | None = None


def _enqueue_many(message_ids: list[int]) -> None:
    from .tasks import send_messages

    for start in range(0, len(message_ids), 100):
        chunk = message_ids[start : start + 100]
        try:
            send_messages.apply_async((chunk,), retry=False)
        except Exception:
            logger.warning(
                "broker unavailable; %d messages wait for the sweeper", len(chunk), exc_info=True
            )
            _refused(chunk)


def sms_queue_many(items: list[SmsItem]) -> list[int]:
    """Write many outbound SMS at once (a call-out wave, a batch of confirmations); returns
    the new rows' ids.

    The same rules as `sms_queue`: opted-out numbers are skipped (one query for all), and
    the rows are sent after the caller's transaction commits.
    """
    if not items:
        return []
    phones = {item.phone for item in items}
    blocked = set(OptOut.objects.filter(phone__in=phones).values_list("phone", flat=True))
    now = clock.now()
    price = settings.SMS_PRICE_PER_SEGMENT
    values = []
    for item in items:
        if item.phone in blocked:
            continue
        body = _storable(item.body)[:MAX_BODY_CHARS]
        info = count_segments(body)
        validity = item.validity_period
        if validity is not None:
            validity = min(max(int(validity), 1), 36000)
        values.append(
            {
                "direction": Direction.OUT,
                "phone": item.phone,
                "body": body,
                "encoding": info.encoding,
                "segments": info.segments,
                "cost_estimate": estimate_cost(info.segments, price),
                "status": Status.QUEUED,
                "purpose": item.purpose,
                "worker_id": item.worker_id,
                "order_id": item.order_id,
                "validity_period": validity,
                "created_at": now,
                "next_attempt_at": now + QUEUED_LEASE,
            }
        )
    connection = connections[router.db_for_write(Message)]
    if connection.vendor == "postgresql":
        ids = _insert_many(connection, values)
    else:
        created = Message.objects.bulk_create([Message(**v) for v in values], batch_size=500)
        ids = [message.pk for message in created]
    if None in ids:  # a backend that does not return ids from bulk inserts
        ids = list(
            Message.objects.filter(created_at=now, direction=Direction.OUT, status=Status.QUEUED)
            .values_list("id", flat=True)
        )
    transaction.on_commit(lambda: _enqueue_many(ids))
    return ids


# Rows per INSERT of `_insert_many`: each column travels as one array parameter.
INSERT_MANY_CHUNK = 5000


@functools.cache
def _insert_many_sql(alias: str) -> tuple[str, list[Any]]:
    connection = connections[alias]
    fields = [field for field in Message._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    # %b: binary parameters, so psycopg need not scan every string for characters to quote.
    arrays = ", ".join(f"%b::{field.db_type(connection)}[]" for field in fields)
    sql = (
        f"INSERT INTO {quote(Message._meta.db_table)} "
        f"({', '.join(quote(field.column) for field in fields)}) "
        f"SELECT * FROM unnest({arrays}) RETURNING {quote(Message._meta.pk.column)}"
    )
    return sql, fields


def _insert_many(connection: Any, values: list[dict[str, Any]]) -> list[int]:
    """PostgreSQL's fast bulk insert of Message rows given as {attname: value}: one statement
    per few thousand rows, each column sent as one array that the server unnests.
    `bulk_create` builds an instance per row and prepares each of its values as a separate
    parameter; for a wave of 15,000 texts that was most of a region batch's outbox time.
    Missing values take the field's default (`auto_now` the current time); each distinct value
    goes through the field's own preparation for the database."""
    sql, fields = _insert_many_sql(connection.alias)
    now = timezone.now()
    defaults = {
        field.attname: now if getattr(field, "auto_now", False) else field.get_default()
        for field in fields
    }
    ids: list[int] = []
    for start in range(0, len(values), INSERT_MANY_CHUNK):
        chunk = values[start : start + INSERT_MANY_CHUNK]
        columns = []
        for field in fields:
            name, default = field.attname, defaults[field.attname]
            column = [row.get(name, default) for row in chunk]
            prepared: dict[Any, Any] = {}
            try:
                for value in set(column):
                    prepared[value] = field.get_db_prep_save(value, connection)
                columns.append([prepared[value] for value in column])
            except TypeError:  # an unhashable value: prepare each
                columns.append([field.get_db_prep_save(value, connection) for value in column])
        with connection.cursor() as cursor:
            cursor.execute(sql, columns)
            ids.extend(row[0] for row in cursor.fetchall())
    return ids


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
    column = _columns(connection.alias)
    ids = ", ".join(["%s"] * len(message_ids))
    sql = (
        f"UPDATE {column['table']} SET {column['status']} = %s, {column['next_attempt_at']} = %s "
        f"WHERE {column['id']} IN ({ids}) AND {column['direction']} = %s "
        f"AND {column['status']} = %s RETURNING {column['id']}"
    )
    lease = connection.ops.adapt_datetimefield_value(now + STUCK_SENDING_AFTER)
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [Status.SENDING, lease, *message_ids, Direction.OUT, Status.QUEUED]
        )
        return sorted(row[0] for row in cursor.fetchall())


def _claimed_rows(message_ids: list[int]) -> list[Message]:
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


def _attempt(message: Message) -> tuple[SendOutcome, _Accepted | None]:
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
            _notify_failure(message.pk)
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


@functools.cache
def _columns(alias: str) -> dict[str, str]:
    """The message table's name and its columns by field name, quoted, for UPDATEs (SQLite's
    take no table alias)."""
    columns = {
        field.name: rows.quote(alias, field.column) for field in Message._meta.concrete_fields
    }
    return {**columns, "table": rows.quote(alias, Message._meta.db_table)}


@functools.cache
def _record_sent_sql(alias: str) -> str:
    m = rows.Table(alias, Message, "m")
    column = _columns(alias)
    return (
        f"UPDATE {column['table']} AS m SET {column['status']} = %s, "
        f"{column['provider_sid']} = v.sid, {column['sent_at']} = v.sent_at, "
        f"{column['attempts']} = {m.attempts} + 1, {column['next_attempt_at']} = NULL, "
        f"{column['error_message']} = '', "
        f"{column['segments']} = COALESCE(v.segments, {m.segments}), "
        f"{column['cost_estimate']} = COALESCE(v.cost, {m.cost_estimate}) "
        f"FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], %s::integer[], "
        f"%s::numeric[]) AS v(id, sid, sent_at, segments, cost) "
        f"WHERE {m.id} = v.id AND {m.status} = %s RETURNING {m.id}"
    )


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
        cursor.execute(_record_sent_sql(connection.alias), params)
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


def _notify_failure(message_id: int) -> None:
    message = Message.objects.get(pk=message_id)
    handler = handlers.delivery_failure_handler(message.purpose)
    if handler is not None:
        handler(message)


def outbox_sweep(*, limit: int = 500) -> int:
    """Hand every due queued row (and every row stuck in `sending`) to a send task.

    Each row handed over gets a fresh lease (`handover_lease`: as long as the row has
    waited, up to MAX_HANDOVER_LEASE), so the next sweeps do not hand it over again while its
    task waits in the queue. Returns the number of rows handed over.
    """
    now = clock.now()
    Message.objects.filter(
        direction=Direction.OUT, status=Status.SENDING, next_attempt_at__lte=now
    ).update(status=Status.QUEUED, next_attempt_at=now)
    due = list(
        Message.objects.filter(direction=Direction.OUT, status=Status.QUEUED)
        .filter(Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True))
        .order_by("next_attempt_at", "id")
        .values_list("id", "created_at")[:limit]
    )
    if not due:
        return 0
    by_lease: dict[timedelta, list[int]] = {}
    for pk, created_at in due:
        by_lease.setdefault(handover_lease(now - created_at), []).append(pk)
    for lease, ids in by_lease.items():  # a few UPDATEs: leases are powers of two
        Message.objects.filter(pk__in=ids, status=Status.QUEUED).update(
            next_attempt_at=now + lease
        )
    ids = [pk for pk, _ in due]
    _enqueue_many(ids)
    return len(ids)


def handover_lease(waited: timedelta) -> timedelta:
    """How long the sweeper leaves a row it hands over before handing it over again: the
    largest LOST_TASK_GRACE x 2^k not above what it has waited, at most MAX_HANDOVER_LEASE."""
    lease = LOST_TASK_GRACE
    while lease * 2 <= waited and lease * 2 <= MAX_HANDOVER_LEASE:
        lease *= 2
    return min(lease, MAX_HANDOVER_LEASE)


# --- Inbound ---------------------------------------------------------------------------------

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
        _notify_failure(message.pk)
    return bool(updated)


def opt_out_record(*, phone: str, keyword: str) -> None:
    OptOut.objects.get_or_create(
        phone=phone, defaults={"opted_out_at": clock.now(), "keyword": keyword[:20]}
    )


def opt_in_record(*, phone: str) -> bool:
    deleted, _ = OptOut.objects.filter(phone=phone).delete()
    return bool(deleted)


@dataclass(frozen=True)
class InboundResult:
    message: Message
    reply: str | None
    duplicate: bool


# The two statements every inbound SMS runs are written here as SQL (core.rows). Built by
# the ORM, the worker lookup (two dozen columns and an EXISTS) cost the webhook three times
# the CPU of the same query written out, and the INSERT one and a half times; the webhook's
# whole budget is a few milliseconds. Columns are named, not `*`, so a statement PostgreSQL
# keeps prepared stays valid when a migration adds a column.


@functools.cache
def _sender_sql(alias: str) -> str:
    from workers.models import Worker

    phone = rows.column(alias, Worker, "phone", "w")
    optout_phone = rows.column(alias, OptOut, "phone", "o")
    # One row whether or not a worker has the number: the LEFT JOIN leaves the worker's
    # columns NULL for a stranger, and the opt-out is asked either way.
    return (
        f"SELECT {rows.columns(alias, Worker, 'w')}, "
        f"EXISTS (SELECT 1 FROM {rows.table(alias, OptOut, 'o')} WHERE {optout_phone} = %s) "
        f"FROM (SELECT 1) one LEFT JOIN {rows.table(alias, Worker, 'w')} ON {phone} = %s"
    )


def _sender(phone: str) -> tuple[Any, bool]:
    """The worker who has this number (or None), and whether the number has opted out, in
    one query."""
    from workers.models import Worker

    alias = router.db_for_read(Worker)
    with connections[alias].cursor() as cursor:
        cursor.execute(_sender_sql(alias), [phone, phone])
        row = cursor.fetchone()
    opted_out = bool(row[-1])
    if row[0] is None:
        return None, opted_out
    (worker,) = rows.instances(alias, (Worker,), row[:-1])
    return worker, opted_out


@functools.cache
def _insert_sql(alias: str) -> tuple[str, list[Any]]:
    quote = connections[alias].ops.quote_name
    meta = Message._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({quote(meta.get_field('provider_sid').column)}) DO NOTHING "
        f"RETURNING {quote(meta.pk.column)}"
    )
    return sql, fields


def _insert_message(message: Message) -> bool:
    """INSERT `message` unless a row with its provider sid exists (a row without a sid always
    goes in); True when it was inserted.

    The unique sid decides, not a SELECT before the INSERT, so two deliveries of one message
    racing each other still store one row (the second waits for the first to commit). As
    `INSERT ... ON CONFLICT DO NOTHING RETURNING id` (PostgreSQL, SQLite 3.35+) a Twilio retry
    raises nothing and needs no savepoint, which would cost two more round trips per message.
    """
    connection = connections[router.db_for_write(Message)]
    if not connection.features.can_return_columns_from_insert:
        try:
            with transaction.atomic(using=connection.alias):
                message.save(force_insert=True, using=connection.alias)
        except IntegrityError:
            return False
        return True
    sql, fields = _insert_sql(connection.alias)
    params = [f.get_db_prep_save(f.pre_save(message, add=True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    message.pk = row[0]
    message._state.adding = False
    message._state.db = connection.alias
    return True


@transaction.atomic
def inbound_receive(
    *, provider_sid: str | None, sender: str, body: str, recipient: str = ""
) -> InboundResult:
    """Store an inbound SMS, act on it once, and return the reply to send (or None).

    The same provider sid delivered again returns the reply given the first time and acts on
    nothing: the unique sid makes the insert a no-op (`_insert_message`), not a
    check-then-insert.
    """
    phone = normalise_phone(sender)
    body = _storable(body or "")
    info = count_segments(body)
    now = clock.now()
    command = parse(body)
    worker, opted_out = _sender(phone)
    # A lone YES from an opted-out number re-subscribes it, as Twilio itself treats it (and
    # only YES: after a lone OK or ДА the carrier would still block the number).
    if opted_out and is_lone_yes(body):
        command = type(command)(kind=CommandKind.OPT_IN, text=command.text)
    message = Message(
        direction=Direction.IN,
        phone=phone,
        body=body,
        encoding=info.encoding,
        segments=info.segments,
        status=Status.RECEIVED,
        provider_sid=provider_sid or None,
        worker=worker,
        command=command.kind.value,
        created_at=now,
    )
    if not _insert_message(message):
        message = Message.objects.get(provider_sid=provider_sid)
        # The first answer again, unless the number has opted out since.
        reply = None
        if not opted_out:
            reply = message.replies.order_by("id").values_list("body", flat=True).first()
        return InboundResult(message, reply, duplicate=True)

    language = worker.language if worker is not None else texts.guess_language(body)
    inbound = handlers.Inbound(
        message=message, command=command, phone=phone, worker=worker, language=language, now=now
    )
    handler = handlers.handler_for(command.kind)
    if handler is not None:
        reply = handler(inbound)
    elif worker is None and command.kind not in (CommandKind.OPT_OUT, CommandKind.OPT_IN):
        reply = texts.render("unknown_sender", language)
    else:
        reply = texts.render("help", language)
    if reply and command.kind in (CommandKind.OPT_OUT, CommandKind.OPT_IN):
        # Only these commands change the number's opt-out; after any other, the state read
        # with the worker still holds.
        opted_out = is_opted_out(phone)
    if reply and not opted_out:
        _record_reply(message=message, reply=reply, worker=worker)
    else:
        reply = None
    return InboundResult(message, reply, duplicate=False)


def _record_reply(*, message: Message, reply: str, worker: Any) -> Message:
    """A reply travels inside the TwiML answer: stored as sent, never queued for sending."""
    info = count_segments(reply)
    now = clock.now()
    row = Message(
        direction=Direction.OUT,
        phone=message.phone,
        body=reply,
        encoding=info.encoding,
        segments=info.segments,
        cost_estimate=estimate_cost(info.segments, settings.SMS_PRICE_PER_SEGMENT),
        status=Status.SENT,
        purpose="reply",
        worker=worker,
        order=message.order,
        in_reply_to=message,
        created_at=now,
        sent_at=now,
    )
    _insert_message(row)
    return row


# --- The commands messaging answers itself ----------------------------------------------------


def _handle_opt_out(inbound: handlers.Inbound) -> str | None:
    opt_out_record(phone=inbound.phone, keyword=inbound.command.text.strip()[:20])
    return None  # the carrier confirms STOP itself


def _handle_opt_in(inbound: handlers.Inbound) -> str | None:
    opt_in_record(phone=inbound.phone)
    return texts.render("opted_in", inbound.language)


def _handle_help(inbound: handlers.Inbound) -> str | None:
    if inbound.worker is None:
        return texts.render("unknown_sender", inbound.language)
    return texts.render("help", inbound.language)


handlers.register(CommandKind.OPT_OUT, _handle_opt_out)
handlers.register(CommandKind.OPT_IN, _handle_opt_in)
handlers.register(CommandKind.HELP, _handle_help)
