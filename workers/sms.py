"""Joining the pool by SMS: `JOIN Ivan Petrov` from an unknown number makes an applicant."""

from typing import Any

from django.core.exceptions import ValidationError

from messaging import handlers
from messaging.grammar import CommandKind
from messaging.texts import render_from

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
    except ValidationError:
        # Not a mobile number we can register (a short code, a landline): answer, keep the text.
        return render_from(TEXTS, "join_needs_name", language)
    inbound.message.worker = worker
    inbound.message.save(update_fields=["worker"])
    return render_from(TEXTS, "joined", language, name=worker.name)


def register_handlers(register: Any = handlers.register) -> None:
    register(CommandKind.JOIN, _handle_join)


__all__ = ["register_handlers"]
