"""The worker pool's side of inbound SMS: who has a number (`sender_of`, read on every inbound
message), and joining the pool by SMS (`JOIN Ivan Petrov` from an unknown number makes an
applicant)."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, router

from core import hooks, rows
from messaging import handlers
from messaging.grammar import CommandKind
from messaging.texts import render_from

from . import sql
from .models import Worker
from .services import worker_create

TEXTS = {
    "joined": {
        "ru": "Спасибо, {name}! Рекрутер позвонит и пригласит на собеседование",
        "en": "Thanks, {name}! A recruiter will call you to arrange an interview.",
    },
    "join_needs_name": {
        "ru": "Напишите JOIN и ваше имя, например: JOIN Иван Петров",
        "en": "Send JOIN and your name, e.g. JOIN Ivan Petrov",
    },
    "join_needs_mobile": {
        "ru": "С этого номера нельзя записаться. Напишите JOIN и имя со своего мобильного",
        "en": "This number cannot be registered. Text JOIN and your name from your mobile.",
    },
    "already_known": {
        "ru": "Этот номер уже в нашей базе, {name}",
        "en": "This number is already registered, {name}.",
    },
}


def _handle_join(inbound: handlers.Inbound) -> str | None:
    language = inbound.language
    if inbound.worker is not None:
        return render_from(TEXTS, "already_known", language, name=inbound.worker.name)
    name = (inbound.command.name or "").strip()
    if not name:
        return render_from(TEXTS, "join_needs_name", language)
    try:
        worker = worker_create(name=name[:200], phone=inbound.phone, language=language,
                               notes="Applied by SMS.")
    except ValidationError as exc:
        # Not a number we can register (a short code, a sender name): say so; the text is kept.
        phone_refused = "phone" in getattr(exc, "error_dict", {})
        return render_from(TEXTS, "join_needs_mobile" if phone_refused else "join_needs_name",
                           language)
    inbound.message.worker = worker
    inbound.message.save(update_fields=["worker"])
    return render_from(TEXTS, "joined", language, name=worker.name)


def sender_of(phone: str) -> tuple[Any, bool]:
    """The worker who has this number (or None), and whether the number has opted out, in
    one query."""
    alias = router.db_for_read(Worker)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql.sender(alias), [phone, phone])
        row = cursor.fetchone()
    opted_out = bool(row[-1])
    if row[0] is None:
        return None, opted_out
    (worker,) = rows.instances(alias, (Worker,), row[:-1])
    return worker, opted_out


def register_handlers(register: Any = hooks.inbound_commands.register) -> None:
    register(CommandKind.JOIN, _handle_join)


__all__ = ["register_handlers", "sender_of"]
