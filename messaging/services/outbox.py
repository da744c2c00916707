"""The outbox: outbound SMS are rows first.

`sms_queue` (one) and `sms_queue_many` (a wave) write the rows inside the caller's transaction and
only after commit hand them to the broker's send tasks (`core.hooks.outbox_send`, filled by
`messaging.tasks`). If the broker is down the rows simply wait; `outbox_sweep` finds them later.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from core import clock, hooks

from .. import sql
from ..models import Direction, Message, OptOut, Status
from ..segments import count_segments, estimate_cost
from .common import normalise_phone, storable
from .optouts import is_opted_out

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
MAX_BODY_CHARS = 1600  # Twilio's own limit for one message


def _send_task(slot: hooks.Slot[Any]) -> Any:
    # Unfilled (the app registry never got ready), a row waits for the sweeper as it does when
    # the broker refuses its task.
    task = slot.get()
    if task is None:
        raise LookupError(f"no task fills core.hooks.{slot.name}")
    return task


def _enqueue(message_id: int) -> None:
    """Ask Celery to send the row now; if the broker is unreachable the sweeper will."""
    try:
        _send_task(hooks.outbox_send)(message_id)
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
    body = storable(body)[:MAX_BODY_CHARS]
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
    for start in range(0, len(message_ids), 100):
        chunk = message_ids[start : start + 100]
        try:
            _send_task(hooks.outbox_send_many)(chunk)
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
        body = storable(item.body)[:MAX_BODY_CHARS]
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


def _insert_many(connection: Any, values: list[dict[str, Any]]) -> list[int]:
    """PostgreSQL's fast bulk insert of Message rows given as {attname: value}: one statement
    per few thousand rows, each column sent as one array that the server unnests.
    `bulk_create` builds an instance per row and prepares each of its values as a separate
    parameter; for a wave of 15,000 texts that was most of a region batch's outbox time.
    Missing values take the field's default (`auto_now` the current time); each distinct value
    goes through the field's own preparation for the database."""
    statement, fields = sql.insert_many(connection.alias)
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
            cursor.execute(statement, columns)
            ids.extend(row[0] for row in cursor.fetchall())
    return ids


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
