"""Hooks: the few places where a lower layer calls code of a higher one.

Every app imports only the layers below it (README, "Layout"; `lint-imports` in `make lint`
holds the order). Now and then a lower app must still reach up: messaging stores every SMS,
but only dispatch knows what "ДА K7Q" does; dispatch completes an order, but billing writes its
invoice. The lower app then calls a hook declared here, and the higher app fills it in its
`AppConfig.ready()`, so the import still points down. This module is the list of them all: no
hook is declared anywhere else.

Each hook: who calls it, who fills it (in `ready()`), and why.

- `inbound_commands`: called by `messaging.services.inbound`; filled by messaging (STOP, START,
  HELP), workers (JOIN) and dispatch (YES, NO, HERE, CANCEL, APPEAL and the rest). Messaging
  parses and stores every SMS; the apps above know what each command does.
- `inbound_sender`: called by `messaging.services.inbound`; filled by workers. Who has a number
  is the worker pool's to know; one query reads the worker with the number's opt-out.
- `outbox_send`, `outbox_send_many`: called by `messaging.services.outbox`; filled by messaging
  with its Celery tasks. The tasks call the services, so the services must not import them.
- `delivery_failures`: called by `messaging.services.sending` and `.status`; filled by
  dispatch for offers. An app may act when an SMS of its purpose finally fails: an offer that
  never arrived is withdrawn and the next candidate is offered instead.
- `staffing_probe`: called by `clients.routing`; filled by workers. A routed lead says how many
  suitable workers live near its site.
- `worker_history`: called by `workers.api`; filled by dispatch. A worker's record counts shifts
  and rating events, which live above the worker pool.
- `worker_worked_for`: called by `workers.access`; filled by dispatch. Whether a worker has
  worked a franchise's orders decides what that franchise may change on them, and offers live
  above the pool.
- `order_rates`: called by `dispatch.services.orders`; filled by billing. An order placed
  without rates is priced by its franchise's rate card.
- `order_completed`: called by `dispatch.services.onsite`; filled by billing. A completed (or
  corrected) order is invoiced and paid in the same transaction.

A hook left unfilled is not an error: each caller says what happens without it (default
rates, no staffing count, the help text...), so the lower apps also run and test alone.
"""

from collections.abc import Callable, Hashable, Iterator
from typing import Any, Generic, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
K = TypeVar("K", bound=Hashable)


class Slot(Generic[F]):
    """One function, filled at start-up; None until then. A later fill replaces it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._function: F | None = None

    def fill(self, function: F | None) -> None:
        self._function = function

    def get(self) -> F | None:
        return self._function


class Table(Generic[K, F]):
    """One function per key (a later registration for a key replaces it)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._functions: dict[K, F] = {}

    def register(self, key: K, function: F) -> None:
        self._functions[key] = function

    def get(self, key: K) -> F | None:
        return self._functions.get(key)


class Listeners(Generic[F]):
    """Functions all called, in the order they were added; one added twice is called once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._functions: list[F] = []

    def add(self, function: F) -> None:
        if function not in self._functions:
            self._functions.append(function)

    def __iter__(self) -> Iterator[F]:
        return iter(tuple(self._functions))


# --- Messaging ---------------------------------------------------------------------------------

# A command kind (messaging.grammar.CommandKind) -> handler(messaging.handlers.Inbound), which
# runs inside the webhook's transaction and returns the reply text or None.
inbound_commands: Table[Hashable, Callable[[Any], str | None]] = Table("inbound_commands")

# sender(phone) -> (the worker who has the number or None, whether the number opted out).
inbound_sender: Slot[Callable[[str], tuple[Any, bool]]] = Slot("inbound_sender")

# send(message_id) and send_many(message_ids): hand outbox rows to the broker's send tasks;
# each raises when the broker does not take the task.
outbox_send: Slot[Callable[[int], Any]] = Slot("outbox_send")
outbox_send_many: Slot[Callable[[list[int]], Any]] = Slot("outbox_send_many")

# A message purpose ("offer", "reminder"...) -> handler(message) for a final delivery failure.
delivery_failures: Table[str, Callable[[Any], object]] = Table("delivery_failures")

# --- Clients -----------------------------------------------------------------------------------

# probe(lat=, lng=, radius_km=, work_type=) -> how many suitable workers are within reach.
staffing_probe: Slot[Callable[..., int]] = Slot("staffing_probe")

# --- Workers -----------------------------------------------------------------------------------

# history(worker, events=) -> the worker's record as operators see it (a JSON-ready dict).
worker_history: Slot[Callable[..., dict[str, Any]]] = Slot("worker_history")

# worked_for(worker_id, franchise_id) -> whether the worker accepted an offer of its orders.
worker_worked_for: Slot[Callable[[int, int], bool]] = Slot("worker_worked_for")

# --- Dispatch ----------------------------------------------------------------------------------

# rates(franchise=, work_type=, conditions=, headcount=, hours=, start=) -> (bill, pay) per hour.
order_rates: Slot[Callable[..., tuple[Any, Any]]] = Slot("order_rates")

# listener(order): inside the transaction that completed the order, and again inside each
# later attendance correction; so each listener must be idempotent.
order_completed: Listeners[Callable[[Any], Any]] = Listeners("order_completed")
