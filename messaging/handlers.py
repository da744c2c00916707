"""What a handler of an inbound SMS command gets.

The messaging app parses and stores every inbound message, then hands the parsed command to
the handler registered for its kind in `core.hooks.inbound_commands`. Handlers run inside the
webhook's transaction and return the reply text (or None for no reply). Dispatch registers
accept/decline/check-in and the like, workers JOIN; messaging itself handles opt-out, opt-in
and help.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .grammar import Command


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
