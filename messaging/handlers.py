"""The registry through which other apps act on inbound SMS commands.

The messaging app parses and stores every inbound message, then hands the parsed command to
the handler registered for its kind. Handlers run inside the webhook's transaction and
return the reply text (or None for no reply). Dispatch registers accept/decline/check-in and
the like; messaging itself handles opt-out, opt-in and help.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .grammar import Command, CommandKind


@dataclass(frozen=True)
class Inbound:
    """What a handler gets: the stored message, the parsed command, who sent it."""

    message: Any  # messaging.models.Message
    command: Command
    phone: str
    worker: Any  # workers.models.Worker or None for an unknown number
    language: str
    now: datetime


Handler = Callable[[Inbound], str | None]
DeliveryFailureHandler = Callable[[Any], None]

_handlers: dict[CommandKind, Handler] = {}
_delivery_failure_handlers: dict[str, DeliveryFailureHandler] = {}


def register(kind: CommandKind, handler: Handler) -> None:
    """Make `handler` answer commands of `kind` (the last registration wins)."""
    _handlers[kind] = handler


def handler_for(kind: CommandKind) -> Handler | None:
    return _handlers.get(kind)


def on_delivery_failure(purpose: str, handler: DeliveryFailureHandler) -> None:
    """Call `handler(message)` when an outbound message of `purpose` finally fails."""
    _delivery_failure_handlers[purpose] = handler


def delivery_failure_handler(purpose: str) -> DeliveryFailureHandler | None:
    return _delivery_failure_handlers.get(purpose)
