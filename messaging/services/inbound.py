"""Inbound SMS: every one is stored (deduplicated on the provider's sid), parsed by the reply
grammar, and handed to the handler registered for its command (`core.hooks.inbound_commands`);
the reply travels back in the webhook's answer."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction

from core import clock, hooks

from .. import handlers, sql, texts
from ..grammar import CommandKind, is_lone_yes, parse
from ..models import Direction, Message, Status
from ..segments import count_segments, estimate_cost
from .common import normalise_phone, storable
from .optouts import is_opted_out, opt_in_record, opt_out_record


@dataclass(frozen=True)
class InboundResult:
    message: Message
    reply: str | None
    duplicate: bool


def _sender(phone: str) -> tuple[Any, bool]:
    """The worker who has this number (or None), and whether the number has opted out: the
    worker pool answers through `core.hooks.inbound_sender`, in one query. Without it, no
    number is a worker's."""
    sender = hooks.inbound_sender.get()
    if sender is None:
        return None, is_opted_out(phone)
    return sender(phone)


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
    statement, fields = sql.insert_one(connection.alias)
    params = [f.get_db_prep_save(f.pre_save(message, add=True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    if row is None:
        return False
    message.pk = row[0]
    message._state.adding = False
    message._state.db = connection.alias
    return True


@transaction.atomic
def inbound_receive(
    *, provider_sid: str | None, sender: str, body: str, recipient: str = "",
    raw: dict[str, str] | None = None,
) -> InboundResult:
    """Store an inbound SMS, act on it once, and return the reply to send (or None).

    The same provider sid delivered again returns the reply given the first time and acts on
    nothing: the unique sid makes the insert a no-op (`_insert_message`), not a
    check-then-insert.
    """
    phone = normalise_phone(sender)
    body = storable(body or "")
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
        raw=raw or {},
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
    handler = hooks.inbound_commands.get(command.kind)
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


def register_handlers() -> None:
    """Answer STOP, START and HELP (called at start-up by `MessagingConfig.ready`)."""
    hooks.inbound_commands.register(CommandKind.OPT_OUT, _handle_opt_out)
    hooks.inbound_commands.register(CommandKind.OPT_IN, _handle_opt_in)
    hooks.inbound_commands.register(CommandKind.HELP, _handle_help)
